//! `opp mirror nuget ID[@RANGE]... [--framework TFM]... [--lock FILE]...`: plan the closure
//! from the feed, skip versions the store holds, run the rest through the shared pipeline into
//! the configured store, print what happened to each file and a summary.

use std::collections::BTreeSet;
use std::path::Path;

use crate::cli::MirrorNugetArgs;
use crate::config::Settings;
use crate::ecosystem::nuget::{PackageKind, VersionRange};
use crate::mirror::credentials::{Netrc, Source};
use crate::mirror::nuget::config_files::{self, Places};
use crate::mirror::nuget::feed::Feed;
use crate::mirror::nuget::framework::Tfm;
use crate::mirror::nuget::resolve::{Options, Request};
use crate::mirror::nuget::sink::{Expected, NugetSink};
use crate::mirror::nuget::{self, Wanted, lock, project, spec};
use crate::mirror::{self, FileResult, PlanFile, Sink, download};
use crate::output::Output;

/// Where `opp mirror nuget` reads from without `--upstream` or `[mirror.nuget] upstream`.
const DEFAULT_UPSTREAM: &str = "https://api.nuget.org/v3/index.json";

/// `opp mirror nuget ...`.
pub async fn nuget(settings: &Settings, out: &Output, args: MirrorNugetArgs) -> anyhow::Result<()> {
    let frameworks = args
        .frameworks
        .iter()
        .map(|f| Tfm::parse_target(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut frameworks = frameworks;
    let mut requests = args
        .packages
        .iter()
        .map(|s| {
            spec::parse(s).map_err(|e| {
                anyhow::Error::from(crate::error::Refusal {
                    message: format!("invalid package {}", e.message),
                    ..e
                })
            })
        })
        .collect::<anyhow::Result<Vec<Request>>>()?;
    for path in &args.project {
        let (more_frameworks, more_requests) = read_project(path)?;
        for f in more_frameworks {
            if !frameworks.contains(&f) {
                frameworks.push(f);
            }
        }
        requests.extend(more_requests);
    }
    let mut wanted = Vec::new();
    for path in &args.lock {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let locked = lock::read(&text).map_err(|reason| {
            anyhow::anyhow!(
                "{} is not a lock file opp can read: {reason}",
                path.display()
            )
        })?;
        let source = format!("{}'s contentHash", path.display());
        wanted.extend(locked.into_iter().map(|l| {
            Wanted {
                id: l.id,
                version: l.version,
                content: None,
                expected: l
                    .sha512
                    .into_iter()
                    .map(|sha512| Expected {
                        sha512,
                        source: source.clone(),
                    })
                    .collect(),
            }
        }));
    }
    let options = Options {
        frameworks,
        lowest: args.lowest,
        prerelease: args.prerelease,
    };

    let client = download::client()?;
    let (upstream, credentials_from) = upstream(settings, out, &args)?;
    let mut feed = Feed::new(client.clone(), &upstream)?;
    if let Some(origin) = credentials_from {
        feed = feed.credentials_from(origin);
    }
    feed.check().await?;
    let mut fatal = 0;
    if !requests.is_empty() {
        let targets = if options.frameworks.is_empty() {
            "every framework".to_owned()
        } else {
            options
                .frameworks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.status(format!(
            "resolving {} package(s) for {targets} against {}",
            requests.len(),
            feed.describe()
        ));
        let plan = nuget::plan(&feed, &requests, &options).await?;
        for p in &plan.problems {
            out.warn(&p.message);
        }
        fatal += plan.problems.iter().filter(|p| p.fatal).count();
        wanted.extend(plan.chosen.iter().map(Wanted::from_entry));
    }
    let (plan, expected, errors) = nuget::files(&feed, wanted).await;
    for e in &errors {
        out.warn(e);
    }
    fatal += errors.len();
    let target = super::open(&settings.location, settings)?;
    let sink = NugetSink {
        packages: target.packages(out),
        expected,
    };
    let (mut plan, mut results) = skip_stored(plan, &sink).await;
    if args.symbols {
        let (files, stored, failed) = symbols(&feed, &sink, out, &plan, &results).await;
        plan.extend(files);
        results.extend(stored);
        fatal += failed;
    }
    let releases: BTreeSet<(&str, &str)> = plan
        .iter()
        .map(|f| (f.package.as_str(), f.version.as_str()))
        .collect();
    out.status(format!(
        "plan: {} package(s) to fetch, {} already stored",
        releases.len(),
        results.len()
    ));
    results.extend(mirror::execute(plan, &sink, &client, out, args.dry_run).await);
    results.sort_by(|a, b| (&a.package, &a.file).cmp(&(&b.package, &b.file)));
    super::mirror::report(out, &results, settings.location.describe(), args.dry_run);
    if args.json {
        out.json(&results);
    }
    let (_, _, failed, _) = mirror::counts(&results);
    if failed > 0 || fatal > 0 {
        anyhow::bail!(
            "the mirror is incomplete: {failed} file(s) failed and {fatal} package(s) could \
             not be resolved (see above)"
        );
    }
    Ok(())
}

/// The upstream with its credentials (`--upstream`, else `[mirror.nuget] upstream`, else
/// nuget.org), looked up in the NuGet.Config files NuGet reads (or `--configfile` alone).
fn upstream(
    settings: &Settings,
    out: &Output,
    args: &MirrorNugetArgs,
) -> anyhow::Result<(String, Option<String>)> {
    let given = args
        .upstream
        .as_deref()
        .or(settings.mirror_upstreams.get("nuget").map(String::as_str))
        .unwrap_or(DEFAULT_UPSTREAM);
    let files = match &args.configfile {
        Some(file) => vec![file.clone()],
        None => config_files::discover(&Places::here()),
    };
    tracing::debug!("NuGet config files: {files:?}");
    let configs = config_files::read(&files)?;
    let netrc = Netrc::load().unwrap_or_else(|why| {
        out.warn(format!("{why}; going on without .netrc credentials"));
        Netrc::default()
    });
    let (url, source) = config_files::with_credentials(given, &configs, &netrc)?;
    tracing::debug!("credentials for the feed from {source:?}");
    let origin = match source {
        Some(Source::Config(origin)) => Some(origin),
        Some(Source::Netrc(path)) => Some(path.display().to_string()),
        Some(Source::Keyring) => Some("the keyring".to_owned()),
        Some(Source::Url) | None => None,
    };
    Ok((url, origin))
}

/// A project's frameworks and references (restore's choice: each reference's lowest match).
fn read_project(path: &Path) -> anyhow::Result<(Vec<Tfm>, Vec<Request>)> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
    };
    let text = read(path)?;
    // MSBuild imports the nearest Directory.Packages.props above the project.
    let dir = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let central = dir
        .iter()
        .flat_map(|d| d.ancestors())
        .map(|d| d.join("Directory.Packages.props"))
        .find(|p| p.is_file());
    let central_text = match &central {
        Some(p) => Some((p.display().to_string(), read(p)?)),
        None => None,
    };
    let name = path.display().to_string();
    let project = project::read(
        &name,
        &text,
        central_text.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    )?;
    let frameworks = project
        .frameworks
        .iter()
        .map(|f| {
            Tfm::parse_target(f).map_err(|e| crate::error::Refusal {
                message: format!("{name}: {e}"),
                kind: crate::error::Kind::Failure,
                hints: crate::error::Diagnostic::hints(&e),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let requests = project
        .references
        .into_iter()
        .map(|(id, version)| {
            let range = VersionRange::parse(&version).map_err(|e| {
                anyhow::anyhow!("{name}: the version of PackageReference {id}: {e}")
            })?;
            Ok(Request {
                id,
                range: Some(range),
                lowest: true,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((frameworks, requests))
}

/// With `--symbols`: the `.snupkg` plan files of every version planned or already stored,
/// except those whose symbols are stored too (reported as skipped, not asked for again);
/// the versions the feed has none for are named in a status line. Returns the plan files, the
/// skipped results and how many lookups failed (each warned).
async fn symbols(
    feed: &Feed,
    sink: &NugetSink<'_>,
    out: &Output,
    plan: &[PlanFile],
    stored: &[FileResult],
) -> (Vec<PlanFile>, Vec<FileResult>, usize) {
    let mut versions: BTreeSet<(String, String)> = plan
        .iter()
        .map(|f| (f.package.clone(), f.version.clone()))
        .collect();
    let mut skipped = Vec::new();
    for r in stored {
        let files = sink
            .stored(&r.package, &r.version)
            .await
            .unwrap_or_default();
        match files
            .iter()
            .find(|(name, _)| PackageKind::of(name) == Some(PackageKind::Snupkg))
        {
            Some((name, sha256)) => skipped.push(FileResult {
                file: name.clone(),
                sha256: Some(sha256.clone()),
                ..r.clone()
            }),
            None => {
                versions.insert((r.package.clone(), r.version.clone()));
            }
        }
    }
    let versions: Vec<(String, String)> = versions.into_iter().collect();
    let (files, without, errors) = nuget::symbol_files(feed, &versions).await;
    if !without.is_empty() {
        out.status(format!(
            "no symbols package on the feed for {}",
            without.join(", ")
        ));
    }
    for e in &errors {
        out.warn(e);
    }
    (files, skipped, errors.len())
}

/// Leaves out the files the store already holds by name kind (a version's `.nupkg`, its
/// `.snupkg`; a NuGet version is immutable: neither is downloaded again), reporting them as
/// skipped.
async fn skip_stored(
    plan: Vec<PlanFile>,
    sink: &NugetSink<'_>,
) -> (Vec<PlanFile>, Vec<FileResult>) {
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    for f in plan {
        let stored = sink
            .stored(&f.package, &f.version)
            .await
            .unwrap_or_default();
        let kind = PackageKind::of(&f.file_name);
        match stored
            .iter()
            .find(|(name, _)| PackageKind::of(name) == kind)
        {
            Some((name, sha256)) => skipped.push(FileResult {
                package: f.package,
                version: f.version,
                file: name.clone(),
                size: None,
                sha256: Some(sha256.clone()),
                status: "skipped",
                reason: Some("already stored (a NuGet version does not change)".into()),
            }),
            None => keep.push(f),
        }
    }
    (keep, skipped)
}

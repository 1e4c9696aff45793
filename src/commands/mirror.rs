//! `opp mirror ECOSYSTEM ...`: plan what to bring from the upstream index, run the plan into
//! the configured store, print what happened to each file and a summary.

use std::collections::BTreeSet;
use std::path::Path;

use crate::cli::MirrorPypiArgs;
use crate::config::Settings;
use crate::ecosystem::pypi::normalize_name;
use crate::mirror::credentials::Netrc;
use crate::mirror::pypi::environment::Environment;
use crate::mirror::pypi::requirements::{self, Parsed};
use crate::mirror::pypi::resolve::{BinaryRules, Options};
use crate::mirror::pypi::sink::PypiSink;
use crate::mirror::pypi::warm::Warmer;
use crate::mirror::pypi::{self, lock, spec, upstream::Upstream};
use crate::mirror::{self, FileResult, MirrorError, download};
use crate::output::{Output, bytes};

/// Where `opp mirror pypi` reads from without `--upstream` or `[mirror.pypi] upstream`.
const DEFAULT_UPSTREAM: &str = "https://pypi.org/simple/";

/// `opp mirror pypi SPEC... [-r FILE] [targets]`.
pub async fn pypi(settings: &Settings, out: &Output, args: MirrorPypiArgs) -> anyhow::Result<()> {
    let mut parsed = Parsed::default();
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| MirrorError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    for path in &args.requirements {
        requirements::read(path, false, &read, &mut parsed)?;
    }
    for path in &args.constraints {
        requirements::read(path, true, &read, &mut parsed)?;
    }
    for ignored in &parsed.ignored {
        out.warn(format!("ignoring the option {ignored}"));
    }
    let mut requests = parsed.requests;
    for s in &args.specs {
        requests.push(spec::from_command_line(s)?);
    }
    let pythons = args
        .python_versions
        .iter()
        .map(|s| parse_python_version(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut options = Options {
        environments: Environment::all(&pythons, &args.platforms),
        pre: args.pre,
        binary: binary_rules(&args.only_binary, &args.no_binary),
        all_files: args.all_files,
        ..Options::default()
    };
    for (name, specifiers) in parsed.constraints {
        options
            .constraints
            .entry(name)
            .or_default()
            .push(specifiers);
    }

    let client = download::client()?;
    let netrc = Netrc::load().unwrap_or_else(|why| {
        out.warn(format!("{why}; going on without .netrc credentials"));
        Netrc::default()
    });
    let upstream_url = args
        .upstream
        .as_deref()
        .or(settings.mirror_upstreams.get("pypi").map(String::as_str))
        .unwrap_or(DEFAULT_UPSTREAM);
    let upstream = Upstream::new(client.clone(), upstream_url, netrc)?;
    if !requests.is_empty() {
        out.status(format!(
            "resolving {} requirement(s) against {}",
            requests.len(),
            upstream.describe()
        ));
    }
    let target = super::open(&settings.location, settings)?;
    let planner = PypiSink::new(target.packages(out), None, None);
    // The closure's files are downloaded and their blobs stored as it settles (none on a
    // dry run: it writes nothing).
    let warmer = Warmer::new(&planner, &upstream, !args.no_stream);
    let warm = (!args.dry_run).then_some(&warmer as &dyn pypi::warm::Warm);
    let (mut plan, problems, streamable) =
        pypi::plan(&upstream, &planner, warm, &requests, &options).await?;
    let sink = PypiSink::new(
        target.packages(out),
        (!args.no_stream).then_some((&upstream, streamable)),
        Some(&warmer),
    );
    for path in &args.lock {
        let text = read(path)?;
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let locked = lock::read(file_name, &text, &options.environments, &options.binary).map_err(
            |reason| MirrorError::BadLock {
                path: path.display().to_string(),
                reason,
            },
        )?;
        for skipped in locked.skipped {
            out.warn(format!("{}: not mirrored: {skipped}", path.display()));
        }
        plan.extend(locked.files);
    }
    plan.sort_by(|a, b| (&a.package, &a.file_name).cmp(&(&b.package, &b.file_name)));
    plan.dedup_by(|a, b| a.package == b.package && a.file_name == b.file_name);
    let fatal = problems.iter().filter(|p| p.fatal).count();
    for p in &problems {
        out.warn(&p.message);
    }
    let releases: BTreeSet<(&str, &str)> = plan
        .iter()
        .map(|f| (f.package.as_str(), f.version.as_str()))
        .collect();
    let planned_bytes: u64 = plan.iter().filter_map(|f| f.size).sum();
    out.status(format!(
        "plan: {} file(s) of {} release(s), {}",
        plan.len(),
        releases.len(),
        bytes(planned_bytes)
    ));

    let results = mirror::execute(plan, &sink, &client, out, args.dry_run).await;
    report(out, &results, settings.location.describe(), args.dry_run);
    if args.json {
        out.json(&results);
    }
    let (_, _, failed, _) = mirror::counts(&results);
    if failed > 0 || fatal > 0 {
        anyhow::bail!(
            "the mirror is incomplete: {failed} file(s) failed and {fatal} requirement(s) could \
             not be met (see above)"
        );
    }
    Ok(())
}

/// One line per file that was added, failed or is planned, then the summary.
pub(crate) fn report(out: &Output, results: &[FileResult], location: String, dry_run: bool) {
    for r in results {
        let size = r
            .size
            .map(|s| format!(" ({})", bytes(s)))
            .unwrap_or_default();
        match r.status {
            "added" => out.status(format!("mirrored {}{size}", r.file)),
            "planned" => out.status(format!("would mirror {}{size}", r.file)),
            "failed" => out.warn(format!(
                "{}: {}",
                r.file,
                r.reason.as_deref().unwrap_or("failed")
            )),
            _ => {}
        }
    }
    let (added, skipped, failed, planned) = mirror::counts(results);
    if dry_run {
        out.status(format!(
            "dry run: {planned} file(s) to mirror into {location}, {skipped} skipped (already \
             stored), {failed} failed; nothing written"
        ));
    } else {
        out.status(format!(
            "{added} added, {skipped} skipped (already stored), {failed} failed, into {location}"
        ));
    }
}

/// pip's `--only-binary`/`--no-binary` values: `:all:`, `:none:` or names.
fn binary_rules(only: &[String], no: &[String]) -> BinaryRules {
    let mut rules = BinaryRules::default();
    for (values, all, names) in [
        (only, &mut rules.only_binary_all, &mut rules.only_binary),
        (no, &mut rules.no_binary_all, &mut rules.no_binary),
    ] {
        for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            match v {
                ":all:" => *all = true,
                ":none:" => {
                    *all = false;
                    names.clear();
                }
                name => {
                    names.insert(normalize_name(name));
                }
            }
        }
    }
    rules
}

fn parse_python_version(s: &str) -> anyhow::Result<(u8, u8)> {
    let parse = || -> Option<(u8, u8)> {
        let (major, minor) = s.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    };
    parse().ok_or_else(|| anyhow::anyhow!("--python-version `{s}` is not MAJOR.MINOR (e.g. 3.12)"))
}

//! `opp pull ECOSYSTEM ...`: choose the newest matching version, choose its files for the
//! target, write them atomically. PyPI takes several requirements and requirements files
//! (`pull/requirements.rs`).

mod requirements;

pub use requirements::pypi;

use std::path::Path;

use serde::Serialize;

use crate::artifact;
use crate::cli::PullModuleArgs;
use crate::config::Settings;
use crate::ecosystem::terraform_module;
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages::select::Asked;
use crate::packages::{PackageError, Packages};
use crate::release::{DistFile, Ecosystem, Release};

#[derive(Serialize)]
struct Pulled {
    package: String,
    version: String,
    file: String,
    path: String,
    sha256: String,
    size: u64,
}

/// Says where each written file went; what `--json` reports of them.
fn report(out: &Output, release: &Release, files: &[DistFile], dir: &Path) -> Vec<Pulled> {
    files
        .iter()
        .map(|f| {
            let path = dir.join(&f.name);
            out.status(format!("wrote {} ({})", path.display(), bytes(f.size)));
            Pulled {
                package: release.package.clone(),
                version: release.version.clone(),
                file: f.name.clone(),
                path: path.display().to_string(),
                sha256: f.digest.hex().to_owned(),
                size: f.size,
            }
        })
        .collect()
}

/// Requirements pulled at once (each moves up to `packages::CONCURRENCY` files at once).
const CONCURRENCY: usize = 4;

/// Runs the pulls, a few at a time, then reports every file written and, for more than one
/// package, one summary. A failed pull is named (`origins`, in the order of `pulls`); the
/// others still write their files, and the first failure is the command's error.
async fn pull_all<F>(
    out: &Output,
    origins: &[String],
    pulls: Vec<F>,
    dir: &Path,
    json: bool,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<(Release, Vec<DistFile>)>>,
{
    use futures_util::{StreamExt, stream};
    let results: Vec<anyhow::Result<(Release, Vec<DistFile>)>> =
        stream::iter(pulls).buffered(CONCURRENCY).collect().await;
    let mut pulled: Vec<Pulled> = Vec::new();
    let mut errors = Vec::new();
    for (origin, result) in origins.iter().zip(results) {
        match result {
            Ok((release, files)) => pulled.extend(report(out, &release, &files, dir)),
            Err(e) => errors.push((origin, e)),
        }
    }
    let asked = origins.len();
    if asked > 1 {
        let total: u64 = pulled.iter().map(|p| p.size).sum();
        out.status(format!(
            "pulled {} of {asked} requirements: {} {} ({}) into {}",
            asked - errors.len(),
            pulled.len(),
            if pulled.len() == 1 { "file" } else { "files" },
            bytes(total),
            dir.display()
        ));
    }
    if json {
        out.json(&pulled);
    }
    let failed = errors.len();
    let mut errors = errors.into_iter();
    let Some((first_origin, first)) = errors.next() else {
        return Ok(());
    };
    if asked == 1 {
        return Err(first);
    }
    for (origin, e) in errors {
        out.warn(format!("cannot pull {origin}: {e:#}"));
    }
    Err(first.context(format!(
        "cannot pull {first_origin} ({failed} of {asked} requirements failed)"
    )))
}

fn parse_python_version(s: &str) -> anyhow::Result<(u8, u8)> {
    let parse = || -> Option<(u8, u8)> {
        let (major, minor) = s.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    };
    parse().ok_or_else(|| anyhow::anyhow!("--python-version `{s}` is not MAJOR.MINOR (e.g. 3.11)"))
}

/// `opp pull terraform-module NAMESPACE/NAME/SYSTEM[@VERSION] -o DIR`.
pub async fn terraform_module(
    settings: &Settings,
    out: &Output,
    args: PullModuleArgs,
) -> anyhow::Result<()> {
    let eco = Ecosystem::TerraformModule;
    let (name, wanted) = match args.module.split_once('@') {
        Some((n, v)) => (n, Some(Mapper::normalize_version(eco, v)?)),
        None => (args.module.as_str(), None),
    };
    let name = Mapper::normalize_package(eco, name)?;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let repo = target.mapper.repository(eco, &name)?;
    let version = match wanted {
        Some(v) => v,
        None => {
            // The newest release, else the newest pre-release.
            let asked = Asked {
                noun: "module",
                matches: None,
                hint: "",
            };
            target
                .select_version(&pkgs, eco, &name, &asked, |stored| {
                    let stable = stored
                        .iter()
                        .find(|v| semver::Version::parse(v).is_ok_and(|s| s.pre.is_empty()));
                    stable.or(stored.first()).cloned()
                })
                .await?
        }
    };
    let release = pkgs.module_release(&name, &version).await?.ok_or_else(|| {
        PackageError::NotFound(format!(
            "no version {version} of module `{name}` in {}",
            target.store.location(&repo)
        ))
    })?;
    let file = &release.files[0];
    let occupied = std::fs::read_dir(&args.output).is_ok_and(|mut d| d.next().is_some());
    if occupied && !args.force {
        return Err(crate::error::Refusal::new(
            format!("{} is not empty", args.output.display()),
            "pull into a new or empty directory, or pass --force to replace its contents",
        )
        .into());
    }
    let scratch = tempfile::tempdir()?;
    let zip = pkgs.fetch_module_zip(&name, file, scratch.path()).await?;
    let dest = args.output.clone();
    let label = format!("module {name} {version} ({})", file.name);
    let max_bytes = args.max_unpacked_size.as_u64();
    let stats = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let f = std::fs::File::open(&zip)?;
        Ok(terraform_module::unpack_zip_limited(
            std::io::BufReader::new(f),
            &label,
            &dest,
            args.force,
            max_bytes,
        )?)
    })
    .await??;
    out.status(format!(
        "unpacked {name} {version} into {} ({} files, {})",
        args.output.display(),
        stats.files,
        bytes(stats.bytes)
    ));
    if args.json {
        out.json(&serde_json::json!({
            "package": name,
            "version": version,
            "path": args.output.display().to_string(),
            "sha256": file.digest.hex(),
            "files": stats.files,
            "size": stats.bytes,
        }));
    }
    Ok(())
}

/// `opp pull nuget ID[@VERSION|RANGE]... -o DIR`: each package's newest matching version's
/// .nupkg, a few packages at a time.
pub async fn nuget(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PullNugetArgs,
) -> anyhow::Result<()> {
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let origins: Vec<String> = args.packages.iter().map(|p| format!("`{p}`")).collect();
    let pulls: Vec<_> = args
        .packages
        .iter()
        .map(|p| nuget_one(&target, &pkgs, p, args.prerelease, &args.output))
        .collect();
    pull_all(out, &origins, pulls, &args.output, args.json).await
}

/// One package of `opp pull nuget`: the newest matching version's .nupkg.
async fn nuget_one(
    target: &super::Target,
    pkgs: &Packages<'_>,
    spec: &str,
    prerelease: bool,
    dir: &Path,
) -> anyhow::Result<(Release, Vec<DistFile>)> {
    use crate::ecosystem::nuget::{self, NugetVersion, PackageKind, VersionRange};
    let eco = Ecosystem::Nuget;
    let (id, range) = match spec.split_once('@') {
        None => (spec, None),
        Some((id, spec)) if spec.trim_start().starts_with(['[', '(']) => {
            (id, Some(VersionRange::parse(spec)?))
        }
        // A bare version means exactly that version, as `nuget install -Version` does.
        Some((id, spec)) => {
            let normalized = Mapper::normalize_version(eco, spec.trim())?;
            let exact = NugetVersion::parse(&normalized)
                .ok_or_else(|| anyhow::anyhow!("`{spec}` is not a NuGet version"))?;
            (id, Some(VersionRange::exact(exact)))
        }
    };
    let name = Mapper::normalize_package(eco, id.trim())?;
    let repo = pkgs.mapper.repository(eco, &name)?;
    let asked = Asked {
        noun: "package",
        matches: Some(spec),
        hint: if prerelease {
            ""
        } else {
            " (pre-releases need --prerelease)"
        },
    };
    let version = target
        .select_version(pkgs, eco, &name, &asked, |stored| {
            nuget::select_version(stored, range.as_ref(), prerelease)
        })
        .await?;
    let release = pkgs.nuget_release(&name, &version).await?.ok_or_else(|| {
        PackageError::NotFound(format!("`{name}` {version} vanished while opp read it"))
    })?;
    let files: Vec<_> = release
        .files
        .iter()
        .filter(|f| PackageKind::of(&f.name) == Some(PackageKind::Nupkg))
        .cloned()
        .collect();
    if files.is_empty() {
        return Err(PackageError::NotFound(format!(
            "`{name}` {version} in {} holds no .nupkg",
            pkgs.store.location(&repo)
        ))
        .into());
    }
    pkgs.refuse_duplicate_files(&format!("`{name}` {version}"), &files)?;
    pkgs.download(eco, &name, &files, dir).await?;
    Ok((release, files.to_vec()))
}

/// `opp pull rubygems NAME[@REQUIREMENT]... [--platform P]`: for each gem, the newest matching
/// version that has a gem for the platform, a few gems at a time.
pub async fn rubygems(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PullRubygemsArgs,
) -> anyhow::Result<()> {
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let origins: Vec<String> = args.gems.iter().map(|g| format!("`{g}`")).collect();
    let platform = args.platform.as_deref();
    let pulls: Vec<_> = args
        .gems
        .iter()
        .map(|g| rubygems_one(&target, &pkgs, g, platform, args.pre, &args.output))
        .collect();
    pull_all(out, &origins, pulls, &args.output, args.json).await
}

/// One gem of `opp pull rubygems`: the newest matching version, then its gem for the
/// platform (the plain `ruby` gem by default).
async fn rubygems_one(
    target: &super::Target,
    pkgs: &Packages<'_>,
    spec: &str,
    platform: Option<&str>,
    pre: bool,
    dir: &Path,
) -> anyhow::Result<(Release, Vec<DistFile>)> {
    use crate::ecosystem::rubygems;
    let eco = Ecosystem::Rubygems;
    let (name, req) = match spec.split_once('@') {
        Some((n, r)) => (n.trim(), Some(rubygems::parse_requirement(r)?)),
        None => (spec.trim(), None),
    };
    let name = Mapper::normalize_package(eco, name)?;
    let requirement = req.as_ref().map(|r| r.to_string());
    let asked = Asked {
        noun: "gem",
        matches: requirement.as_deref(),
        hint: if pre {
            ""
        } else {
            " (pre-releases need --pre)"
        },
    };
    let mut versions = Vec::new();
    let version = target
        .select_version(pkgs, eco, &name, &asked, |stored| {
            versions = stored.to_vec();
            rubygems::select_version(stored, req.as_ref(), pre)
        })
        .await?;
    let platform_of = |f: &DistFile| {
        f.annotations
            .get(artifact::RUBYGEMS_PLATFORM)
            .cloned()
            .unwrap_or_else(|| "ruby".to_owned())
    };
    let wanted = platform.unwrap_or("ruby");
    // As gem does: the newest matching version that has a gem for the platform.
    let mut newest: Option<Release> = None;
    let mut remaining = versions.clone();
    let mut candidate = Some(version);
    let chosen = loop {
        let Some(version) = candidate.take() else {
            break None;
        };
        let release = pkgs.gem_release(&name, &version).await?.ok_or_else(|| {
            PackageError::NotFound(format!("`{name}` {version} vanished while opp read it"))
        })?;
        if let Some(file) = release.files.iter().find(|f| platform_of(f) == wanted) {
            break Some((file.clone(), release));
        }
        newest.get_or_insert(release);
        remaining.retain(|v| *v != version);
        candidate = rubygems::select_version(&remaining, req.as_ref(), pre);
    };
    let Some((file, release)) = chosen else {
        // The loop reads the selected version first, so `newest` is set.
        let (newest_version, stored) = newest
            .map(|r| (r.version.clone(), r.files.iter().map(platform_of).collect()))
            .unwrap_or_default();
        let stored: Vec<String> = stored;
        let hint = match platform {
            None => "it has only platform gems: pass --platform with one of them",
            Some(_) => {
                "`opp list` shows every stored package, `opp list ECOSYSTEM NAME` the versions of one"
            }
        };
        let refusal = crate::error::Refusal::new(
            format!(
                "`{name}` {newest_version} has no gem for platform `{wanted}` (nor has any \
                 other matching version); stored platforms: {}",
                stored.join(", ")
            ),
            hint,
        )
        .of_kind(crate::error::Kind::NotFound);
        return Err(refusal.into());
    };
    let files = [file.clone()];
    pkgs.download(eco, &name, &files, dir).await?;
    Ok((release, files.to_vec()))
}

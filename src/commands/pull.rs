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
use crate::ecosystem::{self, terraform_module};
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
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

/// Downloads the chosen files of a version into `dir` (atomically, see
/// [`Packages::download`]), then says where each went, and with `json` prints the report.
async fn write_files(
    pkgs: &Packages<'_>,
    out: &Output,
    release: &Release,
    files: &[DistFile],
    dir: &Path,
    json: bool,
) -> anyhow::Result<()> {
    pkgs.download(release.ecosystem, &release.package, files, dir)
        .await?;
    let pulled = report(out, release, files, dir);
    if json {
        out.json(&pulled);
    }
    Ok(())
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
            let mut versions = pkgs.versions(eco, &name).await?;
            ecosystem::sort_newest_first(eco, &mut versions);
            let stable = versions
                .iter()
                .find(|v| semver::Version::parse(v).is_ok_and(|s| s.pre.is_empty()));
            stable.or(versions.first()).cloned().ok_or_else(|| {
                PackageError::NotFound(format!(
                    "no module `{name}` in {}",
                    target.store.location(&repo)
                ))
            })?
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
        anyhow::bail!(
            "{} is not empty; pull into a new or empty directory, or pass --force to replace its contents",
            args.output.display()
        );
    }
    let scratch = tempfile::tempdir()?;
    let zip = pkgs.fetch_module_zip(&name, file, scratch.path()).await?;
    let dest = args.output.clone();
    let stats = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let f = std::fs::File::open(&zip)?;
        Ok(terraform_module::unpack_zip(
            std::io::BufReader::new(f),
            &dest,
            args.force,
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

/// `opp pull nuget ID[@VERSION|RANGE] -o DIR`: the newest matching version's .nupkg.
pub async fn nuget(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PullNugetArgs,
) -> anyhow::Result<()> {
    use crate::ecosystem::nuget::{self, NugetVersion, PackageKind, VersionRange};
    let eco = Ecosystem::Nuget;
    let (id, range) = match args.package.split_once('@') {
        None => (args.package.as_str(), None),
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
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let repo = target.mapper.repository(eco, &name)?;
    let mut versions = pkgs.versions(eco, &name).await?;
    if versions.is_empty() {
        return Err(PackageError::NotFound(format!(
            "no package `{name}` in {}",
            target.store.location(&repo)
        ))
        .into());
    }
    let Some(version) = nuget::select_version(&versions, range.as_ref(), args.prerelease) else {
        nuget::sort_newest_first(&mut versions);
        let pre_hint = if args.prerelease {
            ""
        } else {
            " (pre-releases need --prerelease)"
        };
        return Err(PackageError::NotFound(format!(
            "no version of `{name}` matches `{}`{pre_hint}; stored: {}",
            args.package,
            versions.join(", ")
        ))
        .into());
    };
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
            target.store.location(&repo)
        ))
        .into());
    }
    write_files(&pkgs, out, &release, &files, &args.output, args.json).await?;
    Ok(())
}

/// `opp pull rubygems NAME[@REQUIREMENT] [--platform P]`: the newest matching version, then
/// its gem for the platform (the plain `ruby` gem by default).
pub async fn rubygems(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PullRubygemsArgs,
) -> anyhow::Result<()> {
    use crate::ecosystem::rubygems;
    let eco = Ecosystem::Rubygems;
    let (name, req) = match args.gem.split_once('@') {
        Some((n, r)) => (n.trim(), Some(rubygems::parse_requirement(r)?)),
        None => (args.gem.trim(), None),
    };
    let name = Mapper::normalize_package(eco, name)?;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let repo = target.mapper.repository(eco, &name)?;
    let versions = pkgs.versions(eco, &name).await?;
    if versions.is_empty() {
        return Err(PackageError::NotFound(format!(
            "no gem `{name}` in {}",
            target.store.location(&repo)
        ))
        .into());
    }
    let Some(version) = rubygems::select_version(&versions, req.as_ref(), args.pre) else {
        let mut all = versions.clone();
        rubygems::sort_newest_first(&mut all);
        let wanted = req
            .as_ref()
            .map(|r| format!(" matches `{r}`"))
            .unwrap_or_default();
        let pre_hint = if args.pre {
            ""
        } else {
            " (pre-releases need --pre)"
        };
        return Err(PackageError::NotFound(format!(
            "no version of `{name}`{wanted}{pre_hint}; stored: {}",
            all.join(", ")
        ))
        .into());
    };
    let platform_of = |f: &DistFile| {
        f.annotations
            .get(artifact::RUBYGEMS_PLATFORM)
            .cloned()
            .unwrap_or_else(|| "ruby".to_owned())
    };
    let wanted = args.platform.as_deref().unwrap_or("ruby");
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
        candidate = rubygems::select_version(&remaining, req.as_ref(), args.pre);
    };
    let Some((file, release)) = chosen else {
        let newest = newest.expect("at least one version was read");
        let stored: Vec<String> = newest.files.iter().map(platform_of).collect();
        let hint = if args.platform.is_none() {
            "; it has only platform gems: pass --platform with one of them"
        } else {
            ""
        };
        return Err(PackageError::NotFound(format!(
            "`{name}` {} has no gem for platform `{wanted}`{hint} (nor has any other matching \
             version); stored platforms: {}",
            newest.version,
            stored.join(", ")
        ))
        .into());
    };
    let files = [file.clone()];
    write_files(&pkgs, out, &release, &files, &args.output, args.json).await?;
    Ok(())
}

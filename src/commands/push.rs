//! `opp push ECOSYSTEM ...`: read the files' own metadata, then push each version.

use std::path::{Path, PathBuf};

use crate::artifact::Merged;
use crate::cli::{PushModuleArgs, PushPypiArgs};
use crate::config::Settings;
use crate::ecosystem::terraform_module::{self, ModuleSource};
use crate::ecosystem::{nuget, pypi, rubygems};
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages;
use crate::packages::Pushed;
use crate::release::Ecosystem;

/// Reads and checks every file (off the async runtime: it is blocking file I/O) before
/// anything is uploaded.
async fn described<T: Send + 'static, E: std::error::Error + Send + Sync + 'static>(
    paths: Vec<PathBuf>,
    discover: fn(&[PathBuf]) -> Result<Vec<PathBuf>, E>,
    describe: fn(&Path) -> Result<T, E>,
) -> anyhow::Result<Vec<T>> {
    let found = tokio::task::spawn_blocking(move || {
        discover(&paths)?
            .iter()
            .map(|p| describe(p))
            .collect::<Result<Vec<_>, E>>()
    })
    .await??;
    Ok(found)
}

/// One line per pushed file on stderr, and the JSON report on stdout with --json.
fn print_report(out: &Output, report: &[Pushed], json: bool) {
    for p in report {
        let (file, location, shown) = (&p.file, &p.location, bytes(p.size));
        out.status(match p.status {
            "added" => format!("pushed {file} ({shown}) to {location}"),
            "replaced" => format!("replaced {file} ({shown}) in {location}"),
            _ => format!("{file} is already in {location} with the same bytes; left as is"),
        });
    }
    if json {
        out.json(&report);
    }
}

/// `opp push pypi PATH...`: every wheel and sdist, one index per version.
pub async fn pypi(settings: &Settings, out: &Output, args: PushPypiArgs) -> anyhow::Result<()> {
    let dists = described(args.paths, pypi::discover, pypi::describe).await?;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let report = pkgs.push_pypi(dists, args.push.force).await?;
    print_report(out, &report, args.push.json);
    Ok(())
}

/// `opp push terraform-module NAMESPACE/NAME/SYSTEM VERSION DIR|ZIP`.
pub async fn terraform_module(
    settings: &Settings,
    out: &Output,
    args: PushModuleArgs,
) -> anyhow::Result<()> {
    let eco = Ecosystem::TerraformModule;
    let name = Mapper::normalize_package(eco, &args.module)?;
    let version = Mapper::normalize_version(eco, &args.version)?;
    // Check or build the zip before anything is uploaded.
    let scratch = tempfile::tempdir()?;
    let zip = match terraform_module::source(&args.path)? {
        ModuleSource::Zip(path) => {
            let checked = path.clone();
            tokio::task::spawn_blocking(move || terraform_module::check_zip(&checked)).await??;
            path
        }
        ModuleSource::Dir(dir) => {
            let zip = scratch.path().join("module.zip");
            let target = zip.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let file = std::fs::File::create(&target)?;
                terraform_module::zip_dir(&dir, std::io::BufWriter::new(file))?;
                Ok(())
            })
            .await??;
            zip
        }
    };
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let repo = target.mapper.repository(eco, &name)?;
    let location = format!(
        "{}:{}",
        target.store.location(&repo),
        target.mapper.tag(eco, &version)?
    );
    let packages::module::ModulePushed {
        outcome,
        latest,
        digest,
        size,
    } = pkgs
        .push_module(&name, &version, &zip, args.push.force)
        .await?;
    let status = match &outcome {
        Merged::Added(_) => "added",
        Merged::Replaced(_) => "replaced",
        Merged::Unchanged(_) => "unchanged",
    };
    out.status(match status {
        "unchanged" => {
            format!("{name} {version} is already in {location} with the same bytes; left as is")
        }
        _ => format!(
            "pushed {name} {version} ({}) to {location}{}",
            bytes(size),
            if latest {
                ", and moved `latest` to it"
            } else {
                ""
            }
        ),
    });
    if args.push.json {
        out.json(&[Pushed {
            package: name.clone(),
            version: version.clone(),
            file: packages::module::zip_name(&name, &version),
            sha256: digest.hex().to_owned(),
            size,
            status,
            location,
        }]);
    }
    Ok(())
}

/// `opp push nuget PATH...`: read each package's nuspec, then push each version.
pub async fn nuget(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PushNugetArgs,
) -> anyhow::Result<()> {
    let described = described(args.paths, nuget::discover, nuget::describe).await?;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let report = pkgs.push_nuget(described, args.push.force).await?;
    print_report(out, &report, args.push.json);
    Ok(())
}

/// `opp push rubygems FILE|DIR...`: every gem is read and checked before anything is uploaded.
pub async fn rubygems(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PushRubygemsArgs,
) -> anyhow::Result<()> {
    let gems = described(args.paths, rubygems::discover, rubygems::describe).await?;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let report = pkgs.push_rubygems(gems, args.push.force).await?;
    print_report(out, &report, args.push.json);
    Ok(())
}

//! `opp push ECOSYSTEM ...`: read the files' own metadata, then push each version.

use crate::artifact::Merged;
use crate::cli::{PushModuleArgs, PushPypiArgs};
use crate::config::Settings;
use crate::ecosystem::pypi::{self, PythonDist};
use crate::ecosystem::terraform_module::{self, ModuleSource};
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages;
use crate::packages::pypi::Pushed;
use crate::release::Ecosystem;

pub async fn pypi(settings: &Settings, out: &Output, args: PushPypiArgs) -> anyhow::Result<()> {
    // Read and check every file before anything is uploaded.
    let dists: Vec<PythonDist> = tokio::task::spawn_blocking(move || {
        let paths = pypi::discover(&args.paths)?;
        paths
            .iter()
            .map(|p| pypi::describe(p))
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let report = pkgs.push_pypi(dists, args.push.force).await?;
    for p in &report {
        let (file, location, shown) = (&p.file, &p.location, bytes(p.size));
        out.status(match p.status {
            "added" => format!("pushed {file} ({shown}) to {location}"),
            "replaced" => format!("replaced {file} ({shown}) in {location}"),
            _ => format!("{file} is already in {location} with the same bytes; left as is"),
        });
    }
    if args.push.json {
        out.json(&report);
    }
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
    let (outcome, latest) = pkgs
        .push_module(&name, &version, &zip, args.push.force)
        .await?;
    let (digest, size) = packages::hash_file(&zip).await?;
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

/// `opp push rubygems FILE|DIR...`: every gem is read and checked before anything is uploaded.
pub async fn rubygems(
    settings: &Settings,
    out: &Output,
    args: crate::cli::PushRubygemsArgs,
) -> anyhow::Result<()> {
    use crate::ecosystem::rubygems;
    let gems: Vec<rubygems::Gem> = tokio::task::spawn_blocking(move || {
        let paths = rubygems::discover(&args.paths)?;
        paths
            .iter()
            .map(|p| rubygems::describe(p))
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let report = pkgs.push_rubygems(gems, args.push.force).await?;
    for p in &report {
        let (file, location, shown) = (&p.file, &p.location, bytes(p.size));
        out.status(match p.status {
            "added" => format!("pushed {file} ({shown}) to {location}"),
            "replaced" => format!("replaced {file} ({shown}) in {location}"),
            _ => format!("{file} is already in {location} with the same bytes; left as is"),
        });
    }
    if args.push.json {
        out.json(&report);
    }
    Ok(())
}

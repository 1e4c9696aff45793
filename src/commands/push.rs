//! `opp push ECOSYSTEM ...`: read the files' own metadata, then push each version.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

use crate::artifact::{self, FileSpec, LayerSource, LayerSpec, Merged};
use crate::cli::{PushModuleArgs, PushPypiArgs};
use crate::config::Settings;
use crate::ecosystem::pypi::{self, PythonDist};
use crate::ecosystem::terraform_module::{self, ModuleSource};
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages::{self, Packages};
use crate::release::Ecosystem;

#[derive(Serialize)]
struct Pushed {
    package: String,
    version: String,
    file: String,
    sha256: String,
    size: u64,
    status: &'static str,
    location: String,
}

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
    let mut groups: BTreeMap<(String, String), Vec<FileSpec>> = BTreeMap::new();
    for d in dists {
        let name = Mapper::normalize_package(Ecosystem::Pypi, &d.name)?;
        let (digest, size) = packages::hash_file(&d.path).await?;
        let spec = FileSpec {
            file_name: d.file_name.clone(),
            artifact_type: artifact::PYPI.file_artifact_type,
            entry_artifact_type: None,
            layers: vec![LayerSpec {
                descriptor: packages::layer(&artifact::PYPI, digest.clone(), size),
                title: Some(d.file_name.clone()),
                source: LayerSource::File(d.path.clone()),
            }],
            metadata: d
                .metadata
                .map(|m| (artifact::PYPI_METADATA, Bytes::from(m))),
            platform: Some(("any".to_owned(), d.platform_arch.clone())),
            entry_annotations: packages::pypi_annotations(&digest, d.requires_python.as_deref()),
        };
        groups.entry((name, d.version)).or_default().push(spec);
    }
    let pkgs = Packages {
        store: target.store.as_ref(),
        mapper: &target.mapper,
        out,
    };
    let mut report = Vec::new();
    for ((name, version), files) in groups {
        let repo = target.mapper.repository(Ecosystem::Pypi, &name)?;
        let location = format!(
            "{}:{}",
            target.store.location(&repo),
            target.mapper.tag(Ecosystem::Pypi, &version)?
        );
        let by_name: BTreeMap<String, (String, u64)> = files
            .iter()
            .map(|f| (f.file_name.clone(), (f.digest().hex().to_owned(), f.size())))
            .collect();
        let outcome = pkgs
            .push(
                Ecosystem::Pypi,
                &artifact::PYPI,
                &name,
                &version,
                files,
                args.push.force,
            )
            .await?;
        for m in outcome {
            let (file, status) = match m {
                Merged::Added(f) => (f, "added"),
                Merged::Replaced(f) => (f, "replaced"),
                Merged::Unchanged(f) => (f, "unchanged"),
            };
            let (sha256, size) = by_name[&file].clone();
            let shown = bytes(size);
            out.status(match status {
                "added" => format!("pushed {file} ({shown}) to {location}"),
                "replaced" => format!("replaced {file} ({shown}) in {location}"),
                _ => format!("{file} is already in {location} with the same bytes; left as is"),
            });
            report.push(Pushed {
                package: name.clone(),
                version: version.clone(),
                file,
                sha256,
                size,
                status,
                location: location.clone(),
            });
        }
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
    let pkgs = Packages {
        store: target.store.as_ref(),
        mapper: &target.mapper,
        out,
    };
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

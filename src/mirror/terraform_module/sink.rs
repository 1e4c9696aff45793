//! Where mirrored modules go: each version's package is fetched (`fetch`), zipped whole by
//! `opp push terraform-module`'s packer (`ecosystem::terraform_module::zip_dir`: reproducible,
//! `.git/` and `.terraform/` left out, symlinked files stored as copies) and pushed through
//! its path (`Packages::push_module_with`: OpenTofu's layout, `latest` moved to the highest
//! release), with where it came from and the `//subdir` the registry named as manifest
//! annotations (the proxy hands the subdirectory back to Terraform). A module has no digest the registry states, so the sink takes its versions in
//! [`Sink::stream`], from source to store, with no download step of the pipeline's; a stored
//! version never gets here (the plan carries its digest, and the pipeline skips it).

use std::collections::BTreeMap;
use std::path::PathBuf;

use indicatif::ProgressBar;

use super::FetchError;
use super::fetch::{self, blocking};
use super::source::Source;
use crate::artifact::Merged;
use crate::ecosystem::terraform_module::zip_dir;
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;
use crate::packages::module::{MODULE_SOURCE, MODULE_SUBDIR};

/// One planned module version.
#[derive(Clone, Debug)]
pub struct Planned {
    /// `namespace/name/system`, as stored.
    pub name: String,
    pub version: String,
    pub source: Source,
    /// The source address as the registry gave it (resolved).
    pub location: String,
}

pub struct ModuleSink<'a> {
    pub packages: Packages<'a>,
    /// (name, version) -> what to fetch.
    pub versions: BTreeMap<(String, String), Planned>,
    pub max_unpacked_bytes: u64,
}

/// A failure as the per-file report line says it: the error, its causes and its hints.
fn reason<E: std::error::Error + 'static>(e: E) -> String {
    crate::error::reason(&e)
}

impl ModuleSink<'_> {
    /// Fetches, zips and pushes one version: `true` when it was added.
    async fn mirror_one(
        &self,
        file: &PlanFile,
        client: &reqwest::Client,
        bar: &ProgressBar,
    ) -> Result<bool, String> {
        let key = (file.package.clone(), file.version.clone());
        let Some(planned) = self.versions.get(&key) else {
            return Err(format!("{} {} was not planned", key.0, key.1));
        };
        let scratch = tempfile::Builder::new()
            .prefix("opp-mirror-module.")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        let package = fetch::package(
            client,
            &planned.source,
            scratch.path(),
            bar,
            self.max_unpacked_bytes,
        )
        .await
        .map_err(reason)?;
        let zip = scratch.path().join("module.zip");
        let target = zip.clone();
        blocking(move || zip_package(&package, &target))
            .await
            .map_err(reason)?;
        let mut annotations =
            BTreeMap::from([(MODULE_SOURCE.to_owned(), planned.source.provenance())]);
        if let Some(subdir) = &planned.source.subdir {
            annotations.insert(MODULE_SUBDIR.to_owned(), subdir.clone());
        }
        let pushed = self
            .packages
            .push_module_with(&planned.name, &planned.version, &zip, false, annotations)
            .await
            .map_err(reason)?;
        Ok(!matches!(pushed.outcome, Merged::Unchanged(_)))
    }
}

/// Zips the package directory with the push path's packer.
fn zip_package(package: &std::path::Path, zip: &PathBuf) -> Result<(), FetchError> {
    let file = std::fs::File::create(zip).map_err(|source| FetchError::Io {
        path: zip.display().to_string(),
        source,
    })?;
    zip_dir(package, std::io::BufWriter::new(file))?;
    Ok(())
}

#[async_trait::async_trait]
impl Sink for ModuleSink<'_> {
    fn ecosystem(&self) -> crate::release::Ecosystem {
        crate::release::Ecosystem::TerraformModule
    }

    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let release = self
            .packages
            .module_release(package, version)
            .await
            .map_err(reason)?;
        Ok(crate::mirror::execute::file_digests(release))
    }

    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>> {
        // Every version is taken in `stream`; nothing is left to the download path.
        files
            .iter()
            .map(|(f, _)| Err(format!("{} {} was not planned", f.package, f.version)))
            .collect()
    }

    async fn stream(
        &self,
        files: Vec<PlanFile>,
        client: &reqwest::Client,
        bar: &ProgressBar,
    ) -> (Vec<(PlanFile, Result<bool, String>)>, Vec<PlanFile>) {
        let mut done = Vec::new();
        for f in files {
            let outcome = self.mirror_one(&f, client, bar).await;
            done.push((f, outcome));
        }
        (done, Vec::new())
    }
}

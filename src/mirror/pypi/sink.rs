//! Where mirrored Python files go: the store, through the path `opp push pypi` takes (each
//! file described from its own metadata, then `Packages::push_pypi`), so a mirrored file is
//! laid out exactly like a pushed one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::artifact;
use crate::ecosystem::pypi as eco;
use crate::mapper::Mapper;
use crate::mirror::pypi::StoredMetadata;
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;
use crate::release::Ecosystem;

pub struct PypiSink<'a> {
    pub packages: Packages<'a>,
}

/// The largest stored METADATA read back.
const MAX_METADATA: u64 = 16 * 1024 * 1024;

#[async_trait::async_trait]
impl StoredMetadata for PypiSink<'_> {
    async fn metadata(&self, name: &str, version: &str) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let name = Mapper::normalize_package(Ecosystem::Pypi, name).ok()?;
        let fallback = |(_, arch): &(String, String)| eco::file_name_for(&name, version, arch);
        let release = self
            .packages
            .release(Ecosystem::Pypi, &artifact::PYPI, &name, version, &fallback)
            .await
            .ok()??;
        let meta = release
            .files
            .iter()
            .find_map(|f| f.metadata.as_ref())
            .filter(|d| d.size <= MAX_METADATA)?;
        let repo = self
            .packages
            .mapper
            .repository(Ecosystem::Pypi, &name)
            .ok()?;
        let mut reader = self
            .packages
            .store
            .fetch_blob(&repo, &meta.digest, meta.size)
            .await
            .ok()?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.ok()?;
        Some(bytes)
    }
}

/// An error with its causes on one line.
fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

#[async_trait::async_trait]
impl Sink for PypiSink<'_> {
    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let name = Mapper::normalize_package(Ecosystem::Pypi, package).map_err(chain)?;
        let fallback = |(_, arch): &(String, String)| eco::file_name_for(&name, version, arch);
        let release = self
            .packages
            .release(Ecosystem::Pypi, &artifact::PYPI, &name, version, &fallback)
            .await
            .map_err(chain)?;
        Ok(release
            .map(|r| {
                r.files
                    .into_iter()
                    .map(|f| (f.name, f.digest.hex().to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>> {
        let mut outcome: Vec<Result<bool, String>> = Vec::with_capacity(files.len());
        let mut dists = Vec::new();
        for (f, path) in &files {
            let path = path.clone();
            let described = tokio::task::spawn_blocking(move || eco::describe(&path)).await;
            match described {
                Ok(Ok(d)) => {
                    dists.push(d);
                    outcome.push(Ok(true));
                }
                Ok(Err(e)) => outcome.push(Err(format!(
                    "{} is not a distribution opp can push: {}",
                    f.file_name,
                    chain(e)
                ))),
                Err(e) => outcome.push(Err(e.to_string())),
            }
        }
        if dists.is_empty() {
            return outcome;
        }
        match self.packages.push_pypi(dists, false).await {
            Ok(pushed) => {
                let status: BTreeMap<&str, &str> =
                    pushed.iter().map(|p| (p.file.as_str(), p.status)).collect();
                for ((f, _), o) in files.iter().zip(outcome.iter_mut()) {
                    if o.is_ok() {
                        *o = Ok(status.get(f.file_name.as_str()) != Some(&"unchanged"));
                    }
                }
            }
            Err(e) => {
                let why = chain(e);
                for o in outcome.iter_mut().filter(|o| o.is_ok()) {
                    *o = Err(why.clone());
                }
            }
        }
        outcome
    }
}

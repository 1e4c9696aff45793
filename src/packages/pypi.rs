//! Pushing Python distributions: read each file's own metadata, lay it out as PyOCI does, and
//! push each version. Shared by `opp push pypi` and the proxy's upload endpoint.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

use super::{Packages, Result, hash_file};
use crate::artifact::{self, FileSpec, Kinds, LayerSource, LayerSpec, Merged};
use crate::digest::Digest;
use crate::ecosystem::pypi::PythonDist;
use crate::mapper::Mapper;
use crate::release::{Descriptor, Ecosystem};

/// What happened to one pushed file.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub package: String,
    pub version: String,
    pub file: String,
    pub sha256: String,
    pub size: u64,
    /// `added`, `replaced` or `unchanged`.
    pub status: &'static str,
    /// `<store location of the repository>:<tag>`.
    pub location: String,
}

impl Packages<'_> {
    /// Pushes described distributions, grouped into one index per version.
    pub async fn push_pypi(&self, dists: Vec<PythonDist>, force: bool) -> Result<Vec<Pushed>> {
        let eco = Ecosystem::Pypi;
        let mut groups: BTreeMap<(String, String), Vec<FileSpec>> = BTreeMap::new();
        for d in dists {
            let name = Mapper::normalize_package(eco, &d.name)?;
            let (digest, size) = hash_file(&d.path).await?;
            let spec = FileSpec {
                file_name: d.file_name.clone(),
                artifact_type: artifact::PYPI.file_artifact_type,
                entry_artifact_type: None,
                layers: vec![LayerSpec {
                    descriptor: layer(&artifact::PYPI, digest.clone(), size),
                    title: Some(d.file_name.clone()),
                    source: LayerSource::File(d.path.clone()),
                }],
                metadata: d
                    .metadata
                    .map(|m| (artifact::PYPI_METADATA, Bytes::from(m))),
                platform: Some(("any".to_owned(), d.platform_arch.clone())),
                entry_annotations: pypi_annotations(&digest, d.requires_python.as_deref()),
            };
            groups.entry((name, d.version)).or_default().push(spec);
        }
        let mut report = Vec::new();
        for ((name, version), files) in groups {
            let repo = self.mapper.repository(eco, &name)?;
            let location = format!(
                "{}:{}",
                self.store.location(&repo),
                self.mapper.tag(eco, &version)?
            );
            let by_name: BTreeMap<String, (String, u64)> = files
                .iter()
                .map(|f| (f.file_name.clone(), (f.digest().hex().to_owned(), f.size())))
                .collect();
            let outcome = self
                .push(eco, &artifact::PYPI, &name, &version, files, force)
                .await?;
            for m in outcome {
                let (file, status) = match m {
                    Merged::Added(f) => (f, "added"),
                    Merged::Replaced(f) => (f, "replaced"),
                    Merged::Unchanged(f) => (f, "unchanged"),
                };
                let (sha256, size) = by_name[&file].clone();
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
        Ok(report)
    }
}

/// Builds the layer descriptor of a local file.
fn layer(kinds: &Kinds, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: kinds.layer_media_type.to_owned(),
        digest,
        size,
    }
}

/// Entry annotations of a PyPI file.
fn pypi_annotations(digest: &Digest, requires_python: Option<&str>) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([(artifact::PYOCI_SHA256.to_owned(), digest.hex().to_owned())]);
    if let Some(r) = requires_python {
        a.insert(artifact::PYPI_REQUIRES_PYTHON.to_owned(), r.to_owned());
    }
    a
}

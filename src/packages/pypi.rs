//! Pushing Python distributions: read each file's own metadata, lay it out as PyOCI does, and
//! push each version. Shared by `opp push pypi` and the proxy's upload endpoint.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::future::BoxFuture;

pub use super::Pushed;
use super::{Hashed, Packages, Result, hash_file};
use crate::artifact::{self, FileSpec, Kinds, LayerSource, LayerSpec};
use crate::digest::Digest;
use crate::ecosystem::pypi::PythonDist;
use crate::mapper::Mapper;
use crate::release::{Descriptor, Ecosystem, Release};

impl Packages<'_> {
    /// Pushes described distributions, grouped into one index per version.
    pub async fn push_pypi(&self, dists: Vec<PythonDist>, force: bool) -> Result<Vec<Pushed>> {
        let dists = dists.into_iter().map(|d| (d, None)).collect();
        self.push_pypi_hashed(dists, force).await
    }

    /// [`Packages::push_pypi`], for distributions whose digest and size the caller already
    /// has (the proxy hashes an upload as it spools it): those are not read again before
    /// the upload.
    pub async fn push_pypi_hashed(
        &self,
        dists: Vec<(PythonDist, Option<Hashed>)>,
        force: bool,
    ) -> Result<Vec<Pushed>> {
        let eco = Ecosystem::Pypi;
        let mut groups: BTreeMap<(String, String), Vec<FileSpec>> = BTreeMap::new();
        for (d, hashed) in dists {
            let name = Mapper::normalize_package(eco, &d.name)?;
            let (digest, size) = match hashed {
                Some(known) => known,
                None => hash_file(&d.path).await?,
            };
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
        self.push_versions(eco, &artifact::PYPI, groups, force)
            .await
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

/// The contract's `read_release` (`ecosystem::contract`): a PyPI version, file names rebuilt
/// for PyOCI-pushed entries that carry no title.
pub(crate) fn read_release<'a>(
    pkgs: &'a Packages<'a>,
    name: &'a str,
    version: &'a str,
) -> BoxFuture<'a, Result<Option<Release>>> {
    Box::pin(async move {
        let fallback = |(_, arch): &(String, String)| {
            crate::ecosystem::pypi::file_name_for(name, version, arch)
        };
        pkgs.release(Ecosystem::Pypi, &artifact::PYPI, name, version, &fallback)
            .await
    })
}

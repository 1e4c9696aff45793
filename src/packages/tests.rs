//! Reading a version opp wrote takes its index alone: a store that counts calls, around the
//! real local layout, shows no per-entry manifest fetch; an index without opp's annotations
//! (another tool's) is still read, one manifest per entry.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::*;
use crate::artifact::{FileSpec, LayerSource, LayerSpec};
use crate::release::Descriptor;
use crate::store::layout::LayoutStore;
use crate::store::{BlobReader, RawManifest, Result as StoreResult};

/// The real local layout, counting manifest fetches by digest.
struct Counting {
    inner: LayoutStore,
    fetches: AtomicUsize,
}

#[async_trait]
impl Store for Counting {
    fn location(&self, repository: &str) -> String {
        self.inner.location(repository)
    }
    async fn resolve(&self, repository: &str, tag: &str) -> StoreResult<Option<RawManifest>> {
        self.inner.resolve(repository, tag).await
    }
    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> StoreResult<RawManifest> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch_manifest(repository, digest).await
    }
    async fn push_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> StoreResult<()> {
        self.inner.push_manifest(repository, manifest, tag).await
    }
    async fn push_manifest_if(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: &str,
        expected: Option<&Digest>,
    ) -> StoreResult<bool> {
        self.inner
            .push_manifest_if(repository, manifest, tag, expected)
            .await
    }
    fn atomic_tag_writes(&self) -> bool {
        self.inner.atomic_tag_writes()
    }
    async fn blob_exists(&self, repository: &str, digest: &Digest) -> StoreResult<bool> {
        self.inner.blob_exists(repository, digest).await
    }
    async fn fetch_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
    ) -> StoreResult<BlobReader> {
        self.inner.fetch_blob(repository, digest, size).await
    }
    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> StoreResult<()> {
        self.inner.push_blob(repository, digest, size, data).await
    }
    async fn list_tags(&self, repository: &str) -> StoreResult<Vec<String>> {
        self.inner.list_tags(repository).await
    }
    async fn list_repositories(&self, prefix: &str) -> StoreResult<Vec<String>> {
        self.inner.list_repositories(prefix).await
    }
}

/// A wheel of `arch` with METADATA as config, as `push_pypi` lays it out.
fn wheel(arch: &str) -> FileSpec {
    let name = format!("six-1.0-{arch}");
    let bytes = Bytes::from(format!("the wheel {name}"));
    let metadata = Bytes::from(format!(
        "Metadata-Version: 2.1\nName: six\nVersion: 1.0\n# {arch}\n"
    ));
    let digest = Digest::of(&bytes);
    FileSpec {
        file_name: name.clone(),
        artifact_type: artifact::PYPI.file_artifact_type,
        entry_artifact_type: None,
        layers: vec![LayerSpec {
            descriptor: Descriptor {
                media_type: artifact::PYPI.layer_media_type.to_owned(),
                digest: digest.clone(),
                size: bytes.len() as u64,
            },
            title: Some(name),
            source: LayerSource::Bytes(bytes),
        }],
        metadata: Some((artifact::PYPI_METADATA, metadata)),
        platform: Some(("any".to_owned(), arch.to_owned())),
        entry_annotations: BTreeMap::from([(
            artifact::PYOCI_SHA256.to_owned(),
            digest.hex().to_owned(),
        )]),
    }
}

const ARCHES: [&str; 3] = [
    "py3-none-any.whl",
    "cp312-cp312-manylinux_2_17_x86_64.whl",
    "cp312-cp312-win_amd64.whl",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn reading_a_version_opp_wrote_fetches_no_manifest_per_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Counting {
        inner: LayoutStore::new(dir.path()),
        fetches: AtomicUsize::new(0),
    };
    let mapper = Mapper::new("").unwrap();
    let out = Output::new(true);
    let pkgs = Packages {
        store: &store,
        mapper: &mapper,
        out: &out,
    };
    let rt = runtime();
    // Three pushes into one version: the second and third merge into what is stored.
    for arch in ARCHES {
        rt.block_on(pkgs.push(
            Ecosystem::Pypi,
            &artifact::PYPI,
            "six",
            "1.0",
            vec![wheel(arch)],
            false,
        ))
        .unwrap();
    }
    store.fetches.store(0, Ordering::SeqCst);
    let release = rt
        .block_on(
            pkgs.release(Ecosystem::Pypi, &artifact::PYPI, "six", "1.0", &|_| {
                String::new()
            }),
        )
        .unwrap()
        .unwrap();
    assert_eq!(release.files.len(), 3);
    assert!(release.files.iter().all(|f| f.metadata.is_some()));
    assert_eq!(store.fetches.load(Ordering::SeqCst), 0);
}

#[test]
fn an_index_without_opps_annotations_is_read_from_its_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let store = Counting {
        inner: LayoutStore::new(dir.path()),
        fetches: AtomicUsize::new(0),
    };
    let mapper = Mapper::new("").unwrap();
    let out = Output::new(true);
    let pkgs = Packages {
        store: &store,
        mapper: &mapper,
        out: &out,
    };
    let rt = runtime();
    // An index as another tool writes it: the same manifests, entries without io.opp.file.*.
    let created = "2026-01-01T00:00:00Z";
    let built: Vec<artifact::FileArtifact> = ARCHES
        .iter()
        .map(|a| artifact::file_manifest(wheel(a), created))
        .collect();
    let refs: Vec<&artifact::FileArtifact> = built.iter().collect();
    rt.block_on(pkgs.upload("pypi/six", &refs)).unwrap();
    let entries = built
        .iter()
        .map(|a| {
            let mut e = a.entry(&artifact::PYPI, created);
            if let Some(an) = e.annotations.as_mut() {
                an.retain(|k, _| !k.starts_with("io.opp.file."));
            }
            e
        })
        .collect();
    let index = artifact::index(&artifact::PYPI, entries, created);
    rt.block_on(store.push_manifest("pypi/six", &index, Some("1.0")))
        .unwrap();
    let release = rt
        .block_on(
            pkgs.release(Ecosystem::Pypi, &artifact::PYPI, "six", "1.0", &|_| {
                String::new()
            }),
        )
        .unwrap()
        .unwrap();
    let names: Vec<&str> = release.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ARCHES
            .map(|a| format!("six-1.0-{a}"))
            .each_ref()
            .map(String::as_str)
    );
    assert_eq!(store.fetches.load(Ordering::SeqCst), ARCHES.len());
}

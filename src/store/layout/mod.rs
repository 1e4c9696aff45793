//! The default local store: one OCI image layout per repository under a root directory
//! (`<root>/<repository>/oci-layout`, `index.json`, `blobs/sha256/<hex>`), each tag an
//! `org.opencontainers.image.ref.name` entry of that layout's `index.json`, exactly as
//! skopeo (`oci:<dir>:<tag>`) and oras (`--oci-layout <dir>:<tag>`) read and write it.
//!
//! Blobs are written to a temporary file and renamed into place once their digest checks
//! out; `index.json` is replaced the same way while an exclusive lock on
//! `index.json.lock` is held, so several opp processes can write one store at once. Every
//! read is checked against its digest. It knows nothing about ecosystems or artifact
//! layouts: repositories and tags come from the mapper, manifests from the artifact module.
//!
//! The first write into a repository removes the upload files that opp processes killed
//! mid-upload left there ([`uploads`]); a layout appears (`oci-layout`) only with its first
//! tag, so an interrupted push or copy leaves nothing that lists as a package.

mod blob;
mod files;
mod index;
mod name;
mod uploads;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use self::index::{ManifestBody, ManifestSummary};
use crate::digest::Digest;
use crate::store::{BlobReader, RawManifest, Result, Store, StoreError};

/// The largest manifest or index read back (what registries and OpenTofu accept).
const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// A directory of OCI image layouts, one per repository.
#[derive(Debug, Clone)]
pub struct LayoutStore {
    root: PathBuf,
    /// Layouts whose stale upload files this store (and its clones) already removed.
    reaped: Arc<Mutex<HashSet<PathBuf>>>,
}

impl LayoutStore {
    /// A store rooted at `root`. Nothing is created until something is pushed.
    pub fn new(root: impl Into<PathBuf>) -> LayoutStore {
        LayoutStore {
            root: root.into(),
            reaped: Arc::default(),
        }
    }

    /// Removes the upload files a killed opp left in the layout at `dir`, the first time this
    /// store writes there (one directory listing per repository and run, not per blob).
    async fn reap_once(&self, dir: &Path) {
        let first = self
            .reaped
            .lock()
            .map_or(true, |mut seen| seen.insert(dir.to_path_buf()));
        if first {
            let blobs = dir.join("blobs").join("sha256");
            let _ = tokio::task::spawn_blocking(move || uploads::reap(&blobs)).await;
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The layout directory of a repository, once its name is known to stay under the root.
    fn layout(&self, repository: &str) -> Result<PathBuf> {
        name::check_repository(repository).map_err(|why| StoreError::Registry {
            location: self.root.display().to_string(),
            message: format!("invalid repository name `{repository}`: {why}"),
        })?;
        Ok(self.root.join(repository))
    }

    /// Runs blocking file work on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        path: &Path,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| blob::blocking_failed(path, e))?
    }

    async fn ensure_blob_dir(&self, dir: &Path) -> Result<()> {
        let owned = dir.to_path_buf();
        self.blocking(dir, move || files::ensure_blob_dir(&owned))
            .await
    }

    async fn read_index(&self, dir: &Path) -> Result<Option<index::LayoutIndex>> {
        let owned = dir.to_path_buf();
        self.blocking(dir, move || files::read_index(&owned)).await
    }

    /// Fails unless every blob and child manifest `body` names is stored, with its size.
    /// Writes a manifest as a blob (after checking what it references), then, with a tag,
    /// points the tag at it under the index lock. With `expected`, the tag moves only if it
    /// still points at `expected` (`Some(None)`: the tag must not exist); otherwise nothing
    /// changes and this returns false.
    async fn store_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
        expected: Option<Option<Digest>>,
    ) -> Result<bool> {
        let dir = self.layout(repository)?;
        let location = self.location(repository);
        if let Some(tag) = tag {
            name::check_tag(tag).map_err(|why| StoreError::Registry {
                location: location.clone(),
                message: format!("invalid tag `{tag}`: {why}"),
            })?;
        }
        let body = ManifestBody::parse(&manifest.bytes).map_err(|e| StoreError::Corrupt {
            what: format!("manifest {}", manifest.digest),
            location: location.clone(),
            detail: format!("not a JSON manifest or index: {e}"),
        })?;
        self.check_references(&dir, repository, &manifest.digest, &body)
            .await?;
        let size = manifest.bytes.len() as u64;
        // Writing checks the bytes against `manifest.digest` as for any blob.
        self.push_blob(
            repository,
            &manifest.digest,
            size,
            Box::pin(std::io::Cursor::new(manifest.bytes.clone())),
        )
        .await?;
        let Some(tag) = tag else {
            return Ok(true);
        };
        let summary = ManifestSummary {
            media_type: manifest.media_type.clone(),
            digest: manifest.digest.clone(),
            size,
            artifact_type: body.artifact_type,
        };
        let tag = tag.to_owned();
        let owned = dir.clone();
        self.blocking(&dir, move || {
            files::update_index_if(&owned, |index| {
                if let Some(expected) = &expected {
                    let current = index.find_tag(&tag).map(|e| e.digest.as_str());
                    if current != expected.as_ref().map(Digest::as_str) {
                        return false;
                    }
                }
                index.set_tag(&tag, &summary);
                true
            })
        })
        .await
    }

    async fn check_references(
        &self,
        dir: &Path,
        repository: &str,
        manifest: &Digest,
        body: &ManifestBody,
    ) -> Result<()> {
        for reference in body.references() {
            let path = blob::path(dir, &reference.digest);
            let stored = match tokio::fs::metadata(&path).await {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::NotFound {
                        what: format!(
                            "blob {} (named by manifest {manifest}, which was not stored)",
                            reference.digest
                        ),
                        location: self.location(repository),
                    });
                }
                Err(e) => return Err(files::io_error("cannot look for", &path)(e)),
            };
            if stored != reference.size {
                return Err(StoreError::Corrupt {
                    what: format!("manifest {manifest}"),
                    location: self.location(repository),
                    detail: format!(
                        "it gives blob {} a size of {} bytes, the stored blob has {stored}",
                        reference.digest, reference.size
                    ),
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Store for LayoutStore {
    fn location(&self, repository: &str) -> String {
        self.root.join(repository).display().to_string()
    }

    async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<RawManifest>> {
        let dir = self.layout(repository)?;
        let Some(index) = self.read_index(&dir).await? else {
            return Ok(None);
        };
        let Some(entry) = index.find_tag(tag) else {
            return Ok(None);
        };
        let location = self.location(repository);
        let corrupt = |detail: String| StoreError::Corrupt {
            what: format!("index.json entry of tag `{tag}`"),
            location: location.clone(),
            detail,
        };
        let digest: Digest = entry.digest.parse().map_err(|e| corrupt(format!("{e}")))?;
        let bytes = blob::read_manifest(&dir, &digest, MAX_MANIFEST_SIZE, &location)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("manifest {digest} of tag `{tag}`"),
                location: location.clone(),
            })?;
        if bytes.len() as u64 != entry.size {
            return Err(corrupt(format!(
                "it gives {digest} a size of {} bytes, the stored manifest has {}",
                entry.size,
                bytes.len()
            )));
        }
        let media_type = match &entry.media_type {
            Some(m) => m.clone(),
            None => ManifestBody::parse(&bytes)
                .map(|b| b.media_type_or_guess())
                .unwrap_or_else(|_| crate::store::OCI_IMAGE_MANIFEST.to_owned()),
        };
        Ok(Some(RawManifest {
            media_type,
            digest,
            bytes: Bytes::from(bytes),
        }))
    }

    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest> {
        let dir = self.layout(repository)?;
        let location = self.location(repository);
        let bytes = blob::read_manifest(&dir, digest, MAX_MANIFEST_SIZE, &location)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("manifest {digest}"),
                location: location.clone(),
            })?;
        let body = ManifestBody::parse(&bytes).map_err(|e| StoreError::Corrupt {
            what: format!("manifest {digest}"),
            location,
            detail: format!("not a JSON manifest or index: {e}"),
        })?;
        Ok(RawManifest {
            media_type: body.media_type_or_guess(),
            digest: digest.clone(),
            bytes: Bytes::from(bytes),
        })
    }

    async fn push_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<()> {
        self.store_manifest(repository, manifest, tag, None)
            .await
            .map(|_| ())
    }

    async fn push_manifest_if(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: &str,
        expected: Option<&Digest>,
    ) -> Result<bool> {
        self.store_manifest(repository, manifest, Some(tag), Some(expected.cloned()))
            .await
    }

    fn atomic_tag_writes(&self) -> bool {
        true
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let dir = self.layout(repository)?;
        blob::exists(&dir, digest).await
    }

    async fn fetch_blob(&self, repository: &str, digest: &Digest, size: u64) -> Result<BlobReader> {
        let dir = self.layout(repository)?;
        blob::open(&dir, digest, size, &self.location(repository)).await
    }

    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> Result<()> {
        let dir = self.layout(repository)?;
        self.reap_once(&dir).await;
        if blob::exists(&dir, digest).await? {
            return Ok(()); // content-addressed: the stored bytes are these bytes
        }
        self.ensure_blob_dir(&dir).await?;
        blob::write(&dir, digest, size, data, &self.location(repository)).await
    }

    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        let dir = self.layout(repository)?;
        Ok(self
            .read_index(&dir)
            .await?
            .map(|index| index.tags())
            .unwrap_or_default())
    }

    async fn list_repositories(&self, prefix: &str) -> Result<Vec<String>> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        self.blocking(&self.root, move || files::find_repositories(&root, &prefix))
            .await
    }
}

//! Releases in a store: read a version's index into a [`Release`], push files into a version
//! (merge with what is there, upload, tag, read back), write a release's files to disk
//! atomically. This is the I/O half of `artifact`, shared by the commands and the proxy; it
//! knows the layout but not the terminal (progress bars are handed in).

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::{StreamExt, TryStreamExt, stream};
use oci_client::manifest::ImageIndexEntry;
use serde::Serialize;

use crate::artifact::{self, ArtifactError, FileArtifact, FileSpec, Kinds, LayerSource, Merged};
use crate::digest::{Digest, Hasher};
use crate::mapper::{MapError, Mapper};
use crate::output::{Output, ProgressReader};
use crate::release::{DistFile, Ecosystem, Release};
use crate::store::{BlobReader, BlobSource, Store, StoreError};

/// How many blobs move at once.
pub(crate) const CONCURRENCY: usize = 4;
/// How often a push re-merges after another writer changed the index under it.
const MERGE_ATTEMPTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Map(#[from] MapError),
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("the index of {what} kept changing while opp merged into it; try again")]
    Race { what: String },
}

mod download;

pub(crate) use download::copy_blob;
pub mod module;
pub mod nuget;
pub mod provider;
pub mod pypi;
pub mod rubygems;

type Result<T, E = PackageError> = std::result::Result<T, E>;

pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PackageError {
    let path = path.display().to_string();
    move |source| PackageError::Io {
        action,
        path,
        source,
    }
}

/// Hashes a file by streaming it (memory stays flat whatever its size).
pub async fn hash_file(path: &Path) -> Result<(Digest, u64)> {
    let path_owned = path.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<(Digest, u64)> {
        use std::io::Read;
        let mut f = std::fs::File::open(&path_owned)?;
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let len = h.len();
        Ok((h.finish(), len))
    })
    .await
    .expect("hashing task does not panic")
    .map_err(io("cannot read", path))
}

/// One blob to upload.
struct Upload<'a> {
    size: u64,
    label: &'a str,
    source: LayerSource,
}

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

pub struct Packages<'a> {
    pub store: &'a dyn Store,
    pub mapper: &'a Mapper,
    pub out: &'a Output,
}

impl Packages<'_> {
    /// Every version of a package (tags that are not versions are skipped), unsorted.
    pub async fn versions(&self, eco: Ecosystem, name: &str) -> Result<Vec<String>> {
        let repo = self.mapper.repository(eco, name)?;
        let tags = self.store.list_tags(&repo).await?;
        Ok(tags
            .iter()
            .filter_map(|t| self.mapper.version(eco, t))
            .collect())
    }

    /// Every package of an ecosystem in the store.
    pub async fn packages(&self, eco: Ecosystem) -> Result<Vec<String>> {
        let prefix = self.mapper.repository_prefix(eco);
        let repos = self.store.list_repositories(&prefix).await?;
        let mut names: Vec<String> = repos
            .iter()
            .filter_map(|r| self.mapper.package(eco, r))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// One version as stored, or `None` when the version does not exist.
    pub async fn release(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        fallback_name: &(dyn Fn(&(String, String)) -> String + Sync),
    ) -> Result<Option<Release>> {
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let Some(raw) = self.store.resolve(&repo, &tag).await? else {
            return Ok(None);
        };
        let what = format!("{}:{tag}", self.store.location(&repo));
        let index = artifact::parse_index(kinds, &what, &raw)?;
        // Owned entries: a closure over borrowed ones makes the future not `Send` for every
        // lifetime (rust-lang/rust#102211), which axum handlers need.
        let files: Vec<DistFile> = stream::iter(index.manifests.iter().cloned())
            .map(|entry| self.dist_file_owned(&repo, &what, entry, fallback_name))
            .buffered(CONCURRENCY * 2)
            .try_collect()
            .await?;
        let created = index
            .annotations
            .as_ref()
            .and_then(|a| a.get(artifact::CREATED))
            .cloned();
        Ok(Some(Release {
            ecosystem: eco,
            package: name.to_owned(),
            version: version.to_owned(),
            created,
            files,
        }))
    }

    async fn dist_file_owned(
        &self,
        repo: &str,
        what: &str,
        entry: ImageIndexEntry,
        fallback_name: &(dyn Fn(&(String, String)) -> String + Sync),
    ) -> Result<DistFile> {
        self.dist_file(repo, what, &entry, fallback_name).await
    }

    /// Reads the file manifest an index entry names.
    pub(crate) async fn dist_file(
        &self,
        repo: &str,
        what: &str,
        entry: &ImageIndexEntry,
        fallback_name: &(dyn Fn(&(String, String)) -> String + Sync),
    ) -> Result<DistFile> {
        let digest: Digest =
            entry
                .digest
                .parse()
                .map_err(
                    |e: crate::digest::DigestParseError| ArtifactError::Invalid {
                        what: what.to_owned(),
                        kind: "image index",
                        detail: e.to_string(),
                    },
                )?;
        let raw = self.store.fetch_manifest(repo, &digest).await?;
        Ok(artifact::dist_file(what, entry, &raw, fallback_name)?)
    }

    /// [`Packages::push`], then one [`Pushed`] line per file: what `opp push` prints and
    /// `--json` reports, for every ecosystem that pushes described files.
    pub async fn push_reported(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        files: Vec<FileSpec>,
        force: bool,
    ) -> Result<Vec<Pushed>> {
        let repo = self.mapper.repository(eco, name)?;
        let location = format!(
            "{}:{}",
            self.store.location(&repo),
            self.mapper.tag(eco, version)?
        );
        let by_name: BTreeMap<String, (String, u64)> = files
            .iter()
            .map(|f| (f.file_name.clone(), (f.digest().hex().to_owned(), f.size())))
            .collect();
        let outcome = self.push(eco, kinds, name, version, files, force).await?;
        Ok(outcome
            .into_iter()
            .map(|m| {
                let (file, status) = match m {
                    Merged::Added(f) => (f, "added"),
                    Merged::Replaced(f) => (f, "replaced"),
                    Merged::Unchanged(f) => (f, "unchanged"),
                };
                let (sha256, size) = by_name[&file].clone();
                Pushed {
                    package: name.to_owned(),
                    version: version.to_owned(),
                    file,
                    sha256,
                    size,
                    status,
                    location: location.clone(),
                }
            })
            .collect())
    }

    /// Pushes files into one version: uploads what is new, merges it into the version's index
    /// and tags the result. Files already stored with the same bytes are left alone; other
    /// bytes under the same file are an error unless `force`.
    pub async fn push(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        files: Vec<FileSpec>,
        force: bool,
    ) -> Result<Vec<Merged>> {
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let what = format!("{}:{tag}", self.store.location(&repo));
        let created = artifact::now_rfc3339();
        let built: Vec<FileArtifact> = files
            .into_iter()
            .map(|f| artifact::file_manifest(f, &created))
            .collect();

        for _ in 0..MERGE_ATTEMPTS {
            let (current, existing) = self.existing_entries(kinds, &repo, &tag, &what).await?;
            let new: Vec<(String, ImageIndexEntry, Digest)> = built
                .iter()
                .map(|a| {
                    (
                        a.spec.file_name.clone(),
                        a.entry(&created),
                        a.spec.digest().clone(),
                    )
                })
                .collect();
            let (entries, outcome) = artifact::merge(existing, new, force)?;
            if outcome.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
                return Ok(outcome);
            }
            // Upload what the merged index names and the store lacks: file blobs, configs,
            // manifests; then the index under the tag.
            let to_upload: Vec<&FileArtifact> = built
                .iter()
                .filter(|a| {
                    outcome.iter().any(|m| match m {
                        Merged::Added(n) | Merged::Replaced(n) => *n == a.spec.file_name,
                        Merged::Unchanged(_) => false,
                    })
                })
                .collect();
            self.upload(&repo, &to_upload).await?;
            let index = artifact::index(kinds, entries, &created);
            // The tag moves only if nobody changed it since we read it; otherwise merge
            // again with what the other writer stored.
            if !self
                .store
                .push_manifest_if(&repo, &index, &tag, current.as_ref())
                .await?
            {
                continue;
            }
            // Read back: on a registry another writer may still slip in between the check
            // and the write. Done when what is tagged now is what we wrote.
            let after = self.store.resolve(&repo, &tag).await?.map(|m| m.digest);
            if after.as_ref() == Some(&index.digest) {
                return Ok(outcome);
            }
        }
        Err(PackageError::Race { what })
    }

    /// The entries of a version's index with the digest of the file each holds.
    async fn existing_entries(
        &self,
        kinds: &Kinds,
        repo: &str,
        tag: &str,
        what: &str,
    ) -> Result<(Option<Digest>, Vec<(ImageIndexEntry, Digest)>)> {
        let Some(raw) = self.store.resolve(repo, tag).await? else {
            return Ok((None, Vec::new()));
        };
        let index = artifact::parse_index(kinds, what, &raw)?;
        let mut out = Vec::with_capacity(index.manifests.len());
        for entry in index.manifests {
            let known = entry
                .annotations
                .as_ref()
                .and_then(|a| a.get(artifact::PYOCI_SHA256))
                .and_then(|h| Digest::from_hex(h).ok());
            let digest = match known {
                Some(d) => d,
                None => {
                    self.dist_file(repo, what, &entry, &|_| String::new())
                        .await?
                        .digest
                }
            };
            out.push((entry, digest));
        }
        Ok((Some(raw.digest), out))
    }

    /// Uploads what the given file manifests need and the store lacks, each blob once even
    /// when several files share it (two wheels with one METADATA), then the manifests.
    async fn upload(&self, repo: &str, files: &[&FileArtifact]) -> Result<()> {
        let mut blobs: BTreeMap<Digest, Upload<'_>> = BTreeMap::new();
        for a in files {
            for layer in &a.spec.layers {
                let label = layer.title.as_deref().unwrap_or(&a.spec.file_name);
                blobs
                    .entry(layer.descriptor.digest.clone())
                    .or_insert(Upload {
                        size: layer.descriptor.size,
                        label,
                        source: layer.source.clone(),
                    });
            }
            blobs.entry(a.config.digest.clone()).or_insert(Upload {
                size: a.config.size,
                label: "config",
                source: LayerSource::Bytes(a.config_bytes.clone()),
            });
        }
        // Futures are built first and then streamed: a stream holding a closure over borrowed
        // items is not `Send` for every lifetime (rust-lang/rust#102211).
        let uploads: Vec<_> = blobs
            .into_iter()
            .map(|(digest, up)| self.upload_blob(repo, digest, up))
            .collect();
        stream::iter(uploads)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        let manifests: Vec<_> = files
            .iter()
            .map(|a| self.store.push_manifest(repo, &a.manifest, None))
            .collect();
        stream::iter(manifests)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn upload_blob(&self, repo: &str, digest: Digest, up: Upload<'_>) -> Result<()> {
        let digest = &digest;
        if self.store.blob_exists(repo, digest).await? {
            return Ok(());
        }
        // A source the store can open again: a registry starts a failed upload over.
        let bar = match &up.source {
            LayerSource::File(_) => self.out.bar(up.label, up.size),
            LayerSource::Bytes(_) => indicatif::ProgressBar::hidden(),
        };
        let source = LayerBlob {
            source: up.source,
            bar: bar.clone(),
        };
        self.store
            .push_blob_from(repo, digest, up.size, &source)
            .await?;
        bar.finish_and_clear();
        Ok(())
    }
}

/// A layer's bytes for [`Store::push_blob_from`]: a file on disk, reopened (with its progress
/// bar back at zero) for each try, or bytes in memory.
struct LayerBlob {
    source: LayerSource,
    bar: indicatif::ProgressBar,
}

#[async_trait::async_trait]
impl BlobSource for LayerBlob {
    async fn open(&self) -> Result<BlobReader, StoreError> {
        match &self.source {
            LayerSource::File(path) => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|source| StoreError::Io {
                        action: "cannot open",
                        path: path.display().to_string(),
                        source,
                    })?;
                self.bar.set_position(0);
                Ok(Box::pin(ProgressReader::new(
                    tokio::io::BufReader::with_capacity(256 * 1024, file),
                    self.bar.clone(),
                )))
            }
            LayerSource::Bytes(bytes) => Ok(Box::pin(std::io::Cursor::new(bytes.clone()))),
        }
    }
}

/// The proxy awaits these inside axum handlers, which need `Send` futures for every lifetime;
/// closures capturing references in a stream can break that (rust-lang/rust#102211).
#[allow(dead_code)]
fn futures_are_send(
    p: &Packages<'_>,
    fallback: &'static (dyn Fn(&(String, String)) -> String + Sync),
) {
    fn send<T: Send>(_: T) {}
    send(p.provider_version("a/b", "1.0.0"));
    send(p.module_release("a/b/c", "1.0.0"));
    send(p.versions(Ecosystem::Pypi, "a"));
    send(p.packages(Ecosystem::Pypi));
    send(p.release(Ecosystem::Pypi, &artifact::PYPI, "a", "1.0", fallback));
    send(p.push_pypi(Vec::new(), false));
    send(p.push_rubygems(Vec::new(), false));
    send(p.gem_release("a", "1.0"));
    send(p.download(Ecosystem::Pypi, "a", &[], std::path::Path::new(".")));
}

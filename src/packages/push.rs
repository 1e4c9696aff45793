//! Pushing files into one version (PyPI, NuGet, RubyGems): check what is stored, upload what
//! is new, then merge file by file into the version's index under the write-and-verify loop of
//! [`settle`](super::settle); and the upload of blobs and manifests every push shares.

#![deny(clippy::wildcard_enum_match_arm)]

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use oci_client::manifest::ImageIndexEntry;

use super::settle::{self, Candidate, Step};
use super::{CONCURRENCY, Packages, Pushed, Result};
use crate::artifact::{self, FileArtifact, FileSpec, Kinds, LayerSource, Merged};
use crate::digest::Digest;
use crate::output::ProgressReader;
use crate::release::Ecosystem;
use crate::store::{BlobReader, BlobSource, RawManifest, StoreError};

/// Attempts after the first at storing one blob or file manifest when the registry failed.
const UPLOAD_TRIES: usize = 3;

/// One blob to upload.
#[derive(Clone)]
struct Upload<'a> {
    size: u64,
    label: &'a str,
    source: LayerSource,
}

/// The files of one push, merged into whatever index the tag points at.
struct Files<'a> {
    kinds: &'a Kinds,
    repo: &'a str,
    what: &'a str,
    created: &'a str,
    /// (file name, index entry, file digest) of each file pushed.
    new: Vec<(String, ImageIndexEntry, Digest)>,
    force: bool,
}

impl Files<'_> {
    /// Merges the new files into the stored entries: the merged entries and what happened to
    /// each new file.
    async fn merge(
        &self,
        pkgs: &Packages<'_>,
        current: Option<&RawManifest>,
    ) -> Result<(Vec<ImageIndexEntry>, Vec<Merged>)> {
        let existing = match current {
            Some(raw) => {
                pkgs.entries_with_digests(self.kinds, self.repo, self.what, raw)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(artifact::merge(
            self.kinds,
            existing,
            self.new.clone(),
            self.force,
        )?)
    }
}

#[async_trait]
impl Candidate for Files<'_> {
    async fn judge(&self, pkgs: &Packages<'_>, current: Option<&RawManifest>) -> Result<Step> {
        let (entries, outcome) = self.merge(pkgs, current).await?;
        if outcome.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
            return Ok(Step::Present);
        }
        Ok(Step::Write(artifact::index(
            self.kinds,
            entries,
            self.created,
        )))
    }
}

/// Versions of one command uploading at once (each uploads up to `CONCURRENCY` blobs).
const VERSIONS_AT_ONCE: usize = 8;
/// Versions of one command in flight at once. Past its upload, a version only waits in its
/// write-and-verify loop (`settle`: a sleep of at least 150 ms after its tag write, then a
/// read), which holds no upload slot: the next versions upload meanwhile, so the waits overlap
/// the uploads instead of adding up behind them.
const VERSIONS_IN_FLIGHT: usize = 64;

impl Packages<'_> {
    /// [`Packages::push`] for every `(name, version) -> files` group, several versions at
    /// once, with one [`Pushed`] line per file; the report keeps the groups' order. The first failure is the result (the
    /// versions already tagged stay; a version whose push was cut off has no new tag).
    pub async fn push_versions(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        groups: BTreeMap<(String, String), Vec<FileSpec>>,
        force: bool,
    ) -> Result<Vec<Pushed>> {
        let uploading = tokio::sync::Semaphore::new(VERSIONS_AT_ONCE);
        let uploading = &uploading;
        // Futures are built first and then streamed: a stream holding a closure over borrowed
        // items is not `Send` for every lifetime (rust-lang/rust#102211).
        let pushes: Vec<_> = groups
            .into_iter()
            .map(|((name, version), files)| async move {
                self.push_gated(eco, kinds, &name, &version, files, force, Some(uploading))
                    .await
            })
            .collect();
        let reports: Vec<Vec<Pushed>> = stream::iter(pushes)
            .buffered(VERSIONS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(reports.into_iter().flatten().collect())
    }

    /// [`Packages::push`] of one group, then one [`Pushed`] line per file (what `opp push`
    /// prints and `--json` reports), uploading only while holding a permit of `uploading`.
    #[allow(clippy::too_many_arguments)]
    async fn push_gated(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        files: Vec<FileSpec>,
        force: bool,
        uploading: Option<&tokio::sync::Semaphore>,
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
        let outcome = self
            .push_with(eco, kinds, name, version, files, force, uploading)
            .await?;
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
    /// and tags the result, then verifies that it stays there (merging again if another writer
    /// dropped it). Files already stored with the same bytes are left alone; other bytes under
    /// the same file are an error unless `force`. The outcome is relative to what was stored
    /// when the push began. Returns only when every file is in the tagged index.
    pub async fn push(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        files: Vec<FileSpec>,
        force: bool,
    ) -> Result<Vec<Merged>> {
        self.push_with(eco, kinds, name, version, files, force, None)
            .await
    }

    /// [`Packages::push`], uploading only while holding a permit of `uploading` (when given):
    /// the write-and-verify loop after it runs without one.
    #[allow(clippy::too_many_arguments)]
    async fn push_with(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        files: Vec<FileSpec>,
        force: bool,
        uploading: Option<&tokio::sync::Semaphore>,
    ) -> Result<Vec<Merged>> {
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let what = format!("{}:{tag}", self.store.location(&repo));
        let created = artifact::now_rfc3339();
        let built: Vec<FileArtifact> = files
            .into_iter()
            .map(|f| artifact::file_manifest(f, &created))
            .collect();
        let files = Files {
            kinds,
            repo: &repo,
            what: &what,
            created: &created,
            new: built
                .iter()
                .map(|a| {
                    (
                        a.spec.file_name.clone(),
                        a.entry(kinds, &created),
                        a.spec.digest().clone(),
                    )
                })
                .collect(),
            force,
        };
        // What is stored decides the report, and a conflict fails before anything is uploaded.
        let current = self.read_tag_patiently(&repo, &tag).await?;
        let (_, outcome) = files.merge(self, current.as_ref()).await?;
        if outcome.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
            return Ok(outcome);
        }
        // Everything first (blobs the store has are skipped), so that the index is read,
        // merged and written in quick succession: the gap another writer can fall into.
        let refs: Vec<&FileArtifact> = built.iter().collect();
        let permit = match uploading {
            // Closed never: the semaphore lives as long as the command's pushes.
            Some(gate) => gate.acquire().await.ok(),
            None => None,
        };
        self.upload(&repo, &refs).await?;
        drop(permit);
        self.settle(&repo, &tag, &what, &files).await?;
        Ok(outcome)
    }

    /// Uploads what the given file manifests need and the store lacks, each blob once even
    /// when several files share it (two wheels with one METADATA), then the manifests.
    pub(crate) async fn upload(&self, repo: &str, files: &[&FileArtifact]) -> Result<()> {
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
        self.upload_blobs(repo, blobs).await?;
        let manifests: Vec<_> = files
            .iter()
            .map(|a| patiently(|| self.store.push_manifest(repo, &a.manifest, None)))
            .collect();
        stream::iter(manifests)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
    /// Uploads files as blobs ahead of the push that names them (which then finds them
    /// stored and skips them), at most [`CONCURRENCY`] at once, each unless the store has it:
    /// `(path, digest, size)`.
    pub(crate) async fn upload_files(
        &self,
        repo: &str,
        files: &[(std::path::PathBuf, Digest, u64)],
    ) -> Result<()> {
        let blobs = files.iter().map(|(path, digest, size)| {
            let up = Upload {
                size: *size,
                label: path.file_name().and_then(|n| n.to_str()).unwrap_or("blob"),
                source: LayerSource::File(path.clone()),
            };
            (digest.clone(), up)
        });
        self.upload_blobs(repo, blobs).await
    }

    /// Stores each blob unless the store has it, at most [`CONCURRENCY`] at once, each
    /// retried as the registry asks.
    async fn upload_blobs<'u>(
        &self,
        repo: &str,
        blobs: impl IntoIterator<Item = (Digest, Upload<'u>)>,
    ) -> Result<()> {
        // Futures are built first and then streamed: a stream holding a closure over borrowed
        // items is not `Send` for every lifetime (rust-lang/rust#102211).
        let uploads: Vec<_> = blobs
            .into_iter()
            .map(|(digest, up)| {
                patiently(move || self.upload_blob(repo, digest.clone(), up.clone()))
            })
            .collect();
        stream::iter(uploads)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Stores one blob unless the store has it.
    async fn upload_blob(
        &self,
        repo: &str,
        digest: Digest,
        up: Upload<'_>,
    ) -> std::result::Result<(), StoreError> {
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

/// Runs one upload step (a blob, or a file manifest: stored under its digest, so a second
/// write of the same bytes changes nothing and the step may be repeated), again after a short
/// random wait when the registry failed in a way another writer causes (several writers storing
/// one blob at once meet distribution's non-atomic link files; a registry may briefly deny
/// knowing a blob another writer is storing, MANIFEST_BLOB_UNKNOWN): at most [`UPLOAD_TRIES`]
/// more times. Busy answers (`Retry-After`) and broken connections never reach here as
/// transient: the store retried those itself within `--retry-timeout`, so this adds no second
/// budget on top of it.
async fn patiently<T, F, Fut>(mut step: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, StoreError>>,
{
    let mut tries = 0;
    loop {
        match step().await {
            Err(e) if settle::is_transient(&e) && tries < UPLOAD_TRIES => {
                tries += 1;
                settle::short_wait().await;
            }
            other => return Ok(other?),
        }
    }
}

/// A layer's bytes for [`Store::push_blob_from`](crate::store::Store::push_blob_from): a file
/// on disk, reopened (with its progress bar back at zero) for each try, or bytes in memory.
struct LayerBlob {
    source: LayerSource,
    bar: indicatif::ProgressBar,
}

#[async_trait]
impl BlobSource for LayerBlob {
    async fn open(&self) -> std::result::Result<BlobReader, StoreError> {
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

//! Work on the closure's files while it is still settling, that leaves nothing visible in the
//! store: a version's choice is final only once the whole closure is (a specifier found late
//! can change it, `resolve::Pending`), so what may start on a tentative choice is what a later
//! change makes useless but not wrong: the files downloaded (checked against the index's
//! sha256, into the run's temporary directory) and their bytes and metadata stored as blobs,
//! which no manifest or tag names yet. The push itself (file manifests, the version's index
//! under its tag) waits for the settled plan (`execute`), and then finds the blobs there.
//!
//! A version the closure drops after all leaves its blobs unreferenced in the store (what a
//! registry's garbage collection removes); nothing lists or serves them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use reqwest::Url;
use tokio::sync::Semaphore;

use super::resolve::Planned;
use super::sink::PypiSink;
use super::streaming::{Described, HttpBlob, Streamable};
use super::upstream::Upstream;
use crate::digest::Digest;
use crate::ecosystem::pypi as eco;
use crate::mapper::Mapper;
use crate::mirror::Sink;
use crate::release::Ecosystem;
use crate::store::{BlobReader, BlobSource, StoreError};

/// Files warmed at once (each a download, then its blob uploads), as `execute` downloads.
const AT_ONCE: usize = crate::mirror::execute::DOWNLOADS;

/// What the closure's tentative choices are handed to (`plan`).
#[async_trait::async_trait]
pub trait Warm: Sync {
    /// Prepares the files of one version (all of one package and version).
    async fn warm(&self, files: Vec<Planned>);
}

/// A file whose bytes and metadata the store holds as blobs, described for its file
/// manifest.
#[derive(Clone)]
pub struct Warmed {
    pub described: Described,
}

/// Warms files into the store behind `sink`.
pub struct Warmer<'a> {
    sink: &'a PypiSink<'a>,
    upstream: &'a Upstream,
    /// Wheels the index describes fully go from the upstream straight into a blob.
    stream: bool,
    permits: Semaphore,
    /// URL -> what was stored of it.
    done: Mutex<BTreeMap<Url, Warmed>>,
}

impl<'a> Warmer<'a> {
    pub fn new(sink: &'a PypiSink<'a>, upstream: &'a Upstream, stream: bool) -> Warmer<'a> {
        Warmer {
            sink,
            upstream,
            stream,
            permits: Semaphore::new(AT_ONCE),
            done: Mutex::new(BTreeMap::new()),
        }
    }

    /// What was stored of the file at `url`, when it was.
    pub fn warmed(&self, url: &Url) -> Option<Warmed> {
        self.done.lock().ok()?.get(url).cloned()
    }

    /// Downloads one file (unless the run has it or it streams) and stores its blobs.
    async fn file(&self, repo: &str, p: &Planned) -> Result<(), String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let allowed =
            |sha: &str| p.hashes.is_empty() || p.hashes.iter().any(|a| a.eq_ignore_ascii_case(sha));
        let store = self.sink.packages.store;
        if self.stream
            && Streamable::describes(&p.file)
            && self.upstream.downloaded(&p.file.url).is_none()
        {
            // The blob upload checks the bytes against the stated sha256 and size; the
            // metadata is fetched when the version is pushed.
            let sha = p.file.sha256.as_deref().unwrap_or_default();
            if !allowed(sha) {
                return Ok(());
            }
            let digest = Digest::from_hex(sha).map_err(|e| e.to_string())?;
            let source = HttpBlob {
                client: self.upstream.client().clone(),
                url: p.file.url.clone(),
                bar: indicatif::ProgressBar::hidden(),
            };
            let size = p.file.size.unwrap_or_default();
            return store
                .push_blob_from(repo, &digest, size, &source)
                .await
                .map_err(|e| e.to_string());
        }
        let (path, sha) = match self.upstream.downloaded(&p.file.url) {
            Some(kept) => kept,
            None => {
                self.upstream.keep(&p.file).await?;
                self.upstream
                    .downloaded(&p.file.url)
                    .ok_or("the download was not kept")?
            }
        };
        if !allowed(&sha) {
            return Ok(());
        }
        let owned = path.clone();
        let d = tokio::task::spawn_blocking(move || eco::describe(&owned))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let digest = Digest::from_hex(&sha).map_err(|e| e.to_string())?;
        store
            .push_blob_from(repo, &digest, d.size, &FileBlob(path))
            .await
            .map_err(|e| e.to_string())?;
        let metadata = d.metadata.unwrap_or_default();
        if !metadata.is_empty() {
            let bytes = Bytes::from(metadata.clone());
            store
                .push_blob_from(
                    repo,
                    &Digest::of(&bytes),
                    bytes.len() as u64,
                    &BytesBlob(bytes),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let described = Described {
            digest,
            size: d.size,
            metadata,
            requires_python: d.requires_python,
            platform_arch: d.platform_arch,
        };
        if let Ok(mut done) = self.done.lock() {
            done.insert(p.file.url.clone(), Warmed { described });
        }
        // Its bytes are in the store: the copy is not needed again.
        self.upstream.forget(&p.file.url).await;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Warm for Warmer<'_> {
    async fn warm(&self, files: Vec<Planned>) {
        let Some(first) = files.first() else {
            return;
        };
        let version = first.version.to_string();
        // What the store holds already is neither downloaded nor stored again; a file stored
        // with other bytes is left to the push, which reports it.
        let Ok(stored) = self.sink.stored(&first.package, &version).await else {
            return;
        };
        let Ok(name) = Mapper::normalize_package(Ecosystem::Pypi, &first.package) else {
            return;
        };
        let Ok(repo) = self.sink.packages.mapper.repository(Ecosystem::Pypi, &name) else {
            return;
        };
        let work = files
            .iter()
            .filter(|p| !stored.contains_key(&p.file.file_name))
            .map(|p| async {
                if let Err(why) = self.file(&repo, p).await {
                    // The push after the plan tries again, and reports what fails then.
                    tracing::debug!("could not prepare {}: {why}", p.file.file_name);
                }
            });
        futures_util::future::join_all(work).await;
    }
}

/// A file on disk, opened again for each try.
struct FileBlob(PathBuf);

#[async_trait::async_trait]
impl BlobSource for FileBlob {
    async fn open(&self) -> Result<BlobReader, StoreError> {
        let file = tokio::fs::File::open(&self.0)
            .await
            .map_err(|source| StoreError::Io {
                action: "cannot open",
                path: self.0.display().to_string(),
                source,
            })?;
        Ok(Box::pin(tokio::io::BufReader::with_capacity(
            256 * 1024,
            file,
        )))
    }
}

/// Bytes in memory.
struct BytesBlob(Bytes);

#[async_trait::async_trait]
impl BlobSource for BytesBlob {
    async fn open(&self) -> Result<BlobReader, StoreError> {
        Ok(Box::pin(std::io::Cursor::new(self.0.clone())))
    }
}

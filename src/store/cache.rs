//! [`CachingStore`]: a [`Store`] around any other that answers repeated reads from memory, so
//! that `opp proxy` over a registry does not pay registry round trips for what it has just
//! read.
//!
//! - Manifests and indexes by digest, and blobs of at most [`SMALL_BLOB`] bytes, never change:
//!   they are kept, bytes already checked against their digest, in one map bounded by a byte
//!   budget ([`DEFAULT_BUDGET`]), least recently used first out. Larger blobs stream through
//!   uncached.
//! - Tag lists, repository lists and what a tag points at can change: each is kept for the
//!   time to live (`opp proxy --cache-ttl`, default [`DEFAULT_TTL`]; zero keeps none).
//!   Within it they cost no request. After it a tag is asked again with
//!   [`Store::resolve_digest`], and when it still names the digest held, the manifest comes
//!   from memory. When a repository's tag list is asked again, the tags of it read before
//!   (their manifests still in memory) are asked at the same time, so that a project page
//!   after the time to live waits for one round trip, not two in a row.
//! - A write through this store (a manifest pushed under a tag: twine, nuget push or gem push
//!   through the proxy) forgets the tag list and tags of that repository and every repository
//!   list, so the next read sees it. Writes by others show after at most the time to live.
//!
//! It caches nothing on disk, and knows nothing about what the repositories hold.

mod memory;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncReadExt;

use self::memory::Bounded;
use super::{BlobReader, RawManifest, Result, Store, StoreError};
use crate::digest::Digest;

/// How long tags and lists are kept unless told otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
/// Bytes of manifests and small blobs kept in memory.
pub const DEFAULT_BUDGET: usize = 8 * 1024 * 1024;
/// The largest blob kept in memory (a package's METADATA, a gem's spec, a config); larger
/// blobs (the package files) stream through.
pub const SMALL_BLOB: u64 = 128 * 1024;

/// Tags of one repository asked again beside its tag list once their time to live is over.
const PREFETCH_TAGS: usize = 64;
/// Of those, asked at once.
const PREFETCH_AT_ONCE: usize = 8;

/// Tags remembered before the expired ones are dropped (then all of them, if need be): a
/// bound on memory for a proxy asked about very many tags.
const MAX_TAGS: usize = 16 * 1024;

/// What is kept by digest.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Kind {
    Manifest,
    Blob,
}

type Key = (String, Kind, Digest);

#[derive(Clone)]
enum Value {
    Manifest(Arc<RawManifest>),
    Blob(Bytes),
}

/// Something read at a time, kept for the time to live.
struct Timed<T> {
    value: T,
    at: Instant,
}

#[derive(Default)]
struct Fresh {
    /// `(repository, tag)` -> the digest it pointed at (`None`: no such tag).
    tags: HashMap<(String, String), Timed<Option<Digest>>>,
    /// repository -> its tags.
    tag_lists: HashMap<String, Timed<Arc<Vec<String>>>>,
    /// prefix -> the repositories under it.
    repositories: HashMap<String, Timed<Arc<Vec<String>>>>,
}

/// A [`Store`] that keeps what it read from `inner` (see the module documentation).
pub struct CachingStore {
    inner: Arc<dyn Store>,
    ttl: Duration,
    immutable: Mutex<Bounded<Key, Value>>,
    fresh: Mutex<Fresh>,
    /// Bumped by every write: a read that started before a write does not keep what it read.
    generation: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a cache, not an invariant: keep using it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CachingStore {
    /// `inner` with tags and lists kept for `ttl` and [`DEFAULT_BUDGET`] bytes by digest.
    pub fn new(inner: Arc<dyn Store>, ttl: Duration) -> CachingStore {
        CachingStore::with_budget(inner, ttl, DEFAULT_BUDGET)
    }

    pub fn with_budget(inner: Arc<dyn Store>, ttl: Duration, budget: usize) -> CachingStore {
        CachingStore {
            inner,
            ttl,
            immutable: Mutex::new(Bounded::new(budget)),
            fresh: Mutex::new(Fresh::default()),
            generation: AtomicU64::new(0),
        }
    }

    fn is_fresh(&self, at: Instant) -> bool {
        !self.ttl.is_zero() && at.elapsed() < self.ttl
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether nothing was written since `generation` was read.
    fn unchanged_since(&self, generation: u64) -> bool {
        self.generation() == generation
    }

    fn cached_manifest(&self, repository: &str, digest: &Digest) -> Option<RawManifest> {
        let key = (repository.to_owned(), Kind::Manifest, digest.clone());
        match lock(&self.immutable).get(&key) {
            Some(Value::Manifest(m)) => Some(RawManifest::clone(m)),
            _ => None,
        }
    }

    fn keep_manifest(&self, repository: &str, manifest: &RawManifest) {
        let key = (
            repository.to_owned(),
            Kind::Manifest,
            manifest.digest.clone(),
        );
        let cost = manifest.bytes.len() + manifest.media_type.len() + repository.len();
        lock(&self.immutable).insert(key, Value::Manifest(Arc::new(manifest.clone())), cost);
    }

    fn keep_tag(&self, repository: &str, tag: &str, digest: Option<Digest>, generation: u64) {
        // Kept even with no time to live (stale at once): the next resolve then asks only
        // for the digest.
        let mut fresh = lock(&self.fresh);
        if fresh.tags.len() >= MAX_TAGS {
            let ttl = self.ttl;
            fresh.tags.retain(|_, t| t.at.elapsed() < ttl);
            if fresh.tags.len() >= MAX_TAGS {
                fresh.tags.clear();
            }
        }
        if self.unchanged_since(generation) {
            fresh.tags.insert(
                (repository.to_owned(), tag.to_owned()),
                Timed {
                    value: digest,
                    at: Instant::now(),
                },
            );
        }
    }

    /// Forgets what a write to `repository` may have changed.
    fn forget(&self, repository: &str) {
        let mut fresh = lock(&self.fresh);
        self.generation.fetch_add(1, Ordering::SeqCst);
        fresh.tags.retain(|(repo, _), _| repo != repository);
        fresh.tag_lists.remove(repository);
        fresh.repositories.clear();
    }

    /// The tags of `repository` read before whose time to live is over and whose manifests
    /// are still in memory (at most [`PREFETCH_TAGS`]); none without a time to live.
    fn expired_tags(&self, repository: &str) -> Vec<String> {
        if self.ttl.is_zero() {
            return Vec::new();
        }
        let fresh = lock(&self.fresh);
        let immutable = lock(&self.immutable);
        fresh
            .tags
            .iter()
            .filter(|((repo, _), t)| repo == repository && !self.is_fresh(t.at))
            .filter_map(|((_, tag), t)| {
                let digest = t.value.as_ref()?;
                let key = (repository.to_owned(), Kind::Manifest, digest.clone());
                immutable.contains(&key).then(|| tag.clone())
            })
            .take(PREFETCH_TAGS)
            .collect()
    }

    /// Asks again where each of `tags` points, a few at once, keeping the answers. A failed
    /// answer is dropped: the tag's next read asks again.
    async fn refresh_tags(&self, repository: &str, tags: Vec<String>, generation: u64) {
        use futures_util::StreamExt;
        futures_util::stream::iter(tags)
            .for_each_concurrent(PREFETCH_AT_ONCE, |tag| async move {
                if let Ok(now) = self.inner.resolve_digest(repository, &tag).await {
                    self.keep_tag(repository, &tag, now, generation);
                }
            })
            .await;
    }

    /// The manifest `digest` of `repository`, from memory or else from `inner` (then kept).
    async fn manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest> {
        if let Some(m) = self.cached_manifest(repository, digest) {
            return Ok(m);
        }
        let m = self.inner.fetch_manifest(repository, digest).await?;
        self.keep_manifest(repository, &m);
        Ok(m)
    }
}

#[async_trait]
impl Store for CachingStore {
    fn location(&self, repository: &str) -> String {
        self.inner.location(repository)
    }

    async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<RawManifest>> {
        let key = (repository.to_owned(), tag.to_owned());
        let known = lock(&self.fresh)
            .tags
            .get(&key)
            .map(|t| (t.value.clone(), self.is_fresh(t.at)));
        let generation = self.generation();
        match known {
            Some((None, true)) => return Ok(None),
            Some((Some(digest), true)) => {
                return self.manifest(repository, &digest).await.map(Some);
            }
            // Expired, but its manifest is still in memory: ask only whether the tag moved.
            Some((Some(digest), false))
                if lock(&self.immutable).contains(&(
                    repository.to_owned(),
                    Kind::Manifest,
                    digest.clone(),
                )) =>
            {
                let now = self.inner.resolve_digest(repository, tag).await?;
                self.keep_tag(repository, tag, now.clone(), generation);
                return match now {
                    None => Ok(None),
                    Some(d) => self.manifest(repository, &d).await.map(Some),
                };
            }
            _ => {}
        }
        let read = self.inner.resolve(repository, tag).await?;
        if let Some(m) = &read {
            self.keep_manifest(repository, m);
        }
        self.keep_tag(
            repository,
            tag,
            read.as_ref().map(|m| m.digest.clone()),
            generation,
        );
        Ok(read)
    }

    async fn resolve_digest(&self, repository: &str, tag: &str) -> Result<Option<Digest>> {
        let key = (repository.to_owned(), tag.to_owned());
        if let Some(t) = lock(&self.fresh).tags.get(&key)
            && self.is_fresh(t.at)
        {
            return Ok(t.value.clone());
        }
        let generation = self.generation();
        let now = self.inner.resolve_digest(repository, tag).await?;
        self.keep_tag(repository, tag, now.clone(), generation);
        Ok(now)
    }

    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest> {
        self.manifest(repository, digest).await
    }

    async fn push_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<()> {
        let result = self.inner.push_manifest(repository, manifest, tag).await;
        if tag.is_some() {
            self.forget(repository);
        }
        if result.is_ok() {
            self.keep_manifest(repository, manifest);
        }
        result
    }

    async fn push_manifest_if(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: &str,
        expected: Option<&Digest>,
    ) -> Result<bool> {
        // The check is the inner store's own, never an answer from memory.
        let result = self
            .inner
            .push_manifest_if(repository, manifest, tag, expected)
            .await;
        self.forget(repository);
        if matches!(result, Ok(true)) {
            self.keep_manifest(repository, manifest);
        }
        result
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let key = (repository.to_owned(), Kind::Blob, digest.clone());
        if lock(&self.immutable).contains(&key) {
            return Ok(true);
        }
        self.inner.blob_exists(repository, digest).await
    }

    async fn fetch_blob(&self, repository: &str, digest: &Digest, size: u64) -> Result<BlobReader> {
        if size > SMALL_BLOB {
            return self.inner.fetch_blob(repository, digest, size).await;
        }
        let key = (repository.to_owned(), Kind::Blob, digest.clone());
        if let Some(Value::Blob(bytes)) = lock(&self.immutable).get(&key) {
            return Ok(Box::pin(std::io::Cursor::new(bytes.clone())));
        }
        let reader = self.inner.fetch_blob(repository, digest, size).await?;
        // At most SMALL_BLOB + 1 bytes are read: the inner reader fails at its end unless
        // size and digest match, so what is kept is checked.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        reader
            .take(size + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| read_error(self.inner.location(repository), digest, e))?;
        let bytes = Bytes::from(bytes);
        let cost = bytes.len() + repository.len();
        lock(&self.immutable).insert(key, Value::Blob(bytes.clone()), cost);
        Ok(Box::pin(std::io::Cursor::new(bytes)))
    }

    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> Result<()> {
        self.inner.push_blob(repository, digest, size, data).await
    }

    async fn push_blob_from(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        source: &dyn crate::store::BlobSource,
    ) -> Result<()> {
        self.inner
            .push_blob_from(repository, digest, size, source)
            .await
    }

    fn atomic_tag_writes(&self) -> bool {
        self.inner.atomic_tag_writes()
    }

    fn registry_host(&self) -> Option<&str> {
        self.inner.registry_host()
    }

    async fn mount_blob(&self, repository: &str, digest: &Digest, from: &str) -> Result<bool> {
        self.inner.mount_blob(repository, digest, from).await
    }

    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        if let Some(t) = lock(&self.fresh).tag_lists.get(repository)
            && self.is_fresh(t.at)
        {
            return Ok(t.value.as_ref().clone());
        }
        let generation = self.generation();
        // The tags read before are likely read again next (a project page reads every
        // version): ask where they point while the list is asked, not one round trip after.
        let known = self.expired_tags(repository);
        let (tags, _) = tokio::join!(
            self.inner.list_tags(repository),
            self.refresh_tags(repository, known, generation)
        );
        let tags = tags?;
        if !self.ttl.is_zero() {
            let mut fresh = lock(&self.fresh);
            if self.unchanged_since(generation) {
                fresh.tag_lists.insert(
                    repository.to_owned(),
                    Timed {
                        value: Arc::new(tags.clone()),
                        at: Instant::now(),
                    },
                );
            }
        }
        Ok(tags)
    }

    async fn list_repositories(&self, prefix: &str) -> Result<Vec<String>> {
        if let Some(t) = lock(&self.fresh).repositories.get(prefix)
            && self.is_fresh(t.at)
        {
            return Ok(t.value.as_ref().clone());
        }
        let generation = self.generation();
        let repos = self.inner.list_repositories(prefix).await?;
        if !self.ttl.is_zero() {
            let mut fresh = lock(&self.fresh);
            if self.unchanged_since(generation) {
                fresh.repositories.insert(
                    prefix.to_owned(),
                    Timed {
                        value: Arc::new(repos.clone()),
                        at: Instant::now(),
                    },
                );
            }
        }
        Ok(repos)
    }
}

/// A small blob that failed while read into memory, as the store's own read error.
fn read_error(location: String, digest: &Digest, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        StoreError::Corrupt {
            what: format!("blob {digest}"),
            location,
            detail: e.to_string(),
        }
    } else {
        StoreError::Io {
            action: "cannot read blob from",
            path: location,
            source: e,
        }
    }
}

/// Parses a time to live: `0`, a number of seconds (`5`), or a number with `ms`, `s` or `m`
/// (`500ms`, `5s`, `2m`). Hand-written: three suffixes do not warrant a dependency.
pub fn parse_ttl(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || format!("`{text}` is not a duration such as 5s, 500ms, 2m or 0");
    let n: u64 = number.parse().map_err(|_| bad())?;
    match unit.trim() {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" | "min" => n.checked_mul(60).map(Duration::from_secs).ok_or_else(bad),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests;

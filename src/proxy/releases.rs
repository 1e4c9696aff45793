//! What a frontend read out of one version's index, kept by the digest of that index: a
//! version is one image index under one tag, and every index opp writes carries its creation
//! time, so an index digest always stands for the same files. A version served once then
//! costs one tag lookup (`Store::resolve`) instead of its whole index and manifests, and over
//! a registry not even that within `--cache-ttl` (the proxy's store is a
//! `store::cache::CachingStore` there). The PyPI frontend keeps parsed releases here, the
//! RubyGems frontend each version's gems with their specifications.
//!
//! The cache holds at most its capacity of versions, then starts over (a proxy serves one
//! user; an eviction order would cost more code than the reads it saves).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::digest::Digest;
use crate::store::{Store, StoreError};

/// Versions by `(repository, index digest)`.
pub struct ReleaseCache<V> {
    entries: Mutex<HashMap<(String, Digest), Arc<V>>>,
    capacity: usize,
}

impl<V> ReleaseCache<V> {
    /// A cache of at most `capacity` versions.
    pub fn new(capacity: usize) -> ReleaseCache<V> {
        ReleaseCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// What `read` reads out of the version tagged `tag` in `repository`, from the cache
    /// when the tag still points at the index it was read from. `None` when the tag does
    /// not exist, or `read` finds the version gone (it was removed meanwhile).
    pub async fn get<E, F, Fut>(
        &self,
        store: &dyn Store,
        repository: &str,
        tag: &str,
        read: F,
    ) -> Result<Option<Arc<V>>, E>
    where
        E: From<StoreError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        let Some(index) = store.resolve(repository, tag).await? else {
            return Ok(None);
        };
        let key = (repository.to_owned(), index.digest);
        if let Some(hit) = self.cached(&key) {
            return Ok(Some(hit));
        }
        let Some(value) = read().await? else {
            return Ok(None);
        };
        // `read` resolves the tag again; should it have moved in between, the value is kept
        // under an index digest the tag never points at again, so it is never served.
        let value = Arc::new(value);
        self.remember(key, value.clone());
        Ok(Some(value))
    }

    fn cached(&self, key: &(String, Digest)) -> Option<Arc<V>> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn remember(&self, key: (String, Digest), value: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::layout::LayoutStore;
    use crate::store::{OCI_IMAGE_MANIFEST, RawManifest};

    /// A store holding `repo:tag` as a tiny manifest whose bytes carry `n`.
    async fn tagged(store: &LayoutStore, n: u8) {
        let bytes = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"{OCI_IMAGE_MANIFEST}\",\"config\":{{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2}},\"layers\":[],\"annotations\":{{\"n\":\"{n}\"}}}}"
        );
        let empty = b"{}";
        let reader: crate::store::BlobReader = Box::pin(std::io::Cursor::new(empty.to_vec()));
        store
            .push_blob("pypi/x", &Digest::of(empty), 2, reader)
            .await
            .expect("config");
        let manifest = RawManifest {
            media_type: OCI_IMAGE_MANIFEST.to_owned(),
            digest: Digest::of(bytes.as_bytes()),
            bytes: bytes.into_bytes().into(),
        };
        store
            .push_manifest("pypi/x", &manifest, Some("1.0"))
            .await
            .expect("manifest");
    }

    #[tokio::test]
    async fn a_version_is_read_once_per_index_and_again_when_its_tag_moves() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LayoutStore::new(dir.path());
        let cache: ReleaseCache<u32> = ReleaseCache::new(8);
        let reads = std::sync::atomic::AtomicU32::new(0);
        let read = || async {
            Ok::<_, StoreError>(Some(
                reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
            ))
        };
        let missing = cache.get(&store, "pypi/x", "1.0", read).await.expect("get");
        assert_eq!(missing, None, "a tag that does not exist was read");
        tagged(&store, 1).await;
        let first = cache.get(&store, "pypi/x", "1.0", read).await.expect("get");
        let again = cache.get(&store, "pypi/x", "1.0", read).await.expect("get");
        assert_eq!((first, again), (Some(Arc::new(1)), Some(Arc::new(1))));
        tagged(&store, 2).await;
        let moved = cache.get(&store, "pypi/x", "1.0", read).await.expect("get");
        assert_eq!(moved, Some(Arc::new(2)));
    }
}

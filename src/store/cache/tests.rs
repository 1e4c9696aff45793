//! [`CachingStore`] over a real local layout, with every call that reaches the layout counted.

use std::sync::Mutex;

use super::*;
use crate::store::layout::LayoutStore;

/// The layout store, counting the calls that reach it by name.
struct Counting {
    inner: LayoutStore,
    calls: Mutex<Vec<&'static str>>,
}

impl Counting {
    fn count(&self, name: &'static str) -> usize {
        lock(&self.calls).iter().filter(|c| **c == name).count()
    }
    fn total(&self) -> usize {
        lock(&self.calls).len()
    }
    fn note(&self, name: &'static str) {
        lock(&self.calls).push(name);
    }
}

#[async_trait]
impl Store for Counting {
    fn location(&self, repository: &str) -> String {
        self.inner.location(repository)
    }
    async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<RawManifest>> {
        self.note("resolve");
        self.inner.resolve(repository, tag).await
    }
    async fn resolve_digest(&self, repository: &str, tag: &str) -> Result<Option<Digest>> {
        self.note("resolve_digest");
        Ok(self.inner.resolve(repository, tag).await?.map(|m| m.digest))
    }
    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest> {
        self.note("fetch_manifest");
        self.inner.fetch_manifest(repository, digest).await
    }
    async fn push_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<()> {
        self.note("push_manifest");
        self.inner.push_manifest(repository, manifest, tag).await
    }
    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        self.note("blob_exists");
        self.inner.blob_exists(repository, digest).await
    }
    async fn fetch_blob(&self, repository: &str, digest: &Digest, size: u64) -> Result<BlobReader> {
        self.note("fetch_blob");
        self.inner.fetch_blob(repository, digest, size).await
    }
    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> Result<()> {
        self.note("push_blob");
        self.inner.push_blob(repository, digest, size, data).await
    }
    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        self.note("list_tags");
        self.inner.list_tags(repository).await
    }
    async fn list_repositories(&self, prefix: &str) -> Result<Vec<String>> {
        self.note("list_repositories");
        self.inner.list_repositories(prefix).await
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    counting: Arc<Counting>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let counting = Arc::new(Counting {
        inner: LayoutStore::new(dir.path().join("store")),
        calls: Mutex::new(Vec::new()),
    });
    Fixture {
        _dir: dir,
        counting,
    }
}

const REPO: &str = "pypi/demo";

async fn put_blob(store: &dyn Store, bytes: &'static [u8]) -> Digest {
    let digest = Digest::of(bytes);
    store
        .push_blob(
            REPO,
            &digest,
            bytes.len() as u64,
            Box::pin(std::io::Cursor::new(bytes)),
        )
        .await
        .expect("push blob");
    digest
}

/// An OCI manifest naming one (empty JSON) config blob, told apart by an annotation.
async fn manifest(store: &dyn Store, label: &str) -> RawManifest {
    let config = put_blob(store, b"{}").await;
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{config}","size":2}},"layers":[],"annotations":{{"label":"{label}"}}}}"#,
        crate::store::OCI_IMAGE_MANIFEST
    );
    RawManifest::new(crate::store::OCI_IMAGE_MANIFEST, json.into_bytes())
}

async fn tag(store: &dyn Store, label: &str, tag: &str) -> RawManifest {
    let m = manifest(store, label).await;
    store
        .push_manifest(REPO, &m, Some(tag))
        .await
        .expect("push manifest");
    m
}

fn hour() -> Duration {
    Duration::from_secs(3600)
}

#[tokio::test]
async fn within_the_time_to_live_tags_and_manifests_cost_no_call() {
    let f = fixture();
    let one = tag(f.counting.as_ref(), "one", "1.0").await;
    let cache = CachingStore::new(f.counting.clone(), hour());
    let before = f.counting.total();
    for _ in 0..3 {
        assert_eq!(cache.list_tags(REPO).await.unwrap(), vec!["1.0".to_owned()]);
        let got = cache.resolve(REPO, "1.0").await.unwrap().expect("tag");
        assert_eq!(got, one);
        assert_eq!(cache.fetch_manifest(REPO, &one.digest).await.unwrap(), one);
        assert!(cache.resolve(REPO, "2.0").await.unwrap().is_none());
    }
    assert_eq!(
        f.counting.total() - before,
        3,
        "one tag list, one resolve of each tag: {:?}",
        lock(&f.counting.calls)
    );
}

#[tokio::test]
async fn after_the_time_to_live_an_unmoved_tag_costs_one_digest_lookup() {
    let f = fixture();
    let one = tag(f.counting.as_ref(), "one", "1.0").await;
    // No time to live: every read is expired at once.
    let cache = CachingStore::new(f.counting.clone(), Duration::ZERO);
    assert_eq!(cache.resolve(REPO, "1.0").await.unwrap(), Some(one.clone()));
    let resolves = f.counting.count("resolve");
    assert_eq!(cache.resolve(REPO, "1.0").await.unwrap(), Some(one.clone()));
    assert_eq!(
        f.counting.count("resolve"),
        resolves,
        "no whole resolve again"
    );
    assert_eq!(f.counting.count("resolve_digest"), 1);
    assert_eq!(f.counting.count("fetch_manifest"), 0);
}

#[tokio::test]
async fn after_the_time_to_live_a_moved_tag_is_read_anew() {
    let f = fixture();
    tag(f.counting.as_ref(), "one", "1.0").await;
    let cache = CachingStore::new(f.counting.clone(), Duration::ZERO);
    cache.resolve(REPO, "1.0").await.unwrap();
    cache.list_tags(REPO).await.unwrap();
    // Another writer, not through the cache.
    let two = tag(f.counting.as_ref(), "two", "1.0").await;
    tag(f.counting.as_ref(), "three", "2.0").await;
    assert_eq!(cache.resolve(REPO, "1.0").await.unwrap(), Some(two));
    let mut tags = cache.list_tags(REPO).await.unwrap();
    tags.sort();
    assert_eq!(tags, vec!["1.0".to_owned(), "2.0".to_owned()]);
}

#[tokio::test]
async fn a_write_through_the_cache_is_seen_at_once() {
    let f = fixture();
    tag(f.counting.as_ref(), "one", "1.0").await;
    let cache = CachingStore::new(f.counting.clone(), hour());
    assert_eq!(cache.list_tags(REPO).await.unwrap().len(), 1);
    cache.resolve(REPO, "2.0").await.unwrap();
    cache.list_repositories("pypi/").await.unwrap();

    let two = manifest(&cache, "two").await;
    assert!(
        cache
            .push_manifest_if(REPO, &two, "2.0", None)
            .await
            .unwrap()
    );
    assert_eq!(cache.list_tags(REPO).await.unwrap().len(), 2);
    assert_eq!(cache.resolve(REPO, "2.0").await.unwrap(), Some(two.clone()));
    let three = tag(&cache, "three", "1.0").await;
    assert_eq!(cache.resolve(REPO, "1.0").await.unwrap(), Some(three));
}

#[tokio::test]
async fn a_conditional_write_checks_the_store_not_the_cache() {
    let f = fixture();
    let one = tag(f.counting.as_ref(), "one", "1.0").await;
    let cache = CachingStore::new(f.counting.clone(), hour());
    assert_eq!(cache.resolve(REPO, "1.0").await.unwrap(), Some(one.clone()));
    // Another writer moves the tag; the cache still holds `one` for an hour.
    let other = tag(f.counting.as_ref(), "other", "1.0").await;
    let mine = manifest(&cache, "mine").await;
    assert!(
        !cache
            .push_manifest_if(REPO, &mine, "1.0", Some(&one.digest))
            .await
            .unwrap(),
        "the tag moved under us"
    );
    assert_eq!(
        cache.resolve(REPO, "1.0").await.unwrap(),
        Some(other),
        "a refused write forgets the stale tag"
    );
}

#[tokio::test]
async fn small_blobs_are_kept_and_large_ones_stream_through() {
    let f = fixture();
    let small = put_blob(f.counting.as_ref(), b"Metadata-Version: 2.1\n").await;
    static LARGE: [u8; SMALL_BLOB as usize + 1] = [7u8; SMALL_BLOB as usize + 1];
    let large = put_blob(f.counting.as_ref(), &LARGE).await;
    let cache = CachingStore::new(f.counting.clone(), hour());
    let read = |digest: Digest, size: u64| {
        let cache = &cache;
        async move {
            let mut out = Vec::new();
            cache
                .fetch_blob(REPO, &digest, size)
                .await
                .unwrap()
                .read_to_end(&mut out)
                .await
                .unwrap();
            out
        }
    };
    for _ in 0..2 {
        assert_eq!(read(small.clone(), 22).await, b"Metadata-Version: 2.1\n");
        assert_eq!(read(large.clone(), LARGE.len() as u64).await, LARGE);
    }
    assert_eq!(f.counting.count("fetch_blob"), 3, "small once, large twice");
}

#[tokio::test]
async fn a_corrupt_small_blob_is_an_error_and_not_kept() {
    let f = fixture();
    let digest = put_blob(f.counting.as_ref(), b"hello").await;
    let cache = CachingStore::new(f.counting.clone(), hour());
    // The size is wrong: the layout's reader fails at its end.
    for _ in 0..2 {
        let err = cache
            .fetch_blob(REPO, &digest, 4)
            .await
            .err()
            .expect("a size mismatch");
        assert!(err.to_string().contains(&digest.to_string()), "{err}");
    }
    assert_eq!(f.counting.count("fetch_blob"), 2, "nothing was kept");
}

#[test]
fn times_to_live_read_as_the_flag_documents() {
    for (text, want) in [
        ("0", Duration::ZERO),
        ("5", Duration::from_secs(5)),
        ("5s", Duration::from_secs(5)),
        ("500ms", Duration::from_millis(500)),
        ("2m", Duration::from_secs(120)),
    ] {
        assert_eq!(parse_ttl(text), Ok(want), "{text}");
    }
    for bad in ["", "s", "5h", "-1s", "1.5s", "five"] {
        let err = parse_ttl(bad).expect_err(bad);
        assert!(err.contains("is not a duration"), "{bad}: {err}");
    }
}

#[tokio::test]
async fn after_the_time_to_live_the_tags_read_before_are_asked_beside_their_list() {
    let f = fixture();
    let one = tag(f.counting.as_ref(), "one", "1.0").await;
    let ttl = Duration::from_millis(50);
    let cache = CachingStore::new(f.counting.clone(), ttl);
    cache.list_tags(REPO).await.unwrap();
    cache.resolve(REPO, "1.0").await.unwrap();
    tokio::time::sleep(ttl * 2).await;
    let before = f.counting.total();
    assert_eq!(cache.list_tags(REPO).await.unwrap(), vec!["1.0".to_owned()]);
    assert_eq!(cache.resolve(REPO, "1.0").await.unwrap(), Some(one));
    let mut calls = lock(&f.counting.calls)[before..].to_vec();
    calls.sort_unstable();
    assert_eq!(
        calls,
        vec!["list_tags", "resolve_digest"],
        "the tag asked with the list, not again when read"
    );
}

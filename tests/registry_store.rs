//! `RegistryStore` against a real registry (Debian's docker-registry): byte-exact round trips,
//! streaming, digest checks, pagination, reachability and authentication.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "registry_store/sources.rs"]
mod sources;
mod support;

use std::io;
use std::time::{Duration, Instant};

use opp::auth::Credentials;
use opp::digest::{Digest, Hasher};
use opp::store::registry::{RegistryStore, Timeouts};
use opp::store::{BlobReader, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, RawManifest, Store, StoreError};
use sources::{Generated, MustNotBeRead, Slow, Stalled, peak_rss};
use support::registry::{Basic, Registry, free_port};
use tokio::io::AsyncReadExt;

const REPO: &str = "opp-test/pypi/six";
const EMPTY_CONFIG: &[u8] = b"{}";

fn anonymous(reg: &Registry) -> RegistryStore {
    RegistryStore::new(&reg.host, false, Credentials::Anonymous).expect("registry store")
}

fn reader(bytes: impl Into<Vec<u8>>) -> BlobReader {
    Box::pin(io::Cursor::new(bytes.into()))
}

async fn read_all(mut r: BlobReader) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).await?;
    Ok(out)
}

async fn push_bytes(store: &RegistryStore, repo: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::of(bytes);
    store
        .push_blob(repo, &digest, bytes.len() as u64, reader(bytes))
        .await
        .expect("push blob");
    digest
}

/// An OCI artifact manifest for one layer, pretty-printed so that any re-serialization by
/// the client (oci-client writes canonical JSON) would change its digest.
fn manifest_for(layer: &[u8]) -> RawManifest {
    let json = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MANIFEST,
        "artifactType": "application/vnd.opp.pypi.release.v1",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": Digest::of(EMPTY_CONFIG).to_string(),
            "size": EMPTY_CONFIG.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.opp.pypi.wheel.v1+zip",
            "digest": Digest::of(layer).to_string(),
            "size": layer.len(),
            "annotations": {"org.opencontainers.image.title": "six-1.16.0-py2.py3-none-any.whl"},
        }],
    });
    RawManifest::new(
        OCI_IMAGE_MANIFEST,
        serde_json::to_vec_pretty(&json).unwrap(),
    )
}

fn index_for(manifest: &RawManifest) -> RawManifest {
    let json = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_INDEX,
        "manifests": [{
            "mediaType": manifest.media_type,
            "digest": manifest.digest.to_string(),
            "size": manifest.bytes.len(),
            "platform": {"os": "linux", "architecture": "amd64"},
        }],
    });
    RawManifest::new(OCI_IMAGE_INDEX, serde_json::to_vec_pretty(&json).unwrap())
}

/// Pushes config, `layer` and its manifest by digest: what a tag can then point at.
async fn push_artifact(store: &RegistryStore, repo: &str, layer: &[u8]) -> RawManifest {
    push_bytes(store, repo, EMPTY_CONFIG).await;
    push_bytes(store, repo, layer).await;
    let manifest = manifest_for(layer);
    store
        .push_manifest(repo, &manifest, None)
        .await
        .expect("push manifest");
    manifest
}

/// An error as a user or a log could ever see it: message, debug form and causes.
fn rendered(e: &StoreError) -> String {
    let mut out = format!("{e} | {e:?}");
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        out.push_str(&format!(" | {s} | {s:?}"));
        cur = s.source();
    }
    out
}

/// The registry's file for a blob (or a manifest, which is stored as a blob).
fn blob_file(reg: &Registry, digest: &Digest) -> std::path::PathBuf {
    let hex = digest.hex();
    reg.data_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

#[tokio::test]
async fn blobs_manifests_and_indexes_round_trip_byte_exact() {
    let reg = Registry::start();
    let store = anonymous(&reg);
    let layer = b"not really a wheel, but bytes all the same".to_vec();

    let manifest = push_artifact(&store, REPO, &layer).await;
    let index = index_for(&manifest);
    store
        .push_manifest(REPO, &index, Some("1.16.0"))
        .await
        .expect("push index with tag");

    let resolved = store
        .resolve(REPO, "1.16.0")
        .await
        .unwrap()
        .expect("tag exists");
    assert_eq!(resolved, index, "the index comes back byte for byte");
    let fetched = store.fetch_manifest(REPO, &manifest.digest).await.unwrap();
    assert_eq!(fetched, manifest, "the manifest comes back byte for byte");

    let layer_digest = Digest::of(&layer);
    assert!(store.blob_exists(REPO, &layer_digest).await.unwrap());
    let got = read_all(
        store
            .fetch_blob(REPO, &layer_digest, layer.len() as u64)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(got, layer);

    assert!(
        !store
            .blob_exists(REPO, &Digest::of(b"absent"))
            .await
            .unwrap()
    );
    assert_eq!(store.resolve(REPO, "9.9.9").await.unwrap(), None);
    assert_eq!(
        store.resolve("opp-test/nothing", "1.0").await.unwrap(),
        None
    );
    let err = store
        .fetch_blob(REPO, &Digest::of(b"absent"), 6)
        .await
        .err()
        .expect("an absent blob is an error");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    assert_eq!(
        store.list_tags(REPO).await.unwrap(),
        vec!["1.16.0".to_owned()]
    );
    assert!(
        store
            .list_tags("opp-test/nothing")
            .await
            .unwrap()
            .is_empty()
    );
    push_artifact(&store, "other/thing", b"x").await;
    assert_eq!(
        store.list_repositories("opp-test/").await.unwrap(),
        vec![REPO.to_owned()]
    );
    let mut all = store.list_repositories("").await.unwrap();
    all.sort();
    assert_eq!(
        all,
        vec!["opp-test/pypi/six".to_owned(), "other/thing".to_owned()]
    );
}

#[tokio::test]
async fn pushing_a_blob_the_registry_has_does_not_read_the_source() {
    let reg = Registry::start();
    let store = anonymous(&reg);
    let bytes = b"already uploaded".to_vec();
    let digest = push_bytes(&store, REPO, &bytes).await;
    store
        .push_blob(REPO, &digest, bytes.len() as u64, Box::pin(MustNotBeRead))
        .await
        .expect("an existing blob is skipped without reading its source");
}

#[tokio::test]
async fn a_blob_with_a_wrong_digest_is_refused_and_nothing_is_tagged() {
    let reg = Registry::start();
    let store = anonymous(&reg);
    let bytes = b"the real bytes".to_vec();
    let claimed = Digest::of(b"other bytes!!!");
    assert_eq!(bytes.len(), b"other bytes!!!".len());

    let err = store
        .push_blob(REPO, &claimed, bytes.len() as u64, reader(bytes.clone()))
        .await
        .expect_err("a digest mismatch is refused");
    assert!(err.to_string().contains(claimed.as_str()), "{err}");
    assert!(!store.blob_exists(REPO, &claimed).await.unwrap());
    assert!(!store.blob_exists(REPO, &Digest::of(&bytes)).await.unwrap());

    // A short source is refused as well.
    let err = store
        .push_blob(REPO, &Digest::of(&bytes), 100, reader(bytes.clone()))
        .await
        .expect_err("a size mismatch is refused");
    assert!(err.to_string().contains("size"), "{err}");

    // A manifest naming the refused blob is refused in turn: the tag never appears.
    push_bytes(&store, REPO, EMPTY_CONFIG).await;
    let json = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": Digest::of(EMPTY_CONFIG).to_string(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream",
                    "digest": claimed.to_string(), "size": bytes.len()}],
    });
    let manifest = RawManifest::new(OCI_IMAGE_MANIFEST, serde_json::to_vec(&json).unwrap());
    assert!(
        store
            .push_manifest(REPO, &manifest, Some("1.0"))
            .await
            .is_err()
    );
    assert_eq!(store.resolve(REPO, "1.0").await.unwrap(), None);
    assert!(store.list_tags(REPO).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_64_mib_blob_streams_up_and_down_with_its_digest_checked() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let reg = Registry::start();
    let store = anonymous(&reg);

    let mut source = Generated::new(SIZE);
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = source.fill(&mut buf);
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finish();

    let before = peak_rss();
    store
        .push_blob(REPO, &digest, SIZE, Box::pin(Generated::new(SIZE)))
        .await
        .expect("push 64 MiB");
    assert!(store.blob_exists(REPO, &digest).await.unwrap());

    let mut down = store.fetch_blob(REPO, &digest, SIZE).await.unwrap();
    let mut hasher = Hasher::new();
    loop {
        let n = down.read(&mut buf).await.expect("read verified blob");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    assert_eq!(hasher.len(), SIZE);
    assert_eq!(hasher.finish(), digest);
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 40 * 1024 * 1024,
        "peak memory grew by {} MiB moving a 64 MiB blob: something buffered it",
        grown >> 20
    );
}

#[tokio::test]
async fn corrupt_bytes_in_the_registry_fail_the_fetch() {
    let reg = Registry::start();
    let store = anonymous(&reg);
    let layer = b"bytes that will rot on the registry's disk".to_vec();
    let manifest = push_artifact(&store, REPO, &layer).await;
    let layer_digest = Digest::of(&layer);

    // The wrong size is caught before any byte is read.
    let err = store
        .fetch_blob(REPO, &layer_digest, layer.len() as u64 + 1)
        .await
        .err()
        .expect("a size mismatch is an error");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    let mut rotten = layer.clone();
    rotten[0] ^= 0xff;
    std::fs::write(blob_file(&reg, &layer_digest), &rotten).unwrap();
    let down = store
        .fetch_blob(REPO, &layer_digest, layer.len() as u64)
        .await
        .unwrap();
    let err = read_all(down)
        .await
        .expect_err("a rotten blob fails at its end");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains(layer_digest.as_str()), "{err}");

    // Still valid JSON, so only the digest can tell.
    let text = String::from_utf8(manifest.bytes.to_vec()).unwrap();
    let bytes = text.replace("six-1.16.0", "six-1.16.1");
    assert_ne!(bytes, text);
    std::fs::write(blob_file(&reg, &manifest.digest), &bytes).unwrap();
    let err = store
        .fetch_manifest(REPO, &manifest.digest)
        .await
        .expect_err("a rotten manifest is an error");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(manifest.digest.as_str()), "{err}");
}

#[tokio::test]
async fn list_tags_ends_on_a_registry_that_ignores_n_and_last() {
    let reg = Registry::start();
    let store = anonymous(&reg).with_page_size(10);
    let manifest = push_artifact(&store, REPO, b"tagged many times").await;
    let mut expected: Vec<String> = (0..25).map(|i| format!("1.0.{i}")).collect();
    for tag in &expected {
        store
            .push_manifest(REPO, &manifest, Some(tag))
            .await
            .unwrap();
    }
    let mut tags = tokio::time::timeout(Duration::from_secs(30), store.list_tags(REPO))
        .await
        .expect("list_tags ends")
        .unwrap();
    tags.sort();
    expected.sort();
    assert_eq!(tags, expected);
}

#[tokio::test]
async fn a_port_where_nothing_listens_is_unreachable_within_seconds() {
    let host = format!("127.0.0.1:{}", free_port());
    let store = RegistryStore::new(&host, false, Credentials::Anonymous).unwrap();
    let started = Instant::now();
    let err = store
        .resolve(REPO, "1.0")
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&host), "{err}");
    let err = store
        .push_blob(REPO, &Digest::of(b"x"), 1, reader(b"x".to_vec()))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    let err = store.list_tags(REPO).await.expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_password_protected_registry_needs_the_right_password() {
    const PASSWORD: &str = "pw-Very-Secret-1";
    const WRONG: &str = "wrong-Secret-2";
    let reg = Registry::start_with_password(Basic {
        user: "opp",
        password: PASSWORD,
    });
    let right = RegistryStore::new(&reg.host, false, Credentials::basic("opp", PASSWORD)).unwrap();
    let manifest = push_artifact(&right, REPO, b"private bytes").await;
    right
        .push_manifest(REPO, &manifest, Some("1.0"))
        .await
        .unwrap();
    assert_eq!(
        right.resolve(REPO, "1.0").await.unwrap(),
        Some(manifest.clone())
    );
    assert_eq!(right.list_tags(REPO).await.unwrap(), vec!["1.0".to_owned()]);

    let wrong = RegistryStore::new(&reg.host, false, Credentials::basic("opp", WRONG)).unwrap();
    for store in [anonymous(&reg), wrong] {
        let errors = [
            store.resolve(REPO, "1.0").await.expect_err("resolve"),
            store
                .fetch_manifest(REPO, &manifest.digest)
                .await
                .expect_err("fetch manifest"),
            store
                .blob_exists(REPO, &manifest.digest)
                .await
                .expect_err("blob exists"),
            store
                .push_blob(REPO, &Digest::of(b"new"), 3, reader(b"new".to_vec()))
                .await
                .expect_err("push blob"),
            store
                .push_manifest(REPO, &manifest, Some("2.0"))
                .await
                .expect_err("push manifest"),
            store.list_tags(REPO).await.expect_err("list tags"),
        ];
        for err in &errors {
            assert!(
                matches!(err, StoreError::Unauthorized { status: 401, .. }),
                "{err:?}"
            );
            let shown = rendered(err);
            assert!(shown.contains(&reg.host), "{shown}");
            assert!(
                !shown.contains(PASSWORD) && !shown.contains(WRONG),
                "{shown}"
            );
        }
    }
    assert_eq!(right.resolve(REPO, "2.0").await.unwrap(), None);
}

fn quick(host: &str) -> RegistryStore {
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        idle: Duration::from_secs(1),
    };
    RegistryStore::with_timeouts(host, false, Credentials::Anonymous, timeouts).unwrap()
}

#[tokio::test]
async fn a_registry_that_accepts_but_never_answers_is_unreachable_within_seconds() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let store = quick(&host);
    let started = Instant::now();
    let err = store.resolve(REPO, "1.0").await.expect_err("no answer");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    let err = store.list_tags(REPO).await.expect_err("no answer");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    silent.abort();
}

#[tokio::test]
async fn an_upload_may_outlast_the_idle_timeout_while_it_moves_but_not_when_it_stalls() {
    let reg = Registry::start();
    let store = quick(&reg.host);

    // 25 chunks, one every 100 ms: 2.5 s of upload with a 1 s idle timeout.
    let bytes = Slow::bytes(25);
    let digest = Digest::of(&bytes);
    let started = Instant::now();
    store
        .push_blob(
            REPO,
            &digest,
            bytes.len() as u64,
            Box::pin(Slow::new(25, Duration::from_millis(100))),
        )
        .await
        .expect("a slow but steady upload succeeds");
    assert!(started.elapsed() > Duration::from_secs(2));
    assert!(store.blob_exists(REPO, &digest).await.unwrap());

    let started = Instant::now();
    let err = store
        .push_blob(REPO, &Digest::of(b"never"), 5, Box::pin(Stalled))
        .await
        .expect_err("a stalled upload fails");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

//! The local store as a user of opp and of skopeo sees it: what lands on disk under the
//! store root, what comes back, and what is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll};

use opp::digest::Digest;
use opp::store::layout::LayoutStore;
use opp::store::{BlobReader, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, RawManifest, Store, StoreError};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const FILE_TYPE: &str = "application/vnd.opp.test.file.v1";
const PACKAGE_TYPE: &str = "application/vnd.opp.test.package.v1";

fn reader(bytes: &[u8]) -> BlobReader {
    Box::pin(Cursor::new(bytes.to_vec()))
}

async fn push_bytes(store: &LayoutStore, repo: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::of(bytes);
    store
        .push_blob(repo, &digest, bytes.len() as u64, reader(bytes))
        .await
        .expect("push blob");
    digest
}

async fn read_blob(store: &LayoutStore, repo: &str, digest: &Digest, size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .fetch_blob(repo, digest, size)
        .await
        .expect("open blob")
        .read_to_end(&mut out)
        .await
        .expect("read blob");
    out
}

/// One file as an artifact manifest: empty config, the file as its only layer.
async fn push_file_manifest(
    store: &LayoutStore,
    repo: &str,
    name: &str,
    data: &[u8],
) -> RawManifest {
    let config = push_bytes(store, repo, b"{}").await;
    let layer = push_bytes(store, repo, data).await;
    let body = json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MANIFEST,
        "artifactType": FILE_TYPE,
        "config": {"mediaType": EMPTY, "digest": config, "size": 2},
        "layers": [{
            "mediaType": FILE_TYPE, "digest": layer, "size": data.len(),
            "annotations": {"org.opencontainers.image.title": name}
        }]
    });
    let manifest = RawManifest::new(OCI_IMAGE_MANIFEST, serde_json::to_vec(&body).unwrap());
    store
        .push_manifest(repo, &manifest, None)
        .await
        .expect("push file manifest");
    manifest
}

/// An index of two file manifests, tagged. `entry_types` puts each child's artifactType
/// on its index entry too, as OpenTofu's provider layout does.
async fn push_index(
    store: &LayoutStore,
    repo: &str,
    tag: &str,
    entry_types: bool,
) -> (RawManifest, Vec<RawManifest>) {
    let mut children = Vec::new();
    for (name, data) in [
        ("a-1.0.tar.gz", &b"sdist bytes"[..]),
        ("a-1.0-py3-none-any.whl", b"wheel bytes"),
    ] {
        children.push(push_file_manifest(store, repo, name, data).await);
    }
    let entries: Vec<Value> = children
        .iter()
        .map(|m| {
            let mut entry =
                json!({"mediaType": OCI_IMAGE_MANIFEST, "digest": m.digest, "size": m.bytes.len()});
            if entry_types {
                entry["artifactType"] = json!(FILE_TYPE);
            }
            entry
        })
        .collect();
    let body = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX,
                      "artifactType": PACKAGE_TYPE, "manifests": entries});
    let index = RawManifest::new(OCI_IMAGE_INDEX, serde_json::to_vec(&body).unwrap());
    store
        .push_manifest(repo, &index, Some(tag))
        .await
        .expect("push index");
    (index, children)
}

fn index_json(store: &LayoutStore, repo: &str) -> Value {
    let bytes = std::fs::read(store.root().join(repo).join("index.json")).expect("index.json");
    serde_json::from_slice(&bytes).expect("index.json is JSON")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_tagged_index_round_trips_through_the_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let repo = "acme/pypi/a";
    let (index, children) = push_index(&store, repo, "1.0", true).await;

    let layout = tmp.path().join("acme/pypi/a");
    assert_eq!(
        std::fs::read_to_string(layout.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let on_disk = index_json(&store, repo);
    assert_eq!(on_disk["schemaVersion"], 2);
    assert_eq!(on_disk["mediaType"], OCI_IMAGE_INDEX);
    let entries = on_disk["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "only the tag is an entry: {on_disk}");
    assert_eq!(entries[0]["digest"], index.digest.as_str());
    assert_eq!(entries[0]["size"], index.bytes.len());
    assert_eq!(entries[0]["mediaType"], OCI_IMAGE_INDEX);
    assert_eq!(entries[0]["artifactType"], PACKAGE_TYPE);
    assert_eq!(
        entries[0]["annotations"]["org.opencontainers.image.ref.name"],
        "1.0"
    );

    assert_eq!(
        store.resolve(repo, "1.0").await.unwrap(),
        Some(index.clone())
    );
    for child in &children {
        let fetched = store.fetch_manifest(repo, &child.digest).await.unwrap();
        assert_eq!(&fetched, child);
        let body: Value = serde_json::from_slice(&fetched.bytes).unwrap();
        let layer = &body["layers"][0];
        let digest: Digest = layer["digest"].as_str().unwrap().parse().unwrap();
        let bytes = read_blob(&store, repo, &digest, layer["size"].as_u64().unwrap()).await;
        assert_eq!(Digest::of(&bytes), digest);
    }
    assert!(
        store
            .blob_exists(repo, &Digest::of(b"wheel bytes"))
            .await
            .unwrap()
    );
    assert_eq!(store.list_tags(repo).await.unwrap(), ["1.0"]);

    push_index(
        &store,
        "acme/terraform-provider/hashicorp/aws",
        "5.0.0",
        true,
    )
    .await;
    push_index(&store, "other/pypi/b", "2.0", true).await;
    let mut repos = store.list_repositories("acme/").await.unwrap();
    repos.sort();
    assert_eq!(
        repos,
        ["acme/pypi/a", "acme/terraform-provider/hashicorp/aws"]
    );
    assert_eq!(store.list_repositories("").await.unwrap().len(), 3);
    assert!(store.list_repositories("zzz").await.unwrap().is_empty());
}

#[tokio::test]
async fn pushing_a_tag_again_replaces_its_entry_and_keeps_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let repo = "pypi/six";
    let first = push_file_manifest(&store, repo, "one", b"one").await;
    let second = push_file_manifest(&store, repo, "two", b"two").await;
    store
        .push_manifest(repo, &first, Some("1.0"))
        .await
        .unwrap();
    store
        .push_manifest(repo, &first, Some("latest"))
        .await
        .unwrap();
    store
        .push_manifest(repo, &second, Some("1.0"))
        .await
        .unwrap();

    assert_eq!(store.resolve(repo, "1.0").await.unwrap(), Some(second));
    assert_eq!(store.resolve(repo, "latest").await.unwrap(), Some(first));
    assert_eq!(
        index_json(&store, repo)["manifests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mut tags = store.list_tags(repo).await.unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0", "latest"]);
}

#[tokio::test]
async fn a_blob_whose_digest_does_not_match_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let promised = Digest::of(b"the real bytes");
    let err = store
        .push_blob("pypi/six", &promised, 14, reader(b"other bytes!!!"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(message.contains(promised.as_str()), "{message}");
    assert!(
        message.contains(Digest::of(b"other bytes!!!").as_str()),
        "{message}"
    );
    assert!(files_in(&tmp.path().join("pypi/six/blobs/sha256")).is_empty());

    let err = store
        .push_blob(
            "pypi/six",
            &promised,
            14,
            reader(b"the real bytes and more"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than 14 bytes"), "{err}");
    assert!(files_in(&tmp.path().join("pypi/six/blobs/sha256")).is_empty());
}

/// A source that must never be read.
struct Untouchable;

impl AsyncRead for Untouchable {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        panic!("an existing blob's source was read");
    }
}

#[tokio::test]
async fn a_blob_already_stored_is_not_read_again() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let digest = push_bytes(&store, "pypi/six", b"bytes").await;
    store
        .push_blob("pypi/six", &digest, 5, Box::pin(Untouchable))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_manifest_naming_a_missing_blob_is_refused_and_not_tagged() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let missing = Digest::of(b"never pushed");
    let body = json!({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX,
                      "manifests": [{"mediaType": OCI_IMAGE_MANIFEST, "digest": missing, "size": 12}]});
    let index = RawManifest::new(OCI_IMAGE_INDEX, serde_json::to_vec(&body).unwrap());
    let err = store
        .push_manifest("pypi/six", &index, Some("1.0"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(missing.as_str()), "{err}");
    assert_eq!(store.resolve("pypi/six", "1.0").await.unwrap(), None);
    assert!(!store.blob_exists("pypi/six", &index.digest).await.unwrap());
}

#[tokio::test]
async fn corrupt_bytes_on_disk_are_detected_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let repo = "pypi/six";
    let (index, _) = push_index(&store, repo, "1.0", true).await;
    let blobs = tmp.path().join("pypi/six/blobs/sha256");

    let digest = Digest::of(b"wheel bytes");
    std::fs::write(blobs.join(digest.hex()), b"wheel bytez").unwrap();
    let mut stream = store.fetch_blob(repo, &digest, 11).await.unwrap();
    let err = stream.read_to_end(&mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");

    std::fs::write(blobs.join(index.digest.hex()), b"{\"tampered\":true}").unwrap();
    let err = store.resolve(repo, "1.0").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let err = store.fetch_manifest(repo, &index.digest).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn missing_repositories_tags_and_blobs_are_reported_as_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path().join("not-created-yet"));
    assert_eq!(store.resolve("pypi/six", "1.0").await.unwrap(), None);
    assert!(store.list_tags("pypi/six").await.unwrap().is_empty());
    assert!(store.list_repositories("").await.unwrap().is_empty());
    let digest = Digest::of(b"x");
    assert!(!store.blob_exists("pypi/six", &digest).await.unwrap());
    let err = store
        .fetch_blob("pypi/six", &digest, 1)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    let store = LayoutStore::new(tmp.path());
    push_index(&store, "pypi/six", "1.0", true).await;
    assert_eq!(store.resolve("pypi/six", "2.0").await.unwrap(), None);
}

#[tokio::test]
async fn repository_names_that_leave_the_root_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path().join("store"));
    for bad in ["../escape", "/etc/passwd", "pypi//six", "pypi/six/..", ""] {
        let err = store
            .push_blob(bad, &Digest::of(b"x"), 1, reader(b"x"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("invalid repository name"),
            "{bad:?}: {err}"
        );
        assert!(store.resolve(bad, "1.0").await.is_err(), "{bad:?}");
    }
    assert_eq!(files_in(tmp.path()), Vec::<String>::new());
}

#[tokio::test]
async fn an_index_json_without_media_type_or_annotations_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let repo = "pypi/six";
    let manifest = push_file_manifest(&store, repo, "six.whl", b"six").await;
    let untagged = push_file_manifest(&store, repo, "other.whl", b"other").await;
    // What skopeo writes: no mediaType on the index, an untagged entry without annotations.
    let skopeo_style = json!({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_IMAGE_MANIFEST, "digest": untagged.digest, "size": untagged.bytes.len()},
        {"mediaType": OCI_IMAGE_MANIFEST, "digest": manifest.digest, "size": manifest.bytes.len(),
         "annotations": {"org.opencontainers.image.ref.name": "1.16.0"}}]});
    std::fs::write(
        tmp.path().join(repo).join("index.json"),
        skopeo_style.to_string(),
    )
    .unwrap();

    assert_eq!(store.list_tags(repo).await.unwrap(), ["1.16.0"]);
    assert_eq!(
        store.resolve(repo, "1.16.0").await.unwrap(),
        Some(manifest.clone())
    );

    store
        .push_manifest(repo, &manifest, Some("latest"))
        .await
        .unwrap();
    let rewritten = index_json(&store, repo);
    assert_eq!(rewritten["mediaType"], OCI_IMAGE_INDEX);
    assert_eq!(
        rewritten["manifests"].as_array().unwrap().len(),
        3,
        "{rewritten}"
    );
}

#[test]
fn concurrent_writers_keep_every_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().to_path_buf();
    let writers = 6;
    let tags_each = 8;
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let root = root.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let store = LayoutStore::new(root); // its own instance, its own lock handles
                    for t in 0..tags_each {
                        let data = format!("writer {w} file {t}");
                        let m = push_file_manifest(&store, "pypi/six", "f", data.as_bytes()).await;
                        store
                            .push_manifest("pypi/six", &m, Some(&format!("w{w}-t{t}")))
                            .await
                            .unwrap();
                    }
                });
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }

    let store = LayoutStore::new(&root);
    let index = index_json(&store, "pypi/six");
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        writers * tags_each
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let tags = runtime.block_on(store.list_tags("pypi/six")).unwrap();
    for w in 0..writers {
        for t in 0..tags_each {
            let tag = format!("w{w}-t{t}");
            assert!(tags.contains(&tag), "{tag} lost: {tags:?}");
            assert!(
                runtime
                    .block_on(store.resolve("pypi/six", &tag))
                    .unwrap()
                    .is_some()
            );
        }
    }
}

/// skopeo from PATH; a machine without it fails the test with the install command.
fn skopeo() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("skopeo"))
        .find(|p| p.is_file())
        .expect(
            "skopeo is needed for the interop test and is not on PATH: `apt-get install skopeo`",
        )
}

fn run_skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new(skopeo())
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Copies `repo:tag` from one store root to another with `skopeo copy --all`.
fn skopeo_copy(from: &Path, to: &Path, repo: &str, tag: &str, extra: &[&str]) {
    std::fs::create_dir_all(to.join(repo).parent().unwrap()).unwrap();
    let src = format!("oci:{}:{tag}", from.join(repo).display());
    let dst = format!("oci:{}:{tag}", to.join(repo).display());
    let mut args = vec!["copy", "--all", "--quiet"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[&src, &dst]);
    run_skopeo(&args);
}

async fn assert_blobs_copied(copy: &LayoutStore, repo: &str, children: &[RawManifest]) {
    for child in children {
        assert_eq!(
            &copy.fetch_manifest(repo, &child.digest).await.unwrap(),
            child
        );
    }
    for data in [&b"sdist bytes"[..], b"wheel bytes", b"{}"] {
        let digest = Digest::of(data);
        assert_eq!(
            read_blob(copy, repo, &digest, data.len() as u64).await,
            data
        );
    }
}

#[tokio::test]
async fn skopeo_copies_what_the_store_wrote_and_the_store_reads_the_copy() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    let repo = "acme/pypi/a";
    let source = LayoutStore::new(from.path());
    let (index, children) = push_index(&source, repo, "1.0", false).await;

    let src = format!("oci:{}:1.0", from.path().join(repo).display());
    assert_eq!(run_skopeo(&["inspect", "--raw", &src]), index.bytes);
    // --preserve-digests: skopeo itself fails rather than rewrite anything.
    skopeo_copy(from.path(), to.path(), repo, "1.0", &["--preserve-digests"]);

    let copy = LayoutStore::new(to.path());
    assert_eq!(copy.list_repositories("").await.unwrap(), [repo]);
    assert_eq!(copy.list_tags(repo).await.unwrap(), ["1.0"]);
    assert_eq!(copy.resolve(repo, "1.0").await.unwrap(), Some(index));
    assert_blobs_copied(&copy, repo, &children).await;
}

/// skopeo 1.9.3 re-serializes an index whose entries carry `artifactType` and drops every
/// `artifactType` of the index on the way (its Go types predate the field). The children
/// and blobs still arrive byte for byte, and the store reads the rewritten index.
#[tokio::test]
async fn skopeo_keeps_children_of_an_index_with_typed_entries() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    let repo = "acme/terraform-provider/hashicorp/aws";
    let source = LayoutStore::new(from.path());
    let (index, children) = push_index(&source, repo, "5.0.0", true).await;
    skopeo_copy(from.path(), to.path(), repo, "5.0.0", &[]);

    let copy = LayoutStore::new(to.path());
    let copied = copy
        .resolve(repo, "5.0.0")
        .await
        .unwrap()
        .expect("tag copied");
    if copied != index {
        let mut expected: Value = serde_json::from_slice(&index.bytes).unwrap();
        expected.as_object_mut().unwrap().remove("artifactType");
        for entry in expected["manifests"].as_array_mut().unwrap() {
            entry.as_object_mut().unwrap().remove("artifactType");
        }
        let got: Value = serde_json::from_slice(&copied.bytes).unwrap();
        assert_eq!(
            got, expected,
            "skopeo changed more than the artifactType fields"
        );
    }
    assert_blobs_copied(&copy, repo, &children).await;
}

/// A manifest file over distribution's 4 MiB limit (here a sparse 300 MiB file in place of a
/// tagged index) is refused from its size, before any byte of it is read.
#[tokio::test]
async fn a_manifest_over_4_mib_is_refused_without_being_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(tmp.path());
    let manifest = push_file_manifest(&store, "pypi/six", "six.whl", b"wheel bytes").await;
    store
        .push_manifest("pypi/six", &manifest, Some("1.0"))
        .await
        .unwrap();
    let file = tmp
        .path()
        .join("pypi/six/blobs/sha256")
        .join(manifest.digest.hex());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(300 * 1024 * 1024))
        .expect("grow the manifest file");

    let errors = [
        store.resolve("pypi/six", "1.0").await.expect_err("resolve"),
        store
            .fetch_manifest("pypi/six", &manifest.digest)
            .await
            .expect_err("fetch"),
    ];
    for err in errors {
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(
            msg.contains(manifest.digest.as_str())
                && msg.contains("300 MiB")
                && msg.contains("over the 4 MiB"),
            "{msg}"
        );
    }
}

//! The bundle index: blob order, what a delta leaves out, and the checks import makes.

use super::*;

fn d(s: &str) -> Digest {
    Digest::of(s.as_bytes())
}

fn version(repo: &str, tag: &str, root: &str, children: &[&str], blobs: &[&str]) -> VersionEntry {
    VersionEntry {
        ecosystem: "pypi".into(),
        package: repo.rsplit('/').next().unwrap_or_default().into(),
        version: tag.into(),
        repository: repo.into(),
        tag: tag.into(),
        manifest: Root {
            media_type: OCI_IMAGE_INDEX.into(),
            digest: d(root),
            size: 10,
            artifact_type: Some("application/pyoci.package.v1".into()),
        },
        manifests: children.iter().map(|c| d(c)).collect(),
        blobs: blobs.iter().map(|b| d(b)).collect(),
    }
}

fn sizes(versions: &[VersionEntry]) -> BTreeMap<Digest, (u64, Option<String>)> {
    let mut sizes = BTreeMap::new();
    for v in versions {
        for b in &v.blobs {
            sizes.insert(b.clone(), (100, None));
        }
        for m in v.manifests.iter().chain([&v.manifest.digest]) {
            sizes.insert(m.clone(), (10, Some(OCI_IMAGE_INDEX.to_owned())));
        }
    }
    sizes
}

fn two_versions() -> Vec<VersionEntry> {
    vec![
        version(
            "pypi/six",
            "1.16.0",
            "six-index",
            &["six-m1"],
            &["{}", "six.whl"],
        ),
        version(
            "pypi/attrs",
            "23.1.0",
            "attrs-index",
            &["attrs-m1"],
            &["{}", "attrs.whl"],
        ),
    ]
}

#[test]
fn blobs_come_once_each_before_every_manifest_and_name_their_repositories() {
    let versions = two_versions();
    let index = BundleIndex::build(
        "now".into(),
        None,
        versions.clone(),
        &sizes(&versions),
        &HashSet::new(),
    );
    let order: Vec<Digest> = index.blobs.iter().map(|b| b.digest.clone()).collect();
    assert_eq!(
        order,
        [
            d("{}"),
            d("six.whl"),
            d("attrs.whl"),
            d("six-m1"),
            d("six-index"),
            d("attrs-m1"),
            d("attrs-index")
        ]
    );
    assert_eq!(index.blobs[0].repositories, ["pypi/attrs", "pypi/six"]);
    assert_eq!(index.blobs[3].media_type.as_deref(), Some(OCI_IMAGE_INDEX));
    let pypi = &index.ecosystems["pypi"];
    assert_eq!(
        (pypi.packages, pypi.versions, pypi.blobs, pypi.bytes),
        (2, 2, 7, 340)
    );
}

#[test]
fn a_delta_leaves_out_the_pairs_its_base_held_and_versions_it_held_whole() {
    let old = vec![two_versions()[0].clone()];
    let base = BundleIndex::build(
        "then".into(),
        None,
        old.clone(),
        &sizes(&old),
        &HashSet::new(),
    );
    let mut now = two_versions();
    // A new version of six sharing the empty config with the old one.
    now.push(version(
        "pypi/six",
        "1.17.0",
        "six2-index",
        &["six2-m1"],
        &["{}", "six2.whl"],
    ));
    let delta = BundleIndex::build(
        "now".into(),
        Some(Base {
            digest: d("base"),
            created: "then".into(),
        }),
        now.clone(),
        &sizes(&now),
        &base.pairs(),
    );
    let tags: Vec<&str> = delta.versions.iter().map(|v| v.tag.as_str()).collect();
    assert_eq!(tags, ["23.1.0", "1.17.0"]);
    let held: Vec<(Digest, Vec<String>)> = delta
        .blobs
        .iter()
        .filter(|b| b.media_type.is_none())
        .map(|b| (b.digest.clone(), b.repositories.clone()))
        .collect();
    // The empty config stays for pypi/attrs, which the base did not have, not for pypi/six.
    assert_eq!(
        held,
        [
            (d("{}"), vec!["pypi/attrs".to_owned()]),
            (d("attrs.whl"), vec!["pypi/attrs".to_owned()]),
            (d("six2.whl"), vec!["pypi/six".to_owned()]),
        ]
    );
}

#[test]
fn the_layout_index_names_each_version_and_any_change_to_either_file_shows() {
    let versions = two_versions();
    let index = BundleIndex::build(
        "now".into(),
        None,
        versions.clone(),
        &sizes(&versions),
        &HashSet::new(),
    );
    let bundle_digest = Digest::of(&index.to_bytes());
    let layout = index.layout_index(&bundle_digest);
    let parsed: serde_json::Value = serde_json::from_slice(&layout).unwrap();
    let entry = &parsed["manifests"][0];
    assert_eq!(entry["annotations"][REF_NAME], "pypi/six:1.16.0");
    assert_eq!(entry["annotations"][ECOSYSTEM], "pypi");
    assert_eq!(entry["annotations"][PACKAGE], "six");
    assert_eq!(entry["annotations"][VERSION], "1.16.0");
    assert_eq!(index.check_layout_index(&bundle_digest, &layout), Ok(()));

    let tampered = String::from_utf8(layout.clone())
        .unwrap()
        .replace("\"six\"", "\"sjx\"");
    assert!(
        index
            .check_layout_index(&bundle_digest, tampered.as_bytes())
            .is_err()
    );
    assert!(index.check_layout_index(&d("other"), &layout).is_err());

    let again = BundleIndex::parse(&index.to_bytes()).unwrap();
    assert_eq!(again, index);
}

#[test]
fn other_formats_and_unknown_ecosystems_are_refused() {
    let versions = two_versions();
    let mut index = BundleIndex::build(
        "now".into(),
        None,
        versions.clone(),
        &sizes(&versions),
        &HashSet::new(),
    );
    index.format = "opp-bundle/v9".into();
    assert_eq!(
        BundleIndex::parse(&index.to_bytes()).unwrap_err(),
        "format `opp-bundle/v9` is not opp-bundle/v1; import it with the opp that exported it"
    );
    index.format = FORMAT.into();
    index.versions[0].ecosystem = "cargo".into();
    assert_eq!(
        BundleIndex::parse(&index.to_bytes()).unwrap_err(),
        "unknown ecosystem `cargo`"
    );
}

#[test]
fn only_sha256_blob_entries_are_blobs() {
    let digest = d("x");
    assert_eq!(blob_entry(&blob_path(&digest)), Some(digest));
    assert_eq!(blob_entry("blobs/sha256/../../etc/passwd"), None);
    assert_eq!(blob_entry("blobs/sha512/abc"), None);
    assert_eq!(blob_entry(INDEX_JSON), None);
}

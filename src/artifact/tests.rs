//! The merge of new entries into an index: which entries count as the same file.

use std::collections::BTreeMap;

use oci_client::manifest::{ImageIndexEntry, Platform};

use super::*;

fn digest(byte: u8) -> Digest {
    format!("sha256:{}", format!("{byte:02x}").repeat(32))
        .parse()
        .unwrap()
}

fn entry(
    artifact_type: Option<&str>,
    platform: Option<(&str, &str)>,
    gem_platform: Option<&str>,
) -> ImageIndexEntry {
    ImageIndexEntry {
        media_type: crate::store::OCI_IMAGE_MANIFEST.to_owned(),
        digest: digest(0xee).to_string(),
        size: 1,
        platform: platform.map(|(os, arch)| Platform {
            architecture: arch.into(),
            os: os.into(),
            os_version: None,
            os_features: None,
            variant: None,
            features: None,
        }),
        annotations: gem_platform
            .map(|p| BTreeMap::from([(RUBYGEMS_PLATFORM.to_owned(), p.to_owned())])),
        artifact_type: artifact_type.map(str::to_owned),
    }
}

fn new(file: &str, e: ImageIndexEntry, byte: u8) -> (String, ImageIndexEntry, Digest) {
    (file.to_owned(), e, digest(byte))
}

#[test]
fn a_nupkg_and_its_snupkg_are_two_entries() {
    let nupkg = entry(Some(NUGET.file_artifact_type), None, None);
    let snupkg = entry(Some(NUGET_SNUPKG.file_artifact_type), None, None);
    let (entries, outcome) = merge(
        vec![(nupkg, digest(1))],
        vec![new("a.snupkg", snupkg, 2)],
        false,
    )
    .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(outcome, vec![Merged::Added("a.snupkg".into())]);
}

#[test]
fn gems_of_other_ruby_platforms_are_other_entries_and_the_same_one_conflicts() {
    let ruby = entry(Some(RUBYGEMS.file_artifact_type), None, Some("ruby"));
    let linux = entry(
        Some(RUBYGEMS.file_artifact_type),
        None,
        Some("x86_64-linux"),
    );
    let (entries, _) = merge(
        vec![(ruby.clone(), digest(1))],
        vec![new("g-1.0-x86_64-linux.gem", linux, 2)],
        false,
    )
    .unwrap();
    assert_eq!(entries.len(), 2);
    let err = merge(
        vec![(ruby.clone(), digest(1))],
        vec![new("g-1.0.gem", ruby, 3)],
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ArtifactError::Conflict { .. }), "{err}");
}

#[test]
fn entries_with_a_platform_are_keyed_by_it_alone() {
    // PyOCI's entries carry no artifactType; opp's may: same platform, same file.
    let theirs = entry(None, Some(("any", "py3-none-any.whl")), None);
    let ours = entry(
        Some(PYPI.file_artifact_type),
        Some(("any", "py3-none-any.whl")),
        None,
    );
    let (entries, outcome) = merge(
        vec![(theirs, digest(1))],
        vec![new("w.whl", ours, 1)],
        false,
    )
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(outcome, vec![Merged::Unchanged("w.whl".into())]);
}

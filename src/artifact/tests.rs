//! The merge of new entries into an index (which entries count as the same file), and the
//! file description opp writes on every entry.

use std::collections::BTreeMap;

use oci_client::manifest::{ImageIndexEntry, Platform};

use super::*;
use crate::release::Descriptor;

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
        &NUGET,
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
        &RUBYGEMS,
        vec![(ruby.clone(), digest(1))],
        vec![new("g-1.0-x86_64-linux.gem", linux, 2)],
        false,
    )
    .unwrap();
    assert_eq!(entries.len(), 2);
    let err = merge(
        &RUBYGEMS,
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
        &PYPI,
        vec![(theirs, digest(1))],
        vec![new("w.whl", ours, 1)],
        false,
    )
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(outcome, vec![Merged::Unchanged("w.whl".into())]);
}

/// A wheel's spec as `packages::pypi` builds it: METADATA as config, one layer.
fn wheel_spec() -> FileSpec {
    let metadata = bytes::Bytes::from_static(b"Metadata-Version: 2.1\nName: six\nVersion: 1.0\n");
    FileSpec {
        file_name: "six-1.0-py3-none-any.whl".to_owned(),
        artifact_type: PYPI.file_artifact_type,
        entry_artifact_type: None,
        layers: vec![LayerSpec {
            descriptor: Descriptor {
                media_type: PYPI.layer_media_type.to_owned(),
                digest: digest(7),
                size: 1234,
            },
            title: Some("six-1.0-py3-none-any.whl".to_owned()),
            source: LayerSource::Bytes(bytes::Bytes::new()),
        }],
        metadata: Some((PYPI_METADATA, metadata)),
        platform: Some(("any".to_owned(), "py3-none-any.whl".to_owned())),
        entry_annotations: BTreeMap::from([(PYOCI_SHA256.to_owned(), digest(7).hex().to_owned())]),
    }
}

/// A nupkg's spec: no config, the nuspec as second layer.
fn nupkg_spec() -> FileSpec {
    let layer = |media_type: &str, byte: u8, size: u64, title: Option<&str>| LayerSpec {
        descriptor: Descriptor {
            media_type: media_type.to_owned(),
            digest: digest(byte),
            size,
        },
        title: title.map(str::to_owned),
        source: LayerSource::Bytes(bytes::Bytes::new()),
    };
    FileSpec {
        file_name: "Foo.1.0.0.nupkg".to_owned(),
        artifact_type: NUGET.file_artifact_type,
        entry_artifact_type: Some(NUGET.file_artifact_type),
        layers: vec![
            layer(NUGET.layer_media_type, 1, 99, Some("Foo.1.0.0.nupkg")),
            layer(NUGET_NUSPEC, 2, 17, Some("foo.nuspec")),
        ],
        metadata: None,
        platform: None,
        entry_annotations: BTreeMap::new(),
    }
}

#[test]
fn an_entry_opp_writes_reads_back_as_its_manifest_does() {
    for (kinds, spec) in [(&PYPI, wheel_spec()), (&NUGET, nupkg_spec())] {
        let name = spec.file_name.clone();
        let a = file_manifest(spec, "2026-01-01T00:00:00Z");
        let e = a.entry(kinds, "2026-01-01T00:00:00Z");
        let from_manifest = dist_file("test", &e, &a.manifest, |_| String::new()).unwrap();
        let from_entry = entry::dist_file(kinds, "test", &e)
            .unwrap_or_else(|| panic!("{name}: the entry does not describe its file"))
            .unwrap();
        assert_eq!(from_entry, from_manifest, "{name}");
    }
}

#[test]
fn an_entry_without_opps_annotations_is_read_from_its_manifest() {
    // PyOCI's entries carry only its digest annotation.
    let e = entry(None, Some(("any", "py3-none-any.whl")), None);
    assert!(entry::dist_file(&PYPI, "test", &e).is_none());
}

#[test]
fn a_malformed_file_annotation_is_an_error_naming_it() {
    let a = file_manifest(wheel_spec(), "2026-01-01T00:00:00Z");
    let mut e = a.entry(&PYPI, "2026-01-01T00:00:00Z");
    e.annotations
        .as_mut()
        .unwrap()
        .insert(entry::FILE_SIZE.to_owned(), "twelve".to_owned());
    let err = entry::dist_file(&PYPI, "reg/pypi/six:1.0", &e)
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("reg/pypi/six:1.0 is not a valid OCI image index: entry sha256:")
            && err.to_string().contains("annotation io.opp.file.size"),
        "{err}"
    );
}

#[test]
fn the_file_description_is_not_reported_as_an_entry_annotation() {
    let a = file_manifest(wheel_spec(), "2026-01-01T00:00:00Z");
    let file = entry::dist_file(&PYPI, "test", &a.entry(&PYPI, "2026-01-01T00:00:00Z"))
        .unwrap()
        .unwrap();
    let keys: Vec<&str> = file.annotations.keys().map(String::as_str).collect();
    assert_eq!(keys, [PYOCI_SHA256, CREATED]);
}

//! Tests of `discover` and `describe` with archives built in memory.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

const ATTRS_METADATA: &[u8] = b"Metadata-Version: 2.1\r\nName: attrs\r\nVersion: 23.1.0\r\n\
Requires-Python: >=3.7\r\nSummary: Classes Without Boilerplate\r\n\r\n# attrs\r\n";

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A gzip tar with the names written raw, so that unsafe names can be built too.
fn tar_gz_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn describe_bytes(file_name: &str, bytes: Vec<u8>) -> Result<PythonDist, PypiError> {
    let size = bytes.len() as u64;
    describe_reader(&Path::new("dist").join(file_name), Cursor::new(bytes), size)
}

fn wheel(file_name: &str, metadata: &[u8]) -> Result<PythonDist, PypiError> {
    let dist_info = format!(
        "{}.dist-info",
        file_name.split('-').take(2).collect::<Vec<_>>().join("-")
    );
    let bytes = zip_of(&[
        ("attrs/__init__.py", b"" as &[u8]),
        (&format!("{dist_info}/METADATA"), metadata),
        (&format!("{dist_info}/RECORD"), b""),
    ]);
    describe_bytes(file_name, bytes)
}

fn error_of(result: Result<PythonDist, PypiError>) -> String {
    let error = result.expect_err("expected an error");
    error.to_string()
}

#[test]
fn a_wheel_is_described_from_its_metadata() {
    let dist = wheel("attrs-23.1.0-py3-none-any.whl", ATTRS_METADATA).unwrap();
    assert_eq!(dist.file_name, "attrs-23.1.0-py3-none-any.whl");
    assert_eq!(dist.path, Path::new("dist/attrs-23.1.0-py3-none-any.whl"));
    assert_eq!(
        (dist.name.as_str(), dist.version.as_str()),
        ("attrs", "23.1.0")
    );
    assert_eq!(dist.kind, DistKind::Wheel);
    assert_eq!(dist.platform_arch, "py3-none-any.whl");
    assert_eq!(dist.metadata.as_deref(), Some(ATTRS_METADATA));
    assert_eq!(dist.requires_python.as_deref(), Some(">=3.7"));
    assert!(dist.size > 0);
}

#[test]
fn wheel_names_and_versions_compare_normalized() {
    let metadata = b"Name: Foo.Bar-baz\nVersion: 1.0.0-RC1\n";
    let dist = wheel(
        "foo_bar_baz-1.0.0rc1-1-cp311-cp311-manylinux_2_17_x86_64.whl",
        metadata,
    )
    .unwrap();
    assert_eq!(dist.name, "Foo.Bar-baz");
    assert_eq!(dist.version, "1.0.0rc1");
    assert_eq!(
        dist.platform_arch,
        "1-cp311-cp311-manylinux_2_17_x86_64.whl"
    );
    assert_eq!(dist.requires_python, None);
}

#[test]
fn an_sdist_is_described_from_its_pkg_info() {
    let bytes = tar_gz_of(&[
        ("attrs-23.1.0/", b""),
        (
            "attrs-23.1.0/src/attrs.egg-info/PKG-INFO",
            b"Name: wrong\nVersion: 9\n",
        ),
        ("attrs-23.1.0/PKG-INFO", ATTRS_METADATA),
        ("attrs-23.1.0/setup.py", b""),
    ]);
    let dist = describe_bytes("attrs-23.1.0.tar.gz", bytes).unwrap();
    assert_eq!(
        (dist.name.as_str(), dist.version.as_str()),
        ("attrs", "23.1.0")
    );
    assert_eq!(dist.kind, DistKind::Sdist);
    assert_eq!(dist.platform_arch, ".tar.gz");
    assert_eq!(dist.metadata, None);
    assert_eq!(dist.requires_python.as_deref(), Some(">=3.7"));
}

#[test]
fn a_legacy_sdist_may_keep_dashes_in_its_name() {
    let bytes = tar_gz_of(&[(
        "my-package-1.0/PKG-INFO",
        b"Name: my-package\nVersion: 1.0\n",
    )]);
    let dist = describe_bytes("my-package-1.0.tar.gz", bytes).unwrap();
    assert_eq!(dist.name, "my-package");
}

#[test]
fn a_legacy_zip_sdist_is_read_too() {
    let bytes = zip_of(&[("Foo-2.0/PKG-INFO", b"Name: Foo\nVersion: 2.0\n")]);
    let dist = describe_bytes("Foo-2.0.zip", bytes).unwrap();
    assert_eq!(
        (dist.kind, dist.platform_arch.as_str()),
        (DistKind::Sdist, ".zip")
    );
}

#[test]
fn describe_reads_a_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attrs-23.1.0-py3-none-any.whl");
    let bytes = zip_of(&[("attrs-23.1.0.dist-info/METADATA", ATTRS_METADATA)]);
    std::fs::write(&path, &bytes).unwrap();
    let dist = describe(&path).unwrap();
    assert_eq!(dist.size, bytes.len() as u64);
    assert_eq!(dist.metadata.as_deref(), Some(ATTRS_METADATA));
    let missing = error_of(describe(&dir.path().join("gone-1.0.tar.gz")));
    assert!(missing.contains("gone-1.0.tar.gz") && missing.contains("does not exist"));
}

#[test]
fn a_wheel_that_is_not_a_zip_is_refused() {
    let message = error_of(describe_bytes(
        "attrs-23.1.0-py3-none-any.whl",
        b"not a zip".to_vec(),
    ));
    assert!(
        message.contains("attrs-23.1.0-py3-none-any.whl") && message.contains("not a valid zip")
    );
}

#[test]
fn an_sdist_that_is_not_a_gzip_tar_is_refused() {
    let plain_zip = zip_of(&[("attrs-23.1.0/PKG-INFO", ATTRS_METADATA)]);
    let message = error_of(describe_bytes("attrs-23.1.0.tar.gz", plain_zip));
    assert!(message.contains("attrs-23.1.0.tar.gz") && message.contains("gzip-compressed tar"));
}

#[test]
fn a_wheel_without_metadata_is_refused() {
    let bytes = zip_of(&[
        ("attrs/__init__.py", b""),
        ("attrs-23.1.0.dist-info/RECORD", b""),
    ]);
    let message = error_of(describe_bytes("attrs-23.1.0-py3-none-any.whl", bytes));
    assert!(
        message.contains("has no <name>-<version>.dist-info/METADATA"),
        "{message}"
    );
}

#[test]
fn an_sdist_without_pkg_info_is_refused() {
    let bytes = tar_gz_of(&[("attrs-23.1.0/setup.py", b"")]);
    let message = error_of(describe_bytes("attrs-23.1.0.tar.gz", bytes));
    assert!(message.contains("PKG-INFO"), "{message}");
}

#[test]
fn a_wheel_with_two_dist_info_directories_is_refused() {
    let bytes = zip_of(&[
        ("a-1.0.dist-info/METADATA", b"Name: a\nVersion: 1.0\n"),
        ("b-1.0.dist-info/METADATA", b"Name: b\nVersion: 1.0\n"),
    ]);
    let message = error_of(describe_bytes("a-1.0-py3-none-any.whl", bytes));
    assert!(message.contains("more than one"), "{message}");
}

#[test]
fn metadata_without_name_or_version_is_refused() {
    let no_name = error_of(wheel("attrs-23.1.0-py3-none-any.whl", b"Version: 23.1.0\n"));
    assert!(
        no_name.contains("no `Name:` field") && no_name.contains("METADATA"),
        "{no_name}"
    );
    let no_version = error_of(wheel("attrs-23.1.0-py3-none-any.whl", b"Name: attrs\n"));
    assert!(no_version.contains("no `Version:` field"), "{no_version}");
}

#[test]
fn an_unparsable_version_is_refused() {
    let message = error_of(wheel(
        "attrs-23.1.0-py3-none-any.whl",
        b"Name: attrs\nVersion: one\n",
    ));
    assert!(
        message.contains("`Version: one` is not a valid PEP 440 version"),
        "{message}"
    );
}

#[test]
fn an_invalid_project_name_is_refused() {
    let message = error_of(wheel(
        "attrs-23.1.0-py3-none-any.whl",
        b"Name: -attrs\nVersion: 1\n",
    ));
    assert!(message.contains("not a valid project name"), "{message}");
}

#[test]
fn file_names_that_are_not_distributions_are_refused() {
    for bad in [
        "attrs.whl",
        "attrs-23.1.0-py3.whl",
        "attrs-23.1.0.txt",
        "attrs.tar.gz",
        "attrs-notaversion-py3-none-any.whl",
    ] {
        let bytes = if bad.ends_with(".tar.gz") {
            tar_gz_of(&[("attrs/PKG-INFO", ATTRS_METADATA)])
        } else {
            zip_of(&[("attrs-23.1.0.dist-info/METADATA", ATTRS_METADATA)])
        };
        let message = error_of(describe_bytes(bad, bytes));
        assert!(
            message.contains(bad) && message.contains("expected <name>-<version>"),
            "{message}"
        );
    }
}

#[test]
fn a_file_name_that_disagrees_with_the_metadata_is_refused() {
    let name = error_of(wheel("cattrs-23.1.0-py3-none-any.whl", ATTRS_METADATA));
    assert!(
        name.contains("name `cattrs`") && name.contains("`attrs`"),
        "{name}"
    );
    let version = error_of(wheel("attrs-23.2.0-py3-none-any.whl", ATTRS_METADATA));
    assert!(
        version.contains("version `23.2.0`") && version.contains("`23.1.0`"),
        "{version}"
    );
    let sdist = tar_gz_of(&[("attrs-9.0/PKG-INFO", ATTRS_METADATA)]);
    let message = error_of(describe_bytes("attrs-9.0.tar.gz", sdist));
    assert!(message.contains("version `9.0`"), "{message}");
}

#[test]
fn archives_with_escaping_member_paths_are_refused_whole() {
    let zip_parent = zip_of(&[
        ("attrs-23.1.0.dist-info/METADATA", ATTRS_METADATA),
        ("../evil.py", b""),
    ]);
    let message = error_of(describe_bytes("attrs-23.1.0-py3-none-any.whl", zip_parent));
    assert!(
        message.contains("`../evil.py`") && message.contains("../ paths"),
        "{message}"
    );

    let tar_absolute = tar_gz_of(&[
        ("attrs-23.1.0/PKG-INFO", ATTRS_METADATA),
        ("/etc/cron.d/evil", b""),
    ]);
    let message = error_of(describe_bytes("attrs-23.1.0.tar.gz", tar_absolute));
    assert!(message.contains("`/etc/cron.d/evil`"), "{message}");

    let tar_parent = tar_gz_of(&[
        ("attrs-23.1.0/../../x", b""),
        ("attrs-23.1.0/PKG-INFO", ATTRS_METADATA),
    ]);
    assert!(matches!(
        describe_bytes("attrs-23.1.0.tar.gz", tar_parent),
        Err(PypiError::UnsafeMember { .. })
    ));
}

#[test]
fn discover_scans_directories_and_takes_files_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let touch = |name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, b"").unwrap();
        path
    };
    let wheel = touch("b-1.0-py3-none-any.whl");
    let sdist = touch("b-1.0.tar.gz");
    let legacy = touch("a-1.0.zip");
    touch("README.md");
    std::fs::create_dir(dir.path().join("sub.whl")).unwrap();
    let given = touch("notes.txt");

    let found = discover(&[dir.path().to_path_buf(), given.clone(), wheel.clone()]).unwrap();
    assert_eq!(found, vec![legacy, wheel, sdist, given]);
}

#[test]
fn discover_names_what_is_missing_or_empty() {
    let dir = tempfile::tempdir().unwrap();
    let gone: PathBuf = dir.path().join("gone");
    let message = discover(std::slice::from_ref(&gone))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("gone") && message.contains("does not exist"),
        "{message}"
    );

    std::fs::write(dir.path().join("README.md"), b"").unwrap();
    let message = discover(&[dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("contains no Python distributions"),
        "{message}"
    );
}

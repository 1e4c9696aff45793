//! Platforms, mirror paths and unpacking, with zips built in memory.

use super::super::h1_of_dir;
use super::super::test_zip::{Entry, build_zip, fake_provider_zip};
use super::*;
use crate::ecosystem::limits::DEFAULT_MAX_UNPACKED_BYTES;

fn address() -> ProviderAddress {
    ProviderAddress::parse("acme/foo").unwrap()
}

fn zip_at(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("p.zip");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_current_platform_uses_go_names() {
    let (os, arch) = current_platform();
    assert!(!os.is_empty() && !arch.is_empty());
    assert_ne!(os, "macos");
    assert!(
        !["x86_64", "aarch64", "x86"].contains(&arch.as_str()),
        "{arch}"
    );
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    assert_eq!((os.as_str(), arch.as_str()), ("linux", "amd64"));
}

#[test]
fn platforms_are_os_underscore_arch() {
    assert_eq!(
        parse_platform("linux_amd64").unwrap(),
        ("linux".to_string(), "amd64".to_string())
    );
    assert_eq!(parse_platform("windows_386").unwrap().1, "386");
    for bad in [
        "linux",
        "linux-amd64",
        "_amd64",
        "linux_",
        "Linux_amd64",
        "linux_amd_64",
    ] {
        let err = parse_platform(bad).unwrap_err();
        assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn mirror_paths_follow_terraforms_packed_and_unpacked_layouts() {
    let dir = Path::new("/m");
    assert_eq!(
        mirror_path(
            dir,
            &address(),
            "1.2.3",
            "linux",
            "amd64",
            MirrorLayout::Packed
        ),
        Path::new("/m/registry.terraform.io/acme/foo/terraform-provider-foo_1.2.3_linux_amd64.zip")
    );
    assert_eq!(
        mirror_path(
            dir,
            &address(),
            "1.2.3",
            "linux",
            "amd64",
            MirrorLayout::Unpacked
        ),
        Path::new("/m/registry.terraform.io/acme/foo/1.2.3/linux_amd64")
    );
    let other = address().with_hostname("registry.opentofu.org");
    assert!(
        mirror_path(
            dir,
            &other,
            "1.0.0",
            "darwin",
            "arm64",
            MirrorLayout::Packed
        )
        .starts_with("/m/registry.opentofu.org/acme/foo")
    );
}

#[test]
fn unpacking_keeps_the_executable_bit_and_the_h1_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_at(tmp.path(), &fake_provider_zip("fake provider"));
    let dest = mirror_path(
        &tmp.path().join("mirror"),
        &address(),
        "1.2.3",
        "linux",
        "amd64",
        MirrorLayout::Unpacked,
    );
    unpack_zip_safely(&zip, &dest, DEFAULT_MAX_UNPACKED_BYTES).unwrap();
    let binary = dest.join("terraform-provider-foo_v1.2.3");
    assert_eq!(
        std::fs::read(&binary).unwrap(),
        b"#!/bin/sh\necho \"fake provider\"\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&binary), 0o755);
        assert_eq!(mode(&dest.join("README.md")), 0o644);
    }
    assert_eq!(
        h1_of_dir(&dest).unwrap(),
        "h1:iGaCH/DTQSu9YEqAqecpcVosgIckv1J7OtektpIDWMA="
    );
    let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["linux_amd64"]);
}

#[test]
fn unpacking_replaces_an_existing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    std::fs::create_dir_all(dest.join("stale")).unwrap();
    std::fs::write(dest.join("stale/file"), b"old").unwrap();
    let zip = zip_at(
        tmp.path(),
        &build_zip(&[Entry::dir("bin/"), Entry::exe("bin/x", b"x")]),
    );
    unpack_zip_safely(&zip, &dest, DEFAULT_MAX_UNPACKED_BYTES).unwrap();
    assert!(!dest.join("stale").exists());
    assert_eq!(std::fs::read(dest.join("bin/x")).unwrap(), b"x");
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn unsafe_entries_refuse_the_whole_zip_and_write_nothing() {
    let cases: [(&[Entry], &str); 5] = [
        (
            &[Entry::file("ok", b""), Entry::file("../evil", b"x")],
            "../evil",
        ),
        (&[Entry::file("a/../../evil", b"x")], "a/../../evil"),
        (&[Entry::file("/etc/evil", b"x")], "/etc/evil"),
        (&[Entry::file("a\\..\\evil", b"x")], "a\\\\..\\\\evil"),
        (&[Entry::symlink("link", "/etc/passwd")], "link"),
    ];
    for (entries, shown) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let zip = zip_at(tmp.path(), &build_zip(entries));
        let dest = tmp.path().join("out");
        let err = unpack_zip_safely(&zip, &dest, DEFAULT_MAX_UNPACKED_BYTES).unwrap_err();
        assert!(matches!(err, ProviderError::UnsafeEntry { .. }), "{err}");
        assert!(err.to_string().contains(shown), "{err}");
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the zip is left");
    }
}

#[test]
fn an_empty_zip_or_a_file_that_is_not_a_zip_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_at(tmp.path(), &build_zip(&[]));
    let err =
        unpack_zip_safely(&zip, &tmp.path().join("out"), DEFAULT_MAX_UNPACKED_BYTES).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let zip = zip_at(tmp.path(), b"junk");
    let err =
        unpack_zip_safely(&zip, &tmp.path().join("out"), DEFAULT_MAX_UNPACKED_BYTES).unwrap_err();
    assert!(matches!(err, ProviderError::NotZip { .. }), "{err}");
    assert!(!tmp.path().join("out").exists());
}

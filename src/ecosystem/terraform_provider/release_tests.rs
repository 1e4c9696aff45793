//! Reading release directories built in temporary directories: what a good release gives,
//! and each refusal with the file it names.

use std::path::Path;

use super::super::test_zip::{fake_provider_zip, shasums_line, write_tree};
use super::*;

const LINUX: &str = "terraform-provider-foo_1.2.3_linux_amd64.zip";
const DARWIN: &str = "terraform-provider-foo_1.2.3_darwin_arm64.zip";
const SUMS: &str = "terraform-provider-foo_1.2.3_SHA256SUMS";
const MANIFEST: &str = "terraform-provider-foo_1.2.3_manifest.json";

/// A goreleaser-like dist directory: two zips, a manifest, SHA256SUMS over all three, a
/// signature, and files that are not part of the release.
fn good_release() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let linux = fake_provider_zip("fake provider");
    let darwin = fake_provider_zip("fake darwin provider");
    let manifest = br#"{"version": 1, "metadata": {"protocol_versions": ["6.0", "5.0"]}}"#;
    let sums = [
        shasums_line(DARWIN, &darwin),
        shasums_line(LINUX, &linux),
        shasums_line(MANIFEST, manifest),
    ]
    .concat();
    write_tree(
        dir.path(),
        &[
            (LINUX, &linux),
            (DARWIN, &darwin),
            (MANIFEST, manifest),
            (SUMS, sums.as_bytes()),
            ("terraform-provider-foo_1.2.3_SHA256SUMS.sig", b"sig"),
            (
                "terraform-provider-foo_1.2.3_SHA256SUMS.72D7468F.sig",
                b"sig",
            ),
            ("artifacts.json", b"[]"),
            (
                "terraform-provider-foo_linux_amd64_v1/terraform-provider-foo_v1.2.3",
                b"bin",
            ),
        ],
    );
    dir
}

fn replace_sums(dir: &Path, text: &str) {
    std::fs::write(dir.join(SUMS), text).unwrap();
}

#[test]
fn a_goreleaser_release_is_read_with_hashes_and_protocols() {
    let dir = good_release();
    let release = read_release(dir.path(), "foo").unwrap();
    assert_eq!(release.provider_type, "foo");
    assert_eq!(release.version, "1.2.3");
    assert_eq!(release.protocols, ["6.0", "5.0"]);
    assert_eq!(release.shasums, dir.path().join(SUMS));
    assert!(release.shasums_sig.is_some());
    assert_eq!(release.manifest_json, Some(dir.path().join(MANIFEST)));
    let platforms: Vec<String> = release.platforms.iter().map(|p| p.platform()).collect();
    assert_eq!(platforms, ["darwin_arm64", "linux_amd64"]);
    let linux = &release.platforms[1];
    assert_eq!(linux.file_name, LINUX);
    assert_eq!(linux.h1, "h1:iGaCH/DTQSu9YEqAqecpcVosgIckv1J7OtektpIDWMA=");
    let bytes = std::fs::read(dir.path().join(LINUX)).unwrap();
    assert_eq!(linux.size, bytes.len() as u64);
    assert_eq!(
        shasums_line(LINUX, &bytes),
        format!("{}  {LINUX}\n", linux.sha256_hex)
    );
    assert_eq!(linux.zh(), format!("zh:{}", linux.sha256_hex));
    let hashes = release.lock_hashes();
    assert_eq!(hashes.len(), 4);
    assert!(hashes.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn the_type_argument_is_compared_case_insensitively() {
    let dir = good_release();
    assert!(read_release(dir.path(), "FOO").is_ok());
}

#[test]
fn a_zip_whose_sha256_differs_from_shasums_is_refused() {
    let dir = good_release();
    std::fs::write(dir.path().join(LINUX), fake_provider_zip("tampered")).unwrap();
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(
        matches!(err, ProviderError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(LINUX), "{err}");
}

#[test]
fn a_zip_named_in_shasums_but_missing_is_refused() {
    let dir = good_release();
    std::fs::remove_file(dir.path().join(DARWIN)).unwrap();
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::MissingZip { .. }), "{err}");
    assert!(err.to_string().contains(DARWIN), "{err}");
}

#[test]
fn a_zip_not_listed_in_shasums_is_refused() {
    let dir = good_release();
    let extra = "terraform-provider-foo_1.2.3_windows_386.zip";
    write_tree(dir.path(), &[(extra, &fake_provider_zip("w"))]);
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::Unlisted { .. }), "{err}");
    assert!(err.to_string().contains(extra), "{err}");
}

#[test]
fn two_versions_in_one_directory_are_refused() {
    let dir = good_release();
    write_tree(
        dir.path(),
        &[("terraform-provider-foo_1.3.0_linux_amd64.zip", b"zip")],
    );
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::MixedVersions { .. }), "{err}");
    assert!(err.to_string().contains("1.2.3, 1.3.0"), "{err}");
}

#[test]
fn two_types_in_one_directory_are_refused() {
    let dir = good_release();
    write_tree(
        dir.path(),
        &[("terraform-provider-bar_1.2.3_linux_amd64.zip", b"zip")],
    );
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::MixedTypes { .. }), "{err}");
    assert!(err.to_string().contains("bar, foo"), "{err}");
}

#[test]
fn a_type_other_than_the_argument_is_refused() {
    let dir = good_release();
    let err = read_release(dir.path(), "aws").unwrap_err();
    assert!(matches!(err, ProviderError::TypeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("`foo`, not `aws`"), "{err}");
}

#[test]
fn a_version_that_is_not_semver_is_refused() {
    for version in ["1.2", "v1.2.3", "01.2.3"] {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("terraform-provider-foo_{version}_linux_amd64.zip");
        write_tree(dir.path(), &[(name.as_str(), b"zip")]);
        let err = read_release(dir.path(), "foo").unwrap_err();
        assert!(matches!(err, ProviderError::InvalidVersion { .. }), "{err}");
        assert!(err.to_string().contains(&name), "{err}");
    }
}

#[test]
fn a_directory_without_zips_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("artifacts.json", b"[]")]);
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::NoZips { .. }), "{err}");
    write_tree(dir.path(), &[(SUMS, b"")]);
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::NoZips { .. }), "{err}");
}

#[test]
fn a_release_without_shasums_is_refused() {
    let dir = good_release();
    std::fs::remove_file(dir.path().join(SUMS)).unwrap();
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::MissingShasums { .. }), "{err}");
    assert!(err.to_string().contains(SUMS), "{err}");
}

#[test]
fn malformed_shasums_lines_are_refused_with_their_line_number() {
    let dir = good_release();
    let linux = std::fs::read(dir.path().join(LINUX)).unwrap();
    let cases = [
        (
            format!("{}not-hex  {LINUX}\n", shasums_line(DARWIN, b"")),
            "line 2",
        ),
        (shasums_line(&format!("*{LINUX}"), &linux), "binary mode"),
        ("abc\n".to_string(), "line 1"),
    ];
    for (text, expected) in cases {
        replace_sums(dir.path(), &text);
        let err = read_release(dir.path(), "foo").unwrap_err();
        assert!(matches!(err, ProviderError::InvalidShasums { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn a_binary_mode_shasums_line_is_refused_with_a_hint_to_regenerate_it() {
    use crate::error::Diagnostic;
    let dir = good_release();
    let linux = std::fs::read(dir.path().join(LINUX)).unwrap();
    replace_sums(dir.path(), &shasums_line(&format!("*{LINUX}"), &linux));
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "line 1: the file name starts with `*` (sha256sum's binary mode), which Terraform \
             does not read; expected `<64 hex digits>  <file name>` lines as `sha256sum` writes \
             them"
        ),
        "{err}"
    );
    assert_eq!(
        err.hints(),
        ["regenerate it with plain `sha256sum` (not `sha256sum -b`)"]
    );
}

#[test]
fn uppercase_hex_and_blank_lines_in_shasums_are_accepted() {
    let dir = good_release();
    let text = std::fs::read_to_string(dir.path().join(SUMS)).unwrap();
    let (hex, rest) = text.split_at(64);
    replace_sums(dir.path(), &format!("\n{}{rest}\n\n", hex.to_uppercase()));
    assert!(read_release(dir.path(), "foo").is_ok());
}

#[test]
fn a_manifest_that_does_not_match_shasums_or_is_not_json_is_refused() {
    let dir = good_release();
    std::fs::write(dir.path().join(MANIFEST), b"{}").unwrap();
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(
        matches!(err, ProviderError::ChecksumMismatch { .. }),
        "{err}"
    );

    let dir = good_release();
    let text = std::fs::read_to_string(dir.path().join(SUMS)).unwrap();
    let without_manifest: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    replace_sums(dir.path(), &without_manifest);
    for (manifest, ok) in [
        (&br#"{"version": 1}"#[..], true),
        (br#"{"metadata": {"protocol_versions": [5]}}"#, false),
        (br#"{"metadata": {"protocol_versions": ["v5"]}}"#, false),
        (b"[1]", false),
        (b"{", false),
    ] {
        std::fs::write(dir.path().join(MANIFEST), manifest).unwrap();
        match read_release(dir.path(), "foo") {
            Ok(release) => {
                assert!(ok, "{}", String::from_utf8_lossy(manifest));
                assert!(release.protocols.is_empty());
            }
            Err(err) => {
                assert!(!ok, "{err}");
                assert!(
                    matches!(err, ProviderError::InvalidManifest { .. }),
                    "{err}"
                );
            }
        }
    }
}

#[test]
fn a_listed_zip_that_is_not_a_zip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (LINUX, b"not a zip"),
            (SUMS, shasums_line(LINUX, b"not a zip").as_bytes()),
        ],
    );
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::NotZip { .. }), "{err}");
}

#[test]
fn a_zip_name_without_a_platform_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("terraform-provider-foo_1.2.3.zip", b"zip")]);
    let err = read_release(dir.path(), "foo").unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidFileName { .. }),
        "{err}"
    );
}

#[test]
fn a_path_that_is_not_a_directory_is_refused() {
    let dir = good_release();
    let err = read_release(&dir.path().join(LINUX), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::NotADirectory { .. }), "{err}");
    let err = read_release(&dir.path().join("nope"), "foo").unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
}

#[test]
fn file_names_are_built_as_goreleaser_writes_them() {
    assert_eq!(zip_file_name("foo", "1.2.3", "linux", "amd64"), LINUX);
    assert_eq!(shasums_file_name("foo", "1.2.3"), SUMS);
    assert_eq!(
        shasums_sig_file_name("foo", "1.2.3"),
        "terraform-provider-foo_1.2.3_SHA256SUMS.sig"
    );
    assert_eq!(manifest_file_name("foo", "1.2.3"), MANIFEST);
}

#[test]
fn a_shasums_file_over_one_mib_is_refused_naming_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("SHA256SUMS");
    std::fs::write(&path, vec![b'\n'; (1 << 20) + 1]).unwrap();
    let err = read_shasums(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is larger than 1 MiB, the most opp reads of a SHA256SUMS file; this is not a \
             provider release file",
            path.display()
        )
    );
}

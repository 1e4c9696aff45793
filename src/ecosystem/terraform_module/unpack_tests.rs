//! What `unpack_zip` and `check_zip` promise: a hostile or broken zip is refused before anything
//! is written, a destination is only ever replaced by a complete module, and nothing is left
//! behind on error.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use super::test_support::*;
use super::*;

fn unpack(zip: &[u8], dest: &Path, replace: bool) -> Result<UnpackStats, ModuleError> {
    unpack_zip(Cursor::new(zip), dest, replace)
}

/// Unpacks `zip` into `<tmp>/out/module`, expects an error, and checks `<tmp>/out` was not
/// created (nor anything in it).
fn refused(zip: &[u8]) -> ModuleError {
    let tmp = tempfile::tempdir().unwrap();
    let err = unpack(zip, &tmp.path().join("out/module"), false).unwrap_err();
    assert_eq!(listing(tmp.path()), Vec::<String>::new(), "left behind");
    err
}

fn check(zip: &[u8]) -> Result<ZipStats, ModuleError> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("module.zip");
    fs::write(&path, zip).unwrap();
    check_zip(&path)
}

#[test]
fn unpacking_writes_the_files_and_keeps_the_executable_bit() {
    let zip = zip_of(&[
        Item::File("main.tf", b"# main\n", 0o644),
        Item::Dir("scripts/"),
        Item::File("scripts/run.sh", b"#!/bin/sh\n", 0o755),
        Item::File("./modules/net/main.tf", b"", 0o600),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("a/b/module");
    let stats = unpack(&zip, &dest, false).unwrap();
    assert_eq!(
        stats,
        UnpackStats {
            files: 3,
            bytes: 17,
            symlinks: 0
        }
    );
    assert_eq!(
        fs::read_to_string(dest.join("main.tf")).unwrap(),
        "# main\n"
    );
    assert!(dest.join("modules/net/main.tf").is_file());
    assert_eq!(
        listing(&tmp.path().join("a/b")),
        ["module"],
        "no staging left"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode_of(&dest.join("scripts/run.sh")) & 0o100, 0o100);
        assert_eq!(mode_of(&dest.join("main.tf")) & 0o111, 0);
        assert_eq!(mode_of(&dest.join("modules/net/main.tf")) & 0o111, 0);
    }
}

#[test]
fn a_parent_dir_entry_is_refused_and_nothing_is_written() {
    let zip = zip_of(&[
        Item::File("main.tf", b"", 0o644),
        Item::File("../x", b"escaped", 0o644),
    ]);
    let err = refused(&zip);
    assert!(
        matches!(&err, ModuleError::UnsafeEntry { entry, reason: UnsafeReason::ParentDir, .. } if entry == "../x"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`../x`"), "{err}");
}

#[test]
fn absolute_drive_letter_and_backslash_entries_are_refused() {
    for (name, reason) in [
        ("/etc/cron.d/x", UnsafeReason::Absolute),
        ("C:/x", UnsafeReason::DriveLetter),
        ("a\\..\\..\\x", UnsafeReason::Backslash),
    ] {
        let zip = zip_of(&[
            Item::File("main.tf", b"", 0o644),
            Item::File(name, b"", 0o644),
        ]);
        let err = refused(&zip);
        assert!(
            matches!(&err, ModuleError::UnsafeEntry { reason: r, .. } if *r == reason),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn a_symlink_escaping_the_destination_is_refused() {
    for target in ["../../etc", "/etc/passwd", "a/../../x"] {
        let zip = zip_of(&[Item::File("main.tf", b"", 0o644), Item::Link("l", target)]);
        let err = refused(&zip);
        assert!(
            matches!(err, ModuleError::SymlinkEscapes { .. }),
            "{target}: {err:?}"
        );
    }
}

#[test]
fn a_symlink_escaping_through_another_symlink_is_caught_on_disk() {
    // Each target stays inside when read alone; `l` escapes because `x` leads to the root.
    let zip = zip_of(&[
        Item::File("main.tf", b"", 0o644),
        Item::Dir("sub/"),
        Item::Link("sub/deep", ".."),
        Item::Link("x", "sub/deep"),
        Item::Link("l", "x/.."),
    ]);
    let err = refused(&zip);
    assert!(
        matches!(&err, ModuleError::SymlinkEscapes { entry, .. } if entry == "l"),
        "{err:?}"
    );
}

#[test]
fn an_entry_under_a_symlink_entry_is_refused() {
    let zip = zip_of(&[
        Item::Link("d", "sub"),
        Item::File("sub/main.tf", b"", 0o644),
        Item::File("d/x.tf", b"", 0o644),
    ]);
    let err = refused(&zip);
    assert!(
        matches!(
            &err,
            ModuleError::UnsafeEntry {
                reason: UnsafeReason::UnderSymlink,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_dangling_symlink_entry_is_refused() {
    let zip = zip_of(&[
        Item::File("main.tf", b"", 0o644),
        Item::Link("l", "gone.tf"),
    ]);
    let err = refused(&zip);
    assert!(matches!(err, ModuleError::SymlinkBroken { .. }), "{err:?}");
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_the_module_is_created() {
    let zip = zip_of(&[
        Item::File("shared/versions.tf", b"terraform {}\n", 0o644),
        Item::Link("versions.tf", "shared/versions.tf"),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("module");
    let stats = unpack(&zip, &dest, false).unwrap();
    assert_eq!(stats.symlinks, 1);
    let link = dest.join("versions.tf");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(link).unwrap(), "terraform {}\n");
}

#[test]
fn duplicate_entries_are_refused() {
    let zip = zip_of(&[
        Item::File("main.tf", b"a", 0o644),
        Item::File("./main.tf", b"b", 0o644),
    ]);
    let err = refused(&zip);
    assert!(matches!(err, ModuleError::DuplicateEntry { .. }), "{err:?}");
}

#[test]
fn a_zip_without_files_is_refused() {
    let err = refused(&zip_of(&[Item::Dir("empty/")]));
    assert!(matches!(err, ModuleError::EmptyZip { .. }), "{err:?}");
}

#[test]
fn bytes_that_are_not_a_zip_are_refused() {
    let err = refused(b"terraform {}\n");
    assert!(matches!(err, ModuleError::NotZip { .. }), "{err:?}");
}

#[test]
fn a_non_empty_destination_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("module");
    write_tree(&dest, &[("old.tf", "old")]);
    let zip = zip_of(&[Item::File("main.tf", b"new", 0o644)]);
    let err = unpack(&zip, &dest, false).unwrap_err();
    assert!(
        matches!(err, ModuleError::DestinationNotEmpty { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("module"), "{err}");
    assert_eq!(listing(tmp.path()), ["module"]);
    assert_eq!(listing(&dest), ["old.tf"]);
}

#[test]
fn replace_swaps_in_the_new_module_only_when_it_is_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("module");
    write_tree(&dest, &[("old.tf", "old")]);

    let bad = zip_of(&[
        Item::File("main.tf", b"", 0o644),
        Item::File("../x", b"", 0o644),
    ]);
    unpack(&bad, &dest, true).unwrap_err();
    assert_eq!(
        listing(&dest),
        ["old.tf"],
        "a failed replace keeps the old module"
    );

    let good = zip_of(&[Item::File("main.tf", b"new", 0o644)]);
    unpack(&good, &dest, true).unwrap();
    assert_eq!(listing(&dest), ["main.tf"]);
    assert_eq!(
        listing(tmp.path()),
        ["module"],
        "the old module and staging are gone"
    );
}

#[test]
fn an_empty_existing_directory_is_filled() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("module");
    fs::create_dir(&dest).unwrap();
    unpack(&zip_of(&[Item::File("main.tf", b"", 0o644)]), &dest, false).unwrap();
    assert_eq!(listing(&dest), ["main.tf"]);
}

#[test]
fn a_file_as_destination_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("module");
    fs::write(&dest, "").unwrap();
    let zip = zip_of(&[Item::File("main.tf", b"", 0o644)]);
    let err = unpack(&zip, &dest, true).unwrap_err();
    assert!(matches!(err, ModuleError::BadDestination { .. }), "{err:?}");
    assert_eq!(fs::read(&dest).unwrap(), b"");
}

#[test]
fn check_zip_counts_the_files_of_a_good_zip() {
    let zip = zip_of(&[
        Item::Dir("modules/"),
        Item::File("main.tf", b"abc", 0o644),
        Item::File("modules/x.tf", b"de", 0o644),
    ]);
    assert_eq!(check(&zip).unwrap(), ZipStats { files: 2, bytes: 5 });
}

#[test]
fn check_zip_refuses_parent_dir_and_absolute_entries() {
    let zip = zip_of(&[
        Item::File("main.tf", b"", 0o644),
        Item::File("../x", b"", 0o644),
    ]);
    let err = check(&zip).unwrap_err();
    assert!(matches!(err, ModuleError::UnsafeEntry { .. }), "{err:?}");
    assert!(err.to_string().contains("module.zip"), "{err}");
    let zip = zip_of(&[Item::File("/abs.tf", b"", 0o644)]);
    assert!(matches!(
        check(&zip).unwrap_err(),
        ModuleError::UnsafeEntry {
            reason: UnsafeReason::Absolute,
            ..
        }
    ));
}

#[test]
fn check_zip_refuses_symlink_entries_which_opentofu_would_not_recreate() {
    let zip = zip_of(&[
        Item::File("shared.tf", b"", 0o644),
        Item::Link("link.tf", "shared.tf"),
    ]);
    let err = check(&zip).unwrap_err();
    assert!(matches!(err, ModuleError::SymlinkEntry { .. }), "{err:?}");
    let zip = zip_of(&[
        Item::File("main.tf", b"", 0o644),
        Item::Link("l", "../../etc"),
    ]);
    let err = check(&zip).unwrap_err();
    assert!(matches!(err, ModuleError::SymlinkEscapes { .. }), "{err:?}");
}

#[test]
fn check_zip_refuses_a_damaged_zip() {
    let mut zip = zip_of(&[Item::File("main.tf", b"resource {}", 0o644)]);
    // The stored data begins after the 30-byte local header and the 7-byte name.
    zip[37] ^= 0xff;
    let err = check(&zip).unwrap_err();
    assert!(matches!(err, ModuleError::CorruptEntry { .. }), "{err:?}");
}

#[test]
fn check_zip_names_a_missing_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let err = check_zip(&tmp.path().join("gone.zip")).unwrap_err();
    assert!(matches!(err, ModuleError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("gone.zip"), "{err}");
}

/// A zip of one deflated file of `size` zeros whose headers declare `declared` bytes instead.
fn lying_zip(size: usize, declared: u32) -> Vec<u8> {
    let mut zip = zip_of(&[Item::File("main.tf", &vec![0u8; size], 0o644)]);
    // Patch the uncompressed size in the local header (offset 22) and the central directory
    // header (offset 24); the compressed data stays as it is.
    let patch = |zip: &mut Vec<u8>, signature: [u8; 4], offset: usize| {
        let at = zip
            .windows(4)
            .position(|w| w == signature)
            .expect("header present");
        zip[at + offset..at + offset + 4].copy_from_slice(&declared.to_le_bytes());
    };
    patch(&mut zip, [0x50, 0x4b, 0x03, 0x04], 22);
    patch(&mut zip, [0x50, 0x4b, 0x01, 0x02], 24);
    zip
}

#[test]
fn a_zip_whose_declared_sizes_pass_the_limit_is_refused_before_writing() {
    let zip = zip_of(&[Item::File("main.tf", &[0u8; 4096], 0o644)]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out/module");
    let err = unpack_zip_limited(Cursor::new(zip), "the bomb", &dest, false, 1024).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the bomb unpacks to more than 1 KiB (`main.tf` reached it); refusing it, nothing was \
         written"
    );
    assert_eq!(
        crate::error::Diagnostic::hints(&err),
        ["if the module really is this large, raise the limit with --max-unpacked-size"]
    );
    assert_eq!(listing(tmp.path()), Vec::<String>::new(), "left behind");
}

/// The zip crate stops reading an entry at its declared size (a damaged entry); the budget
/// counting bytes written is the second line, should that ever change.
#[test]
fn a_zip_that_lies_about_its_sizes_is_refused_and_nothing_is_left() {
    let zip = lying_zip(1 << 20, 10);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out/module");
    let err =
        unpack_zip_limited(Cursor::new(zip), "the bomb", &dest, false, 64 * 1024).unwrap_err();
    assert!(
        matches!(
            &err,
            ModuleError::UnpackLimit { .. } | ModuleError::CorruptEntry { .. }
        ),
        "{err}"
    );
    assert_eq!(listing(tmp.path()), Vec::<String>::new(), "left behind");
}

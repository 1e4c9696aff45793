//! What `zip_dir` promises: the same tree gives the same bytes, the zip holds the module's files
//! and nothing else, and a tree it cannot pack safely is an error naming the path.

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, SystemTime};

use zip::{DateTime, ZipArchive};

use super::test_support::*;
use super::*;

const MODULE: &[(&str, &str)] = &[
    ("main.tf", "resource \"null_resource\" \"x\" {}\n"),
    ("variables.tf", "variable \"name\" {}\n"),
    ("modules/net/main.tf", "output \"id\" { value = 1 }\n"),
    ("modules/net/README.md", "# net\n"),
    ("scripts/run.sh", "#!/bin/sh\necho hi\n"),
    (".terraform.lock.hcl", "# lock\n"),
];

fn zip_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    zip_dir(dir, &mut out).unwrap();
    out.into_inner()
}

fn zip_err(dir: &Path) -> ModuleError {
    zip_dir(dir, Cursor::new(Vec::new())).unwrap_err()
}

#[test]
fn zipping_the_same_tree_twice_gives_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    write_tree(tmp.path(), MODULE);
    assert_eq!(zip_bytes(tmp.path()), zip_bytes(tmp.path()));
}

#[test]
fn a_copy_with_other_times_creation_order_and_read_bits_gives_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_tree(&a, MODULE);
    let reversed: Vec<_> = MODULE.iter().rev().copied().collect();
    write_tree(&b, &reversed);
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for (path, _) in MODULE {
        let file = fs::File::options().write(true).open(b.join(path)).unwrap();
        file.set_modified(old).unwrap();
    }
    #[cfg(unix)]
    {
        set_mode(&a.join("scripts/run.sh"), 0o755);
        set_mode(&b.join("scripts/run.sh"), 0o700);
        set_mode(&b.join("main.tf"), 0o600);
    }
    assert_eq!(zip_bytes(&a), zip_bytes(&b));
}

#[test]
fn entries_are_sorted_files_only_with_the_zip_epoch_and_fixed_modes() {
    let tmp = tempfile::tempdir().unwrap();
    write_tree(tmp.path(), MODULE);
    fs::create_dir(tmp.path().join("empty")).unwrap();
    #[cfg(unix)]
    set_mode(&tmp.path().join("scripts/run.sh"), 0o744);
    let mut out = Cursor::new(Vec::new());
    let stats = zip_dir(tmp.path(), &mut out).unwrap();
    let bytes = out.into_inner();
    assert_eq!(
        names_in(&bytes),
        [
            ".terraform.lock.hcl",
            "main.tf",
            "modules/net/README.md",
            "modules/net/main.tf",
            "scripts/run.sh",
            "variables.tf",
        ]
    );
    let total: usize = MODULE.iter().map(|(_, c)| c.len()).sum();
    assert_eq!(
        stats,
        ZipStats {
            files: 6,
            bytes: total as u64
        }
    );
    let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    for i in 0..archive.len() {
        let file = archive.by_index(i).unwrap();
        assert_eq!(
            file.last_modified(),
            Some(DateTime::DEFAULT),
            "{}",
            file.name().unwrap()
        );
        assert!(
            file.extra_data().is_none_or(|d| d.is_empty()),
            "no extra fields"
        );
        let expected = if cfg!(unix) && file.name().unwrap() == "scripts/run.sh" {
            0o100_755
        } else {
            0o100_644
        };
        assert_eq!(file.unix_mode(), Some(expected), "{}", file.name().unwrap());
    }
}

#[test]
fn terraform_and_git_are_left_out_at_any_depth() {
    let tmp = tempfile::tempdir().unwrap();
    write_tree(
        tmp.path(),
        &[
            ("main.tf", ""),
            (".terraform/modules/modules.json", "{}"),
            (".git/HEAD", "ref: refs/heads/main\n"),
            ("modules/net/.terraform/providers/x", "binary"),
            ("modules/net/.git", "gitdir: ../../.git/modules/net\n"),
            ("modules/net/main.tf", ""),
            (".terraform.lock.hcl", ""),
            (".gitignore", ".terraform/\n"),
        ],
    );
    assert_eq!(
        names_in(&zip_bytes(tmp.path())),
        [
            ".gitignore",
            ".terraform.lock.hcl",
            "main.tf",
            "modules/net/main.tf"
        ]
    );
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-module");
    let err = zip_err(&missing);
    assert!(matches!(err, ModuleError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-module"), "{err}");
}

#[test]
fn a_module_with_only_excluded_files_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    write_tree(tmp.path(), &[(".git/HEAD", ""), (".terraform/x", "")]);
    let err = zip_err(tmp.path());
    assert!(matches!(err, ModuleError::EmptyModule { .. }), "{err:?}");
}

#[cfg(unix)]
mod symlinks {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn a_symlinked_file_inside_the_module_is_stored_as_a_copy() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), &[("shared/versions.tf", "terraform {}\n")]);
        set_mode(&tmp.path().join("shared/versions.tf"), 0o755);
        symlink("shared/versions.tf", tmp.path().join("versions.tf")).unwrap();
        let bytes = zip_bytes(tmp.path());
        let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
        let mut file = archive.by_name("versions.tf").unwrap();
        assert_eq!(file.unix_mode(), Some(0o100_755), "the target's exec bit");
        let mut content = String::new();
        std::io::Read::read_to_string(&mut file, &mut content).unwrap();
        assert_eq!(content, "terraform {}\n");
    }

    #[test]
    fn a_symlink_out_of_the_module_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let module = tmp.path().join("module");
        write_tree(&module, &[("main.tf", "")]);
        write_tree(tmp.path(), &[("secret.txt", "secret")]);
        symlink("../secret.txt", module.join("leak.tf")).unwrap();
        let err = zip_err(&module);
        assert!(matches!(err, ModuleError::SymlinkOutside { .. }), "{err:?}");
        assert!(err.to_string().contains("leak.tf"), "{err}");
    }

    #[test]
    fn a_symlink_to_a_directory_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), &[("main.tf", "")]);
        symlink(".", tmp.path().join("loop")).unwrap();
        let err = zip_err(tmp.path());
        assert!(
            matches!(err, ModuleError::SymlinkToDirectory { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_dangling_symlink_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), &[("main.tf", "")]);
        symlink("gone.tf", tmp.path().join("link.tf")).unwrap();
        let err = zip_err(tmp.path());
        assert!(
            matches!(err, ModuleError::DanglingSymlink { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_symlinked_module_directory_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        write_tree(&real, MODULE);
        symlink(&real, tmp.path().join("alias")).unwrap();
        assert_eq!(zip_bytes(&tmp.path().join("alias")), zip_bytes(&real));
    }
}

#[test]
fn what_zip_dir_writes_passes_check_zip_and_unpacks_to_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("module");
    write_tree(&module, MODULE);
    #[cfg(unix)]
    set_mode(&module.join("scripts/run.sh"), 0o755);
    let zip_path = tmp.path().join("module.zip");
    let packed = zip_dir(&module, fs::File::create(&zip_path).unwrap()).unwrap();
    assert_eq!(check_zip(&zip_path).unwrap(), packed);

    let dest = tmp.path().join("pulled");
    let stats = unpack_zip(fs::File::open(&zip_path).unwrap(), &dest, false).unwrap();
    assert_eq!((stats.files, stats.bytes), (packed.files, packed.bytes));
    for (path, content) in MODULE {
        assert_eq!(
            fs::read_to_string(dest.join(path)).unwrap(),
            *content,
            "{path}"
        );
    }
    #[cfg(unix)]
    {
        assert_eq!(mode_of(&dest.join("scripts/run.sh")) & 0o100, 0o100);
        assert_eq!(mode_of(&dest.join("main.tf")) & 0o111, 0);
    }
}

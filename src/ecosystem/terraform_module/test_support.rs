//! Test fixtures for module zips: zips built in memory with any entry names, modes and
//! symlinks (including the hostile ones a real tool would not write), and module trees on disk.

use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{ZipArchive, ZipWriter};

/// One entry of a zip built for a test.
pub(super) enum Item<'a> {
    /// A file with its content and Unix permission bits.
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    /// A symlink entry: name, target.
    Link(&'a str, &'a str),
}

/// A zip holding `items`, in that order, names written exactly as given.
pub(super) fn zip_of(items: &[Item]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    for item in items {
        match item {
            Item::File(name, content, mode) => {
                zip.start_file(*name, options.unix_permissions(*mode))
                    .unwrap();
                zip.write_all(content).unwrap();
            }
            Item::Dir(name) => zip.add_directory(*name, options).unwrap(),
            Item::Link(name, target) => zip.add_symlink(*name, *target, options).unwrap(),
        }
    }
    zip.finish().unwrap().into_inner()
}

/// Writes `files` (relative path, content) under `root`, creating directories.
pub(super) fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

#[cfg(unix)]
pub(super) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
pub(super) fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The entry names of a zip, in stored order.
pub(super) fn names_in(zip: &[u8]) -> Vec<String> {
    let archive = ZipArchive::new(Cursor::new(zip)).unwrap();
    archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect()
}

/// The names directly in `dir`, sorted (to see what an operation left behind).
pub(super) fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

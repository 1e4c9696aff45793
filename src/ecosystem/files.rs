//! Finding package files in the paths a user gives, the same way for every ecosystem: files
//! are taken as given, directories are scanned (not recursively) for the ecosystem's file
//! names, in name order, and a path listed twice is returned once. What a package file is,
//! and what to tell the user when none is found, stays with each ecosystem. A given path that
//! is neither a directory nor a regular file (a FIFO, a socket, a device) is refused before it
//! is opened: reading a FIFO would wait forever for a writer.

use std::path::{Path, PathBuf};

/// Why no list of files could be made, or a file not opened; each ecosystem turns it into its
/// own error.
#[derive(Debug)]
pub enum DiscoverError {
    /// A given path does not exist.
    NotFound(PathBuf),
    /// A given path or a directory entry could not be read.
    Io(PathBuf, std::io::Error),
    /// A given directory holds no package file.
    Empty(PathBuf),
    /// A given path is not a regular file (nor a directory).
    NotRegular(PathBuf),
}

/// The hint for a given path that is not a regular file, in every ecosystem.
pub const GIVE_THE_FILE: &str = "give the package file itself";
/// The hint for a given path that does not exist, in every ecosystem.
pub const CHECK_THE_PATH: &str = "check the path";

/// Opens one package file for reading, with its size. Anything but a regular file (or a link
/// to one) is refused without being opened.
pub fn open(path: &Path) -> Result<(std::fs::File, u64), DiscoverError> {
    let io_error = |source| DiscoverError::Io(path.to_path_buf(), source);
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return Err(DiscoverError::NotRegular(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DiscoverError::NotFound(path.to_path_buf()));
        }
        Err(e) => return Err(io_error(e)),
        Ok(_) => {}
    }
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DiscoverError::NotFound(path.to_path_buf()),
        _ => io_error(e),
    })?;
    let size = file.metadata().map_err(io_error)?.len();
    Ok((file, size))
}

/// The topmost directory of `dir` (or `dir` itself) that does not exist yet: what a command
/// that creates `dir` removes again when it fails.
pub fn topmost_missing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf)
}

/// The package files in `paths`; `is_package` tells a package file by its name.
pub fn discover(
    paths: &[PathBuf],
    is_package: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut push = |path: PathBuf| {
        if !found.contains(&path) {
            found.push(path);
        }
    };
    for path in paths {
        let io_error = |source| DiscoverError::Io(path.clone(), source);
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DiscoverError::NotFound(path.clone()));
            }
            Err(e) => return Err(io_error(e)),
        };
        if meta.is_file() {
            push(path.clone());
            continue;
        }
        if !meta.is_dir() {
            return Err(DiscoverError::NotRegular(path.clone()));
        }
        let mut in_dir = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let matches = entry.file_name().to_str().is_some_and(&is_package);
            if matches && entry.path().is_file() {
                in_dir.push(entry.path());
            }
        }
        if in_dir.is_empty() {
            return Err(DiscoverError::Empty(path.clone()));
        }
        in_dir.sort();
        in_dir.into_iter().for_each(&mut push);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_as_given_directories_scanned_in_order_duplicates_once() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.gem", "a.gem", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.gem")).unwrap();
        let given = dir.path().join("notes.txt");
        let found = discover(
            &[
                given.clone(),
                dir.path().to_path_buf(),
                dir.path().join("a.gem"),
            ],
            |n| n.ends_with(".gem"),
        )
        .unwrap();
        assert_eq!(
            found,
            vec![given, dir.path().join("a.gem"), dir.path().join("b.gem")]
        );
    }

    #[test]
    fn a_missing_path_and_an_empty_directory_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            discover(std::slice::from_ref(&missing), |_| true),
            Err(DiscoverError::NotFound(p)) if p == missing
        ));
        assert!(matches!(
            discover(&[dir.path().to_path_buf()], |_| true),
            Err(DiscoverError::Empty(p)) if p == dir.path()
        ));
    }

    #[test]
    fn the_topmost_missing_directory_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        assert_eq!(topmost_missing(&deep), Some(dir.path().join("a")));
        assert_eq!(topmost_missing(dir.path()), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("a.gem");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "mkfifo (coreutils) is needed"
        );
        assert!(matches!(
            discover(std::slice::from_ref(&fifo), |_| true),
            Err(DiscoverError::NotRegular(p)) if p == fifo
        ));
        assert!(matches!(open(&fifo), Err(DiscoverError::NotRegular(p)) if p == fifo));
        // Scanning a directory skips it (only regular files are package files).
        assert!(matches!(
            discover(&[dir.path().to_path_buf()], |_| true),
            Err(DiscoverError::Empty(_))
        ));
    }
}

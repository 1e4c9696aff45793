//! The temporary files blobs stream into (`blobs/sha256/.upload.*`), and the removal of
//! those that an opp killed mid-upload left behind (a SIGKILL, a power cut: no destructor
//! runs, and the file can be as large as the package).
//!
//! A writer holds an exclusive advisory lock on its upload file for as long as it writes
//! (`File::lock`: `flock` on Unix, `LockFileEx` on Windows), and the lock goes when the file
//! is closed, also when the process dies. The reaper removes only the upload files whose lock
//! it can take, so a file that a running opp, in this process or another, is writing is never
//! touched; it needs no clock and no guess of how long an upload may take.

use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::path::Path;

use tempfile::NamedTempFile;

use super::files::io_error;
use crate::store::Result;

/// The name every upload file starts with.
pub(super) const PREFIX: &str = ".upload.";

/// How often a writer tries again when a reaper removed its new file before it locked it.
const ATTEMPTS: usize = 5;

/// A new upload file in `dir`, locked by this process until it is closed (persisted or
/// dropped).
pub(super) fn create(dir: &Path) -> Result<NamedTempFile> {
    for _ in 0..ATTEMPTS {
        let tmp = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempfile_in(dir)
            .map_err(io_error("cannot create a temporary file in", dir))?;
        match tmp.as_file().lock() {
            Ok(()) => {}
            // No advisory locks here: a reaper cannot lock the file either, so it leaves it.
            Err(e) if e.kind() == ErrorKind::Unsupported => return Ok(tmp),
            Err(e) => return Err(io_error("cannot lock", tmp.path())(e)),
        }
        // Between its creation and our lock a reaper may have locked and removed the file;
        // the lock we now hold is then on a file no longer in the directory.
        if tmp.path().exists() {
            return Ok(tmp);
        }
    }
    Err(io_error("cannot create a temporary file in", dir)(
        io::Error::other("each new file was removed before it could be locked"),
    ))
}

/// Removes every upload file in `dir` that no process holds locked, and returns how many it
/// removed. Best effort: a file it cannot open, lock or remove is left for a later pass.
pub(super) fn reap(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0; // no blob directory yet: nothing to reap
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_upload = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(PREFIX));
        if !is_upload {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        // Held (WouldBlock) means a live writer; any other failure means we cannot tell.
        if file.try_lock().is_ok() && fs::remove_file(&path).is_ok() {
            tracing::debug!(
                "removed {}, left by an upload that did not finish",
                path.display()
            );
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_upload_file_is_kept_and_an_abandoned_one_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let live = create(dir.path()).unwrap();
        // What a killed writer leaves: an upload file nobody holds.
        let abandoned = dir.path().join(format!("{PREFIX}abandoned"));
        fs::write(&abandoned, b"half a blob").unwrap();
        let other = dir.path().join("0123abcd");
        fs::write(&other, b"a blob").unwrap();

        assert_eq!(reap(dir.path()), 1);
        assert!(live.path().exists());
        assert!(!abandoned.exists());
        assert!(other.exists());

        let path = live.path().to_owned();
        drop(live);
        assert!(!path.exists());
    }
}

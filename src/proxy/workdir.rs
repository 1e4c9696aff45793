//! The proxy's private temporary directory (`$TMPDIR/opp-proxy.XXXXXX`), where the child's
//! configuration (with the per-run secret), the CA bundle, uploads in flight and verified
//! blob copies live: created readable by its owner only, every file in it written so too
//! ([`write_private`], [`create_private_dirs`]), and removed when the proxy ends.
//!
//! A proxy killed with SIGKILL cannot remove its directory, so each one marks its own as a
//! live proxy's: it holds an exclusive lock (`File::try_lock`: `flock` on Unix, `LockFileEx`
//! on Windows) on `opp-proxy.lock` inside it for as long as it runs, and the operating system
//! drops the lock when the process dies, however it dies. [`reap`], run when a proxy
//! starts, removes the directories whose lock it can take: those of proxies no longer
//! running. A directory without the lock file (another program's, or one being created) is
//! never touched. The lock file gets its name only once locked, so no proxy ever sees a
//! running proxy's lock free.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name every proxy directory starts with.
pub const PREFIX: &str = "opp-proxy.";
/// The lock file a running proxy holds.
pub const LOCK_FILE: &str = "opp-proxy.lock";

#[derive(Debug, thiserror::Error)]
pub enum WorkDirError {
    #[error("cannot create the proxy's temporary directory in {}", parent.display())]
    Create {
        parent: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running proxy's directory, locked as its own until [`WorkDir::close`] or drop.
pub struct WorkDir {
    dir: tempfile::TempDir,
    lock: File,
}

impl WorkDir {
    /// A new directory in `parent` (owner-only on Unix), locked as this process's.
    pub fn create_in(parent: &Path) -> Result<WorkDir, WorkDirError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(PREFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder
            .tempdir_in(parent)
            .map_err(|source| WorkDirError::Create {
                parent: parent.to_owned(),
                source,
            })?;
        let staging = dir.path().join(format!("{LOCK_FILE}.new"));
        let final_path = dir.path().join(LOCK_FILE);
        let lock_err = |source| WorkDirError::Lock {
            path: final_path.clone(),
            source,
        };
        let mut lock = private_options()
            .create_new(true)
            .open(&staging)
            .map_err(lock_err)?;
        lock.try_lock().map_err(|e| lock_err(e.into()))?;
        // Informative only: which process holds it.
        let _ = writeln!(lock, "{}", std::process::id());
        std::fs::rename(&staging, &final_path).map_err(lock_err)?;
        Ok(WorkDir { dir, lock })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Removes the directory and everything in it.
    pub fn close(self) -> std::io::Result<()> {
        // Released first: Windows cannot remove a file open in this process.
        let _ = self.lock.unlock();
        drop(self.lock);
        self.dir.close()
    }
}

/// Removes the directories in `parent` left by proxies that no longer run (their lock is
/// free), and returns them. Anything it cannot read or lock is left alone.
pub fn reap(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) || !is_own_dir(&path) {
            continue;
        }
        // A directory without the lock file is not a proxy's, or is still being created.
        let Ok(lock) = File::open(path.join(LOCK_FILE)) else {
            continue;
        };
        if lock.try_lock().is_err() {
            continue; // held: that proxy runs
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed.push(path),
            Err(e) => tracing::debug!("cannot remove {}: {e}", path.display()),
        }
    }
    removed
}

/// A directory (not a link to one) owned by this user.
fn is_own_dir(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return false;
        }
    }
    meta.is_dir()
}

/// Options for a new file readable and writable by its owner only (on Unix; elsewhere the
/// directory's own protection applies).
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Writes `bytes` to `path` (replacing it), readable by its owner only: mode 0600 on Unix,
/// also when the file existed with a wider mode.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = private_options().create(true).truncate(true).open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}

/// Creates `dir` and its missing parents, each new one owner-only (mode 0700 on Unix).
pub fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_directory_stays_and_a_dead_ones_goes() {
        let parent = tempfile::tempdir().expect("temp dir");
        let live = WorkDir::create_in(parent.path()).expect("live");
        let dead = WorkDir::create_in(parent.path()).expect("dead");
        let dead_path = dead.path().to_owned();
        // What SIGKILL leaves: the directory, its lock released by the OS.
        let WorkDir { dir, lock } = dead;
        let _kept = dir.keep();
        drop(lock);
        let other = parent.path().join(format!("{PREFIX}notours"));
        std::fs::create_dir(&other).expect("unmarked directory");

        assert_eq!(reap(parent.path()), vec![dead_path.clone()]);
        assert!(!dead_path.exists());
        assert!(live.path().join(LOCK_FILE).exists());
        assert!(other.exists(), "an unmarked directory was removed");
        live.close().expect("close");
    }

    #[cfg(unix)]
    #[test]
    fn private_files_and_directories_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().expect("temp dir");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let file = parent.path().join("f");
        std::fs::write(&file, "public").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&file, b"secret").expect("write_private");
        assert_eq!(mode(&file), 0o600);
        let dir = parent.path().join("a/b");
        create_private_dirs(&dir).expect("dirs");
        assert_eq!((mode(&dir), mode(&parent.path().join("a"))), (0o700, 0o700));
        let work = WorkDir::create_in(parent.path()).expect("workdir");
        assert_eq!(mode(work.path()), 0o700);
        assert_eq!(mode(&work.path().join(LOCK_FILE)), 0o600);
    }
}

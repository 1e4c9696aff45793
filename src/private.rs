//! Files and directories only their owner may read: the proxy's per-run secret, its CA bundle,
//! the configuration it hands a child. One place decides what "private" means per platform: on
//! unix, files are created with mode 0600 and directories with 0700; elsewhere (Windows), files
//! and directories inherit the ACL of the directory they are made in (the user's temporary
//! directory, which only the user and administrators can read).
//!
//! This module does not decide where such files go, nor what they hold.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Options that create a file readable by its owner only.
pub fn open_options() -> OpenOptions {
    #[allow(unused_mut)] // only unix adds a mode
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates (or truncates) `path` as a private file and writes `bytes` into it.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file: File = open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(bytes)
}

/// Creates `path`, which must not exist yet, as a private file holding `bytes`.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file: File = open_options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)
}

/// A temporary directory only its owner may enter, named `PREFIX...`, removed when dropped.
pub fn tempdir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir()
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn files_and_directories_are_the_owners_only() {
        let dir = super::tempdir("opp-private-test.").unwrap();
        assert_eq!(mode(dir.path()), 0o700);
        let a = dir.path().join("a");
        super::write(&a, b"secret").unwrap();
        assert_eq!(mode(&a), 0o600);
        let b = dir.path().join("b");
        super::write_new(&b, b"secret").unwrap();
        assert_eq!(mode(&b), 0o600);
        assert!(
            super::write_new(&b, b"again").is_err(),
            "write_new must not overwrite"
        );
        assert_eq!(std::fs::read(&b).unwrap(), b"secret");
    }
}

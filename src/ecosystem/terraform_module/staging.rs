//! Where an unpacked module goes before it is the destination: a temporary directory beside
//! the destination (same file system, so the final step is a rename), and the rename itself.
//! Checks the destination before anything is written, and on failure removes everything it
//! created, including missing parent directories. What goes into the directory is `unpack`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::ModuleError;

/// What was at the destination before unpacking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Existing {
    Nothing,
    EmptyDir,
    /// A non-empty directory the caller asked to replace.
    Replaced,
}

/// A temporary directory that becomes `dest` on [`Staging::commit`]; dropping it without
/// committing removes it and any parent directory it created.
#[derive(Debug)]
pub(super) struct Staging {
    dest: PathBuf,
    temp: Option<TempDir>,
    existing: Existing,
    /// The topmost parent directory of `dest` that was missing and created here.
    created_parent: Option<PathBuf>,
}

impl Staging {
    /// Checks `dest` (missing, an empty directory, or a non-empty one when `replace` is set)
    /// and creates the temporary directory beside it.
    pub(super) fn new(dest: &Path, replace: bool) -> Result<Self, ModuleError> {
        let bad_because = |reason, hint| ModuleError::BadDestination {
            dest: dest.to_path_buf(),
            reason,
            hint,
        };
        let bad = |reason| bad_because(reason, None);
        let read_error = |source| ModuleError::Read {
            path: dest.to_path_buf(),
            source,
        };
        let (target, existing) = match fs::symlink_metadata(dest) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(bad_because(
                    "it is a symlink",
                    Some("give the directory it points to instead"),
                ));
            }
            Ok(meta) if !meta.is_dir() => return Err(bad("it exists and is not a directory")),
            Ok(_) => {
                let empty = fs::read_dir(dest).map_err(read_error)?.next().is_none();
                let existing = match (empty, replace) {
                    (true, _) => Existing::EmptyDir,
                    (false, true) => Existing::Replaced,
                    (false, false) => {
                        return Err(ModuleError::DestinationNotEmpty {
                            dest: dest.to_path_buf(),
                        });
                    }
                };
                (fs::canonicalize(dest).map_err(read_error)?, existing)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => (
                std::path::absolute(dest).map_err(read_error)?,
                Existing::Nothing,
            ),
            Err(source) => return Err(read_error(source)),
        };
        let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
            return Err(bad("it has no parent directory to unpack beside"));
        };
        if name == ".." {
            return Err(bad_because(
                "it ends in `..`",
                Some("give the directory by its name"),
            ));
        }
        let created_parent = create_parents(parent).map_err(|source| ModuleError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
        let mut builder = tempfile::Builder::new();
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".opp-");
        builder.prefix(&prefix);
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::Permissions::from_mode(0o777)
        };
        #[cfg(unix)]
        builder.permissions(mode);
        let mut staging = Staging {
            dest: target.clone(),
            temp: None,
            existing,
            created_parent,
        };
        // From here on, dropping `staging` removes what was created.
        let temp = builder
            .tempdir_in(parent)
            .map_err(|source| ModuleError::Write {
                path: target,
                source,
            })?;
        staging.temp = Some(temp);
        Ok(staging)
    }

    /// The temporary directory to unpack into.
    #[expect(
        clippy::expect_used,
        reason = "`new` sets `temp`, and only `commit`, which consumes `self`, takes it"
    )]
    pub(super) fn path(&self) -> &Path {
        // `new` sets `temp` and only `commit`, which consumes `self`, takes it.
        self.temp
            .as_ref()
            .expect("the staging directory exists until commit")
            .path()
    }

    /// The destination as resolved (absolute), for messages.
    pub(super) fn dest(&self) -> &Path {
        &self.dest
    }

    /// Moves the temporary directory into place. A replaced directory is moved aside first and
    /// removed only once the new one is in place; if that fails, it is moved back.
    pub(super) fn commit(mut self) -> Result<(), ModuleError> {
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        let write_error = |source| ModuleError::Write {
            path: self.dest.clone(),
            source,
        };
        match self.existing {
            Existing::Nothing => {
                rename_temp(temp, &self.dest).map_err(write_error)?;
            }
            Existing::EmptyDir => {
                fs::remove_dir(&self.dest).map_err(write_error)?;
                rename_temp(temp, &self.dest).map_err(write_error)?;
            }
            Existing::Replaced => {
                let parent = self.dest.parent().unwrap_or(Path::new("."));
                let aside = tempfile::Builder::new()
                    .prefix(".opp-replaced-")
                    .tempdir_in(parent)
                    .map_err(write_error)?;
                let old = aside.path().join("old");
                fs::rename(&self.dest, &old).map_err(write_error)?;
                if let Err(e) = rename_temp(temp, &self.dest) {
                    // Put the old directory back; the error is what the user needs to see.
                    let _ = fs::rename(&old, &self.dest);
                    return Err(write_error(e));
                }
                // Dropping `aside` removes the old directory.
                drop(aside);
            }
        }
        self.created_parent = None;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        drop(self.temp.take());
        if let Some(parent) = self.created_parent.take() {
            let _ = fs::remove_dir_all(parent);
        }
    }
}

/// Renames the temporary directory to `dest`, removing it if the rename fails.
fn rename_temp(temp: TempDir, dest: &Path) -> std::io::Result<()> {
    let path = temp.keep();
    fs::rename(&path, dest).inspect_err(|_| {
        let _ = fs::remove_dir_all(&path);
    })
}

/// Creates the missing directories of `dir`, returning the topmost one created.
fn create_parents(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut topmost = None;
    for ancestor in dir.ancestors() {
        if ancestor.as_os_str().is_empty() || ancestor.exists() {
            break;
        }
        topmost = Some(ancestor.to_path_buf());
    }
    fs::create_dir_all(dir)?;
    Ok(topmost)
}

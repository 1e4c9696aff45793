//! Terraform/OpenTofu modules on disk: what a user gives to push ([`source`]: a module
//! directory or a zip of one), turning a directory into a reproducible zip ([`zip_dir`]),
//! checking a given zip before it is pushed ([`check_zip`]), and unpacking a pulled zip safely
//! ([`unpack_zip`]). The zip is the single `archive/zip` layer of OpenTofu's
//! `application/vnd.opentofu.modulepkg` manifest; laying it out in OCI is `artifact`, moving it
//! is `store/`, naming it is `mapper`.
//!
//! What the zip looks like follows what OpenTofu does with it: OpenTofu's OCI module getter
//! hands the layer to go-getter's zip decompressor, which refuses an empty archive, refuses
//! `..` entries, creates parent directories itself (so no directory entries are needed),
//! keeps only the `0o777` bits of each entry's mode, and writes a symlink entry as a plain
//! file holding the link target. So opp writes regular files only (a symlinked file is stored
//! as a copy of the file it points to), with fixed modes and timestamps.
//!
//! Submodules: `entry` (pure checks of entry names and symlink targets), `pack` (directory
//! to zip), `unpack` (zip checks and extraction), `staging` (the temporary directory beside
//! the destination and the final rename).

mod entry;
mod pack;
mod staging;
mod unpack;

#[cfg(test)]
mod pack_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod unpack_tests;

use std::path::{Path, PathBuf};

pub use entry::UnsafeReason;
pub use pack::{EXCLUDED_NAMES, zip_dir};
pub(crate) use unpack::list_zip;
pub use unpack::{UnpackStats, check_zip, unpack_zip, unpack_zip_limited};

/// What a user gave to `opp push terraform-module`: a module directory, zipped by opp, or a
/// zip the user built, pushed as it is after [`check_zip`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    Dir(PathBuf),
    Zip(PathBuf),
}

/// How many files a module zip holds and their total uncompressed size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZipStats {
    pub files: usize,
    pub bytes: u64,
}

/// What can go wrong packing, checking or unpacking a module. Every message names the path,
/// the zip or the entry; what to do about it is its hint ([`crate::error::Diagnostic`]).
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(
        "{zip} unpacks to more than {limit} (`{entry}` reached it); refusing it, nothing was \
         written"
    )]
    UnpackLimit {
        zip: String,
        entry: String,
        limit: String,
    },

    #[error("{zip} lists more than {max} entries, more than opp unpacks; this is not a module")]
    TooManyEntries { zip: String, max: usize },

    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },

    #[error(
        "{} is neither a directory nor a .zip file",
        path.display()
    )]
    NotModule { path: PathBuf },

    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write the module zip of {}", dir.display())]
    ZipWrite {
        dir: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    #[error(
        "{}: the name is not valid UTF-8, which a zip entry name must be",
        path.display()
    )]
    NonUtf8Name { path: PathBuf },

    #[error(
        "{} is a symlink to {}, outside the module directory {}",
        path.display(),
        target.display(),
        root.display()
    )]
    SymlinkOutside {
        path: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },

    #[error(
        "{} is a symlink to a directory; opp stores a symlinked file as a copy but not a \
         symlinked directory (it could loop)",
        path.display()
    )]
    SymlinkToDirectory { path: PathBuf },

    #[error(
        "{} is a symlink to something that does not exist",
        path.display()
    )]
    DanglingSymlink {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} is not a regular file, directory or symlink (a socket, FIFO or device)",
        path.display()
    )]
    SpecialFile { path: PathBuf },

    #[error(
        "{} has no files to package (`.terraform/` and `.git/` are left out)",
        path.display()
    )]
    EmptyModule { path: PathBuf },

    #[error("{zip} is not a valid zip archive")]
    NotZip {
        zip: String,
        #[source]
        source: zip::result::ZipError,
    },

    #[error("{zip} has no files; a module zip holds the module's files at its root")]
    EmptyZip { zip: String },

    #[error(
        "{zip} has the entry `{entry}`: {reason}; refusing the whole archive, nothing was \
         written (unpacked, it could write outside its directory)"
    )]
    UnsafeEntry {
        zip: String,
        entry: String,
        reason: UnsafeReason,
    },

    #[error(
        "{zip} has the symlink `{entry}` -> `{target}`, which points outside the module; \
         refusing the whole archive, nothing was written"
    )]
    SymlinkEscapes {
        zip: String,
        entry: String,
        target: String,
    },

    #[error(
        "{zip} has the symlink `{entry}` -> `{target}`, which points to nothing inside the \
         module; refusing the whole archive, nothing was written"
    )]
    SymlinkBroken {
        zip: String,
        entry: String,
        target: String,
    },

    #[error(
        "{zip} has the symlink `{entry}`; OpenTofu would unpack it as a plain file holding \
         the link target, not as a link"
    )]
    SymlinkEntry { zip: String, entry: String },

    #[error("{zip} has the symlink `{entry}`, and this platform cannot create symlinks")]
    SymlinkUnsupported { zip: String, entry: String },

    #[error("{zip} has the entry `{entry}`, which is neither a file, a directory nor a symlink")]
    SpecialEntry { zip: String, entry: String },

    #[error("{zip} has the entry `{entry}` more than once")]
    DuplicateEntry { zip: String, entry: String },

    #[error("{zip}: cannot read the entry `{entry}`; the zip is damaged")]
    CorruptEntry {
        zip: String,
        entry: String,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot unpack into {}: {reason}", dest.display())]
    BadDestination {
        dest: PathBuf,
        reason: &'static str,
        /// What to do, when the reason has one remedy.
        hint: Option<&'static str>,
    },

    #[error(
        "{} already exists and is not empty",
        dest.display()
    )]
    DestinationNotEmpty { dest: PathBuf },
}

impl crate::error::Diagnostic for ModuleError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            ModuleError::UnpackLimit { .. } => {
                "if the module really is this large, raise the limit with --max-unpacked-size"
            }
            ModuleError::NotFound { .. } | ModuleError::NotModule { .. } => {
                "give a module directory or a .zip of one"
            }
            ModuleError::NonUtf8Name { .. } => "rename the file",
            ModuleError::SymlinkOutside { .. } => "replace it with a copy of the file",
            ModuleError::SymlinkToDirectory { .. } => "replace it with a copy of the directory",
            ModuleError::DanglingSymlink { .. } => "remove it or fix its target",
            ModuleError::SpecialFile { .. } => "remove it from the module directory",
            ModuleError::EmptyModule { .. } => {
                "give the directory that holds the module's .tf files"
            }
            ModuleError::NotZip { .. } => "rebuild it, or push the module directory",
            ModuleError::SymlinkEntry { .. } => {
                "zip the module without symlinks (`zip` without `-y`), or push the module \
                 directory: opp stores a symlinked file as a copy"
            }
            ModuleError::SpecialEntry { .. } => "rebuild the zip from plain files",
            ModuleError::DuplicateEntry { .. } => "rebuild the zip so each path appears once",
            ModuleError::CorruptEntry { .. } => "rebuild or re-pull it",
            ModuleError::BadDestination {
                hint: Some(hint), ..
            } => hint,
            ModuleError::DestinationNotEmpty { .. } => {
                "pull into a new or empty directory, or ask to replace it"
            }
            ModuleError::TooManyEntries { .. }
            | ModuleError::Read { .. }
            | ModuleError::Write { .. }
            | ModuleError::ZipWrite { .. }
            | ModuleError::EmptyZip { .. }
            | ModuleError::UnsafeEntry { .. }
            | ModuleError::SymlinkEscapes { .. }
            | ModuleError::SymlinkBroken { .. }
            | ModuleError::SymlinkUnsupported { .. }
            | ModuleError::BadDestination { hint: None, .. } => return Vec::new(),
        };
        vec![hint.to_owned()]
    }
}

/// What `path` is as a module source: an existing directory, or an existing file whose name
/// ends in `.zip` (any case). A missing path, or a file of another kind, is an error naming it.
/// Whether the zip is a valid module zip is [`check_zip`]'s question.
pub fn source(path: &Path) -> Result<ModuleSource, ModuleError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModuleError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(ModuleError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let is_zip = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("zip"));
    if meta.is_dir() {
        Ok(ModuleSource::Dir(path.to_path_buf()))
    } else if meta.is_file() && is_zip {
        Ok(ModuleSource::Zip(path.to_path_buf()))
    } else {
        Err(ModuleError::NotModule {
            path: path.to_path_buf(),
        })
    }
}

/// TerraformModule's contract: what shared code asks about this ecosystem (`ecosystem::contract`).
pub static CONTRACT: super::contract::Contract = super::contract::Contract {
    name: "terraform-module",
    summary: "Terraform modules (NAMESPACE/NAME/SYSTEM)",
    naming: &crate::mapper::terraform::MODULE,
    sort_newest_first: super::terraform_provider::sort_newest_first,
    read_release: crate::packages::module::read_release,
    platforms: super::contract::Platforms::None,
    mirror_from: None,
    merge: super::contract::Merge::Whole,
    version_filter: super::terraform_provider::version_filter,
    request_operators: &[],
    diagnose: super::contract::diagnose_as::<ModuleError>,
    frontend: None,
    provenance: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_tells_a_directory_from_a_zip() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = tmp.path().join("module.ZIP");
        std::fs::write(&zip, b"PK").unwrap();
        assert_eq!(
            source(tmp.path()).unwrap(),
            ModuleSource::Dir(tmp.path().to_path_buf())
        );
        assert_eq!(source(&zip).unwrap(), ModuleSource::Zip(zip));
    }

    #[test]
    fn source_names_a_missing_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("no-such-module");
        let err = source(&missing).unwrap_err();
        assert!(matches!(err, ModuleError::NotFound { .. }));
        assert!(err.to_string().contains("no-such-module"), "{err}");
    }

    #[test]
    fn source_refuses_a_file_that_is_not_a_zip() {
        let tmp = tempfile::tempdir().unwrap();
        let tf = tmp.path().join("main.tf");
        std::fs::write(&tf, b"").unwrap();
        let err = source(&tf).unwrap_err();
        assert!(matches!(err, ModuleError::NotModule { .. }), "{err}");
    }
}

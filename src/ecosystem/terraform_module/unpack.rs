//! Reading a module zip: checking a user's zip before it is pushed ([`check_zip`]) and
//! unpacking a pulled one ([`unpack_zip`]). Every entry is validated before anything is
//! written; extraction goes to a staging directory that only becomes the destination once it is
//! complete. Entry-name rules are `entry`; the staging directory and the rename are `staging`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::entry::{self, UnsafeReason};
use super::staging::Staging;
use super::{ModuleError, ZipStats};
use crate::ecosystem::limits::{self, CopyError, UnpackBudget};

/// How an unpacked module was written: regular files (and their total size) and symlinks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnpackStats {
    pub files: usize,
    pub bytes: u64,
    pub symlinks: usize,
}

/// The longest symlink target opp reads from a zip.
const MAX_LINK_TARGET: u64 = 4096;

/// What a zip entry is, from its name and its Unix mode.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    File { executable: bool },
    Dir,
    Symlink { target: String },
}

/// A validated entry: its index in the zip, its name as stored, and its safe relative path.
#[derive(Clone, Debug)]
struct Entry {
    index: usize,
    name: String,
    path: PathBuf,
    kind: Kind,
    /// The size the zip declares (checked against the limit up front; the bytes actually
    /// written are what count in the end).
    declared: u64,
}

/// Checks the module zip at `zip` before it is pushed as it is: it must be a readable zip with
/// at least one file, every entry a relative path with no `..`, no duplicates, and no symlink
/// entries at all (OpenTofu's unpacker would turn them into plain files; see the module
/// documentation). Reads every entry through, so a damaged zip is refused too. Returns how many
/// files it holds and their total size.
pub fn check_zip(zip: &Path) -> Result<ZipStats, ModuleError> {
    let file = File::open(zip).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ModuleError::NotFound {
            path: zip.to_path_buf(),
        },
        _ => ModuleError::Read {
            path: zip.to_path_buf(),
            source,
        },
    })?;
    let label = zip.display().to_string();
    let mut archive = open(BufReader::new(file), &label)?;
    let entries = plan(&mut archive, &label)?;
    let mut stats = ZipStats::default();
    for entry in &entries {
        match entry.kind {
            Kind::Symlink { .. } => {
                return Err(ModuleError::SymlinkEntry {
                    zip: label,
                    entry: entry.name.clone(),
                });
            }
            Kind::Dir => {}
            Kind::File { .. } => {
                stats.bytes += copy_entry(
                    &mut archive,
                    entry,
                    &label,
                    &mut std::io::sink(),
                    zip,
                    &mut UnpackBudget::new(u64::MAX),
                )?;
                stats.files += 1;
            }
        }
    }
    Ok(stats)
}

/// Unpacks a module zip into `dest`. Every entry is validated first (absolute paths, `..`,
/// drive letters, backslashes, duplicates, entries under a symlink, symlinks whose target
/// leaves the module); then the files are written to a temporary directory beside `dest`,
/// symlinks last, each symlink checked again on disk, and the directory is renamed into place.
///
/// `dest` must not exist or be an empty directory; an existing non-empty directory is an
/// error unless `replace` is set, and is then replaced only once the new one is complete.
/// Missing parent directories are created. On any error nothing is left behind. Files keep
/// their executable bits (added to the mode the umask gives); other mode bits are not taken
/// from the zip. At most [`limits::DEFAULT_MAX_UNPACKED_BYTES`] are written.
pub fn unpack_zip(
    zip: impl Read + Seek,
    dest: &Path,
    replace: bool,
) -> Result<UnpackStats, ModuleError> {
    unpack_zip_limited(
        zip,
        "the module zip",
        dest,
        replace,
        limits::DEFAULT_MAX_UNPACKED_BYTES,
    )
}

/// [`unpack_zip`], naming the zip `label` in errors and writing at most `max_bytes` of file
/// contents: a zip whose declared sizes pass it is refused before anything is written, and
/// one whose entries turn out larger than declared is stopped at the limit and removed.
pub fn unpack_zip_limited(
    zip: impl Read + Seek,
    label: &str,
    dest: &Path,
    replace: bool,
    max_bytes: u64,
) -> Result<UnpackStats, ModuleError> {
    let label = label.to_string();
    let mut archive = open(zip, &label)?;
    let entries = plan(&mut archive, &label)?;
    let mut budget = UnpackBudget::new(max_bytes);
    let mut declared = 0u64;
    for entry in entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::File { .. }))
    {
        declared = declared.saturating_add(entry.declared);
        if budget.would_exceed(declared) {
            return Err(over_limit(&label, &entry.name, max_bytes));
        }
    }
    let staging = Staging::new(dest, replace)?;
    let stats = extract(
        &mut archive,
        &entries,
        &label,
        staging.path(),
        staging.dest(),
        &mut budget,
    )?;
    staging.commit()?;
    Ok(stats)
}

/// Reads and validates the listing of a module zip (every entry name, kind and symlink
/// target) without writing anything; how many entries it holds.
pub(crate) fn list_zip<R: Read + Seek>(reader: R) -> Result<usize, ModuleError> {
    let label = "the module zip";
    let mut archive = open(reader, label)?;
    Ok(plan(&mut archive, label)?.len())
}

fn over_limit(label: &str, entry: &str, max_bytes: u64) -> ModuleError {
    ModuleError::UnpackLimit {
        zip: label.to_string(),
        entry: entry.to_string(),
        limit: limits::show(max_bytes),
    }
}

fn open<R: Read + Seek>(reader: R, label: &str) -> Result<ZipArchive<R>, ModuleError> {
    let archive = ZipArchive::new(reader).map_err(|source| ModuleError::NotZip {
        zip: label.to_string(),
        source,
    })?;
    if archive.len() > limits::MAX_ZIP_ENTRIES {
        return Err(ModuleError::TooManyEntries {
            zip: label.to_string(),
            max: limits::MAX_ZIP_ENTRIES,
        });
    }
    Ok(archive)
}

/// Validates every entry of `archive` and says what each is; writes nothing.
fn plan<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    label: &str,
) -> Result<Vec<Entry>, ModuleError> {
    let unsafe_entry = |entry: &str, reason| ModuleError::UnsafeEntry {
        zip: label.to_string(),
        entry: entry.to_string(),
        reason,
    };
    let mut entries = Vec::with_capacity(archive.len());
    let mut seen: HashMap<String, bool> = HashMap::new();
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| ModuleError::CorruptEntry {
                zip: label.to_string(),
                entry: format!("#{index}"),
                source: e.into(),
            })?;
        let name = match file.name() {
            Ok(name) => name.into_owned(),
            Err(e) => {
                return Err(ModuleError::CorruptEntry {
                    zip: label.to_string(),
                    entry: format!("#{index}"),
                    source: e.into(),
                });
            }
        };
        let parts = entry::components(&name).map_err(|reason| unsafe_entry(&name, reason))?;
        let mode = file.unix_mode().unwrap_or(0);
        let kind = match mode & 0o170_000 {
            _ if name.ends_with('/') => Kind::Dir,
            0o040_000 => Kind::Dir,
            0 | 0o100_000 => Kind::File {
                executable: mode & 0o111 != 0,
            },
            0o120_000 => {
                let mut target = String::new();
                (&mut file)
                    .take(MAX_LINK_TARGET)
                    .read_to_string(&mut target)
                    .map_err(|source| ModuleError::CorruptEntry {
                        zip: label.to_string(),
                        entry: name.clone(),
                        source,
                    })?;
                if entry::resolve_link(&parts, &target).is_none() {
                    return Err(ModuleError::SymlinkEscapes {
                        zip: label.to_string(),
                        entry: name,
                        target,
                    });
                }
                Kind::Symlink { target }
            }
            _ => {
                return Err(ModuleError::SpecialEntry {
                    zip: label.to_string(),
                    entry: name,
                });
            }
        };
        let declared = file.size();
        let key = parts.join("/");
        let is_dir = kind == Kind::Dir;
        if let Some(was_dir) = seen.insert(key, is_dir)
            && !(was_dir && is_dir)
        {
            return Err(ModuleError::DuplicateEntry {
                zip: label.to_string(),
                entry: name,
            });
        }
        let path = parts.iter().collect();
        entries.push(Entry {
            index,
            name,
            path,
            kind,
            declared,
        });
    }
    let links: HashSet<&Path> = entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::Symlink { .. }))
        .map(|e| e.path.as_path())
        .collect();
    if let Some(under) = entries
        .iter()
        .find(|e| e.path.ancestors().skip(1).any(|a| links.contains(a)))
    {
        return Err(unsafe_entry(&under.name, UnsafeReason::UnderSymlink));
    }
    if !entries.iter().any(|e| matches!(e.kind, Kind::File { .. })) {
        return Err(ModuleError::EmptyZip {
            zip: label.to_string(),
        });
    }
    Ok(entries)
}

/// Writes the planned entries under `root` (the staging directory; messages name `dest`).
fn extract<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entries: &[Entry],
    label: &str,
    root: &Path,
    dest: &Path,
    budget: &mut UnpackBudget,
) -> Result<UnpackStats, ModuleError> {
    let mut stats = UnpackStats::default();
    for entry in entries {
        let path = root.join(&entry.path);
        let shown = dest.join(&entry.path);
        let write_error = |source| ModuleError::Write {
            path: shown.clone(),
            source,
        };
        match entry.kind {
            Kind::Dir => fs::create_dir_all(&path).map_err(write_error)?,
            Kind::File { executable } => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(write_error)?;
                }
                // `create_new`: never follow or overwrite whatever is already there.
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(write_error)?;
                stats.bytes += copy_entry(archive, entry, label, &mut out, &shown, budget)?;
                stats.files += 1;
                if executable {
                    set_executable(&out).map_err(write_error)?;
                }
            }
            Kind::Symlink { .. } => {}
        }
    }
    // Symlinks last: no file above was written through one.
    for entry in entries {
        if let Kind::Symlink { target } = &entry.kind {
            make_symlink(
                target,
                &root.join(&entry.path),
                &dest.join(&entry.path),
                label,
                entry,
            )?;
            stats.symlinks += 1;
        }
    }
    check_links_on_disk(entries, label, root)?;
    Ok(stats)
}

/// Copies one file entry into `out`, verifying its CRC, within `budget`; returns its size.
/// Read errors are the zip's fault, write errors `written_to`'s.
fn copy_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &Entry,
    label: &str,
    out: &mut impl Write,
    written_to: &Path,
    budget: &mut UnpackBudget,
) -> Result<u64, ModuleError> {
    let corrupt = |source| ModuleError::CorruptEntry {
        zip: label.to_string(),
        entry: entry.name.clone(),
        source,
    };
    let mut file = archive
        .by_index(entry.index)
        .map_err(|e| corrupt(e.into()))?;
    budget.copy(&mut file, out).map_err(|e| match e {
        CopyError::Read(source) => corrupt(source),
        CopyError::Write(source) => ModuleError::Write {
            path: written_to.to_path_buf(),
            source,
        },
        CopyError::Exceeded => over_limit(label, &entry.name, budget.limit()),
    })
}

#[cfg(unix)]
fn set_executable(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode();
    // Execute wherever read is allowed, as `chmod +x` under the umask would.
    file.set_permissions(fs::Permissions::from_mode(mode | ((mode & 0o444) >> 2)))
}

#[cfg(not(unix))]
fn set_executable(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// Creates the symlink `link` -> `target` (messages name `shown`).
#[cfg(unix)]
fn make_symlink(
    target: &str,
    link: &Path,
    shown: &Path,
    _: &str,
    _: &Entry,
) -> Result<(), ModuleError> {
    std::os::unix::fs::symlink(target, link).map_err(|source| ModuleError::Write {
        path: shown.to_path_buf(),
        source,
    })
}

/// Symlinks are not created where creating them needs privileges; the zip is refused.
#[cfg(not(unix))]
fn make_symlink(
    _: &str,
    _: &Path,
    _: &Path,
    label: &str,
    entry: &Entry,
) -> Result<(), ModuleError> {
    Err(ModuleError::SymlinkUnsupported {
        zip: label.to_string(),
        entry: entry.name.clone(),
    })
}

/// Resolves every unpacked symlink on disk: each must land on something that exists inside
/// `root`. Catches what the lexical check cannot, a target that goes through another symlink.
fn check_links_on_disk(entries: &[Entry], label: &str, root: &Path) -> Result<(), ModuleError> {
    let real_root = fs::canonicalize(root).map_err(|source| ModuleError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let Kind::Symlink { target } = &entry.kind else {
            continue;
        };
        match fs::canonicalize(root.join(&entry.path)) {
            Ok(resolved) if resolved.starts_with(&real_root) => {}
            Ok(_) => {
                return Err(ModuleError::SymlinkEscapes {
                    zip: label.to_string(),
                    entry: entry.name.clone(),
                    target: target.clone(),
                });
            }
            Err(_) => {
                return Err(ModuleError::SymlinkBroken {
                    zip: label.to_string(),
                    entry: entry.name.clone(),
                    target: target.clone(),
                });
            }
        }
    }
    Ok(())
}

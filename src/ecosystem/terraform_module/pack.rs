//! A module directory to a reproducible zip: the same tree always gives the same bytes, so
//! pushing it twice gives the same layer digest. Walks the directory, leaves out what is not
//! the module (`.terraform/`, `.git/`), and writes regular file entries only; reading what a
//! zip holds is `unpack`.
//!
//! The choices, and why:
//! - Entries are sorted byte-wise by their `/`-separated path relative to the module root.
//! - Every entry has the zip epoch (1980-01-01 00:00:00) as its time, no extended-timestamp
//!   extra field, host system Unix, and mode 0644, or 0755 when the file has any executable
//!   bit: only what changes behaviour is kept, not umask or ownership accidents.
//! - Directories are not stored: go-getter (what OpenTofu unpacks with) and `unpack_zip` both
//!   create parent directories, and leaving them out removes their modes and times from the
//!   digest. An empty directory is therefore not packaged; Terraform ignores them anyway.
//! - Deflate at level 6 through zlib-rs. The bytes are stable for a given opp build; a
//!   different deflate implementation could compress differently, which only changes the
//!   digest, never what unpacks.
//! - `.terraform` and `.git` (directories, or `.git` files of submodules and worktrees) are
//!   left out at any depth. `.terraform.lock.hcl` is kept: Terraform reads it only in the
//!   root module, it is part of a module's sources as `terraform get` fetches them, and
//!   silently dropping a committed file would surprise.
//! - A symlink to a file inside the module is stored as a copy of that file (go-getter would
//!   turn a symlink entry into a plain file holding the link text). A symlink pointing outside
//!   the module, to a directory (which could loop), or to nothing is an error: packing never
//!   reads anything outside the module directory.

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::{ModuleError, ZipStats};

/// File and directory names left out of a module zip at any depth.
pub const EXCLUDED_NAMES: [&str; 2] = [".git", ".terraform"];

/// The deflate level of every entry; fixed so the bytes do not depend on defaults.
const DEFLATE_LEVEL: i64 = 6;

/// One file to store: its entry name and where its bytes are read from (the file itself, or
/// the file a symlink points to).
#[derive(Debug)]
struct PackedFile {
    name: String,
    source: PathBuf,
    executable: bool,
}

/// Zips the module directory `dir` reproducibly into `out` (see the module documentation for
/// the format), and returns how many files it stored and their total size. A directory that
/// does not exist, holds no files, or holds a symlink out of it is an error naming the path;
/// `out` may then hold a partial zip, which the caller discards.
pub fn zip_dir(dir: &Path, out: impl Write + Seek) -> Result<ZipStats, ModuleError> {
    let root = match fs::canonicalize(dir) {
        Ok(root) => root,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModuleError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(ModuleError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    if !root.is_dir() {
        return Err(ModuleError::NotModule {
            path: dir.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    collect(&root, dir, "", &mut files)?;
    if files.is_empty() {
        return Err(ModuleError::EmptyModule {
            path: dir.to_path_buf(),
        });
    }
    files.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    write_zip(dir, &files, out)
}

/// Adds the files under `path` (shown to the user as `shown`, entry names prefixed with
/// `prefix`) to `files`, recursing into directories and skipping [`EXCLUDED_NAMES`].
fn collect(
    root: &Path,
    shown: &Path,
    prefix: &str,
    files: &mut Vec<PackedFile>,
) -> Result<(), ModuleError> {
    let read_error = |source| ModuleError::Read {
        path: shown.to_path_buf(),
        source,
    };
    for item in fs::read_dir(root.join(prefix)).map_err(read_error)? {
        let item = item.map_err(read_error)?;
        let shown_path = shown.join(item.file_name());
        let Some(file_name) = item.file_name().to_str().map(str::to_owned) else {
            return Err(ModuleError::NonUtf8Name { path: shown_path });
        };
        if EXCLUDED_NAMES.contains(&file_name.as_str()) {
            continue;
        }
        let name = format!("{prefix}{file_name}");
        let file_type = item.file_type().map_err(|source| ModuleError::Read {
            path: shown_path.clone(),
            source,
        })?;
        if file_type.is_dir() {
            collect(root, &shown_path, &format!("{name}/"), files)?;
        } else if file_type.is_file() {
            let executable = is_executable(&item.path(), &shown_path)?;
            files.push(PackedFile {
                name,
                source: item.path(),
                executable,
            });
        } else if file_type.is_symlink() {
            let target = symlinked_file(root, &item.path(), &shown_path)?;
            let executable = is_executable(&target, &shown_path)?;
            files.push(PackedFile {
                name,
                source: target,
                executable,
            });
        } else {
            return Err(ModuleError::SpecialFile { path: shown_path });
        }
    }
    Ok(())
}

/// The file a symlink at `link` points to, when it is a file inside `root` (canonical).
fn symlinked_file(root: &Path, link: &Path, shown: &Path) -> Result<PathBuf, ModuleError> {
    let target = fs::canonicalize(link).map_err(|source| ModuleError::DanglingSymlink {
        path: shown.to_path_buf(),
        source,
    })?;
    if !target.starts_with(root) {
        return Err(ModuleError::SymlinkOutside {
            path: shown.to_path_buf(),
            target,
            root: root.to_path_buf(),
        });
    }
    if target.is_dir() {
        return Err(ModuleError::SymlinkToDirectory {
            path: shown.to_path_buf(),
        });
    }
    if !target.is_file() {
        return Err(ModuleError::SpecialFile {
            path: shown.to_path_buf(),
        });
    }
    Ok(target)
}

/// Whether the file at `path` has any executable bit (always false where there are none).
fn is_executable(path: &Path, shown: &Path) -> Result<bool, ModuleError> {
    let meta = fs::metadata(path).map_err(|source| ModuleError::Read {
        path: shown.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(false)
    }
}

fn write_zip(
    dir: &Path,
    files: &[PackedFile],
    out: impl Write + Seek,
) -> Result<ZipStats, ModuleError> {
    let zip_error = |source| ModuleError::ZipWrite {
        dir: dir.to_path_buf(),
        source,
    };
    let mut zip = ZipWriter::new(out).set_auto_large_file();
    let mut stats = ZipStats::default();
    let mut buf = vec![0u8; 64 * 1024];
    for file in files {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(DateTime::DEFAULT)
            .system(System::Unix)
            .unix_permissions(if file.executable { 0o755 } else { 0o644 });
        zip.start_file(file.name.as_str(), options)
            .map_err(zip_error)?;
        let shown = dir.join(&file.name);
        let read_error = |source| ModuleError::Read {
            path: shown.clone(),
            source,
        };
        let mut reader = File::open(&file.source).map_err(read_error)?;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(e)),
            };
            zip.write_all(&buf[..n])
                .map_err(|e| zip_error(zip::result::ZipError::Io(e)))?;
            stats.bytes += n as u64;
        }
        stats.files += 1;
    }
    zip.finish().map_err(zip_error)?;
    Ok(stats)
}

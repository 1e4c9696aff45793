//! The blocking file work of the layout store: creating a layout, replacing a file
//! atomically (temporary file in the same directory, fsync, rename, fsync the directory),
//! updating `index.json` under an exclusive lock, and finding the layouts under a root.
//! Callers run these on tokio's blocking pool. What goes into the files is decided by
//! [`super::index`]; streaming blobs is [`super::blob`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use super::index::{LayoutIndex, OCI_LAYOUT};
use crate::store::{Result, StoreError};

pub(super) const INDEX_JSON: &str = "index.json";
const INDEX_LOCK: &str = "index.json.lock";
pub(super) const LAYOUT_FILE: &str = "oci-layout";

/// Builds the `StoreError::Io` for a failed file operation on `path`.
pub(super) fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// Makes `dir` an image layout if it is not one yet: `blobs/sha256/`, an empty
/// `index.json`, then `oci-layout` (last, so a directory that looks like a layout always
/// has an index).
pub(super) fn ensure_layout(dir: &Path) -> Result<()> {
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).map_err(io_error("cannot create", &blobs))?;
    if !dir.join(INDEX_JSON).exists() {
        update_index(dir, |_| ())?;
    }
    if !dir.join(LAYOUT_FILE).exists() {
        // Every writer writes the same bytes, so a race between two is harmless.
        replace_file(dir, LAYOUT_FILE, OCI_LAYOUT)?;
    }
    Ok(())
}

/// Replaces `dir/name` with `bytes` so that a reader sees the old file or the new one,
/// never a part; the new one is on disk before this returns.
pub(super) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(dir)
        .map_err(io_error("cannot create a temporary file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_error("cannot write", tmp.path()))?;
    tmp.persist(&target)
        .map_err(|e| io_error("cannot rename a temporary file to", &target)(e.error))?;
    sync_dir(dir)
}

/// Makes a rename in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("cannot sync directory", dir))
}

/// The largest `index.json` read: the layout's list of tags, one short entry per tag (some
/// 200 000 tags), not a manifest.
const MAX_INDEX_JSON: u64 = 64 * 1024 * 1024;

/// Reads `dir/index.json`; `None` when there is none (no such repository).
pub(super) fn read_index(dir: &Path) -> Result<Option<LayoutIndex>> {
    let path = dir.join(INDEX_JSON);
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("cannot open", &path)(e)),
    };
    // Checked before reading, so that a huge file is refused without filling memory.
    let too_large = || StoreError::Corrupt {
        what: INDEX_JSON.to_owned(),
        location: dir.display().to_string(),
        detail: format!(
            "it is over {} MiB, more than any tag list opp writes; not read",
            MAX_INDEX_JSON >> 20
        ),
    };
    let size = file
        .metadata()
        .map_err(io_error("cannot read", &path))?
        .len();
    if size > MAX_INDEX_JSON {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    io::Read::take(file, MAX_INDEX_JSON + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error("cannot read", &path))?;
    if bytes.len() as u64 > MAX_INDEX_JSON {
        return Err(too_large());
    }
    LayoutIndex::parse(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            what: INDEX_JSON.to_owned(),
            location: dir.display().to_string(),
            detail: e.to_string(),
        })
}

/// Read, change and write `dir/index.json` while holding an exclusive lock on
/// `index.json.lock`, so concurrent writers (threads or processes) never lose each
/// other's tags. A missing index starts empty; an unreadable one is an error, not replaced.
pub(super) fn update_index(dir: &Path, change: impl FnOnce(&mut LayoutIndex)) -> Result<()> {
    update_index_if(dir, |index| {
        change(index);
        true
    })
    .map(|_| ())
}

/// As [`update_index`], but `change` may decline (return false): then nothing is written
/// and this returns `Ok(false)`. The decision and the write happen under one lock.
pub(super) fn update_index_if(
    dir: &Path,
    change: impl FnOnce(&mut LayoutIndex) -> bool,
) -> Result<bool> {
    let lock_path = dir.join(INDEX_LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error("cannot open lock file", &lock_path))?;
    lock.lock().map_err(io_error("cannot lock", &lock_path))?;
    let result = read_index(dir).and_then(|index| {
        let mut index = index.unwrap_or_default();
        if !change(&mut index) {
            return Ok(false);
        }
        replace_file(dir, INDEX_JSON, &index.to_bytes()).map(|()| true)
    });
    // Closing the file releases the lock too; unlocking first just says so.
    let unlocked = lock.unlock().map_err(io_error("cannot unlock", &lock_path));
    result.and_then(|r| unlocked.map(|()| r))
}

/// Every layout under `root` whose repository name starts with `prefix`, as `/`-separated
/// names relative to `root`. Only descends where a match is still possible, never follows
/// symbolic links, and does not look inside a layout's `blobs/`.
pub(super) fn find_repositories(root: &Path, prefix: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, name)) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound && name.is_empty() => return Ok(found),
            Err(e) => return Err(io_error("cannot list", &dir)(e)),
        };
        let is_layout = !name.is_empty() && dir.join(LAYOUT_FILE).is_file();
        if is_layout && name.starts_with(prefix) {
            found.push(name.clone());
        }
        for entry in entries {
            let entry = entry.map_err(io_error("cannot list", &dir))?;
            let is_dir = entry
                .file_type()
                .map_err(io_error("cannot inspect", &entry.path()))?
                .is_dir();
            let Some(child) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not UTF-8: no repository name could map to it
            };
            if !is_dir || child.starts_with('.') || (is_layout && child == "blobs") {
                continue;
            }
            let child_name = if name.is_empty() {
                child
            } else {
                format!("{name}/{child}")
            };
            let may_match =
                child_name.starts_with(prefix) || prefix.starts_with(&format!("{child_name}/"));
            if may_match {
                pending.push((entry.path(), child_name));
            }
        }
    }
    Ok(found)
}

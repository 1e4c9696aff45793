//! The blocking file work of the layout store: creating a layout, replacing a file
//! atomically (temporary file in the same directory, fsync, rename, fsync the directory),
//! updating `index.json` under an exclusive lock, and finding the layouts under a root.
//!
//! A repository becomes a layout (`index.json`, then `oci-layout`) only when its first tag
//! is written. Blobs go into `blobs/sha256/` before that, so a push or copy that fails
//! midway leaves a directory of blobs (reused by the next attempt) that no listing shows.
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

/// Makes the blob directory of the layout at `dir`. The layout itself (`index.json`,
/// `oci-layout`) is written with its first tag, by [`update_index_if`].
pub(super) fn ensure_blob_dir(dir: &Path) -> Result<()> {
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).map_err(io_error("cannot create", &blobs))
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
/// `index.json.lock`, so concurrent writers (threads or processes) never lose each other's
/// tags. A missing index starts empty; an unreadable one is an error, not replaced. `change`
/// may decline (return false): then nothing is written and this returns `Ok(false)`; the
/// decision and the write happen under one lock. After the
/// first write `oci-layout` is added (last, so a directory that looks like a layout always
/// has an index). Temporary `index.json` files of writers that died are removed here: every
/// writer of one holds this lock, so under it any such file is stale.
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
        remove_stale_index_files(dir);
        replace_file(dir, INDEX_JSON, &index.to_bytes())?;
        if !dir.join(LAYOUT_FILE).exists() {
            // Every writer writes the same bytes, so a race between two is harmless.
            replace_file(dir, LAYOUT_FILE, OCI_LAYOUT)?;
        }
        Ok(true)
    });
    // Closing the file releases the lock too; unlocking first just says so.
    let unlocked = lock.unlock().map_err(io_error("cannot unlock", &lock_path));
    result.and_then(|r| unlocked.map(|()| r))
}

/// Removes `.index.json.*` files in `dir`, left by a writer killed between writing and
/// renaming one. Only call it holding the index lock. Best effort: one that cannot be removed
/// now is tried again at the next write.
fn remove_stale_index_files(dir: &Path) {
    let prefix = format!(".{INDEX_JSON}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
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
            if !is_dir || child.starts_with('.') || (child == "blobs" && is_blob_dir(&entry.path()))
            {
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

/// Whether `dir` (named `blobs`) is the blob directory of a layout, tagged or not yet, rather
/// than the layout of a repository that happens to be called `blobs`.
fn is_blob_dir(dir: &Path) -> bool {
    dir.join("sha256").is_dir() && !dir.join(LAYOUT_FILE).is_file()
}

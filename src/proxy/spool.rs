//! Verified copies of blobs on disk, for answering `Range` requests (uv reads a wheel's
//! central directory so) from bytes whose digest was checked: a range of a blob cannot be
//! checked on its own, and serving one straight from the store's stream would hand out
//! bytes before the digest is known. A blob is read whole from the store once, into a file
//! in the proxy's private temporary directory, and kept only when the store's reader ended
//! without error; ranges are then read from that file.
//!
//! The copies take at most [`Spool::limit`] bytes together; the least recently used are
//! removed to make room, and a blob larger than the limit is not copied at all (its frontend
//! answers the whole blob instead, as a server that ignores `Range` may). One blob is copied
//! once even when several requests ask for it together. Nothing is held in memory but the
//! bookkeeping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::digest::Digest;
use crate::store::{Store, StoreError};

/// How many bytes of verified copies `opp proxy` keeps.
pub const DEFAULT_LIMIT: u64 = 1 << 30;

/// The verified copies of one proxy run. Clones share them (one spool serves every listener).
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

struct Inner {
    dir: tempfile::TempDir,
    limit: u64,
    /// One lock per blob, so that a blob is copied once.
    gates: Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>,
    copies: Mutex<Copies>,
}

/// Which copies exist, their sizes and when each was last used.
#[derive(Default)]
struct Copies {
    entries: HashMap<Digest, (u64, u64)>,
    total: u64,
    clock: u64,
}

impl Copies {
    fn touch(&mut self, digest: &Digest) -> bool {
        self.clock += 1;
        let now = self.clock;
        match self.entries.get_mut(digest) {
            Some(entry) => {
                entry.1 = now;
                true
            }
            None => false,
        }
    }

    /// Records a new copy; returns the copies to remove (least recently used first) so that
    /// the total stays within `limit`. The new copy is never among them.
    fn add(&mut self, digest: Digest, size: u64, limit: u64) -> Vec<Digest> {
        self.clock += 1;
        self.total += size;
        self.entries.insert(digest.clone(), (size, self.clock));
        let mut by_age: Vec<(u64, Digest)> = self
            .entries
            .iter()
            .filter(|(d, _)| **d != digest)
            .map(|(d, (_, used))| (*used, d.clone()))
            .collect();
        by_age.sort();
        let mut evicted = Vec::new();
        for (_, old) in by_age {
            if self.total <= limit {
                break;
            }
            if let Some((size, _)) = self.entries.remove(&old) {
                self.total -= size;
                evicted.push(old);
            }
        }
        evicted
    }
}

impl Spool {
    /// A spool in a new directory inside `parent` (removed when the spool is dropped),
    /// keeping at most `limit` bytes.
    pub fn new(parent: &Path, limit: u64) -> std::io::Result<Spool> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("blobs.");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder.tempdir_in(parent)?;
        Ok(Spool {
            inner: Arc::new(Inner {
                dir,
                limit,
                gates: Mutex::new(HashMap::new()),
                copies: Mutex::new(Copies::default()),
            }),
        })
    }

    /// The most bytes kept; a larger blob is never copied.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.inner.dir.path().join(digest.hex())
    }

    fn gate(&self, digest: &Digest) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.inner.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.entry(digest.clone()).or_default().clone()
    }

    fn copies(&self) -> std::sync::MutexGuard<'_, Copies> {
        self.inner.copies.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The verified copy of blob `digest` (`size` bytes) of `repository`, opened for reading,
    /// copied from `store` first when needed; `None` when the blob is larger than the limit.
    /// A blob that fails its digest or size is `StoreError::Corrupt`, and nothing is kept.
    pub async fn open(
        &self,
        store: &dyn Store,
        repository: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<Option<tokio::fs::File>, StoreError> {
        if size > self.inner.limit {
            return Ok(None);
        }
        let gate = self.gate(digest);
        let _copying = gate.lock().await;
        let path = self.path(digest);
        if self.copies().touch(digest) {
            match tokio::fs::File::open(&path).await {
                Ok(file) => return Ok(Some(file)),
                // Removed under us (by a newer copy's eviction): copy again.
                Err(_) => self.forget(digest),
            }
        }
        self.copy(store, repository, digest, size, &path).await?;
        // Opened before anything is evicted: this request keeps its copy whatever happens
        // to the file next.
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(io_error("cannot open", &path))?;
        let evicted = self.copies().add(digest.clone(), size, self.inner.limit);
        for old in evicted {
            // A request still reading an evicted copy keeps its open file (on Unix); where
            // the removal fails the file stays until the proxy's directory goes.
            if let Err(e) = tokio::fs::remove_file(self.path(&old)).await {
                tracing::debug!("cannot remove the spooled copy of {old}: {e}");
            }
        }
        Ok(Some(file))
    }

    fn forget(&self, digest: &Digest) {
        let mut copies = self.copies();
        if let Some((size, _)) = copies.entries.remove(digest) {
            copies.total -= size;
        }
    }

    /// Reads the blob from the store into `path`, through a `.part` file renamed only once
    /// the store's reader has ended cleanly.
    async fn copy(
        &self,
        store: &dyn Store,
        repository: &str,
        digest: &Digest,
        size: u64,
        path: &Path,
    ) -> Result<(), StoreError> {
        let part = path.with_extension("part");
        let mut reader = store.fetch_blob(repository, digest, size).await?;
        let mut out = tokio::fs::File::create(&part)
            .await
            .map_err(io_error("cannot create", &part))?;
        let copied = tokio::io::copy(&mut reader, &mut out).await;
        let flushed = match copied {
            Ok(_) => out
                .sync_data()
                .await
                .map_err(io_error("cannot write", &part)),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                tracing::error!(
                    "opp proxy: not serving blob {digest} of {repository}: {e}; the request \
                     was refused"
                );
                Err(StoreError::Corrupt {
                    what: format!("blob {digest}"),
                    location: store.location(repository),
                    detail: e.to_string(),
                })
            }
            Err(e) => Err(StoreError::Io {
                action: "cannot copy a blob from the store into",
                path: part.display().to_string(),
                source: e,
            }),
        };
        drop(out);
        if let Err(e) = flushed {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, path)
            .await
            .map_err(io_error("cannot rename", &part))
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest::of(&[n])
    }

    /// A layout store holding `bytes` as a blob of `pypi/x`, with the file under it.
    async fn layout_with(dir: &Path, bytes: &[u8]) -> (crate::store::layout::LayoutStore, Digest) {
        let store = crate::store::layout::LayoutStore::new(dir);
        let digest = Digest::of(bytes);
        let reader: crate::store::BlobReader = Box::pin(std::io::Cursor::new(bytes.to_vec()));
        store
            .push_blob("pypi/x", &digest, bytes.len() as u64, reader)
            .await
            .expect("push blob");
        (store, digest)
    }

    fn spooled(spool: &Spool) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(spool.inner.dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_verified_copy_is_served_and_a_tampered_blob_leaves_nothing() {
        use tokio::io::AsyncReadExt;
        let root = tempfile::tempdir().expect("temp dir");
        let bytes = b"a wheel's bytes".repeat(1000);
        let (store, digest) = layout_with(&root.path().join("store"), &bytes).await;
        let spool = Spool::new(root.path(), 1 << 20).expect("spool");
        let size = bytes.len() as u64;
        let mut file = spool
            .open(&store, "pypi/x", &digest, size)
            .await
            .expect("open")
            .expect("within the limit");
        let mut got = Vec::new();
        file.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, bytes);
        assert_eq!(spooled(&spool), vec![digest.hex().to_owned()]);
        assert!(
            spool
                .open(&store, "pypi/x", &digest, 1 << 21)
                .await
                .expect("big")
                .is_none(),
            "a blob over the limit was copied"
        );

        let mut bad = bytes.clone();
        bad[7] ^= 1;
        let other = tempfile::tempdir().expect("temp dir");
        let (tampered, _) = layout_with(other.path(), &bad).await;
        // The same digest names other bytes in the second store: its file is renamed so.
        let blobs = other.path().join("pypi/x/blobs/sha256");
        std::fs::rename(blobs.join(Digest::of(&bad).hex()), blobs.join(digest.hex()))
            .expect("swap the blob");
        let fresh = Spool::new(root.path(), 1 << 20).expect("spool");
        let err = fresh
            .open(&tampered, "pypi/x", &digest, size)
            .await
            .expect_err("a tampered blob");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(
            spooled(&fresh).is_empty(),
            "left behind: {:?}",
            spooled(&fresh)
        );
    }

    #[test]
    fn the_least_recently_used_copies_make_room() {
        let mut copies = Copies::default();
        assert!(copies.add(d(1), 40, 100).is_empty());
        assert!(copies.add(d(2), 40, 100).is_empty());
        assert!(copies.touch(&d(1)));
        assert_eq!(copies.add(d(3), 40, 100), vec![d(2)]);
        assert_eq!(copies.total, 80);
        assert!(!copies.touch(&d(2)));
        // A copy as large as the limit pushes out every other, never itself.
        assert_eq!(copies.add(d(4), 100, 100).len(), 2);
        assert_eq!(copies.total, 100);
        assert!(copies.touch(&d(4)));
    }
}

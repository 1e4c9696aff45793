//! Blob files of one image layout, `blobs/sha256/<hex>`: writing one from a stream while
//! hashing it (kept only when digest and size match, so a failed or interrupted write leaves
//! nothing) and reading one back, checked. Knows nothing about manifests or tags.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::files::{io_error, sync_dir};
use crate::digest::{Digest, Hasher, VerifyingReader};
use crate::store::{BlobReader, Result, StoreError};

const COPY_BUFFER: usize = 256 * 1024;

/// Where a blob of the layout at `layout` lives.
pub(super) fn path(layout: &Path, digest: &Digest) -> PathBuf {
    layout.join("blobs").join("sha256").join(digest.hex())
}

pub(super) async fn exists(layout: &Path, digest: &Digest) -> Result<bool> {
    let path = path(layout, digest);
    tokio::fs::try_exists(&path)
        .await
        .map_err(io_error("cannot look for", &path))
}

/// Streams `data` into the blob file of `digest`. The bytes go to a locked temporary file in
/// the blob directory ([`super::uploads`]); it is renamed into place only after the whole stream hashed to `digest`
/// with exactly `size` bytes and was fsynced. On any error, or when the future is dropped,
/// the temporary file is removed. `location` names the repository in errors.
pub(super) async fn write(
    layout: &Path,
    digest: &Digest,
    size: u64,
    mut data: impl AsyncRead + Unpin,
    location: &str,
) -> Result<()> {
    let target = path(layout, digest);
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| layout.to_path_buf());
    let tmp_dir = dir.clone();
    let tmp = tokio::task::spawn_blocking(move || super::uploads::create(&tmp_dir))
        .await
        .map_err(|e| blocking_failed(&dir, e))??;
    // The temporary path removes the file when dropped, until it is persisted; the file
    // stays locked while it is open, so a reaper leaves it alone.
    let (file, tmp_path) = tmp.into_parts();
    let mut file = tokio::fs::File::from_std(file);

    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = data.read(&mut buf).await.map_err(|source| StoreError::Io {
            action: "cannot read the data of",
            path: format!("blob {digest} for {location}"),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if hasher.len() > size {
            return Err(mismatch(
                digest,
                size,
                location,
                format!("more than {size} bytes"),
            ));
        }
        file.write_all(&buf[..n])
            .await
            .map_err(io_error("cannot write", &tmp_path))?;
    }
    let got_size = hasher.len();
    let got = hasher.finish();
    if got_size != size || got != *digest {
        return Err(mismatch(
            digest,
            size,
            location,
            format!("got {got} ({got_size} bytes)"),
        ));
    }
    file.sync_all()
        .await
        .map_err(io_error("cannot write", &tmp_path))?;
    // Still open, so still locked, until it has its final name: another process's reaper
    // would otherwise take the closed upload file for one a killed opp left, and remove it.
    let locked = file.into_std().await;

    let moved = target.clone();
    tokio::task::spawn_blocking(move || {
        tmp_path
            .persist(&moved)
            .map_err(|e| io_error("cannot rename a temporary file to", &moved)(e.error))?;
        drop(locked);
        sync_dir(&dir)
    })
    .await
    .map_err(|e| blocking_failed(&target, e))?
}

fn mismatch(digest: &Digest, size: u64, location: &str, got: String) -> StoreError {
    StoreError::Corrupt {
        what: format!("upload of blob {digest}"),
        location: location.to_owned(),
        detail: format!("expected {digest} ({size} bytes), {got}; nothing was stored"),
    }
}

/// A blob's bytes, checked against `digest` and `size` as they stream.
pub(super) async fn open(
    layout: &Path,
    digest: &Digest,
    size: u64,
    location: &str,
) -> Result<BlobReader> {
    let path = path(layout, digest);
    match tokio::fs::File::open(&path).await {
        // Large reads: tokio runs each file read on its blocking pool.
        Ok(file) => Ok(Box::pin(VerifyingReader::new(
            tokio::io::BufReader::with_capacity(COPY_BUFFER, file),
            digest.clone(),
            size,
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound {
            what: format!("blob {digest}"),
            location: location.to_owned(),
        }),
        Err(e) => Err(io_error("cannot open", &path)(e)),
    }
}

/// `4 MiB`, `300.5 MiB`.
fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m.fract() == 0.0 {
        format!("{m:.0} MiB")
    } else {
        format!("{m:.1} MiB")
    }
}

/// Reads a whole blob that is a manifest (small by nature, at most `limit` bytes) and checks
/// it against `digest`. `None` when there is no such blob.
pub(super) async fn read_manifest(
    layout: &Path,
    digest: &Digest,
    limit: u64,
    location: &str,
) -> Result<Option<Vec<u8>>> {
    let path = path(layout, digest);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("cannot open", &path)(e)),
    };
    let corrupt = |detail: String| StoreError::Corrupt {
        what: format!("manifest {digest}"),
        location: location.to_owned(),
        detail,
    };
    let too_large = |size: String| {
        corrupt(format!(
            "it is {size}, over the {} a manifest or index may be (the distribution \
             registry's limit); not read",
            mib(limit)
        ))
    };
    // The file's size first, so that a huge one is refused without reading it; then a read
    // that stops past the limit, in case it grows meanwhile.
    let size = file
        .metadata()
        .await
        .map_err(io_error("cannot read", &path))?
        .len();
    if size > limit {
        return Err(too_large(mib(size)));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(io_error("cannot read", &path))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(format!("more than {}", mib(limit))));
    }
    let got = Digest::of(&bytes);
    if got != *digest {
        return Err(corrupt(format!("its bytes hash to {got}")));
    }
    Ok(Some(bytes))
}

pub(super) fn blocking_failed(path: &Path, e: tokio::task::JoinError) -> StoreError {
    StoreError::Io {
        action: "file task failed for",
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    }
}

//! Reading a bundle's tar as a stream of entries, with flat memory: a thread reads the file
//! (through zstd when its name ends in `.zst`) with the `tar` crate and hands each entry over
//! a bounded channel. A blob entry (`blobs/sha256/<hex>`) comes as a stream of chunks that is
//! hashed as it goes; its last chunk is held back until the digest checks out, so a consumer
//! never sees all of a blob whose bytes are not the ones its name promises. A truncated or
//! damaged file is an error naming the entry.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::format::{BUNDLE_JSON, blob_entry};
use super::tarball;
use super::{BundleError, Result, io};
use crate::digest::{Digest, Hasher};

/// Chunks of a blob in flight.
const IN_FLIGHT: usize = 8;
const CHUNK: usize = 256 * 1024;
/// The largest entry that is not a blob (`opp-bundle.json`, `index.json`).
pub const MAX_SMALL: u64 = 256 * 1024 * 1024;

/// One entry of a bundle.
pub enum Event {
    /// A file that is not a blob, read whole (at most [`MAX_SMALL`] bytes).
    File { name: String, bytes: Bytes },
    /// A directory.
    Dir,
    /// A blob: its chunks, verified; the last chunk comes only once the digest matched.
    Blob {
        digest: Digest,
        size: u64,
        body: mpsc::Receiver<Result<Bytes>>,
    },
}

/// A bundle being read.
pub struct TarIn {
    rx: mpsc::Receiver<Result<Event>>,
    path: PathBuf,
}

impl TarIn {
    /// Starts reading `path`; `progress` advances by the bytes of every entry body.
    pub fn open(path: &Path, progress: indicatif::ProgressBar) -> Result<TarIn> {
        let file = std::fs::File::open(path).map_err(io("cannot open", path))?;
        let (tx, rx) = mpsc::channel(1);
        let owned = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            if let Err(stop) = read_all(file, &owned, &tx, &progress)
                && let Some(e) = stop.into_error(&owned)
            {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(TarIn {
            rx,
            path: path.to_path_buf(),
        })
    }

    /// The next entry; `None` at the end of the archive.
    pub async fn next(&mut self) -> Result<Option<Event>> {
        self.rx.recv().await.transpose()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Why reading stopped.
enum Stop {
    /// The file is not a whole, well-formed tar.
    Damaged(String),
    /// The consumer went away.
    Gone,
    /// The name says zstd and the bytes do not, or the other way round: the whole message.
    Misnamed(String),
}

impl Stop {
    fn into_error(self, path: &Path) -> Option<BundleError> {
        match self {
            Stop::Damaged(detail) => Some(BundleError::Damaged {
                path: path.display().to_string(),
                detail,
            }),
            Stop::Misnamed(message) => Some(BundleError::Invalid(message)),
            Stop::Gone => None,
        }
    }
}

/// The tar's bytes: through zstd when the name ends in `.zst`; a name that disagrees with the
/// first bytes is refused (`Stop::Misnamed`), saying what to rename the file to.
fn decoder(file: std::fs::File, path: &Path) -> std::result::Result<Box<dyn Read>, Stop> {
    let cannot = |e: std::io::Error| Stop::Damaged(format!("cannot read it: {e}"));
    let mut buffered = std::io::BufReader::with_capacity(CHUNK, file);
    let head = buffered.fill_buf().map_err(cannot)?;
    if let Some(why) = tarball::misnamed(path, head) {
        return Err(Stop::Misnamed(why));
    }
    Ok(if tarball::is_zstd(path) {
        Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(cannot)?)
    } else {
        Box::new(buffered)
    })
}

fn read_all(
    file: std::fs::File,
    path: &Path,
    tx: &mpsc::Sender<Result<Event>>,
    progress: &indicatif::ProgressBar,
) -> std::result::Result<(), Stop> {
    let reader = decoder(file, path)?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| Stop::Damaged(format!("not a tar: {e}")))?;
    let mut last = String::from("its start");
    for entry in entries {
        let mut entry =
            entry.map_err(|e| Stop::Damaged(format!("after {last}: {}", tar_error(&e))))?;
        let name = entry
            .path()
            .map_err(|e| Stop::Damaged(format!("after {last}: {e}")))?
            .to_string_lossy()
            .into_owned();
        let size = entry
            .header()
            .size()
            .map_err(|e| Stop::Damaged(format!("entry {name}: {e}")))?;
        let event = match entry.header().entry_type() {
            tar::EntryType::Directory => Event::Dir,
            tar::EntryType::Regular => match blob_entry(&name) {
                Some(digest) => {
                    let (body_tx, body) = mpsc::channel(IN_FLIGHT);
                    send(
                        tx,
                        Ok(Event::Blob {
                            digest: digest.clone(),
                            size,
                            body,
                        }),
                    )?;
                    stream_blob(&mut entry, &name, &digest, size, &body_tx, progress)?;
                    last = name;
                    continue;
                }
                None => {
                    if size > MAX_SMALL {
                        return Err(Stop::Damaged(format!(
                            "entry {name} has {size} bytes, more than any bundle index"
                        )));
                    }
                    let mut bytes = Vec::with_capacity(size as usize);
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| Stop::Damaged(format!("entry {name}: {e}")))?;
                    if bytes.len() as u64 != size {
                        return Err(Stop::Damaged(truncated(&name, bytes.len() as u64, size)));
                    }
                    progress.inc(size);
                    Event::File {
                        name: name.clone(),
                        bytes: Bytes::from(bytes),
                    }
                }
            },
            other => {
                return Err(Stop::Damaged(format!(
                    "entry {name} is a {other:?}, not a file or directory"
                )));
            }
        };
        send(tx, Ok(event))?;
        last = name;
    }
    Ok(())
}

fn tar_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "the file is truncated".to_owned(),
        _ => e.to_string(),
    }
}

fn truncated(name: &str, got: u64, size: u64) -> String {
    format!("it is truncated: {name} ends after {got} of {size} bytes")
}

fn send<T>(tx: &mpsc::Sender<T>, value: T) -> std::result::Result<(), Stop> {
    tx.blocking_send(value).map_err(|_| Stop::Gone)
}

/// Streams one blob's body in chunks, hashing; the last chunk goes only after the check.
fn stream_blob(
    entry: &mut impl Read,
    name: &str,
    digest: &Digest,
    size: u64,
    body: &mpsc::Sender<Result<Bytes>>,
    progress: &indicatif::ProgressBar,
) -> std::result::Result<(), Stop> {
    let mut hasher = Hasher::new();
    let mut held: Option<Bytes> = None;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Damaged(format!("entry {name}: {}", tar_error(&e)))),
        };
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        progress.inc(n as u64);
        if let Some(previous) = held.replace(Bytes::copy_from_slice(&buf[..n])) {
            // A consumer that went away (it had what it needed) is no error: read on.
            let _ = body.blocking_send(Ok(previous));
        }
    }
    let got = hasher.len();
    if got != size {
        return Err(Stop::Damaged(truncated(name, got, size)));
    }
    let found = hasher.finish();
    if found != *digest {
        return Err(Stop::Damaged(format!(
            "{name} does not match its digest: its bytes hash to {found}"
        )));
    }
    if let Some(last) = held {
        let _ = body.blocking_send(Ok(last));
    }
    Ok(())
}

/// The `opp-bundle.json` of a bundle (its first entry), read without reading the rest.
pub async fn bundle_json(path: &Path) -> Result<Bytes> {
    let owned = path.to_path_buf();
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(io("cannot open", path))?;
    let read = tokio::task::spawn_blocking(move || -> std::result::Result<Bytes, Stop> {
        let damaged = |detail: String| Stop::Damaged(detail);
        let reader = decoder(file, &owned)?;
        let mut archive = tar::Archive::new(reader);
        let mut entries = archive
            .entries()
            .map_err(|e| damaged(format!("not a tar: {e}")))?;
        let mut first = entries
            .next()
            .ok_or_else(|| damaged("it is empty".to_owned()))?
            .map_err(|e| damaged(tar_error(&e)))?;
        let name = first
            .path()
            .map_err(|e| damaged(e.to_string()))?
            .display()
            .to_string();
        if name != BUNDLE_JSON {
            return Err(damaged(format!(
                "its first entry is {name}, not {BUNDLE_JSON}: it was not written by opp export"
            )));
        }
        let mut bytes = Vec::new();
        first
            .by_ref()
            .take(MAX_SMALL)
            .read_to_end(&mut bytes)
            .map_err(|e| damaged(tar_error(&e)))?;
        Ok(Bytes::from(bytes))
    })
    .await
    .map_err(|e| BundleError::Invalid(e.to_string()))?;
    read.map_err(|stop| {
        stop.into_error(path)
            .unwrap_or_else(|| BundleError::Invalid(format!("cannot read {shown}")))
    })
}

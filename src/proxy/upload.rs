//! One upload into the proxy, whatever the client: twine and `uv publish` (a multipart form,
//! the file as its `content` part), `nuget push` (a multipart form, or the raw `.nupkg`),
//! `gem push` (the raw `.gem`). The steps are the same for each and written once here; a
//! frontend brings its own parts: where the file is in the body, how it is described and
//! pushed, and what its client is told.
//!
//! 1. A `Content-Length` over `--max-upload-size` is refused before anything is read.
//! 2. The body is counted as it arrives ([`Incoming`]). Past the limit nothing more is
//!    written; the rest is read and dropped up to [`DRAIN_PAST_LIMIT`] more bytes (clients
//!    that send a whole body before reading the answer then see the `413`), beyond that the
//!    body fails; either way the answer is `413`.
//! 3. The file streams into a temporary directory of its own, removed with the request
//!    ([`temp_dir`], [`Incoming::save`]), hashed on the way when the frontend needs its
//!    digest: that one pass is the only one over the bytes before they are pushed.
//! 4. It is described from its own metadata on a blocking thread ([`describe`]); a file
//!    that cannot be read is the client's error, naming the file as the client sent it.
//! 5. A stored file with other bytes is a `409` ([`conflict`]). Nothing is stored on any
//!    error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use super::failure::Failure;
use crate::artifact::ArtifactError;
use crate::digest::{Digest, Hasher};
use crate::packages::PackageError;

pub use super::server::DRAIN_PAST_LIMIT;

/// The size of one write to the spooled file.
const BUFFER: usize = 256 * 1024;

/// A request body counted against `--max-upload-size`.
pub struct Incoming {
    limit: u64,
    /// How the upload is named in the `413` (`the upload`, `the pushed .gem`).
    what: &'static str,
    over: Arc<AtomicBool>,
}

/// A file spooled to disk.
pub struct Saved {
    pub path: PathBuf,
    pub size: u64,
    /// The file's digest, when [`Incoming::save`] was asked to hash it.
    pub digest: Option<Digest>,
}

impl Incoming {
    /// `request` with its body counted against `limit`; refused at once when its
    /// `Content-Length` is over the limit. `what` names the upload in that answer.
    pub fn new(
        request: Request,
        limit: u64,
        what: &'static str,
    ) -> Result<(Incoming, Request), Failure> {
        let incoming = Incoming {
            limit,
            what,
            over: Arc::new(AtomicBool::new(false)),
        };
        if declared_length(request.headers()).is_some_and(|length| length > limit) {
            return Err(incoming.too_large());
        }
        let (parts, body) = request.into_parts();
        let body = Body::from_stream(counted(
            body.into_data_stream(),
            limit,
            limit.saturating_add(DRAIN_PAST_LIMIT),
            incoming.over.clone(),
        ));
        Ok((incoming, Request::from_parts(parts, body)))
    }

    /// Whether the body has gone past the limit.
    pub fn is_over(&self) -> bool {
        self.over.load(Ordering::SeqCst)
    }

    /// The answer to a body over the limit.
    pub fn too_large(&self) -> Failure {
        Failure::TooLarge(format!(
            "{} is larger than the proxy accepts ({} bytes, {}); restart `opp proxy` with a \
             larger --max-upload-size",
            self.what,
            self.limit,
            bytesize::ByteSize::b(self.limit).display().iec()
        ))
    }

    /// `e`, unless the body went past the limit (reading it failed for that reason): then
    /// the `413`.
    pub fn or_too_large(&self, e: Failure) -> Failure {
        if self.is_over() { self.too_large() } else { e }
    }

    /// Streams one file of the body into `dir/name`, hashing it when `hash` is set; past
    /// the limit, reads the rest of `stream` without writing it and answers `413`. A stream
    /// that breaks off is the client's error, naming `name`.
    pub async fn save(
        &self,
        stream: impl Stream<Item = Result<Bytes, std::io::Error>>,
        dir: &Path,
        name: &str,
        hash: bool,
    ) -> Result<Saved, Failure> {
        let path = dir.join(name);
        let action = format!("cannot write the upload of {name}");
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(Failure::io(action.clone()))?;
        let mut out = tokio::io::BufWriter::with_capacity(BUFFER, file);
        let mut hasher = hash.then(Hasher::new);
        let mut size: u64 = 0;
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                self.or_too_large(Failure::BadRequest(format!(
                    "{name}: the upload broke off: {e}"
                )))
            })?;
            if self.is_over() {
                continue;
            }
            size += chunk.len() as u64;
            if let Some(hasher) = hasher.as_mut() {
                hasher.update(&chunk);
            }
            out.write_all(&chunk)
                .await
                .map_err(Failure::io(action.clone()))?;
        }
        if self.is_over() {
            return Err(self.too_large());
        }
        out.flush().await.map_err(Failure::io(action))?;
        Ok(Saved {
            path,
            size,
            digest: hasher.map(Hasher::finish),
        })
    }
}

/// A directory of its own for one upload, removed when dropped.
pub fn temp_dir() -> Result<tempfile::TempDir, Failure> {
    tempfile::Builder::new()
        .prefix("opp-upload.")
        .tempdir()
        .map_err(Failure::io(
            "cannot create a temporary directory for an upload",
        ))
}

/// A file name the client sent that is safe to write under: one plain component, not
/// hidden, no separators or NUL, at most 255 bytes.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 255
}

/// Describes the spooled file at `path` (`size` bytes) on a blocking thread with `read`,
/// the ecosystem's reader, naming it `name` (as the client sent it, not the temporary
/// path); a file `read` refuses is `unreadable(reason)`, the reason with its causes and
/// hints ([`crate::error::reason`]).
pub async fn describe<T, E>(
    name: &str,
    path: &Path,
    size: u64,
    read: fn(&Path, std::io::BufReader<std::fs::File>, u64) -> Result<T, E>,
    unreadable: fn(String) -> Failure,
) -> Result<T, Failure>
where
    T: Send + 'static,
    E: std::error::Error + 'static,
{
    let (name, path) = (name.to_owned(), path.to_owned());
    let action = format!("cannot read the upload of {name}");
    let blocking_action = action.clone();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(Failure::io(blocking_action))?;
        read(Path::new(&name), std::io::BufReader::new(file), size)
            .map_err(|e| unreadable(crate::error::reason(&e)))
    })
    .await
    .map_err(|e| Failure::internal(action, e))?
}

/// What a push of the upload failed with; a file stored with other bytes is `says(stored,
/// pushed)`, the client's `409`.
pub fn conflict(e: PackageError, says: impl FnOnce(&Digest, &Digest) -> String) -> Failure {
    match e {
        PackageError::Artifact(ArtifactError::Conflict { stored, new, .. }) => {
            Failure::Conflict(says(&stored, &new))
        }
        other => other.into(),
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether the request body is a multipart form.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// A body as a stream of I/O results, for [`Incoming::save`].
pub fn bytes_of(body: Body) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    body.into_data_stream().map_err(std::io::Error::other)
}

/// `body` passed through while its bytes are counted: past `limit` `over` is set (the
/// reader drops what follows), past `cap` it fails.
fn counted(
    body: impl Stream<Item = Result<Bytes, axum::Error>> + Send + 'static,
    limit: u64,
    cap: u64,
    over: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut seen: u64 = 0;
    body.map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            over.store(true, Ordering::SeqCst);
        }
        if seen > cap {
            return Err(std::io::Error::other(format!(
                "the body is larger than {cap} bytes"
            )));
        }
        Ok(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counting_flags_a_body_past_the_limit_and_stops_it_past_the_cap() {
        let chunks: Vec<Result<Bytes, axum::Error>> = vec![
            Ok(Bytes::from_static(b"12345")),
            Ok(Bytes::from_static(b"678")),
            Ok(Bytes::from_static(b"9")),
        ];
        let over = Arc::new(AtomicBool::new(false));
        let mut s = Box::pin(counted(
            futures_util::stream::iter(chunks),
            6,
            8,
            over.clone(),
        ));
        assert!(s.next().await.expect("first").is_ok());
        assert!(!over.load(Ordering::SeqCst));
        assert!(s.next().await.expect("second").is_ok());
        assert!(over.load(Ordering::SeqCst));
        assert!(s.next().await.expect("third").is_err());
    }

    fn request(body: &'static [u8], length: Option<&str>) -> Request {
        let mut builder = Request::builder().method("POST").uri("/x");
        if let Some(length) = length {
            builder = builder.header(header::CONTENT_LENGTH, length);
        }
        builder.body(Body::from(body)).expect("request")
    }

    #[tokio::test]
    async fn a_file_is_saved_whole_with_its_digest_in_one_pass() {
        let dir = tempfile::tempdir().expect("dir");
        let (incoming, request) =
            Incoming::new(request(b"wheel bytes", None), 100, "the upload").expect("within");
        let saved = incoming
            .save(bytes_of(request.into_body()), dir.path(), "x.whl", true)
            .await
            .expect("saved");
        assert_eq!(std::fs::read(&saved.path).expect("read"), b"wheel bytes");
        assert_eq!(saved.size, 11);
        assert_eq!(saved.digest, Some(Digest::of(b"wheel bytes")));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_whether_or_not_it_says_its_length() {
        let declared = Incoming::new(request(b"0123456789", Some("10")), 4, "the pushed .gem");
        let Err(refused) = declared else {
            panic!("a Content-Length over the limit was accepted")
        };
        assert_eq!(
            refused.reason(),
            "the pushed .gem is larger than the proxy accepts (4 bytes, 4 B); restart `opp \
             proxy` with a larger --max-upload-size"
        );
        let dir = tempfile::tempdir().expect("dir");
        let (incoming, request) =
            Incoming::new(request(b"0123456789", None), 4, "the upload").expect("no length");
        let saved = incoming
            .save(bytes_of(request.into_body()), dir.path(), "x.whl", false)
            .await;
        assert!(matches!(saved, Err(Failure::TooLarge(_))), "not a 413");
    }

    #[test]
    fn only_plain_file_names_are_written() {
        assert!(is_plain_name("x.nupkg"));
        for bad in ["", "../x.whl", ".hidden", "a\\b", "a/b", "a\0b"] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
        assert!(!is_plain_name(&"a".repeat(256)));
    }
}

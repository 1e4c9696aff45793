//! Streaming a stored blob as an HTTP body, the same way for every frontend: read in large
//! pieces (a small read per chunk would cost a thread hop each on the blocking pool), and
//! never a byte more than the digest allows. The store checks size and digest as the blob
//! streams, but can only tell at the end; so the last piece read is held back until the
//! store's reader has reached its end without error. When the check fails, the body ends
//! with an error instead: hyper closes the connection short of `Content-Length`, and the
//! client sees a failed transfer, never a complete response. Ranges are served from a
//! verified copy on disk instead (`spool.rs`). What the response says around the body (type,
//! length, ranges) stays with each frontend.

use axum::body::Body;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

use super::ProxyState;
use crate::digest::Digest;
use crate::packages::PackageError;

/// The size of one read from a blob stream.
pub const PIECE: usize = 256 * 1024;

/// A body streaming `reader`, a stream that fails at its end unless it was whole and
/// unaltered (a store's blob reader, or a verified file): every piece is sent only once the
/// next one was read, the last only once the reader ended cleanly. `repository` and `digest`
/// name the blob in the log line of a failure.
pub fn verified(
    reader: impl AsyncRead + Send + Unpin + 'static,
    repository: &str,
    digest: &Digest,
) -> Body {
    let what = format!("{digest} of {repository}");
    let pieces = ReaderStream::with_capacity(reader, PIECE);
    Body::from_stream(hold_last(pieces, what))
}

/// A body streaming the blob `digest` (`size` bytes) of `repository`, verified as
/// [`verified`] says.
pub async fn body(
    state: &ProxyState,
    repository: &str,
    digest: &Digest,
    size: u64,
) -> Result<Body, PackageError> {
    let reader = match state.store.fetch_blob(repository, digest, size).await {
        Ok(reader) => reader,
        // A store that checks a blob whole before handing it over (the proxy's cache of a
        // registry reads small blobs whole) finds the damage before any byte is sent: the
        // client gets an error status instead of a cut transfer, logged the same way.
        Err(e @ crate::store::StoreError::Corrupt { .. }) => {
            tracing::error!(
                "opp proxy: not serving blob {digest} of {repository}: {e}; the request was \
                 refused"
            );
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    Ok(verified(reader, repository, digest))
}

/// What [`hold_last`] carries from one piece to the next.
struct Held<S> {
    pieces: S,
    held: Option<Bytes>,
    what: String,
    done: bool,
}

/// `pieces`, each passed on only when the one after it (or a clean end) has arrived; an error
/// ends the stream with that error, the held piece dropped, and is logged naming `what`.
fn hold_last<S>(pieces: S, what: String) -> impl Stream<Item = std::io::Result<Bytes>> + Send
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
{
    let start = Held {
        pieces,
        held: None,
        what,
        done: false,
    };
    futures_util::stream::unfold(start, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            match s.pieces.next().await {
                Some(Ok(piece)) if piece.is_empty() => continue,
                Some(Ok(piece)) => {
                    if let Some(previous) = s.held.replace(piece) {
                        return Some((Ok(previous), s));
                    }
                }
                Some(Err(e)) => {
                    // Shown without -v: a blob that fails its digest is a store altered or
                    // broken under the proxy, and the client only sees a cut transfer.
                    tracing::error!(
                        "opp proxy: not serving blob {}: {e}; the transfer was cut short",
                        s.what
                    );
                    s.held = None;
                    s.done = true;
                    return Some((Err(e), s));
                }
                None => {
                    s.done = true;
                    return s.held.take().map(|last| (Ok(last), s));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::VerifyingReader;

    fn pieces(parts: &[&'static [u8]], fail: bool) -> Vec<std::io::Result<Bytes>> {
        let mut items: Vec<std::io::Result<Bytes>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        if fail {
            items.push(Err(std::io::Error::other("digest mismatch")));
        }
        items
    }

    async fn collect(items: Vec<std::io::Result<Bytes>>) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut failed = false;
        let mut s = std::pin::pin!(hold_last(futures_util::stream::iter(items), "test".into()));
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => failed = true,
            }
        }
        (out, failed)
    }

    #[tokio::test]
    async fn a_clean_stream_passes_whole() {
        let (out, failed) = collect(pieces(&[b"ab", b"", b"cd", b"e"], false)).await;
        assert_eq!((out.as_slice(), failed), (&b"abcde"[..], false));
    }

    #[tokio::test]
    async fn a_failing_stream_never_passes_its_last_piece() {
        let (out, failed) = collect(pieces(&[b"ab", b"cd", b"e"], true)).await;
        assert_eq!((out.as_slice(), failed), (&b"abcd"[..], true));
        let (out, failed) = collect(pieces(&[b"whole"], true)).await;
        assert_eq!((out.as_slice(), failed), (&b""[..], true));
    }

    #[tokio::test]
    async fn a_body_over_a_tampered_reader_ends_in_an_error_short_of_its_size() {
        let good = b"hello world".repeat(100_000);
        let mut bad = good.clone();
        bad[good.len() - 3] ^= 1;
        let digest = Digest::of(&good);
        let reader = VerifyingReader::new(std::io::Cursor::new(bad), digest.clone(), 1_100_000);
        let body = verified(reader, "pypi/x", &digest);
        let mut stream = body.into_data_stream();
        let mut sent = 0usize;
        let mut failed = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(b) => sent += b.len(),
                Err(_) => failed = true,
            }
        }
        assert!(failed, "the body ended cleanly");
        assert!(sent < good.len(), "all {sent} bytes were sent");
    }
}

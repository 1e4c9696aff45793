//! Streaming a stored blob as an HTTP body, the same way for every frontend: read in large
//! pieces (a small read per chunk would cost a thread hop each on the blocking pool), and
//! checked against its digest by the store as it streams. What the response says around the
//! body (type, length, ranges) stays with each frontend.

use axum::body::Body;
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

use super::ProxyState;
use crate::digest::Digest;
use crate::packages::PackageError;

/// The size of one read from a blob stream.
const PIECE: usize = 256 * 1024;

/// A body streaming `reader` (a blob, or part of one).
pub fn stream(reader: impl AsyncRead + Send + 'static) -> Body {
    Body::from_stream(ReaderStream::with_capacity(reader, PIECE))
}

/// A body streaming the blob `digest` (`size` bytes) of `repository`.
pub async fn body(
    state: &ProxyState,
    repository: &str,
    digest: &Digest,
    size: u64,
) -> Result<Body, PackageError> {
    let reader = state.store.fetch_blob(repository, digest, size).await?;
    Ok(stream(reader))
}

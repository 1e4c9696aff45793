//! Reading response bodies that must be small: manifests and indexes (refused past
//! [`MAX_MANIFEST`], as distribution refuses them, without reading further) and error bodies
//! (only their first [`MAX_ERROR_BODY`] bytes are read, for the message). Blob bodies stream
//! elsewhere and are never read whole.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

/// The largest manifest or index opp reads: distribution's own limit (4 MiB).
pub const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// How much of an error body is read for a message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Why a body was not read.
#[derive(Debug)]
pub(super) enum BodyError {
    /// More than the limit: announced by `Content-Length` (`Some`), or seen while reading.
    TooLarge(Option<u64>),
    Read(reqwest::Error),
}

/// The whole body when it is at most `limit` bytes; stops reading at the first byte past it.
pub(super) async fn read_capped(res: reqwest::Response, limit: u64) -> Result<Bytes, BodyError> {
    if let Some(announced) = res.content_length().filter(|&n| n > limit) {
        return Err(BodyError::TooLarge(Some(announced)));
    }
    let mut out = BytesMut::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge(None));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// The start of an error body as text, for a message; empty when it cannot be read.
pub(super) async fn error_text(res: reqwest::Response) -> String {
    let mut out = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `4 MiB`, `300 MiB`, `1200 bytes`: a size for a message.
pub(super) fn show_size(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_person_would_write_them() {
        assert_eq!(show_size(MAX_MANIFEST), "4 MiB");
        assert_eq!(show_size(300 * 1024 * 1024), "300 MiB");
        assert_eq!(show_size(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
        assert_eq!(show_size(1200), "1200 bytes");
    }
}

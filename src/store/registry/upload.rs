//! Streams one blob up as a single PUT, watched for progress.
//!
//! reqwest's `read_timeout` counts from the moment a request is sent until its response
//! headers arrive, so it would also limit how long an upload may take: a large wheel on a
//! slow link would fail. Uploads therefore go through a client without it, and this module
//! fails one only when it makes no progress (no byte taken from the source, no answer)
//! for the idle timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference};
use tokio_util::io::ReaderStream;

use crate::digest::{Digest, VerifyingReader};
use crate::store::BlobReader;

/// Bytes read from a blob source per chunk sent.
const CHUNK: usize = 256 * 1024;

/// Why an upload failed.
pub(super) enum UploadError {
    /// oci-client's error, including a source that failed or had another digest or size.
    Client(OciDistributionError),
    /// Nothing moved for the idle timeout.
    Stalled(Duration),
}

/// Uploads `data` (`size` bytes, `digest`) to `reference`'s repository. The bytes are
/// checked while they stream: a wrong digest or size aborts the PUT before the registry
/// could commit it, with a message naming both.
pub(super) async fn stream_blob(
    client: &Client,
    reference: &Reference,
    data: BlobReader,
    digest: &Digest,
    size: u64,
    idle: Duration,
) -> Result<(), UploadError> {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let verified = VerifyingReader::size_only(data, digest.clone(), size);
    let stream = ReaderStream::with_capacity(verified, CHUNK)
        .inspect_ok(move |chunk| {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        })
        .map_err(OciDistributionError::IoError);
    let upload = client.push_blob_stream(reference, stream, digest.as_str(), Some(size));
    tokio::pin!(upload);

    let mut seen = 0;
    let mut moved_at = Instant::now();
    let mut tick = tokio::time::interval((idle / 4).max(Duration::from_millis(20)));
    loop {
        tokio::select! {
            done = &mut upload => return done.map(drop).map_err(UploadError::Client),
            _ = tick.tick() => {
                let now = sent.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    moved_at = Instant::now();
                } else if moved_at.elapsed() >= idle {
                    return Err(UploadError::Stalled(idle));
                }
            }
        }
    }
}

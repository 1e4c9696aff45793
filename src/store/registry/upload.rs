//! The steps of a blob upload: open an upload session (`POST .../blobs/uploads/`), stream the
//! bytes in one `PUT <session>?digest=...` watched for progress, and the cross-repository
//! mount (`POST .../blobs/uploads/?mount=<digest>&from=<repo>`).
//!
//! A failed upload is never resumed: the caller starts over with a fresh session, as ECR
//! requires. reqwest's `read_timeout` counts from the moment a request is sent until its
//! response headers arrive, so it would also limit how long an upload may take: a large wheel
//! on a slow link would fail. Uploads therefore go through a client without it, and this
//! module fails one only when it makes no progress (no byte taken from the source, no answer)
//! for the idle timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use tokio_util::io::ReaderStream;

use super::error::Context;
use super::retry::Step;
use super::session::{Call, Failure, Session, busy, transport_failure};
use crate::digest::{Digest, VerifyingReader};
use crate::store::{BlobReader, Result, StoreError};

/// Bytes read from a blob source per chunk sent.
const CHUNK: usize = 256 * 1024;

/// Opens an upload session in `repository`; returns where to send the bytes.
pub(super) async fn start(
    session: &Session,
    repository: &str,
    scopes: &[String],
    cx: &Context<'_>,
) -> Result<String, Failure> {
    let call = Call::new(
        Method::POST,
        format!("/v2/{repository}/blobs/uploads/"),
        scopes,
        Step::Read,
    );
    let res = session.send_once(&call, cx).await?;
    if res.status() != StatusCode::ACCEPTED {
        return Err(Failure::Fatal(cx.refused(res).await));
    }
    session_location(&res, cx).map_err(Failure::Fatal)
}

fn session_location(res: &reqwest::Response, cx: &Context<'_>) -> Result<String> {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| cx.registry("the registry opened an upload without a Location".to_owned()))
}

/// `location` with `digest` added to its query.
fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// Sends `data` (`size` bytes, `digest`) to the upload session at `location` in one PUT.
/// The bytes are size-checked while they stream (the registry checks the digest): a short or
/// long source aborts the PUT before the registry could commit it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn put(
    session: &Session,
    location: &str,
    scopes: &[String],
    data: BlobReader,
    digest: &Digest,
    size: u64,
    idle: Duration,
    cx: &Context<'_>,
) -> Result<(), Failure> {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let verified = VerifyingReader::size_only(data, digest.clone(), size);
    let stream = ReaderStream::with_capacity(verified, CHUNK).inspect_ok(move |chunk| {
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    });
    let req = session
        .uploader
        .put(session.url(&with_digest(location, digest)))
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, HeaderValue::from(size))
        .body(reqwest::Body::wrap_stream(stream));
    let req = if session.on_registry(location) {
        session.authorize(req, scopes, cx).await?.0
    } else {
        req
    };
    let upload = req.send();
    tokio::pin!(upload);

    let mut seen = 0;
    let mut moved_at = Instant::now();
    let mut tick = tokio::time::interval((idle / 4).max(Duration::from_millis(20)));
    let res = loop {
        tokio::select! {
            done = &mut upload => break done.map_err(|e| transport_failure(e, cx))?,
            _ = tick.tick() => {
                let now = sent.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    moved_at = Instant::now();
                } else if moved_at.elapsed() >= idle {
                    return Err(Failure::Fatal(StoreError::Unreachable {
                        registry: cx.registry.to_owned(),
                        source: format!(
                            "the upload of blob {digest} made no progress for {} s",
                            idle.as_secs_f32()
                        )
                        .into(),
                    }));
                }
            }
        }
    };
    let res = busy(res, Step::Read, cx).await?;
    if res.status() != StatusCode::CREATED {
        return Err(Failure::Fatal(cx.refused(res).await));
    }
    Ok(())
}

/// Asks the registry to mount `digest` from `from` into `repository`. `true`: mounted (201);
/// `false`: the registry does not mount it (202 opens an upload session instead, which is
/// closed again), so the caller uploads.
pub(super) async fn mount(
    session: &Session,
    repository: &str,
    digest: &Digest,
    from: &str,
    cx: &Context<'_>,
) -> Result<bool> {
    let scopes = [
        format!("repository:{repository}:pull,push"),
        format!("repository:{from}:pull"),
    ];
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("mount", digest.as_str())
        .append_pair("from", from)
        .finish();
    let url = format!("/v2/{repository}/blobs/uploads/?{query}");
    let res = session
        .send(Call::new(Method::POST, url, &scopes, Step::Read), cx)
        .await?;
    match res.status() {
        StatusCode::CREATED => Ok(true),
        StatusCode::ACCEPTED => {
            if let Ok(location) = session_location(&res, cx) {
                // Best effort: the registry expires abandoned sessions anyway.
                let cancel = Call::new(Method::DELETE, location, &scopes, Step::Read);
                if let Err(Failure::Fatal(e) | Failure::Retry { error: e, .. }) =
                    session.send_once(&cancel, cx).await
                {
                    tracing::debug!(error = %e, "could not cancel the upload session a mount opened");
                }
            }
            Ok(false)
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(cx.refused(res).await),
        status => {
            tracing::debug!(%status, %digest, from, "the registry did not mount the blob");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_joins_the_session_query() {
        let d = Digest::of(b"x");
        assert_eq!(
            with_digest("/v2/a/blobs/uploads/u1?_state=s", &d),
            format!("/v2/a/blobs/uploads/u1?_state=s&digest={d}")
        );
        assert_eq!(
            with_digest("/v2/a/blobs/uploads/u1", &d),
            format!("/v2/a/blobs/uploads/u1?digest={d}")
        );
    }
}

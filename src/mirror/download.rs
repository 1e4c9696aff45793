//! Fetching one upstream file into a temporary file, hashed while it streams and checked
//! against the digest the upstream stated; a mismatch removes the file. Retried as registry
//! requests are (`store::registry::retry`: 429, 502, 503, 504 and broken connections, with
//! backoff and `Retry-After`), once per step: a whole download is one step. Memory stays flat
//! whatever the size.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use indicatif::ProgressBar;
use reqwest::{StatusCode, Url};
use tokio::io::AsyncWriteExt;

use crate::digest::{Digest, Hasher};
use crate::store::registry::retry::{self, Step};

/// Attempts per file before giving up.
const ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("cannot fetch {url}: {detail}")]
    Http { url: String, detail: String },
    #[error("{url} answered {status}")]
    Status {
        url: String,
        status: StatusCode,
        /// The wait the upstream asked for (`Retry-After`).
        retry_after: Option<Duration>,
    },
    #[error(
        "sha256 mismatch: the upstream index says {expected}, the downloaded bytes hash to {actual}; nothing stored"
    )]
    Mismatch { expected: String, actual: String },
    /// A setting of the client that cannot be used.
    #[error("{what} is {detail}")]
    Setup {
        what: String,
        detail: String,
        hint: &'static str,
    },
    #[error("cannot write {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Diagnostic for DownloadError {
    fn kind(&self) -> Option<crate::error::Kind> {
        matches!(self, DownloadError::Setup { .. }).then_some(crate::error::Kind::Usage)
    }

    fn hints(&self) -> Vec<String> {
        match self {
            DownloadError::Setup { hint, .. } => vec![(*hint).into()],
            _ => Vec::new(),
        }
    }
}

impl DownloadError {
    /// `Some(wait)` when another try is worth it: a broken connection, or an answer the
    /// registry policy retries (then the upstream's own delay, if it gave one).
    fn retry(&self) -> Option<Option<Duration>> {
        match self {
            DownloadError::Http { .. } => Some(None),
            DownloadError::Status {
                status,
                retry_after,
                ..
            } if retry::retryable_status(*status, Step::Read) => Some(*retry_after),
            _ => None,
        }
    }
}

/// Runs `step` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times,
/// waiting between tries as the registry policy says.
async fn retrying<T, F, Fut>(url: &Url, mut step: F) -> Result<T, DownloadError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DownloadError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match step().await {
            Err(e) if tries < ATTEMPTS => {
                let Some(asked) = e.retry() else {
                    return Err(e);
                };
                let wait = retry::delay(tries, asked, fastrand::f64());
                tracing::debug!("retrying {} in {wait:?}: {e}", redacted(url));
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// HTTP/2 flow-control windows of upstream downloads: per stream, per connection. A stream may
/// have only its window of bytes in flight per round trip, so hyper's defaults (2 MiB, 5 MiB)
/// hold all the downloads on one connection to a registry 100 ms away to 50 MiB/s, whatever the
/// link; these allow 320 MiB/s there. What a connection may buffer when the disk falls behind
/// is bounded by the connection's window.
const STREAM_WINDOW: u32 = 8 << 20;
const CONNECTION_WINDOW: u32 = 32 << 20;

/// How long an upstream may stay silent (to connect, or between two reads of an answer)
/// before opp drops the request and tries again, unless `OPP_HTTP_TIMEOUT` says otherwise:
/// uv's default (pip's is 15 s). A CDN's connection that stops sending mid-file is then
/// retried within this, not after minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 pings on an upstream connection: one after this much silence, and the connection
/// is dropped (with every download on it, each retried on a new one) when the answer takes
/// longer than this again. A dead connection is not reused for the retries.
const PING: Duration = Duration::from_secs(10);

/// The silence allowed by `OPP_HTTP_TIMEOUT` (`30`, `30s`, `2m`), else [`DEFAULT_TIMEOUT`].
pub fn timeout() -> Result<Duration, DownloadError> {
    match std::env::var("OPP_HTTP_TIMEOUT") {
        Ok(text) if !text.trim().is_empty() => crate::config::parse_duration(&text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| DownloadError::Setup {
                what: format!("OPP_HTTP_TIMEOUT=`{text}`"),
                detail: "not a duration opp can wait".into(),
                hint: "write a number of seconds or a duration, e.g. 30, 30s or 2m",
            }),
        _ => Ok(DEFAULT_TIMEOUT),
    }
}

/// An HTTP client for upstream indexes: opp's user agent, bounded timeouts ([`timeout`]),
/// HTTP/2 windows for distant upstreams and pings that find a dead connection.
pub fn client() -> Result<reqwest::Client, DownloadError> {
    crate::store::registry::install_crypto_provider();
    let timeout = timeout()?;
    reqwest::Client::builder()
        .user_agent(concat!("opp/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .http2_initial_stream_window_size(STREAM_WINDOW)
        .http2_initial_connection_window_size(CONNECTION_WINDOW)
        .http2_keep_alive_interval(PING)
        .http2_keep_alive_timeout(PING)
        .http2_keep_alive_while_idle(true)
        .build()
        .map_err(|e| DownloadError::Http {
            url: String::new(),
            detail: format!("cannot set up an HTTP client: {e}"),
        })
}

/// GETs `url` with retries, for small bodies (index pages, metadata files).
pub async fn get(
    client: &reqwest::Client,
    url: &Url,
    accept: Option<&str>,
) -> Result<reqwest::Response, DownloadError> {
    retrying(url, || send(client, url, accept)).await
}

/// One GET of `url`: the response when it is a success, else the error it stands for.
async fn send(
    client: &reqwest::Client,
    url: &Url,
    accept: Option<&str>,
) -> Result<reqwest::Response, DownloadError> {
    let mut request = client.get(url.clone());
    if let Some(a) = accept {
        request = request.header(reqwest::header::ACCEPT, a);
    }
    answer(url, request.send().await)
}

/// A response when it is a success, else the error it stands for.
fn answer(
    url: &Url,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, DownloadError> {
    match sent {
        Ok(r) if r.status().is_success() => Ok(r),
        Ok(r) => Err(DownloadError::Status {
            url: redacted(url),
            status: r.status(),
            retry_after: r
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, SystemTime::now())),
        }),
        Err(e) => Err(DownloadError::Http {
            url: redacted(url),
            detail: causes(e),
        }),
    }
}

/// Downloads `url` into `dest`, checking the sha256 (lowercase hex) when one is given.
/// Returns the digest and size of what was written; on any error `dest` is removed.
pub async fn to_file(
    client: &reqwest::Client,
    url: &Url,
    dest: &Path,
    expected: Option<&str>,
    bar: &ProgressBar,
) -> Result<(Digest, u64), DownloadError> {
    retrying(url, || async {
        tracing::debug!("downloading {}", redacted(url));
        let result = once(client, url, dest, expected, bar).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        result
    })
    .await
}

/// One download of `url` into `dest`, hashed as it streams.
async fn once(
    client: &reqwest::Client,
    url: &Url,
    dest: &Path,
    expected: Option<&str>,
    bar: &ProgressBar,
) -> Result<(Digest, u64), DownloadError> {
    let response = send(client, url, None).await?;
    tracing::debug!("answered: {}", redacted(url));
    let written = write(response, url, dest, expected, bar).await?;
    tracing::debug!("downloaded {} ({} bytes)", redacted(url), written.1);
    Ok(written)
}

/// Writes a whole file's `response` into `dest`, hashed as it streams, checking the sha256
/// (lowercase hex) when one is given; on any error `dest` is removed.
pub async fn response_to_file(
    response: reqwest::Response,
    url: &Url,
    dest: &Path,
    expected: Option<&str>,
    bar: &ProgressBar,
) -> Result<(Digest, u64), DownloadError> {
    let result = write(response, url, dest, expected, bar).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    result
}

async fn write(
    response: reqwest::Response,
    url: &Url,
    dest: &Path,
    expected: Option<&str>,
    bar: &ProgressBar,
) -> Result<(Digest, u64), DownloadError> {
    let io = |source| DownloadError::Io {
        path: dest.display().to_string(),
        source,
    };
    let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut hasher = Hasher::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| DownloadError::Http {
            url: redacted(url),
            detail: causes(e),
        })?;
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
        bar.inc(chunk.len() as u64);
    }
    file.flush().await.map_err(io)?;
    let size = hasher.len();
    let digest = hasher.finish();
    if let Some(expected) = expected
        && !digest.hex().eq_ignore_ascii_case(expected)
    {
        return Err(DownloadError::Mismatch {
            expected: expected.to_owned(),
            actual: digest.hex().to_owned(),
        });
    }
    Ok((digest, size))
}

/// A reqwest error with its causes on one line (`error sending request: connection refused`),
/// without the URL (which may hold a password; the caller names it redacted).
pub fn causes(e: reqwest::Error) -> String {
    crate::error::chain(&e.without_url())
}

/// A URL for messages and logs: without a password.
pub fn redacted(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

/// One part of a file, fetched with an HTTP range request.
pub struct Part {
    /// Where the bytes start in the file.
    pub start: u64,
    pub bytes: Vec<u8>,
    /// The whole file's length, from `Content-Range`.
    pub total: u64,
}

/// What a range request brought.
pub enum Ranged {
    Part(Part),
    /// The server ignored the range and is sending the whole file (200).
    Whole(reqwest::Response),
    /// A 206 without a usable `Content-Range`, or a part larger than asked.
    Unusable,
}

/// GETs `range` (`bytes=-N` or `bytes=A-B`) of `url`, with retries, reading at most `limit`
/// bytes of a part.
pub async fn get_range(
    client: &reqwest::Client,
    url: &Url,
    range: &str,
    limit: u64,
) -> Result<Ranged, DownloadError> {
    let response = retrying(url, || async {
        let request = client
            .get(url.clone())
            .header(reqwest::header::RANGE, range);
        answer(url, request.send().await)
    })
    .await?;
    if response.status() != StatusCode::PARTIAL_CONTENT {
        return Ok(Ranged::Whole(response));
    }
    let Some((start, total)) = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(content_range)
    else {
        return Ok(Ranged::Unusable);
    };
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| DownloadError::Http {
            url: redacted(url),
            detail: causes(e),
        })?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Ok(Ranged::Unusable);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Ranged::Part(Part {
        start,
        bytes,
        total,
    }))
}

/// `bytes A-B/TOTAL` -> (A, TOTAL); `None` for anything else (`*` totals included).
fn content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total): (u64, u64, u64) = (
        start.trim().parse().ok()?,
        end.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (start <= end && end < total).then_some((start, total))
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_range_gives_the_start_and_the_total() {
        let cases = [
            ("bytes 0-99/64928", Some((0, 64928))),
            ("bytes 64828-64927/64928", Some((64828, 64928))),
            ("bytes 0-99/*", None),
            ("bytes 100-99/200", None),
            ("bytes 0-200/200", None),
            ("items 0-1/2", None),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter(|(v, want)| super::content_range(v) != *want)
            .map(|(v, want)| format!("{v}: {:?} != {want:?}", super::content_range(v)))
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

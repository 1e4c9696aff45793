//! A blob download that survives a broken connection: when the body stops with a reset or a
//! connection closed mid-body, the rest is asked for again with `Range: bytes=<offset>-` and
//! the stream goes on where it stopped, so the reader above (which checks size and digest)
//! sees one unbroken body. Resuming stops when the registry does not answer a range with 206,
//! or when the retry budget, counted from the first break, is spent.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderValue, RANGE};
use reqwest::{Method, StatusCode};

use super::error::{Context, chain};
use super::retry::{self, Step};
use super::session::{Call, Failure, Session};

/// What a resumed request needs, owned, for a stream that outlives the store's borrow.
pub(super) struct Resume {
    pub session: Arc<Session>,
    pub registry: String,
    pub location: String,
    pub what: String,
    /// `/v2/<repo>/blobs/<digest>`.
    pub path: String,
    pub scopes: Vec<String>,
}

struct State {
    resume: Resume,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    offset: u64,
    first_break: Option<Instant>,
    done: bool,
}

/// `body` (the answer to a plain GET of the blob), resumed after broken connections.
pub(super) fn resuming(
    resume: Resume,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let state = State {
        resume,
        body,
        offset: 0,
        first_break: None,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            match st.body.next().await {
                None => return None,
                Some(Ok(chunk)) => {
                    st.offset += chunk.len() as u64;
                    return Some((Ok(chunk), st));
                }
                Some(Err(e)) => {
                    let e = e.without_url();
                    let message = format!("{}: {}", st.resume.location, chain(&e));
                    let budget = st.resume.session.retry_timeout;
                    let first = *st.first_break.get_or_insert_with(Instant::now);
                    if !retry::broken_connection(&e) || first.elapsed() >= budget {
                        st.done = true;
                        return Some((Err(io::Error::other(message)), st));
                    }
                    tracing::info!(
                        location = %st.resume.location, what = %st.resume.what, offset = st.offset,
                        "resuming the download after {} bytes: {message}", st.offset
                    );
                    match again(&st.resume, st.offset).await {
                        Ok(body) => st.body = body,
                        Err(e) => {
                            st.done = true;
                            return Some((Err(io::Error::other(e.to_string())), st));
                        }
                    }
                }
            }
        }
    })
}

/// The blob from `offset` on, as a 206 answer's body.
async fn again(
    r: &Resume,
    offset: u64,
) -> crate::store::Result<BoxStream<'static, reqwest::Result<Bytes>>> {
    let cx = Context {
        registry: &r.registry,
        location: r.location.clone(),
        what: r.what.clone(),
    };
    let mut call = Call::new(Method::GET, r.path.clone(), &r.scopes, Step::Read);
    let range = HeaderValue::from_str(&format!("bytes={offset}-"))
        .map_err(|_| cx.registry("cannot ask for the rest of the blob".to_owned()))?;
    call.headers.insert(RANGE, range);
    let res = r
        .session
        .retrying(&cx, |_| async {
            let res = r.session.send_once(&call, &cx).await?;
            match res.status() {
                StatusCode::PARTIAL_CONTENT if starts_at(&res) == Some(offset) => Ok(res),
                StatusCode::PARTIAL_CONTENT => Err(Failure::Fatal(cx.registry(format!(
                    "the registry answered a range request for the bytes after {offset} \
                     with other bytes"
                )))),
                s if s.is_success() => Err(Failure::Fatal(cx.registry(format!(
                    "the connection broke after {offset} bytes, and the registry cannot send \
                     the rest alone (it answered HTTP {s} to a range request)"
                )))),
                _ => Err(Failure::Fatal(cx.refused(res).await)),
            }
        })
        .await?;
    Ok(res.bytes_stream().boxed())
}

/// Where a 206 answer's `Content-Range: bytes <start>-<end>/<size>` starts.
fn starts_at(res: &reqwest::Response) -> Option<u64> {
    let value = res
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    parse_start(value)
}

fn parse_start(content_range: &str) -> Option<u64> {
    let rest = content_range.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_starts() {
        assert_eq!(parse_start("bytes 100-199/200"), Some(100));
        assert_eq!(parse_start("bytes 0-0/1"), Some(0));
        assert_eq!(parse_start("bytes */200"), None);
        assert_eq!(parse_start("items 1-2/3"), None);
    }
}

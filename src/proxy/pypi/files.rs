//! `GET`/`HEAD /pypi/files/{project}/{version}/{file}`: a stored distribution file streamed
//! from the store (its last piece held back until its digest is checked: `proxy::blob`),
//! with `Content-Length`, `Accept-Ranges` and single `Range: bytes=` requests (206, or 416
//! when out of bounds); and `{file}.metadata`, the wheel's stored METADATA (PEP 658).
//! Nothing is buffered whole in memory.
//!
//! A range is never read from the store's stream, whose digest is known only at its end: it
//! is read from the proxy's verified copy of the whole file (`proxy::spool`). A file larger
//! than the spool's limit is answered whole (200), as RFC 9110 lets a server do.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncReadExt;

use super::error::{Failure, ProxyError};
use super::page::served_metadata;
use super::project::{Shared, release};
use crate::digest::Digest;
use crate::mapper::Mapper;
use crate::packages::PackageError;
use crate::proxy::{SharedState, blob};
use crate::release::Ecosystem;

const METADATA_SUFFIX: &str = ".metadata";

/// What a `Range` header asks of a file of known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Whole,
    /// Inclusive byte positions.
    Part {
        first: u64,
        last: u64,
    },
    Unsatisfiable,
}

/// Reads a `Range` header. Anything but one well-formed `bytes=` range is ignored (the
/// whole file is served, as RFC 9110 allows).
fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let (first, last) = match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(b) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
            None => return Wanted::Whole,
        },
        (false, true) => match parse(a) {
            Some(first) => (first, size.saturating_sub(1)),
            None => return Wanted::Whole,
        },
        (false, false) => match (parse(a), parse(b)) {
            (Some(first), Some(last)) if first <= last => (first, last.min(size.saturating_sub(1))),
            _ => return Wanted::Whole,
        },
        (true, true) => return Wanted::Whole,
    };
    if size == 0 || first >= size {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part { first, last }
}

/// The blob to serve: a distribution file or its METADATA.
struct Target {
    repo: String,
    digest: Digest,
    size: u64,
    content_type: &'static str,
}

pub async fn file(
    State(state): State<SharedState>,
    Extension(shared): Extension<Arc<Shared>>,
    Path((project, version, file)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ProxyError> {
    let missing = || Failure::NotFound(format!("no file {file} in {project} {version}"));
    let name = Mapper::normalize_package(Ecosystem::Pypi, &project).map_err(|_| missing())?;
    let Some(release) = release(&state, &shared, &name, &version).await? else {
        return Err(missing().into());
    };
    let repo = state
        .mapper
        .repository(Ecosystem::Pypi, &name)
        .map_err(PackageError::from)?;
    let target = if let Some(f) = release.files.iter().find(|f| f.name == file) {
        Target {
            repo,
            digest: f.digest.clone(),
            size: f.size,
            content_type: "application/octet-stream",
        }
    } else {
        let meta = file
            .strip_suffix(METADATA_SUFFIX)
            .and_then(|base| release.files.iter().find(|f| f.name == base))
            .and_then(served_metadata)
            .ok_or_else(missing)?;
        Target {
            repo,
            digest: meta.digest.clone(),
            size: meta.size,
            content_type: "text/plain; charset=utf-8",
        }
    };
    Ok(serve(&state, target, &method, &headers).await?)
}

async fn serve(
    state: &crate::proxy::ProxyState,
    t: Target,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let spooled = t.size <= state.spool.limit();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| spooled);
    let wanted = wanted(range, t.size);
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, t.content_type)
        .header(header::ETAG, format!("\"{}\"", t.digest.hex()));
    if spooled {
        builder = builder.header(header::ACCEPT_RANGES, "bytes");
    }
    let (status, first, length) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, t.size),
        Wanted::Part { first, last } => {
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", t.size),
            );
            (StatusCode::PARTIAL_CONTENT, first, last - first + 1)
        }
        Wanted::Unsatisfiable => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(
                    header::CONTENT_RANGE,
                    HeaderValue::try_from(format!("bytes */{}", t.size))
                        .unwrap_or(HeaderValue::from_static("bytes */*")),
                )],
            )
                .into_response());
        }
    };
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, length);
    let body = if method == Method::HEAD {
        Body::empty()
    } else if wanted == Wanted::Whole {
        blob::body(state, &t.repo, &t.digest, t.size).await?
    } else {
        part(state, &t, first, length).await?
    };
    builder
        .body(body)
        .map_err(|e| Failure::internal("cannot build the response", e))
}

/// `length` bytes from `first` of the proxy's verified copy of `t`.
async fn part(
    state: &crate::proxy::ProxyState,
    t: &Target,
    first: u64,
    length: u64,
) -> Result<Body, Failure> {
    use tokio::io::AsyncSeekExt;
    let Some(mut file) = state
        .spool
        .open(state.store.as_ref(), &t.repo, &t.digest, t.size)
        .await
        .map_err(PackageError::from)?
    else {
        // Only files within the limit are offered ranges.
        return Err(Failure::internal(
            format!("cannot serve a range of {}", t.digest),
            std::io::Error::other("larger than the proxy's spool"),
        ));
    };
    file.seek(std::io::SeekFrom::Start(first))
        .await
        .map_err(Failure::io(format!("cannot read {}", t.digest)))?;
    Ok(Body::from_stream(
        tokio_util::io::ReaderStream::with_capacity(file.take(length), blob::PIECE),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(wanted(None, 100), Wanted::Whole);
        assert_eq!(
            wanted(Some("bytes=0-9"), 100),
            Wanted::Part { first: 0, last: 9 }
        );
        assert_eq!(
            wanted(Some("bytes=90-"), 100),
            Wanted::Part {
                first: 90,
                last: 99
            }
        );
        assert_eq!(
            wanted(Some("bytes=-10"), 100),
            Wanted::Part {
                first: 90,
                last: 99
            }
        );
        assert_eq!(
            wanted(Some("bytes=-1000"), 100),
            Wanted::Part { first: 0, last: 99 }
        );
        assert_eq!(
            wanted(Some("bytes=50-1000"), 100),
            Wanted::Part {
                first: 50,
                last: 99
            }
        );
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=9-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=x-1"), 100), Wanted::Whole);
    }
}

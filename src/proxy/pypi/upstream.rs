//! The `--upstream` index's page of a project the store does not have: fetched, its file
//! links made absolute against the page's own URL (after redirects; `links.rs`), and
//! answered with upstream's content type. The files themselves are not proxied: clients
//! fetch them from where upstream says. A page is read whole to be rewritten, up to
//! [`MAX_PAGE`] bytes.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;

use super::error::Failure;
use super::links;
use crate::error::chain;

/// The largest upstream page read (PyPI's largest project pages are a few megabytes).
pub const MAX_PAGE: usize = 64 << 20;

/// The upstream index's page of `name`, with absolute file links.
pub async fn page(
    client: &Result<reqwest::Client, String>,
    upstream: &str,
    name: &str,
    accept: Option<&str>,
) -> Result<Response, Failure> {
    let url = format!("{}/{}/", upstream.trim_end_matches('/'), name);
    let failed = |detail: String| Failure::Upstream {
        url: url.clone(),
        detail,
    };
    let client = client.as_ref().map_err(|e| failed(e.clone()))?;
    let mut request = client.get(&url);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let response = request.send().await.map_err(|e| failed(chain(&e)))?;
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return Err(Failure::NotFound(format!(
            "no project {name} in the store or in the upstream index {upstream}"
        )));
    }
    if !status.is_success() {
        return Err(failed(format!("answered {status}")));
    }
    let page_url = response.url().clone();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| failed(chain(&e)))?;
        if body.len() + chunk.len() > MAX_PAGE {
            return Err(failed(format!("the page is larger than {MAX_PAGE} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let json = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let body = if json {
        links::absolute_json(&body, &page_url).unwrap_or(body)
    } else {
        match String::from_utf8(body) {
            Ok(text) => match links::absolute_html(&text, &page_url) {
                std::borrow::Cow::Owned(rewritten) => rewritten.into_bytes(),
                std::borrow::Cow::Borrowed(_) => text.into_bytes(),
            },
            Err(e) => e.into_bytes(),
        }
    };
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::VARY, "Accept");
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder
        .body(Body::from(body))
        .map_err(|e| failed(e.to_string()))
}

//! What a failed NuGet request answers: one typed error per outcome a client acts on, each
//! rendered as a status code and a one-line `text/plain` reason (nuget.exe and dotnet print
//! the reason of a failed push). Store failures are logged here, once, as they leave the
//! frontend.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::packages::PackageError;
use crate::proxy::failure::{chain, package_status};

#[derive(Debug, thiserror::Error)]
pub enum NugetApiError {
    /// The id, version or file is not in the store.
    #[error("{0}")]
    NotFound(String),
    /// The pushed body is not a package (or not a readable form): the reason says why.
    #[error("{0}")]
    BadRequest(String),
    /// The version is stored with other bytes.
    #[error("{0}")]
    Conflict(String),
    /// The pushed body is larger than `--max-upload-size`.
    #[error("the package is larger than the proxy accepts ({limit} bytes, --max-upload-size)")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl NugetApiError {
    pub fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> NugetApiError {
        let action = action.into();
        move |source| NugetApiError::Io { action, source }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            NugetApiError::NotFound(_) => StatusCode::NOT_FOUND,
            NugetApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            NugetApiError::Conflict(_) => StatusCode::CONFLICT,
            NugetApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            NugetApiError::Package(e) => package_status(e),
            NugetApiError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for NugetApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let text = chain(&self);
        if status.is_server_error() {
            tracing::warn!("nuget proxy: {text}");
        } else {
            tracing::debug!("nuget proxy: {status}: {text}");
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response();
        // nuget.exe and dotnet print the status line, not the body: the reason goes there,
        // as nuget.org does it.
        if status.is_client_error()
            && let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason_phrase(&text))
        {
            response.extensions_mut().insert(reason);
        }
        response
    }
}

/// The longest reason phrase sent.
const MAX_REASON: usize = 400;

/// `text` as an HTTP/1 reason phrase: visible ASCII and spaces only, on one line, bounded.
fn reason_phrase(text: &str) -> Vec<u8> {
    let mut out: Vec<u8> = text
        .chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            _ => b' ',
        })
        .take(MAX_REASON)
        .collect();
    while out.last() == Some(&b' ') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_error_carries_its_reason_in_the_status_line() {
        let response = NugetApiError::BadRequest("x.nupkg is not a zip\nrebuild \u{e9}".into())
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .expect("reason phrase");
        assert_eq!(reason.as_bytes(), b"x.nupkg is not a zip rebuild");
        let long = NugetApiError::Conflict("y".repeat(1000)).into_response();
        let reason = long
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .expect("reason");
        assert_eq!(reason.as_bytes().len(), MAX_REASON);
    }
}

//! What a failed PyPI request answers: one typed error per outcome a client can act on, each
//! rendered as a status code and a one-line `text/plain` reason (twine and uv print it).
//! Store and layout failures are logged here, once, as they leave the frontend.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::packages::PackageError;
use crate::proxy::failure::{chain, package_status};

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("none of the formats in the Accept header is served here: {0}")]
    NotAcceptable(String),
    #[error("the upstream index {url}: {detail}")]
    Upstream { url: String, detail: String },
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl ProxyError {
    pub fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProxyError {
        let action = action.into();
        move |source| ProxyError::Io { action, source }
    }

    fn status(&self) -> StatusCode {
        match self {
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::Conflict(_) => StatusCode::CONFLICT,
            ProxyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Package(e) => package_status(e),
            ProxyError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = self.status();
        let text = chain(&self);
        if status.is_server_error() {
            tracing::warn!("pypi proxy: {text}");
        } else {
            tracing::debug!("pypi proxy: {status}: {text}");
        }
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response()
    }
}

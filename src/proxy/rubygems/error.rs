//! What a failed RubyGems request answers: one typed error per outcome a client can act on,
//! each rendered as a status code and a one-line `text/plain` reason (`gem push` and
//! Bundler print the body). Store failures are logged here, once, as they leave the frontend.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::packages::PackageError;
use crate::proxy::failure::{chain, package_status};

#[derive(Debug, thiserror::Error)]
pub enum GemsError {
    #[error("{0}")]
    NotFound(String),
    /// A `.gem` that cannot be read (`gem push` prints the reason).
    #[error("{0}")]
    BadGem(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("cannot write Ruby Marshal data: {0}")]
    Marshal(#[from] super::marshal::MarshalError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl GemsError {
    pub fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> GemsError {
        let action = action.into();
        move |source| GemsError::Io { action, source }
    }

    fn status(&self) -> StatusCode {
        match self {
            GemsError::NotFound(_) => StatusCode::NOT_FOUND,
            GemsError::BadGem(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GemsError::Conflict(_) => StatusCode::CONFLICT,
            GemsError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GemsError::Package(e) => package_status(e),
            GemsError::Marshal(_) | GemsError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for GemsError {
    fn into_response(self) -> Response {
        let status = self.status();
        let text = chain(&self);
        if status.is_server_error() {
            tracing::warn!("rubygems proxy: {text}");
        } else {
            tracing::debug!("rubygems proxy: {status}: {text}");
        }
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response()
    }
}

//! What a failed RubyGems request answers: one typed error per outcome a client can act on,
//! each rendered as a status code and a one-line `text/plain` reason (`gem push` and
//! Bundler print the body). Store failures are logged here, once, as they leave the frontend.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::artifact::ArtifactError;
use crate::packages::PackageError;
use crate::store::StoreError;

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

/// A name or version that cannot be mapped is not in the store; a conflicting file is the
/// client's to resolve; a store that cannot be reached is a bad gateway.
fn package_status(e: &PackageError) -> StatusCode {
    match e {
        PackageError::Map(_) | PackageError::NotFound(_) => StatusCode::NOT_FOUND,
        PackageError::Artifact(ArtifactError::Conflict { .. }) => StatusCode::CONFLICT,
        PackageError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
        PackageError::Store(StoreError::Unreachable { .. } | StoreError::Unauthorized { .. })
        | PackageError::Store(StoreError::Registry { .. }) => StatusCode::BAD_GATEWAY,
        PackageError::Race { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
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

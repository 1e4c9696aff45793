//! How `gem` and Bundler read a failed request: the status, and the reason as one line of
//! `text/plain` (`gem push` and Bundler print the body). What failed and which status that
//! is are shared by every frontend (`proxy::failure`).

use axum::http::StatusCode;
use axum::response::Response;

use crate::proxy::failure::{Dialect, Failed, plain_text};

pub use crate::proxy::failure::Failure;

/// The RubyGems frontend's dialect.
pub struct GemText;

impl Dialect for GemText {
    const NAME: &'static str = "rubygems";

    fn render(status: StatusCode, reason: &str) -> Response {
        plain_text(status, reason)
    }
}

/// What a RubyGems handler answers when it fails.
pub type GemsError = Failed<GemText>;

impl From<super::marshal::MarshalError> for Failure {
    fn from(e: super::marshal::MarshalError) -> Failure {
        Failure::internal("cannot write Ruby Marshal data", e)
    }
}

impl From<super::marshal::MarshalError> for GemsError {
    fn from(e: super::marshal::MarshalError) -> GemsError {
        Failed::new(e.into())
    }
}

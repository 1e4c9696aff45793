//! How pip, uv and twine read a failed request: the status, and the reason as one line of
//! `text/plain` (twine and uv print it). What failed and which status that is are shared by
//! every frontend (`proxy::failure`).

use axum::http::StatusCode;
use axum::response::Response;

use crate::proxy::failure::{Dialect, Failed, plain_text};

pub use crate::proxy::failure::Failure;

/// The PyPI frontend's dialect.
pub struct Pep503;

impl Dialect for Pep503 {
    const NAME: &'static str = "pypi";

    fn render(status: StatusCode, reason: &str) -> Response {
        plain_text(status, reason)
    }
}

/// What a PyPI handler answers when it fails.
pub type ProxyError = Failed<Pep503>;

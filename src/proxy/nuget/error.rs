//! How nuget.exe and dotnet read a failed request: the status, the reason as one line of
//! `text/plain`, and for a client error the reason in the status line too (they print the
//! status line of a failed push). What failed and which status that is are shared by every
//! frontend (`proxy::failure`).

use axum::http::StatusCode;
use axum::response::Response;

use crate::proxy::failure::{Dialect, Failed, plain_text};

pub use crate::proxy::failure::Failure;

/// The NuGet frontend's dialect.
pub struct NugetText;

impl Dialect for NugetText {
    const NAME: &'static str = "nuget";

    fn render(status: StatusCode, reason: &str) -> Response {
        let mut response = plain_text(status, reason);
        // nuget.exe and dotnet print the status line, not the body: the reason goes there,
        // as nuget.org does it.
        if status.is_client_error()
            && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason_phrase(reason))
        {
            response.extensions_mut().insert(phrase);
        }
        response
    }
}

/// What a NuGet handler answers when it fails.
pub type NugetApiError = Failed<NugetText>;

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
        use axum::response::IntoResponse;
        let response = NugetApiError::from(Failure::BadRequest(
            "x.nupkg is not a zip\nrebuild \u{e9}".into(),
        ))
        .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .expect("reason phrase");
        assert_eq!(reason.as_bytes(), b"x.nupkg is not a zip rebuild");
        let long = NugetApiError::from(Failure::Conflict("y".repeat(1000))).into_response();
        let reason = long
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .expect("reason");
        assert_eq!(reason.as_bytes().len(), MAX_REASON);
    }
}

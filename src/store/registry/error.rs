//! Turns registry answers into [`StoreError`]s that name the registry, the repository and
//! the object, and never contain credentials (bodies are quoted shortly, URLs dropped: upload
//! URLs carry session state, and no request header is ever quoted).
//!
//! A registry reports the same condition in several shapes: a bare status, an OCI error
//! envelope (`{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`) with or without a matching status,
//! a refusal by its token server. This module is the one place that knows.

use std::time::Duration;

use oci_client::errors::{OciEnvelope, OciErrorCode};
use reqwest::StatusCode;

use super::retry;
use super::token::TokenError;
use crate::store::StoreError;

/// What was being done when an error happened, for the message.
pub(super) struct Context<'a> {
    /// The registry host.
    pub registry: &'a str,
    /// `host/repository`.
    pub location: String,
    /// The object: `manifest sha256:…`, `tag 1.0`, `blob sha256:…`, `tag list`.
    pub what: String,
}

/// The longest piece of a response body quoted in a message.
const MAX_QUOTE: usize = 300;

impl Context<'_> {
    /// `res` when it is a success, else the error its status and body describe.
    pub async fn check(&self, res: reqwest::Response) -> Result<reqwest::Response, StoreError> {
        if res.status().is_success() {
            return Ok(res);
        }
        Err(self.refused(res).await)
    }

    /// The error an unsuccessful answer describes.
    pub async fn refused(&self, res: reqwest::Response) -> StoreError {
        let status = res.status().as_u16();
        let body = super::body::error_text(res).await;
        self.status(status, &body)
    }

    /// The error of a step that was retried until its budget ran out.
    pub fn gave_up(&self, e: StoreError, tries: u32, budget: Duration) -> StoreError {
        let note = format!(
            "gave up after {tries} tries within --retry-timeout {}",
            retry::show(budget)
        );
        match e {
            StoreError::Registry { location, message }
            | StoreError::Transient { location, message } => StoreError::Registry {
                location,
                message: format!("{message}; {note}"),
            },
            StoreError::Unreachable { registry, source } => StoreError::Unreachable {
                registry,
                source: format!("{}; {note}", chain(source.as_ref())).into(),
            },
            other => other,
        }
    }

    pub fn unauthorized(&self, status: u16) -> StoreError {
        StoreError::Unauthorized {
            registry: self.registry.to_owned(),
            location: self.location.clone(),
            status,
        }
    }

    pub fn not_found(&self) -> StoreError {
        StoreError::NotFound {
            what: self.what.clone(),
            location: self.location.clone(),
        }
    }

    pub fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            what: self.what.clone(),
            location: self.location.clone(),
            detail,
        }
    }

    /// A refusal another try a moment later may not meet (see [`StoreError::Transient`]).
    pub fn transient(&self, message: String) -> StoreError {
        StoreError::Transient {
            location: self.location.clone(),
            message: format!("{}: {message}", self.what),
        }
    }

    pub fn registry(&self, message: String) -> StoreError {
        StoreError::Registry {
            location: self.location.clone(),
            message: format!("{}: {message}", self.what),
        }
    }

    /// An HTTP status with a body that may hold an OCI error envelope.
    pub fn status(&self, code: u16, body: &str) -> StoreError {
        if let Ok(envelope) = serde_json::from_str::<OciEnvelope>(body) {
            return self.envelope(&envelope, Some(code));
        }
        match code {
            401 | 403 => self.unauthorized(code),
            404 => self.not_found(),
            500 => self.transient(format!("the registry answered HTTP {code}{}", quote(body))),
            _ => self.registry(format!("the registry answered HTTP {code}{}", quote(body))),
        }
    }

    fn envelope(&self, envelope: &OciEnvelope, code: Option<u16>) -> StoreError {
        let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
        if code == Some(401) || codes.contains(&&OciErrorCode::Unauthorized) {
            return self.unauthorized(401);
        }
        if code == Some(403) || codes.contains(&&OciErrorCode::Denied) {
            return self.unauthorized(403);
        }
        // A registry may report a missing blob together with other codes (distribution 2.8
        // adds DIGEST_INVALID): the missing blob is the cause, so it goes first.
        if let Some(e) = envelope
            .errors
            .iter()
            .find(|e| e.code == OciErrorCode::ManifestBlobUnknown)
        {
            let blob = e
                .detail
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| e.detail.to_string());
            return self.transient(format!(
                "refused: it names blob {blob}, which the registry does not have (MANIFEST_BLOB_UNKNOWN)"
            ));
        }
        if codes.contains(&&OciErrorCode::DigestInvalid) {
            return self.registry(
                "refused: the uploaded bytes do not have this digest (DIGEST_INVALID)".to_owned(),
            );
        }
        let missing = [
            OciErrorCode::ManifestUnknown,
            OciErrorCode::NameUnknown,
            OciErrorCode::BlobUnknown,
            OciErrorCode::NotFound,
        ];
        if !codes.is_empty() && codes.iter().all(|c| missing.contains(c)) {
            return self.not_found();
        }
        let said: Vec<String> = envelope
            .errors
            .iter()
            .map(|e| {
                let code = serde_json::to_value(&e.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{:?}", e.code));
                if e.message.is_empty() {
                    code
                } else {
                    format!("{code} ({})", e.message)
                }
            })
            .collect();
        let status = code.map(|c| format!("HTTP {c}, ")).unwrap_or_default();
        let message = format!("the registry answered {status}{}", said.join("; "));
        if code == Some(500) {
            return self.transient(message);
        }
        self.registry(message)
    }

    /// A bearer token that could not be had. The token server's answer is not quoted: it
    /// could echo what it was sent.
    pub fn token(&self, e: TokenError) -> StoreError {
        match e {
            TokenError::Request(e) => self.request(e),
            TokenError::Refused(s) if s == StatusCode::FORBIDDEN => self.unauthorized(403),
            TokenError::Refused(s) if s.is_client_error() => self.unauthorized(401),
            TokenError::Refused(s) => self.registry(format!("the token server answered HTTP {s}")),
            TokenError::Busy(s, _) => self.registry(format!(
                "the registry or its token server answered HTTP {s}"
            )),
            TokenError::NoToken => {
                self.registry("the token server answered without a token".to_owned())
            }
        }
    }

    pub fn request(&self, e: reqwest::Error) -> StoreError {
        match e.status() {
            Some(StatusCode::UNAUTHORIZED) => return self.unauthorized(401),
            Some(StatusCode::FORBIDDEN) => return self.unauthorized(403),
            Some(StatusCode::NOT_FOUND) => return self.not_found(),
            Some(s) => return self.registry(format!("the registry answered HTTP {s}")),
            None => {}
        }
        if e.is_connect() || e.is_timeout() {
            return StoreError::Unreachable {
                registry: self.registry.to_owned(),
                source: Box::new(e.without_url()),
            };
        }
        // Upload URLs carry long session state that says nothing to a reader.
        self.registry(chain(&e.without_url()))
    }
}

pub(super) use crate::error::chain;

/// `: <body>` shortened, or nothing for an empty body.
fn quote(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let mut short: String = body.chars().take(MAX_QUOTE).collect();
    if short.len() < body.len() {
        short.push('…');
    }
    format!(": {short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context<'static> {
        Context {
            registry: "r.example",
            location: "r.example/pypi/six".to_owned(),
            what: "blob sha256:abc".to_owned(),
        }
    }

    fn server(code: u16, message: &str) -> StoreError {
        ctx().status(code, message)
    }

    #[test]
    fn every_shape_of_401_is_unauthorized() {
        let shapes = [
            server(401, ""),
            server(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            ),
            server(
                400,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            ),
            ctx().token(TokenError::Refused(StatusCode::UNAUTHORIZED)),
        ];
        for e in shapes {
            assert!(
                matches!(e, StoreError::Unauthorized { status: 401, .. }),
                "not mapped to 401: {e:?}"
            );
        }
        assert!(matches!(
            server(403, "denied"),
            StoreError::Unauthorized { status: 403, .. }
        ));
    }

    #[test]
    fn a_403_names_the_repository_and_does_not_blame_the_password() {
        let msg = server(403, "").to_string();
        assert!(msg.contains("r.example/pypi/six"), "{msg}");
        assert!(msg.contains("may not exist"), "{msg}");
        assert!(
            !msg.contains("password") && !msg.contains("refused"),
            "{msg}"
        );
        let msg = server(401, "").to_string();
        assert!(msg.contains("r.example/pypi/six"), "{msg}");
        assert!(msg.contains("authentication failed"), "{msg}");
    }

    #[test]
    fn digest_invalid_names_the_blob() {
        let e = server(
            400,
            r#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#,
        );
        let msg = e.to_string();
        assert!(msg.contains("blob sha256:abc"), "{msg}");
        assert!(msg.contains("DIGEST_INVALID"), "{msg}");
    }

    #[test]
    fn unknown_manifest_or_repository_is_not_found() {
        for code in ["MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"] {
            let body = format!(r#"{{"errors":[{{"code":"{code}","message":"x"}}]}}"#);
            assert!(matches!(server(404, &body), StoreError::NotFound { .. }));
        }
        assert!(matches!(server(404, ""), StoreError::NotFound { .. }));
    }

    #[test]
    fn giving_up_says_how_often_and_within_what() {
        let e = ctx().gave_up(server(503, ""), 5, std::time::Duration::from_secs(3));
        assert_eq!(
            e.to_string(),
            "r.example/pypi/six: blob sha256:abc: the registry answered HTTP 503; gave up \
             after 5 tries within --retry-timeout 3.0 s"
        );
    }

    #[test]
    fn other_codes_are_quoted_shortly() {
        let e = server(500, &"x".repeat(5000));
        let msg = e.to_string();
        assert!(msg.contains("HTTP 500"), "{msg}");
        assert!(msg.len() < 500, "{msg}");
    }
}

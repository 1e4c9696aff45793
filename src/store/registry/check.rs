//! Asking a registry whether it accepts a username and password, before `opp login` saves
//! them: `GET /v2/`, and on a 401 the scheme its `WWW-Authenticate` names: `Basic` (the same
//! request with the credentials) or `Bearer realm=...` (a token from the realm, fetched with
//! the credentials, as docker does).
//!
//! It does not save anything, and does not keep the token (the store's own bearer handling
//! does that for pushes and pulls). Errors are [`StoreError`]s, so a refusal exits with the
//! authentication status; no error or log line carries the password.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;

use super::{install_crypto_provider, is_loopback};
use crate::store::StoreError;

/// How long the registry may take to answer each request.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the registry said about the credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It accepted them.
    Accepted,
    /// It answered `/v2/` without asking for any credentials.
    NotRequired,
}

/// Checks `username`/`password` against `host` (`127.0.0.1:5000`, `ghcr.io`). Loopback hosts
/// and `plain_http` use plain HTTP. A refusal is [`StoreError::Unauthorized`].
pub async fn check(
    host: &str,
    plain_http: bool,
    username: &str,
    password: &str,
) -> Result<Verdict, StoreError> {
    install_crypto_provider();
    let scheme = if plain_http || is_loopback(host) {
        "http"
    } else {
        "https"
    };
    let unreachable = |e: reqwest::Error| StoreError::Unreachable {
        registry: host.to_owned(),
        source: Box::new(e.without_url()),
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(TIMEOUT)
        .user_agent(concat!("opp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(unreachable)?;
    let ping = format!("{scheme}://{host}/v2/");
    let first = client.get(&ping).send().await.map_err(unreachable)?;
    if first.status().is_success() {
        return Ok(Verdict::NotRequired);
    }
    if first.status() != StatusCode::UNAUTHORIZED {
        return Err(unexpected(host, "/v2/", first.status()));
    }
    let challenge = first
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (request, what) = match parse_challenge(&challenge) {
        Challenge::Basic => (client.get(&ping), "/v2/"),
        Challenge::Bearer { realm, service } => {
            let mut req = client.get(&realm);
            if let Some(s) = service {
                req = req.query(&[("service", s)]);
            }
            (req, "the token service")
        }
        Challenge::Unknown => {
            return Err(StoreError::Registry {
                location: host.to_owned(),
                message: "it asks for credentials in a way opp does not know (WWW-Authenticate \
                          is neither Basic nor Bearer)"
                    .into(),
            });
        }
    };
    tracing::debug!(host, what, "checking the credentials");
    let answer = request
        .basic_auth(username, Some(password))
        .send()
        .await
        .map_err(unreachable)?;
    match answer.status() {
        s if s.is_success() => Ok(Verdict::Accepted),
        s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => Err(StoreError::Unauthorized {
            registry: host.to_owned(),
            location: host.to_owned(),
            status: s.as_u16(),
        }),
        s => Err(unexpected(host, what, s)),
    }
}

fn unexpected(host: &str, what: &str, status: StatusCode) -> StoreError {
    StoreError::Registry {
        location: host.to_owned(),
        message: format!("{what} answered HTTP {status} while checking the credentials"),
    }
}

/// The part of a `WWW-Authenticate` header that matters here.
#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Unknown,
}

/// Parses `Basic realm="x"` or `Bearer realm="https://auth/token",service="reg",scope="..."`.
fn parse_challenge(header: &str) -> Challenge {
    let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Challenge::Basic;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::Unknown;
    }
    let mut realm = None;
    let mut service = None;
    for (key, value) in auth_params(params) {
        match key.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value),
            "service" => service = Some(value),
            _ => {}
        }
    }
    match realm {
        Some(realm) if !realm.is_empty() => Challenge::Bearer { realm, service },
        _ => Challenge::Unknown,
    }
}

/// `key="value", key=value` pairs (RFC 7235 auth-params; quoted values may hold commas).
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (
                quoted[..end].to_owned(),
                quoted.get(end + 1..).unwrap_or(""),
            )
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.push((key, value));
        rest = next.trim_start().trim_start_matches(',');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(r#"Basic realm="opp-test""#),
            Challenge::Basic
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push""#
            ),
            Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into())
            }
        );
        assert_eq!(
            parse_challenge("bearer realm=http://127.0.0.1:1/t"),
            Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: None
            }
        );
        assert_eq!(parse_challenge("Negotiate"), Challenge::Unknown);
        assert_eq!(parse_challenge(""), Challenge::Unknown);
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("ghcr.io"));
    }
}

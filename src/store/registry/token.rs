//! Bearer tokens for every request the store sends: from a username and password, for
//! anonymous access, and from docker identity tokens (OAuth2 refresh tokens, which ACR and
//! credential helpers answering `<token>` hand out); per repository scope, for the
//! registry-wide `registry:catalog:*` scope, and for several scopes at once (a mount).
//!
//! The registry's `WWW-Authenticate: Bearer realm=..,service=..` challenge is read once from
//! `GET /v2/`. An identity token is exchanged as docker does: `POST realm` with
//! `grant_type=refresh_token`, falling back to `GET realm` with the token as the basic
//! password where the token server has no OAuth2 endpoint. Tokens are cached per scope for
//! their lifetime. Tokens and secrets never reach a log line or an error message: a refused
//! exchange reports only its HTTP status.
//!
//! The same challenge tells whether the registry uses bearer tokens at all: it is the one
//! `GET /v2/` a store makes. This module does not decide which scope an operation needs, nor
//! retry operations ([`super::session`] does), but it reports a busy registry or token server
//! (429, 5xx) as [`TokenError::Busy`] so that they can be retried.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use tokio::sync::{Mutex, OnceCell};

/// Sent as `client_id` in OAuth2 requests, as docker sends `docker`.
const CLIENT_ID: &str = "opp";
/// A token whose lifetime the server does not state lasts this long (docker's minimum).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// A cached token is renewed this long before it expires, so it never expires mid-request.
const MARGIN: Duration = Duration::from_secs(10);

/// What the token server is shown.
#[derive(Clone)]
pub(super) enum Grant {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// A docker identity token (OAuth2 refresh token).
    Refresh(String),
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Anonymous => f.write_str("Anonymous"),
            Grant::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Grant::Refresh(_) => f.write_str("Refresh(<redacted>)"),
        }
    }
}

/// Why no token could be had.
#[derive(Debug)]
pub(super) enum TokenError {
    /// The registry or token server could not be asked.
    Request(reqwest::Error),
    /// The token server refused (401, 403) or failed.
    Refused(StatusCode),
    /// The registry or token server is busy (429, 502, 503, 504): worth another try, after
    /// the delay it asked for, if any.
    Busy(StatusCode, Option<Duration>),
    /// The token server answered 200 without a token.
    NoToken,
}

/// The realm and service of a registry's bearer challenge.
#[derive(Clone, Debug)]
struct Challenge {
    realm: String,
    service: Option<String>,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// Gets and caches bearer tokens for one registry.
pub(super) struct TokenSource {
    http: reqwest::Client,
    /// `http://host` or `https://host`.
    base: String,
    grant: Grant,
    /// `None` inside: the registry does not ask for bearer tokens.
    challenge: OnceCell<Option<Challenge>>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl TokenSource {
    pub(super) fn new(http: reqwest::Client, base: String, grant: Grant) -> TokenSource {
        TokenSource {
            http,
            base,
            grant,
            challenge: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Drops the cached token for `scopes`, which the registry refused.
    pub(super) async fn forget(&self, scopes: &[String]) {
        self.cache.lock().await.remove(&scopes.join(" "));
    }

    /// A token for `scopes` (`repository:pypi/six:pull,push`, `registry:catalog:*`; several
    /// for a cross-repository mount), from the cache while it lasts. `Ok(None)`: the registry
    /// does not use bearer tokens.
    pub(super) async fn token(&self, scopes: &[String]) -> Result<Option<String>, TokenError> {
        let scope = scopes.join(" ");
        let scope = scope.as_str();
        let Some(challenge) = self
            .challenge
            .get_or_try_init(|| self.read_challenge())
            .await?
        else {
            return Ok(None);
        };
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(scope).filter(|c| Instant::now() < c.renew_at) {
            tracing::debug!(scope, "reusing a cached bearer token");
            return Ok(Some(c.token.clone()));
        }
        let (token, lifetime) = self.fetch(challenge, scopes).await?;
        let renew_at = Instant::now() + lifetime.saturating_sub(MARGIN);
        cache.insert(
            scope.to_owned(),
            Cached {
                token: token.clone(),
                renew_at,
            },
        );
        Ok(Some(token))
    }

    async fn read_challenge(&self) -> Result<Option<Challenge>, TokenError> {
        let url = format!("{}/v2/", self.base);
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(TokenError::Request)?;
        let status = res.status();
        if super::retry::retryable_status(status, super::retry::Step::Read) {
            return Err(TokenError::Busy(status, retry_after(&res)));
        }
        let challenge = res
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .find_map(bearer_challenge);
        tracing::debug!(?challenge, "registry authentication challenge");
        Ok(challenge)
    }

    async fn fetch(
        &self,
        challenge: &Challenge,
        scopes: &[String],
    ) -> Result<(String, Duration), TokenError> {
        let joined = scopes.join(" ");
        let scope = joined.as_str();
        let service = challenge.service.as_deref().unwrap_or_default();
        tracing::debug!(realm = %challenge.realm, service, scope, grant = ?self.grant, "requesting a bearer token");
        let res = match &self.grant {
            Grant::Refresh(refresh) => {
                let form = form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh)
                    .append_pair("service", service)
                    .append_pair("scope", scope)
                    .append_pair("client_id", CLIENT_ID)
                    .finish();
                let res = self
                    .http
                    .post(&challenge.realm)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form)
                    .send()
                    .await
                    .map_err(TokenError::Request)?;
                if matches!(
                    res.status(),
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ) {
                    tracing::debug!(
                        "the token server has no OAuth2 endpoint: sending the identity token as a password"
                    );
                    self.get(challenge, scopes, Some(("<token>", refresh)))
                        .await?
                } else {
                    res
                }
            }
            Grant::Basic { username, password } => {
                self.get(challenge, scopes, Some((username, password)))
                    .await?
            }
            Grant::Anonymous => self.get(challenge, scopes, None).await?,
        };
        let status = res.status();
        if super::retry::retryable_status(status, super::retry::Step::Read) {
            return Err(TokenError::Busy(status, retry_after(&res)));
        }
        if !status.is_success() {
            tracing::debug!(%status, scope, "the token server refused");
            return Err(TokenError::Refused(status));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: Answer = res.json().await.map_err(TokenError::Request)?;
        let token = answer
            .access_token
            .or(answer.token)
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::NoToken)?;
        let lifetime = answer
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs)
            .max(DEFAULT_LIFETIME);
        Ok((token, lifetime))
    }

    async fn get(
        &self,
        challenge: &Challenge,
        scopes: &[String],
        basic: Option<(&str, &str)>,
    ) -> Result<reqwest::Response, TokenError> {
        // One `scope` parameter per scope, as docker sends them.
        let mut query: Vec<(&str, &str)> = scopes.iter().map(|s| ("scope", s.as_str())).collect();
        if let Some(s) = &challenge.service {
            query.push(("service", s));
        }
        if let Some((user, _)) = basic.filter(|(u, _)| *u != "<token>") {
            query.push(("account", user));
        }
        let mut req = self.http.get(&challenge.realm).query(&query);
        if let Some((user, password)) = basic {
            req = req.basic_auth(user, Some(password));
        }
        req.send().await.map_err(TokenError::Request)
    }
}

/// The delay a `Retry-After` header asks for.
fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let value = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    super::retry::parse_retry_after(value, std::time::SystemTime::now())
}

/// The realm and service of a `Bearer` challenge, or `None` for other schemes.
fn bearer_challenge(header: &str) -> Option<Challenge> {
    let parser = http_auth::parser::ChallengeParser::new(header);
    for challenge in parser.flatten() {
        if !challenge.scheme.eq_ignore_ascii_case("bearer") {
            continue;
        }
        let param = |name: &str| {
            challenge
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        return param("realm").map(|realm| Challenge {
            realm,
            service: param("service"),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_challenges_and_ignores_basic_ones() {
        let c = bearer_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#,
        )
        .unwrap();
        assert_eq!(c.realm, "https://auth.example/token");
        assert_eq!(c.service.as_deref(), Some("registry.example"));
        assert!(bearer_challenge(r#"Basic realm="opp-test""#).is_none());
        let c = bearer_challenge(r#"bearer realm="https://ghcr.io/token""#).unwrap();
        assert_eq!(c.service, None);
    }

    #[test]
    fn grants_do_not_show_secrets() {
        let g = Grant::Basic {
            username: "u".into(),
            password: "pw-SECRET".into(),
        };
        assert!(!format!("{g:?}").contains("SECRET"));
        assert!(!format!("{:?}", Grant::Refresh("tok-SECRET".into())).contains("SECRET"));
    }
}

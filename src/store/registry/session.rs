//! One registry's HTTP session: every request the store sends goes through here, gets its
//! credentials, and is tried again when the registry is busy or the connection broke.
//!
//! Credentials: the registry's `GET /v2/` is asked once per store ([`TokenSource`]); where it
//! answers with a bearer challenge each request carries a token for its scope, reused while
//! it lasts (a 401 with a cached token gets one fresh token and one more try); otherwise
//! username and password go along as basic auth, and anonymous callers send nothing.
//!
//! Retries: [`Session::retrying`] runs one step (a request, or a whole blob upload) until it
//! succeeds, fails for good, or its budget ([`Session::retry_timeout`]) would run out during
//! the next wait; [`super::retry`] decides what is retried and how long to wait. Each retry is
//! logged at `info` (shown with `-v`) with its reason and delay.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use super::error::{Context, chain};
use super::retry::{self, Step};
use super::token::{Grant, TokenError, TokenSource};
use crate::store::{Result, StoreError};

/// Why one try of a step failed.
pub(super) enum Failure {
    /// For good: reported as it is.
    Fatal(StoreError),
    /// Worth another try: `error` is reported if the budget runs out first.
    Retry {
        error: StoreError,
        /// What the registry asked to wait, if it said.
        asked: Option<Duration>,
        /// For the log line: `HTTP 503 Service Unavailable`, `the connection broke`.
        reason: String,
    },
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Fatal(e)
    }
}

/// One request that can be sent again as it is (its body, if any, is in memory).
pub(super) struct Call<'a> {
    pub method: Method,
    /// A path on the registry (`/v2/pypi/six/manifests/1.0`), or a full URL it handed out.
    pub url: String,
    pub scopes: &'a [String],
    pub step: Step,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, url: String, scopes: &'a [String], step: Step) -> Call<'a> {
        Call {
            method,
            url,
            scopes,
            step,
            headers: HeaderMap::new(),
            body: None,
        }
    }
}

pub(super) struct Session {
    /// `http://host` or `https://host`.
    pub base: String,
    /// Every request but blob uploads; its read timeout bounds each wait for the registry.
    pub http: reqwest::Client,
    /// Blob uploads only: no read timeout, which would bound the whole upload.
    pub uploader: reqwest::Client,
    pub tokens: TokenSource,
    /// How long one step may keep trying, waits included.
    pub retry_timeout: Duration,
}

impl Session {
    /// `path` on this registry, or `url` as it is when it is already absolute.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    /// Whether `path_or_url` is on this registry (an upload URL may name another host, which
    /// is not shown the registry's credentials).
    pub fn on_registry(&self, path_or_url: &str) -> bool {
        let url = self.url(path_or_url);
        url.strip_prefix(&self.base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    }

    /// Adds the credentials `scopes` need to `req`. Returns whether a bearer token was used.
    pub async fn authorize(
        &self,
        req: RequestBuilder,
        scopes: &[String],
        cx: &Context<'_>,
    ) -> Result<(RequestBuilder, bool), Failure> {
        match self.tokens.token(scopes).await {
            Ok(Some(token)) => Ok((req.bearer_auth(token), true)),
            Ok(None) => Ok((
                match self.tokens.grant() {
                    Grant::Basic { username, password } => req.basic_auth(username, Some(password)),
                    Grant::Anonymous | Grant::Refresh(_) => req,
                },
                false,
            )),
            Err(e) => Err(token_failure(e, cx)),
        }
    }

    /// Sends `call` once with its credentials; after a 401 to a bearer token, once more with
    /// a fresh token. Any answer is returned, but a busy one (see [`retry`]) and a broken
    /// connection are [`Failure::Retry`].
    pub async fn send_once(&self, call: &Call<'_>, cx: &Context<'_>) -> Result<Response, Failure> {
        let mut refreshed = false;
        loop {
            let mut req = self
                .http
                .request(call.method.clone(), self.url(&call.url))
                .headers(call.headers.clone());
            if let Some(body) = &call.body {
                req = req.body(body.clone());
            }
            let (req, bearer) = if self.on_registry(&call.url) {
                self.authorize(req, call.scopes, cx).await?
            } else {
                (req, false)
            };
            let res = req.send().await.map_err(|e| transport_failure(e, cx))?;
            if res.status() == StatusCode::UNAUTHORIZED && bearer && !refreshed {
                tracing::debug!(url = %call.url, "401 with a bearer token: asking for a fresh one");
                self.tokens.forget(call.scopes).await;
                refreshed = true;
                continue;
            }
            return busy(res, call.step, cx).await;
        }
    }

    /// [`Session::send_once`], retried: the registry's answer once it is not busy (any status;
    /// the caller knows which are errors).
    pub async fn send(&self, call: Call<'_>, cx: &Context<'_>) -> Result<Response> {
        self.retrying(cx, |_| self.send_once(&call, cx)).await
    }

    /// Runs `attempt` (given the number of the try, from 1) until it succeeds or fails for
    /// good, waiting between tries as [`retry::delay`] says, within the retry budget.
    pub async fn retrying<T, F, Fut>(&self, cx: &Context<'_>, mut attempt: F) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let started = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt(tries).await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry {
                    error,
                    asked,
                    reason,
                }) => {
                    let wait = retry::delay(tries, asked, fastrand::f64());
                    if started.elapsed() + wait > self.retry_timeout {
                        tracing::info!(
                            what = %cx.what, location = %cx.location, tries, %reason,
                            "giving up: the next try would end past the retry timeout ({})",
                            retry::show(self.retry_timeout)
                        );
                        return Err(cx.gave_up(error, tries, self.retry_timeout));
                    }
                    tracing::info!(
                        what = %cx.what, location = %cx.location, attempt = tries,
                        asked = asked.is_some(),
                        "retrying in {}: {reason}",
                        retry::show(wait)
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// `res` as it is, unless it is busy ([`retry::retryable_status`]): then a
/// [`Failure::Retry`] with the delay it asked for, from `Retry-After` or the body.
pub(super) async fn busy(res: Response, step: Step, cx: &Context<'_>) -> Result<Response, Failure> {
    let status = res.status();
    if !retry::retryable_status(status, step) {
        return Ok(res);
    }
    let header = retry_after(res.headers());
    let body = super::body::error_text(res).await;
    let asked = header.or_else(|| retry::body_retry_after(&body));
    Err(Failure::Retry {
        error: cx.status(status.as_u16(), &body),
        asked,
        reason: format!("HTTP {status}"),
    })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    retry::parse_retry_after(value, SystemTime::now())
}

/// A request that got no answer: retried when the connection broke, else fatal.
pub(super) fn transport_failure(e: reqwest::Error, cx: &Context<'_>) -> Failure {
    if retry::broken_connection(&e) {
        let e = e.without_url();
        let reason = format!("the connection broke: {}", chain(&e));
        Failure::Retry {
            error: cx.request(e),
            asked: None,
            reason,
        }
    } else {
        Failure::Fatal(cx.request(e))
    }
}

fn token_failure(e: TokenError, cx: &Context<'_>) -> Failure {
    match e {
        TokenError::Busy(status, asked) => Failure::Retry {
            error: cx.token(TokenError::Busy(status, asked)),
            asked,
            reason: format!("HTTP {status} while authenticating"),
        },
        TokenError::Request(e) if retry::broken_connection(&e) => transport_failure(e, cx),
        e => Failure::Fatal(cx.token(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_only_to_the_registry() {
        super::super::install_crypto_provider();
        let http = reqwest::Client::new();
        let base = "https://r.example".to_owned();
        let session = Session {
            base: base.clone(),
            http: http.clone(),
            uploader: http.clone(),
            tokens: TokenSource::new(http, base, Grant::Anonymous),
            retry_timeout: retry::DEFAULT_TIMEOUT,
        };
        for on in [
            "/v2/a/blobs/uploads/1",
            "https://r.example/v2/a/blobs/uploads/1?_state=x",
        ] {
            assert!(session.on_registry(on), "{on}");
        }
        for off in [
            "https://r.example.evil.test/v2/a/blobs/uploads/1",
            "https://storage.example/upload?sig=1",
            "http://r.example/v2/",
        ] {
            assert!(!session.on_registry(off), "{off}");
        }
    }
}

//! Requests `opp proxy` does not serve, sent raw as a misbehaving or hostile client would, over
//! plain HTTP and over HTTPS: each gets a status line at once, never a hang or a connection
//! dropped without an answer.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

#[path = "support/served.rs"]
mod served;
mod support;

use std::time::Duration;

use served::Served;
use support::cli::Env;

/// The proxy over plain HTTP and over HTTPS, each named for the failure report.
fn both(env: &Env) -> Vec<(&'static str, Served)> {
    let tmp = env.root().join("tmp");
    vec![
        ("http", Served::start(env, &[], &["--http"], &tmp)),
        ("https", Served::start(env, &[], &[], &tmp)),
    ]
}

/// The status line and headers of an answer, lowercased.
fn head(answer: &str) -> String {
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[test]
fn an_authenticated_connect_is_answered_405_with_allow() {
    let env = Env::new();
    let mut failures = Vec::new();
    for (scheme, served) in both(&env) {
        let request = format!(
            "CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\nAuthorization: Bearer {0}\r\n\
             Proxy-Authorization: Bearer {0}\r\n\r\n",
            served.token
        );
        match served.raw(request.as_bytes(), Duration::from_secs(10)) {
            Ok(answer) => {
                let head = head(&answer);
                if !head.starts_with("http/1.1 405 ")
                    || !head.contains("\r\nallow: get, head, post, put")
                {
                    failures.push(format!("{scheme}: {head}"));
                }
            }
            Err(e) => failures.push(format!("{scheme}: no answer: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_one_megabyte_url_is_answered_414() {
    let env = Env::new();
    let mut failures = Vec::new();
    for (scheme, served) in both(&env) {
        let request = format!(
            "GET /pypi/simple/{} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\r\n",
            "a".repeat(1_000_000),
            served.token
        );
        match served.raw(request.as_bytes(), Duration::from_secs(20)) {
            Ok(answer) if head(&answer).starts_with("http/1.1 414 ") => {}
            Ok(answer) => failures.push(format!("{scheme}: {}", head(&answer))),
            Err(e) => failures.push(format!("{scheme}: no answer: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

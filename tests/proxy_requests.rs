//! Requests `opp proxy` does not serve, sent raw as a misbehaving or hostile client would, over
//! plain HTTP and over HTTPS: each gets a status line at once, never a hang or a connection
//! dropped without an answer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "support/served.rs"]
mod served;
mod support;

use std::time::Duration;

use sha2::Digest as _;

use served::Served;
use support::cli::Env;
use support::registry::Registry;

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

/// What Terraform is told when it asks a real registry through the proxy for a provider or
/// module that was never pushed: `404` with `{"errors": [...]}` naming it, as every other
/// frontend answers a missing package (the registry's own answer, NAME_UNKNOWN, used to
/// come out as a `502`). Every path is checked and every failing one reported.
#[test]
fn a_provider_or_module_that_is_not_stored_is_terraforms_404() {
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/team", reg.host);
    let served = Served::start(
        &env,
        &["--registry", &registry],
        &["--http", "--ecosystems", "terraform"],
        &env.root().join("tmp"),
    );
    let cases = [
        (
            "/terraform/providers/registry.terraform.io/acme/absent/index.json",
            "acme/absent",
        ),
        (
            "/terraform/providers/registry.terraform.io/acme/absent/1.0.0.json",
            "acme/absent",
        ),
        (
            "/terraform/modules/v1/acme/absent/null/versions",
            "acme/absent/null",
        ),
    ];
    let mut failures = Vec::new();
    for (path, name) in cases {
        let body = env.root().join("body.json");
        let out = served.curl(path, &body, &[]);
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        let text = std::fs::read_to_string(&body).unwrap_or_default();
        let errors: Vec<String> = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| serde_json::from_value(v["errors"].clone()).ok())
            .unwrap_or_default();
        let named = errors.len() == 1 && errors[0].contains(name);
        if status != "404" || !named {
            failures.push(format!("{path}: {status} {text}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A provider version whose zip the registry no longer has (deleted under the store) is a
/// file that is not stored: Terraform gets `404` with `{"errors": [...]}`, as pip, nuget and
/// gem get a 404 for a file the registry lost. It was a `502` here alone.
#[test]
fn a_provider_zip_the_registry_lost_is_terraforms_404() {
    use support::terraform;
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/team", reg.host);
    let platform = ("linux", "amd64");
    let rel = terraform::provider_release(&env.root().join("rel"), "hello", "1.2.3", &[platform]);
    support::cli::run_ok(
        env.opp()
            .args([
                "--registry",
                &registry,
                "push",
                "terraform-provider",
                "acme/hello",
            ])
            .arg(&rel),
    );
    let zip = terraform::provider_zip_bytes("hello", "1.2.3", platform.0, platform.1);
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&zip)));
    let deleted = std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
        ])
        .arg(format!(
            "http://{}/v2/team/terraform-provider/acme/hello/blobs/{digest}",
            reg.host
        ))
        .output()
        .expect("run curl (apt-get install curl)");
    assert_eq!(
        String::from_utf8_lossy(&deleted.stdout),
        "202",
        "the blob was not deleted"
    );
    let served = Served::start(
        &env,
        &["--registry", &registry],
        &["--http", "--ecosystems", "terraform"],
        &env.root().join("tmp"),
    );
    let body = env.root().join("body.json");
    let out = served.curl(
        &format!(
            "/terraform/providers/registry.terraform.io/acme/hello/{}",
            terraform::zip_name("hello", "1.2.3", platform.0, platform.1)
        ),
        &body,
        &[],
    );
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = std::fs::read_to_string(&body).unwrap_or_default();
    let errors: Vec<String> = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::from_value(v["errors"].clone()).ok())
        .unwrap_or_default();
    assert!(
        status == "404" && errors.len() == 1 && errors[0].contains(&digest),
        "{status} {text}"
    );
}

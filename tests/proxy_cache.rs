//! `opp proxy` over a real registry keeps what it read for `--cache-ttl`: a project page
//! served twice within it reads the registry once; after it a page shows a version pushed by
//! someone else; a `twine upload` through the proxy shows on the next page at once. Registry
//! requests are counted from docker-registry's own access log.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_pypi/harness.rs"]
mod harness;
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use opp::proxy::pypi::PypiFrontend;
use support::cli::{Env, run_ok};
use support::registry::Registry;

/// `opp proxy --http --ecosystems pypi --cache-ttl TTL` serving `registry`, until dropped.
struct Served {
    child: Child,
    url: String,
    token: String,
    rt: tokio::runtime::Runtime,
}

impl Served {
    fn start(env: &Env, registry: &str, ttl: &str) -> Served {
        let mut child = env
            .opp()
            .args([
                "--registry",
                registry,
                "proxy",
                "--http",
                "--ecosystems",
                "pypi",
            ])
            .args(["--cache-ttl", ttl])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start opp proxy");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let (mut url, mut token) = (None, None);
        while url.is_none() || token.is_none() {
            let mut line = String::new();
            if lines.read_line(&mut line).expect("read opp's output") == 0 {
                panic!("opp proxy ended before printing its URL and secret");
            }
            let line = line.trim();
            if let Some(v) = line.strip_prefix("export OPP_PROXY_URL=") {
                url = Some(v.to_owned());
            }
            if let Some(v) = line.strip_prefix("export OPP_PROXY_TOKEN=") {
                token = Some(v.to_owned());
            }
        }
        // The rest of the instructions stays in the pipe (a few KiB).
        std::mem::forget(lines);
        Served {
            child,
            url: url.unwrap_or_default(),
            token: token.unwrap_or_default(),
            rt: harness::runtime(),
        }
    }

    /// A project page as JSON (PEP 691): the versions it lists.
    fn versions(&self, project: &str) -> Vec<String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let request = client
            .get(format!("{}/pypi/simple/{project}/", self.url))
            .header("accept", harness::JSON)
            .bearer_auth(&self.token);
        let page: serde_json::Value = self.rt.block_on(async {
            let response = request.send().await.expect("the proxy answers");
            assert_eq!(response.status(), 200, "page of {project}");
            response.json().await.expect("a JSON page")
        });
        let mut versions: Vec<String> = page["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        versions.sort();
        versions
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registry requests since `before` that touch `repository`'s tags or manifests.
fn reads(reg: &Registry, before: usize, repository: &str) -> Vec<String> {
    let prefix = format!("/v2/{repository}/");
    reg.requests()
        .into_iter()
        .skip(before)
        .filter(|r| r.contains(&prefix))
        .collect()
}

fn push(env: &Env, registry: &str, name: &str, version: &str) {
    let dist = env.root().join(format!("dist-{name}-{version}"));
    let wheel = harness::wheel(&dist, name, version, &[], "");
    run_ok(
        env.opp()
            .args(["--registry", registry, "push", "pypi"])
            .arg(&wheel),
    );
}

/// Where the mapper keeps `opp-cached` under the `team` prefix.
const REPO: &str = "team/pypi/opp_cached";

#[test]
fn a_page_served_twice_within_the_ttl_reads_the_registry_once() {
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/team", reg.host);
    push(&env, &registry, "opp-cached", "1.0");
    push(&env, &registry, "opp-cached", "1.1");
    let proxy = Served::start(&env, &registry, "60s");

    let before = reg.requests().len();
    assert_eq!(proxy.versions("opp-cached"), ["1.0", "1.1"]);
    let first = reads(&reg, before, REPO);
    let tag_lists = first.iter().filter(|r| r.contains("/tags/list")).count();
    assert_eq!(tag_lists, 1, "{first:#?}");
    for version in ["1.0", "1.1"] {
        let index = format!("/manifests/{version}");
        let n = first.iter().filter(|r| r.ends_with(&index)).count();
        assert_eq!(n, 1, "the index of {version} is read once: {first:#?}");
    }

    let before = reg.requests().len();
    assert_eq!(proxy.versions("opp-cached"), ["1.0", "1.1"]);
    let second = reads(&reg, before, REPO);
    assert!(second.is_empty(), "the second page asked: {second:#?}");
}

#[test]
fn after_the_ttl_a_page_shows_a_version_pushed_by_someone_else() {
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/team", reg.host);
    push(&env, &registry, "opp-cached", "1.0");
    let proxy = Served::start(&env, &registry, "2s");
    assert_eq!(proxy.versions("opp-cached"), ["1.0"]);

    push(&env, &registry, "opp-cached", "2.0");
    std::thread::sleep(Duration::from_millis(2500));
    let before = reg.requests().len();
    assert_eq!(proxy.versions("opp-cached"), ["1.0", "2.0"]);
    // One tag list, and the unchanged 1.0 costs one look at its tag, nothing by digest.
    let after = reads(&reg, before, REPO);
    let tag_lists = after.iter().filter(|r| r.contains("/tags/list")).count();
    assert_eq!(tag_lists, 1, "{after:#?}");
    let old = after
        .iter()
        .filter(|r| r.ends_with("/manifests/1.0"))
        .count();
    assert_eq!(old, 1, "{after:#?}");
}

#[test]
fn a_twine_upload_through_the_proxy_is_on_the_next_page_at_once() {
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/team", reg.host);
    push(&env, &registry, "opp-cached", "1.0");
    let proxy = Served::start(&env, &registry, "10m");
    assert_eq!(proxy.versions("opp-cached"), ["1.0"]);

    let wheel = harness::wheel(&env.root().join("up"), "opp-cached", "1.1", &[], "");
    run_ok(
        harness::twine(&env)
            .args(["upload", "--disable-progress-bar"])
            .arg(&wheel)
            .env("TWINE_REPOSITORY_URL", PypiFrontend::upload_url(&proxy.url))
            .env("TWINE_USERNAME", "__token__")
            .env("TWINE_PASSWORD", &proxy.token)
            .env("TWINE_NON_INTERACTIVE", "1"),
    );
    assert_eq!(proxy.versions("opp-cached"), ["1.0", "1.1"]);
}

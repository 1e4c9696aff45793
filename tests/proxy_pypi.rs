//! The proxy's PyPI frontend with the real clients: packages pushed with `opp push pypi` are
//! installed by pip and uv (over HTTP and HTTPS) from the Simple API served in-process;
//! twine and `uv publish` upload through it and `opp pull` gets the same bytes back; the
//! pages, files, ranges and `--upstream` behave as PEP 503/691/658/700 and the issue say.
//! The in-process server and helpers are in `proxy_pypi/harness.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_pypi/harness.rs"]
mod harness;
mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use harness::{JSON, Proxy, form, runtime, twine, upstream, uv, wheel};
use opp::proxy::Frontend;
use opp::proxy::pypi::PypiFrontend;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, ATTRS_WHEELS, SIX_SDIST, SIX_WHEEL};

/// `opp-demo-app` 1.0 requiring `opp-demo-lib`, and `opp-demo-lib` 2.0, pushed into the store.
fn push_app_and_lib(env: &Env) {
    let dir = env.root().join("dist");
    wheel(&dir, "opp-demo-lib", "2.0", &[], "");
    wheel(
        &dir,
        "opp-demo-app",
        "1.0",
        &["opp-demo-lib>=2"],
        "from opp_demo_lib import VERSION as LIB_VERSION",
    );
    run_ok(env.opp().args(["push", "pypi"]).arg(&dir));
}

/// Imports the app from `site` and checks it found its dependency.
fn app_imports(env: &Env, site: &Path) {
    let out = run_ok(
        env.python()
            .args([
                "-c",
                "import opp_demo_app as a; print(a.VERSION, a.LIB_VERSION)",
            ])
            .env("PYTHONPATH", site),
    );
    assert_eq!(stdout(&out).trim(), "1.0 2.0");
}

/// pip with `--index-url`, and uv configured only by the child environment, install the app
/// and its dependency into `site-pip` / `site-uv`, and both import.
fn pip_and_uv_install(env: &Env, proxy: &Proxy, pip_flags: &[String]) {
    let site = env.root().join("site-pip");
    run_ok(
        proxy
            .configure(&mut env.pip())
            .args(["install", "--no-cache-dir", "--target"])
            .arg(&site)
            .args(pip_flags)
            .arg("opp-demo-app"),
    );
    app_imports(env, &site);

    let site = env.root().join("site-uv");
    run_ok(
        proxy
            .configure(&mut uv(env))
            .args(["pip", "install", "--no-cache", "--target"])
            .arg(&site)
            .arg("--python")
            .arg(support::tool("python"))
            .arg("opp-demo-app"),
    );
    app_imports(env, &site);
}

#[test]
fn pip_and_uv_install_a_package_and_its_dependency_over_http() {
    let env = Env::new();
    push_app_and_lib(&env);
    let proxy = Proxy::http(&env, None);
    let index = PypiFrontend::index_url(&proxy.state.base_url);
    pip_and_uv_install(&env, &proxy, &["--index-url".to_owned(), index]);
}

#[test]
fn pip_and_uv_install_a_package_and_its_dependency_over_https() {
    let env = Env::new();
    push_app_and_lib(&env);
    let proxy = Proxy::https(&env);
    assert!(proxy.state.base_url.starts_with("https://localhost:"));
    let vars = proxy.child_env();
    for key in [
        "PIP_CERT",
        "REQUESTS_CA_BUNDLE",
        "TWINE_CERT",
        "SSL_CERT_FILE",
    ] {
        assert!(
            vars.iter().any(|(k, _)| k == key),
            "{key} missing: {vars:?}"
        );
    }
    pip_and_uv_install(&env, &proxy, &[]);
}

#[test]
fn twine_and_uv_publish_upload_into_the_store_and_other_bytes_get_409() {
    let env = Env::new();
    let proxy = Proxy::http(&env, None);
    let dist = env.root().join("dist");
    let by_twine = wheel(&dist, "opp-twined", "1.0", &[], "");
    let by_uv = wheel(&dist, "opp-uv-published", "0.1", &[], "");

    run_ok(
        proxy
            .configure(&mut twine(&env))
            .args(["upload", "--disable-progress-bar"])
            .arg(&by_twine),
    );
    run_ok(proxy.configure(&mut uv(&env)).arg("publish").arg(&by_uv));
    // The same bytes again are fine (nothing changes).
    run_ok(proxy.configure(&mut uv(&env)).arg("publish").arg(&by_uv));

    for (name, original) in [("opp-twined", &by_twine), ("opp-uv-published", &by_uv)] {
        let out = env.root().join(format!("pulled-{name}"));
        run_ok(env.opp().args(["pull", "pypi", name, "-o"]).arg(&out));
        let file = out.join(original.file_name().unwrap());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            std::fs::read(original).unwrap()
        );
    }

    // Other bytes under the same file names.
    let other = env.root().join("other");
    let changed_twine = wheel(&other, "opp-twined", "1.0", &[], "CHANGED = True");
    let changed_uv = wheel(&other, "opp-uv-published", "0.1", &[], "CHANGED = True");
    let out = run_fail(
        proxy
            .configure(&mut twine(&env))
            .args(["upload", "--disable-progress-bar"])
            .arg(&changed_twine),
    );
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("409"), "{said}");
    let out = run_fail(
        proxy
            .configure(&mut uv(&env))
            .arg("publish")
            .arg(&changed_uv),
    );
    assert!(stderr(&out).contains("409"), "{}", stderr(&out));

    // The store still holds the first bytes.
    let page = proxy.request("GET", "/pypi/simple/opp-twined/", &[("accept", JSON)]);
    let sha = opp::digest::Digest::of(&std::fs::read(&by_twine).unwrap());
    assert_eq!(page.json()["files"][0]["hashes"]["sha256"], sha.hex());
}

#[test]
fn uploads_with_a_wrong_digest_or_a_broken_file_get_400_and_store_nothing() {
    let env = Env::new();
    let proxy = Proxy::http(&env, None);
    let path = wheel(&env.root().join("dist"), "opp-checked", "1.0", &[], "");
    let bytes = std::fs::read(&path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let sha = opp::digest::Digest::of(&bytes);

    let wrong = "0".repeat(64);
    let fields = [
        (":action", "file_upload"),
        ("name", "opp-checked"),
        ("version", "1.0"),
    ];
    fn with_sha<'a>(fields: &[(&'a str, &'a str)], sha: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut f = fields.to_vec();
        f.push(("sha256_digest", sha));
        f
    }
    let with = |sha| with_sha(&fields, sha);
    let r = proxy.send(
        "POST",
        "/pypi/",
        &[],
        Some(form(&with(&wrong), (name, &bytes))),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("does not match"), "{}", r.text());

    let junk = b"not a zip at all";
    let junk_sha = opp::digest::Digest::of(junk);
    let r = proxy.send(
        "POST",
        "/pypi/",
        &[],
        Some(form(&with(junk_sha.hex()), (name, junk))),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains(name) && r.text().contains("zip"),
        "{}",
        r.text()
    );

    let mut lying = with(sha.hex());
    lying[1] = ("name", "someone-else");
    let r = proxy.send(
        "POST",
        "/pypi/legacy/",
        &[],
        Some(form(&lying, (name, &bytes))),
    );
    assert_eq!(r.status, 400, "{}", r.text());

    let r = proxy.send(
        "POST",
        "/pypi/",
        &[],
        Some(form(&[("sha256_digest", sha.hex())], (name, &bytes))),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("file_upload"), "{}", r.text());

    let r = proxy.request("GET", "/pypi/simple/opp-checked/", &[]);
    assert_eq!(r.status, 404);

    let r = proxy.send(
        "POST",
        "/pypi/",
        &[],
        Some(form(&with(sha.hex()), (name, &bytes))),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        proxy
            .request("GET", "/pypi/simple/opp-checked/", &[])
            .status,
        200
    );
}

#[test]
fn pages_are_json_or_html_by_accept_with_hashes_metadata_and_versions() {
    let env = Env::new();
    let mut cmd = env.opp();
    cmd.args(["push", "pypi"]);
    for f in ATTRS_WHEELS.iter().chain([&SIX_WHEEL, &SIX_SDIST]) {
        cmd.arg(fixtures::pypi_fixture(f));
    }
    run_ok(&mut cmd);
    let proxy = Proxy::http(&env, None);

    let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
    let r = proxy.request("GET", "/pypi/simple/attrs/", &[("accept", pip)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), JSON);
    let page = r.json();
    assert_eq!(page["meta"]["api-version"], "1.1");
    assert_eq!(
        page["versions"],
        serde_json::json!(["22.2.0", "23.1.0", "23.2.0"])
    );
    let newest = fixtures::pypi_fixture(ATTRS_WHEELS[2]);
    let bytes = std::fs::read(&newest).unwrap();
    let file = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filename"] == ATTRS_WHEELS[2])
        .expect("the newest wheel is listed");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(
        file["hashes"]["sha256"],
        opp::digest::Digest::of(&bytes).hex()
    );
    assert_eq!(file["requires-python"], ">=3.7");
    assert!(file["upload-time"].as_str().unwrap().ends_with('Z'));
    let metadata = fixtures::zip_member(&newest, "attrs-23.2.0.dist-info/METADATA").unwrap();
    assert_eq!(
        file["core-metadata"]["sha256"],
        opp::digest::Digest::of(&metadata).hex()
    );

    // The URL is relative to the page; the file and its METADATA come back byte for byte.
    let url = file["url"].as_str().unwrap();
    let path = format!("/pypi/files/{}", url.strip_prefix("../../files/").unwrap());
    let got = proxy.request("GET", &path, &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-length"), bytes.len().to_string());
    assert!(got.body == bytes, "the served wheel differs");
    let meta = proxy.request("GET", &format!("{path}.metadata"), &[]);
    assert_eq!(meta.status, 200);
    assert!(meta.body == metadata, "the served METADATA differs");

    // HEAD: the length, no body. Range: one slice, the tail, or 416 past the end.
    let head = proxy.request("HEAD", &path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), bytes.len().to_string());
    assert_eq!(head.header("accept-ranges"), "bytes");
    assert!(head.body.is_empty());
    let part = proxy.request("GET", &path, &[("range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        format!("bytes 10-19/{}", bytes.len())
    );
    assert!(part.body == bytes[10..20]);
    let tail = proxy.request("GET", &path, &[("range", "bytes=-22")]);
    assert_eq!(tail.status, 206);
    assert!(tail.body == bytes[bytes.len() - 22..]);
    let past = proxy.request(
        "GET",
        &path,
        &[("range", &format!("bytes={}-", bytes.len()))],
    );
    assert_eq!(past.status, 416);
    assert_eq!(
        past.header("content-range"),
        format!("bytes */{}", bytes.len())
    );

    // HTML: hash fragment, escaped requires-python, both metadata attributes.
    let r = proxy.request("GET", "/pypi/simple/attrs/", &[("accept", "text/html")]);
    assert!(r.header("content-type").starts_with("text/html"));
    let html = r.text();
    let sha = opp::digest::Digest::of(&bytes);
    assert!(
        html.contains(&format!("{}#sha256={}", ATTRS_WHEELS[2], sha.hex())),
        "{html}"
    );
    assert!(html.contains("data-requires-python=\"&gt;=3.7\""), "{html}");
    let meta_sha = opp::digest::Digest::of(&metadata);
    assert!(html.contains(&format!("data-core-metadata=\"sha256={}\"", meta_sha.hex())));
    assert!(html.contains(&format!(
        "data-dist-info-metadata=\"sha256={}\"",
        meta_sha.hex()
    )));
    let v1 = proxy.request(
        "GET",
        "/pypi/simple/six/",
        &[("accept", "application/vnd.pypi.simple.v1+html")],
    );
    assert_eq!(
        v1.header("content-type"),
        "application/vnd.pypi.simple.v1+html"
    );
    assert!(v1.text().contains(SIX_SDIST) && !v1.text().contains("yanked"));

    // Names that are not normalized redirect; the root lists both projects both ways.
    let r = proxy.request("GET", "/pypi/simple/ATTRS/", &[]);
    assert_eq!(
        (r.status, r.header("location")),
        (301, "/pypi/simple/attrs/")
    );
    let r = proxy.request("GET", "/pypi/simple/six", &[]);
    assert_eq!((r.status, r.header("location")), (301, "/pypi/simple/six/"));
    let root = proxy
        .request("GET", "/pypi/simple/", &[("accept", JSON)])
        .json();
    assert_eq!(
        root["projects"],
        serde_json::json!([{"name": "attrs"}, {"name": "six"}])
    );
    let root = proxy
        .request("GET", "/pypi/simple/", &[("accept", "text/html")])
        .text();
    assert!(root.contains("<a href=\"six/\">six</a>"), "{root}");
    assert_eq!(
        proxy
            .request("GET", "/pypi/simple/six/", &[("accept", "image/png")])
            .status,
        406
    );
}

#[test]
fn twenty_versions_list_quickly_and_unknown_projects_are_404_at_once() {
    let env = Env::new();
    let dist = env.root().join("many");
    for minor in 0..20 {
        fixtures::make_wheel(&dist, "opp-many", &format!("1.{minor}"), 0);
    }
    run_ok(env.opp().args(["push", "pypi"]).arg(&dist));
    let proxy = Proxy::http(&env, None);

    let start = Instant::now();
    let page = proxy
        .request("GET", "/pypi/simple/opp-many/", &[("accept", JSON)])
        .json();
    let first = start.elapsed();
    assert_eq!(page["versions"].as_array().unwrap().len(), 20);
    assert_eq!(page["versions"][0], "1.0");
    assert_eq!(page["versions"][19], "1.19");
    assert_eq!(page["files"].as_array().unwrap().len(), 20);
    assert!(first < Duration::from_secs(5), "20 versions took {first:?}");

    let start = Instant::now();
    let r = proxy.request("GET", "/pypi/simple/no-such-project/", &[]);
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let r = proxy.request("GET", "/pypi/files/opp-many/1.0/nothing-1.0.tar.gz", &[]);
    assert_eq!(r.status, 404);

    // pip gives up with its usual message, and does not hang.
    let start = Instant::now();
    let out = run_fail(
        proxy
            .configure(&mut env.pip())
            .args(["download", "--no-deps", "-d"])
            .arg(env.root().join("dl"))
            .arg("no-such-project"),
    );
    assert!(
        stderr(&out).contains("No matching distribution"),
        "{}",
        stderr(&out)
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn upstream_serves_only_names_the_store_does_not_have() {
    let env = Env::new();
    push_app_and_lib(&env);
    let hits = Arc::new(AtomicUsize::new(0));
    let up_rt = runtime();
    let up = upstream(&up_rt, hits.clone());
    let proxy = Proxy::http(&env, Some(up));

    // A stored name: the store's files only, upstream never asked.
    let page = proxy
        .request("GET", "/pypi/simple/opp-demo-lib/", &[("accept", JSON)])
        .json();
    assert_eq!(page["versions"], serde_json::json!(["2.0"]));
    assert!(!page.to_string().contains("9.9.9"), "{page}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // A name only upstream has: its page, unchanged.
    let r = proxy.request("GET", "/pypi/simple/elsewhere/", &[("accept", JSON)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), JSON);
    assert_eq!(
        r.json()["files"][0]["url"],
        "https://files.example/elsewhere-9.9.9-py3-none-any.whl"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // Nowhere: 404. Upstream down: 502, quickly.
    assert_eq!(
        proxy.request("GET", "/pypi/simple/absent/", &[]).status,
        404
    );
    drop(up_rt);
    let start = Instant::now();
    let r = proxy.request("GET", "/pypi/simple/elsewhere/", &[]);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn instructions_name_each_client() {
    let env = Env::new();
    let proxy = Proxy::http(&env, None);
    let text = PypiFrontend.instructions(&proxy.state, &proxy.ctx);
    let base = proxy.state.base_url.trim_start_matches("http://");
    // The secret is referred to, not printed: the caller exports it once.
    assert!(
        text.contains(&format!(
            "pip install --index-url \"http://opp:$OPP_PROXY_TOKEN@{base}/pypi/simple/\""
        )),
        "{text}"
    );
    assert!(text.contains("twine upload --repository-url") && text.contains("uv publish"));
    assert!(!text.contains("s3cret"), "{text}");
    let vars = proxy.child_env();
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let index = format!("http://opp:s3cret@{base}/pypi/simple/");
    assert_eq!(get("PIP_INDEX_URL"), Some(index.as_str()));
    assert_eq!(get("UV_DEFAULT_INDEX"), Some(index.as_str()));
    assert_eq!(get("TWINE_REPOSITORY_URL"), get("UV_PUBLISH_URL"));
    assert_eq!(get("TWINE_PASSWORD"), Some("s3cret"));
    assert_eq!(get("UV_PUBLISH_PASSWORD"), Some("s3cret"));
    assert_eq!(get("SSL_CERT_FILE"), None);
}

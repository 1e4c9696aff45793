//! Who may use `opp proxy`: every request needs the per-run secret (Basic with any user, or
//! Bearer) or a signed download link, else 401 (403 for a bad or expired signature); the
//! secret is handed to the child and printed nowhere else, not even in trace logs; and a
//! `--bind` other than loopback needs HTTPS. The clients' own protocols through the proxy
//! are `proxy_e2e.rs`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_pypi/harness.rs"]
mod harness;
mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use opp::mapper::Mapper;
use opp::output::Output;
use opp::proxy::access::Access;
use opp::proxy::{ProxyState, frontends, server};
use opp::store::layout::LayoutStore;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};

const SECRET: &str = "0123456789abcdef-test-secret";

/// The real router (every frontend, the access check) over `env`'s store, on plain HTTP.
struct Served {
    rt: tokio::runtime::Runtime,
    base: String,
    state: Arc<ProxyState>,
}

fn serve(env: &Env) -> Served {
    let rt = harness::runtime();
    let inside = rt.enter();
    let listener = server::bind(IpAddr::V4(Ipv4Addr::LOCALHOST), 0).expect("bind");
    let addr = listener.local_addr().expect("address");
    let base = server::base_url(addr, false);
    let state = Arc::new(ProxyState {
        store: Arc::new(LayoutStore::new(env.store())),
        mapper: Mapper::new("").expect("mapper"),
        out: Output::new(true),
        base_url: base.clone(),
        pypi_upstream: None,
        module_host: "opp.localhost".into(),
        max_upload: 1 << 30,
        access: Access::with_secret(SECRET),
        spool: opp::proxy::spool::Spool::new(&std::env::temp_dir(), 1 << 30).expect("a spool"),
    });
    let app = server::router(state.clone(), &frontends::all(), "index\n".into());
    // The server runs until the runtime is dropped with the test.
    std::mem::forget(server::start(listener, app, None).expect("start"));
    drop(inside);
    Served { rt, base, state }
}

impl Served {
    /// GET `path`, with `auth` as the Authorization header when given: status and headers.
    fn get(&self, path: &str, auth: Option<&str>) -> (u16, reqwest::header::HeaderMap) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut request = client.get(format!("{}{path}", self.base));
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        self.rt.block_on(async {
            let response = request.send().await.expect("GET");
            (response.status().as_u16(), response.headers().clone())
        })
    }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn push_module(env: &Env) {
    run_ok(
        env.opp()
            .args(["push", "terraform-module", "acme/greet/null", "1.0.0"])
            .arg(support::terraform::module_dir(&env.root().join("m"))),
    );
}

#[test]
fn without_the_secret_a_request_gets_401_and_with_it_200() {
    let env = Env::new();
    let served = serve(&env);
    for path in [
        "/",
        "/pypi/simple/",
        "/terraform/modules/v1/acme/greet/null/versions",
    ] {
        let (status, headers) = served.get(path, None);
        assert_eq!(status, 401, "{path}");
        assert_eq!(
            headers.get("www-authenticate").map(|v| v.as_bytes()),
            Some(&b"Basic realm=\"opp proxy\""[..]),
            "{path}"
        );
    }
    for wrong in [
        basic("opp", "wrong"),
        basic("opp", &format!("{SECRET}x")),
        format!("Bearer {}", &SECRET[1..]),
        format!("Token {SECRET}"),
    ] {
        assert_eq!(served.get("/", Some(&wrong)).0, 401, "{wrong}");
    }
    for right in [
        basic("opp", SECRET),
        basic("someone-else", SECRET),
        format!("Bearer {SECRET}"),
    ] {
        assert_eq!(served.get("/", Some(&right)).0, 200, "{right}");
        assert_eq!(served.get("/pypi/simple/", Some(&right)).0, 200, "{right}");
    }
    // Authorized, a missing page is still a 404.
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(served.get("/no/such/page", Some(&bearer)).0, 404);
}

#[test]
fn a_signed_download_link_needs_no_secret_until_it_expires_or_is_altered() {
    let env = Env::new();
    push_module(&env);
    let served = serve(&env);
    let bearer = format!("Bearer {SECRET}");
    let (status, headers) = served.get(
        "/terraform/modules/v1/acme/greet/null/1.0.0/download",
        Some(&bearer),
    );
    assert_eq!(status, 204);
    let location = headers
        .get("x-terraform-get")
        .and_then(|v| v.to_str().ok())
        .expect("X-Terraform-Get")
        .to_owned();
    let signed = location
        .strip_prefix(&served.base)
        .unwrap_or_else(|| panic!("{location}"));
    let (path, query) = signed.split_once('?').expect("a signed query");
    assert_eq!(served.get(signed, None).0, 200, "{signed}");
    // The same file without the signature, with a tampered one, or for another path.
    assert_eq!(served.get(path, None).0, 401);
    let flipped = if query.ends_with('0') { "1" } else { "0" };
    let tampered = format!("{path}?{}{flipped}", &query[..query.len() - 1]);
    assert_eq!(served.get(&tampered, None).0, 403, "{tampered}");
    let other = format!("/terraform/modules/v1/acme/greet/null/versions?{query}");
    assert_eq!(served.get(&other, None).0, 403);
    // A link signed for a moment already past.
    let expired = served.state.access.sign_query_until(path, 1);
    assert_eq!(served.get(&format!("{path}?{expired}"), None).0, 403);
    // The secret still opens the file without a signature.
    assert_eq!(served.get(path, Some(&bearer)).0, 200);
}

#[test]
fn the_secret_reaches_pip_through_its_config_and_appears_in_no_log_line() {
    let env = Env::new();
    let dist = env.root().join("dist");
    harness::wheel(&dist, "opp-secret-demo", "1.0", &[], "");
    run_ok(env.opp().args(["push", "pypi"]).arg(&dist));
    let token_file = env.root().join("token");
    let site = env.root().join("site");
    let script = format!(
        "printf %s \"$OPP_PROXY_TOKEN\" > '{token}'; \
         curl -sS -o /dev/null -w 'anonymous=%{{http_code}}\\n' \"$OPP_PROXY_PYPI_URL\"simple/; \
         env | grep -c \"$OPP_PROXY_TOKEN\" | sed 's/^/vars=/'; \
         exec '{pip}' -v install --no-cache-dir --target '{site}' opp-secret-demo",
        token = token_file.display(),
        pip = support::tool("pip").display(),
        site = site.display(),
    );
    let mut cmd = env.opp();
    cmd.args(["proxy", "--", "sh", "-c", &script])
        .env("OPP_LOG", "trace")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_INDEX_URL");
    let out = run_ok(&mut cmd);
    let secret = std::fs::read_to_string(&token_file).expect("the child wrote the secret");
    assert_eq!(secret.len(), 64, "{secret}");
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("anonymous=401"), "{text}");
    assert!(
        site.join("opp_secret_demo").is_dir(),
        "pip installed nothing:\n{text}"
    );
    // The trace really is there: requests are logged, by path.
    assert!(text.contains("GET /pypi/simple/opp-secret-demo/"), "{text}");
    assert!(
        !text.contains(&secret),
        "the secret is in the output:\n{text}"
    );
    assert!(
        !text.contains("sig="),
        "a signature is in the output:\n{text}"
    );
    // pip, uv, twine and the generic variable hold it.
    let vars: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("vars="))
        .and_then(|n| n.trim().parse().ok())
        .expect("vars= line");
    assert!(vars >= 5, "only {vars} variables hold the secret");
}

#[test]
fn serve_mode_prints_the_secret_once() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    let mut opp = env
        .opp()
        .args(["proxy", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start opp proxy");
    let mut lines = BufReader::new(opp.stdout.take().expect("stdout"));
    let mut printed = String::new();
    // The instructions end with the Terraform CLI configuration's last line.
    while !printed.contains("services") || !printed.ends_with("}\n") {
        let mut line = String::new();
        if lines.read_line(&mut line).expect("read") == 0 {
            break;
        }
        printed.push_str(&line);
    }
    let pid = rustix::process::Pid::from_raw(opp.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("Ctrl-C");
    assert!(opp.wait().expect("wait").success());
    let secret = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("export OPP_PROXY_TOKEN="))
        .unwrap_or_else(|| panic!("no secret in:\n{printed}"))
        .to_owned();
    assert_eq!(secret.len(), 64);
    assert_eq!(printed.matches(&secret).count(), 1, "{printed}");
    assert!(printed.contains("$OPP_PROXY_TOKEN"), "{printed}");
}

#[test]
fn binding_beyond_loopback_needs_https() {
    let env = Env::new();
    for flag in ["--http", "--plain-http"] {
        let out = run_fail(
            env.opp()
                .args(["proxy", "--bind", "0.0.0.0", flag, "--", "true"]),
        );
        assert!(stderr(&out).contains("needs HTTPS"), "{}", stderr(&out));
    }
    // Another loopback address: the URL names it and the certificate covers it.
    let mut cmd = env.opp();
    cmd.args(["proxy", "--bind", "127.0.0.2", "--", "sh", "-c"])
        .arg(
            "echo \"url=$OPP_PROXY_URL\"; \
         curl -sS --fail -o /dev/null -w 'code=%{http_code}\\n' \
         -H \"Authorization: Bearer $OPP_PROXY_TOKEN\" \"$OPP_PROXY_URL/\"",
        );
    let out = run_ok(&mut cmd);
    let text = stdout(&out);
    assert!(text.contains("url=https://127.0.0.2:"), "{text}");
    assert!(text.contains("code=200"), "{text}");
}

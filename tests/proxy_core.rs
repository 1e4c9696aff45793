//! `opp proxy` itself, before any ecosystem is plugged in: the real binary serving HTTPS
//! with its throwaway CA, real clients (curl, python, terraform, a reqwest client) reaching it
//! through the environment the child gets, exit statuses and signals passed through, and
//! nothing left behind. The frontends' protocols are tested in their own files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::cli::{Env, run_fail, run_ok, stderr, stdout};

/// `opp proxy`, with its own TMPDIR so a test sees exactly what it leaves behind.
fn opp_proxy(env: &Env) -> Command {
    let tmp = env.root().join("tmp");
    std::fs::create_dir_all(&tmp).expect("create TMPDIR");
    let mut cmd = env.opp();
    cmd.env("TMPDIR", tmp).arg("proxy");
    cmd
}

/// `opp proxy ARGS -- sh -c SCRIPT`.
fn proxy_sh(env: &Env, args: &[&str], script: &str) -> Command {
    let mut cmd = opp_proxy(env);
    cmd.args(args).args(["--", "sh", "-c", script]);
    cmd
}

/// Nothing is left in opp's TMPDIR.
fn assert_nothing_left(env: &Env) {
    let left: Vec<_> = std::fs::read_dir(env.root().join("tmp"))
        .expect("list TMPDIR")
        .map(|e| e.expect("TMPDIR entry").path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The value of `key=` on its own line of `text`.
fn field(text: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{key}=` line in:\n{text}"))
        .to_owned()
}

/// Waits for `child` to exit, killing it after `limit`.
fn wait_for(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for opp") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("opp proxy did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` exists and holds a line.
fn read_when_written(path: &Path, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{} was not written within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(signal: &str, pid: u32) {
    run_ok(Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]));
}

fn process_exists(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[test]
fn the_child_reaches_the_proxy_over_https_with_the_bundle_it_is_given() {
    let env = Env::new();
    let out = run_ok(&mut proxy_sh(
        &env,
        &[],
        r#"
        echo "url=$OPP_PROXY_URL"
        echo "tmp=$OPP_PROXY_TMP"
        echo "mode=$(stat -c %a "$OPP_PROXY_TMP")"
        echo "same=$([ "$SSL_CERT_FILE" = "$OPP_PROXY_CA_BUNDLE" ] && [ "$REQUESTS_CA_BUNDLE" = "$OPP_PROXY_CA_BUNDLE" ] && echo yes)"
        echo "certs=$(grep -c 'BEGIN CERTIFICATE' "$OPP_PROXY_CA_BUNDLE")"
        echo "keys=$(grep -rl 'PRIVATE KEY' "$OPP_PROXY_TMP" | wc -l)"
        echo "curl=$(curl -sS --fail -u "opp:$OPP_PROXY_TOKEN" "$OPP_PROXY_URL/" | head -n 1)"
        echo "anonymous=$(curl -sS -o /dev/null -w '%{http_code}' "$OPP_PROXY_URL/")"
        echo "python=$(python3 -c 'import os, urllib.request; print(urllib.request.urlopen(urllib.request.Request(os.environ["OPP_PROXY_URL"] + "/", headers={"Authorization": "Bearer " + os.environ["OPP_PROXY_TOKEN"]})).status)')"
        "#,
    ));
    let text = stdout(&out);
    let url = field(&text, "url");
    assert!(url.starts_with("https://localhost:"), "{url}");
    assert_eq!(field(&text, "mode"), "700");
    assert_eq!(field(&text, "same"), "yes");
    // The system roots (this machine has a bundle) plus the proxy's CA.
    let certs: usize = field(&text, "certs").parse().expect("a count");
    assert!(certs > 1, "bundle holds {certs} certificates");
    assert_eq!(field(&text, "keys"), "0", "a private key was written");
    assert!(
        field(&text, "curl").starts_with("opp proxy "),
        "curl got:\n{text}"
    );
    assert_eq!(field(&text, "python"), "200");
    assert_eq!(field(&text, "anonymous"), "401");
    let tmp = PathBuf::from(field(&text, "tmp"));
    assert!(!tmp.exists(), "{} is left behind", tmp.display());
    assert_nothing_left(&env);
}

#[test]
fn the_child_status_is_opps_status() {
    let env = Env::new();
    let out = run_fail(&mut proxy_sh(&env, &[], "exit 7"));
    assert_eq!(out.status.code(), Some(7));
    let out = run_fail(&mut proxy_sh(&env, &[], "kill -TERM $$"));
    assert_eq!(out.status.code(), Some(143), "killed by SIGTERM: 128 + 15");
    run_ok(&mut proxy_sh(&env, &[], "true"));
    assert_nothing_left(&env);
}

#[test]
fn a_command_that_does_not_exist_is_named_and_exits_127() {
    let env = Env::new();
    let out = run_fail(opp_proxy(&env).args(["--", "opp-no-such-command", "--flag"]));
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("cannot run `opp-no-such-command`: not found on PATH"),
        "{}",
        stderr(&out)
    );
    assert_nothing_left(&env);
}

#[test]
fn plain_http_serves_http_on_127_0_0_1_without_a_bundle() {
    let env = Env::new();
    let out = run_ok(&mut proxy_sh(
        &env,
        &["--http"],
        r#"
        echo "url=$OPP_PROXY_URL"
        echo "bundle=${OPP_PROXY_CA_BUNDLE-unset}"
        echo "curl=$(curl -sS --fail -H "Authorization: Bearer $OPP_PROXY_TOKEN" "$OPP_PROXY_URL/" | head -n 1)"
        "#,
    ));
    let text = stdout(&out);
    assert!(
        field(&text, "url").starts_with("http://127.0.0.1:"),
        "{text}"
    );
    assert_eq!(field(&text, "bundle"), "unset");
    assert!(field(&text, "curl").starts_with("opp proxy "), "{text}");
    assert_nothing_left(&env);
}

#[test]
fn sigterm_to_opp_ends_the_child_and_removes_the_temp_dir() {
    let env = Env::new();
    let pid_file = env.root().join("child.pid");
    let tmp_file = env.root().join("tmp.path");
    let mut opp = proxy_sh(
        &env,
        &[],
        &format!(
            "echo \"$OPP_PROXY_TMP\" > {tmp}; echo $$ > {pid}; exec sleep 30",
            tmp = tmp_file.display(),
            pid = pid_file.display()
        ),
    )
    .spawn()
    .expect("start opp proxy");
    let child_pid = read_when_written(&pid_file, Duration::from_secs(10));
    let tmp = PathBuf::from(read_when_written(&tmp_file, Duration::from_secs(10)));
    assert!(tmp.is_dir());
    assert!(process_exists(&child_pid));

    let sent = Instant::now();
    send("TERM", opp.id());
    let status = wait_for(&mut opp, Duration::from_secs(10));
    println!("opp proxy exited {:?} after SIGTERM", sent.elapsed());
    assert_eq!(
        status.code(),
        Some(143),
        "the child's status: killed by SIGTERM"
    );
    assert!(!process_exists(&child_pid), "child {child_pid} still runs");
    assert!(!tmp.exists(), "{} is left behind", tmp.display());
    assert_nothing_left(&env);
}

#[test]
fn sigint_sent_to_opp_reaches_the_child_once() {
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let ready = env.root().join("ready");
    // Its own process group, as under `timeout` or a supervisor: no terminal sent this
    // SIGINT to the child too, so opp must pass it on.
    let mut opp = proxy_sh(
        &env,
        &[],
        &format!(
            "trap 'exit 5' INT; echo up > {ready}; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 9",
            ready = ready.display()
        ),
    )
    .process_group(0)
    .spawn()
    .expect("start opp proxy");
    read_when_written(&ready, Duration::from_secs(10));
    send("INT", opp.id());
    let status = wait_for(&mut opp, Duration::from_secs(10));
    assert_eq!(status.code(), Some(5), "the child's INT trap ran");
    assert_nothing_left(&env);
}

#[test]
fn ctrl_c_at_a_terminal_reaches_the_child_once_not_twice() {
    let env = Env::new();
    // A real terminal (python's pty): Ctrl-C goes to the foreground process group, opp and
    // its child alike; a second copy from opp would make terraform abandon its graceful stop.
    let script = r#"
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
time.sleep(1.0)
os.write(fd, b"")
out = b""
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
print(out.decode(errors="replace"))
print("exit=%d" % os.waitstatus_to_exitcode(status))
"#;
    let child = "n=0; trap 'n=$((n+1))' INT; i=0; while [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; printf '\\nints=%s\\n' \"$n\"; exit 3";
    let opp = proxy_sh(&env, &[], child);
    let mut python = Command::new("python3");
    env.isolate(&mut python, &["OPP_", "PYTHON"]);
    python
        .env("OPP_STORE", env.store())
        .env("TMPDIR", env.root().join("tmp"))
        .args(["-c", script])
        .arg(opp.get_program())
        .args(opp.get_args());
    let out = run_ok(&mut python);
    let text = stdout(&out).replace('\r', "");
    assert_eq!(field(&text, "ints"), "1", "{text}");
    assert_eq!(field(&text, "exit"), "3", "{text}");
    assert_nothing_left(&env);
}

#[test]
fn terraform_trusts_the_proxy_certificate_through_the_childs_environment() {
    let env = Env::new();
    let terraform = support::tool("terraform");
    std::fs::write(
        env.root().join("main.tf"),
        "terraform {\n  required_providers {\n    hello = { source = \"acme/hello\" }\n  }\n}\n",
    )
    .expect("write main.tf");
    let script = format!(
        r#"
        printf 'provider_installation {{\n  network_mirror {{ url = "%s/terraform/providers/" }}\n}}\ncredentials "%s" {{\n  token = "%s"\n}}\n' "$OPP_PROXY_URL" "${{OPP_PROXY_URL#https://}}" "$OPP_PROXY_TOKEN" > "$OPP_PROXY_TMP/tf.rc"
        TF_CLI_CONFIG_FILE="$OPP_PROXY_TMP/tf.rc" {terraform} init -no-color -input=false 2>&1
        exit 0
        "#,
        terraform = terraform.display()
    );
    let out = run_ok(proxy_sh(&env, &[], &script).env("CHECKPOINT_DISABLE", "1"));
    let text = stdout(&out);
    // No frontend serves providers in this build: terraform must get as far as the 404.
    assert!(
        !text.contains("x509"),
        "terraform refused the certificate:\n{text}"
    );
    assert!(
        text.contains("provider mirror at https://localhost:"),
        "terraform did not query the mirror:\n{text}"
    );
}

/// The proxy served without a command, as a user starts it in a terminal.
struct Served {
    opp: Child,
    url: String,
    ca_pem: Vec<u8>,
    token: String,
    tmp: PathBuf,
}

fn serve(env: &Env) -> (Served, Instant) {
    let started = Instant::now();
    let mut opp = opp_proxy(env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start opp proxy");
    let mut lines = BufReader::new(opp.stdout.take().expect("opp's stdout"));
    let (mut url, mut ca, mut tmp, mut token) = (None, None, None, None);
    let mut printed = String::new();
    while url.is_none() || ca.is_none() || tmp.is_none() || token.is_none() {
        let mut line = String::new();
        if lines.read_line(&mut line).expect("read opp's output") == 0 {
            panic!("opp proxy ended its output early:\n{printed}");
        }
        printed.push_str(&line);
        let line = line.trim();
        let value = |key: &str| {
            line.strip_prefix(&format!("export {key}="))
                .map(str::to_owned)
        };
        url = url.or(value("OPP_PROXY_URL"));
        ca = ca.or(value("OPP_PROXY_CA_CERT"));
        tmp = tmp.or(value("OPP_PROXY_TMP"));
        token = token.or(value("OPP_PROXY_TOKEN"));
    }
    // Keep reading so opp never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = lines.read_to_string(&mut rest);
    });
    let ca_pem = std::fs::read(ca.expect("ca")).expect("read the proxy's CA");
    let served = Served {
        opp,
        url: url.expect("url"),
        ca_pem,
        token: token.expect("token"),
        tmp: PathBuf::from(tmp.expect("tmp")),
    };
    (served, started)
}

/// A client trusting the proxy's CA and sending its secret.
fn client(ca_pem: &[u8], token: &str) -> reqwest::Client {
    opp::store::registry::install_crypto_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .tls_certs_merge([reqwest::Certificate::from_pem(ca_pem).expect("CA PEM")])
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

#[test]
fn served_without_a_command_it_answers_many_clients_at_once_and_stops_on_ctrl_c() {
    let env = Env::new();
    let (mut served, started) = serve(&env);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let http = client(&served.ca_pem, &served.token);
        let first = http
            .get(format!("{}/", served.url))
            .send()
            .await
            .expect("GET /");
        assert_eq!(first.status(), 200);
        println!(
            "opp proxy: start to first answer {:?} (debug build)",
            started.elapsed()
        );
        let page = first.text().await.expect("the index page");
        assert!(page.starts_with("opp proxy "), "{page}");

        // 200 at once, each on its own connection (HTTP/1.1).
        let clock = Instant::now();
        let requests = (0..200).map(|_| {
            let http = http.clone();
            let url = format!("{}/", served.url);
            async move { http.get(url).send().await.map(|r| r.status()) }
        });
        let statuses = futures_util::future::join_all(requests).await;
        let ok = statuses
            .iter()
            .filter(|s| matches!(s, Ok(code) if *code == 200))
            .count();
        println!("200 concurrent GET / in {:?}", clock.elapsed());
        assert_eq!(ok, 200, "not all succeeded: {statuses:?}");

        // Clients that go away halfway: a TLS handshake cut short, a request never finished.
        for i in 0..20 {
            let addr = served.url.trim_start_matches("https://localhost:");
            let mut stream =
                std::net::TcpStream::connect(("127.0.0.1", addr.parse::<u16>().expect("port")))
                    .expect("connect");
            let junk: &[u8] = if i % 2 == 0 {
                b"\x16\x03\x01\x00\xff\x01"
            } else {
                b"GET / HTTP/1.1\r\nHost: loc"
            };
            let _ = stream.write_all(junk);
        }

        let clock = Instant::now();
        let missing = http
            .get(format!("{}/no/such/package/", served.url))
            .send()
            .await
            .expect("GET an unknown path");
        assert_eq!(missing.status(), 404);
        assert!(
            clock.elapsed() < Duration::from_secs(1),
            "404 took {:?}",
            clock.elapsed()
        );
        let again = http
            .get(format!("{}/", served.url))
            .send()
            .await
            .expect("GET / after broken clients");
        assert_eq!(again.status(), 200);
    });

    assert!(served.tmp.is_dir());
    send("INT", served.opp.id());
    let status = wait_for(&mut served.opp, Duration::from_secs(10));
    assert!(status.success(), "Ctrl-C ends serving normally: {status:?}");
    assert!(
        !served.tmp.exists(),
        "{} is left behind",
        served.tmp.display()
    );
    assert_nothing_left(&env);
}

#[test]
fn an_unknown_ecosystem_is_refused_before_anything_starts() {
    let env = Env::new();
    let out = run_fail(opp_proxy(&env).args(["--ecosystems", "cargo", "--", "true"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`cargo`"), "{}", stderr(&out));
}

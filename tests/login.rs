//! `opp login` and `opp logout` against a real registry with htpasswd (bcrypt) basic auth:
//! a good and a bad password, push and pull with the saved credentials, logout; saving to
//! config.json `auths`, to a docker credential helper (a small script on PATH), and to a
//! real Secret Service (gnome-keyring under dbus-run-session); and falling back quickly
//! when no keyring answers. Every command's output is checked for the password.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, SIX_WHEEL};
use support::registry::{Basic, Registry};

const USER: &str = "alice";
const PASSWORD: &str = "Sup3r-s3cret-Pw";
const WRONG: &str = "Wr0ng-guess-Pw";

fn registry() -> Registry {
    Registry::start_with_password(Basic {
        user: USER,
        password: PASSWORD,
    })
}

/// `opp` in `env` with every log line on, and no session bus (unless `bus` is given), so no
/// keyring answers.
fn opp(env: &Env, bus: Option<&str>) -> Command {
    let mut cmd = env.opp();
    cmd.env("OPP_LOG", "trace")
        .env("XDG_RUNTIME_DIR", env.root())
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    if let Some(bus) = bus {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus);
    }
    cmd
}

/// Runs `cmd` with `input` on stdin and checks that neither secret is in its output.
fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start opp");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    no_secret(&out);
    out
}

fn no_secret(out: &Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for secret in [PASSWORD, WRONG] {
        assert!(!all.contains(secret), "a password was printed:\n{all}");
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert!(
        !all.contains(&b64),
        "the basic auth value was printed:\n{all}"
    );
}

fn login(env: &Env, bus: Option<&str>, host: &str, password: &str) -> Output {
    run_with_stdin(
        opp(env, bus).args(["login", host, "--username", USER, "--password-stdin"]),
        &format!("{password}\n"),
    )
}

fn push(env: &Env, bus: Option<&str>, host: &str) -> Output {
    let out = opp(env, bus)
        .args(["--registry", host, "push", "pypi"])
        .arg(fixtures::pypi_fixture(SIX_WHEEL))
        .output()
        .unwrap();
    no_secret(&out);
    out
}

fn pull_ok(env: &Env, bus: Option<&str>, host: &str) {
    let dest = env.root().join("pulled");
    let out = run_ok(
        opp(env, bus)
            .args(["--registry", host, "pull", "pypi", "six==1.16.0", "-o"])
            .arg(&dest),
    );
    no_secret(&out);
    assert!(dest.join(SIX_WHEEL).is_file());
}

fn config_json(env: &Env) -> serde_json::Value {
    let path = env.docker_config().join("config.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|_| b"{}".to_vec())).unwrap()
}

#[test]
fn without_a_keyring_login_saves_to_config_json_and_push_pull_logout_work() {
    let reg = registry();
    let env = Env::new();
    let config = env.docker_config().join("config.json");
    std::fs::write(&config, r#"{"proxies":{"default":{"noProxy":"x"}}}"#).unwrap();

    let bad = login(&env, None, &reg.host, WRONG);
    assert_eq!(bad.status.code(), Some(4), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("nothing was saved"),
        "{}",
        stderr(&bad)
    );
    assert!(config_json(&env).get("auths").is_none());

    let started = Instant::now();
    let ok = login(&env, None, &reg.host, PASSWORD);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "login took {:?} without a keyring",
        started.elapsed()
    );
    let err = stderr(&ok);
    assert!(err.contains("OS keyring cannot be used"), "{err}");
    assert!(err.contains("unencrypted"), "{err}");
    assert!(err.contains(&config.display().to_string()), "{err}");
    let doc = config_json(&env);
    assert_eq!(doc["proxies"]["default"]["noProxy"], "x", "{doc}");
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert_eq!(doc["auths"][&reg.host]["auth"], expected.as_str(), "{doc}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let pushed = push(&env, None, &reg.host);
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    pull_ok(&env, None, &reg.host);

    let out = run_ok(opp(&env, None).args(["logout", &reg.host]));
    no_secret(&out);
    assert!(stderr(&out).contains("Logged out"), "{}", stderr(&out));
    let doc = config_json(&env);
    assert!(doc["auths"].get(&reg.host).is_none(), "{doc}");
    assert_eq!(doc["proxies"]["default"]["noProxy"], "x", "{doc}");
    let refused = push(&env, None, &reg.host);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));

    let again = run_ok(opp(&env, None).args(["logout", &reg.host]));
    assert!(
        stderr(&again).contains("nothing to remove"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_registry_config_file_is_read_first() {
    let reg = registry();
    let env = Env::new();
    let file = env.root().join("ci-config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        &file,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let refused = push(&env, None, &reg.host);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    let ok = run_ok(
        opp(&env, None)
            .arg("--registry-config")
            .arg(&file)
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    no_secret(&ok);
    let missing = run_fail(
        opp(&env, None)
            .args(["--registry-config", "/nonexistent/config.json"])
            .args(["--registry", &reg.host, "list", "pypi"]),
    );
    assert!(
        stderr(&missing).contains("/nonexistent/config.json"),
        "{}",
        stderr(&missing)
    );
}

/// A docker credential helper, `docker-credential-opptest`, keeping one entry in a file.
fn install_helper(env: &Env) -> (PathBuf, PathBuf) {
    let bin = env.root().join("bin");
    let data = env.root().join("helper-data");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let script = bin.join("docker-credential-opptest");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
f="{data}/cred.json"
case "$1" in
  store) cat >"$f" ;;
  get) server=$(cat)
       if [ -f "$f" ] && grep -q "\"$server\"" "$f"; then cat "$f"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) server=$(cat)
       if [ -f "$f" ] && grep -q "\"$server\"" "$f"; then rm "$f"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) exit 2 ;;
esac
"#,
            data = data.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (bin, data.join("cred.json"))
}

#[test]
fn login_saves_to_the_credential_helper_config_json_names() {
    let reg = registry();
    let env = Env::new();
    let (bin, stored) = install_helper(&env);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::fs::write(
        env.docker_config().join("config.json"),
        r#"{"credsStore":"opptest"}"#,
    )
    .unwrap();
    let with_helper = |args: &[&str]| {
        let mut cmd = opp(&env, None);
        cmd.env("PATH", &path).args(args);
        cmd
    };

    let bad = run_with_stdin(
        &mut with_helper(&["login", &reg.host, "-u", USER, "--password-stdin"]),
        WRONG,
    );
    assert_eq!(bad.status.code(), Some(4), "{}", stderr(&bad));
    assert!(!stored.exists());

    let ok = run_with_stdin(
        &mut with_helper(&["login", &reg.host, "-u", USER, "--password-stdin"]),
        PASSWORD,
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stderr(&ok).contains("docker-credential-opptest"),
        "{}",
        stderr(&ok)
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stored).unwrap()).unwrap();
    assert_eq!(saved["ServerURL"], reg.host.as_str());
    assert_eq!(saved["Username"], USER);
    assert_eq!(saved["Secret"], PASSWORD);
    assert!(config_json(&env).get("auths").is_none());

    let pushed = with_helper(&["--registry", &reg.host, "push", "pypi"])
        .arg(fixtures::pypi_fixture(SIX_WHEEL))
        .output()
        .unwrap();
    no_secret(&pushed);
    assert!(pushed.status.success(), "{}", stderr(&pushed));

    let out = run_ok(&mut with_helper(&["logout", &reg.host]));
    assert!(
        stderr(&out).contains("docker-credential-opptest"),
        "{}",
        stderr(&out)
    );
    assert!(!stored.exists());
    let refused = with_helper(&["--registry", &reg.host, "list", "pypi"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
}

/// A D-Bus session with an unlocked gnome-keyring, alive while the value lives.
struct SecretService {
    child: Child,
    bus: String,
}

impl SecretService {
    fn start(env: &Env) -> SecretService {
        let mut child = Command::new(support::tool("dbus-run-session"))
            .args(["--", "sh", "-c"])
            .arg(
                "printf 'keyring-pw' | gnome-keyring-daemon --unlock --components=secrets \
                 >/dev/null 2>&1; echo \"BUS=$DBUS_SESSION_BUS_ADDRESS\"; read _",
            )
            .env("HOME", env.home())
            .env("XDG_DATA_HOME", env.data_home())
            .env("XDG_RUNTIME_DIR", env.root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-run-session");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let bus = line
            .trim()
            .strip_prefix("BUS=")
            .unwrap_or_else(|| panic!("no bus address from dbus-run-session: {line:?}"))
            .to_owned();
        SecretService { child, bus }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Closing stdin ends the shell; dbus-run-session then stops the bus and the daemon.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn with_a_secret_service_login_saves_to_the_keyring() {
    let reg = registry();
    let env = Env::new();
    let keyring = SecretService::start(&env);
    let bus = Some(keyring.bus.as_str());

    let bad = login(&env, bus, &reg.host, WRONG);
    assert_eq!(bad.status.code(), Some(4), "{}", stderr(&bad));

    let ok = login(&env, bus, &reg.host, PASSWORD);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stderr(&ok).contains("OS keyring"), "{}", stderr(&ok));
    assert!(!stderr(&ok).contains("unencrypted"), "{}", stderr(&ok));
    assert!(config_json(&env).get("auths").is_none());

    let pushed = push(&env, bus, &reg.host);
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    pull_ok(&env, bus, &reg.host);
    // Without the session bus the keyring is out of reach, and so are the credentials.
    let refused = push(&env, None, &reg.host);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));

    let out = run_ok(opp(&env, bus).args(["logout", &reg.host]));
    assert!(stderr(&out).contains("OS keyring"), "{}", stderr(&out));
    let refused = push(&env, bus, &reg.host);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
}

#[test]
fn login_without_a_terminal_or_password_stdin_asks_for_them() {
    let env = Env::new();
    let out = run_with_stdin(opp(&env, None).args(["login", "127.0.0.1:9"]), "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--password-stdin"),
        "{}",
        stderr(&out)
    );
    let help = run_ok(opp(&env, None).args(["login", "--help"]));
    let help = stdout(&help);
    for place in [
        "credHelpers",
        "OS keyring",
        "auths",
        "OPP_REGISTRY_USERNAME",
    ] {
        assert!(help.contains(place), "{help}");
    }
}

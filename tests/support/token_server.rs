//! A real registry (Debian's `docker-registry`) with bearer-token auth, and the small token
//! server it sends clients to: a Python script that signs RS256 JWTs with `openssl`, as
//! docker's token servers do (the recipe in test-tools.md). Both run on free 127.0.0.1 ports
//! in a temporary directory and stop when dropped.
//!
//! The token server knows one user ([`USER`], [`PASSWORD`]) and one docker identity token
//! ([`REFRESH_TOKEN`], exchanged by `POST` with `grant_type=refresh_token`, or by `GET` with it
//! as the basic password). Authenticated callers get every action they ask for; anonymous
//! callers get `pull` only (as ghcr.io gives for public packages). Every token request is
//! logged, one line each, so tests can count them. It does not start plain registries
//! (`registry.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::registry::free_port;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "pw-Token-Secret-7731";
pub const REFRESH_TOKEN: &str = "refresh-Identity-Secret-4402";
/// The `service` the registry names in its challenge.
pub const SERVICE: &str = "opp-test-registry";
const ISSUER: &str = "opp-test-issuer";

/// The token server. Arguments: port, key, cert, log file, issuer, user, password,
/// refresh token, `post` or `no-post`.
const SCRIPT: &str = r#"
import base64, json, os, subprocess, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, key, cert, logfile, issuer, user, password, refresh, post = sys.argv[1:10]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout
x5c = base64.b64encode(der).decode()

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def sign(service, scopes, subject):
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3:
            continue
        kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
        if subject == "":
            actions = [a for a in actions if a == "pull"]
        access.append({"type": kind, "name": name, "actions": actions})
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    claims = {"iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10,
              "iat": now, "jti": os.urandom(8).hex(), "access": access}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                         check=True, capture_output=True).stdout
    return signing_input + "." + b64(sig)

def log(line):
    with open(logfile, "a") as f:
        f.write(line + "\n")

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def basic(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None
        u, _, p = base64.b64decode(h[6:]).decode().partition(":")
        return u, p

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        scopes = q.get("scope", [])
        creds = self.basic()
        if creds is None:
            subject, how = "", "anonymous"
        elif creds == (user, password):
            subject, how = user, "basic"
        elif creds[1] == refresh:
            subject, how = user, "refresh-basic"
        else:
            log("GET refused " + " ".join(scopes))
            return self.answer(401, {"details": "wrong username or password"})
        log("GET " + how + " " + " ".join(scopes))
        token = sign(q.get("service", [""])[0], scopes, subject)
        self.answer(200, {"token": token, "access_token": token, "expires_in": 300})

    def do_POST(self):
        if post != "post":
            log("POST unsupported")
            return self.answer(404, {"details": "not found"})
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        scopes = " ".join(form.get("scope", [])).split()
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [refresh]:
            log("POST refused " + " ".join(scopes))
            return self.answer(401, {"error": "invalid_grant"})
        log("POST refresh " + " ".join(scopes) + " client_id=" + form.get("client_id", [""])[0])
        token = sign(form.get("service", [""])[0], scopes, user)
        self.answer(200, {"access_token": token, "expires_in": 300, "scope": " ".join(scopes)})

ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"#;

/// How the token server takes docker identity tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshBy {
    /// OAuth2 `POST` (docker's flow).
    Post,
    /// `GET` only: `POST` answers 404, as registries without OAuth2 support do.
    GetOnly,
}

/// A token-auth registry and its token server.
pub struct TokenRegistry {
    registry: Child,
    server: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT` of the registry.
    pub host: String,
}

impl TokenRegistry {
    pub fn start() -> TokenRegistry {
        TokenRegistry::start_with(RefreshBy::Post)
    }

    pub fn start_with(refresh: RefreshBy) -> TokenRegistry {
        let dir = tempfile::tempdir().expect("temp dir for the token registry");
        let path = dir.path();
        let key = path.join("token.key");
        let cert = path.join("token.crt");
        let status = Command::new(super::tool("openssl"))
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=opp test token issuer", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(
            status.success(),
            "openssl could not make the token signing key"
        );

        let script = path.join("token_server.py");
        std::fs::write(&script, SCRIPT).expect("write the token server");
        let token_port = free_port();
        let server_log = std::fs::File::create(path.join("token-server.out")).expect("log");
        let server = Command::new(super::tool("python3"))
            .arg(&script)
            .arg(token_port.to_string())
            .args([&key, &cert, &path.join("tokens.log")])
            .args([ISSUER, USER, PASSWORD, REFRESH_TOKEN])
            .arg(match refresh {
                RefreshBy::Post => "post",
                RefreshBy::GetOnly => "no-post",
            })
            .stdin(Stdio::null())
            .stdout(server_log.try_clone().expect("log handle"))
            .stderr(server_log)
            .spawn()
            .expect("start the token server");

        let host = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {data}}}\n  \
             delete: {{enabled: true}}\nhttp:\n  addr: {host}\n  secret: opp-test-secret\n\
             auth:\n  token: {{realm: \"http://127.0.0.1:{token_port}/token\", service: {SERVICE}, \
             issuer: {ISSUER}, rootcertbundle: {cert}}}\n",
            data = path.join("data").display(),
            cert = cert.display(),
        );
        let config_path = path.join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(path.join("registry.log")).expect("registry log");
        let mut cmd = Command::new(super::tool("docker-registry"));
        cmd.arg("serve").arg(&config_path);
        for (k, _) in std::env::vars() {
            if k.starts_with("REGISTRY_") {
                cmd.env_remove(k);
            }
        }
        let registry = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut reg = TokenRegistry {
            registry,
            server,
            dir,
            host,
        };
        reg.wait_ready(&format!("127.0.0.1:{token_port}"));
        reg
    }

    fn wait_ready(&mut self, token_host: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let exited = [&mut self.registry, &mut self.server]
                .into_iter()
                .find_map(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!(
                    "a server exited during start ({status}); logs:\n{}",
                    self.logs()
                );
            }
            if std::net::TcpStream::connect(&self.host).is_ok()
                && std::net::TcpStream::connect(token_host).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the token registry did not start within 15 s; logs:\n{}",
            self.logs()
        );
    }

    /// Every token request so far, one line each: `GET basic repository:x:pull,push`,
    /// `POST refresh repository:x:pull client_id=opp`, `GET anonymous ...`, `GET refused ...`.
    pub fn token_requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("tokens.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The registry's and the token server's logs, for assertion messages.
    pub fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name));
        format!(
            "registry:\n{}\ntoken server:\n{}",
            read("registry.log").unwrap_or_default(),
            read("token-server.out").unwrap_or_default()
        )
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        for child in [&mut self.registry, &mut self.server] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! A simple index served from a directory by Python's `http.server` on 127.0.0.1 (a
//! directory's `index.json` as a PEP 691 JSON page, else its `index.html`), optionally behind
//! HTTP basic auth (answering 401 to any request without the right
//! `Authorization` header), stopped on drop. For `opp mirror pypi --upstream` tests that need
//! an index whose files and pages they control.

use std::path::Path;

use super::cli::Env;

/// Serves `root` as-is; the user and password of [`StaticIndex::with_basic_auth`] come in the
/// environment, not on the command line.
const SERVER: &str = r#"
import base64, functools, http.server, os, sys, time
port, root = int(sys.argv[1]), sys.argv[2]
user, password = os.environ.get("INDEX_USER"), os.environ.get("INDEX_PASSWORD")
ranges, log_path = os.environ.get("INDEX_RANGES") == "1", os.environ["INDEX_LOG"]
stall, stalled = os.environ.get("INDEX_STALL_ONCE"), []
want = None
if user is not None:
    want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

class Handler(http.server.SimpleHTTPRequestHandler):
    def send_response(self, code, message=None):
        with open(log_path, "a") as log:
            log.write(f"{self.command} {self.path} {self.headers.get('Range') or '-'} {code}\n")
        super().send_response(code, message)

    def do_GET(self):
        if want is not None and self.headers.get("Authorization") != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        page = os.path.join(root, self.path.lstrip("/").split("?")[0], "index.json")
        if self.path.endswith("/") and os.path.isfile(page):
            body = open(page, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path = self.translate_path(self.path)
        if stall and self.path == stall and not stalled and os.path.isfile(path):
            # Half the file, then silence on an open connection, as a CDN that stalls.
            stalled.append(self.path)
            body = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(600)
            return
        asked = self.headers.get("Range")
        if ranges and asked and asked.startswith("bytes=") and os.path.isfile(path):
            size = os.path.getsize(path)
            first, last = asked[len("bytes="):].split("-", 1)
            if first == "":
                start, end = max(0, size - int(last)), size - 1
            else:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            with open(path, "rb") as f:
                f.seek(start)
                body = f.read(end - start + 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=root))
server.serve_forever()
"#;

pub struct StaticIndex {
    child: std::process::Child,
    /// Where the server records each request.
    log: std::path::PathBuf,
    /// `http://127.0.0.1:PORT/simple/`.
    pub url: String,
    pub port: u16,
}

impl StaticIndex {
    /// Serves `root` (which holds `simple/<project>/index.html` and the files) to anyone.
    pub fn serve(env: &Env, root: &Path) -> StaticIndex {
        StaticIndex::start(env, root, None, false)
    }

    /// Serves `root` to anyone, answering `Range` requests with 206 and the bytes asked for.
    pub fn with_ranges(env: &Env, root: &Path) -> StaticIndex {
        StaticIndex::start(env, root, None, true)
    }

    /// Serves `root` only to requests with basic auth `user`:`password`.
    pub fn with_basic_auth(env: &Env, root: &Path, user: &str, password: &str) -> StaticIndex {
        StaticIndex::start(env, root, Some((user, password)), false)
    }

    /// Serves `root` to anyone, but the first GET of `path` (`/files/x.whl`) gets the headers
    /// and half the body, then silence on the open connection for ten minutes.
    pub fn stalling_once(env: &Env, root: &Path, path: &str) -> StaticIndex {
        StaticIndex::start_with(env, root, None, false, Some(path))
    }

    /// The requests served so far, one per line: `GET /files/x.whl bytes=-65536 206` (`-`
    /// for no `Range` header).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Forgets the requests served so far.
    pub fn clear_requests(&self) {
        let _ = std::fs::remove_file(&self.log);
    }

    fn start(env: &Env, root: &Path, auth: Option<(&str, &str)>, ranges: bool) -> StaticIndex {
        StaticIndex::start_with(env, root, auth, ranges, None)
    }

    fn start_with(
        env: &Env,
        root: &Path,
        auth: Option<(&str, &str)>,
        ranges: bool,
        stall: Option<&str>,
    ) -> StaticIndex {
        let port = super::registry::free_port();
        let log = env.root().join(format!("index-{port}-requests.log"));
        let mut cmd = env.python();
        cmd.args(["-c", SERVER, &port.to_string()])
            .arg(root)
            .env("INDEX_LOG", &log)
            .env("INDEX_RANGES", if ranges { "1" } else { "0" })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some((user, password)) = auth {
            cmd.env("INDEX_USER", user).env("INDEX_PASSWORD", password);
        }
        if let Some(path) = stall {
            cmd.env("INDEX_STALL_ONCE", path);
        }
        let child = cmd
            .spawn()
            .expect("start the static index (python http.server)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the static index did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        StaticIndex {
            child,
            log,
            url: format!("http://127.0.0.1:{port}/simple/"),
            port,
        }
    }
}

impl Drop for StaticIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

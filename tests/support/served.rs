//! `opp proxy` served without a command, as a user starts it in a terminal, for tests that
//! talk to it from outside: its URL, secret, temporary directory and CA read from what it
//! prints, its stderr kept in a file, curl and raw HTTP/1.1 requests (plain or over TLS
//! trusting its CA) to it. Stopped with SIGTERM when dropped. Include it with
//! `#[path = "support/served.rs"] mod served;` beside `mod support;`.

#![allow(dead_code)] // each test crate uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::cli::Env;

pub struct Served {
    pub opp: Child,
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub url: String,
    pub token: String,
    /// The proxy's private temporary directory (`OPP_PROXY_TMP`).
    pub tmp: PathBuf,
    /// The CA certificate file (HTTPS only).
    pub ca_cert: Option<PathBuf>,
    stderr: PathBuf,
}

impl Served {
    /// `opp GLOBAL... proxy ARGS...` in `env`, with TMPDIR `tmpdir`; returns once it has printed
    /// its settings.
    pub fn start(env: &Env, global: &[&str], args: &[&str], tmpdir: &Path) -> Served {
        std::fs::create_dir_all(tmpdir).expect("create TMPDIR");
        let stderr = tempfile::Builder::new()
            .prefix("opp-proxy-stderr.")
            .tempfile_in(env.root())
            .expect("a file for opp's stderr")
            .into_temp_path()
            .keep()
            .expect("keep the stderr file");
        let mut opp = env
            .opp()
            .args(global)
            .arg("proxy")
            .args(args)
            .env("TMPDIR", tmpdir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start opp proxy");
        let mut lines = BufReader::new(opp.stdout.take().expect("opp's stdout"));
        let (mut url, mut tmp, mut token, mut ca) = (None, None, None, None);
        let mut printed = String::new();
        let https = args.iter().all(|a| *a != "--http");
        while url.is_none() || tmp.is_none() || token.is_none() || (https && ca.is_none()) {
            let mut line = String::new();
            if lines.read_line(&mut line).expect("read opp's output") == 0 {
                let _ = opp.kill();
                panic!(
                    "opp proxy ended its output early:\n{printed}\nstderr:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            printed.push_str(&line);
            let line = line.trim();
            let value = |key: &str| {
                line.strip_prefix(&format!("export {key}="))
                    .map(str::to_owned)
            };
            url = url.or(value("OPP_PROXY_URL"));
            tmp = tmp.or(value("OPP_PROXY_TMP"));
            token = token.or(value("OPP_PROXY_TOKEN"));
            ca = ca.or(value("OPP_PROXY_CA_CERT"));
        }
        // Keep reading so opp never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
        });
        Served {
            opp,
            url: url.expect("url"),
            token: token.expect("token"),
            tmp: PathBuf::from(tmp.expect("tmp")),
            ca_cert: ca.map(PathBuf::from),
            stderr,
        }
    }

    /// What opp has written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the proxy's URL")
    }

    /// `curl -sS` with the secret as a Bearer token and the CA trusted, writing the body to
    /// `out` and the status to stdout; `extra` goes before the URL.
    pub fn curl(&self, path_or_url: &str, out: &Path, extra: &[&str]) -> Output {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.url)
        };
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--http1.1", "--noproxy", "*", "-o"])
            .arg(out)
            .args(["-w", "%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token));
        if let Some(ca) = &self.ca_cert {
            cmd.arg("--cacert").arg(ca);
        }
        cmd.args(extra).arg(url);
        cmd.output().expect("run curl (apt-get install curl)")
    }

    /// Sends `request` (the secret is not added) over a raw connection, TLS when the proxy
    /// serves HTTPS, and returns what came back within `limit` (up to the end of the status
    /// line and headers), or the error that ended the connection.
    pub fn raw(&self, request: &[u8], limit: Duration) -> Result<String, String> {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port())).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(limit))
            .map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(limit))
            .map_err(|e| e.to_string())?;
        match &self.ca_cert {
            None => exchange(&mut tcp, request, limit),
            Some(ca) => {
                let mut conn =
                    rustls::ClientConnection::new(tls_config(ca), "localhost".try_into().unwrap())
                        .map_err(|e| e.to_string())?;
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                exchange(&mut tls, request, limit)
            }
        }
    }

    /// Kills the proxy with SIGKILL, as a crash or the OOM killer would, and waits for it.
    pub fn kill_hard(&mut self) {
        let _ = self.opp.kill();
        let _ = self.opp.wait();
    }

    /// Stops the proxy with SIGTERM and waits (at most 10 s) for it to exit.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.opp.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.opp.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.opp.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_hard();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes `request`, then reads until the end of the head, the end of the stream or an
/// error. A write error is only reported when nothing could be read after it.
fn exchange(
    stream: &mut impl ReadWrite,
    request: &[u8],
    limit: Duration,
) -> Result<String, String> {
    let written = stream.write_all(request).and_then(|()| stream.flush());
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let ended = loop {
        if Instant::now() > deadline {
            break Some("no answer in time".to_owned());
        }
        match stream.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    break None;
                }
            }
            Err(e) => break Some(e.to_string()),
        }
    };
    if got.is_empty() {
        return Err(match (written, ended) {
            (Err(w), Some(r)) => format!("write: {w}; read: {r}"),
            (Err(w), None) => format!("write: {w}; then closed"),
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => "closed without an answer".to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn tls_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    opp::store::registry::install_crypto_provider();
    let pem = std::fs::read(ca).expect("read the proxy's CA");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.expect("a CA certificate"))
            .expect("add the CA");
    }
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

//! The test harness of `proxy_pypi.rs`: the PyPI frontend served in-process over an
//! [`Env`]'s store (a minimal stand-in for the real `opp proxy` server: axum on a loopback port,
//! rustls with a throwaway CA for HTTPS), plain HTTP requests to it, test wheels with
//! dependencies, multipart upload bodies, the real uv and twine, and a stand-in upstream index.

#![allow(dead_code)] // shared by several test crates, each using a part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use opp::mapper::Mapper;
use opp::output::Output;
use opp::proxy::pypi::PypiFrontend;
use opp::proxy::{ChildContext, Frontend, ProxyState};
use opp::store::layout::LayoutStore;

use crate::support;
use crate::support::cli::Env;
use crate::support::fixtures;

/// The proxy's PyPI frontend over `env`'s local store, served on a loopback port.
pub struct Proxy {
    pub rt: tokio::runtime::Runtime,
    pub state: Arc<ProxyState>,
    pub ctx: ChildContext,
    _ca_dir: tempfile::TempDir,
}

impl Proxy {
    pub fn http(env: &Env, upstream: Option<String>) -> Proxy {
        let rt = runtime();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let state = state(env, format!("http://127.0.0.1:{port}"), upstream);
        let app = PypiFrontend.router().with_state(state.clone());
        rt.spawn(async move { axum::serve(listener, app).await });
        let ca_dir = tempfile::tempdir().unwrap();
        let ctx = ChildContext {
            temp_dir: ca_dir.path().to_owned(),
            ca_bundle: None,
            command: Vec::new(),
        };
        Proxy {
            rt,
            state,
            ctx,
            _ca_dir: ca_dir,
        }
    }

    /// HTTPS on `localhost` with a throwaway CA; the context's bundle is the system roots
    /// plus that CA, as the real proxy hands it to its child.
    pub fn https(env: &Env) -> Proxy {
        let rt = runtime();
        let (ca_pem, cert_pem, key_pem) = certificates();
        let ca_dir = tempfile::tempdir().unwrap();
        let bundle = ca_dir.path().join("bundle.pem");
        let system =
            std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
        std::fs::write(&bundle, format!("{system}\n{ca_pem}")).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = state(env, format!("https://localhost:{port}"), None);
        let app = PypiFrontend.router().with_state(state.clone());
        let config = rt
            .block_on(axum_server::tls_rustls::RustlsConfig::from_pem(
                cert_pem.into_bytes(),
                key_pem.into_bytes(),
            ))
            .expect("a TLS config from the test certificate");
        let _in_runtime = rt.enter();
        let server = axum_server::from_tcp_rustls(listener, config).unwrap();
        rt.spawn(async move { server.serve(app.into_make_service()).await });
        let ctx = ChildContext {
            temp_dir: ca_dir.path().to_owned(),
            ca_bundle: Some(bundle),
            command: Vec::new(),
        };
        Proxy {
            rt,
            state,
            ctx,
            _ca_dir: ca_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.state.base_url)
    }

    /// What the frontend hands a child process.
    pub fn child_env(&self) -> Vec<(String, String)> {
        self.rt
            .block_on(PypiFrontend.child_env(&self.state, &self.ctx))
            .expect("child_env")
    }

    /// `cmd` with the child environment applied.
    pub fn configure<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.envs(self.child_env())
    }

    /// One HTTP request (no redirects followed): status, headers, body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(method, path, headers, None)
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(String, Vec<u8>)>,
    ) -> Reply {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut req = client.request(method.parse().unwrap(), self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        self.rt.block_on(async {
            let resp = req.send().await.expect("the proxy answers");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.expect("a body").to_vec();
            Reply {
                status,
                headers,
                body,
            }
        })
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn state(env: &Env, base_url: String, upstream: Option<String>) -> Arc<ProxyState> {
    Arc::new(ProxyState {
        store: Arc::new(LayoutStore::new(env.store())),
        mapper: Mapper::new("").unwrap(),
        out: Output::new(true),
        base_url,
        pypi_upstream: upstream,
        module_host: "localhost".into(),
        max_upload: 1 << 30,
        access: opp::proxy::access::Access::with_secret("s3cret"),
        spool: opp::proxy::spool::Spool::new(&std::env::temp_dir(), 1 << 30).expect("a spool"),
    })
}

/// (CA PEM, leaf PEM, leaf key PEM) for `localhost` and `127.0.0.1`.
pub fn certificates() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "opp test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

/// A pure-Python wheel `{module}-{version}-py3-none-any.whl` whose module sets `VERSION` and
/// runs `body`, with `Requires-Dist` lines for `requires`.
pub fn wheel(dir: &Path, name: &str, version: &str, requires: &[&str], body: &str) -> PathBuf {
    use std::io::Write;
    let module = name.replace('-', "_");
    let info = format!("{module}-{version}.dist-info");
    let mut metadata = format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: opp proxy test\nRequires-Python: >=3.8\n"
    );
    for r in requires {
        metadata.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let members = [
        (
            format!("{module}/__init__.py"),
            format!("VERSION = {version:?}\n{body}\n"),
        ),
        (format!("{info}/METADATA"), metadata),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: opp-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
    ];
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{module}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let mut record = String::new();
    for (member, text) in &members {
        zip.start_file(member.as_str(), options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        record.push_str(&format!(
            "{member},{},{}\n",
            fixtures::record_hash(text.as_bytes()),
            text.len()
        ));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    zip.start_file(format!("{info}/RECORD"), options).unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

pub fn uv(env: &Env) -> Command {
    let mut cmd = Command::new(support::tool("uv"));
    env.isolate(&mut cmd, &["UV_", "PIP_", "PYTHON"]);
    cmd.env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_NO_PROGRESS", "1");
    cmd
}

pub fn twine(env: &Env) -> Command {
    let mut cmd = Command::new(support::tool("twine"));
    env.isolate(&mut cmd, &["TWINE_", "PYTHON"]);
    cmd
}

pub const JSON: &str = "application/vnd.pypi.simple.v1+json";

/// A multipart body as twine sends it: text fields, then the file.
pub fn form(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "opp-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A stand-in upstream index: `/simple/{name}/` answers a page for every name but `absent`,
/// and counts the requests.
pub fn upstream(rt: &tokio::runtime::Runtime, hits: Arc<AtomicUsize>) -> String {
    use axum::extract::Path as UrlPath;
    let app = axum::Router::new().route(
        "/simple/{name}/",
        axum::routing::get(move |UrlPath(name): UrlPath<String>| {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                if name == "absent" {
                    return (axum::http::StatusCode::NOT_FOUND, [("content-type", "text/plain")], String::new());
                }
                let body = format!(
                    "{{\"meta\":{{\"api-version\":\"1.0\"}},\"name\":\"{name}\",\"files\":[{{\"filename\":\"{m}-9.9.9-py3-none-any.whl\",\"url\":\"https://files.example/{m}-9.9.9-py3-none-any.whl\",\"hashes\":{{}}}}]}}",
                    m = name.replace('-', "_")
                );
                (axum::http::StatusCode::OK, [("content-type", JSON)], body)
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/simple/")
}

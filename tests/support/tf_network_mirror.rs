//! A provider network mirror over HTTPS, made the way an operator makes one: the real
//! `terraform providers mirror DIR` fetches a provider from a registry (the test registry of
//! [`super::tf_registry`]) into `DIR`, and the directory is served as static files under
//! `https://localhost:PORT/mirror/` (`.json` as `application/json`, which Terraform requires
//! of mirror documents). Files are read from disk on each request, so a test can tamper with
//! a zip after the mirror was made. The certificate comes from a throwaway CA
//! ([`TfNetworkMirror::ca_file`]), as the registry's does.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::terraform::{self, Terraform};
use super::tf_registry::{TfRegistry, certificates};

struct Served {
    dir: PathBuf,
    /// Paths asked for (under `/mirror/`), in order.
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Served>>;

/// The mirror, served until dropped.
pub struct TfNetworkMirror {
    _runtime: tokio::runtime::Runtime,
    state: Shared,
    /// `https://localhost:PORT/mirror/`: the `network_mirror` URL.
    pub url: String,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_file: PathBuf,
}

impl TfNetworkMirror {
    /// Serves `dir` (what `terraform providers mirror` wrote); the CA file goes beside it.
    pub fn serve(dir: &Path) -> TfNetworkMirror {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (ca_pem, cert_pem, key_pem) = certificates();
        let ca_file = dir.with_extension("ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write the CA file");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let state: Shared = Arc::new(Mutex::new(Served {
            dir: dir.to_path_buf(),
            requests: Vec::new(),
        }));
        opp::store::registry::install_crypto_provider();
        let tls = runtime
            .block_on(axum_server::tls_rustls::RustlsConfig::from_pem(
                cert_pem.into_bytes(),
                key_pem.into_bytes(),
            ))
            .expect("TLS config from the leaf");
        let app = Router::new()
            .route("/mirror/{*path}", get(file))
            .with_state(state.clone());
        {
            let _inside = runtime.enter();
            listener
                .set_nonblocking(true)
                .expect("non-blocking listener");
            let server = axum_server::tls_rustls::from_tcp_rustls(listener, tls)
                .expect("serve the listener");
            runtime.spawn(server.serve(app.into_make_service()));
        }
        TfNetworkMirror {
            _runtime: runtime,
            state,
            url: format!("https://localhost:{port}/mirror/"),
            ca_file,
        }
    }

    /// Every path asked for so far (relative to the mirror's URL), in order.
    pub fn requests(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .requests
            .clone()
    }

    /// A CLI configuration installing every provider from this mirror only.
    pub fn cli_config(&self) -> String {
        format!(
            "provider_installation {{\n  network_mirror {{\n    url = \"{}\"\n  }}\n}}\n",
            self.url
        )
    }
}

/// Runs the real `terraform providers mirror` for `namespace/type` (`constraint`) from the
/// test `registry`, for `platforms`, into `dir`; then moves what it wrote under the registry's
/// `localhost:PORT/` into `hostname/` (e.g. `registry.terraform.io`), so the mirror serves the
/// provider under that address. (Terraform's network mirror client cannot ask for a hostname
/// with a port: it joins the path `localhost:PORT/...`, which reads as a URL scheme.)
pub fn mirror_with_terraform(
    tf: &Terraform,
    registry: &TfRegistry,
    (namespace, provider_type, constraint): (&str, &str, &str),
    platforms: &[(&str, &str)],
    dir: &Path,
    hostname: &str,
) {
    let work = dir.with_extension("config");
    terraform::config_for_provider(&work, &registry.host, namespace, provider_type, constraint);
    let out = tf
        .command(&work)
        .args(["providers", "mirror"])
        .args(
            platforms
                .iter()
                .map(|(os, arch)| format!("-platform={os}_{arch}")),
        )
        .arg(dir)
        .env("SSL_CERT_FILE", &registry.ca_file)
        .output()
        .expect("run terraform providers mirror");
    assert!(
        out.status.success(),
        "terraform providers mirror failed:\n{}",
        terraform::explain(&out)
    );
    std::fs::rename(dir.join(&registry.host), dir.join(hostname))
        .expect("move the mirrored hostname directory");
}

async fn file(State(state): State<Shared>, UrlPath(path): UrlPath<String>) -> Response {
    let dir = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(path.clone());
        s.dir.clone()
    };
    let relative = Path::new(&path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let kind = if path.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    match tokio::fs::read(dir.join(relative)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

//! A local Terraform module registry over HTTPS, as the module registry protocol describes it
//! (and as hashicorp/terraform's `internal/registry/client.go` reads it): service discovery at
//! `/.well-known/terraform.json` (`modules.v1`), the versions of a module
//! (`{"modules": [{"versions": [...]}]}`), and per version a `download` answering 204 with
//! `X-Terraform-Get` set to whatever the test gives (an archive this server serves under
//! `/archives/`, a relative path, a `git::file://` repository). Archives are read from disk on
//! each request, so a test can tamper with them. Served on `localhost:PORT` with the
//! throwaway CA of [`super::tf_registry::certificates`] ([`TfModuleRegistry::ca_file`] is what
//! `SSL_CERT_FILE` points at). Also the fixtures: a module as a tar.gz, a hostile tar.gz, and
//! a git repository made with the system's git.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

#[derive(Default)]
struct Registry {
    /// `namespace/name/system` -> version -> `X-Terraform-Get`.
    modules: BTreeMap<String, BTreeMap<String, String>>,
    archives: PathBuf,
    /// Paths asked for, in order.
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Registry>>;

/// The registry, served until dropped.
pub struct TfModuleRegistry {
    _runtime: tokio::runtime::Runtime,
    state: Shared,
    /// `127.0.0.1:PORT`: the host of module addresses served here (Terraform takes a module
    /// registry host only with a dot in it, so not `localhost`).
    pub host: String,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_file: PathBuf,
    /// Where `/archives/NAME` is read from.
    pub archives: PathBuf,
}

impl TfModuleRegistry {
    /// Starts the registry on a free loopback port; the CA file and `archives/` go into `dir`.
    pub fn start(dir: &Path) -> TfModuleRegistry {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (ca_pem, cert_pem, key_pem) = super::tf_registry::certificates();
        let archives = dir.join("archives");
        std::fs::create_dir_all(&archives).expect("create the registry's directory");
        let ca_file = dir.join("tf-module-registry-ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write the CA file");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let state: Shared = Arc::new(Mutex::new(Registry {
            archives: archives.clone(),
            ..Registry::default()
        }));
        opp::store::registry::install_crypto_provider();
        let tls = runtime
            .block_on(axum_server::tls_rustls::RustlsConfig::from_pem(
                cert_pem.into_bytes(),
                key_pem.into_bytes(),
            ))
            .expect("TLS config from the leaf");
        let module = "{namespace}/{name}/{system}";
        let app = Router::new()
            .route("/.well-known/terraform.json", get(discovery))
            .route(&format!("/v1/modules/{module}/versions"), get(versions))
            .route(
                &format!("/v1/modules/{module}/{{version}}/download"),
                get(download),
            )
            .route("/archives/{file}", get(archive))
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
        TfModuleRegistry {
            _runtime: runtime,
            state,
            host: format!("127.0.0.1:{port}"),
            ca_file,
            archives,
        }
    }

    /// Serves `address` (`namespace/name/system`) `version`, its download answering with
    /// `X-Terraform-Get: location`.
    pub fn add_version(&self, address: &str, version: &str, location: &str) {
        self.lock()
            .modules
            .entry(address.to_owned())
            .or_default()
            .insert(version.to_owned(), location.to_owned());
    }

    /// `https://127.0.0.1:PORT/archives/<name>`: where an archive in [`Self::archives`] is
    /// served.
    pub fn archive_url(&self, name: &str) -> String {
        format!("https://{}/archives/{name}", self.host)
    }

    /// Every path asked for so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn enter(state: &Shared, path: String) -> std::sync::MutexGuard<'_, Registry> {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.requests.push(path);
    s
}

async fn discovery(State(state): State<Shared>) -> Response {
    drop(enter(&state, "/.well-known/terraform.json".into()));
    axum::Json(json!({"modules.v1": "/v1/modules/"})).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"errors": ["Not Found"]})),
    )
        .into_response()
}

async fn versions(
    State(state): State<Shared>,
    UrlPath((namespace, name, system)): UrlPath<(String, String, String)>,
) -> Response {
    let key = format!("{namespace}/{name}/{system}");
    let s = enter(&state, format!("/v1/modules/{key}/versions"));
    let Some(versions) = s.modules.get(&key) else {
        return not_found();
    };
    let listed: Vec<_> = versions
        .keys()
        .map(|v| json!({"version": v, "submodules": []}))
        .collect();
    axum::Json(json!({"modules": [{"source": key, "versions": listed}]})).into_response()
}

async fn download(
    State(state): State<Shared>,
    UrlPath((namespace, name, system, version)): UrlPath<(String, String, String, String)>,
) -> Response {
    let key = format!("{namespace}/{name}/{system}");
    let s = enter(&state, format!("/v1/modules/{key}/{version}/download"));
    let Some(location) = s.modules.get(&key).and_then(|v| v.get(&version)) else {
        return not_found();
    };
    (
        StatusCode::NO_CONTENT,
        [(HeaderName::from_static("x-terraform-get"), location.clone())],
    )
        .into_response()
}

async fn archive(State(state): State<Shared>, UrlPath(file): UrlPath<String>) -> Response {
    let dir = {
        let s = enter(&state, format!("/archives/{file}"));
        s.archives.clone()
    };
    if file.contains('/') || file.starts_with('.') {
        return not_found();
    }
    match tokio::fs::read(dir.join(&file)).await {
        Ok(bytes) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

/// `dir` as a tar.gz at `out`, entries relative to `dir` (`.git/` and `.terraform/` too, as a
/// careless release would ship them), with their modes.
pub fn tar_gz_of(dir: &Path, out: &Path) {
    let file = std::fs::File::create(out).expect("create the tar.gz");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(".", dir).expect("tar the module");
    let gz = tar.into_inner().expect("finish the tar");
    gz.finish()
        .expect("finish the gzip")
        .flush()
        .expect("flush");
}

/// A tar.gz holding `main.tf` and `../evil.tf` (whose name a real tar would refuse to write;
/// the bytes are set by hand).
pub fn hostile_tar_gz(out: &Path) {
    let file = std::fs::File::create(out).expect("create the tar.gz");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in [
        ("main.tf", &b"# ok\n"[..]),
        ("../evil.tf", &b"# evil\n"[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, data).expect("append an entry");
    }
    let gz = tar.into_inner().expect("finish the tar");
    gz.finish()
        .expect("finish the gzip")
        .flush()
        .expect("flush");
}

/// A git repository in `repo` (made with the system's git) whose one commit holds `files`
/// (paths relative to `from`), tagged `tag`. Returns `git::file://<repo>?ref=<tag>`.
pub fn git_repo(repo: &Path, from: &Path, files: &[&str], tag: &str) -> String {
    std::fs::create_dir_all(repo).expect("create the repository");
    for f in files {
        let target = repo.join(f);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("create a directory");
        std::fs::copy(from.join(f), &target).expect("copy a module file");
    }
    let git = |args: &[&str]| {
        let out = Command::new(super::tool("git"))
            .arg("-C")
            .arg(repo)
            .args(args)
            .env("GIT_AUTHOR_NAME", "opp tests")
            .env("GIT_AUTHOR_EMAIL", "tests@opp.invalid")
            .env("GIT_COMMITTER_NAME", "opp tests")
            .env("GIT_COMMITTER_EMAIL", "tests@opp.invalid")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", repo)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "-m", "the module"]);
    git(&["tag", tag]);
    format!("git::file://{}?ref={tag}", repo.display())
}

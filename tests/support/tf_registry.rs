//! A local Terraform provider registry over HTTPS, as the provider registry protocol describes
//! it (and as hashicorp/terraform's `internal/getproviders/registry_client.go` reads it):
//! service discovery at `/.well-known/terraform.json` (`providers.v1`), the versions of a
//! provider with their platforms, and per platform a download document naming the zip, its
//! sha256 (recorded when the release was added, as a registry records it at publish time),
//! `SHA256SUMS`, its detached signature and the signing keys (`signing_keys.gpg_public_keys`).
//! Releases are the ones [`super::terraform::provider_release`] builds, signed by [`Gpg`]
//! (a key generated with the real `gpg`, in a temporary GNUPGHOME, no passphrase). Files are
//! read from disk on each request, so a test can tamper with them after adding the release.
//! Served on `localhost:PORT` with a leaf certificate from a throwaway CA ([`TfRegistry::ca_file`]
//! is what `SSL_CERT_FILE` points at). An optional delay before every answer stands in for a
//! distant upstream (the benchmark).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::terraform;

/// A signing key made with the real `gpg` in its own GNUPGHOME (RSA 3072, sign only, no
/// passphrase, no expiry), as provider authors make theirs.
pub struct Gpg {
    home: tempfile::TempDir,
    /// The 16-hex-digit key id, uppercase (what `gpg --list-keys --keyid-format long` shows).
    pub key_id: String,
    /// `gpg --armor --export`.
    pub armor: String,
}

impl Gpg {
    /// A new key for `user_id` (e.g. `acme test <test@acme.invalid>`).
    pub fn new(user_id: &str) -> Gpg {
        let gpg = super::tool("gpg");
        let home = tempfile::Builder::new()
            .prefix("opp-gnupg.")
            .tempdir()
            .expect("a temporary GNUPGHOME");
        let run = |args: &[&str]| -> Vec<u8> {
            let out = Command::new(&gpg)
                .env("GNUPGHOME", home.path())
                .args(["--batch", "--no-tty", "--quiet"])
                .args(args)
                .output()
                .expect("run gpg");
            assert!(
                out.status.success(),
                "gpg {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        run(&[
            "--passphrase",
            "",
            "--quick-generate-key",
            user_id,
            "rsa3072",
            "sign",
            "never",
        ]);
        let listing = String::from_utf8(run(&["--with-colons", "--list-keys"])).expect("UTF-8");
        let key_id = listing
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.first() == Some(&"pub")).then(|| f[4].to_owned())
            })
            .expect("gpg lists the key it made");
        let armor = String::from_utf8(run(&["--armor", "--export", &key_id])).expect("UTF-8");
        Gpg {
            home,
            key_id,
            armor,
        }
    }

    /// A binary detached signature of `file` (what HashiCorp's `..._SHA256SUMS.sig` is).
    pub fn sign(&self, file: &Path, signature: &Path) {
        let _ = std::fs::remove_file(signature);
        let out = Command::new(super::tool("gpg"))
            .env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--no-tty",
                "--quiet",
                "--detach-sign",
                "--output",
            ])
            .arg(signature)
            .arg(file)
            .output()
            .expect("run gpg");
        assert!(
            out.status.success(),
            "gpg --detach-sign {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// One provider version the registry serves.
#[derive(Clone)]
struct Release {
    dir: PathBuf,
    provider_type: String,
    version: String,
    platforms: Vec<(String, String)>,
    /// The zip's sha256 per platform, recorded when the release was added.
    shasums: BTreeMap<(String, String), String>,
    /// (key id, ASCII armor) of the keys the download document names.
    keys: Vec<(String, String)>,
}

#[derive(Default)]
struct Registry {
    base_url: String,
    delay: Duration,
    /// `namespace/type` -> releases.
    providers: BTreeMap<String, Vec<Release>>,
    /// Paths asked for, in order.
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Registry>>;

/// The registry, served until dropped.
pub struct TfRegistry {
    runtime: tokio::runtime::Runtime,
    state: Shared,
    /// `localhost:PORT`: the hostname of provider addresses served here.
    pub host: String,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_file: PathBuf,
}

impl TfRegistry {
    /// Starts the registry on a free loopback port; the CA file is written into `dir`.
    pub fn start(dir: &Path) -> TfRegistry {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (ca_pem, cert_pem, key_pem) = certificates();
        std::fs::create_dir_all(dir).expect("create the registry's directory");
        let ca_file = dir.join("tf-registry-ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write the CA file");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let host = format!("localhost:{port}");
        let state: Shared = Arc::new(Mutex::new(Registry {
            base_url: format!("https://{host}"),
            ..Registry::default()
        }));
        opp::store::registry::install_crypto_provider();
        let tls = runtime
            .block_on(axum_server::tls_rustls::RustlsConfig::from_pem(
                cert_pem.into_bytes(),
                key_pem.into_bytes(),
            ))
            .expect("TLS config from the leaf");
        let app = Router::new()
            .route("/.well-known/terraform.json", get(discovery))
            .route("/v1/providers/{namespace}/{type}/versions", get(versions))
            .route(
                "/v1/providers/{namespace}/{type}/{version}/download/{os}/{arch}",
                get(download),
            )
            .route("/files/{namespace}/{type}/{version}/{file}", get(file))
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
        TfRegistry {
            runtime,
            state,
            host,
            ca_file,
        }
    }

    /// Waits `delay` before every answer from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Serves the release in `dir` (zips and SHA256SUMS as
    /// [`terraform::provider_release`] writes them) as `address` (`namespace/type`) `version`,
    /// for `platforms`, signed by `signer` (the `..._SHA256SUMS.sig` is written into `dir`)
    /// and naming `keys` as the signing keys. The sha256 of each zip is recorded now.
    pub fn add_release(
        &self,
        address: &str,
        dir: &Path,
        version: &str,
        platforms: &[(&str, &str)],
        signer: &Gpg,
        keys: &[&Gpg],
    ) {
        let (namespace, provider_type) = address.split_once('/').expect("namespace/type");
        let sums = dir.join(terraform::sums_name(provider_type, version));
        signer.sign(&sums, &sig_path(&sums));
        let mut shasums = BTreeMap::new();
        for &(os, arch) in platforms {
            let zip = dir.join(terraform::zip_name(provider_type, version, os, arch));
            let bytes = std::fs::read(&zip).unwrap_or_else(|e| panic!("{}: {e}", zip.display()));
            shasums.insert(
                (os.to_owned(), arch.to_owned()),
                hex::encode(Sha256::digest(&bytes)),
            );
        }
        let release = Release {
            dir: dir.to_path_buf(),
            provider_type: provider_type.to_owned(),
            version: version.to_owned(),
            platforms: platforms
                .iter()
                .map(|(o, a)| ((*o).to_owned(), (*a).to_owned()))
                .collect(),
            shasums,
            keys: keys
                .iter()
                .map(|k| (k.key_id.clone(), k.armor.clone()))
                .collect(),
        };
        self.lock()
            .providers
            .entry(format!("{namespace}/{provider_type}"))
            .or_default()
            .push(release);
    }

    /// Every path asked for so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `<SHA256SUMS path>.sig`.
pub fn sig_path(sums: &Path) -> PathBuf {
    let mut name = sums.file_name().expect("a file name").to_os_string();
    name.push(".sig");
    sums.with_file_name(name)
}

/// Records the request and waits the configured delay; returns a copy of the state's data.
async fn enter(state: &Shared, path: String) -> (String, BTreeMap<String, Vec<Release>>) {
    let (delay, base, providers) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(path);
        (s.delay, s.base_url.clone(), s.providers.clone())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (base, providers)
}

async fn discovery(State(state): State<Shared>) -> Response {
    enter(&state, "/.well-known/terraform.json".into()).await;
    axum::Json(json!({"providers.v1": "/v1/providers/"})).into_response()
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
    UrlPath((namespace, provider_type)): UrlPath<(String, String)>,
) -> Response {
    let key = format!("{namespace}/{provider_type}");
    let (_, providers) = enter(&state, format!("/v1/providers/{key}/versions")).await;
    let Some(releases) = providers.get(&key) else {
        return not_found();
    };
    let versions: Vec<_> = releases
        .iter()
        .map(|r| {
            json!({
                "version": r.version,
                "protocols": ["5.0"],
                "platforms": r.platforms.iter()
                    .map(|(os, arch)| json!({"os": os, "arch": arch}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(json!({ "versions": versions })).into_response()
}

async fn download(
    State(state): State<Shared>,
    UrlPath((namespace, provider_type, version, os, arch)): UrlPath<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Response {
    let key = format!("{namespace}/{provider_type}");
    let (base, providers) = enter(
        &state,
        format!("/v1/providers/{key}/{version}/download/{os}/{arch}"),
    )
    .await;
    let Some(release) = providers
        .get(&key)
        .and_then(|rs| rs.iter().find(|r| r.version == version))
    else {
        return not_found();
    };
    let Some(shasum) = release.shasums.get(&(os.clone(), arch.clone())) else {
        return not_found();
    };
    let files = format!("{base}/files/{key}/{version}");
    let zip = terraform::zip_name(&release.provider_type, &version, &os, &arch);
    let sums = terraform::sums_name(&release.provider_type, &version);
    let keys: Vec<_> = release
        .keys
        .iter()
        .map(|(id, armor)| {
            json!({"key_id": id, "ascii_armor": armor, "trust_signature": "",
                   "source": "opp tests", "source_url": null})
        })
        .collect();
    axum::Json(json!({
        "protocols": ["5.0"],
        "os": os,
        "arch": arch,
        "filename": zip,
        "download_url": format!("{files}/{zip}"),
        "shasums_url": format!("{files}/{sums}"),
        "shasums_signature_url": format!("{files}/{sums}.sig"),
        "shasum": shasum,
        "signing_keys": {"gpg_public_keys": keys},
    }))
    .into_response()
}

async fn file(
    State(state): State<Shared>,
    UrlPath((namespace, provider_type, version, name)): UrlPath<(String, String, String, String)>,
) -> Response {
    let key = format!("{namespace}/{provider_type}");
    let (_, providers) = enter(&state, format!("/files/{key}/{version}/{name}")).await;
    let Some(release) = providers
        .get(&key)
        .and_then(|rs| rs.iter().find(|r| r.version == version))
    else {
        return not_found();
    };
    if name.contains('/') || name.starts_with('.') {
        return not_found();
    }
    match tokio::fs::read(release.dir.join(&name)).await {
        Ok(bytes) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

/// A throwaway CA and a leaf for `localhost` and `127.0.0.1` signed by it, as PEM:
/// (CA certificate, leaf certificate, leaf key).
pub fn certificates() -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "opp test registry CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
        .expect("self-signed CA");
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf parameters");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &ca).expect("leaf signed by the CA");
    (ca.pem(), cert.pem(), key.serialize_pem())
}

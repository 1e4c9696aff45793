//! A NuGet v3 feed served in-process for the tests, as nuget.org lays it out: a service index,
//! registrations (an index per id, with its page inlined, or linked for ids with several
//! versions, as nuget.org does for large ids), a flat container, and `.snupkg` symbols where
//! nuget.org's gallery serves them (`/api/v2/symbolpackage/{id}/{version}`), over HTTPS with a throwaway
//! CA (opp's proxy CA code), from `.nupkg` files the test made. Every request path is recorded.
//! nuget.exe under mono trusts the CA through mono's trust directory ([`Feed::trust_for_mono`],
//! as `opp proxy` does for its child), opp through `SSL_CERT_FILE` ([`Feed::ca_bundle`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum_server::tls_rustls::RustlsConfig;
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

/// A dependency group: its targetFramework (`None`: any) and its (id, range) dependencies.
pub type FeedGroup = (Option<String>, Vec<(String, String)>);

/// One package version of the feed.
#[derive(Clone, Debug)]
pub struct FeedPackage {
    pub id: String,
    pub version: String,
    /// The `.nupkg` the feed serves.
    pub path: PathBuf,
    /// (targetFramework or `None` for "any", [(dependency id, range)]).
    pub groups: Vec<FeedGroup>,
    pub listed: bool,
    /// The `packageHash` the registration states, when it is not the file's own.
    pub stated_hash: Option<String>,
    /// The `.snupkg` served where nuget.org's gallery serves symbols
    /// (`/api/v2/symbolpackage/{id}/{version}`, beside the `SymbolPackagePublish` resource).
    pub symbols: Option<PathBuf>,
}

impl FeedPackage {
    pub fn new(id: &str, version: &str, path: &Path) -> FeedPackage {
        FeedPackage {
            id: id.into(),
            version: version.into(),
            path: path.into(),
            groups: Vec::new(),
            listed: true,
            stated_hash: None,
            symbols: None,
        }
    }
}

/// The base64 SHA-512 of a file, as `packageHash` and packages.lock.json's `contentHash` give it.
pub fn sha512_base64(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&bytes))
}

pub struct Feed {
    /// Serves the feed until the feed is dropped.
    _rt: tokio::runtime::Runtime,
    /// `https://localhost:PORT`.
    pub base: String,
    pub ca_pem: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Feed {
    /// Serves `packages` on a loopback port.
    pub fn serve(packages: &[FeedPackage]) -> Feed {
        Feed::serve_with_auth(packages, None)
    }

    /// Serves `packages`, answering 401 to requests without `user`:`password` (basic auth).
    pub fn serve_with_auth(packages: &[FeedPackage], auth: Option<(&str, &str)>) -> Feed {
        let wanted = auth.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        opp::store::registry::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let base = format!("https://localhost:{port}");
        let files = Arc::new(layout(&base, packages));
        let tls = opp::proxy::tls::generate(&["localhost", "127.0.0.1"]).expect("a test CA");
        let config = rt.block_on(tls.rustls_config()).expect("TLS config");
        // nuget.exe under mono speaks HTTP/1.1 only.
        let mut inner = (*config.get_inner()).clone();
        inner.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = RustlsConfig::from_config(Arc::new(inner));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let files = files.clone();
            let seen = seen.clone();
            let wanted = wanted.clone();
            async move {
                let path = uri.path().to_owned();
                seen.lock().expect("request log").push(path.clone());
                let given = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                if wanted.is_some() && given != wanted.as_deref() {
                    return Response::builder()
                        .status(StatusCode::UNAUTHORIZED)
                        .header(header::WWW_AUTHENTICATE, "Basic realm=\"feed\"")
                        .body(axum::body::Body::from("who are you"))
                        .expect("a 401 response");
                }
                // Ids and versions are case-insensitive in a v3 feed: the layout is lowercase.
                match files.get(&path.to_ascii_lowercase()) {
                    Some((bytes, kind)) => {
                        ([(header::CONTENT_TYPE, *kind)], bytes.clone()).into_response()
                    }
                    None => Response::builder()
                        .status(StatusCode::NOT_FOUND)
                        .body(axum::body::Body::from("not found"))
                        .expect("a 404 response"),
                }
            }
        });
        {
            let _guard = rt.enter();
            let server = axum_server::from_tcp_rustls(listener, config)
                .expect("serve the feed")
                .serve(app.into_make_service());
            rt.spawn(server);
        }
        Feed {
            _rt: rt,
            base,
            ca_pem: tls.ca_pem,
            requests,
        }
    }

    /// The service index URL, what `-Source` and `--upstream` take.
    pub fn index_url(&self) -> String {
        format!("{}/v3/index.json", self.base)
    }

    /// Every path requested so far, in order.
    pub fn requested(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }

    /// Makes mono (nuget.exe) under `config_home` (its `XDG_CONFIG_HOME`) trust the feed's CA:
    /// the certificate in mono's trust directory, named by its OpenSSL subject hash.
    pub fn trust_for_mono(&self, config_home: &Path) {
        let dir = config_home.join(".mono/new-certs/Trust");
        std::fs::create_dir_all(&dir).expect("mono's trust directory");
        let der = pem::parse(&self.ca_pem).expect("the CA is PEM");
        let hash = opp::proxy::nuget::subject_hash(der.contents()).expect("the CA's subject hash");
        std::fs::write(dir.join(format!("{hash}.0")), &self.ca_pem).expect("write the CA");
    }

    /// The system roots and the feed's CA in one PEM file under `dir`, for `SSL_CERT_FILE`.
    pub fn ca_bundle(&self, dir: &Path) -> PathBuf {
        let mut text = opp::proxy::tls::system_roots()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        text.push('\n');
        text.push_str(&self.ca_pem);
        let path = dir.join("feed-ca-bundle.pem");
        std::fs::write(&path, text).expect("write the CA bundle");
        path
    }
}

type Files = BTreeMap<String, (Vec<u8>, &'static str)>;

/// Every file of the feed by lowercase path.
fn layout(base: &str, packages: &[FeedPackage]) -> Files {
    const JSON: &str = "application/json";
    let mut files = Files::new();
    let put_json = |files: &mut Files, path: String, value: Value| {
        files.insert(path, (value.to_string().into_bytes(), JSON));
    };
    put_json(
        &mut files,
        "/v3/index.json".into(),
        json!({
            "version": "3.0.0",
            "resources": [
                {"@id": format!("{base}/v3/flatcontainer/"), "@type": "PackageBaseAddress/3.0.0"},
                {"@id": format!("{base}/v3/registration/"), "@type": "RegistrationsBaseUrl"},
                {"@id": format!("{base}/v3/registration/"), "@type": "RegistrationsBaseUrl/3.0.0-rc"},
                {"@id": format!("{base}/v3/registration/"), "@type": "RegistrationsBaseUrl/3.4.0"},
                {"@id": format!("{base}/v3/registration/"), "@type": "RegistrationsBaseUrl/3.6.0"},
                {"@id": format!("{base}/api/v2/symbolpackage"), "@type": "SymbolPackagePublish/4.9.0"},
            ]
        }),
    );
    let mut by_id: BTreeMap<String, Vec<&FeedPackage>> = BTreeMap::new();
    for p in packages {
        by_id.entry(p.id.to_ascii_lowercase()).or_default().push(p);
    }
    for (lower, versions) in by_id {
        let mut leaves = Vec::new();
        let mut flat_versions = Vec::new();
        for p in &versions {
            let v = p.version.to_ascii_lowercase();
            flat_versions.push(v.clone());
            let bytes = std::fs::read(&p.path).expect("read a feed package");
            if let Some(symbols) = &p.symbols {
                files.insert(
                    format!("/api/v2/symbolpackage/{lower}/{v}"),
                    (
                        std::fs::read(symbols).expect("read a symbols package"),
                        "application/octet-stream",
                    ),
                );
            }
            let content = format!("{base}/v3/flatcontainer/{lower}/{v}/{lower}.{v}.nupkg");
            files.insert(
                format!("/v3/flatcontainer/{lower}/{v}/{lower}.{v}.nupkg"),
                (bytes, "application/octet-stream"),
            );
            let groups: Vec<Value> = p
                .groups
                .iter()
                .map(|(tfm, deps)| {
                    let deps: Vec<Value> = deps
                        .iter()
                        .map(|(id, range)| json!({"@type": "PackageDependency", "id": id, "range": range}))
                        .collect();
                    let mut g = json!({"@type": "PackageDependencyGroup", "dependencies": deps});
                    if let Some(t) = tfm {
                        g["targetFramework"] = json!(t);
                    }
                    g
                })
                .collect();
            let hash = p
                .stated_hash
                .clone()
                .unwrap_or_else(|| sha512_base64(&p.path));
            leaves.push(json!({
                "@id": format!("{base}/v3/registration/{lower}/{v}.json"),
                "@type": "Package",
                "catalogEntry": {
                    "@id": format!("{base}/v3/catalog/{lower}.{v}.json"),
                    "@type": "PackageDetails",
                    "id": p.id,
                    "version": p.version,
                    "listed": p.listed,
                    "published": if p.listed { "2024-01-01T00:00:00+00:00" } else { "1900-01-01T00:00:00+00:00" },
                    "dependencyGroups": groups,
                    "packageContent": content,
                    "packageHash": hash,
                    "packageHashAlgorithm": "SHA512",
                    "description": format!("{} made by opp's tests", p.id),
                    "authors": "opp tests",
                },
                "packageContent": content,
                "registration": format!("{base}/v3/registration/{lower}/index.json"),
            }));
        }
        put_json(
            &mut files,
            format!("/v3/flatcontainer/{lower}/index.json"),
            json!({ "versions": flat_versions }),
        );
        let lowest = versions
            .first()
            .map(|p| p.version.clone())
            .unwrap_or_default();
        let highest = versions
            .last()
            .map(|p| p.version.clone())
            .unwrap_or_default();
        let page_id = format!("{base}/v3/registration/{lower}/page/{lowest}/{highest}.json");
        let mut page = json!({
            "@id": page_id,
            "@type": "catalog:CatalogPage",
            "count": leaves.len(),
            "lower": lowest,
            "upper": highest,
            "parent": format!("{base}/v3/registration/{lower}/index.json"),
        });
        let index_page = if versions.len() > 1 {
            // Linked, not inlined: the client fetches the page.
            let mut full = page.clone();
            full["items"] = json!(leaves);
            put_json(
                &mut files,
                format!(
                    "/v3/registration/{lower}/page/{}/{}.json",
                    lowest.to_ascii_lowercase(),
                    highest.to_ascii_lowercase()
                ),
                full,
            );
            page
        } else {
            page["items"] = json!(leaves);
            page
        };
        put_json(
            &mut files,
            format!("/v3/registration/{lower}/index.json"),
            json!({
                "@id": format!("{base}/v3/registration/{lower}/index.json"),
                "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
                "count": 1,
                "items": [index_page],
            }),
        );
    }
    files
}

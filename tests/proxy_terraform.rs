//! The proxy's Terraform frontend against the real terraform (1.0.3 and 1.15): providers and
//! modules pushed with `opp` are served over HTTPS by the frontend's router, in-process
//! (the `opp proxy` command is not needed), and `terraform init` installs them through the
//! CLI config the frontend writes, with every other network route closed. Also the protocol
//! replies themselves: shapes, hashes, the zips, and fast 404s for what the store lacks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opp::mapper::Mapper;
use opp::output::Output;
use opp::proxy::access::{Access, Verdict};
use opp::proxy::terraform::TerraformFrontend;
use opp::proxy::{ChildContext, Frontend, ProxyState};
use opp::store::layout::LayoutStore;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::{Value, json};

use support::cli::{Env, run_ok};
use support::terraform::{self, Terraform};

const MODULE_HOST: &str = "opp.localhost";
/// A proxy nobody listens on: any request terraform makes beyond the local proxy fails.
const CLOSED_PROXY: &str = "http://127.0.0.1:9";

/// This machine's platform as Terraform names it, e.g. `("linux", "amd64")`.
fn this_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    (std::env::consts::OS, arch)
}

/// `acme/hello` 1.2.3 for this platform and two others, pushed into the env's store; returns
/// the release directory.
fn push_provider(env: &Env) -> PathBuf {
    let mut platforms = vec![this_platform(), ("darwin", "arm64"), ("windows", "amd64")];
    platforms.dedup();
    let rel = terraform::provider_release(&env.root().join("rel"), "hello", "1.2.3", &platforms);
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "acme/hello"])
            .arg(&rel),
    );
    rel
}

fn push_module(env: &Env) {
    let module = terraform::module_dir(&env.root().join("module-src"));
    run_ok(
        env.opp()
            .args(["push", "terraform-module", "acme/greet/null", "1.0.0"])
            .arg(&module),
    );
}

/// A throwaway CA and a leaf for `localhost` and `127.0.0.1` signed by it, as PEM:
/// (CA certificate, leaf certificate, leaf key).
fn certificates() -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "opp proxy test CA");
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

/// The frontend's router served over HTTPS on a free loopback port, from the env's store.
struct Proxy {
    runtime: tokio::runtime::Runtime,
    state: Arc<ProxyState>,
    ctx: ChildContext,
    ca_pem: String,
}

impl Proxy {
    fn start(env: &Env) -> Proxy {
        opp::store::registry::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (ca_pem, cert_pem, key_pem) = certificates();
        let ca_file = env.root().join("proxy-ca.pem");
        std::fs::write(&ca_file, &ca_pem).expect("write the CA file");
        let temp_dir = env.root().join("proxy-tmp");
        std::fs::create_dir_all(&temp_dir).expect("create the proxy's temp dir");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(ProxyState {
            store: Arc::new(LayoutStore::new(env.store())),
            mapper: Mapper::new("").expect("default mapper"),
            out: Output::new(true),
            base_url: format!("https://localhost:{port}"),
            pypi_upstream: None,
            module_host: MODULE_HOST.to_owned(),
            max_upload: 1 << 30,
            access: Access::with_secret("s3cret"),
            spool: opp::proxy::spool::Spool::new(&std::env::temp_dir(), 1 << 30).expect("a spool"),
        });
        let tls = runtime
            .block_on(axum_server::tls_rustls::RustlsConfig::from_pem(
                cert_pem.into_bytes(),
                key_pem.into_bytes(),
            ))
            .expect("TLS config from the leaf");
        let app = TerraformFrontend.router().with_state(state.clone());
        {
            let _inside = runtime.enter();
            let server = axum_server::tls_rustls::from_tcp_rustls(listener, tls)
                .expect("serve the listener");
            runtime.spawn(server.serve(app.into_make_service()));
        }
        Proxy {
            runtime,
            state,
            ctx: ChildContext {
                temp_dir,
                ca_bundle: Some(ca_file),
                command: Vec::new(),
            },
            ca_pem,
        }
    }

    /// What the frontend exports to a child, as `opp proxy -- terraform ...` would.
    fn child_env(&self) -> Vec<(String, String)> {
        self.runtime
            .block_on(TerraformFrontend.child_env(&self.state, &self.ctx))
            .expect("child_env")
    }

    /// GET `path` (under the base URL) or a full URL: status, headers, body, and how long it
    /// took.
    fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>, Duration) {
        let url = if path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.state.base_url)
        };
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA certificate");
        let client = reqwest::Client::builder()
            .tls_certs_only([ca])
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        self.runtime.block_on(async {
            let started = Instant::now();
            let resp = client
                .get(&url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}"));
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.expect("response body").to_vec();
            (status, headers, body, started.elapsed())
        })
    }

    fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, headers, body, _) = self.get(path);
        assert_eq!(
            headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "{path}"
        );
        let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&body))
        });
        (status, value)
    }
}

/// A configuration that needs `acme/hello ~> 1.2` and the module `opp.localhost/acme/greet/null`.
fn write_config(workdir: &Path) {
    std::fs::create_dir_all(workdir).expect("create the workdir");
    let text = format!(
        "terraform {{\n  required_providers {{\n    hello = {{\n      source  = \"acme/hello\"\n      \
         version = \"~> 1.2\"\n    }}\n  }}\n}}\n\n\
         module \"greet\" {{\n  source  = \"{MODULE_HOST}/acme/greet/null\"\n  version = \"1.0.0\"\n  \
         name    = \"tests\"\n}}\n\n\
         output \"greeting\" {{\n  value = module.greet.greeting\n}}\n"
    );
    std::fs::write(workdir.join("main.tf"), text).expect("write main.tf");
}

/// `terraform init` through the proxy installs the pushed provider and module; the lock file
/// holds the `h1:` opp recorded at push time. Terraform records only that hash for a mirror
/// install (it keeps a mirror's other hashes only when they are signed); with the lock file
/// `opp lock` writes (`zh:` and `h1:` of every platform), init through the proxy checks the
/// served zip against it and keeps every hash.
fn terraform_init_installs_through_the_proxy(latest: bool) {
    let env = Env::new();
    push_provider(&env);
    push_module(&env);
    let proxy = Proxy::start(&env);
    let child_env = proxy.child_env();

    let tf = if latest {
        Terraform::latest(&env)
    } else {
        Terraform::new(&env)
    };
    let work = env.root().join("work");
    write_config(&work);
    let init = || {
        let mut cmd = tf.command(&work);
        cmd.args(["init", "-input=false", "-no-color"])
            .envs(child_env.iter().map(|(k, v)| (k, v)))
            .env("HTTPS_PROXY", CLOSED_PROXY)
            .env("HTTP_PROXY", CLOSED_PROXY);
        let out = cmd.output().expect("run terraform init");
        assert!(
            out.status.success(),
            "{} init through the proxy failed:\n{}\n--- CLI config ---\n{}",
            tf.version(),
            terraform::explain(&out),
            std::fs::read_to_string(proxy.ctx.temp_dir.join("opp.tfrc")).unwrap_or_default()
        );
    };
    init();

    let (os, arch) = this_platform();
    let (_, doc) =
        proxy.get_json("/terraform/providers/registry.terraform.io/acme/hello/1.2.3.json");
    let served = |platform: &str| -> Vec<String> {
        serde_json::from_value(doc["archives"][platform]["hashes"].clone()).expect("hashes")
    };
    let ours = served(&format!("{os}_{arch}"));
    let lock = terraform::lock_file(&work);
    assert_eq!(terraform::lock_version(&lock, "acme/hello"), "1.2.3");
    assert_eq!(
        terraform::lock_hashes(&lock, "acme/hello"),
        [ours[0].clone()],
        "{lock}"
    );
    assert!(
        ours[0].starts_with("h1:") && ours[1].starts_with("zh:"),
        "{ours:?}"
    );
    let installed = work.join(".terraform/modules/greet");
    for file in terraform::MODULE_FILES {
        assert!(
            installed.join(file).is_file(),
            "{file} not in {}",
            installed.display()
        );
    }

    // The lock file opp writes, then init again: checked against it and kept.
    let lock_file = work.join(".terraform.lock.hcl");
    run_ok(
        env.opp()
            .args(["lock", "terraform-provider", "acme/hello", "--lock-file"])
            .arg(&lock_file),
    );
    std::fs::remove_dir_all(work.join(".terraform")).expect("remove .terraform");
    init();
    let after = terraform::lock_hashes(&terraform::lock_file(&work), "acme/hello");
    let archives = doc["archives"].as_object().expect("archives");
    for platform in archives.keys() {
        for hash in served(platform) {
            assert!(
                after.contains(&hash),
                "{hash} ({platform}) not in {after:?}"
            );
        }
    }
}

#[test]
fn terraform_1_0_init_installs_a_pushed_provider_and_module_through_the_proxy() {
    terraform_init_installs_through_the_proxy(false);
}

#[test]
fn terraform_1_15_init_installs_a_pushed_provider_and_module_through_the_proxy() {
    terraform_init_installs_through_the_proxy(true);
}

#[test]
fn the_users_own_cli_config_still_applies_through_the_proxy() {
    let env = Env::new();
    push_provider(&env);
    push_module(&env);
    let proxy = Proxy::start(&env);
    let cache = env.root().join("plugin-cache");
    std::fs::create_dir_all(&cache).expect("create the plugin cache");
    let user_config = env.root().join("user.tfrc");
    std::fs::write(
        &user_config,
        format!(
            "plugin_cache_dir = \"{}\"\n\
             provider_installation {{\n  filesystem_mirror {{\n    path = \"/nonexistent\"\n  }}\n}}\n",
            cache.display()
        ),
    )
    .expect("write the user's CLI config");
    let config_file = proxy
        .runtime
        .block_on(opp::proxy::terraform::write_cli_config(
            &proxy.state,
            &proxy.ctx,
            Some(&user_config),
        ))
        .expect("write the CLI config");

    let tf = Terraform::new(&env);
    let work = env.root().join("work");
    write_config(&work);
    let out = tf
        .command(&work)
        .args(["init", "-input=false", "-no-color"])
        .env("TF_CLI_CONFIG_FILE", &config_file)
        .env("SSL_CERT_FILE", proxy.ctx.ca_bundle.as_ref().expect("CA"))
        .env("HTTPS_PROXY", CLOSED_PROXY)
        .output()
        .expect("run terraform init");
    assert!(out.status.success(), "{}", terraform::explain(&out));
    let (os, arch) = this_platform();
    let cached = cache.join(format!(
        "registry.terraform.io/acme/hello/1.2.3/{os}_{arch}"
    ));
    assert!(
        cached.is_dir(),
        "{} missing: plugin_cache_dir was dropped",
        cached.display()
    );
}

#[test]
fn the_cli_config_mirrors_stored_providers_and_sends_the_rest_direct() {
    let env = Env::new();
    push_provider(&env);
    let proxy = Proxy::start(&env);
    let child_env = proxy.child_env();
    let config_file = proxy.ctx.temp_dir.join("opp.tfrc");
    assert!(child_env.contains(&(
        "TF_CLI_CONFIG_FILE".to_owned(),
        config_file.display().to_string()
    )));
    let ca = proxy.ctx.ca_bundle.as_ref().expect("CA bundle");
    assert!(child_env.contains(&("SSL_CERT_FILE".to_owned(), ca.display().to_string())));

    let config = std::fs::read_to_string(&config_file).expect("read the CLI config");
    let list = "[\n      \"registry.opentofu.org/acme/hello\",\n      \
                \"registry.terraform.io/acme/hello\"\n    ]";
    let mirror = format!(
        "  network_mirror {{\n    url     = \"{}/terraform/providers/\"\n    include = {list}\n  }}\n",
        proxy.state.base_url
    );
    assert!(config.contains(&mirror), "{config}");
    // `direct` takes every provider but the stored ones: hashicorp/null would go there.
    assert!(
        config.contains(&format!("  direct {{\n    exclude = {list}\n  }}\n")),
        "{config}"
    );
    assert!(!config.contains("hashicorp"), "{config}");
    assert!(
        config.contains(&format!(
            "host \"{MODULE_HOST}\" {{\n  services = {{\n    \"modules.v1\" = \"{}/terraform/modules/v1/\"\n  }}\n}}",
            proxy.state.base_url
        )),
        "{config}"
    );
    // The secret is the token for the mirror's host and the module host.
    let port = proxy.state.base_url.rsplit(':').next().expect("a port");
    for host in [format!("localhost:{port}"), MODULE_HOST.to_owned()] {
        assert!(
            config.contains(&format!(
                "credentials \"{host}\" {{\n  token = \"s3cret\"\n}}"
            )),
            "{config}"
        );
    }
    let help = TerraformFrontend.instructions(&proxy.state, &proxy.ctx);
    assert!(
        help.contains(&format!("TF_CLI_CONFIG_FILE={}", config_file.display())),
        "{help}"
    );
    assert!(
        !help.contains("s3cret"),
        "the instructions print the secret:\n{help}"
    );
    assert!(help.contains("network_mirror"), "{help}");
}

#[test]
fn the_mirror_serves_versions_hashes_and_zips_under_any_registry_hostname() {
    let env = Env::new();
    let rel = push_provider(&env);
    let proxy = Proxy::start(&env);
    let (os, arch) = this_platform();
    let zip_name = terraform::zip_name("hello", "1.2.3", os, arch);
    let zip = rel.join(&zip_name);
    for host in ["registry.terraform.io", "registry.opentofu.org"] {
        let base = format!("/terraform/providers/{host}/acme/hello");
        let (status, index) = proxy.get_json(&format!("{base}/index.json"));
        assert_eq!((status, index), (200, json!({"versions": {"1.2.3": {}}})));

        let (status, doc) = proxy.get_json(&format!("{base}/1.2.3.json"));
        assert_eq!(status, 200);
        let archive = &doc["archives"][format!("{os}_{arch}")];
        assert_eq!(
            archive["hashes"],
            json!([terraform::h1_of_zip(&zip), terraform::zh_of_file(&zip)])
        );
        assert_eq!(doc["archives"].as_object().map(|a| a.len()), Some(3));
        // The zip beside the document, signed for the path terraform will ask for.
        let url = archive["url"].as_str().expect("a url");
        assert!(url.starts_with(&format!("{zip_name}?expires=")), "{url}");
        let signed: axum::http::Uri = format!("{base}/{url}").parse().expect("a URI");
        assert_eq!(
            proxy.state.access.check(&signed, &Default::default()),
            Verdict::Allowed,
            "{url}"
        );

        let (status, headers, body, _) = proxy.get(&format!("{base}/{url}"));
        assert_eq!(status, 200);
        let bytes = std::fs::read(&zip).expect("read the zip");
        assert_eq!(
            headers.get("content-length").map(|v| v.as_bytes().to_vec()),
            Some(bytes.len().to_string().into_bytes())
        );
        assert!(body == bytes, "{zip_name} differs from what was pushed");
    }
}

#[test]
fn the_module_registry_lists_versions_and_points_download_at_the_zip() {
    let env = Env::new();
    push_module(&env);
    let proxy = Proxy::start(&env);
    let base = "/terraform/modules/v1/acme/greet/null";
    let (status, versions) = proxy.get_json(&format!("{base}/versions"));
    assert_eq!(
        (status, versions),
        (
            200,
            json!({"modules": [{"versions": [{"version": "1.0.0"}]}]})
        )
    );
    let (status, headers, body, _) = proxy.get(&format!("{base}/1.0.0/download"));
    assert_eq!((status, body.len()), (204, 0));
    let location = headers
        .get("x-terraform-get")
        .and_then(|v| v.to_str().ok())
        .expect("X-Terraform-Get")
        .to_owned();
    let (path, query) = location
        .strip_prefix(&proxy.state.base_url)
        .and_then(|rest| rest.split_once('?'))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(
        path.ends_with(".zip") && query.contains("sig="),
        "{location}"
    );
    let signed: axum::http::Uri = format!("{path}?{query}").parse().expect("a URI");
    assert_eq!(
        proxy.state.access.check(&signed, &Default::default()),
        Verdict::Allowed
    );
    let (status, _, zip, _) = proxy.get(&location);
    assert_eq!(status, 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("an entry name").into_owned())
        .collect();
    names.sort();
    assert_eq!(names, terraform::MODULE_FILES);
    assert!(archive.by_name("main.tf").is_ok());
}

#[test]
fn what_the_store_lacks_is_a_fast_404_with_a_json_body() {
    let env = Env::new();
    push_provider(&env);
    push_module(&env);
    let proxy = Proxy::start(&env);
    let (os, arch) = this_platform();
    for path in [
        "/terraform/providers/registry.terraform.io/acme/absent/index.json".to_owned(),
        "/terraform/providers/registry.terraform.io/acme/hello/9.9.9.json".to_owned(),
        "/terraform/providers/registry.terraform.io/acme/hello/not-a-version.json".to_owned(),
        format!(
            "/terraform/providers/registry.terraform.io/acme/hello/{}",
            terraform::zip_name("hello", "9.9.9", os, arch)
        ),
        "/terraform/providers/registry.terraform.io/acme/hello/terraform-provider-hello_1.2.3_plan9_mips.zip".to_owned(),
        "/terraform/providers/registry.terraform.io/Bad_Name!/x/index.json".to_owned(),
        "/terraform/modules/v1/acme/absent/null/versions".to_owned(),
        "/terraform/modules/v1/acme/greet/null/9.9.9/download".to_owned(),
        "/terraform/modules/archive/acme/greet/null/9.9.9/acme-greet-null-9.9.9.zip".to_owned(),
        "/terraform/modules/archive/acme/greet/null/1.0.0/other.zip".to_owned(),
    ] {
        let (status, headers, body, took) = proxy.get(&path);
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(took < Duration::from_secs(2), "{path} took {took:?}");
        assert_eq!(
            headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "{path}"
        );
        let value: Value = serde_json::from_slice(&body).expect("a JSON body");
        assert!(value["errors"][0].is_string(), "{path}: {value}");
    }
}

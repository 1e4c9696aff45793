//! A distant upstream for `scripts/bench-mirror-terraform.sh`: serves a directory as static
//! files over HTTPS on a free loopback port, answering every request only after a fixed delay
//! (the latency of a far registry), with a certificate from a throwaway CA. The directory holds
//! a provider registry written as files (`.well-known/terraform.json`, `v1/providers/...`) and
//! a network mirror (`<hostname>/<namespace>/<type>/index.json`, ...); documents are served as
//! `application/json`, everything else as bytes, streamed from disk.
//!
//!     cargo run --release --example tf_bench_upstream -- DIR DELAY_MS CA_FILE
//!
//! Prints `https://localhost:PORT/` on stdout once it listens, then serves until killed. Not
//! part of opp; it is a benchmark fixture, as the test registry is a test fixture.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

struct Served {
    dir: PathBuf,
    delay: Duration,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, delay, ca_file] = args.as_slice() else {
        return Err("usage: tf_bench_upstream DIR DELAY_MS CA_FILE".into());
    };
    let served = Arc::new(Served {
        dir: PathBuf::from(dir),
        delay: Duration::from_millis(delay.parse()?),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (ca, cert, key) = certificates()?;
    std::fs::write(ca_file, ca)?;
    opp::store::registry::install_crypto_provider();
    runtime.block_on(async move {
        let tls =
            axum_server::tls_rustls::RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes())
                .await?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let app = Router::new()
            .route("/{*path}", get(file))
            .with_state(served);
        println!("https://localhost:{port}/");
        axum_server::tls_rustls::from_tcp_rustls(listener, tls)?
            .serve(app.into_make_service())
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

async fn file(State(served): State<Arc<Served>>, UrlPath(path): UrlPath<String>) -> Response {
    tokio::time::sleep(served.delay).await;
    let relative = Path::new(&path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(file) = tokio::fs::File::open(served.dir.join(relative)).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(meta) = file.metadata().await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let json =
        path.ends_with(".json") || path.starts_with("v1/") || path.starts_with(".well-known");
    let kind = if json {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (header::CONTENT_LENGTH, meta.len().to_string()),
        ],
        body,
    )
        .into_response()
}

/// A throwaway CA and a leaf for `localhost` signed by it, as PEM: (CA, leaf, leaf key).
fn certificates() -> Result<(String, String, String), rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "opp bench upstream CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

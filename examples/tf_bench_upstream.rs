//! A distant upstream for `scripts/bench-mirror-terraform.sh`: serves a directory as static
//! files over HTTPS on free loopback ports, with a certificate from a throwaway CA, under two
//! models of a far registry's latency (DELAY_MS each):
//!
//! - **per answer** (the first URL printed): the HTTPS server itself waits DELAY_MS before
//!   answering each request. Connections, TLS handshakes and the bytes of a body cost nothing
//!   more: a client opening a new connection per file pays no more than one reusing one.
//! - **per round trip** (the second URL): a TCP relay in front of a second HTTPS server (which
//!   answers at once) holds every byte DELAY_MS / 2 in each direction, and a new connection's
//!   first bytes a whole DELAY_MS more (the SYN, SYN-ACK round trip before a client may send),
//!   as a link with a round-trip time of DELAY_MS does. So a TCP connect costs one round trip,
//!   a TLS 1.3 handshake one more, a request and its answer one more, and HTTP/2's flow control
//!   (WINDOW_UPDATE frames crossing the link) limits a stream to its window per round trip, as
//!   on a real link. Not modelled: bandwidth (the relay forwards as fast as loopback lets it),
//!   TCP's own congestion window and slow start (which on a real link would cost each new
//!   connection further round trips), and packet loss.
//!
//! The directory holds a provider registry written as files (`.well-known/terraform.json`,
//! `v1/providers/...`) and a network mirror (`<hostname>/<namespace>/<type>/index.json`, ...);
//! documents are served as `application/json`, everything else as bytes, streamed from disk.
//!
//!     cargo run --release --example tf_bench_upstream -- DIR DELAY_MS CA_FILE
//!
//! Prints `https://localhost:PORT/` (per answer), then `https://localhost:PORT/` (per round
//! trip), one a line on stdout once both listen, then serves until killed. Not part of opp; it
//! is a benchmark fixture, as the test registry is a test fixture.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

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
    let delay = Duration::from_millis(delay.parse()?);
    let per_answer = Arc::new(Served {
        dir: PathBuf::from(dir),
        delay,
    });
    let at_once = Arc::new(Served {
        dir: PathBuf::from(dir),
        delay: Duration::ZERO,
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
        let (first, first_port) = https(per_answer, tls.clone())?;
        let (second, second_port) = https(at_once, tls)?;
        let relay = TcpListener::bind("127.0.0.1:0").await?;
        let relay_port = relay.local_addr()?.port();
        let target = SocketAddr::from(([127, 0, 0, 1], second_port));
        println!("https://localhost:{first_port}/");
        println!("https://localhost:{relay_port}/");
        tokio::try_join!(first, second, relayed(relay, target, delay),)?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

type Serving = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), Box<dyn std::error::Error>>> + Send>,
>;

/// An HTTPS server of `served` on a free loopback port: the future that serves, and the port.
fn https(
    served: Arc<Served>,
    tls: axum_server::tls_rustls::RustlsConfig,
) -> Result<(Serving, u16), Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let app = Router::new()
        .route("/{*path}", get(file))
        .with_state(served);
    let server = axum_server::tls_rustls::from_tcp_rustls(listener, tls)?;
    let serving = async move {
        server.serve(app.into_make_service()).await?;
        Ok(())
    };
    Ok((Box::pin(serving), port))
}

/// Relays each connection to `listener` to `target`, as a link whose round trip takes `rtt`.
async fn relayed(
    listener: TcpListener,
    target: SocketAddr,
    rtt: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    loop {
        let (client, _) = listener.accept().await?;
        // The client's connect returned at once on loopback; on the modelled link its first
        // bytes could leave only after the SYN, SYN-ACK round trip.
        let connected = Instant::now() + rtt;
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(
                late(client_read, server_write, rtt / 2, connected),
                late(server_read, client_write, rtt / 2, Instant::now()),
            );
        });
    }
}

/// Copies `from` to `to`, each chunk `one_way` after it was read (and not before
/// `not_before + one_way`), in order; then closes `to`.
async fn late(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    one_way: Duration,
    not_before: Instant,
) {
    let (sent, mut arriving) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0
                || sent
                    .send((Instant::now().max(not_before) + one_way, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, bytes)) = arriving.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
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

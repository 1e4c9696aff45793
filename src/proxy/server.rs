//! The proxy's HTTP(S) server: binds 127.0.0.1, mounts every selected frontend's routes
//! beside a small index page at `/` and a 404 for everything else, and serves them with
//! axum over plain HTTP or rustls until told to stop.
//!
//! Nothing here hangs a client: slow or silent connections are closed after
//! [`HEADER_TIMEOUT`], and a handler that has not answered within [`RESPONSE_DEADLINE`] is
//! answered `504` for it. Requests are logged at debug level only (`OPP_LOG=opp=debug`).
//! What each route does belongs to the frontends; the certificate to `tls.rs`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::task::JoinHandle;

use super::{Frontend, SharedState};

/// How long a client may take to send a request's headers (and a new connection its first
/// request) before the connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a handler may take to start its answer (a large upload pushed to a slow
/// registry is the longest legitimate case).
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(300);
/// How long connections still open at shutdown may finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Pending connections the kernel keeps before the server accepts them (a client opening
/// hundreds at once must not see refusals or SYN retries).
const BACKLOG: u32 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start serving on {addr}")]
    Serve {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds `127.0.0.1:port` (`0`: a free port chosen by the system). The listener queues
/// connections from then on, so a child started right after reaches the proxy even before
/// [`start`] accepts them.
pub fn bind(port: u16) -> Result<std::net::TcpListener, ServerError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let err = |source| ServerError::Bind { addr, source };
    let socket = tokio::net::TcpSocket::new_v4().map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    let listener = socket.listen(BACKLOG).map_err(err)?;
    listener.into_std().map_err(err)
}

/// The base URL clients use, without a trailing slash: `https://localhost:PORT` (a name, as
/// every client matches certificates by name) or `http://127.0.0.1:PORT`.
pub fn base_url(addr: SocketAddr, https: bool) -> String {
    if https {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("http://{}:{}", addr.ip(), addr.port())
    }
}

/// Every frontend's routes, `GET /` answering `index_page`, and a 404 for any other path.
/// Frontends must not set a fallback of their own (two fallbacks cannot be merged).
pub fn router(state: SharedState, frontends: &[Box<dyn Frontend>], index_page: String) -> Router {
    let mut app: Router<SharedState> = Router::new().route(
        "/",
        get(move || {
            let page = index_page.clone();
            async move { page }
        }),
    );
    for frontend in frontends {
        app = app.merge(frontend.router());
    }
    app.fallback(not_found)
        .layer(middleware::from_fn(deadline))
        .with_state(state)
}

/// A server running on its own task.
pub struct Running {
    pub addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on `listener`, over TLS when `tls` is given.
pub fn start(
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<RustlsConfig>,
) -> Result<Running, ServerError> {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    let err = |source| ServerError::Serve { addr, source };
    let handle = Handle::new();
    let service = app.into_make_service();
    let task = match tls {
        Some(config) => {
            // TCP_NODELAY: a response goes out as headers, then body; with Nagle the body
            // waits for the client's delayed ACK (~40 ms per file, measured).
            let acceptor = RustlsAcceptor::new(config).acceptor(NoDelayAcceptor::new());
            let mut server = axum_server::from_tcp(listener)
                .map_err(err)?
                .acceptor(acceptor)
                .handle(handle.clone())
                .first_request_timeout(HEADER_TIMEOUT);
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_TIMEOUT);
            tokio::spawn(server.serve(service))
        }
        None => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(err)?
                .acceptor(NoDelayAcceptor::new())
                .handle(handle.clone())
                .first_request_timeout(HEADER_TIMEOUT);
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_TIMEOUT);
            tokio::spawn(server.serve(service))
        }
    };
    Ok(Running { addr, handle, task })
}

impl Running {
    /// Stops accepting, lets open requests finish for a moment, then closes everything.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        match tokio::time::timeout(SHUTDOWN_GRACE * 2, self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!("proxy server on {} failed: {e}", self.addr),
            Ok(Err(e)) => tracing::warn!("proxy server on {} stopped: {e}", self.addr),
            Err(_) => tracing::warn!("proxy server on {} did not stop in time", self.addr),
        }
    }
}

async fn not_found(uri: Uri) -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        format!("not found: {}\n", uri.path()),
    )
}

/// Answers `504` for a handler that takes too long, and logs every request at debug level.
async fn deadline(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = match tokio::time::timeout(RESPONSE_DEADLINE, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("{method} {path}: no answer within {RESPONSE_DEADLINE:?}");
            (
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "opp proxy: no answer for {path} within {} s\n",
                    RESPONSE_DEADLINE.as_secs()
                ),
            )
                .into_response()
        }
    };
    tracing::debug!(
        "{method} {path} -> {} in {} ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::State;

    use super::*;
    use crate::proxy::{ChildContext, ProxyState};

    /// A frontend of one route that reads the shared state, as the real ones do.
    struct Echo;

    #[async_trait::async_trait]
    impl Frontend for Echo {
        fn name(&self) -> &'static str {
            "echo"
        }
        fn router(&self) -> Router<SharedState> {
            Router::new().route(
                "/echo/base",
                get(|State(state): State<SharedState>| async move { state.base_url.clone() }),
            )
        }
        async fn child_env(
            &self,
            _: &ProxyState,
            _: &ChildContext,
        ) -> anyhow::Result<Vec<(String, String)>> {
            Ok(Vec::new())
        }
        fn instructions(&self, _: &ProxyState, _: &ChildContext) -> String {
            String::new()
        }
    }

    #[tokio::test]
    async fn frontend_routes_the_index_and_a_404_are_served_over_tls() {
        crate::store::registry::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = bind(0).expect("bind");
        let addr = listener.local_addr().expect("address");
        let base = base_url(addr, true);
        let state = Arc::new(ProxyState {
            store: Arc::new(crate::store::layout::LayoutStore::new(dir.path())),
            mapper: crate::mapper::Mapper::new("").expect("mapper"),
            out: crate::output::Output::new(true),
            base_url: base.clone(),
            pypi_upstream: None,
            module_host: "opp.localhost".into(),
        });
        let frontends: Vec<Box<dyn Frontend>> = vec![Box::new(Echo)];
        let app = router(state, &frontends, "index\n".into());
        let identity = crate::proxy::tls::generate(&["localhost", "127.0.0.1"]).expect("tls");
        let config = identity.rustls_config().await.expect("rustls config");
        let running = start(listener, app, Some(config)).expect("start");

        let ca = reqwest::Certificate::from_pem(identity.ca_pem.as_bytes()).expect("CA");
        let http = reqwest::Client::builder()
            .tls_certs_merge([ca])
            .no_proxy()
            .build()
            .expect("client");
        let get = |path: &str| http.get(format!("{base}{path}")).send();
        let echo = get("/echo/base").await.expect("GET /echo/base");
        assert_eq!(echo.status(), 200);
        assert_eq!(echo.text().await.expect("body"), base);
        let index = get("/").await.expect("GET /");
        assert_eq!(index.text().await.expect("body"), "index\n");
        let missing = get("/echo/other").await.expect("GET /echo/other");
        assert_eq!(missing.status(), 404);
        running.shutdown().await;
        assert!(get("/").await.is_err(), "still serving after shutdown");
    }
}

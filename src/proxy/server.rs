//! The proxy's HTTP(S) server: binds a socket on 127.0.0.1 (or the `--bind` address), mounts
//! every selected frontend's routes beside a small index page at `/` and a 404 for everything
//! else, and serves them with axum over plain HTTP or rustls until told to stop; once per
//! listener (`listeners.rs` says which). Every request,
//! the index page included, must carry the proxy's secret or a signed URL ([`require_access`]);
//! others get `401` (`403` for a bad or expired signature).
//!
//! Nothing here hangs a client: slow or silent connections are closed after
//! [`HEADER_TIMEOUT`], and a handler that has not answered within [`RESPONSE_DEADLINE`] is
//! answered `504` for it. Requests are logged at debug level only (`OPP_LOG=opp=debug`), by
//! path: never the query (signatures) or headers (the secret).
//!
//! It speaks HTTP/1.1 only (every client it serves does): an HTTP/2 server cannot answer a
//! request whose URL is too long with a status, it resets the stream or the connection.
//! Over HTTP/1.1 a request head of up to [`MAX_HEAD`] is read whole, so that a URL over
//! hyper's 64 KiB limit gets `414 URI Too Long` (a longer head `431`), never a dropped
//! connection. `CONNECT` (the proxy forwards nothing) is answered `405` with `Allow`.
//! What each route does belongs to the frontends; the certificate to `tls.rs`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::task::JoinHandle;

use super::access::{CHALLENGE, Verdict};
use super::{Frontend, SharedState};

/// How long a client may take to send a request's headers (and a new connection its first
/// request) before the connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a handler may take to start its answer (a large upload pushed to a slow
/// registry is the longest legitimate case).
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(300);
/// How much of a request body past `--max-upload-size` is still read (and dropped) before an
/// error answer, for clients that send a whole body before reading the answer (nuget push);
/// beyond it the connection is closed.
pub const DRAIN_PAST_LIMIT: u64 = 256 * 1024 * 1024;
/// The most a connection reads of one request head (and queues of a response); hyper's
/// default (about 400 KiB) would cut a 1 MB URL short with a `431` and close the connection
/// with the rest unread, which can reset it before the client reads the answer.
pub const MAX_HEAD: usize = 2 << 20;
/// What `Allow` lists: every method some frontend routes.
pub const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT";
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

/// Binds `ip:port` (`0`: a free port chosen by the system). The listener queues
/// connections from then on, so a child started right after reaches the proxy even before
/// [`start`] accepts them.
pub fn bind(ip: IpAddr, port: u16) -> Result<std::net::TcpListener, ServerError> {
    let addr = SocketAddr::from((ip, port));
    let err = |source| ServerError::Bind { addr, source };
    let socket = match ip {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    let listener = socket.listen(BACKLOG).map_err(err)?;
    listener.into_std().map_err(err)
}

/// The base URL clients use, without a trailing slash: `https://localhost:PORT` (a name, as
/// every client matches certificates by name) or `http://127.0.0.1:PORT` when listening on
/// 127.0.0.1 or every address; `https://ADDR:PORT` when bound to one other address.
pub fn base_url(addr: SocketAddr, https: bool) -> String {
    let ip = addr.ip();
    let local = ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip.is_unspecified();
    match (https, local) {
        (true, true) => format!("https://localhost:{}", addr.port()),
        (false, true) => format!("http://127.0.0.1:{}", addr.port()),
        (true, false) => format!("https://{addr}"),
        (false, false) => format!("http://{addr}"),
    }
}

/// Every frontend's routes, `GET /` answering `index_page`, and a 404 for any other path.
/// Frontends must not set a fallback of their own (two fallbacks cannot be merged).
pub fn router(state: SharedState, frontends: &[Box<dyn Frontend>], index_page: String) -> Router {
    app(routes(frontends), state, index_page)
}

/// Every frontend's routes, built once: the caches a frontend keeps beside its routes are
/// shared by every listener the routes are served on ([`app`]).
pub fn routes(frontends: &[Box<dyn Frontend>]) -> Router<SharedState> {
    frontends
        .iter()
        .fold(Router::new(), |app, frontend| app.merge(frontend.router()))
}

/// `routes` served from `state` (one listener's), beside `GET /` answering `index_page`, a
/// 404 for any other path, and the checks every request goes through.
pub fn app(routes: Router<SharedState>, state: SharedState, index_page: String) -> Router {
    let index = Router::new().route(
        "/",
        get(move || {
            let page = index_page.clone();
            async move { page }
        }),
    );
    index
        .merge(routes)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_access,
        ))
        .layer(middleware::from_fn(deadline))
        .layer(middleware::from_fn(refuse_connect))
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
            let config = http1_alpn(config);
            let acceptor = RustlsAcceptor::new(config).acceptor(NoDelayAcceptor::new());
            let mut server = axum_server::from_tcp(listener)
                .map_err(err)?
                .acceptor(acceptor)
                .handle(handle.clone())
                .first_request_timeout(HEADER_TIMEOUT)
                .http1_only();
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD);
            tokio::spawn(server.serve(service))
        }
        None => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(err)?
                .acceptor(NoDelayAcceptor::new())
                .handle(handle.clone())
                .first_request_timeout(HEADER_TIMEOUT)
                .http1_only();
            server
                .http_builder()
                .http1()
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD);
            tokio::spawn(server.serve(service))
        }
    };
    Ok(Running { addr, handle, task })
}

/// `config` offering only HTTP/1.1 in ALPN (axum-server offers HTTP/2 first).
fn http1_alpn(config: RustlsConfig) -> RustlsConfig {
    let mut inner = (*config.get_inner()).clone();
    inner.alpn_protocols = vec![b"http/1.1".to_vec()];
    RustlsConfig::from_config(std::sync::Arc::new(inner))
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

/// Answers `CONNECT` `405`: the proxy serves its own routes and tunnels nothing.
async fn refuse_connect(req: Request, next: Next) -> Response {
    if req.method() != Method::CONNECT {
        return next.run(req).await;
    }
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, ALLOWED_METHODS)],
        "opp proxy: CONNECT is not served: this proxy answers package requests, it forwards \
         nothing\n",
    )
        .into_response()
}

/// Lets through requests that carry the secret or a valid signed URL; answers the rest
/// `401` with a `WWW-Authenticate` challenge (`403` for a bad or expired signature).
pub async fn require_access(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    let (status, text) = match state.access.check(req.uri(), req.headers()) {
        Verdict::Allowed => return next.run(req).await,
        Verdict::Unauthorized => {
            // nuget push streams its package before it reads the answer, and sends its
            // credentials only after a 401: the body is read first, so that it sees the 401
            // (and retries) instead of a connection closed under it.
            discard_body(req, state.max_upload.saturating_add(DRAIN_PAST_LIMIT)).await;
            (
                StatusCode::UNAUTHORIZED,
                "this proxy serves only the command it runs: send its secret (the token or \
             password `opp proxy` handed out)",
            )
        }
        Verdict::BadSignature => (
            StatusCode::FORBIDDEN,
            "the signature of this download link does not match it",
        ),
        Verdict::Expired => (
            StatusCode::FORBIDDEN,
            "this download link has expired: ask the proxy again",
        ),
    };
    let mut response = (status, format!("opp proxy: {text}\n")).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CHALLENGE),
        );
    }
    response
}

/// Reads a request's body to its end, or to `limit` bytes, and drops it.
async fn discard_body(req: Request, limit: u64) {
    use futures_util::StreamExt;
    let mut body = req.into_body().into_data_stream();
    let mut seen: u64 = 0;
    while let Some(Ok(chunk)) = body.next().await {
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            break;
        }
    }
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
    async fn frontend_routes_the_index_and_a_404_are_served_over_tls_to_the_secret_only() {
        crate::store::registry::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = bind(Ipv4Addr::LOCALHOST.into(), 0).expect("bind");
        let addr = listener.local_addr().expect("address");
        let base = base_url(addr, true);
        let state = Arc::new(ProxyState {
            store: Arc::new(crate::store::layout::LayoutStore::new(dir.path())),
            mapper: crate::mapper::Mapper::new("").expect("mapper"),
            out: crate::output::Output::new(true),
            base_url: base.clone(),
            pypi_upstream: None,
            module_host: "opp.localhost".into(),
            max_upload: 1 << 30,
            access: crate::proxy::access::Access::with_secret("s3cret"),
            spool: crate::proxy::spool::Spool::new(dir.path(), 1 << 20).expect("spool"),
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
        let get = |path: &str| {
            http.get(format!("{base}{path}"))
                .bearer_auth("s3cret")
                .send()
        };
        let anonymous = http.get(format!("{base}/")).send().await.expect("GET /");
        assert_eq!(anonymous.status(), 401);
        assert_eq!(
            anonymous
                .headers()
                .get("www-authenticate")
                .expect("challenge"),
            "Basic realm=\"opp proxy\""
        );
        let basic = http
            .get(format!("{base}/echo/base"))
            .basic_auth("anyone", Some("s3cret"))
            .send()
            .await
            .expect("GET with basic auth");
        assert_eq!(basic.status(), 200);
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

//! A fault-injecting front for a real registry: an HTTP forwarder on 127.0.0.1 that passes
//! every request to the registry behind it, except where a [`Rule`] says otherwise: answer a
//! status (with a `Retry-After` header or a ghcr-style error body), break the connection
//! while the request body is still coming, or serve a huge manifest. It can also serve tag
//! lists in short pages linked by `Link` headers, and it records every request it saw (method,
//! path, query, when, what it answered), so tests can count requests and measure waits.
//!
//! It is the one mock opp's tests use: for faults a real registry cannot be made to show.
//! It runs on its own tokio runtime, so synchronous tests driving the `opp` binary use it as
//! they use [`super::registry::Registry`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which requests a rule applies to: a method (`*` for any) and a test on the path.
#[derive(Clone)]
pub struct Match {
    method: &'static str,
    path: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

impl Match {
    pub fn new(method: &'static str, path: impl Fn(&str) -> bool + Send + Sync + 'static) -> Match {
        Match {
            method,
            path: Arc::new(path),
        }
    }

    /// `POST .../blobs/uploads/` without a mount: the start of a blob upload.
    pub fn upload_start() -> Match {
        Match::new("POST", |p| p.ends_with("/blobs/uploads/"))
    }

    /// `PUT .../blobs/uploads/<session>`: the bytes of a blob.
    pub fn upload_bytes() -> Match {
        Match::new("PUT", |p| p.contains("/blobs/uploads/"))
    }

    /// Any manifest write, by digest or by tag.
    pub fn manifest_put() -> Match {
        Match::new("PUT", |p| p.contains("/manifests/"))
    }

    /// A manifest write by tag (not by digest): the tag write.
    pub fn tag_put() -> Match {
        Match::new("PUT", |p| {
            p.contains("/manifests/") && !p.contains("/manifests/sha256:")
        })
    }

    /// A manifest read by tag.
    pub fn tag_get() -> Match {
        Match::new("GET", |p| {
            p.contains("/manifests/") && !p.contains("/manifests/sha256:")
        })
    }

    /// A blob download.
    pub fn blob_get() -> Match {
        Match::new("GET", |p| p.contains("/blobs/sha256:"))
    }

    pub fn tags_list() -> Match {
        Match::new("GET", |p| p.ends_with("/tags/list"))
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method == method) && (self.path)(path)
    }
}

/// What the front does instead of forwarding.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer `status`, with a `Retry-After` header and a body when given.
    Status {
        status: u16,
        retry_after: Option<String>,
        body: Option<String>,
    },
    /// Read about half of the request body (at least one chunk), then drop the connection
    /// without an answer.
    ResetMidBody,
    /// Forward, but pass on only about half of the registry's answer body, then drop the
    /// connection.
    CutResponse,
    /// Answer 200 with a manifest body of `bytes` bytes (spaces), announcing its length in
    /// `Content-Length` when `announce`, else sending it chunked.
    Huge { bytes: u64, announce: bool },
}

impl Fault {
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            retry_after: None,
            body: None,
        }
    }

    pub fn retry_after(status: u16, retry_after: &str) -> Fault {
        Fault::Status {
            status,
            retry_after: Some(retry_after.to_owned()),
            body: None,
        }
    }
}

/// Which of the matching requests a rule hits.
#[derive(Clone, Copy, Debug)]
pub enum Nth {
    /// Only the n-th (from 1).
    Only(usize),
    /// Every one.
    Every,
}

#[derive(Clone)]
pub struct Rule {
    pub on: Match,
    pub nth: Nth,
    pub fault: Fault,
}

/// One request the front saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub at: Instant,
    /// What it answered; 0 when it dropped the connection.
    pub status: u16,
    /// Whether a rule, not the registry, answered.
    pub faulted: bool,
}

#[derive(Default)]
struct State {
    rules: Vec<(Rule, usize)>,
    seen: Vec<Seen>,
    tags_per_page: Option<usize>,
}

struct Shared {
    upstream: String,
    front: String,
    client: reqwest::Client,
    state: Mutex<State>,
    /// Bytes of huge bodies handed to the connection so far.
    huge_sent: AtomicU64,
}

pub struct FaultFront {
    /// `127.0.0.1:PORT`
    pub host: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultFront {
    /// A front for the registry at `upstream` (`127.0.0.1:PORT`), forwarding everything.
    pub fn start(upstream: &str) -> FaultFront {
        opp::store::registry::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the fault front");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the fault front");
        let addr: SocketAddr = listener.local_addr().expect("front address");
        let host = addr.to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .expect("the front's client");
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            front: host.clone(),
            client,
            state: Mutex::new(State::default()),
            huge_sent: AtomicU64::new(0),
        });
        let serving = Arc::clone(&shared);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&shared), req));
                    // An error is a dropped connection: what ResetMidBody asks for.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultFront {
            host,
            shared,
            runtime: Some(runtime),
        }
    }

    /// Adds a rule; rules are tried in the order added, the first that hits answers.
    pub fn rule(&self, on: Match, nth: Nth, fault: Fault) -> &FaultFront {
        self.state().rules.push((Rule { on, nth, fault }, 0));
        self
    }

    /// Serves `GET .../tags/list` in pages of `n` tags (whatever the client asks), sorted,
    /// each page but the last with a `Link: <...>; rel="next"` header.
    pub fn paginate_tags(&self, n: usize) {
        self.state().tags_per_page = Some(n);
    }

    /// Every request so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    /// How many requests so far had `method` and a path passing `path`.
    pub fn count(&self, method: &str, path: impl Fn(&str) -> bool) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && path(&s.path))
            .count()
    }

    /// Bytes of huge manifest bodies the front got rid of (handed to the connection).
    pub fn huge_bytes_sent(&self) -> u64 {
        self.shared.huge_sent.load(Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("front state")
    }
}

impl Drop for FaultFront {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The fault a request gets, counting it against every rule it matches.
fn fault_for(state: &mut State, method: &str, path: &str) -> Option<Fault> {
    let mut hit = None;
    for (rule, count) in state.rules.iter_mut() {
        if !rule.on.matches(method, path) {
            continue;
        }
        *count += 1;
        let hits = match rule.nth {
            Nth::Only(n) => *count == n,
            Nth::Every => true,
        };
        if hits && hit.is_none() {
            hit = Some(rule.fault.clone());
        }
    }
    hit
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let at = Instant::now();
    let (fault, paginate) = {
        let mut state = shared.state.lock().expect("front state");
        (
            fault_for(&mut state, &method, &path),
            state
                .tags_per_page
                .filter(|_| method == "GET" && path.ends_with("/tags/list")),
        )
    };
    let record = |status: u16, faulted: bool| {
        shared.state.lock().expect("front state").seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            at,
            status,
            faulted,
        });
    };
    let faulted = fault.is_some();
    let answer = match (fault, paginate) {
        (Some(Fault::ResetMidBody), _) => {
            record(0, true);
            let half = req
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .map_or(1, |n| n / 2);
            let mut body = Body::new(req.into_body()).into_data_stream();
            let mut got = 0u64;
            while got < half.max(1) {
                match body.next().await {
                    Some(Ok(chunk)) => got += chunk.len() as u64,
                    _ => break,
                }
            }
            return Err("reset mid-body by the fault front".into());
        }
        (
            Some(Fault::Status {
                status,
                retry_after,
                body,
            }),
            _,
        ) => {
            let mut res = Response::builder().status(status);
            if let Some(r) = retry_after {
                res = res.header("Retry-After", r);
            }
            let body = body.unwrap_or_else(|| {
                format!(
                    r#"{{"errors":[{{"code":"UNAVAILABLE","message":"fault front: {status}"}}]}}"#
                )
            });
            res.header("Content-Type", "application/json")
                .body(Body::from(body))?
        }
        (Some(Fault::Huge { bytes, announce }), _) => huge(&shared, bytes, announce)?,
        (Some(Fault::CutResponse), _) => cut(forward(&shared, req).await?),
        (None, Some(n)) => paginated_tags(&shared, &path, &query, n).await?,
        (None, None) => forward(&shared, req).await?,
    };
    record(answer.status().as_u16(), faulted);
    Ok(answer)
}

/// A 200 manifest answer of `bytes` spaces, streamed.
fn huge(shared: &Arc<Shared>, bytes: u64, announce: bool) -> Result<Response<Body>, BoxError> {
    const CHUNK: u64 = 64 * 1024;
    let counter = Arc::clone(shared);
    let chunks = bytes.div_ceil(CHUNK);
    let stream = futures_util::stream::iter(0..chunks).map(move |i| {
        let len = CHUNK.min(bytes - i * CHUNK);
        counter.huge_sent.fetch_add(len, Ordering::Relaxed);
        Ok::<_, Infallible>(bytes::Bytes::from(vec![b' '; len as usize]))
    });
    let mut res = Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/vnd.oci.image.index.v1+json");
    if announce {
        res = res.header("Content-Length", bytes);
    }
    Ok(res.body(Body::from_stream(stream))?)
}

/// `res` with only the first half of its body, then a broken connection.
fn cut(res: Response<Body>) -> Response<Body> {
    let (parts, body) = res.into_parts();
    let half = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map_or(0, |n| n / 2);
    let mut passed = 0u64;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| -> BoxError { e.into() })?;
        if passed >= half {
            return Err::<bytes::Bytes, BoxError>("cut mid-body by the fault front".into());
        }
        let take = chunk.len().min((half - passed) as usize);
        passed += take as u64;
        Ok(chunk.slice(..take))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Passes the request to the registry and its answer back, `Location` pointed at the front.
async fn forward(shared: &Shared, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let url = format!("http://{}{path_and_query}", shared.upstream);
    let mut out = shared.client.request(parts.method.clone(), url);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "connection" | "transfer-encoding") {
            out = out.header(name, value);
        }
    }
    let has_body = parts.headers.contains_key(hyper::header::CONTENT_LENGTH)
        || parts.headers.contains_key(hyper::header::TRANSFER_ENCODING);
    if has_body {
        out = out.body(reqwest::Body::wrap_stream(
            Body::new(body).into_data_stream(),
        ));
    }
    let answer = out.send().await?;
    let mut res = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if matches!(name.as_str(), "connection" | "transfer-encoding") {
            continue;
        }
        if name == "location" {
            let moved = value.to_str()?.replace(
                &format!("//{}", shared.upstream),
                &format!("//{}", shared.front),
            );
            res = res.header(name, moved);
        } else {
            res = res.header(name, value);
        }
    }
    Ok(res.body(Body::from_stream(answer.bytes_stream()))?)
}

/// A page of `n` tags after the query's `last`, from the registry's whole list.
async fn paginated_tags(
    shared: &Shared,
    path: &str,
    query: &str,
    n: usize,
) -> Result<Response<Body>, BoxError> {
    let url = format!("http://{}{path}", shared.upstream);
    let answer = shared.client.get(url).send().await?;
    if !answer.status().is_success() {
        let status = answer.status().as_u16();
        return Ok(Response::builder()
            .status(status)
            .body(Body::from(answer.bytes().await?))?);
    }
    let list: serde_json::Value = answer.json().await?;
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let last = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "last")
        .map(|(_, v)| v.into_owned());
    let start = last.map_or(0, |l| {
        tags.iter().position(|t| *t > l).unwrap_or(tags.len())
    });
    let page: Vec<&String> = tags.iter().skip(start).take(n).collect();
    let mut res = Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json");
    if start + n < tags.len()
        && let Some(last) = page.last()
    {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("n", &n.to_string())
            .append_pair("last", last)
            .finish();
        res = res.header("Link", format!("<{path}?{q}>; rel=\"next\""));
    }
    let body = serde_json::json!({"name": list["name"], "tags": page});
    Ok(res.body(Body::from(body.to_string()))?)
}

//! A remote OCI registry as a [`Store`], spoken to directly over HTTP (reqwest), so that
//! every status code and header is seen: `Retry-After`, `Link`, `Content-Length`, `Location`.
//!
//! Manifests move as exact bytes, never re-serialized, so a digest computed locally is the
//! digest the registry serves; one over 4 MiB (distribution's own limit) is refused without
//! being read ([`body`]). Blobs stream both ways: up as one streamed PUT to a fresh upload
//! session after a HEAD that skips blobs the registry already has, or mounted from another
//! repository of the registry ([`upload`]); down through a [`VerifyingReader`] that checks
//! size and digest, resumed with a range request when the connection breaks ([`download`]). Tag and repository lists follow `Link` headers ([`paging`]).
//!
//! Every request goes through one [`session::Session`] per store: the registry's `GET /v2/`
//! is asked once, bearer tokens are cached per scope while they last ([`token`]), and busy
//! answers (429, 502, 503, 504; 500 on a manifest write) and broken connections are retried
//! with backoff within `--retry-timeout` ([`retry`]). A blob upload is retried as a whole,
//! from a fresh session and a reopened source.
//!
//! This module does not know where credentials come from ([`crate::auth`] does), nor what the
//! repositories hold. Loopback hosts are spoken to over plain HTTP; every other host over
//! HTTPS unless the caller forces plain HTTP.

mod body;
pub mod check;
mod connect;
pub use connect::is_loopback;
mod download;
mod error;
mod manifest;
mod paging;
/// The retry policy (pure), shared with `opp mirror`'s upstream downloads.
pub(crate) mod retry;
mod session;
mod token;
mod upload;

pub use body::MAX_MANIFEST;
pub use retry::DEFAULT_TIMEOUT as DEFAULT_RETRY_TIMEOUT;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use oci_client::manifest::{IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE};
use reqwest::header::{CONTENT_TYPE, HeaderValue, LINK};
use reqwest::{Method, StatusCode};
use tokio_util::io::StreamReader;

use self::body::{BodyError, read_capped, show_size};
use self::connect::{check_host, http_client};
use self::error::Context;
use self::retry::Step;
use self::session::{Call, Failure, Session, transport_failure};
use super::{
    BlobReader, BlobSource, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, OnceSource, RawManifest, Result,
    Store, StoreError,
};
use crate::auth::Credentials;
use crate::digest::{Digest, VerifyingReader};
use token::{Grant, TokenSource};

/// Names asked per page of a tag or repository list. Docker Hub caps pages at 100.
const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page of a tag or repository list read.
const MAX_LIST_PAGE: u64 = 16 * 1024 * 1024;
const USER_AGENT: &str = concat!("opp/", env!("CARGO_PKG_VERSION"));
/// What `resolve` and `fetch_manifest` accept: OCI first, docker's types for old images.
const ACCEPTED: &[&str] = &[
    OCI_IMAGE_INDEX,
    OCI_IMAGE_MANIFEST,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

/// Installs ring as rustls's process-wide crypto provider, which reqwest needs before any
/// client is built. Idempotent: a provider already installed is kept.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is all this asks for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How long a registry may take before it is called unreachable.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To open a TCP (and TLS) connection.
    pub connect: Duration,
    /// With nothing moving: no answer to a request, no byte of a download, no byte of an
    /// upload taken (uploads may take as long as they keep moving).
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            idle: Duration::from_secs(60),
        }
    }
}

/// A remote registry, such as `ghcr.io` or `127.0.0.1:5000`.
pub struct RegistryStore {
    host: String,
    /// Shared with the downloads it hands out, which resume through it.
    session: Arc<Session>,
    idle: Duration,
    page_size: usize,
}

fn pull(repository: &str) -> [String; 1] {
    [format!("repository:{repository}:pull")]
}

fn push(repository: &str) -> [String; 1] {
    [format!("repository:{repository}:pull,push")]
}

impl RegistryStore {
    /// A store for `host` (`ghcr.io`, `127.0.0.1:5000`). Loopback hosts (127.0.0.0/8,
    /// `localhost`, `[::1]`) use plain HTTP; `plain_http` forces it for any host.
    pub fn new(
        host: &str,
        plain_http: bool,
        credentials: Credentials,
    ) -> Result<RegistryStore, StoreError> {
        RegistryStore::with_timeouts(host, plain_http, credentials, Timeouts::default())
    }

    /// [`RegistryStore::new`] with other timeouts.
    pub fn with_timeouts(
        host: &str,
        plain_http: bool,
        credentials: Credentials,
        timeouts: Timeouts,
    ) -> Result<RegistryStore, StoreError> {
        install_crypto_provider();
        check_host(host)?;
        let http = plain_http || is_loopback(host);
        let grant = match credentials {
            Credentials::Anonymous => Grant::Anonymous,
            Credentials::Basic {
                username, password, ..
            } => Grant::Basic { username, password },
            Credentials::IdentityToken { token, .. } => Grant::Refresh(token),
        };
        let scheme = if http { "http" } else { "https" };
        let base = format!("{scheme}://{host}");
        let client = http_client(host, timeouts.connect, Some(timeouts.idle))?;
        Ok(RegistryStore {
            host: host.to_owned(),
            session: Arc::new(Session {
                base: base.clone(),
                http: client.clone(),
                uploader: http_client(host, timeouts.connect, None)?,
                tokens: TokenSource::new(client, base, grant),
                retry_timeout: retry::DEFAULT_TIMEOUT,
            }),
            idle: timeouts.idle,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// The same store asking for `n` names per page of a tag or repository list.
    pub fn with_page_size(mut self, n: usize) -> RegistryStore {
        self.page_size = n.max(1);
        self
    }

    /// The same store retrying each step for at most `timeout`, waits included
    /// (`--retry-timeout`; zero: no retries).
    pub fn with_retry_timeout(mut self, timeout: Duration) -> RegistryStore {
        match Arc::get_mut(&mut self.session) {
            Some(session) => session.retry_timeout = timeout,
            // Only downloads share the session, and a store being built has handed out none.
            None => tracing::warn!("the retry timeout of a store in use cannot change"),
        }
        self
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn context(&self, repository: &str, what: impl Into<String>) -> Context<'_> {
        Context {
            registry: &self.host,
            location: self.location(repository),
            what: what.into(),
        }
    }

    /// One page of a name list (`tags` or `repositories` field).
    async fn list_page(
        &self,
        path: String,
        scopes: &[String],
        field: &'static str,
        cx: &Context<'_>,
    ) -> Result<paging::Page> {
        let call = Call::new(Method::GET, path, scopes, Step::Read);
        self.session
            .retrying(cx, |_| async {
                let res = cx.check(self.session.send_once(&call, cx).await?).await?;
                let links: Vec<String> = res
                    .headers()
                    .get_all(LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                let next = paging::next_link(links.iter().map(String::as_str), &self.session.base);
                let bytes = match read_capped(res, MAX_LIST_PAGE).await {
                    Ok(b) => b,
                    Err(BodyError::Read(e)) => return Err(transport_failure(e, cx)),
                    Err(BodyError::TooLarge(_)) => {
                        return Err(Failure::Fatal(cx.registry(format!(
                            "a page of the list is over {}",
                            show_size(MAX_LIST_PAGE)
                        ))));
                    }
                };
                let page: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&bytes).map_err(|e| {
                        Failure::Fatal(cx.registry(format!("the list is not valid JSON: {e}")))
                    })?;
                let names = match page.get(field) {
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                Ok(paging::Page { names, next })
            })
            .await
    }

    /// Every name of a paginated list at `path` (`/v2/<repo>/tags/list`, `/v2/_catalog`).
    async fn list(
        &self,
        path: &str,
        scopes: &[String],
        field: &'static str,
        cx: &Context<'_>,
    ) -> Result<Vec<String>> {
        let n = self.page_size;
        paging::collect(n, |ask| {
            let url = match ask {
                paging::Ask::First => format!("{path}?n={n}"),
                paging::Ask::After(last) => {
                    let q = form_urlencoded::Serializer::new(String::new())
                        .append_pair("n", &n.to_string())
                        .append_pair("last", &last)
                        .finish();
                    format!("{path}?{q}")
                }
                paging::Ask::Link(link) => link,
            };
            self.list_page(url, scopes, field, cx)
        })
        .await
    }
}

#[async_trait]
impl Store for RegistryStore {
    fn location(&self, repository: &str) -> String {
        format!("{}/{repository}", self.host)
    }

    async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<RawManifest>> {
        let cx = self.context(repository, format!("tag {tag}"));
        self.get_manifest(repository, tag, &cx).await
    }

    /// A HEAD of the tag: its digest from `Docker-Content-Digest`, with no body. A registry
    /// that leaves the header out gets a GET, as [`Store::resolve`] does.
    async fn resolve_digest(&self, repository: &str, tag: &str) -> Result<Option<Digest>> {
        let cx = self.context(repository, format!("tag {tag}"));
        let scopes = pull(repository);
        let mut call = Call::new(
            Method::HEAD,
            format!("/v2/{repository}/manifests/{tag}"),
            &scopes,
            Step::Read,
        );
        let accept = reqwest::header::HeaderValue::from_str(&ACCEPTED.join(", "))
            .map_err(|_| cx.registry("invalid Accept header".to_owned()))?;
        call.headers.insert(reqwest::header::ACCEPT, accept);
        let res = self.session.send(call, &cx).await?;
        match res.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            s if s.is_success() => {}
            _ => return Err(cx.refused(res).await),
        }
        let announced = res
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        match announced {
            Some(d) => Ok(Some(d)),
            None => Ok(self.resolve(repository, tag).await?.map(|m| m.digest)),
        }
    }

    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest> {
        let cx = self.context(repository, format!("manifest {digest}"));
        let manifest = self
            .get_manifest(repository, digest.as_str(), &cx)
            .await?
            .ok_or_else(|| cx.not_found())?;
        if manifest.digest != *digest {
            return Err(cx.corrupt(format!("its bytes have digest {}", manifest.digest)));
        }
        Ok(manifest)
    }

    async fn push_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<()> {
        let what = match tag {
            Some(t) => format!("manifest {} (tag {t})", manifest.digest),
            None => format!("manifest {}", manifest.digest),
        };
        let cx = self.context(repository, what);
        let actual = Digest::of(&manifest.bytes);
        if actual != manifest.digest {
            return Err(cx.corrupt(format!("its bytes have digest {actual}")));
        }
        let content_type = HeaderValue::from_str(&manifest.media_type)
            .map_err(|_| cx.registry(format!("invalid media type {:?}", manifest.media_type)))?;
        let reference = tag.unwrap_or(manifest.digest.as_str());
        let scopes = push(repository);
        let mut call = Call::new(
            Method::PUT,
            format!("/v2/{repository}/manifests/{reference}"),
            &scopes,
            Step::ManifestWrite,
        );
        call.headers.insert(CONTENT_TYPE, content_type);
        call.body = Some(manifest.bytes.clone());
        let res = self.session.send(call, &cx).await?;
        cx.check(res).await?;
        Ok(())
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let cx = self.context(repository, format!("blob {digest}"));
        let scopes = pull(repository);
        let call = Call::new(
            Method::HEAD,
            format!("/v2/{repository}/blobs/{digest}"),
            &scopes,
            Step::Read,
        );
        let res = self.session.send(call, &cx).await?;
        match res.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(cx.refused(res).await),
        }
    }

    async fn fetch_blob(&self, repository: &str, digest: &Digest, size: u64) -> Result<BlobReader> {
        let cx = self.context(repository, format!("blob {digest}"));
        let scopes = pull(repository);
        let call = Call::new(
            Method::GET,
            format!("/v2/{repository}/blobs/{digest}"),
            &scopes,
            Step::Read,
        );
        let res = cx.check(self.session.send(call, &cx).await?).await?;
        if let Some(announced) = res.content_length().filter(|&n| n != size) {
            return Err(cx.corrupt(format!(
                "the registry announces {announced} bytes, expected {size}"
            )));
        }
        let resume = download::Resume {
            session: Arc::clone(&self.session),
            registry: self.host.clone(),
            location: cx.location.clone(),
            what: cx.what.clone(),
            path: format!("/v2/{repository}/blobs/{digest}"),
            scopes: scopes.to_vec(),
        };
        let reader =
            StreamReader::new(download::resuming(resume, res.bytes_stream().boxed()).boxed());
        Ok(Box::pin(VerifyingReader::new(reader, digest.clone(), size)))
    }

    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> Result<()> {
        self.push_blob_from(repository, digest, size, &OnceSource::new(data))
            .await
    }

    async fn push_blob_from(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        source: &dyn BlobSource,
    ) -> Result<()> {
        if self.blob_exists(repository, digest).await? {
            tracing::debug!(%digest, repository, "blob already in the registry, not sent");
            return Ok(());
        }
        let cx = self.context(repository, format!("blob {digest}"));
        let scopes = push(repository);
        self.session
            .retrying(&cx, |_| async {
                let location = upload::start(&self.session, repository, &scopes, &cx).await?;
                let data = source.open().await?;
                let sent = upload::put(
                    &self.session,
                    &location,
                    &scopes,
                    data,
                    digest,
                    size,
                    self.idle,
                    &cx,
                )
                .await;
                match sent {
                    // The stream is spent: it cannot be sent again.
                    Err(Failure::Retry { error, .. }) if !source.replayable() => {
                        Err(Failure::Fatal(error))
                    }
                    other => other,
                }
            })
            .await
    }

    fn registry_host(&self) -> Option<&str> {
        Some(&self.host)
    }

    async fn mount_blob(&self, repository: &str, digest: &Digest, from: &str) -> Result<bool> {
        if repository == from {
            return Ok(false);
        }
        let cx = self.context(repository, format!("blob {digest} (mounted from {from})"));
        let mounted = upload::mount(&self.session, repository, digest, from, &cx).await?;
        tracing::debug!(%digest, repository, from, mounted, "cross-repository mount");
        Ok(mounted)
    }

    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        let cx = self.context(repository, "tag list");
        let path = format!("/v2/{repository}/tags/list");
        match self.list(&path, &pull(repository), "tags", &cx).await {
            Ok(tags) => Ok(tags),
            Err(StoreError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    async fn list_repositories(&self, prefix: &str) -> Result<Vec<String>> {
        let cx = Context {
            registry: &self.host,
            location: self.host.clone(),
            what: "repository list (/v2/_catalog)".to_owned(),
        };
        let scopes = ["registry:catalog:*".to_owned()];
        let all = self
            .list("/v2/_catalog", &scopes, "repositories", &cx)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => {
                    cx.registry("the registry does not list its repositories".to_owned())
                }
                other => other,
            })?;
        Ok(all.into_iter().filter(|r| r.starts_with(prefix)).collect())
    }
}

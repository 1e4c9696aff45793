//! A remote OCI registry as a [`Store`], through oci-client's blob-level calls.
//!
//! Manifests move as exact bytes (`pull_manifest_raw`/`push_manifest_raw`, never
//! re-serialized), so a digest computed locally is the digest the registry serves. Blobs
//! stream both ways: up as one streamed PUT after a HEAD that skips blobs the registry
//! already has, down through a [`VerifyingReader`] that checks the size (oci-client checks
//! the digest of what it downloads, the registry the digest of what it receives). Tag and repository lists are paged by
//! [`paging`], which stops on registries that ignore `n`/`last`.
//!
//! oci-client does the bearer-token dance for usernames, passwords and anonymous access;
//! [`token`] adds docker identity tokens and the catalog scope. Its clients share one token
//! cache, so each token serves every request of its repository and operation while it lasts.
//!
//! This module does not know where credentials come from ([`crate::auth`] does), nor what the
//! repositories hold. Loopback hosts are spoken to over plain HTTP; every other host over
//! HTTPS unless the caller forces plain HTTP.

pub mod check;
mod connect;
pub use connect::is_loopback;
mod error;
mod paging;
mod token;
mod upload;

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_client::errors::DigestError;
use oci_client::manifest::{IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE};
use oci_client::secrets::RegistryAuth;
use oci_client::token_cache::{RegistryToken, RegistryTokenType};
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::header::HeaderValue;
use tokio_util::io::StreamReader;

use self::connect::{check_host, client, token_client};
use self::error::Context;
use super::{
    BlobReader, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, RawManifest, Result, Store, StoreError,
};
use crate::auth::Credentials;
use crate::digest::{Digest, VerifyingReader};
use token::{Grant, TokenSource};
use upload::UploadError;

/// Names asked per page of a tag or repository list. Docker Hub caps pages at 100, and a
/// page shorter than asked is taken as the last one.
const DEFAULT_PAGE_SIZE: usize = 100;
const USER_AGENT: &str = concat!("opp/", env!("CARGO_PKG_VERSION"));
/// What `resolve` and `fetch_manifest` accept: OCI first, docker's types for old images.
const ACCEPT: &[&str] = &[
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
    /// Every call but blob uploads; its read timeout bounds each wait for the registry.
    client: Client,
    /// Blob uploads only: no read timeout, which would bound the whole upload; watched by
    /// [`upload`] instead.
    uploader: Client,
    /// What oci-client is given; anonymous for identity tokens, which [`token`] exchanges.
    auth: RegistryAuth,
    /// Bearer tokens oci-client cannot get: for identity tokens and the catalog scope.
    tokens: TokenSource,
    idle: Duration,
    page_size: usize,
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
        let (auth, grant) = match credentials {
            Credentials::Anonymous => (RegistryAuth::Anonymous, Grant::Anonymous),
            Credentials::Basic {
                username, password, ..
            } => (
                RegistryAuth::Basic(username.clone(), password.clone()),
                Grant::Basic { username, password },
            ),
            Credentials::IdentityToken { token, .. } => {
                (RegistryAuth::Anonymous, Grant::Refresh(token))
            }
        };
        let scheme = if http { "http" } else { "https" };
        let client = client(host, http, timeouts.connect, Some(timeouts.idle))?;
        let mut uploader = self::client(host, http, timeouts.connect, None)?;
        // One token cache for both, so an upload reuses the token a HEAD or push got.
        uploader.tokens = client.tokens.clone();
        Ok(RegistryStore {
            host: host.to_owned(),
            client,
            uploader,
            auth,
            tokens: TokenSource::new(
                token_client(host, timeouts)?,
                format!("{scheme}://{host}"),
                grant,
            ),
            idle: timeouts.idle,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// The same store asking for `n` names per page of a tag or repository list.
    pub fn with_page_size(mut self, n: usize) -> RegistryStore {
        self.page_size = n.max(1);
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

    fn by_tag(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(self.host.clone(), repository.to_owned(), tag.to_owned())
    }

    fn by_digest(&self, repository: &str, digest: &Digest) -> Reference {
        Reference::with_digest(self.host.clone(), repository.to_owned(), digest.to_string())
    }

    /// Hands the credentials to oci-client for calls that take none (blob and manifest push,
    /// blob pull, HEAD); it then fetches and caches a token per repository as needed.
    async fn authorize(
        &self,
        reference: &Reference,
        op: RegistryOperation,
        cx: &Context<'_>,
    ) -> Result<()> {
        let registry = reference.resolve_registry();
        self.client.store_auth_if_needed(registry, &self.auth).await;
        self.uploader
            .store_auth_if_needed(registry, &self.auth)
            .await;
        self.prime(reference, op, cx).await
    }

    /// With an identity token, exchanges it for an access token for `reference`'s repository
    /// and `op` (push needs `pull,push`) and hands that to oci-client's token cache, so
    /// oci-client never starts its own token dance. Nothing to do for other credentials.
    async fn prime(
        &self,
        reference: &Reference,
        op: RegistryOperation,
        cx: &Context<'_>,
    ) -> Result<()> {
        if !matches!(self.tokens.grant(), Grant::Refresh(_)) {
            return Ok(());
        }
        let actions = match op {
            RegistryOperation::Pull => "pull",
            RegistryOperation::Push => "pull,push",
        };
        let scope = format!("repository:{}:{actions}", reference.repository());
        self.install_token(reference, op, &scope, cx).await
    }

    /// Puts the token for `scope`, if the registry uses bearer tokens, in oci-client's cache
    /// for `reference` and `op`.
    async fn install_token(
        &self,
        reference: &Reference,
        op: RegistryOperation,
        scope: &str,
        cx: &Context<'_>,
    ) -> Result<()> {
        let Some(token) = self.tokens.token(scope).await.map_err(|e| cx.token(e))? else {
            return Ok(());
        };
        // The uploader shares this cache.
        let token = RegistryToken::AccessToken {
            access_token: token,
        };
        self.client
            .tokens
            .insert(reference, op, RegistryTokenType::Bearer(token))
            .await;
        Ok(())
    }

    /// Pulls a manifest raw, with the bytes checked against `reference`'s digest if it has
    /// one and against the registry's `Docker-Content-Digest`.
    async fn pull_manifest(&self, reference: &Reference, cx: &Context<'_>) -> Result<RawManifest> {
        self.prime(reference, RegistryOperation::Pull, cx).await?;
        let (bytes, _) = self
            .client
            .pull_manifest_raw(reference, &self.auth, ACCEPT)
            .await
            .map_err(|e| cx.map(e))?;
        let media_type = media_type_of(&bytes).ok_or_else(|| {
            cx.corrupt("not a JSON manifest or index with a known media type".to_owned())
        })?;
        Ok(RawManifest::new(media_type, bytes))
    }
}

#[async_trait]
impl Store for RegistryStore {
    fn location(&self, repository: &str) -> String {
        format!("{}/{repository}", self.host)
    }

    async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<RawManifest>> {
        let cx = self.context(repository, format!("tag {tag}"));
        match self.pull_manifest(&self.by_tag(repository, tag), &cx).await {
            Ok(m) => Ok(Some(m)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest> {
        let cx = self.context(repository, format!("manifest {digest}"));
        let manifest = self
            .pull_manifest(&self.by_digest(repository, digest), &cx)
            .await?;
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
        let reference = match tag {
            Some(t) => self.by_tag(repository, t),
            None => self.by_digest(repository, &manifest.digest),
        };
        self.authorize(&reference, RegistryOperation::Push, &cx)
            .await?;
        self.client
            .push_manifest_raw(&reference, manifest.bytes.clone(), content_type)
            .await
            .map_err(|e| cx.map(e))?;
        Ok(())
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let cx = self.context(repository, format!("blob {digest}"));
        let reference = self.by_digest(repository, digest);
        self.authorize(&reference, RegistryOperation::Pull, &cx)
            .await?;
        self.client
            .blob_exists(&reference, digest.as_str())
            .await
            .map_err(|e| cx.map(e))
    }

    async fn fetch_blob(&self, repository: &str, digest: &Digest, size: u64) -> Result<BlobReader> {
        let cx = self.context(repository, format!("blob {digest}"));
        let reference = self.by_digest(repository, digest);
        self.authorize(&reference, RegistryOperation::Pull, &cx)
            .await?;
        let body = self
            .client
            .pull_blob_stream(&reference, digest.as_str())
            .await
            .map_err(|e| cx.map(e))?;
        if let Some(announced) = body.content_length.filter(|&n| n != size) {
            return Err(cx.corrupt(format!(
                "the registry announces {announced} bytes, expected {size}"
            )));
        }
        // oci-client checks the digest too, and fails first: give its error the kind and
        // the wording of ours.
        let location = cx.location.clone();
        let stream = body.stream.map_err(move |e| match digest_error(&e) {
            Some(d) => io::Error::new(io::ErrorKind::InvalidData, format!("{location}: {d}")),
            None => e,
        });
        let reader = StreamReader::new(stream);
        Ok(Box::pin(VerifyingReader::size_only(
            reader,
            digest.clone(),
            size,
        )))
    }

    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> Result<()> {
        if self.blob_exists(repository, digest).await? {
            tracing::debug!(%digest, repository, "blob already in the registry, not sent");
            return Ok(());
        }
        let cx = self.context(repository, format!("blob {digest}"));
        let reference = self.by_digest(repository, digest);
        self.authorize(&reference, RegistryOperation::Push, &cx)
            .await?;
        upload::stream_blob(&self.uploader, &reference, data, digest, size, self.idle)
            .await
            .map_err(|e| match e {
                UploadError::Client(e) => cx.map(e),
                UploadError::Stalled(idle) => StoreError::Unreachable {
                    registry: self.host.clone(),
                    source: format!(
                        "the upload of blob {digest} made no progress for {} s",
                        idle.as_secs_f32()
                    )
                    .into(),
                },
            })
    }

    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        let cx = self.context(repository, "tag list");
        let reference = self.by_tag(repository, "latest");
        self.prime(&reference, RegistryOperation::Pull, &cx).await?;
        let pages = paging::collect(self.page_size, |last| {
            let reference = &reference;
            async move {
                self.client
                    .list_tags(reference, &self.auth, Some(self.page_size), last.as_deref())
                    .await
                    .map(|page| page.tags)
            }
        });
        match pages.await.map_err(|e| cx.map(e)) {
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
        // Only the registry part of this reference is used.
        let reference = self.by_tag("_catalog", "latest");
        // oci-client would ask for a `repository:_catalog:pull` token, which token servers
        // do not grant for the catalog.
        self.install_token(
            &reference,
            RegistryOperation::Pull,
            "registry:catalog:*",
            &cx,
        )
        .await?;
        let pages = paging::collect(self.page_size, |last| {
            let reference = &reference;
            async move {
                self.client
                    .catalog(reference, &self.auth, Some(self.page_size), last.as_deref())
                    .await
                    .map(|page| page.repositories)
            }
        });
        let all = pages.await.map_err(|e| match cx.map(e) {
            StoreError::NotFound { .. } => {
                cx.registry("the registry does not list its repositories".to_owned())
            }
            other => other,
        })?;
        Ok(all.into_iter().filter(|r| r.starts_with(prefix)).collect())
    }
}

/// The digest mismatch inside an error of oci-client's verifying stream, if that is what it is.
fn digest_error(e: &io::Error) -> Option<&DigestError> {
    e.get_ref()?.downcast_ref::<DigestError>()
}

/// A manifest's media type: its `mediaType` field, else guessed from its shape (`manifests`
/// makes an OCI index, `layers` or `config` an OCI manifest). `None` if it is not JSON.
fn media_type_of(bytes: &Bytes) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
        layers: Option<serde::de::IgnoredAny>,
        config: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(bytes).ok()?;
    match probe {
        Probe {
            media_type: Some(m),
            ..
        } => Some(m),
        Probe {
            manifests: Some(_), ..
        } => Some(OCI_IMAGE_INDEX.to_owned()),
        Probe {
            layers: Some(_), ..
        }
        | Probe {
            config: Some(_), ..
        } => Some(OCI_IMAGE_MANIFEST.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_comes_from_the_field_or_the_shape() {
        let m = |s: &str| media_type_of(&Bytes::from(s.to_owned()));
        assert_eq!(m(r#"{"mediaType":"x/y"}"#).as_deref(), Some("x/y"));
        assert_eq!(m(r#"{"manifests":[]}"#).as_deref(), Some(OCI_IMAGE_INDEX));
        assert_eq!(m(r#"{"layers":[]}"#).as_deref(), Some(OCI_IMAGE_MANIFEST));
        assert_eq!(m(r#"{"schemaVersion":2}"#), None);
        assert_eq!(m("not json"), None);
    }
}

//! The one storage interface opp moves bytes through, with two backends: a local OCI image
//! layout directory ([`layout::LayoutStore`], the default) and a remote registry
//! ([`registry::RegistryStore`]). [`copy`] moves a tagged artifact between any two.
//!
//! Every backend keeps the same promises:
//! - a blob is written before any manifest naming it, a manifest before any index or tag
//!   naming it, so a reader never sees a tag pointing at something missing;
//! - every blob read is checked against its digest and size while it streams
//!   ([`crate::digest::VerifyingReader`]);
//! - blobs are streamed, never held whole in memory.
//!
//! The store knows nothing about ecosystems: repositories and tags come from the mapper.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::digest::Digest;

pub mod cache;
pub mod copy;
pub mod layout;
pub mod registry;

/// A streamed blob body.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// Where a blob's bytes can be read from the start, as often as needed: an upload that failed
/// halfway (a reset connection, a busy registry) starts over with a fresh [`BlobSource::open`].
#[async_trait]
pub trait BlobSource: Send + Sync {
    /// The blob's bytes from their first byte.
    async fn open(&self) -> Result<BlobReader>;

    /// Whether [`BlobSource::open`] may be called more than once. A stream handed over once
    /// is not: an upload of it is retried only until its first byte was taken.
    fn replayable(&self) -> bool {
        true
    }
}

/// A [`BlobSource`] over a stream that can be read once.
pub struct OnceSource(std::sync::Mutex<Option<BlobReader>>);

impl OnceSource {
    pub fn new(reader: BlobReader) -> OnceSource {
        OnceSource(std::sync::Mutex::new(Some(reader)))
    }
}

#[async_trait]
impl BlobSource for OnceSource {
    async fn open(&self) -> Result<BlobReader> {
        let taken = self.0.lock().ok().and_then(|mut r| r.take());
        taken.ok_or_else(|| StoreError::Io {
            action: "cannot read a second time",
            path: "a blob stream".to_owned(),
            source: std::io::Error::other("the stream was already read"),
        })
    }

    fn replayable(&self) -> bool {
        false
    }
}

pub const OCI_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A manifest or index exactly as stored: its bytes are what its digest is computed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawManifest {
    pub media_type: String,
    pub digest: Digest,
    pub bytes: Bytes,
}

impl RawManifest {
    /// Wraps serialized manifest bytes, computing their digest.
    pub fn new(media_type: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        RawManifest {
            media_type: media_type.into(),
            digest: Digest::of(&bytes),
            bytes,
        }
    }
}

/// What can go wrong moving bytes. Each variant names the thing, so the binary can print one
/// line with a hint.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found in {location}")]
    NotFound { what: String, location: String },
    /// 401: the credentials are missing or wrong. 403: they are valid but do not reach
    /// `location`, or the repository does not exist (ghcr.io answers 403 for both).
    #[error("{}", unauthorized_message(location, *status))]
    Unauthorized {
        registry: String,
        /// `host/repository`, or the host for registry-wide calls.
        location: String,
        status: u16,
    },
    #[error("cannot reach {registry}")]
    Unreachable {
        registry: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{what} from {location} is corrupt: {detail}")]
    Corrupt {
        what: String,
        location: String,
        detail: String,
    },
    #[error("{location}: {message}")]
    Registry { location: String, message: String },
    /// A refusal that the same step may not meet again a moment later, which the registry
    /// store does not retry itself: HTTP 500 to a read (distribution answers it while another
    /// writer rewrites a tag), or a manifest naming a blob another writer is still storing
    /// (MANIFEST_BLOB_UNKNOWN). Push's write-and-verify loop tries such a step again; once a
    /// retry budget is spent the error becomes [`StoreError::Registry`].
    #[error("{location}: {message}")]
    Transient { location: String, message: String },
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn unauthorized_message(location: &str, status: u16) -> String {
    if status == 403 {
        format!(
            "{location}: access denied (HTTP 403): the repository may not exist, or the credentials do not allow this"
        )
    } else {
        format!("{location}: authentication failed (HTTP {status}): credentials missing or refused")
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One interface, two backends (as oras-go's `Target`).
#[async_trait]
pub trait Store: Send + Sync {
    /// Where a repository lives, for messages: `127.0.0.1:5000/pypi/six` or
    /// `/home/me/.local/share/opp/store/pypi/six`.
    fn location(&self, repository: &str) -> String;

    /// The manifest or index a tag points at, or `None` when the tag (or the repository)
    /// does not exist.
    async fn resolve(&self, repository: &str, tag: &str) -> Result<Option<RawManifest>>;

    /// The digest a tag points at, or `None` when the tag (or the repository) does not
    /// exist. This default reads the whole manifest through [`Store::resolve`]; a backend
    /// with a cheaper way (a registry's `HEAD /v2/<name>/manifests/<tag>`) overrides it.
    /// [`cache::CachingStore`] asks this when its copy of a tag has expired, and keeps its
    /// cached manifest when the digest has not changed.
    async fn resolve_digest(&self, repository: &str, tag: &str) -> Result<Option<Digest>> {
        Ok(self.resolve(repository, tag).await?.map(|m| m.digest))
    }

    /// A manifest or index by digest; its bytes are checked against the digest.
    async fn fetch_manifest(&self, repository: &str, digest: &Digest) -> Result<RawManifest>;

    /// Stores a manifest or index (every blob and child it names must already be there),
    /// and points `tag` at it when given.
    async fn push_manifest(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<()>;

    /// Stores a manifest or index and points `tag` at it, but only if the tag still points
    /// at `expected` (`None`: the tag must not exist yet). Returns `Ok(false)`, tag
    /// unchanged, when another writer moved it: the caller merges again. This default
    /// checks, then writes; registries offer no conditional write, so a narrow window
    /// remains there. The local layout overrides it with a check under its lock.
    async fn push_manifest_if(
        &self,
        repository: &str,
        manifest: &RawManifest,
        tag: &str,
        expected: Option<&Digest>,
    ) -> Result<bool> {
        let current = self.resolve(repository, tag).await?.map(|m| m.digest);
        if current.as_ref() != expected {
            return Ok(false);
        }
        self.push_manifest(repository, manifest, Some(tag)).await?;
        Ok(true)
    }

    /// Whether [`Store::push_manifest_if`] is a true compare-and-swap (the local layout
    /// checks under its lock). Where it is not (registries), a push verifies its write after
    /// a wait (`packages::settle`).
    fn atomic_tag_writes(&self) -> bool {
        false
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool>;

    /// A blob's bytes as a stream that fails at its end unless size and digest match.
    async fn fetch_blob(&self, repository: &str, digest: &Digest, size: u64) -> Result<BlobReader>;

    /// Uploads a blob from a stream of exactly `size` bytes with the given digest. The
    /// backend checks the digest; a mismatch stores nothing.
    async fn push_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        data: BlobReader,
    ) -> Result<()>;

    /// [`Store::push_blob`] from a source that can be opened again: a backend that retries
    /// uploads (a registry) starts a failed one over from the first byte. This default opens
    /// it once.
    async fn push_blob_from(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        source: &dyn BlobSource,
    ) -> Result<()> {
        self.push_blob(repository, digest, size, source.open().await?)
            .await
    }

    /// The registry host this store talks to (`ghcr.io`), `None` for other stores. Two stores
    /// of one registry can mount blobs from one repository into another
    /// ([`Store::mount_blob`]).
    fn registry_host(&self) -> Option<&str> {
        None
    }

    /// Makes blob `digest` of repository `from` (of the same registry) part of `repository`
    /// without sending its bytes. `Ok(false)`: not mounted (the store or registry cannot, or
    /// `from` lacks the blob); the caller uploads it. This default never mounts.
    async fn mount_blob(&self, repository: &str, digest: &Digest, from: &str) -> Result<bool> {
        let _ = (repository, digest, from);
        Ok(false)
    }

    /// Every tag of a repository (empty when the repository does not exist), in no order.
    async fn list_tags(&self, repository: &str) -> Result<Vec<String>>;

    /// Every repository whose name starts with `prefix`, in no order.
    async fn list_repositories(&self, prefix: &str) -> Result<Vec<String>>;
}

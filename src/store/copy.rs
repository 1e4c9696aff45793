//! Copies a tagged artifact, with everything it references, from one store to another
//! (local layout or registry, either way round), as oras-go's `Copy` does. Children go
//! before parents and the tag goes last, so the destination never shows a tag pointing at
//! something missing. Blobs the destination already has are not sent again; between two
//! repositories of one registry they are mounted ([`Store::mount_blob`]) rather than sent,
//! and a blob that is sent is read again from the source if the upload has to start over.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;

use async_trait::async_trait;

use super::{BlobReader, BlobSource, RawManifest, Result, Store, StoreError};
use crate::digest::Digest;

/// How many blobs move at once.
const CONCURRENCY: usize = 4;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ref {
    digest: String,
    size: i64,
}

#[derive(Deserialize)]
struct Node {
    #[serde(default)]
    manifests: Vec<Ref>,
    config: Option<Ref>,
    #[serde(default)]
    layers: Vec<Ref>,
}

/// What a copy moved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyStats {
    pub manifests: usize,
    /// Blobs whose bytes were sent.
    pub blobs_copied: usize,
    /// Blobs the destination had already.
    pub blobs_skipped: usize,
    /// Blobs the destination registry mounted from the source repository (no byte of them
    /// moved; not counted in `blobs_skipped`).
    pub blobs_mounted: usize,
    pub bytes_copied: u64,
}

fn parse_digest(s: &str, location: &str) -> Result<Digest> {
    s.parse()
        .map_err(|e: crate::digest::DigestParseError| StoreError::Corrupt {
            what: "a manifest".into(),
            location: location.to_owned(),
            detail: e.to_string(),
        })
}

/// Copies `from_repo:tag` to `to_repo:tag`.
pub async fn copy_tag(
    from: &dyn Store,
    from_repo: &str,
    to: &dyn Store,
    to_repo: &str,
    tag: &str,
) -> Result<CopyStats> {
    let root = from
        .resolve(from_repo, tag)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("tag {tag}"),
            location: from.location(from_repo),
        })?;
    let mut stats = CopyStats::default();
    copy_node(from, from_repo, to, to_repo, &root, &mut stats).await?;
    to.push_manifest(to_repo, &root, Some(tag)).await?;
    stats.manifests += 1;
    Ok(stats)
}

/// Copies everything a manifest or index references (not the node itself).
async fn copy_node(
    from: &dyn Store,
    from_repo: &str,
    to: &dyn Store,
    to_repo: &str,
    node: &RawManifest,
    stats: &mut CopyStats,
) -> Result<()> {
    let location = from.location(from_repo);
    let parsed: Node = serde_json::from_slice(&node.bytes).map_err(|e| StoreError::Corrupt {
        what: format!("manifest {}", node.digest),
        location: location.clone(),
        detail: e.to_string(),
    })?;
    // Blobs move concurrently; each says what it did.
    let mut blobs = Vec::new();
    for blob in parsed.config.iter().chain(parsed.layers.iter()) {
        let digest = parse_digest(&blob.digest, &location)?;
        let size = blob.size.max(0) as u64;
        blobs.push(copy_blob(from, from_repo, to, to_repo, digest, size));
    }
    let copied: Vec<Moved> = stream::iter(blobs)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    for c in copied {
        match c {
            Moved::Sent(size) => {
                stats.blobs_copied += 1;
                stats.bytes_copied += size;
            }
            Moved::Mounted => stats.blobs_mounted += 1,
            Moved::Present => stats.blobs_skipped += 1,
        }
    }
    for child in &parsed.manifests {
        let digest = parse_digest(&child.digest, &location)?;
        let raw = from.fetch_manifest(from_repo, &digest).await?;
        Box::pin(copy_node(from, from_repo, to, to_repo, &raw, stats)).await?;
        to.push_manifest(to_repo, &raw, None).await?;
        stats.manifests += 1;
    }
    Ok(())
}

/// What happened to one blob.
enum Moved {
    /// Its bytes went over.
    Sent(u64),
    /// The destination registry mounted it from the source repository.
    Mounted,
    /// The destination had it.
    Present,
}

/// Copies one blob unless the target has it: mounted when both stores are one registry and
/// it allows that, else streamed from the source (reopened for each try of the upload).
async fn copy_blob(
    from: &dyn Store,
    from_repo: &str,
    to: &dyn Store,
    to_repo: &str,
    digest: Digest,
    size: u64,
) -> Result<Moved> {
    if to.blob_exists(to_repo, &digest).await? {
        return Ok(Moved::Present);
    }
    let same_registry =
        from.registry_host().is_some() && from.registry_host() == to.registry_host();
    if same_registry && to.mount_blob(to_repo, &digest, from_repo).await? {
        return Ok(Moved::Mounted);
    }
    let source = Fetch {
        store: from,
        repository: from_repo,
        digest: &digest,
        size,
    };
    to.push_blob_from(to_repo, &digest, size, &source).await?;
    Ok(Moved::Sent(size))
}

/// A blob read from a store, from its first byte each time it is opened.
struct Fetch<'a> {
    store: &'a dyn Store,
    repository: &'a str,
    digest: &'a Digest,
    size: u64,
}

#[async_trait]
impl BlobSource for Fetch<'_> {
    async fn open(&self) -> Result<BlobReader> {
        self.store
            .fetch_blob(self.repository, self.digest, self.size)
            .await
    }
}

//! Copies a tagged artifact, with everything it references, from one store to another
//! (local layout or registry, either way round), as oras-go's `Copy` does. Children go
//! before parents and the tag goes last, so the destination never shows a tag pointing at
//! something missing. Blobs the destination already has are not sent again.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;

use super::{RawManifest, Result, Store, StoreError};
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
    pub blobs_copied: usize,
    pub blobs_skipped: usize,
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
    // Blobs move concurrently; each returns the bytes it copied, or None when the target had it.
    let mut blobs = Vec::new();
    for blob in parsed.config.iter().chain(parsed.layers.iter()) {
        let digest = parse_digest(&blob.digest, &location)?;
        let size = blob.size.max(0) as u64;
        blobs.push(copy_blob(from, from_repo, to, to_repo, digest, size));
    }
    let copied: Vec<Option<u64>> = stream::iter(blobs)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    for c in copied {
        match c {
            Some(size) => {
                stats.blobs_copied += 1;
                stats.bytes_copied += size;
            }
            None => stats.blobs_skipped += 1,
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

/// Copies one blob unless the target has it; `Some(size)` when it was copied.
async fn copy_blob(
    from: &dyn Store,
    from_repo: &str,
    to: &dyn Store,
    to_repo: &str,
    digest: Digest,
    size: u64,
) -> Result<Option<u64>> {
    if to.blob_exists(to_repo, &digest).await? {
        return Ok(None);
    }
    let reader = from.fetch_blob(from_repo, &digest, size).await?;
    to.push_blob(to_repo, &digest, size, reader).await?;
    Ok(Some(size))
}

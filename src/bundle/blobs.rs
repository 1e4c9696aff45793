//! Storing a bundle's blobs into the target while the tar streams: each blob entry becomes a
//! job (a manifest read whole into memory, a blob stored into every target repository that
//! lacks it, or drained when none does), and several jobs run at once, so that one blob's
//! upload finishing (the registry checking and committing it) overlaps the next one's bytes.
//! A job only ever sees bytes the reader (`read`) verified; memory stays bounded by the jobs
//! at once times the chunks each has in flight.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::sync::mpsc::Receiver;

use super::{BundleError, Result};
use crate::digest::Digest;
use crate::packages::Packages;
use crate::store::BlobReader;

/// Blob jobs at once while the tar streams.
pub(super) const JOBS_AT_ONCE: usize = 4;
/// Requests at once for existence checks and a small blob's copies.
const AT_ONCE: usize = 8;
/// The largest manifest (as registries and OpenTofu accept).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// Blobs up to this size are read into memory and stored into every repository lacking them;
/// larger ones stream into the first and are mounted or copied into the others.
const SMALL_BLOB: u64 = 4 * 1024 * 1024;

/// What a finished job did.
pub(super) enum Done {
    /// A manifest, read whole.
    Manifest(Digest, Bytes),
    /// A blob stored (its size).
    Stored(u64),
    /// A blob every repository had (or a dry run): read and checked only.
    Present,
}

/// One blob entry being handled.
pub(super) type Job<'a> = Pin<Box<dyn Future<Output = Result<Done>> + Send + 'a>>;

/// The job for one blob entry: `manifest` ones are read whole, others stored into `repos`.
pub(super) fn job<'a>(
    pkgs: &'a Packages<'a>,
    digest: Digest,
    size: u64,
    body: Receiver<Result<Bytes>>,
    manifest: bool,
    repos: Vec<String>,
    dry_run: bool,
) -> Job<'a> {
    Box::pin(async move {
        if manifest {
            let bytes = read_whole(body, size.min(MAX_MANIFEST)).await?;
            complete(bytes.len() as u64, size, &digest)?;
            return Ok(Done::Manifest(digest, bytes));
        }
        let repos = if dry_run { Vec::new() } else { repos };
        store_blob(pkgs, &digest, size, body, &repos).await
    })
}

/// For each held blob, the target repositories that need it and lack it.
pub(super) async fn lacking(
    pkgs: &Packages<'_>,
    needed: HashMap<Digest, BTreeSet<String>>,
) -> Result<HashMap<Digest, Vec<String>>> {
    let checks: Vec<_> = needed
        .into_iter()
        .flat_map(|(d, repos)| repos.into_iter().map(move |r| (d.clone(), r)))
        .map(|(d, repo)| async move {
            let there = pkgs.store.blob_exists(&repo, &d).await?;
            Ok::<_, BundleError>((d, repo, there))
        })
        .collect();
    let found: Vec<(Digest, String, bool)> = stream::iter(checks)
        .buffer_unordered(AT_ONCE)
        .try_collect()
        .await?;
    let mut out: HashMap<Digest, Vec<String>> = HashMap::new();
    for (d, repo, there) in found {
        let repos = out.entry(d).or_default();
        if !there {
            repos.push(repo);
            repos.sort();
        }
    }
    Ok(out)
}

/// Reads a verified body whole (shorter than its size when it ended early: the reader says why).
async fn read_whole(mut body: Receiver<Result<Bytes>>, limit: u64) -> Result<Bytes> {
    let mut out = Vec::new();
    while let Some(chunk) = body.recv().await {
        let chunk = chunk?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(BundleError::Invalid(format!(
                "a manifest of the bundle is larger than {limit} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// Stores one verified blob into every repository in `repos` (none: it is drained).
async fn store_blob(
    pkgs: &Packages<'_>,
    digest: &Digest,
    size: u64,
    mut body: Receiver<Result<Bytes>>,
    repos: &[String],
) -> Result<Done> {
    let Some(first) = repos.first() else {
        let mut got = 0u64;
        while let Some(chunk) = body.recv().await {
            got += chunk?.len() as u64;
        }
        complete(got, size, digest)?;
        return Ok(Done::Present);
    };
    if size <= SMALL_BLOB {
        let bytes = read_whole(body, size).await?;
        complete(bytes.len() as u64, size, digest)?;
        let puts: Vec<_> = repos
            .iter()
            .map(|repo| {
                let data: BlobReader = Box::pin(std::io::Cursor::new(bytes.clone()));
                pkgs.store.push_blob(repo, digest, size, data)
            })
            .collect();
        stream::iter(puts)
            .buffer_unordered(AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
    } else {
        let chunks = futures_util::stream::poll_fn(move |cx| body.poll_recv(cx)).map(|c| {
            c.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
        });
        let reader: BlobReader = Box::pin(tokio_util::io::StreamReader::new(chunks));
        pkgs.store.push_blob(first, digest, size, reader).await?;
        for repo in &repos[1..] {
            if !pkgs.store.mount_blob(repo, digest, first).await? {
                let data = pkgs.store.fetch_blob(first, digest, size).await?;
                pkgs.store.push_blob(repo, digest, size, data).await?;
            }
        }
    }
    Ok(Done::Stored(size))
}

/// Fails when a blob's body ended before its size (the reader then says why).
fn complete(got: u64, size: u64, digest: &Digest) -> Result<()> {
    if got == size {
        Ok(())
    } else {
        Err(BundleError::Invalid(format!(
            "blob {digest} ended after {got} of {size} bytes"
        )))
    }
}

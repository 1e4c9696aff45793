//! `opp import`: a bundle streamed into a store. `opp-bundle.json` (the first entry) says what
//! comes; each version is mapped through the target's own mapper from its ecosystem, package
//! and version, so the target may name repositories otherwise. Before any byte is written the
//! target is asked which blobs it lacks (and, for a delta, whether it has the base's). Then the
//! tar streams: each blob is verified as it is read (`read`) and stored only where it is
//! lacking; manifests are kept in memory (they are small). Only when the whole bundle was read
//! and checked (every listed blob seen, `index.json` matching) is any version tagged, each by
//! push's rules (`merge`), a few at once.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::format::{BUNDLE_JSON, BlobEntry, BundleIndex, INDEX_JSON, OCI_LAYOUT, VersionEntry};
use super::read::{Event, TarIn};
use super::tag::{Manifests, Planned, tag_all};
pub use super::tag::{Options, Reported};
use super::{BundleError, Result};
use crate::digest::Digest;
use crate::packages::Packages;
use crate::release::Ecosystem;
use crate::store::BlobReader;

/// Requests to the target at once (existence checks, small uploads, versions tagged).
const AT_ONCE: usize = 8;
/// The largest manifest (as registries and OpenTofu accept).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// Blobs up to this size are read into memory and stored into every repository lacking them;
/// larger ones stream into the first and are mounted or copied into the others.
const SMALL_BLOB: u64 = 4 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct Imported {
    pub versions: Vec<Reported>,
    /// What went wrong beside the versions (a module's `latest` that could not be moved).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub blobs_stored: usize,
    pub bytes_stored: u64,
    pub blobs_present: usize,
}

/// Imports the bundle at `path` into `pkgs`' store.
pub async fn import(pkgs: &Packages<'_>, path: &Path, opts: Options) -> Result<Imported> {
    let shown = path.display().to_string();
    let damaged = |detail: String| BundleError::Damaged {
        path: shown.clone(),
        detail,
    };
    let bar = pkgs.out.bar(&format!("import {shown}"), 0);
    let mut tar = TarIn::open(path, bar.clone())?;
    let bundle_json = match tar.next().await? {
        Some(Event::File { name, bytes }) if name == BUNDLE_JSON => bytes,
        _ => {
            return Err(damaged(format!(
                "its first entry is not {BUNDLE_JSON}: it was not written by opp export"
            )));
        }
    };
    let index =
        BundleIndex::parse(&bundle_json).map_err(|e| damaged(format!("{BUNDLE_JSON}: {e}")))?;
    bar.set_length(index.bytes() + bundle_json.len() as u64);
    let bundle_digest = Digest::of(&bundle_json);
    let planned: Vec<Planned> = index.versions.iter().map(|v| plan(pkgs, v)).collect();
    let held: HashMap<&Digest, &BlobEntry> = index.blobs.iter().map(|b| (&b.digest, b)).collect();

    // Where each held blob is needed, and what a delta's base must have provided.
    let mut needed: HashMap<Digest, BTreeSet<String>> = HashMap::new();
    let mut from_base: BTreeSet<(String, Digest)> = BTreeSet::new();
    for p in &planned {
        let Ok((repo, _)) = &p.place else { continue };
        for d in &p.entry.blobs {
            if held.contains_key(d) {
                needed.entry(d.clone()).or_default().insert(repo.clone());
            } else {
                from_base.insert((repo.clone(), d.clone()));
            }
        }
        for d in p.entry.manifests.iter().chain([&p.entry.manifest.digest]) {
            if held.get(d).is_none_or(|b| b.media_type.is_none()) {
                return Err(damaged(format!(
                    "{BUNDLE_JSON} lists manifest {d} of {} but not among its blobs",
                    p.entry.label()
                )));
            }
        }
    }
    check_base(pkgs, &index, &from_base, &shown).await?;
    let lacking = lacking(pkgs, needed).await?;

    let mut stats = Imported::default();
    let mut manifests: HashMap<Digest, Bytes> = HashMap::new();
    let mut seen: HashSet<Digest> = HashSet::new();
    let mut layout_index: Option<Bytes> = None;
    while let Some(event) = tar.next().await? {
        if layout_index.is_some() {
            return Err(damaged(format!("it has entries after {INDEX_JSON}")));
        }
        match event {
            Event::Dir => {}
            Event::File { name, .. } if name == OCI_LAYOUT => {}
            Event::File { name, bytes } if name == INDEX_JSON => layout_index = Some(bytes),
            Event::File { name, .. } => {
                return Err(damaged(format!(
                    "it has an entry opp does not write: {name}"
                )));
            }
            Event::Blob { digest, size, body } => {
                let Some(entry) = held.get(&digest) else {
                    return Err(damaged(format!(
                        "blob {digest} is not listed in {BUNDLE_JSON}"
                    )));
                };
                if entry.size != size || !seen.insert(digest.clone()) {
                    return Err(damaged(format!(
                        "blob {digest} is not the one {BUNDLE_JSON} lists (size or place)"
                    )));
                }
                let result = if entry.media_type.is_some() {
                    match read_whole(body, size.min(MAX_MANIFEST)).await {
                        Ok(bytes) => complete(bytes.len() as u64, size, &digest).map(|()| {
                            manifests.insert(digest.clone(), bytes);
                        }),
                        Err(e) => Err(e),
                    }
                } else {
                    let repos = lacking.get(&digest).cloned().unwrap_or_default();
                    store_blob(pkgs, &digest, size, body, &repos, opts.dry_run, &mut stats).await
                };
                if let Err(e) = result {
                    // The reader's account of a damaged entry says more than a short stream.
                    return Err(match tar.next().await {
                        Err(damage) => damage,
                        Ok(_) => e,
                    });
                }
            }
        }
    }
    if let Some(missing) = index.blobs.iter().find(|b| !seen.contains(&b.digest)) {
        return Err(damaged(format!(
            "it is truncated: it ends before blob {} ({} of {} blobs read)",
            missing.digest,
            seen.len(),
            index.blobs.len()
        )));
    }
    let Some(layout_index) = layout_index else {
        return Err(damaged(format!(
            "it is truncated: it ends before {INDEX_JSON}"
        )));
    };
    index
        .check_layout_index(&bundle_digest, &layout_index)
        .map_err(|e| damaged(format!("{INDEX_JSON}: {e}")))?;
    bar.finish_and_clear();

    let manifests = Manifests {
        held: &held,
        bytes: &manifests,
    };
    (stats.versions, stats.problems) = tag_all(pkgs, &planned, &manifests, opts).await;
    Ok(stats)
}

/// Where a version goes in the target.
fn plan(pkgs: &Packages<'_>, v: &VersionEntry) -> Planned {
    // `BundleIndex::parse` refused unknown ecosystems.
    let ecosystem = v.ecosystem().unwrap_or(Ecosystem::Pypi);
    let place = pkgs
        .mapper
        .repository(ecosystem, &v.package)
        .and_then(|repo| Ok((repo, pkgs.mapper.tag(ecosystem, &v.version)?)))
        .map_err(|e| e.to_string());
    Planned {
        entry: v.clone(),
        ecosystem,
        place,
    }
}

/// Refuses a delta whose base blobs the target lacks, naming them.
async fn check_base(
    pkgs: &Packages<'_>,
    index: &BundleIndex,
    from_base: &BTreeSet<(String, Digest)>,
    shown: &str,
) -> Result<()> {
    let checks: Vec<_> = from_base
        .iter()
        .map(|(repo, d)| async move {
            let there = pkgs.store.blob_exists(repo, d).await?;
            Ok::<_, BundleError>((!there).then(|| format!("{d} in {repo}")))
        })
        .collect();
    let missing: Vec<String> = stream::iter(checks)
        .buffered(AT_ONCE)
        .try_collect::<Vec<Option<String>>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let Some(base) = &index.base else {
        return Err(BundleError::Damaged {
            path: shown.to_owned(),
            detail: format!("it lacks blobs its versions need ({})", missing[0]),
        });
    };
    let more = match missing.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    Err(BundleError::BaseMissing {
        path: shown.to_owned(),
        created: base.created.clone(),
        missing: format!("{}{more}", missing[0]),
    })
}

/// For each held blob, the target repositories that need it and lack it.
async fn lacking(
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
async fn read_whole(
    mut body: tokio::sync::mpsc::Receiver<Result<Bytes>>,
    limit: u64,
) -> Result<Bytes> {
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
    mut body: tokio::sync::mpsc::Receiver<Result<Bytes>>,
    repos: &[String],
    dry_run: bool,
    stats: &mut Imported,
) -> Result<()> {
    let Some(first) = repos.first().filter(|_| !dry_run) else {
        let mut got = 0u64;
        while let Some(chunk) = body.recv().await {
            got += chunk?.len() as u64;
        }
        stats.blobs_present += 1;
        return complete(got, size, digest);
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
    stats.blobs_stored += 1;
    stats.bytes_stored += size;
    Ok(())
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

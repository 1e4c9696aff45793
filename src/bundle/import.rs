//! `opp import`: a bundle streamed into a store. `opp-bundle.json` (the first entry) says what
//! comes; each version is mapped through the target's own mapper from its ecosystem, package
//! and version, so the target may name repositories otherwise. Before any byte is written the
//! target is asked which blobs it lacks (and, for a delta, whether it has the base's). Then the
//! tar streams: each blob is verified as it is read (`read`) and stored only where it is
//! lacking, a few at once (`blobs`); manifests are kept in memory (they are small). Only when
//! the whole bundle was read and checked (every listed blob seen and stored, `index.json`
//! matching) is any version tagged, each by push's rules (`tag`, `merge`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::blobs::{Done, JOBS_AT_ONCE, job, lacking};
use super::format::{BUNDLE_JSON, BlobEntry, BundleIndex, INDEX_JSON, OCI_LAYOUT, VersionEntry};
use super::read::{Event, TarIn};
use super::tag::{Manifests, Planned, tag_all};
pub use super::tag::{Options, Reported};
use super::{BundleError, Result};
use crate::digest::Digest;
use crate::packages::Packages;
use crate::release::Ecosystem;

/// Existence checks of a delta's base at once.
const AT_ONCE: usize = 8;

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
    let mut jobs = FuturesUnordered::new();
    let mut read_all = false;
    loop {
        let event = tokio::select! {
            // Finished jobs first: they free room for the next entry.
            biased;
            Some(done) = jobs.next(), if !jobs.is_empty() => {
                match done {
                    Ok(Done::Manifest(digest, bytes)) => {
                        manifests.insert(digest, bytes);
                    }
                    Ok(Done::Stored(size)) => {
                        stats.blobs_stored += 1;
                        stats.bytes_stored += size;
                    }
                    Ok(Done::Present) => stats.blobs_present += 1,
                    // The reader's account of a damaged entry says more than a short stream.
                    Err(e) => {
                        return Err(match tar.next().await {
                            Err(damage) => damage,
                            Ok(_) => e,
                        });
                    }
                }
                continue;
            }
            event = tar.next(), if !read_all && jobs.len() < JOBS_AT_ONCE => event?,
            else => break,
        };
        let Some(event) = event else {
            read_all = true;
            continue;
        };
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
                let repos = lacking.get(&digest).cloned().unwrap_or_default();
                let manifest = entry.media_type.is_some();
                jobs.push(job(pkgs, digest, size, body, manifest, repos, opts.dry_run));
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

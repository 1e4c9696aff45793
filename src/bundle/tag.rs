//! The last step of `opp import`, once the whole bundle was read and every blob checked:
//! each version's child manifests are stored and its tag written by push's rules (`merge`,
//! under push's write-and-verify loop), every version at once so that the loop's waits
//! overlap; then, as `opp push terraform-module` does, each Terraform module the bundle
//! touched gets `latest` pointed at its highest release in the target (not at the last one
//! imported).

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::BundleError;
use super::format::{BlobEntry, VersionEntry};
use super::merge::{Incoming, Outcome};
use crate::digest::Digest;
use crate::packages::Packages;
use crate::release::Ecosystem;
use crate::store::{OCI_IMAGE_INDEX, RawManifest};

/// Versions tagged at once: each mostly waits (push's verify wait), so many overlap well.
const TAG_AT_ONCE: usize = 32;
/// Child manifests of one version stored at once.
const CHILDREN_AT_ONCE: usize = 8;

/// What `opp import` was told.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    pub force: bool,
}

/// What happened to one version.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    /// `added`, `merged`, `replaced`, `skipped` (already there), `refused`; with --dry-run
    /// `added`, `skipped` or `merge` (the target holds other content: merged or refused on
    /// import).
    pub status: &'static str,
    /// `<store location of the repository>:<tag>` in the target.
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Terraform modules: `latest` points at this version after the import.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub latest: bool,
}

/// One version of the bundle and where it goes in the target.
pub(super) struct Planned {
    pub entry: VersionEntry,
    pub ecosystem: Ecosystem,
    /// Repository and tag in the target, or why the version cannot go there.
    pub place: std::result::Result<(String, String), String>,
}

/// The bundle's manifests, read whole from the tar, with their media types.
pub(super) struct Manifests<'a> {
    pub held: &'a HashMap<&'a Digest, &'a BlobEntry>,
    pub bytes: &'a HashMap<Digest, Bytes>,
}

impl Manifests<'_> {
    fn raw(&self, d: &Digest) -> RawManifest {
        RawManifest {
            media_type: self
                .held
                .get(d)
                .and_then(|b| b.media_type.clone())
                .unwrap_or_default(),
            digest: d.clone(),
            bytes: self.bytes.get(d).cloned().unwrap_or_default(),
        }
    }
}

/// Tags every planned version; returns the reports and what went wrong beside them (a module's
/// `latest` that could not be moved).
pub(super) async fn tag_all(
    pkgs: &Packages<'_>,
    planned: &[Planned],
    manifests: &Manifests<'_>,
    opts: Options,
) -> (Vec<Reported>, Vec<String>) {
    let tags: Vec<_> = planned
        .iter()
        .map(|p| tag_version(pkgs, p, manifests, opts))
        .collect();
    let mut reports: Vec<Reported> = stream::iter(tags).buffered(TAG_AT_ONCE).collect().await;
    let mut problems = Vec::new();
    if !opts.dry_run {
        problems = move_latest(pkgs, &mut reports).await;
    }
    (reports, problems)
}

/// Stores a version's child manifests and tags it by push's rules; reports the outcome.
async fn tag_version(
    pkgs: &Packages<'_>,
    p: &Planned,
    manifests: &Manifests<'_>,
    opts: Options,
) -> Reported {
    let report = |status: &'static str, location: String, reason: Option<String>| Reported {
        ecosystem: p.entry.ecosystem.clone(),
        package: p.entry.package.clone(),
        version: p.entry.version.clone(),
        status,
        location,
        reason,
        latest: false,
    };
    let (repo, tag) = match &p.place {
        Ok(place) => place,
        Err(why) => return report("refused", String::new(), Some(why.clone())),
    };
    let what = format!("{}:{tag}", pkgs.store.location(repo));
    if opts.dry_run {
        return match pkgs.store.resolve_digest(repo, tag).await {
            Ok(None) => report("added", what, None),
            Ok(Some(d)) if d == p.entry.manifest.digest => report("skipped", what, None),
            Ok(Some(_)) => report("merge", what, None),
            Err(e) => report("refused", what, Some(crate::error::reason(&e))),
        };
    }
    let result = async {
        store_children(pkgs, repo, &p.entry.manifests, manifests).await?;
        let incoming = Incoming::new(
            p.ecosystem,
            repo,
            &what,
            manifests.raw(&p.entry.manifest.digest),
            opts.force,
        );
        pkgs.settle(repo, tag, &what, &incoming).await?;
        Ok::<_, BundleError>(incoming.outcome())
    }
    .await;
    match result {
        Ok(Outcome::Added) => report("added", what, None),
        Ok(Outcome::Unchanged) => report("skipped", what, None),
        Ok(Outcome::Merged) => report("merged", what, None),
        Ok(Outcome::Replaced) => report("replaced", what, None),
        Err(e) => report("refused", what, Some(crate::error::reason(&e))),
    }
}

/// Stores child manifests (listed children before parents): image manifests name no
/// manifest, so they go at once; indexes follow, in order.
async fn store_children(
    pkgs: &Packages<'_>,
    repo: &str,
    children: &[Digest],
    manifests: &Manifests<'_>,
) -> Result<(), BundleError> {
    let (indexes, leaves): (Vec<RawManifest>, Vec<RawManifest>) = children
        .iter()
        .map(|d| manifests.raw(d))
        .partition(|m| m.media_type == OCI_IMAGE_INDEX);
    let puts: Vec<_> = leaves
        .iter()
        .map(|m| pkgs.store.push_manifest(repo, m, None))
        .collect();
    stream::iter(puts)
        .buffer_unordered(CHILDREN_AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;
    for m in &indexes {
        pkgs.store.push_manifest(repo, m, None).await?;
    }
    Ok(())
}

/// Points `latest` of every Terraform module the bundle tagged a version of at its highest
/// release in the target, as `opp push terraform-module` does; marks the version it points
/// at. Returns what could not be done.
async fn move_latest(pkgs: &Packages<'_>, reports: &mut [Reported]) -> Vec<String> {
    let module = Ecosystem::TerraformModule.as_str();
    let names: BTreeSet<String> = reports
        .iter()
        .filter(|r| r.ecosystem == module && r.status != "refused")
        .map(|r| r.package.clone())
        .collect();
    let moves: Vec<_> = names
        .iter()
        .map(|name| async move { (name, pkgs.settle_module_latest(name).await) })
        .collect();
    let moved: Vec<_> = stream::iter(moves).buffered(TAG_AT_ONCE).collect().await;
    let mut problems = Vec::new();
    for (name, result) in moved {
        match result {
            Ok(Some(highest)) => {
                for r in reports.iter_mut() {
                    if r.ecosystem == module
                        && r.package == *name
                        && r.status != "refused"
                        && semver::Version::parse(&r.version).ok().as_ref() == Some(&highest)
                    {
                        r.latest = true;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(format!(
                "`latest` of terraform-module {name} could not be moved: {}",
                crate::error::reason(&e)
            )),
        }
    }
    problems
}

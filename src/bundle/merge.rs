//! How an imported version joins what the target holds, by push's rules, under push's
//! write-and-verify loop (`packages::settle`): a version the target lacks is tagged with the
//! bundle's own manifest (the same bytes, the same digest as at the source); the same manifest
//! is a no-op; a bundle version holding every entry the target has replaces it with its own
//! manifest; otherwise PyPI, NuGet and RubyGems merge file by file (same bytes unchanged,
//! other bytes under a file refused unless forced), and Terraform providers and modules are
//! judged whole (the same files are "already there", other files refused unless forced, which
//! replaces the version).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::graph::references;
use crate::artifact::{self, ArtifactError, Kinds, Merged};
use crate::digest::Digest;
use crate::ecosystem::contract::Merge;
use crate::packages::settle::{Candidate, Step};
use crate::packages::{PackageError, Packages};
use crate::release::Ecosystem;
use crate::store::{RawManifest, StoreError};

/// What the first judgement found: what the report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The target had no such version.
    Added,
    /// The target had every file already.
    Unchanged,
    /// Files were added to a version the target had.
    Merged,
    /// Forced: other bytes replaced what the target had.
    Replaced,
}

/// One version of a bundle, to be tagged in the target.
pub struct Incoming<'a> {
    pub ecosystem: Ecosystem,
    pub repo: &'a str,
    pub what: &'a str,
    pub root: RawManifest,
    pub force: bool,
    outcome: Mutex<Option<Outcome>>,
}

impl<'a> Incoming<'a> {
    pub fn new(
        ecosystem: Ecosystem,
        repo: &'a str,
        what: &'a str,
        root: RawManifest,
        force: bool,
    ) -> Incoming<'a> {
        Incoming {
            ecosystem,
            repo,
            what,
            root,
            force,
            outcome: Mutex::new(None),
        }
    }

    /// What the first judgement found (`Unchanged` if none was made).
    pub fn outcome(&self) -> Outcome {
        self.outcome
            .lock()
            .ok()
            .and_then(|o| *o)
            .unwrap_or(Outcome::Unchanged)
    }

    fn record(&self, outcome: Outcome) {
        if let Ok(mut slot) = self.outcome.lock() {
            slot.get_or_insert(outcome);
        }
    }

    /// File-by-file merge (PyPI, NuGet, RubyGems).
    async fn merge(
        &self,
        pkgs: &Packages<'_>,
        kinds: &Kinds,
        current: &RawManifest,
    ) -> Result<Step, PackageError> {
        let existing = pkgs
            .entries_with_digests(kinds, self.repo, self.what, current)
            .await?;
        let index = artifact::parse_index(kinds, self.what, &self.root)?;
        // The bundle's version holds every stored entry (a delta after its base): its own
        // manifest is the merge, and the target ends as the source is.
        let ours: HashSet<&str> = index.manifests.iter().map(|e| e.digest.as_str()).collect();
        if existing
            .iter()
            .all(|(e, _)| ours.contains(e.digest.as_str()))
        {
            self.record(Outcome::Merged);
            return Ok(Step::Write(self.root.clone()));
        }
        let mut new = Vec::new();
        for entry in index.manifests {
            let file = pkgs
                .dist_file(kinds, self.repo, self.what, &entry, &|_| String::new())
                .await?;
            new.push((file.name, entry, file.digest));
        }
        let (entries, merged) = artifact::merge(kinds, existing, new, self.force)?;
        if merged.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
            self.record(Outcome::Unchanged);
            return Ok(Step::Present);
        }
        let replaced = merged.iter().any(|m| matches!(m, Merged::Replaced(_)));
        self.record(if replaced {
            Outcome::Replaced
        } else {
            Outcome::Merged
        });
        Ok(Step::Write(artifact::index(
            kinds,
            entries,
            &artifact::now_rfc3339(),
        )))
    }

    /// Whole-version judgement (Terraform providers and modules).
    async fn whole(
        &self,
        pkgs: &Packages<'_>,
        current: &RawManifest,
    ) -> Result<Step, PackageError> {
        let stored = files(pkgs, self.repo, current).await?;
        let ours = files(pkgs, self.repo, &self.root).await?;
        if stored == ours {
            self.record(Outcome::Unchanged);
            return Ok(Step::Present);
        }
        if !self.force {
            let (file, new) = ours
                .iter()
                .find(|(_, d)| !stored.values().any(|s| s == *d))
                .map(|(f, d)| (f.clone(), d.clone()))
                .unwrap_or_else(|| ("a file".to_owned(), self.root.digest.clone()));
            return Err(ArtifactError::VersionConflict {
                what: self.what.to_owned(),
                stored: stored.get(&file).cloned(),
                file,
                new,
            }
            .into());
        }
        self.record(Outcome::Replaced);
        Ok(Step::Write(self.root.clone()))
    }
}

#[async_trait]
impl Candidate for Incoming<'_> {
    async fn judge(
        &self,
        pkgs: &Packages<'_>,
        current: Option<&RawManifest>,
    ) -> Result<Step, PackageError> {
        let Some(current) = current else {
            self.record(Outcome::Added);
            return Ok(Step::Write(self.root.clone()));
        };
        if current.digest == self.root.digest {
            self.record(Outcome::Unchanged);
            return Ok(Step::Present);
        }
        match self.ecosystem.contract().merge {
            Merge::FileByFile(kinds) => self.merge(pkgs, kinds, current).await,
            Merge::Whole => self.whole(pkgs, current).await,
        }
    }
}

/// The files of a stored artifact: each layer's title (else its digest) and digest, over the
/// artifact and its child manifests (read from the target, where the bundle's were stored).
async fn files(
    pkgs: &Packages<'_>,
    repo: &str,
    root: &RawManifest,
) -> Result<BTreeMap<String, Digest>, PackageError> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.clone()];
    while let Some(node) = todo.pop() {
        let corrupt = |detail: String| StoreError::Corrupt {
            what: format!("manifest {}", node.digest),
            location: pkgs.store.location(repo),
            detail,
        };
        let refs = references(&node.bytes).map_err(corrupt)?;
        for (d, _) in &refs.children {
            todo.push(pkgs.store.fetch_manifest(repo, d).await?);
        }
        let titles = layer_titles(&node.bytes);
        for (d, _) in refs.blobs {
            let name = titles.get(&d).cloned().unwrap_or_else(|| d.to_string());
            out.insert(name, d);
        }
        if todo.len() > 10_000 {
            return Err(corrupt("too many child manifests".to_owned()).into());
        }
    }
    Ok(out)
}

/// `org.opencontainers.image.title` of each layer of a manifest, by digest.
fn layer_titles(bytes: &[u8]) -> BTreeMap<Digest, String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return BTreeMap::new();
    };
    value["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let digest = l["digest"].as_str()?.parse().ok()?;
            let title = l["annotations"][artifact::TITLE].as_str()?;
            Some((digest, title.to_owned()))
        })
        .collect()
}

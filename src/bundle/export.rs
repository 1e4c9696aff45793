//! `opp export`: the versions asked for, read from a store with everything they reference, and
//! written as a bundle. First every version's manifests are read (small; kept in memory) to
//! know the whole content, so `opp-bundle.json` can go first; then each blob streams from the
//! store into the tar once (verified against its digest as it is read), then the manifests,
//! children first, then `index.json`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::format::{
    BLOBS_DIR, BUNDLE_JSON, Base, BundleIndex, INDEX_JSON, OCI_LAYOUT, OCI_LAYOUT_BYTES, Root,
    VersionEntry, blob_path,
};
use super::graph::references;
use super::select::Item;
use super::write::TarOut;
use super::{BundleError, Result};
use crate::digest::Digest;
use crate::ecosystem;
use crate::mapper::Mapper;
use crate::output::Output;
use crate::release::Ecosystem;
use crate::store::{RawManifest, Store, StoreError};

/// One version as read: its entry, its manifests (root last), its other blobs with sizes.
type ReadVersion = (VersionEntry, Vec<RawManifest>, Vec<(Digest, u64)>);

/// Versions read at once.
const AT_ONCE: usize = 8;

/// A version chosen for export.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Chosen {
    pub ecosystem: Ecosystem,
    pub package: String,
    pub version: String,
}

/// The store an export reads from.
pub struct Source<'a> {
    pub store: &'a dyn Store,
    pub mapper: &'a Mapper,
}

impl Source<'_> {
    async fn versions(&self, eco: Ecosystem, package: &str) -> Result<Vec<String>> {
        let repo = self.mapper.repository(eco, package)?;
        let tags = self.store.list_tags(&repo).await?;
        let mut versions: Vec<String> = tags
            .iter()
            .filter_map(|t| self.mapper.version(eco, t))
            .collect();
        ecosystem::sort_newest_first(eco, &mut versions);
        versions.reverse();
        Ok(versions)
    }

    /// The stored versions each item admits; an item that admits none is an error.
    pub async fn choose(&self, items: &[Item]) -> Result<Vec<Chosen>> {
        let mut chosen = Vec::new();
        for item in items {
            let versions = self.versions(item.ecosystem, &item.package).await?;
            let location = self
                .store
                .location(&self.mapper.repository(item.ecosystem, &item.package)?);
            if versions.is_empty() {
                return Err(BundleError::NotFound(format!(
                    "no package `{}` in {location}",
                    item.package
                )));
            }
            let taken: Vec<&String> = versions.iter().filter(|v| item.filter.admits(v)).collect();
            if taken.is_empty() {
                return Err(BundleError::NotFound(format!(
                    "no stored version of `{}` matches `{}`; stored in {location}: {}",
                    item.package,
                    item.text,
                    versions.join(", ")
                )));
            }
            chosen.extend(taken.into_iter().map(|v| Chosen {
                ecosystem: item.ecosystem,
                package: item.package.clone(),
                version: v.clone(),
            }));
        }
        chosen.sort();
        chosen.dedup();
        Ok(chosen)
    }

    /// Every version of every package in the store.
    pub async fn choose_all(&self) -> Result<Vec<Chosen>> {
        let mut chosen = Vec::new();
        for eco in Ecosystem::ALL {
            let prefix = self.mapper.repository_prefix(eco);
            let mut packages: Vec<String> = self
                .store
                .list_repositories(&prefix)
                .await?
                .iter()
                .filter_map(|r| self.mapper.package(eco, r))
                .collect();
            packages.sort();
            packages.dedup();
            for package in packages {
                for version in self.versions(eco, &package).await? {
                    chosen.push(Chosen {
                        ecosystem: eco,
                        package: package.clone(),
                        version,
                    });
                }
            }
        }
        Ok(chosen)
    }

    /// Reads each chosen version's manifests: the versions as the bundle lists them, every
    /// digest's size (and media type for manifests), and the manifests' bytes.
    pub async fn collect(&self, chosen: &[Chosen]) -> Result<Collected> {
        let reads: Vec<_> = chosen.iter().map(|c| self.read_version(c)).collect();
        let read: Vec<ReadVersion> = stream::iter(reads).buffered(AT_ONCE).try_collect().await?;
        let mut collected = Collected::default();
        for (entry, manifests, blobs) in read {
            for (d, size) in blobs {
                collected.sizes.insert(d, (size, None));
            }
            for m in manifests {
                collected.sizes.insert(
                    m.digest.clone(),
                    (m.bytes.len() as u64, Some(m.media_type.clone())),
                );
                collected.manifests.insert(m.digest, m.bytes);
            }
            collected.versions.push(entry);
        }
        Ok(collected)
    }

    async fn read_version(&self, c: &Chosen) -> Result<ReadVersion> {
        let repo = self.mapper.repository(c.ecosystem, &c.package)?;
        let tag = self.mapper.tag(c.ecosystem, &c.version)?;
        let location = self.store.location(&repo);
        let root = self
            .store
            .resolve(&repo, &tag)
            .await?
            .ok_or_else(|| BundleError::NotFound(format!("no tag {tag} in {location}")))?;
        // Depth first, children before parents.
        let mut manifests: Vec<RawManifest> = Vec::new();
        let mut blobs: Vec<(Digest, u64)> = Vec::new();
        let mut seen: HashSet<Digest> = HashSet::new();
        self.walk(&repo, &root, &mut manifests, &mut blobs, &mut seen, 0)
            .await?;
        let artifact_type = serde_json::from_slice::<serde_json::Value>(&root.bytes)
            .ok()
            .and_then(|v| v.get("artifactType")?.as_str().map(str::to_owned));
        let entry = VersionEntry {
            ecosystem: c.ecosystem.as_str().to_owned(),
            package: c.package.clone(),
            version: c.version.clone(),
            repository: repo,
            tag,
            manifest: Root {
                media_type: root.media_type.clone(),
                digest: root.digest.clone(),
                size: root.bytes.len() as u64,
                artifact_type,
            },
            manifests: manifests.iter().map(|m| m.digest.clone()).collect(),
            blobs: blobs.iter().map(|(d, _)| d.clone()).collect(),
        };
        manifests.push(root);
        Ok((entry, manifests, blobs))
    }

    /// Adds what `node` references: child manifests (after their own references) and blobs.
    async fn walk(
        &self,
        repo: &str,
        node: &RawManifest,
        manifests: &mut Vec<RawManifest>,
        blobs: &mut Vec<(Digest, u64)>,
        seen: &mut HashSet<Digest>,
        depth: usize,
    ) -> Result<()> {
        let location = self.store.location(repo);
        let refs = references(&node.bytes).map_err(|detail| StoreError::Corrupt {
            what: format!("manifest {}", node.digest),
            location: location.clone(),
            detail,
        })?;
        if depth > 4 && !refs.children.is_empty() {
            return Err(BundleError::Invalid(format!(
                "manifest {} in {location} nests indexes deeper than any package layout",
                node.digest
            )));
        }
        for (d, size) in refs.blobs {
            if seen.insert(d.clone()) {
                blobs.push((d, size));
            }
        }
        for (d, _) in refs.children {
            if !seen.insert(d.clone()) {
                continue;
            }
            let child = self.store.fetch_manifest(repo, &d).await?;
            Box::pin(self.walk(repo, &child, manifests, blobs, seen, depth + 1)).await?;
            manifests.push(child);
        }
        Ok(())
    }
}

/// What [`Source::collect`] read.
#[derive(Debug, Default)]
pub struct Collected {
    pub versions: Vec<VersionEntry>,
    pub sizes: BTreeMap<Digest, (u64, Option<String>)>,
    pub manifests: HashMap<Digest, Bytes>,
}

/// What the bundle a delta builds on held, from its `opp-bundle.json`.
pub struct Since {
    pub base: Base,
    pub pairs: HashSet<(String, Digest)>,
}

impl Since {
    pub fn from_index_bytes(bytes: &[u8], path: &Path) -> Result<Since> {
        let index = BundleIndex::parse(bytes).map_err(|detail| BundleError::Damaged {
            path: path.display().to_string(),
            detail,
        })?;
        Ok(Since {
            base: Base {
                digest: Digest::of(bytes),
                created: index.created.clone(),
            },
            pairs: index.pairs(),
        })
    }
}

/// Writes a bundle of `collected` to `path`, leaving out what `since` held. Returns its index.
pub async fn write(
    source: &Source<'_>,
    collected: Collected,
    since: Option<Since>,
    path: &Path,
    out: &Output,
) -> Result<(BundleIndex, Bytes)> {
    let (base, leave_out) = match since {
        Some(s) => (Some(s.base), s.pairs),
        None => (None, HashSet::new()),
    };
    let index = BundleIndex::build(
        crate::artifact::now_rfc3339(),
        base,
        collected.versions,
        &collected.sizes,
        &leave_out,
    );
    let index_bytes = Bytes::from(index.to_bytes());
    let bundle_digest = Digest::of(&index_bytes);
    let mut tar = TarOut::create(path)?;
    tar.file(BUNDLE_JSON, index_bytes.clone()).await?;
    tar.file(OCI_LAYOUT, Bytes::from_static(OCI_LAYOUT_BYTES))
        .await?;
    tar.dir("blobs/").await?;
    tar.dir(BLOBS_DIR).await?;
    let bar = out.bar(&format!("export {}", path.display()), index.bytes());
    for blob in &index.blobs {
        let name = blob_path(&blob.digest);
        if blob.media_type.is_some() {
            let bytes = collected
                .manifests
                .get(&blob.digest)
                .cloned()
                .unwrap_or_default();
            bar.inc(bytes.len() as u64);
            tar.file(&name, bytes).await?;
            continue;
        }
        let repo = blob.repositories.first().map(String::as_str).unwrap_or("");
        let body = source
            .store
            .fetch_blob(repo, &blob.digest, blob.size)
            .await?;
        tar.stream(&name, blob.size, body, &bar).await?;
    }
    tar.file(INDEX_JSON, Bytes::from(index.layout_index(&bundle_digest)))
        .await?;
    tar.finish().await?;
    bar.finish_and_clear();
    Ok((index, index_bytes))
}

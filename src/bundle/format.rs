//! What a bundle says about itself, as values: `opp-bundle.json` (the versions it carries, per
//! ecosystem sizes, and every blob it holds with the repositories it belongs to), the
//! `index.json` of its OCI image layout, and the checks import makes on both. Pure: bytes and
//! values in, values out; the tar stream is `tarball`, moving bytes is `export` and `import`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::release::Ecosystem;
use crate::store::OCI_IMAGE_INDEX;

/// The `format` of the `opp-bundle.json` this module writes and reads.
pub const FORMAT: &str = "opp-bundle/v1";
/// The first entry of a bundle.
pub const BUNDLE_JSON: &str = "opp-bundle.json";
pub const OCI_LAYOUT: &str = "oci-layout";
/// The last entry of a bundle.
pub const INDEX_JSON: &str = "index.json";
/// Where blobs (and manifests, which are blobs too) live in the layout.
pub const BLOBS_DIR: &str = "blobs/sha256/";
/// The content of `oci-layout`.
pub const OCI_LAYOUT_BYTES: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The annotation naming a tag in an image layout's `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Entry annotations of `index.json`: what each tagged artifact is, so an importer maps it
/// through its own mapper.
pub const ECOSYSTEM: &str = "io.opp.bundle.ecosystem";
pub const PACKAGE: &str = "io.opp.bundle.package";
pub const VERSION: &str = "io.opp.bundle.version";
/// `index.json` annotation: the digest of the bundle's `opp-bundle.json`.
pub const BUNDLE_DIGEST: &str = "io.opp.bundle.digest";

/// `opp-bundle.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleIndex {
    pub format: String,
    /// RFC 3339, when the bundle was written.
    pub created: String,
    /// The bundle this one builds on (`opp export --since`): blobs it held are left out here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
    /// Per ecosystem name: what the bundle carries.
    pub ecosystems: BTreeMap<String, Summary>,
    /// Every version, each with every digest its artifact references (held here or not).
    pub versions: Vec<VersionEntry>,
    /// Every blob the tar holds, in tar order: file blobs, then manifests (children first).
    pub blobs: Vec<BlobEntry>,
}

/// The bundle a delta builds on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    /// sha256 of the base bundle's `opp-bundle.json`.
    pub digest: Digest,
    pub created: String,
}

/// What a bundle carries of one ecosystem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub packages: usize,
    pub versions: usize,
    /// Blobs held in the tar for this ecosystem's versions (a blob shared by two
    /// ecosystems counts in both).
    pub blobs: usize,
    pub bytes: u64,
}

/// One tagged artifact: a version of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The ecosystem's command-line name (`pypi`, `terraform-provider` ...).
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    /// Repository and tag in the store the bundle was exported from (`REPOSITORY:TAG` is the
    /// entry's `org.opencontainers.image.ref.name`); an importer maps the version itself.
    pub repository: String,
    pub tag: String,
    /// What the tag points at.
    pub manifest: Root,
    /// Child manifests, children before parents (the root is not among them).
    #[serde(default)]
    pub manifests: Vec<Digest>,
    /// Every other blob (configs, layers) the artifact references.
    #[serde(default)]
    pub blobs: Vec<Digest>,
}

/// The manifest or index a version's tag points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Root {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

/// One blob the tar holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobEntry {
    pub digest: Digest,
    pub size: u64,
    /// Set for manifests and indexes: their media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The (source) repositories this blob belongs to.
    pub repositories: Vec<String>,
}

impl VersionEntry {
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        parse_ecosystem(&self.ecosystem)
    }

    /// `ECOSYSTEM:PACKAGE@VERSION`, for messages.
    pub fn label(&self) -> String {
        format!("{}:{}@{}", self.ecosystem, self.package, self.version)
    }

    /// Every digest of the artifact: blobs, child manifests, the root.
    pub fn digests(&self) -> impl Iterator<Item = &Digest> {
        self.blobs
            .iter()
            .chain(self.manifests.iter())
            .chain(std::iter::once(&self.manifest.digest))
    }
}

/// An ecosystem by its command-line name.
pub fn parse_ecosystem(name: &str) -> Option<Ecosystem> {
    Ecosystem::ALL.into_iter().find(|e| e.as_str() == name)
}

impl BundleIndex {
    /// A bundle of `versions`, holding every blob they reference except the (repository,
    /// digest) pairs in `leave_out` (what a base bundle held). `sizes` gives each digest's
    /// size and, for manifests, media type; a version whose every digest is left out is left
    /// out itself.
    pub fn build(
        created: String,
        base: Option<Base>,
        versions: Vec<VersionEntry>,
        sizes: &BTreeMap<Digest, (u64, Option<String>)>,
        leave_out: &HashSet<(String, Digest)>,
    ) -> BundleIndex {
        let versions: Vec<VersionEntry> = versions
            .into_iter()
            .filter(|v| {
                !leave_out.contains(&(v.repository.clone(), v.manifest.digest.clone()))
                    || v.blobs
                        .iter()
                        .any(|d| !leave_out.contains(&(v.repository.clone(), d.clone())))
            })
            .collect();
        // Blobs first, then manifests children first: a reader meets every blob before the
        // manifests that name it.
        let mut order: Vec<Digest> = Vec::new();
        let mut repositories: BTreeMap<Digest, BTreeSet<String>> = BTreeMap::new();
        let mut add = |d: &Digest, repo: &str, order: &mut Vec<Digest>| {
            let repos = repositories.entry(d.clone()).or_default();
            if repos.is_empty() {
                order.push(d.clone());
            }
            repos.insert(repo.to_owned());
        };
        for v in &versions {
            for d in &v.blobs {
                if !leave_out.contains(&(v.repository.clone(), d.clone())) {
                    add(d, &v.repository, &mut order);
                }
            }
        }
        let mut manifests = Vec::new();
        for v in &versions {
            for d in v
                .manifests
                .iter()
                .chain(std::iter::once(&v.manifest.digest))
            {
                add(d, &v.repository, &mut manifests);
            }
        }
        let is_manifest: HashSet<&Digest> = manifests.iter().collect();
        order.retain(|d| !is_manifest.contains(d));
        order.extend(manifests.iter().cloned());
        let blobs: Vec<BlobEntry> = order
            .into_iter()
            .map(|digest| {
                let (size, media_type) = sizes.get(&digest).cloned().unwrap_or((0, None));
                BlobEntry {
                    repositories: repositories
                        .get(&digest)
                        .map(|r| r.iter().cloned().collect())
                        .unwrap_or_default(),
                    digest,
                    size,
                    media_type,
                }
            })
            .collect();
        let ecosystems = summarize(&versions, &blobs);
        BundleIndex {
            format: FORMAT.to_owned(),
            created,
            base,
            ecosystems,
            versions,
            blobs,
        }
    }

    /// Every (repository, digest) pair a store holds after importing this bundle: each
    /// version's whole artifact. `--since` leaves these out of the next bundle.
    pub fn pairs(&self) -> HashSet<(String, Digest)> {
        self.versions
            .iter()
            .flat_map(|v| v.digests().map(|d| (v.repository.clone(), d.clone())))
            .collect()
    }

    /// Total bytes of the blobs held.
    pub fn bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }

    /// Reads `opp-bundle.json`, refusing other formats.
    pub fn parse(bytes: &[u8]) -> Result<BundleIndex, String> {
        let index: BundleIndex =
            serde_json::from_slice(bytes).map_err(|e| format!("not an opp bundle index: {e}"))?;
        if index.format != FORMAT {
            return Err(format!(
                "format `{}` is not {FORMAT}; import it with the opp that exported it",
                index.format
            ));
        }
        for v in &index.versions {
            if v.ecosystem().is_none() {
                return Err(format!("unknown ecosystem `{}`", v.ecosystem));
            }
        }
        Ok(index)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings, numbers and digests always serialize.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The bundle's `index.json`: one entry per version, named `REPOSITORY:TAG` and annotated
    /// with ecosystem, package and version; the digest of `opp-bundle.json` as an annotation.
    pub fn layout_index(&self, bundle_digest: &Digest) -> Vec<u8> {
        let manifests: Vec<serde_json::Value> = self
            .versions
            .iter()
            .map(|v| {
                let mut entry = serde_json::json!({
                    "mediaType": v.manifest.media_type,
                    "digest": v.manifest.digest,
                    "size": v.manifest.size,
                    "annotations": {
                        REF_NAME: format!("{}:{}", v.repository, v.tag),
                        ECOSYSTEM: v.ecosystem,
                        PACKAGE: v.package,
                        VERSION: v.version,
                    },
                });
                if let Some(t) = &v.manifest.artifact_type {
                    entry["artifactType"] = serde_json::Value::String(t.clone());
                }
                entry
            })
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_IMAGE_INDEX,
            "manifests": manifests,
            "annotations": { BUNDLE_DIGEST: bundle_digest },
        });
        serde_json::to_vec_pretty(&index).unwrap_or_default()
    }

    /// Checks that a bundle's `index.json` is the one [`BundleIndex::layout_index`] writes for
    /// this `opp-bundle.json`: a byte changed in either shows here.
    pub fn check_layout_index(&self, bundle_digest: &Digest, bytes: &[u8]) -> Result<(), String> {
        let found: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let expected: serde_json::Value =
            serde_json::from_slice(&self.layout_index(bundle_digest)).unwrap_or_default();
        if found == expected {
            Ok(())
        } else {
            Err(format!("it does not match {BUNDLE_JSON}"))
        }
    }
}

fn summarize(versions: &[VersionEntry], blobs: &[BlobEntry]) -> BTreeMap<String, Summary> {
    let sizes: BTreeMap<&Digest, u64> = blobs.iter().map(|b| (&b.digest, b.size)).collect();
    let mut packages: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut held: BTreeMap<&str, BTreeSet<&Digest>> = BTreeMap::new();
    let mut out: BTreeMap<String, Summary> = BTreeMap::new();
    for v in versions {
        packages.entry(&v.ecosystem).or_default().insert(&v.package);
        out.entry(v.ecosystem.clone()).or_default().versions += 1;
        let set = held.entry(&v.ecosystem).or_default();
        set.extend(v.digests().filter(|d| sizes.contains_key(d)));
    }
    for (eco, summary) in &mut out {
        summary.packages = packages.get(eco.as_str()).map_or(0, BTreeSet::len);
        let set = held.get(eco.as_str());
        summary.blobs = set.map_or(0, BTreeSet::len);
        summary.bytes = set.map_or(0, |s| s.iter().map(|d| sizes[d]).sum());
    }
    out
}

/// The digest a layout entry `blobs/sha256/<hex>` names, if it is one.
pub fn blob_entry(name: &str) -> Option<Digest> {
    Digest::from_hex(name.strip_prefix(BLOBS_DIR)?).ok()
}

/// The entry name of a blob.
pub fn blob_path(digest: &Digest) -> String {
    format!("{BLOBS_DIR}{}", digest.hex())
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;

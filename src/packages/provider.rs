//! Terraform providers in a store, in OpenTofu's layout: the version's tag points at an image
//! index (`application/vnd.opentofu.provider`) with one `provider-target` manifest per
//! platform, each with the upstream zip as its one `archive/zip` layer. opp adds an entry
//! OpenTofu ignores (it selects entries by artifactType) holding SHA256SUMS and its
//! signature, the `h1:` hash of each zip as an entry annotation, and the plugin protocols as
//! an index annotation.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use oci_client::manifest::ImageIndexEntry;

use super::{CONCURRENCY, PackageError, Packages, Result};
use crate::artifact::{self, ArtifactError, FileSpec, Kinds, LayerSource, LayerSpec, Merged};
use crate::digest::Digest;
use crate::ecosystem::terraform_provider::ProviderRelease;
use crate::release::{Descriptor, DistFile, Ecosystem, Release};

pub const PROVIDER: Kinds = Kinds {
    index_artifact_type: "application/vnd.opentofu.provider",
    file_artifact_type: "application/vnd.opentofu.provider-target",
    layer_media_type: "archive/zip",
};
pub const CHECKSUMS_ARTIFACT_TYPE: &str = "application/vnd.opp.terraform.provider.checksums.v1";
pub const H1: &str = "io.opp.terraform.h1";
pub const PROTOCOLS: &str = "io.opp.terraform.protocols";

/// One stored provider version: its platform zips (platform, digest = `zh:`, `h1:`
/// annotation), the protocols, and the checksums file when opp pushed it.
#[derive(Debug, Clone)]
pub struct ProviderVersion {
    pub release: Release,
    pub protocols: Vec<String>,
    pub shasums: Option<DistFile>,
}

impl ProviderVersion {
    /// The `h1:` of a platform zip as recorded at push time.
    pub fn h1(file: &DistFile) -> Option<&str> {
        file.annotations.get(H1).map(String::as_str)
    }
}

async fn read_small(path: &std::path::Path) -> Result<Bytes> {
    tokio::fs::read(path)
        .await
        .map(Bytes::from)
        .map_err(super::io("cannot read", path))
}

impl Packages<'_> {
    /// Pushes a checked provider release as one version. Pushing the same zips again is a
    /// no-op; other zips under a stored version need `force`, which replaces the version.
    pub async fn push_provider(
        &self,
        name: &str,
        rel: &ProviderRelease,
        force: bool,
    ) -> Result<Vec<Merged>> {
        let eco = Ecosystem::TerraformProvider;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, &rel.version)?;
        let current = self.store.resolve(&repo, &tag).await?;
        if current.is_some() {
            let stored = self.provider_version(name, &rel.version).await?;
            let stored: BTreeMap<String, Digest> = stored
                .map(|v| {
                    v.release
                        .files
                        .into_iter()
                        .map(|f| (f.name, f.digest))
                        .collect()
                })
                .unwrap_or_default();
            let new: BTreeMap<String, Digest> = rel
                .platforms
                .iter()
                .map(|p| {
                    (
                        p.file_name.clone(),
                        Digest::from_hex(&p.sha256_hex).expect("sha256 hex from SHA256SUMS"),
                    )
                })
                .collect();
            if stored == new {
                return Ok(rel
                    .platforms
                    .iter()
                    .map(|p| Merged::Unchanged(p.file_name.clone()))
                    .collect());
            }
            if !force {
                let (file, stored_d, new_d) = new
                    .iter()
                    .find(|(f, d)| stored.get(*f) != Some(d))
                    .map(|(f, d)| (f.clone(), stored.get(f).cloned(), d.clone()))
                    .unwrap_or_else(|| {
                        let (f, d) = stored
                            .iter()
                            .next()
                            .expect("stored differs so is not empty");
                        (f.clone(), Some(d.clone()), d.clone())
                    });
                return Err(ArtifactError::VersionConflict {
                    what: format!("{}:{tag}", self.store.location(&repo)),
                    file,
                    stored: stored_d,
                    new: new_d,
                }
                .into());
            }
        }
        let created = artifact::now_rfc3339();
        let mut specs = Vec::new();
        for p in &rel.platforms {
            let digest = Digest::from_hex(&p.sha256_hex).expect("sha256 hex from SHA256SUMS");
            specs.push(FileSpec {
                file_name: p.file_name.clone(),
                artifact_type: PROVIDER.file_artifact_type,
                entry_artifact_type: Some(PROVIDER.file_artifact_type),
                layers: vec![LayerSpec {
                    descriptor: Descriptor {
                        media_type: PROVIDER.layer_media_type.to_owned(),
                        digest,
                        size: p.size,
                    },
                    title: Some(p.file_name.clone()),
                    source: LayerSource::File(p.path.clone()),
                }],
                metadata: None,
                platform: Some((p.os.clone(), p.arch.clone())),
                entry_annotations: BTreeMap::from([(H1.to_owned(), p.h1.clone())]),
            });
        }
        let mut layers = Vec::new();
        let sums = read_small(&rel.shasums).await?;
        layers.push(small_layer(&rel.shasums, "text/plain", sums));
        if let Some(sig) = &rel.shasums_sig {
            let bytes = read_small(sig).await?;
            layers.push(small_layer(sig, "application/pgp-signature", bytes));
        }
        specs.push(FileSpec {
            file_name: file_name_of(&rel.shasums),
            artifact_type: CHECKSUMS_ARTIFACT_TYPE,
            entry_artifact_type: Some(CHECKSUMS_ARTIFACT_TYPE),
            layers,
            metadata: None,
            platform: None,
            entry_annotations: BTreeMap::new(),
        });
        let built: Vec<artifact::FileArtifact> = specs
            .into_iter()
            .map(|s| artifact::file_manifest(s, &created))
            .collect();
        let refs: Vec<&artifact::FileArtifact> = built.iter().collect();
        self.upload(&repo, &refs).await?;
        let entries = built.iter().map(|a| a.entry(&created)).collect();
        let mut annotations = BTreeMap::new();
        if !rel.protocols.is_empty() {
            annotations.insert(PROTOCOLS.to_owned(), rel.protocols.join(","));
        }
        let index = artifact::index_with(&PROVIDER, entries, &created, annotations);
        let expected = current.map(|m| m.digest);
        if !self
            .store
            .push_manifest_if(&repo, &index, &tag, expected.as_ref())
            .await?
        {
            return Err(PackageError::Race {
                what: format!("{}:{tag}", self.store.location(&repo)),
            });
        }
        let verb = if expected.is_some() {
            Merged::Replaced
        } else {
            Merged::Added
        };
        Ok(rel
            .platforms
            .iter()
            .map(|p| verb(p.file_name.clone()))
            .collect())
    }

    /// One stored provider version, or `None` when it does not exist.
    pub async fn provider_version(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<ProviderVersion>> {
        let eco = Ecosystem::TerraformProvider;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let Some(raw) = self.store.resolve(&repo, &tag).await? else {
            return Ok(None);
        };
        let what = format!("{}:{tag}", self.store.location(&repo));
        let index = artifact::parse_index(&PROVIDER, &what, &raw)?;
        let provider_type = name.rsplit('/').next().unwrap_or(name).to_owned();
        let provider_type = provider_type.as_str();
        let entries: Vec<Option<(bool, DistFile)>> = stream::iter(index.manifests.iter().cloned())
            .map(|entry| self.provider_entry(&repo, &what, entry, provider_type, version))
            .buffered(CONCURRENCY * 2)
            .try_collect()
            .await?;
        let files: Vec<(bool, DistFile)> = entries.into_iter().flatten().collect();
        let annotations = index.annotations.unwrap_or_default();
        let protocols = annotations
            .get(PROTOCOLS)
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut shasums = None;
        let mut platforms = Vec::new();
        for (is_target, f) in files {
            if is_target {
                platforms.push(f);
            } else {
                shasums = Some(f);
            }
        }
        platforms.sort_by(|a, b| a.platform.cmp(&b.platform));
        Ok(Some(ProviderVersion {
            release: Release {
                ecosystem: eco,
                package: name.to_owned(),
                version: version.to_owned(),
                created: annotations.get(artifact::CREATED).cloned(),
                files: platforms,
            },
            protocols,
            shasums,
        }))
    }
}

impl Packages<'_> {
    /// One entry of a provider index: `(is a platform zip, the file)`, or `None` for entries
    /// opp does not know (other tools may add some).
    async fn provider_entry(
        &self,
        repo: &str,
        what: &str,
        entry: ImageIndexEntry,
        provider_type: &str,
        version: &str,
    ) -> Result<Option<(bool, DistFile)>> {
        let is_target = entry.artifact_type.as_deref() == Some(PROVIDER.file_artifact_type);
        let is_sums = entry.artifact_type.as_deref() == Some(CHECKSUMS_ARTIFACT_TYPE);
        if !is_target && !is_sums {
            return Ok(None);
        }
        let fallback = |(os, arch): &(String, String)| {
            crate::ecosystem::terraform_provider::zip_file_name(provider_type, version, os, arch)
        };
        let file = self.dist_file(repo, what, &entry, &fallback).await?;
        Ok(Some((is_target, file)))
    }
}

fn file_name_of(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn small_layer(path: &std::path::Path, media_type: &str, bytes: Bytes) -> LayerSpec {
    LayerSpec {
        descriptor: Descriptor {
            media_type: media_type.to_owned(),
            digest: Digest::of(&bytes),
            size: bytes.len() as u64,
        },
        title: Some(file_name_of(path)),
        source: LayerSource::Bytes(bytes),
    }
}

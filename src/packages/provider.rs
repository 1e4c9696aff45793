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

use async_trait::async_trait;

use super::settle::{Candidate, Step};
use super::{CONCURRENCY, PackageError, Packages, Result};
use crate::artifact::{self, ArtifactError, FileSpec, LayerSource, LayerSpec, Merged};
use crate::digest::Digest;
use crate::ecosystem::terraform_provider::{PlatformZip, ProviderRelease};
use crate::release::{Descriptor, DistFile, Ecosystem, Release};
use crate::store::RawManifest;

pub use crate::artifact::layouts::{CHECKSUMS_ARTIFACT_TYPE, H1, PROTOCOLS, PROVIDER};
/// Index annotations `opp mirror terraform-provider` adds (docs/formats.md, "Provenance").
pub const SIGNING_KEY_ID: &str = "io.opp.terraform.signing-key-id";
pub const SIGNING_KEY_USER: &str = "io.opp.terraform.signing-key-user";
pub const SIGNATURE: &str = "io.opp.terraform.signature";
pub const SOURCE: &str = "io.opp.terraform.source";
/// `registry` or `network-mirror`; absent on versions mirrored before it existed (registry).
pub const SOURCE_KIND: &str = "io.opp.terraform.source-kind";
/// The media type of the signing public key layer of the checksums entry.
pub const PGP_KEYS: &str = "application/pgp-keys";

/// What a mirror knows of where a version came from and who signed it, kept with the version:
/// the signing key as a layer of the checksums entry, the rest as index annotations.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The signing public key, ASCII-armored, and its layer's title.
    pub signing_key: Option<(String, Bytes)>,
    /// [`SIGNING_KEY_ID`], [`SIGNING_KEY_USER`], [`SIGNATURE`], [`SOURCE`].
    pub annotations: BTreeMap<String, String>,
}

/// One stored provider version: its platform zips (platform, digest = `zh:`, `h1:`
/// annotation), the protocols, and the checksums file when opp pushed it.
#[derive(Debug, Clone)]
pub struct ProviderVersion {
    pub release: Release,
    pub protocols: Vec<String>,
    pub shasums: Option<DistFile>,
    /// The index's annotations (provenance, protocols, creation time).
    pub annotations: BTreeMap<String, String>,
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

/// One push of a provider version, judged whole: the version is there when its platform zips
/// are these (file names and digests); other zips are a conflict unless forced.
struct WholeProvider<'a> {
    name: &'a str,
    version: &'a str,
    repo: &'a str,
    what: &'a str,
    want: BTreeMap<String, Digest>,
    index: RawManifest,
    force: bool,
}

impl WholeProvider<'_> {
    /// The platform zips stored under the tag now, or `None` when there is no version.
    async fn stored(
        &self,
        pkgs: &Packages<'_>,
        current: Option<&RawManifest>,
    ) -> Result<Option<BTreeMap<String, Digest>>> {
        let Some(raw) = current else {
            return Ok(None);
        };
        let v = pkgs
            .provider_version_from(self.name, self.version, self.repo, self.what, raw)
            .await?;
        Ok(Some(
            v.release
                .files
                .into_iter()
                .map(|f| (f.name, f.digest))
                .collect(),
        ))
    }
}

#[async_trait]
impl Candidate for WholeProvider<'_> {
    async fn judge(&self, pkgs: &Packages<'_>, current: Option<&RawManifest>) -> Result<Step> {
        match self.stored(pkgs, current).await? {
            Some(stored) if stored == self.want => Ok(Step::Present),
            Some(stored) if !self.force => Err(version_conflict(self.what, &stored, &self.want)),
            _ => Ok(Step::Write(self.index.clone())),
        }
    }
}

/// The error for a stored version whose zips are not these: the first file that differs.
fn version_conflict(
    what: &str,
    stored: &BTreeMap<String, Digest>,
    new: &BTreeMap<String, Digest>,
) -> PackageError {
    let differing = new
        .iter()
        .find(|(f, d)| stored.get(*f) != Some(d))
        .map(|(f, d)| (f.clone(), stored.get(f).cloned(), d.clone()));
    // Every new zip is stored: the stored version has more.
    let extra = || {
        stored
            .iter()
            .find(|(f, _)| !new.contains_key(*f))
            .map(|(f, d)| (f.clone(), Some(d.clone()), d.clone()))
    };
    let Some((file, stored_d, new_d)) = differing.or_else(extra) else {
        // Equal maps are no conflict; callers compare first.
        return PackageError::Race {
            what: what.to_owned(),
        };
    };
    ArtifactError::VersionConflict {
        what: what.to_owned(),
        file,
        stored: stored_d,
        new: new_d,
    }
    .into()
}

impl Packages<'_> {
    /// Pushes a checked provider release as one version. Pushing the same zips again is a
    /// no-op; other zips under a stored version need `force`, which replaces the version.
    /// Concurrent pushes of one version: with the same zips all succeed; with other zips one
    /// succeeds and the others fail with the conflict (see [`settle`](super::settle)).
    pub async fn push_provider(
        &self,
        name: &str,
        rel: &ProviderRelease,
        force: bool,
    ) -> Result<Vec<Merged>> {
        self.push_provider_with(name, rel, force, &Provenance::default())
            .await
    }

    /// [`push_provider`](Self::push_provider), keeping `provenance` with the version.
    pub async fn push_provider_with(
        &self,
        name: &str,
        rel: &ProviderRelease,
        force: bool,
        provenance: &Provenance,
    ) -> Result<Vec<Merged>> {
        let eco = Ecosystem::TerraformProvider;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, &rel.version)?;
        let what = format!("{}:{tag}", self.store.location(&repo));
        let mut want = BTreeMap::new();
        for p in &rel.platforms {
            want.insert(p.file_name.clone(), zip_digest(p)?);
        }
        let created = artifact::now_rfc3339();
        let (built, annotations) = artifacts(rel, provenance, &created).await?;
        let entries = built.iter().map(|a| a.entry(&PROVIDER, &created)).collect();
        let candidate = WholeProvider {
            name,
            version: &rel.version,
            repo: &repo,
            what: &what,
            want,
            index: artifact::index_with(&PROVIDER, entries, &created, annotations),
            force,
        };
        // What is stored decides the report, and a conflict fails before anything is uploaded.
        let current = self.read_tag_patiently(&repo, &tag).await?;
        let verb = match candidate.judge(self, current.as_ref()).await? {
            Step::Present => {
                return Ok(rel
                    .platforms
                    .iter()
                    .map(|p| Merged::Unchanged(p.file_name.clone()))
                    .collect());
            }
            Step::Write(_) if current.is_some() => Merged::Replaced,
            Step::Write(_) => Merged::Added,
        };
        let refs: Vec<&artifact::FileArtifact> = built.iter().collect();
        self.upload(&repo, &refs).await?;
        self.settle(&repo, &tag, &what, &candidate).await?;
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
        Ok(Some(
            self.provider_version_from(name, version, &repo, &what, &raw)
                .await?,
        ))
    }

    /// A provider version from its index (`raw`, what the tag points at).
    async fn provider_version_from(
        &self,
        name: &str,
        version: &str,
        repo: &str,
        what: &str,
        raw: &RawManifest,
    ) -> Result<ProviderVersion> {
        let eco = Ecosystem::TerraformProvider;
        let index = artifact::parse_index(&PROVIDER, what, raw)?;
        let provider_type = name.rsplit('/').next().unwrap_or(name).to_owned();
        let provider_type = provider_type.as_str();
        let entries: Vec<Option<(bool, DistFile)>> = stream::iter(index.manifests.iter().cloned())
            .map(|entry| self.provider_entry(repo, what, entry, provider_type, version))
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
        Ok(ProviderVersion {
            release: Release {
                ecosystem: eco,
                package: name.to_owned(),
                version: version.to_owned(),
                created: annotations.get(artifact::CREATED).cloned(),
                files: platforms,
            },
            protocols,
            shasums,
            annotations,
        })
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
        let file = self
            .dist_file(&PROVIDER, repo, what, &entry, &fallback)
            .await?;
        Ok(Some((is_target, file)))
    }
}

/// The file artifacts of a release (one per platform zip, then the checksums entry) and the
/// version's index annotations (protocols, provenance).
pub(super) async fn artifacts(
    rel: &ProviderRelease,
    provenance: &Provenance,
    created: &str,
) -> Result<(Vec<artifact::FileArtifact>, BTreeMap<String, String>)> {
    let mut specs = Vec::new();
    for p in &rel.platforms {
        specs.push(FileSpec {
            file_name: p.file_name.clone(),
            artifact_type: PROVIDER.file_artifact_type,
            entry_artifact_type: Some(PROVIDER.file_artifact_type),
            layers: vec![LayerSpec {
                descriptor: Descriptor {
                    media_type: PROVIDER.layer_media_type.to_owned(),
                    digest: zip_digest(p)?,
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
    if let Some((title, key)) = &provenance.signing_key {
        let mut layer = small_layer(&rel.shasums, PGP_KEYS, key.clone());
        layer.title = Some(title.clone());
        layers.push(layer);
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
        .map(|s| artifact::file_manifest(s, created))
        .collect();
    let mut annotations = BTreeMap::new();
    if !rel.protocols.is_empty() {
        annotations.insert(PROTOCOLS.to_owned(), rel.protocols.join(","));
    }
    annotations.extend(provenance.annotations.clone());
    Ok((built, annotations))
}

/// A zip's digest from its SHA256SUMS line (checked when the release was read).
fn zip_digest(p: &PlatformZip) -> Result<Digest> {
    Digest::from_hex(&p.sha256_hex).map_err(|e| {
        ArtifactError::Invalid {
            what: p.file_name.clone(),
            kind: "SHA256SUMS line",
            detail: e.to_string(),
        }
        .into()
    })
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

/// The contract's `read_release` (`ecosystem::contract`): the version's files (its
/// SHA256SUMS and protocols are what pull and the proxy read besides).
pub(crate) fn read_release<'a>(
    pkgs: &'a Packages<'a>,
    name: &'a str,
    version: &'a str,
) -> futures_util::future::BoxFuture<'a, Result<Option<Release>>> {
    Box::pin(async move {
        Ok(pkgs
            .provider_version(name, version)
            .await?
            .map(|v| v.release))
    })
}

/// The contract's `provenance` (`ecosystem::contract`): where `opp mirror` brought the version
/// from and whose signature it checked, as `opp show` prints it (`None`: pushed, not mirrored).
pub(crate) fn provenance<'a>(
    pkgs: &'a Packages<'a>,
    name: &'a str,
    version: &'a str,
) -> futures_util::future::BoxFuture<'a, Result<Option<String>>> {
    Box::pin(async move {
        Ok(pkgs
            .provider_version(name, version)
            .await?
            .and_then(|v| crate::mirror::terraform::provenance_line(&v.annotations)))
    })
}

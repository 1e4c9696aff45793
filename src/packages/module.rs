//! Terraform modules in a store, in OpenTofu's layout: the version's tag points straight at an
//! image manifest (`artifactType: application/vnd.opentofu.modulepkg`) whose one
//! `archive/zip` layer is the module, and `latest` follows the highest release.

use std::path::Path;

use serde::Deserialize;

use async_trait::async_trait;

use super::settle::{Candidate, Step};
use super::{PackageError, Packages, Result, copy_blob, io};
use crate::artifact::{self, ArtifactError, FileSpec, LayerSource, LayerSpec, Merged};
use crate::digest::Digest;
use crate::release::{Descriptor, DistFile, Ecosystem, Release};
use crate::store::{RawManifest, StoreError};

pub use crate::artifact::layouts::{
    LATEST, MODULE_ARTIFACT_TYPE, MODULE_SOURCE, MODULE_SUBDIR, ZIP_MEDIA_TYPE,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModuleManifest {
    artifact_type: Option<String>,
    layers: Vec<LayerView>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayerView {
    media_type: String,
    digest: String,
    size: i64,
}

/// The file name a module version's zip is stored under.
pub fn zip_name(name: &str, version: &str) -> String {
    format!("{}-{version}.zip", name.replace('/', "-"))
}

/// A module version from its manifest (`raw`, what the tag points at).
fn module_release_from(name: &str, version: &str, what: &str, raw: RawManifest) -> Result<Release> {
    let invalid = |detail: String| ArtifactError::Invalid {
        what: what.to_owned(),
        kind: "OpenTofu module manifest",
        detail,
    };
    let m: ModuleManifest =
        serde_json::from_slice(&raw.bytes).map_err(|e| invalid(e.to_string()))?;
    if m.artifact_type.as_deref() != Some(MODULE_ARTIFACT_TYPE) {
        return Err(ArtifactError::WrongType {
            what: what.to_owned(),
            found: m.artifact_type,
            expected: MODULE_ARTIFACT_TYPE,
        }
        .into());
    }
    let zips: Vec<&LayerView> = m
        .layers
        .iter()
        .filter(|l| l.media_type == ZIP_MEDIA_TYPE)
        .collect();
    let [layer] = zips[..] else {
        return Err(invalid(format!(
            "expected one {ZIP_MEDIA_TYPE} layer, found {}",
            zips.len()
        ))
        .into());
    };
    let digest: Digest = layer
        .digest
        .parse()
        .map_err(|e: crate::digest::DigestParseError| invalid(e.to_string()))?;
    let file = DistFile {
        name: zip_name(name, version),
        digest,
        size: layer.size.max(0) as u64,
        platform: None,
        manifest: raw.digest,
        metadata: None,
        extra_layers: Vec::new(),
        // What `opp mirror terraform-module` recorded, for the proxy and `opp show`.
        annotations: m
            .annotations
            .iter()
            .filter(|(k, _)| [MODULE_SUBDIR, MODULE_SOURCE].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    Ok(Release {
        ecosystem: Ecosystem::TerraformModule,
        package: name.to_owned(),
        version: version.to_owned(),
        created: m.annotations.get(artifact::CREATED).cloned(),
        files: vec![file],
    })
}

/// One push of a module version, judged whole: there when the stored zip is this one.
struct WholeModule<'a> {
    name: &'a str,
    version: &'a str,
    what: &'a str,
    digest: Digest,
    manifest: RawManifest,
    force: bool,
}

#[async_trait]
impl Candidate for WholeModule<'_> {
    async fn judge(&self, _: &Packages<'_>, current: Option<&RawManifest>) -> Result<Step> {
        let Some(raw) = current else {
            return Ok(Step::Write(self.manifest.clone()));
        };
        let stored = module_release_from(self.name, self.version, self.what, raw.clone())?;
        let stored = &stored.files[0].digest;
        if *stored == self.digest {
            Ok(Step::Present)
        } else if self.force {
            Ok(Step::Write(self.manifest.clone()))
        } else {
            Err(ArtifactError::Conflict {
                file: zip_name(self.name, self.version),
                stored: stored.clone(),
                new: self.digest.clone(),
            }
            .into())
        }
    }
}

/// `latest` of a module: there when it points at the manifest of the highest release stored
/// now, whichever push wrote that release; so concurrent pushes never leave it behind.
struct Latest<'a> {
    name: &'a str,
    repo: &'a str,
    /// The highest release seen by the last judgement.
    highest: std::sync::Mutex<Option<semver::Version>>,
}

#[async_trait]
impl Candidate for Latest<'_> {
    async fn judge(&self, pkgs: &Packages<'_>, current: Option<&RawManifest>) -> Result<Step> {
        let eco = Ecosystem::TerraformModule;
        let highest = pkgs
            .versions(eco, self.name)
            .await?
            .iter()
            .filter_map(|s| semver::Version::parse(s).ok().map(|v| (v, s.clone())))
            .filter(|(v, _)| v.pre.is_empty())
            .max_by(|a, b| a.0.cmp(&b.0));
        if let Ok(mut h) = self.highest.lock() {
            *h = highest.as_ref().map(|(v, _)| v.clone());
        }
        let Some((_, version)) = highest else {
            return Ok(Step::Present);
        };
        let tag = pkgs.mapper.tag(eco, &version)?;
        let Some(wanted) = pkgs.read_tag_patiently(self.repo, &tag).await? else {
            return Ok(Step::Present); // deleted meanwhile: nothing to point at
        };
        if current.is_some_and(|c| c.digest == wanted.digest) {
            Ok(Step::Present)
        } else {
            Ok(Step::Write(wanted))
        }
    }
}

/// What [`Packages::push_module`] did.
#[derive(Debug)]
pub struct ModulePushed {
    pub outcome: Merged,
    /// Whether `latest` now points at this version.
    pub latest: bool,
    /// The zip's digest and size.
    pub digest: Digest,
    pub size: u64,
}

impl Packages<'_> {
    /// One module version (its zip as the only file), or `None` when it does not exist.
    pub async fn module_release(&self, name: &str, version: &str) -> Result<Option<Release>> {
        let eco = Ecosystem::TerraformModule;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let Some(raw) = self.store.resolve(&repo, &tag).await? else {
            return Ok(None);
        };
        let what = format!("{}:{tag}", self.store.location(&repo));
        Ok(Some(module_release_from(name, version, &what, raw)?))
    }

    /// Pushes a module zip as one version; moves `latest` when it is the highest release.
    /// The zip is read once to hash it (its digest and size come back in the report) and
    /// once more as it is uploaded.
    /// The same zip again is a no-op; another zip under a stored version needs `force`.
    /// Concurrent pushes of one version: with the same zip all succeed, with other zips one
    /// succeeds and the others fail with the conflict; `latest` ends at the highest release
    /// whatever the order of concurrent pushes (see [`settle`](super::settle)).
    pub async fn push_module(
        &self,
        name: &str,
        version: &str,
        zip: &Path,
        force: bool,
    ) -> Result<ModulePushed> {
        self.push_module_with(name, version, zip, force, Default::default())
            .await
    }

    /// [`Self::push_module`] with `annotations` on the version's manifest (a mirrored module's
    /// [`MODULE_SOURCE`] and [`MODULE_SUBDIR`]).
    pub async fn push_module_with(
        &self,
        name: &str,
        version: &str,
        zip: &Path,
        force: bool,
        annotations: std::collections::BTreeMap<String, String>,
    ) -> Result<ModulePushed> {
        let eco = Ecosystem::TerraformModule;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let what = format!("{}:{tag}", self.store.location(&repo));
        let (digest, size) = super::hash_file(zip).await?;
        let zip_digest = digest.clone();
        let report = |outcome, latest| ModulePushed {
            outcome,
            latest,
            digest: zip_digest.clone(),
            size,
        };
        let file_name = zip_name(name, version);
        let spec = FileSpec {
            file_name: file_name.clone(),
            artifact_type: MODULE_ARTIFACT_TYPE,
            entry_artifact_type: None,
            layers: vec![LayerSpec {
                descriptor: Descriptor {
                    media_type: ZIP_MEDIA_TYPE.to_owned(),
                    digest: digest.clone(),
                    size,
                },
                title: Some(file_name.clone()),
                source: LayerSource::File(zip.to_owned()),
            }],
            metadata: None,
            platform: None,
            entry_annotations: Default::default(),
        };
        let a = artifact::file_manifest_annotated(spec, &artifact::now_rfc3339(), annotations);
        let candidate = WholeModule {
            name,
            version,
            what: &what,
            digest,
            manifest: a.manifest.clone(),
            force,
        };
        // What is stored decides the report, and a conflict fails before anything is uploaded.
        let current = self.read_tag_patiently(&repo, &tag).await?;
        let outcome = match candidate.judge(self, current.as_ref()).await? {
            Step::Present => return Ok(report(Merged::Unchanged(file_name), false)),
            Step::Write(_) if current.is_some() => Merged::Replaced(file_name),
            Step::Write(_) => Merged::Added(file_name),
        };
        self.upload(&repo, &[&a]).await?;
        self.settle(&repo, &tag, &what, &candidate).await?;
        // `latest` follows the highest release (pre-releases never move it).
        let Some(ours) = semver::Version::parse(version)
            .ok()
            .filter(|v| v.pre.is_empty())
        else {
            return Ok(report(outcome, false));
        };
        let highest = self.settle_module_latest(name).await?;
        Ok(report(outcome, highest.as_ref() == Some(&ours)))
    }

    /// Points `latest` of module `name` at its highest release stored now (pre-releases never
    /// count), under the write-and-verify loop; returns that release (`None`: there is none,
    /// and `latest` is left alone). Push and import both end with it.
    pub async fn settle_module_latest(&self, name: &str) -> Result<Option<semver::Version>> {
        let repo = self.mapper.repository(Ecosystem::TerraformModule, name)?;
        let latest = Latest {
            name,
            repo: &repo,
            highest: std::sync::Mutex::new(None),
        };
        let what_latest = format!("{}:{LATEST}", self.store.location(&repo));
        self.settle(&repo, LATEST, &what_latest, &latest).await?;
        Ok(latest.highest.lock().map(|h| h.clone()).unwrap_or(None))
    }

    /// Downloads a module version's zip into a temporary file in `scratch` (checked against
    /// its digest) and returns its path.
    pub async fn fetch_module_zip(
        &self,
        name: &str,
        file: &DistFile,
        scratch: &Path,
    ) -> Result<std::path::PathBuf> {
        let repo = self.mapper.repository(Ecosystem::TerraformModule, name)?;
        let path = scratch.join(&file.name);
        let mut reader = self
            .store
            .fetch_blob(&repo, &file.digest, file.size)
            .await?;
        let mut out = tokio::fs::File::create(&path)
            .await
            .map_err(io("cannot create", &path))?;
        copy_blob(&mut reader, &mut out).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                PackageError::Store(StoreError::Corrupt {
                    what: file.name.clone(),
                    location: self.store.location(&repo),
                    detail: e.to_string(),
                })
            } else {
                PackageError::Io {
                    action: "cannot download",
                    path: file.name.clone(),
                    source: e,
                }
            }
        })?;
        Ok(path)
    }
}

/// The contract's `read_release` (`ecosystem::contract`).
pub(crate) fn read_release<'a>(
    pkgs: &'a Packages<'a>,
    name: &'a str,
    version: &'a str,
) -> futures_util::future::BoxFuture<'a, Result<Option<Release>>> {
    Box::pin(pkgs.module_release(name, version))
}

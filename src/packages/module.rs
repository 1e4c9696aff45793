//! Terraform modules in a store, in OpenTofu's layout: the version's tag points straight at an
//! image manifest (`artifactType: application/vnd.opentofu.modulepkg`) whose one
//! `archive/zip` layer is the module, and `latest` follows the highest release.

use std::path::Path;

use serde::Deserialize;

use super::{PackageError, Packages, Result, copy_blob, io};
use crate::artifact::{self, ArtifactError, FileSpec, LayerSource, LayerSpec, Merged};
use crate::digest::Digest;
use crate::release::{Descriptor, DistFile, Ecosystem, Release};
use crate::store::StoreError;

pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
pub const ZIP_MEDIA_TYPE: &str = "archive/zip";
pub const LATEST: &str = "latest";

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
        let invalid = |detail: String| ArtifactError::Invalid {
            what: what.clone(),
            kind: "OpenTofu module manifest",
            detail,
        };
        let m: ModuleManifest =
            serde_json::from_slice(&raw.bytes).map_err(|e| invalid(e.to_string()))?;
        if m.artifact_type.as_deref() != Some(MODULE_ARTIFACT_TYPE) {
            return Err(ArtifactError::WrongType {
                what: what.clone(),
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
            annotations: Default::default(),
        };
        Ok(Some(Release {
            ecosystem: eco,
            package: name.to_owned(),
            version: version.to_owned(),
            created: m.annotations.get(artifact::CREATED).cloned(),
            files: vec![file],
        }))
    }

    /// Pushes a module zip as one version; moves `latest` when it is the highest release.
    /// The same zip again is a no-op; another zip under a stored version needs `force`.
    pub async fn push_module(
        &self,
        name: &str,
        version: &str,
        zip: &Path,
        force: bool,
    ) -> Result<(Merged, bool)> {
        let eco = Ecosystem::TerraformModule;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let (digest, size) = super::hash_file(zip).await?;
        let file_name = zip_name(name, version);
        let current = self.store.resolve(&repo, &tag).await?;
        let mut outcome = Merged::Added(file_name.clone());
        if current.is_some() {
            let stored = self
                .module_release(name, version)
                .await?
                .map(|r| r.files[0].digest.clone());
            match stored {
                Some(d) if d == digest => return Ok((Merged::Unchanged(file_name), false)),
                Some(d) if !force => {
                    return Err(ArtifactError::Conflict {
                        file: file_name,
                        stored: d,
                        new: digest,
                    }
                    .into());
                }
                _ => outcome = Merged::Replaced(file_name.clone()),
            }
        }
        let spec = FileSpec {
            file_name: file_name.clone(),
            artifact_type: MODULE_ARTIFACT_TYPE,
            entry_artifact_type: None,
            layers: vec![LayerSpec {
                descriptor: Descriptor {
                    media_type: ZIP_MEDIA_TYPE.to_owned(),
                    digest,
                    size,
                },
                title: Some(file_name.clone()),
                source: LayerSource::File(zip.to_owned()),
            }],
            metadata: None,
            platform: None,
            entry_annotations: Default::default(),
        };
        let a = artifact::file_manifest(spec, &artifact::now_rfc3339());
        self.upload(&repo, &[&a]).await?;
        let expected = current.map(|m| m.digest);
        if !self
            .store
            .push_manifest_if(&repo, &a.manifest, &tag, expected.as_ref())
            .await?
        {
            return Err(PackageError::Race {
                what: format!("{}:{tag}", self.store.location(&repo)),
            });
        }
        // `latest` follows the highest release (pre-releases never move it).
        let parsed = semver::Version::parse(version).ok();
        let mut moved = false;
        if let Some(v) = parsed.filter(|v| v.pre.is_empty()) {
            let highest = self
                .versions(eco, name)
                .await?
                .iter()
                .filter_map(|s| semver::Version::parse(s).ok())
                .filter(|x| x.pre.is_empty())
                .max();
            if highest.as_ref().is_none_or(|h| *h <= v) {
                self.store
                    .push_manifest(&repo, &a.manifest, Some(LATEST))
                    .await?;
                moved = true;
            }
        }
        Ok((outcome, moved))
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

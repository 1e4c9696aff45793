//! Gems in a store: push described gems (one index per version, one entry per platform gem,
//! each manifest holding the `.gem` and its [`GemInfo`] JSON), read a version back, and read
//! a gem's info layer without downloading the gem. Shared by the commands and the proxy;
//! reading `.gem` files is `ecosystem::rubygems`.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{PackageError, Packages, Pushed, Result};
use crate::artifact::{self, ArtifactError, FileSpec, LayerSource, LayerSpec};
use crate::digest::Digest;
use crate::ecosystem::rubygems::{Gem, GemInfo};
use crate::mapper::Mapper;
use crate::release::{Descriptor, DistFile, Ecosystem, Release};

/// The largest info layer opp reads (a description is the only long part of one).
const MAX_INFO: u64 = 4 * 1024 * 1024;

impl Packages<'_> {
    /// Pushes described gems, grouped into one index per version (one entry per platform).
    /// `info.sha256` must be the gem's; [`crate::ecosystem::rubygems::describe`] fills it.
    pub async fn push_rubygems(&self, gems: Vec<Gem>, force: bool) -> Result<Vec<Pushed>> {
        let eco = Ecosystem::Rubygems;
        let mut groups: BTreeMap<(String, String), Vec<FileSpec>> = BTreeMap::new();
        for gem in gems {
            let name = Mapper::normalize_package(eco, &gem.info.name)?;
            let version = Mapper::normalize_version(eco, &gem.info.version)?;
            groups
                .entry((name, version))
                .or_default()
                .push(gem_spec(&gem)?);
        }
        self.push_versions(eco, &artifact::RUBYGEMS, groups, force)
            .await
    }

    /// One version of a gem as stored (every platform), or `None` when it does not exist.
    /// `name` is the gem name (any case).
    pub async fn gem_release(&self, name: &str, version: &str) -> Result<Option<Release>> {
        let eco = Ecosystem::Rubygems;
        let name = Mapper::normalize_package(eco, name)?;
        let fallback = |_: &(String, String)| format!("{name}-{version}.gem");
        self.release(eco, &artifact::RUBYGEMS, &name, version, &fallback)
            .await
    }

    /// The [`GemInfo`] stored beside one gem of a release of `name`.
    pub async fn gem_info(&self, name: &str, file: &DistFile) -> Result<GemInfo> {
        let eco = Ecosystem::Rubygems;
        let repo = self.mapper.repository(eco, name)?;
        let what = format!("{} in {}", file.name, self.store.location(&repo));
        let invalid = |detail: String| {
            PackageError::Artifact(ArtifactError::Invalid {
                what: what.clone(),
                kind: "gem info layer",
                detail,
            })
        };
        let layer = file
            .extra_layers
            .iter()
            .find(|l| l.media_type == artifact::RUBYGEMS_INFO)
            .ok_or_else(|| ArtifactError::Unusable {
                what: what.clone(),
                kind: "gem info layer",
                detail: format!("the manifest has no {} layer", artifact::RUBYGEMS_INFO),
                hint: "push the gem again with opp",
            })?;
        let bytes = self
            .read_small_blob(&repo, layer, MAX_INFO, &what, "gem info layer")
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))
    }
}

/// The index entry of one gem: the `.gem`, then its info JSON; no OCI platform, the gem
/// platform as annotation.
#[expect(
    clippy::expect_used,
    reason = "GemInfo holds strings and lists only: serializing it cannot fail"
)]
fn gem_spec(gem: &Gem) -> Result<FileSpec> {
    let digest = Digest::from_hex(&gem.info.sha256).map_err(|e| {
        PackageError::Artifact(ArtifactError::Invalid {
            what: gem.file_name.clone(),
            kind: "gem description",
            detail: format!("its sha256 is not set: {e}"),
        })
    })?;
    let info = Bytes::from(serde_json::to_vec(&gem.info).expect("gem info serializes"));
    Ok(FileSpec {
        file_name: gem.file_name.clone(),
        artifact_type: artifact::RUBYGEMS.file_artifact_type,
        entry_artifact_type: Some(artifact::RUBYGEMS.file_artifact_type),
        layers: vec![
            LayerSpec {
                descriptor: Descriptor {
                    media_type: artifact::RUBYGEMS.layer_media_type.to_owned(),
                    digest,
                    size: gem.size,
                },
                title: Some(gem.file_name.clone()),
                source: LayerSource::File(gem.path.clone()),
            },
            LayerSpec {
                descriptor: Descriptor {
                    media_type: artifact::RUBYGEMS_INFO.to_owned(),
                    digest: Digest::of(&info),
                    size: info.len() as u64,
                },
                title: None,
                source: LayerSource::Bytes(info),
            },
        ],
        metadata: None,
        platform: None,
        entry_annotations: BTreeMap::from([(
            artifact::RUBYGEMS_PLATFORM.to_owned(),
            gem.info.platform.clone(),
        )]),
    })
}

/// The contract's `read_release` (`ecosystem::contract`).
pub(crate) fn read_release<'a>(
    pkgs: &'a Packages<'a>,
    name: &'a str,
    version: &'a str,
) -> futures_util::future::BoxFuture<'a, Result<Option<Release>>> {
    Box::pin(pkgs.gem_release(name, version))
}

//! Where mirrored provider files go: the store, through `opp push terraform-provider`'s path
//! (OpenTofu's layout, the checksums entry, the `h1:` of each
//! zip), with the version's provenance. The platforms a stored version lacks are added to it
//! (`Packages::add_provider_platforms`); the ones it holds with the same bytes are not fetched
//! again. A version is pushed whole or not at all: when a zip of the plan failed (or the store
//! holds one of its platforms, or its `SHA256SUMS`, with other bytes), nothing is written.
//! A version from a network mirror comes without `SHA256SUMS`: each zip is checked against
//! the mirror's and the lock file's hashes here (its `h1:` needs the whole zip), and an
//! `SHA256SUMS` of the checked zips is written for the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::plan::VersionMeta;
use super::signature::Signer;
use super::verify;
use crate::artifact::Merged;
use crate::ecosystem::terraform_provider::{PlatformZip, ProviderRelease, h1_of_zip_file};
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;
use crate::packages::provider::ProviderVersion;
use crate::release::DistFile;

pub struct ProviderSink<'a> {
    pub packages: Packages<'a>,
    /// (stored name, version) -> what to push.
    pub versions: BTreeMap<(String, String), VersionMeta>,
    /// (stored name, version) -> who signed its `SHA256SUMS`, for the versions whose
    /// signature the sink checked.
    pub signers: std::sync::Mutex<BTreeMap<(String, String), Signer>>,
}

impl<'a> ProviderSink<'a> {
    pub fn new(packages: Packages<'a>, versions: BTreeMap<(String, String), VersionMeta>) -> Self {
        ProviderSink {
            packages,
            versions,
            signers: std::sync::Mutex::default(),
        }
    }
}

fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

#[async_trait::async_trait]
impl Sink for ProviderSink<'_> {
    fn ecosystem(&self) -> crate::release::Ecosystem {
        crate::release::Ecosystem::TerraformProvider
    }

    /// The stored zips (a platform stored with the same bytes is not fetched again), and the
    /// stored `SHA256SUMS` when the version holds every zip of the plan (so nothing is
    /// fetched); otherwise the checksums are fetched, to check the new zips against.
    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let Some(stored) = self
            .packages
            .provider_version(package, version)
            .await
            .map_err(chain)?
        else {
            return Ok(BTreeMap::new());
        };
        let mut files: BTreeMap<String, String> = stored
            .release
            .files
            .into_iter()
            .map(|f| (f.name, f.digest.hex().to_owned()))
            .collect();
        let whole = self
            .versions
            .get(&(package.to_owned(), version.to_owned()))
            .is_some_and(|meta| meta.zips.keys().all(|z| files.contains_key(z)));
        if whole && let Some(sums) = stored.shasums {
            files.insert(sums.name, sums.digest.hex().to_owned());
        }
        Ok(files)
    }

    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>> {
        let Some(first) = files.first() else {
            return Vec::new();
        };
        let key = (first.0.package.clone(), first.0.version.clone());
        let Some(meta) = self.versions.get(&key) else {
            let why = format!("{} {} was not planned", key.0, key.1);
            return files.iter().map(|_| Err(why.clone())).collect();
        };
        match self.push_version(meta, &files).await {
            Ok(added) => files
                .iter()
                .map(|(f, _)| Ok(added.contains(&f.file_name)))
                .collect(),
            Err(why) => files.iter().map(|_| Err(why.clone())).collect(),
        }
    }
}

impl ProviderSink<'_> {
    /// Pushes the arrived files of one version, adding its new platforms to what is stored:
    /// the names of the files it added ([`added_files`]); the others arrived were stored
    /// already with the same bytes. Nothing is stored unless every zip of the plan either
    /// arrived and passed the checks or is stored already with the bytes planned.
    async fn push_version(
        &self,
        meta: &VersionMeta,
        files: &[(PlanFile, PathBuf)],
    ) -> Result<BTreeSet<String>, String> {
        let path_of = |name: &str| {
            files
                .iter()
                .find(|(f, _)| f.file_name == name)
                .map(|(_, p)| p.clone())
        };
        let zips: Vec<&(PlanFile, PathBuf)> = files
            .iter()
            .filter(|(f, _)| meta.zips.contains_key(&f.file_name))
            .collect();
        if zips.is_empty() {
            // Every zip was already stored: the checksums came along with them.
            return Ok(BTreeSet::new());
        }
        let stored = self
            .packages
            .provider_version(&meta.name, &meta.version)
            .await
            .map_err(chain)?;
        let stored_files = stored.map(|v| v.release.files).unwrap_or_default();
        let stored_hex = |name: &str| {
            stored_files
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.digest.hex())
        };
        let missing: Vec<&str> = meta
            .zips
            .keys()
            .filter(|z| !zips.iter().any(|(f, _)| &f.file_name == *z))
            .filter(|z| !stored_as_planned(meta, z, &stored_files))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "not stored: {} of {} {} failed, and a version is stored whole",
                missing.join(", "),
                meta.name,
                meta.version
            ));
        }
        // SHA256SUMS came with the zips: its signature and the zips are checked before anything
        // is pushed.
        let mut provenance = meta.provenance.clone();
        if let Some(checks) = &meta.unverified {
            let (Some(sums), Some(sig)) = (path_of(&meta.sums_name), path_of(&meta.sig_name))
            else {
                return Err(format!(
                    "{} or its signature did not arrive",
                    meta.sums_name
                ));
            };
            let what = format!("{} {}", meta.name, meta.version);
            let verified = verify::verify_files(
                &what,
                &sums,
                &sig,
                &meta.sig_name,
                &checks.keys,
                checks.skip_signature,
            )
            .and_then(|v| {
                verify::check_zips(
                    &what,
                    &meta.sums_name,
                    &v.sums,
                    &meta.zip_sha256,
                    &checks.locked_zh,
                )?;
                Ok(v)
            })
            .map_err(chain)?;
            tracing::debug!("{what}: SHA256SUMS and its signature checked");
            provenance =
                verify::signed_provenance(provenance, verified.signer.as_ref(), &meta.sums_name);
            if let (Some(signer), Ok(mut signers)) = (verified.signer, self.signers.lock()) {
                signers.insert((meta.name.clone(), meta.version.clone()), signer);
            }
        }
        // The zips of new platforms go into the store while their h1: is computed, unless a
        // check still needs the h1: (a lock file's, a network mirror's).
        let preload: Vec<(PathBuf, String, u64)> =
            if meta.mirror.is_none() && meta.locked_h1.is_empty() {
                let mut preload = Vec::new();
                for (f, path) in zips
                    .iter()
                    .filter(|(f, _)| stored_hex(&f.file_name).is_none())
                {
                    if let (Some(hex), Ok(m)) = (&f.sha256, tokio::fs::metadata(path).await) {
                        preload.push((path.clone(), hex.clone(), m.len()));
                    }
                }
                preload
            } else {
                Vec::new()
            };
        let (platforms, preloaded) = tokio::join!(hash_zips(meta, &zips), async {
            if preload.is_empty() {
                return Ok(());
            }
            self.packages
                .preload_provider_zips(&meta.name, &preload)
                .await
                .map_err(chain)
        });
        let platforms = platforms?;
        preloaded?;
        tracing::debug!(
            "{} {}: h1: of {} zip(s) computed, {} uploaded meanwhile",
            meta.name,
            meta.version,
            platforms.len(),
            preload.len()
        );
        // The h1: of the platforms stored already are those recorded when they were pushed.
        let stored_h1: Vec<&str> = stored_files
            .iter()
            .filter(|f| meta.zips.contains_key(&f.name))
            .filter_map(ProviderVersion::h1)
            .collect();
        if let Some(h1) = meta
            .locked_h1
            .iter()
            .find(|h| !platforms.iter().any(|p| &&p.h1 == h) && !stored_h1.contains(&h.as_str()))
        {
            return Err(format!(
                "not stored: the lock file's {h1} is the hash of no zip of {} {}",
                meta.name, meta.version
            ));
        }
        // A network mirror's version has no SHA256SUMS: it is written from the checked zips
        // and the zips stored already.
        let scratch = tempfile::Builder::new()
            .prefix("opp-sums.")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        let (sums, sig) = match &meta.mirror {
            Some(checks) => {
                for p in &platforms {
                    checks.check(&p.file_name, &p.sha256_hex, &p.h1)?;
                }
                let path = scratch.path().join(&meta.sums_name);
                let lines = platforms
                    .iter()
                    .map(|p| (p.file_name.as_str(), p.sha256_hex.as_str()))
                    .chain(
                        stored_files
                            .iter()
                            .filter(|f| !platforms.iter().any(|p| p.file_name == f.name))
                            .map(|f| (f.name.as_str(), f.digest.hex())),
                    );
                tokio::fs::write(&path, shasums_text(lines))
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                (path, None)
            }
            None => {
                let (Some(sums), Some(sig)) = (path_of(&meta.sums_name), path_of(&meta.sig_name))
                else {
                    return Err(format!(
                        "{} or its signature did not arrive",
                        meta.sums_name
                    ));
                };
                (sums, Some(sig))
            }
        };
        let release = ProviderRelease {
            provider_type: meta.provider_type.clone(),
            version: meta.version.clone(),
            platforms,
            shasums: sums,
            shasums_sig: sig,
            manifest_json: None,
            protocols: meta.protocols.clone(),
        };
        let merged = self
            .packages
            .add_provider_platforms(&meta.name, &release, &provenance, meta.mirror.is_some())
            .await
            .map_err(chain)?;
        tracing::debug!("{} {}: index written and settled", meta.name, meta.version);
        Ok(added_files(&merged, &meta.sums_name, &meta.sig_name))
    }
}

/// Whether the store holds the zip `name` with the bytes the plan names: the sha256 the
/// upstream stated, or, from a network mirror that states only `h1:` (what `terraform
/// providers mirror` writes), a recorded `h1:` that passes the mirror's and the lock file's
/// hashes. (Such a zip was downloaded again and found equal to the stored one.)
fn stored_as_planned(meta: &VersionMeta, name: &str, stored: &[DistFile]) -> bool {
    let Some(file) = stored.iter().find(|f| f.name == name) else {
        return false;
    };
    match (meta.zip_sha256.get(name), &meta.mirror) {
        (Some(want), _) => file.digest.hex() == want,
        (None, Some(checks)) => ProviderVersion::h1(file)
            .is_some_and(|h1| checks.check(name, file.digest.hex(), h1).is_ok()),
        (None, None) => false,
    }
}

/// The files a push added, from what the index merge did with each new entry: a zip or the
/// `SHA256SUMS` entry added (or, for a network mirror's rewritten `SHA256SUMS`, put in place
/// of the stored one), not one the stored version held already with the same sha256. The
/// signature is a layer of the `SHA256SUMS` entry: it is added with that entry, and when the
/// stored entry is kept, so is its signature, and the one that arrived is not stored.
fn added_files(merged: &[Merged], sums_name: &str, sig_name: &str) -> BTreeSet<String> {
    let mut added: BTreeSet<String> = merged
        .iter()
        .filter_map(|m| match m {
            Merged::Added(f) | Merged::Replaced(f) => Some(f.clone()),
            Merged::Unchanged(_) => None,
        })
        .collect();
    if added.contains(sums_name) {
        added.insert(sig_name.to_owned());
    }
    added
}

/// Each arrived zip's `h1:` (its contents unpacked and hashed) on its own blocking thread, at
/// once, with what the push needs of it.
async fn hash_zips(
    meta: &VersionMeta,
    zips: &[&(PlanFile, PathBuf)],
) -> Result<Vec<PlatformZip>, String> {
    let hashed = zips.iter().map(|(f, path)| {
        let p = path.clone();
        async move {
            let h1 = tokio::task::spawn_blocking(move || h1_of_zip_file(&p))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| {
                    format!(
                        "{} is not a provider zip opp can push: {}",
                        f.file_name,
                        chain(e)
                    )
                })?;
            let size = tokio::fs::metadata(path)
                .await
                .map_err(|e| e.to_string())?
                .len();
            let (os, arch) = meta.zips[&f.file_name].clone();
            Ok::<_, String>(PlatformZip {
                path: path.clone(),
                file_name: f.file_name.clone(),
                os,
                arch,
                sha256_hex: f.sha256.clone().unwrap_or_default(),
                h1,
                size,
            })
        }
    });
    let mut platforms = futures_util::future::try_join_all(hashed).await?;
    platforms.sort_by(|a, b| (&a.os, &a.arch).cmp(&(&b.os, &b.arch)));
    Ok(platforms)
}

/// An `SHA256SUMS` of the zips, as goreleaser writes one: `<sha256>  <file>` per line, sorted
/// by file name.
fn shasums_text<'a>(zips: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut lines: Vec<String> = zips.map(|(file, hex)| format!("{hex}  {file}\n")).collect();
    lines.sort_by(|a, b| {
        a.split_once("  ")
            .map(|x| x.1)
            .cmp(&b.split_once("  ").map(|x| x.1))
    });
    lines.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMS: &str = "p_1.0.0_SHA256SUMS";
    const SIG: &str = "p_1.0.0_SHA256SUMS.sig";

    fn names(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_new_version_adds_every_file_and_the_signature() {
        let merged = [
            Merged::Added("a.zip".into()),
            Merged::Added("b.zip".into()),
            Merged::Added(SUMS.into()),
        ];
        assert_eq!(
            added_files(&merged, SUMS, SIG),
            names(&["a.zip", "b.zip", SUMS, SIG])
        );
    }

    #[test]
    fn a_new_platform_beside_the_same_checksums_adds_only_its_zip() {
        let merged = [
            Merged::Added("b.zip".into()),
            Merged::Unchanged(SUMS.into()),
        ];
        assert_eq!(added_files(&merged, SUMS, SIG), names(&["b.zip"]));
    }

    #[test]
    fn rewritten_checksums_are_added_and_an_unchanged_zip_is_not() {
        let merged = [
            Merged::Unchanged("a.zip".into()),
            Merged::Replaced(SUMS.into()),
        ];
        assert_eq!(added_files(&merged, SUMS, SIG), names(&[SUMS, SIG]));
    }
}

//! Where mirrored provider files go: the store, through `opp push terraform-provider`'s path
//! (`Packages::push_provider_with`: OpenTofu's layout, the checksums entry, the `h1:` of each
//! zip), with the version's provenance. A version is pushed whole or not at all: when a zip
//! of the plan failed (or the store holds the version with other zips), nothing is written.
//! A version from a network mirror comes without `SHA256SUMS`: each zip is checked against
//! the mirror's and the lock file's hashes here (its `h1:` needs the whole zip), and an
//! `SHA256SUMS` of the checked zips is written for the store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::plan::VersionMeta;
use crate::artifact::Merged;
use crate::ecosystem::terraform_provider::{PlatformZip, ProviderRelease, h1_of_zip_file};
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;

pub struct ProviderSink<'a> {
    pub packages: Packages<'a>,
    /// (stored name, version) -> what to push.
    pub versions: BTreeMap<(String, String), VersionMeta>,
}

fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

#[async_trait::async_trait]
impl Sink for ProviderSink<'_> {
    fn ecosystem(&self) -> crate::release::Ecosystem {
        crate::release::Ecosystem::TerraformProvider
    }

    /// The stored files when the version holds every zip of the plan (so nothing is fetched);
    /// otherwise none, so the whole version is fetched and pushed.
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
        if !whole {
            return Ok(BTreeMap::new());
        }
        if let Some(sums) = stored.shasums {
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
        let path_of = |name: &str| {
            files
                .iter()
                .find(|(f, _)| f.file_name == name)
                .map(|(f, p)| (f.clone(), p.clone()))
        };
        let zips: Vec<(PlanFile, PathBuf)> = files
            .iter()
            .filter(|(f, _)| meta.zips.contains_key(&f.file_name))
            .cloned()
            .collect();
        if zips.is_empty() {
            // Every zip was already stored: the checksums came along with them.
            return files.iter().map(|_| Ok(false)).collect();
        }
        let missing: Vec<&String> = meta
            .zips
            .keys()
            .filter(|z| !zips.iter().any(|(f, _)| &f.file_name == *z))
            .collect();
        if !missing.is_empty() {
            let why = format!(
                "not stored: {} of {} {} failed, and a version is stored whole",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                meta.name,
                meta.version
            );
            return files.iter().map(|_| Err(why.clone())).collect();
        }
        // Each zip's h1: (its contents unpacked and hashed) on its own blocking thread, at once.
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
        let mut platforms = Vec::new();
        for outcome in futures_util::future::join_all(hashed).await {
            match outcome {
                Ok(p) => platforms.push(p),
                Err(why) => return files.iter().map(|_| Err(why.clone())).collect(),
            }
        }
        platforms.sort_by(|a, b| (&a.os, &a.arch).cmp(&(&b.os, &b.arch)));
        if let Some(h1) = meta
            .locked_h1
            .iter()
            .find(|h| !platforms.iter().any(|p| &&p.h1 == h))
        {
            let why = format!(
                "not stored: the lock file's {h1} is the hash of no zip of {} {}",
                meta.name, meta.version
            );
            return files.iter().map(|_| Err(why.clone())).collect();
        }
        // A network mirror's version has no SHA256SUMS: it is written from the checked zips.
        let scratch = tempfile::Builder::new().prefix("opp-sums.").tempdir();
        let (sums, sig) = match (&meta.mirror, &scratch) {
            (Some(checks), Ok(scratch)) => {
                for p in &platforms {
                    if let Err(why) = checks.check(&p.file_name, &p.sha256_hex, &p.h1) {
                        return files.iter().map(|_| Err(why.clone())).collect();
                    }
                }
                let path = scratch.path().join(&meta.sums_name);
                if let Err(e) = tokio::fs::write(&path, shasums_text(&platforms)).await {
                    let why = format!("cannot write {}: {e}", path.display());
                    return files.iter().map(|_| Err(why.clone())).collect();
                }
                (path, None)
            }
            (Some(_), Err(e)) => {
                let why = format!("cannot make a temporary directory: {e}");
                return files.iter().map(|_| Err(why.clone())).collect();
            }
            (None, _) => {
                let (Some((_, sums)), Some((_, sig))) =
                    (path_of(&meta.sums_name), path_of(&meta.sig_name))
                else {
                    let why = format!("{} or its signature did not arrive", meta.sums_name);
                    return files.iter().map(|_| Err(why.clone())).collect();
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
        match self
            .packages
            .push_provider_with(&meta.name, &release, false, &meta.provenance)
            .await
        {
            Ok(merged) => {
                let added = merged.iter().any(|m| !matches!(m, Merged::Unchanged(_)));
                files.iter().map(|_| Ok(added)).collect()
            }
            Err(e) => {
                let why = chain(e);
                files.iter().map(|_| Err(why.clone())).collect()
            }
        }
    }
}

/// An `SHA256SUMS` of the zips, as goreleaser writes one: `<sha256>  <file>` per line, sorted
/// by file name.
fn shasums_text(platforms: &[PlatformZip]) -> String {
    let mut lines: Vec<String> = platforms
        .iter()
        .map(|p| format!("{}  {}\n", p.sha256_hex, p.file_name))
        .collect();
    lines.sort_by(|a, b| {
        a.split_once("  ")
            .map(|x| x.1)
            .cmp(&b.split_once("  ").map(|x| x.1))
    });
    lines.concat()
}

//! Where mirrored NuGet packages go: the store, through the path `opp push nuget` takes (each
//! `.nupkg` described from its own nuspec, then `Packages::push_nuget`), byte for byte, so the
//! package's own signature stays valid. Before that, each file is checked against the SHA-512
//! the feed (`packageHash`) or a lock file (`contentHash`) states, and its nuspec against the
//! id and version asked for; a file failing either stores nothing. A `.snupkg` is pushed with its `.nupkg` (or after it is
//! stored), as `opp push nuget` requires.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha512};

use crate::ecosystem::nuget::{self as eco, NugetVersion, PackageKind};
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;

/// A SHA-512 a file must have, and who states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Base64, as NuGet writes it.
    pub sha512: String,
    /// `the feed's packageHash`, `packages.lock.json's contentHash`.
    pub source: String,
}

pub struct NugetSink<'a> {
    pub packages: Packages<'a>,
    /// By (lowercase id, normalized version).
    pub expected: BTreeMap<(String, String), Vec<Expected>>,
}

/// An error with its causes on one line.
fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

/// The key of a package version in [`NugetSink::expected`].
pub fn key(id: &str, version: &NugetVersion) -> (String, String) {
    (id.to_ascii_lowercase(), version.to_string())
}

/// The base64 SHA-512 of a file, read in pieces.
fn sha512_base64(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha512::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
}

/// Checks one downloaded file: its SHA-512 against every expectation, its nuspec against the
/// id and version planned. Blocking.
fn check(f: &PlanFile, path: &Path, expected: &[Expected]) -> Result<eco::NugetPackage, String> {
    if !expected.is_empty() {
        let got =
            sha512_base64(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for e in expected {
            if e.sha512 != got {
                return Err(format!(
                    "SHA-512 mismatch: {} is {}, the downloaded bytes hash to {got}; nothing stored",
                    e.source, e.sha512
                ));
            }
        }
    }
    let described = eco::describe(path).map_err(|e| {
        format!(
            "{} is not a NuGet package opp can push: {}",
            f.file_name,
            chain(e)
        )
    })?;
    let same_version = NugetVersion::parse(&described.version)
        .zip(NugetVersion::parse(&f.version))
        .is_some_and(|(a, b)| a == b);
    if Some(described.kind) != PackageKind::of(&f.file_name)
        || !described.id.eq_ignore_ascii_case(&f.package)
        || !same_version
    {
        return Err(format!(
            "the feed's file for {} {} holds {} {}; nothing stored",
            f.package, f.version, described.id, described.version
        ));
    }
    Ok(described)
}

#[async_trait::async_trait]
impl Sink for NugetSink<'_> {
    fn ecosystem(&self) -> crate::release::Ecosystem {
        crate::release::Ecosystem::Nuget
    }

    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let release = self
            .packages
            .nuget_release(package, version)
            .await
            .map_err(chain)?;
        Ok(crate::mirror::execute::file_digests(release))
    }

    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>> {
        let mut outcome: Vec<Result<bool, String>> = Vec::with_capacity(files.len());
        let mut described = Vec::new();
        let mut pkgs = Vec::new();
        for (f, path) in &files {
            // The hashes stated are the .nupkg's; a feed states none for a .snupkg.
            let expected = NugetVersion::parse(&f.version)
                .filter(|_| PackageKind::of(&f.file_name) == Some(PackageKind::Nupkg))
                .and_then(|v| self.expected.get(&key(&f.package, &v)))
                .cloned()
                .unwrap_or_default();
            let (f2, path2) = (f.clone(), path.clone());
            let checked = tokio::task::spawn_blocking(move || check(&f2, &path2, &expected)).await;
            match checked {
                Ok(Ok(d)) => {
                    outcome.push(Ok(true));
                    described.push((outcome.len() - 1, d.file_name.clone()));
                    pkgs.push(d);
                }
                Ok(Err(why)) => outcome.push(Err(why)),
                Err(e) => outcome.push(Err(e.to_string())),
            }
        }
        if pkgs.is_empty() {
            return outcome;
        }
        match self.packages.push_nuget(pkgs, false).await {
            Ok(pushed) => {
                let status: BTreeMap<&str, &str> =
                    pushed.iter().map(|p| (p.file.as_str(), p.status)).collect();
                for (i, name) in described {
                    outcome[i] = Ok(status.get(name.as_str()) != Some(&"unchanged"));
                }
            }
            Err(e) => {
                let why = chain(e);
                for (i, _) in described {
                    outcome[i] = Err(why.clone());
                }
            }
        }
        outcome
    }
}

//! Pushing and reading NuGet packages: lay each package out as docs/formats.md (NuGet) says
//! (the nupkg entry with its nuspec as second layer, a snupkg as a second entry of the same
//! version), push each version, read a version back. Shared by `opp push nuget` and the
//! proxy's upload endpoint; reading the package files themselves is `ecosystem::nuget`.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Hashed, PackageError, Packages, Pushed, Result, hash_file};
use crate::artifact::{self, FileSpec, Kinds, LayerSource, LayerSpec};
use crate::digest::Digest;
use crate::ecosystem::nuget::{NugetPackage, PackageKind};
use crate::mapper::Mapper;
use crate::release::{Descriptor, Ecosystem, Release};

impl Packages<'_> {
    /// Pushes described packages, grouped into one index per id and version. A snupkg needs
    /// a nupkg of the same id and version, in this push or already stored; without one
    /// nothing at all is pushed. Each package's `path` must be a file that stays readable
    /// until this returns (it is hashed, then streamed): the proxy spools an upload to one.
    pub async fn push_nuget(&self, pkgs: Vec<NugetPackage>, force: bool) -> Result<Vec<Pushed>> {
        let pkgs = pkgs.into_iter().map(|p| (p, None)).collect();
        self.push_nuget_hashed(pkgs, force).await
    }

    /// [`Packages::push_nuget`], for packages whose digest and size the caller already has
    /// (the proxy hashes a push as it spools it): those are not read again before the upload.
    pub async fn push_nuget_hashed(
        &self,
        pkgs: Vec<(NugetPackage, Option<Hashed>)>,
        force: bool,
    ) -> Result<Vec<Pushed>> {
        let eco = Ecosystem::Nuget;
        let mut groups: BTreeMap<(String, String), Vec<Member>> = BTreeMap::new();
        for (p, hashed) in pkgs {
            let name = Mapper::normalize_package(eco, &p.id)?;
            groups
                .entry((name, p.version.clone()))
                .or_default()
                .push((p, hashed));
        }
        // Check every version before anything is uploaded.
        for ((name, version), members) in &groups {
            if let Some((symbols, _)) = members.iter().find(|(p, _)| p.kind == PackageKind::Snupkg)
                && !members.iter().any(|(p, _)| p.kind == PackageKind::Nupkg)
                && !self.has_nupkg(name, version).await?
            {
                let repo = self.mapper.repository(eco, name)?;
                return Err(PackageError::SymbolsAlone {
                    symbols: symbols.path.display().to_string(),
                    id: symbols.id.clone(),
                    version: version.clone(),
                    location: self.store.location(&repo),
                });
            }
        }
        let mut described = BTreeMap::new();
        for (key, members) in groups {
            let mut files = Vec::with_capacity(members.len());
            for (p, hashed) in members {
                files.push(file_spec(p, hashed).await?);
            }
            described.insert(key, files);
        }
        self.push_versions(eco, &artifact::NUGET, described, force)
            .await
    }

    /// One version as stored (`id` in any case, `version` in any NuGet spelling), or `None`.
    /// Its files are the nupkg and, where pushed, the snupkg; the nupkg's
    /// [`DistFile::extra_layers`](crate::release::DistFile) hold its nuspec.
    pub async fn nuget_release(&self, id: &str, version: &str) -> Result<Option<Release>> {
        let eco = Ecosystem::Nuget;
        let name = Mapper::normalize_package(eco, id)?;
        let version = Mapper::normalize_version(eco, version)?;
        // Only for entries another tool wrote without a title.
        let fallback_nupkg = format!("{name}.{version}.nupkg");
        let fallback = move |_: &(String, String)| fallback_nupkg.clone();
        self.release(eco, &artifact::NUGET, &name, &version, &fallback)
            .await
    }

    /// Whether a version already holds a nupkg.
    async fn has_nupkg(&self, name: &str, version: &str) -> Result<bool> {
        Ok(self.nuget_release(name, version).await?.is_some_and(|r| {
            r.files
                .iter()
                .any(|f| PackageKind::of(&f.name) == Some(PackageKind::Nupkg))
        }))
    }
}

/// A package of a push, with its digest and size when the caller has them.
type Member = (NugetPackage, Option<Hashed>);

/// The index entry of one package file: the nupkg with its nuspec as second layer, or the
/// snupkg alone.
async fn file_spec(p: NugetPackage, hashed: Option<Hashed>) -> Result<FileSpec> {
    let (digest, size) = match hashed {
        Some(known) => known,
        None => hash_file(&p.path).await?,
    };
    let kinds: &Kinds = match p.kind {
        PackageKind::Nupkg => &artifact::NUGET,
        PackageKind::Snupkg => &artifact::NUGET_SNUPKG,
    };
    let mut layers = vec![LayerSpec {
        descriptor: Descriptor {
            media_type: kinds.layer_media_type.to_owned(),
            digest,
            size,
        },
        title: Some(p.file_name.clone()),
        source: LayerSource::File(p.path.clone()),
    }];
    if p.kind == PackageKind::Nupkg {
        let nuspec = Bytes::from(p.nuspec_bytes);
        layers.push(LayerSpec {
            descriptor: Descriptor {
                media_type: artifact::NUGET_NUSPEC.to_owned(),
                digest: Digest::of(&nuspec),
                size: nuspec.len() as u64,
            },
            title: Some(format!("{}.nuspec", p.id.to_ascii_lowercase())),
            source: LayerSource::Bytes(nuspec),
        });
    }
    Ok(FileSpec {
        file_name: p.file_name,
        artifact_type: kinds.file_artifact_type,
        // Repeated on the entry: it keys the merge (nupkg and snupkg of one version).
        entry_artifact_type: Some(kinds.file_artifact_type),
        layers,
        metadata: None,
        platform: None,
        entry_annotations: BTreeMap::new(),
    })
}

/// The proxy awaits these inside axum handlers, which need `Send` futures for every lifetime.
#[allow(dead_code)]
fn futures_are_send(p: &Packages<'_>) {
    fn send<T: Send>(_: T) {}
    send(p.push_nuget(Vec::new(), false));
    send(p.push_nuget_hashed(Vec::new(), false));
    send(p.nuget_release("a", "1.0.0"));
}

/// The contract's `read_release` (`ecosystem::contract`).
pub(crate) fn read_release<'a>(
    pkgs: &'a Packages<'a>,
    name: &'a str,
    version: &'a str,
) -> futures_util::future::BoxFuture<'a, Result<Option<Release>>> {
    Box::pin(pkgs.nuget_release(name, version))
}

//! Releases in a store: read a version's index into a [`Release`] (`read`), push files into a
//! version (`push`: upload, merge with what is there, tag, verify after a wait and merge again:
//! `settle`), write a release's files to disk atomically (`download`). This is the I/O half of
//! `artifact`, shared by the commands and the proxy; it knows the layout but not the terminal
//! (progress bars are handed in).

use std::path::Path;

use serde::Serialize;

use crate::artifact::{self, ArtifactError};
use crate::digest::{Digest, Hasher};
use crate::mapper::{MapError, Mapper};
use crate::output::Output;
use crate::release::Ecosystem;
use crate::store::{Store, StoreError};

/// How many blobs move at once.
pub(crate) const CONCURRENCY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Map(#[from] MapError),
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    NotFound(String),
    /// A NuGet symbols package pushed without its package, which is not stored either.
    #[error(
        "{symbols}: no {id} {version} .nupkg in this push or in {location}; a symbols package \
         goes beside its package"
    )]
    SymbolsAlone {
        symbols: String,
        id: String,
        version: String,
        location: String,
    },
    #[error("the index of {what} kept changing while opp merged into it")]
    Race { what: String },
}

mod download;
mod push;
mod read;
pub mod select;
pub(crate) mod settle;

pub(crate) use download::copy_blob;
pub mod module;
pub mod nuget;
pub mod provider;
mod provider_add;
pub mod pypi;
pub mod rubygems;

type Result<T, E = PackageError> = std::result::Result<T, E>;

pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PackageError {
    let path = path.display().to_string();
    move |source| PackageError::Io {
        action,
        path,
        source,
    }
}

/// A file's digest and size, as [`hash_file`] gives them: what a caller that hashed a file
/// already (the proxy, as it spools an upload) hands to a push instead of the file being
/// read again.
pub type Hashed = (Digest, u64);

/// Hashes a file by streaming it (memory stays flat whatever its size).
pub async fn hash_file(path: &Path) -> Result<(Digest, u64)> {
    let path_owned = path.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<(Digest, u64)> {
        use std::io::Read;
        let mut f = std::fs::File::open(&path_owned)?;
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let len = h.len();
        Ok((h.finish(), len))
    })
    .await
    .unwrap_or_else(|joined| Err(std::io::Error::other(joined)))
    .map_err(io("cannot read", path))
}

/// What happened to one pushed file.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub package: String,
    pub version: String,
    pub file: String,
    pub sha256: String,
    pub size: u64,
    /// `added`, `replaced` or `unchanged`.
    pub status: &'static str,
    /// `<store location of the repository>:<tag>`.
    pub location: String,
}

pub struct Packages<'a> {
    pub store: &'a dyn Store,
    pub mapper: &'a Mapper,
    pub out: &'a Output,
}

impl Packages<'_> {
    /// Every version of a package (tags that are not versions are skipped), unsorted.
    pub async fn versions(&self, eco: Ecosystem, name: &str) -> Result<Vec<String>> {
        let repo = self.mapper.repository(eco, name)?;
        let tags = self.store.list_tags(&repo).await?;
        Ok(tags
            .iter()
            .filter_map(|t| self.mapper.version(eco, t))
            .collect())
    }

    /// Every package of an ecosystem in the store.
    pub async fn packages(&self, eco: Ecosystem) -> Result<Vec<String>> {
        let prefix = self.mapper.repository_prefix(eco);
        let repos = self.store.list_repositories(&prefix).await?;
        let mut names: Vec<String> = repos
            .iter()
            .filter_map(|r| self.mapper.package(eco, r))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// The proxy awaits these inside axum handlers, which need `Send` futures for every lifetime;
/// closures capturing references in a stream can break that (rust-lang/rust#102211).
#[allow(dead_code)]
fn futures_are_send(
    p: &Packages<'_>,
    fallback: &'static (dyn Fn(&(String, String)) -> String + Sync),
) {
    fn send<T: Send>(_: T) {}
    send(p.provider_version("a/b", "1.0.0"));
    send(p.module_release("a/b/c", "1.0.0"));
    send(p.versions(Ecosystem::Pypi, "a"));
    send(p.packages(Ecosystem::Pypi));
    send(p.release(Ecosystem::Pypi, &artifact::PYPI, "a", "1.0", fallback));
    send(p.push_pypi(Vec::new(), false));
    send(p.push_pypi_hashed(Vec::new(), false));
    send(p.push_rubygems(Vec::new(), false));
    send(p.gem_release("a", "1.0"));
    send(p.download(Ecosystem::Pypi, "a", &[], std::path::Path::new(".")));
}

#[cfg(test)]
mod tests;

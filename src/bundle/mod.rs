//! Air-gap bundles: `opp export` writes packages of a store into one file, `opp import` loads
//! such a file into any store. A bundle is a standard OCI image layout in a tar (zstd when the
//! file name ends in `.zst`): `opp-bundle.json` first (what is inside), `oci-layout`, every
//! blob before the manifests that name it, `index.json` last (one entry per version, named
//! `REPOSITORY:TAG`), so both sides stream it with flat memory. docs/formats.md ("Bundles")
//! is the contract, docs/bundles.md the usage.
//!
//! Pure parts: `format` (the JSON of a bundle and its checks), `tarball` (tar framing), `graph`
//! (what a manifest references), `select` (export items). I/O: `export` and `write` (store ->
//! tar), `read` (tar -> verified entries) and `import` with `blobs`, `tag` and `merge` (entries ->
//! store).

mod blobs;
pub mod export;
pub mod format;
pub mod graph;
pub mod import;
mod merge;
pub mod read;
pub mod select;
mod tag;
pub mod tarball;
pub mod write;

use crate::mapper::MapError;
use crate::packages::PackageError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Map(#[from] MapError),
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An export item or option that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// Nothing stored matches what was asked for.
    #[error("{0}")]
    NotFound(String),
    /// The bundle file is not what its own index says (damaged in transit, or not a bundle).
    #[error("{path} is damaged: {detail}")]
    Damaged { path: String, detail: String },
    /// A delta bundle whose base is not in the target.
    #[error("{path} builds on the bundle of {created}, whose blobs the target lacks ({missing})")]
    BaseMissing {
        path: String,
        created: String,
        missing: String,
    },
}

pub type Result<T, E = BundleError> = std::result::Result<T, E>;

pub(crate) fn io(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> BundleError {
    let path = path.display().to_string();
    move |source| BundleError::Io {
        action,
        path,
        source,
    }
}

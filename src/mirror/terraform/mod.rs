//! The Terraform half of `opp mirror`: providers from a provider registry (`registry`: service
//! discovery, versions, download documents), the version and platforms chosen per request
//! (`plan`), and the zips, `SHA256SUMS` and its signature handed to the shared pipeline, which
//! downloads them concurrently, each zip checked against the sha256 the registry states; the
//! sink checks the signature and the zips against the signed `SHA256SUMS` (`verify`,
//! `signature`) and only then pushes the version whole through `opp push
//! terraform-provider`'s path with its provenance, adding platforms to a stored version
//! (`sink`).
//! An `https://` upstream is a provider network mirror instead (`network_mirror`,
//! `plan_mirror`): no signature, each zip checked against the mirror's hashes in the sink.
//! What was verified is read back for `opp show` and `--json` by `provenance`.

pub mod config;
pub mod lock;
pub mod network_mirror;
pub mod plan;
pub mod plan_mirror;
pub mod provenance;
pub mod registry;
pub mod signature;
pub mod sink;
pub mod verify;

use crate::ecosystem::terraform_provider::ProviderError;
use crate::mirror::download::DownloadError;

#[derive(Debug, thiserror::Error)]
pub enum TerraformMirrorError {
    #[error("`{0}` is not an upstream opp can read")]
    BadUpstream(String),
    #[error("invalid provider request `{spec}`: {reason}; expected NAMESPACE/TYPE[@CONSTRAINT]")]
    BadSpec { spec: String, reason: String },
    #[error("{url} is not a registry document opp can read: {reason}")]
    BadDocument { url: String, reason: String },
    #[error("{0} offers no provider registry (no `providers.v1` in /.well-known/terraform.json)")]
    NoProviders(String),
    #[error("no version of {name} matches `{constraint}`; the registry has: {available}")]
    NoVersion {
        name: String,
        constraint: String,
        available: String,
    },
    #[error("{name} {version} has none of the platforms asked for ({asked}); it has: {available}")]
    NoPlatform {
        name: String,
        version: String,
        asked: String,
        available: String,
    },
    #[error("{what}: the registry names the zip `{found}`, not `{expected}`; nothing stored")]
    OddFileName {
        what: String,
        found: String,
        expected: String,
    },
    #[error(
        "{what}: the platforms have different SHA256SUMS files ({first} and {other}); nothing \
         stored"
    )]
    SplitSums {
        what: String,
        first: String,
        other: String,
    },
    #[error("{what}: {file}: {reason}; nothing stored")]
    Signature {
        what: String,
        file: String,
        reason: signature::SignatureError,
    },
    #[error(
        "{what}: the registry says sha256 {registry} for {file}, but the signed {sums} says \
         {signed}; nothing stored"
    )]
    ShasumMismatch {
        what: String,
        file: String,
        sums: String,
        registry: String,
        signed: String,
    },
    #[error("{what}: {file} is not listed in the signed {sums}; nothing stored")]
    NotInSums {
        what: String,
        file: String,
        sums: String,
    },
    #[error("{what}: the lock file's zh:{hash} is not in the signed {sums}; nothing stored")]
    LockMismatch {
        what: String,
        hash: String,
        sums: String,
    },
    #[error(
        "{what}: the network mirror gives no h1: or zh: hash for {platform}, so opp cannot check \
         its zip; nothing stored"
    )]
    MirrorNoHashes { what: String, platform: String },
    #[error("{path} is not a lock file opp can read: {reason}")]
    BadLock { path: String, reason: String },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Download(#[from] DownloadError),
}

pub use provenance::provenance_line;

/// What to do about an upstream `opp mirror terraform-provider` cannot use; a transparent
/// variant asks its inner error, which the chain of causes does not show.
impl crate::error::Diagnostic for TerraformMirrorError {
    fn hints(&self) -> Vec<String> {
        match self {
            TerraformMirrorError::BadUpstream(_) => vec![
                "give a provider registry as HOST[:PORT] (e.g. registry.terraform.io) or a \
                 provider network mirror as an https:// URL"
                    .into(),
            ],
            TerraformMirrorError::MirrorNoHashes { .. } => {
                vec!["give --lock with a lock file that has them".into()]
            }
            TerraformMirrorError::Provider(e) => e.hints(),
            _ => Vec::new(),
        }
    }
}

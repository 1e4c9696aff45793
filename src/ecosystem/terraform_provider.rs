//! Terraform / OpenTofu providers: what a provider release is on disk and what Terraform
//! expects of it. Reads a release directory as goreleaser and the Terraform publishing guide
//! lay it out ([`read_release`]: per-platform zips checked against `SHA256SUMS`, the
//! optional signature and `manifest.json`), computes Terraform's `h1:` package hash
//! ([`h1_of_zip`], [`h1_of_dir`]), chooses versions with Terraform's constraint syntax
//! ([`parse_constraint`], [`select_version`]), places zips in a filesystem mirror
//! ([`mirror_path`], [`unpack_zip_safely`]) and writes `.terraform.lock.hcl` blocks
//! ([`update_lock_file`]). No registry I/O: laying a release out in OCI is `artifact`,
//! moving it is `store/`, the commands are `commands/`.
//!
//! Submodules: `release` (the directory and its file names), `hash` (dirhash `h1:`),
//! `constraint` (versions and constraints), `mirror` (platforms and the mirror layout),
//! `lock` (the lock file). Names and versions are normalized by the mapper, not here.

mod constraint;
mod hash;
mod lock;
mod mirror;
mod release;

#[cfg(test)]
mod test_zip;

use std::fmt;
use std::path::PathBuf;

use crate::mapper::{DEFAULT_TERRAFORM_HOSTNAME, MapError, Mapper};
use crate::release::Ecosystem;

pub use constraint::{Constraint, parse_constraint, select_version, sort_newest_first};
pub use hash::{h1_of_dir, h1_of_zip, h1_of_zip_file};
pub use lock::{LockEntry, update_lock_file};
pub use mirror::{
    MirrorLayout, StagedUnpack, current_platform, mirror_path, parse_platform, stage_unpack,
    unpack_zip_safely,
};
pub use release::{
    PlatformZip, ProviderRelease, manifest_file_name, read_release, shasums_file_name,
    shasums_sig_file_name, zip_file_name,
};
pub(crate) use release::{parse_protocols, parse_shasums};

/// A provider's full address, `<hostname>/<namespace>/<type>`, normalized by the mapper
/// (lowercase; `registry.terraform.io` when the user gave none). Its [`fmt::Display`] is the
/// fully qualified form `.terraform.lock.hcl` requires.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderAddress {
    pub hostname: String,
    pub namespace: String,
    pub provider_type: String,
}

impl ProviderAddress {
    /// Parse `NAMESPACE/TYPE` or `HOSTNAME/NAMESPACE/TYPE` with the mapper's rules.
    pub fn parse(address: &str) -> Result<ProviderAddress, ProviderError> {
        let normalized =
            Mapper::normalize_package(Ecosystem::TerraformProvider, address).map_err(|source| {
                ProviderError::InvalidAddress {
                    address: address.to_string(),
                    source,
                }
            })?;
        let mut parts = normalized.rsplitn(3, '/');
        let provider_type = parts.next().unwrap_or_default().to_string();
        let namespace = parts.next().unwrap_or_default().to_string();
        let hostname = parts
            .next()
            .unwrap_or(DEFAULT_TERRAFORM_HOSTNAME)
            .to_string();
        Ok(ProviderAddress {
            hostname,
            namespace,
            provider_type,
        })
    }

    /// The same provider under another registry hostname (`--hostname`), lowercased.
    pub fn with_hostname(mut self, hostname: &str) -> ProviderAddress {
        self.hostname = hostname.to_ascii_lowercase();
        self
    }
}

impl fmt::Display for ProviderAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.hostname, self.namespace, self.provider_type
        )
    }
}

/// What can go wrong reading a provider release, hashing a package, choosing a version or
/// updating a lock file. Every message names the file (or the text); what to do about it is
/// its hint ([`crate::error::Diagnostic`]).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },

    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },

    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} holds no terraform-provider-{provider_type}_<version>_<os>_<arch>.zip files",
        dir.display()
    )]
    NoZips { dir: PathBuf, provider_type: String },

    #[error(
        "{}: {reason}; expected terraform-provider-<type>_<version>_<os>_<arch>.zip",
        path.display()
    )]
    InvalidFileName { path: PathBuf, reason: String },

    #[error(
        "{}: `{version}` is not a semantic version ({reason}); Terraform only accepts \
         MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without a leading `v`",
        path.display()
    )]
    InvalidVersion {
        path: PathBuf,
        version: String,
        reason: String,
    },

    #[error(
        "{} holds files of more than one provider type ({})",
        dir.display(),
        types.join(", ")
    )]
    MixedTypes { dir: PathBuf, types: Vec<String> },

    #[error(
        "{} holds files of more than one version ({})",
        dir.display(),
        versions.join(", ")
    )]
    MixedVersions { dir: PathBuf, versions: Vec<String> },

    #[error(
        "{} is a release of provider type `{found}`, not `{expected}`",
        path.display()
    )]
    TypeMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error(
        "{} has no {file_name}; every release needs its SHA256SUMS file",
        dir.display()
    )]
    MissingShasums { dir: PathBuf, file_name: String },

    #[error("{} line {line}: {reason}; expected `<64 hex digits>  <file name>` lines as `sha256sum` writes them", path.display())]
    InvalidShasums {
        path: PathBuf,
        line: usize,
        reason: String,
        /// What to do, when the reason has one remedy.
        hint: Option<&'static str>,
    },

    #[error(
        "{} names {file_name}, which is not in {}",
        shasums.display(),
        dir.display()
    )]
    MissingZip {
        shasums: PathBuf,
        dir: PathBuf,
        file_name: String,
    },

    #[error(
        "{} is not listed in {}",
        path.display(),
        shasums.display()
    )]
    Unlisted { path: PathBuf, shasums: PathBuf },

    #[error(
        "{} has sha256 {actual}, but {} says {expected}",
        path.display(),
        shasums.display()
    )]
    ChecksumMismatch {
        path: PathBuf,
        shasums: PathBuf,
        expected: String,
        actual: String,
    },

    #[error("{}: {reason}; expected {{\"version\": 1, \"metadata\": {{\"protocol_versions\": [\"6.0\"]}}}}", path.display())]
    InvalidManifest { path: PathBuf, reason: String },

    #[error(
        "{} is larger than {limit}, the most opp reads of {what}; this is not a provider \
         release file",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: String,
    },

    #[error(
        "{} unpacks to more than {limit} (`{entry}` reached it); refusing it, nothing was \
         written",
        path.display()
    )]
    UnpackLimit {
        path: PathBuf,
        entry: String,
        limit: String,
    },

    #[error("{} is not a valid zip archive", path.display())]
    NotZip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    #[error("{}: cannot read the entry `{entry}`", path.display())]
    CorruptEntry {
        path: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} contains the entry `{entry}`: {reason}; refusing the whole archive",
        path.display()
    )]
    UnsafeEntry {
        path: PathBuf,
        entry: String,
        reason: &'static str,
    },

    #[error("invalid provider address `{address}`")]
    InvalidAddress {
        address: String,
        #[source]
        source: MapError,
    },

    #[error("invalid version constraint `{constraint}`: {reason}")]
    InvalidConstraint { constraint: String, reason: String },

    #[error("invalid platform `{platform}`: {reason}; expected <os>_<arch>, e.g. linux_amd64")]
    InvalidPlatform { platform: String, reason: String },

    #[error("cannot update .terraform.lock.hcl: line {line}: {reason}")]
    InvalidLockFile { line: usize, reason: String },
}

/// What to do about a release, a constraint or a lock file opp refused.
impl crate::error::Diagnostic for ProviderError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            ProviderError::NotFound { .. } => super::files::CHECK_THE_PATH,
            ProviderError::NotADirectory { .. } => {
                "give the release directory that holds the zips and SHA256SUMS"
            }
            ProviderError::NoZips { .. } => {
                "build the release first (e.g. `goreleaser release --snapshot --clean`) and give \
                 its dist directory"
            }
            ProviderError::MixedTypes { .. } => "put each provider's release in its own directory",
            ProviderError::MixedVersions { .. } => {
                "push one version at a time, from its own directory"
            }
            ProviderError::TypeMismatch { .. } => "check NAMESPACE/TYPE or the directory",
            ProviderError::MissingShasums { .. } => "goreleaser writes it with the `checksum` step",
            ProviderError::MissingZip { .. } => {
                "copy the missing file into the directory or regenerate SHA256SUMS"
            }
            ProviderError::Unlisted { .. } => {
                "regenerate SHA256SUMS (and its signature) or remove the file"
            }
            ProviderError::ChecksumMismatch { .. } => {
                "the file is corrupt or SHA256SUMS is stale: re-download or rebuild the release"
            }
            ProviderError::UnpackLimit { .. } => {
                "if the provider really is this large, raise the limit with --max-unpacked-size"
            }
            ProviderError::NotZip { .. } => "re-download or rebuild it",
            ProviderError::UnsafeEntry { .. } => "rebuild it with plain files",
            ProviderError::InvalidLockFile { .. } => "fix the file or delete it and lock again",
            ProviderError::InvalidShasums {
                hint: Some(hint), ..
            } => hint,
            ProviderError::Io { .. }
            | ProviderError::InvalidFileName { .. }
            | ProviderError::InvalidVersion { .. }
            | ProviderError::InvalidShasums { hint: None, .. }
            | ProviderError::InvalidManifest { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::CorruptEntry { .. }
            | ProviderError::InvalidAddress { .. }
            | ProviderError::InvalidConstraint { .. }
            | ProviderError::InvalidPlatform { .. } => return Vec::new(),
        };
        vec![hint.to_owned()]
    }
}

impl ProviderError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ProviderError {
        let path = path.into();
        move |source| match source.kind() {
            std::io::ErrorKind::NotFound => ProviderError::NotFound { path },
            _ => ProviderError::Io { path, source },
        }
    }
}

/// A Terraform version constraint (`~> 5.80`), or a bare version meaning exactly it (modules
/// take the same syntax).
pub(super) fn version_filter(
    _name: &str,
    spec: &str,
) -> Result<super::contract::VersionFilter, String> {
    let c = parse_constraint(spec).map_err(|e| e.to_string())?;
    Ok(Box::new(move |v| c.matches(v)))
}

/// TerraformProvider's contract: what shared code asks about this ecosystem (`ecosystem::contract`).
pub static CONTRACT: super::contract::Contract = super::contract::Contract {
    name: "terraform-provider",
    summary: "Terraform providers (NAMESPACE/TYPE)",
    naming: &crate::mapper::terraform::PROVIDER,
    sort_newest_first,
    read_release: crate::packages::provider::read_release,
    platforms: super::contract::Platforms::Oci,
    mirror_from: Some("its registry, signatures checked"),
    merge: super::contract::Merge::Whole,
    version_filter,
    request_operators: &[],
    diagnose: super::contract::diagnose_as::<ProviderError>,
    frontend: Some(|| Box::new(crate::proxy::terraform::TerraformFrontend)),
    provenance: Some(crate::packages::provider::provenance),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalized_and_fully_qualified() {
        let a = ProviderAddress::parse("HashiCorp/AWS").unwrap();
        assert_eq!(a.to_string(), "registry.terraform.io/hashicorp/aws");
        let b = ProviderAddress::parse("example.com/acme/foo").unwrap();
        assert_eq!(
            (
                b.hostname.as_str(),
                b.namespace.as_str(),
                b.provider_type.as_str()
            ),
            ("example.com", "acme", "foo")
        );
        let c = a.with_hostname("Registry.OpenTofu.org");
        assert_eq!(c.to_string(), "registry.opentofu.org/hashicorp/aws");
    }

    #[test]
    fn invalid_addresses_say_why() {
        let err = ProviderAddress::parse("acme").unwrap_err();
        assert!(err.to_string().contains("`acme`"), "{err}");
        assert!(ProviderAddress::parse("acme/foo_bar").is_err());
    }
}

//! Ruby gems: what a `.gem` file is. Finds gems in the paths a user gives ([`discover`]),
//! reads a gem's name, version, platform, dependencies and required Ruby and RubyGems
//! versions from its own `metadata.gz` ([`describe`], [`describe_reader`]), and chooses
//! versions on pull ([`select_version`], with `Gem::Version` ordering and
//! `Gem::Requirement` matching). No registry I/O: laying gems out in OCI is
//! `packages::rubygems`, moving them is `store/`, serving them is `proxy/`.
//!
//! Submodules: `archive` (the tar and its gzipped YAML member, hashed in one pass), `spec`
//! ([`GemInfo`] and reading the tagged YAML), `yaml_size` (bounding the YAML before it is
//! loaded), `version` ([`GemVersion`], [`Requirement`]).
//! Only [`discover`] and [`describe`] touch the disk.

mod archive;
mod spec;
mod version;
mod yaml_size;

#[cfg(test)]
mod spec_tests;

use super::files::{self, DiscoverError};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::mapper::Mapper;
use crate::release::Ecosystem;

pub(crate) use spec::parse as parse_spec;
pub use spec::{DependencyKind, GemDependency, GemInfo};
pub use version::{GemVersion, Requirement, parse_requirement, select_version, sort_newest_first};

/// One gem file, described from its own specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gem {
    pub path: PathBuf,
    /// `NAME-VERSION[-PLATFORM].gem` as the specification names it (whatever the file on
    /// disk is called).
    pub file_name: String,
    /// The specification, with `sha256` filled in.
    pub info: GemInfo,
    pub size: u64,
}

/// What can go wrong finding or reading a gem. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum RubygemsError {
    #[error(
        "{} is not a regular file (a FIFO, socket or device)",
        path.display()
    )]
    NotRegularFile { path: PathBuf },

    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },

    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} contains no gems (*.gem)",
        path.display()
    )]
    EmptyDirectory { path: PathBuf },

    #[error(
        "{} is not a gem: a .gem is a tar archive, and this one cannot be read as tar ({detail})",
        path.display()
    )]
    NotTar { path: PathBuf, detail: String },

    #[error(
        "{} has no metadata.gz, so it is not a gem (a .gem holds metadata.gz, data.tar.gz and \
         checksums.yaml.gz)",
        path.display()
    )]
    MissingMetadata { path: PathBuf },

    #[error("{}: cannot read metadata.gz: {detail}", path.display())]
    BadMetadataGz { path: PathBuf, detail: String },

    #[error(
        "{}: the specification in metadata.gz is {reason}",
        path.display()
    )]
    InvalidSpec { path: PathBuf, reason: String },

    #[error("{}: {reason}", path.display())]
    InvalidName {
        path: PathBuf,
        name: String,
        reason: String,
    },

    #[error("invalid gem version `{version}`: {reason}")]
    InvalidVersion { version: String, reason: String },

    #[error("invalid gem requirement `{requirement}`: {reason}")]
    InvalidRequirement { requirement: String, reason: String },
}

/// What to do about a file that could not be found, opened or read as a gem.
impl crate::error::Diagnostic for RubygemsError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            RubygemsError::NotRegularFile { .. } => files::GIVE_THE_FILE,
            RubygemsError::NotFound { .. } => files::CHECK_THE_PATH,
            RubygemsError::EmptyDirectory { .. } => {
                "build one first, e.g. with `gem build NAME.gemspec`"
            }
            RubygemsError::NotTar { .. } | RubygemsError::MissingMetadata { .. } => {
                "rebuild it with `gem build`"
            }
            RubygemsError::BadMetadataGz { .. } | RubygemsError::InvalidSpec { .. } => {
                "rebuild the gem with `gem build`"
            }
            RubygemsError::InvalidName { .. } => "fix the name in the gemspec and rebuild the gem",
            RubygemsError::Io { .. }
            | RubygemsError::InvalidVersion { .. }
            | RubygemsError::InvalidRequirement { .. } => return Vec::new(),
        };
        vec![hint.to_owned()]
    }
}

impl From<DiscoverError> for RubygemsError {
    fn from(e: DiscoverError) -> Self {
        match e {
            DiscoverError::NotFound(path) => RubygemsError::NotFound { path },
            DiscoverError::Io(path, source) => RubygemsError::Io { path, source },
            DiscoverError::Empty(path) => RubygemsError::EmptyDirectory { path },
            DiscoverError::NotRegular(path) => RubygemsError::NotRegularFile { path },
        }
    }
}

/// The gems in `paths`: files are taken as given, directories are scanned (not recursively)
/// for `*.gem`, in name order. A path listed twice is returned once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RubygemsError> {
    Ok(super::files::discover(paths, |name| {
        name.ends_with(".gem")
    })?)
}

/// Describes one gem from its own specification. Blocking: reads the whole file (to hash it).
pub fn describe(path: &Path) -> Result<Gem, RubygemsError> {
    let (file, size) = super::files::open(path)?;
    describe_reader(path, BufReader::with_capacity(256 * 1024, file), size)
}

/// [`describe`] over any reader, read to its end: `name` names the gem in errors and becomes
/// [`Gem::path`]; `size` is its length in bytes (the bytes actually read win).
pub fn describe_reader<R: Read>(name: &Path, reader: R, size: u64) -> Result<Gem, RubygemsError> {
    let opened = archive::open(name, reader)?;
    let mut info = spec::parse(&opened.yaml).map_err(|reason| RubygemsError::InvalidSpec {
        path: name.to_path_buf(),
        reason,
    })?;
    Mapper::normalize_package(Ecosystem::Rubygems, &info.name).map_err(|e| {
        RubygemsError::InvalidName {
            path: name.to_path_buf(),
            name: info.name.clone(),
            reason: e.to_string(),
        }
    })?;
    info.version = GemVersion::parse(&info.version)
        .map_err(|e| RubygemsError::InvalidSpec {
            path: name.to_path_buf(),
            reason: e.to_string(),
        })?
        .as_str()
        .to_owned();
    info.sha256 = opened.sha256;
    let size = if opened.size > 0 { opened.size } else { size };
    Ok(Gem {
        path: name.to_path_buf(),
        file_name: info.file_name(),
        info,
        size,
    })
}

/// A gem requirement (`~> 13.0`), or a bare version meaning exactly it.
fn version_filter(_name: &str, spec: &str) -> Result<super::contract::VersionFilter, String> {
    let req = parse_requirement(spec).map_err(|e| e.to_string())?;
    Ok(Box::new(move |v| {
        select_version(&[v.to_owned()], Some(&req), true).is_some()
    }))
}

/// Rubygems's contract: what shared code asks about this ecosystem (`ecosystem::contract`).
pub static CONTRACT: super::contract::Contract = super::contract::Contract {
    name: "rubygems",
    summary: "Ruby gems",
    naming: &crate::mapper::rubygems::NAMING,
    sort_newest_first,
    read_release: crate::packages::rubygems::read_release,
    platforms: super::contract::Platforms::Annotation(crate::artifact::RUBYGEMS_PLATFORM),
    mirror_from: Some("rubygems.org, with its dependencies"),
    merge: super::contract::Merge::FileByFile(&crate::artifact::RUBYGEMS),
    version_filter,
    request_operators: &[],
    diagnose: super::contract::diagnose_as::<RubygemsError>,
    frontend: Some(|| Box::new(crate::proxy::rubygems::RubygemsFrontend)),
    provenance: None,
};

//! PyPI distributions: what a wheel or sdist file is. Finds distribution files in the paths a
//! user gives ([`discover`]), reads a file's name, version and core metadata from the file
//! itself ([`describe`]), rebuilds file names of PyOCI-pushed entries ([`file_name_for`]), and
//! chooses versions and wheels on pull ([`select_version`], [`is_compatible`]). No registry
//! I/O: laying files out in OCI is `artifact`, moving them is `store/`.
//!
//! Parsing lives in submodules that work on bytes and readers: `filename` (wheel and sdist
//! names), `archive` (the metadata member inside a zip or tar.gz), `metadata` (its header
//! fields), `version` (requirements and PEP 440 choice), `tags` (PEP 425 compatibility). Only
//! [`discover`] and [`describe`] touch the disk.

mod archive;
mod filename;
mod metadata;
pub mod requirements;
mod tags;
mod version;

#[cfg(test)]
mod describe_tests;

use super::files::{self, DiscoverError};
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;

pub use filename::{file_name_for, is_valid_name, normalize_name};
pub use metadata::CoreMetadata;
pub use tags::{Target, is_compatible};
pub use version::{
    Requirement, normalize_version, parse_requirement, select_version, sort_newest_first,
};

use filename::{Extension, WheelName, sdist_splits};

/// Whether a file is a built wheel or a source distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistKind {
    Wheel,
    Sdist,
}

/// One Python distribution file, described from its own contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonDist {
    pub path: PathBuf,
    pub file_name: String,
    /// The project name as written in the metadata `Name:` field.
    pub name: String,
    /// The PEP 440 normalized version from the metadata `Version:` field.
    pub version: String,
    pub kind: DistKind,
    /// PyOCI's platform "architecture": `.tar.gz` for an sdist (`.zip` for a legacy zip
    /// sdist), or the part of a wheel file name after `<name>-<version>-`
    /// (`py3-none-any.whl`).
    pub platform_arch: String,
    /// A wheel's `*.dist-info/METADATA`, byte for byte (served for PEP 658); `None` for sdists.
    pub metadata: Option<Vec<u8>>,
    pub requires_python: Option<String>,
    pub size: u64,
}

/// What can go wrong finding or reading a Python distribution. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PypiError {
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
        "{} contains no Python distributions (*.whl, *.tar.gz or *.zip)",
        path.display()
    )]
    EmptyDirectory { path: PathBuf },

    #[error(
        "{}: {reason}; expected <name>-<version>-<python tag>-<abi tag>-<platform tag>.whl or \
         <name>-<version>.tar.gz",
        path.display()
    )]
    InvalidFileName { path: PathBuf, reason: String },

    #[error("{} is not a valid zip archive", path.display())]
    NotZip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    #[error(
        "{} is not a readable gzip-compressed tar archive",
        path.display()
    )]
    NotGzipTar {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} contains the member `{member}`, an absolute path or one with a `..` component; \
         refusing the whole file (an archive with ../ paths could write outside its directory \
         when unpacked)",
        path.display()
    )]
    UnsafeMember { path: PathBuf, member: String },

    #[error(
        "{} has no {member}; it is not a valid Python distribution",
        path.display()
    )]
    MissingMetadata { path: PathBuf, member: String },

    #[error(
        "{} has more than one metadata member ({}); a wheel has exactly one .dist-info \
         directory",
        path.display(),
        members.join(", ")
    )]
    AmbiguousMetadata { path: PathBuf, members: Vec<String> },

    #[error("{}: cannot read the member `{member}`: {reason}", path.display())]
    CorruptMember {
        path: PathBuf,
        member: String,
        reason: String,
    },

    #[error(
        "{}: the metadata `{member}` has no `{field}:` field",
        path.display()
    )]
    MissingField {
        path: PathBuf,
        member: String,
        field: &'static str,
    },

    #[error(
        "{}: the metadata `Name: {name}` is not a valid project name (letters, digits, `.`, \
         `_`, `-`, starting and ending with a letter or digit)",
        path.display()
    )]
    InvalidName { path: PathBuf, name: String },

    #[error(
        "{}: the metadata `Version: {version}` is not a valid PEP 440 version",
        path.display()
    )]
    InvalidVersion {
        path: PathBuf,
        version: String,
        #[source]
        source: pep440_rs::VersionParseError,
    },

    #[error(
        "{}: the file name says {what} `{in_file_name}` but the metadata says `{in_metadata}`",
        path.display()
    )]
    Mismatch {
        path: PathBuf,
        what: &'static str,
        in_file_name: String,
        in_metadata: String,
    },

    #[error("invalid requirement `{requirement}`: {reason}")]
    InvalidRequirement { requirement: String, reason: String },
}

/// What to do about a file that could not be found, opened or read as a distribution.
impl crate::error::Diagnostic for PypiError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            PypiError::NotRegularFile { .. } => files::GIVE_THE_FILE,
            PypiError::NotFound { .. } => files::CHECK_THE_PATH,
            PypiError::EmptyDirectory { .. } => "build them first, e.g. with `python -m build`",
            PypiError::NotZip { .. } | PypiError::NotGzipTar { .. } => "re-download or rebuild it",
            PypiError::MissingMetadata { .. } => "rebuild it with a standard build backend",
            PypiError::AmbiguousMetadata { .. } => "rebuild it",
            PypiError::MissingField { .. } => "rebuild the distribution",
            PypiError::Mismatch { .. } => "rename the file to match or rebuild it",
            PypiError::Io { .. }
            | PypiError::InvalidFileName { .. }
            | PypiError::UnsafeMember { .. }
            | PypiError::CorruptMember { .. }
            | PypiError::InvalidName { .. }
            | PypiError::InvalidVersion { .. }
            | PypiError::InvalidRequirement { .. } => return Vec::new(),
        };
        vec![hint.to_owned()]
    }
}

impl From<DiscoverError> for PypiError {
    fn from(e: DiscoverError) -> Self {
        match e {
            DiscoverError::NotFound(path) => PypiError::NotFound { path },
            DiscoverError::Io(path, source) => PypiError::Io { path, source },
            DiscoverError::Empty(path) => PypiError::EmptyDirectory { path },
            DiscoverError::NotRegular(path) => PypiError::NotRegularFile { path },
        }
    }
}

/// The distribution files in `paths`: files are taken as given, directories are scanned (not
/// recursively) for `*.whl`, `*.tar.gz` and legacy `*.zip` sdists, in name order. A path
/// listed twice is returned once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PypiError> {
    Ok(super::files::discover(paths, |name| {
        Extension::of(name).is_some()
    })?)
}

/// Describe one distribution file from its own metadata. Blocking: reads the file.
pub fn describe(path: &Path) -> Result<PythonDist, PypiError> {
    let (file, size) = super::files::open(path)?;
    describe_reader(path, BufReader::new(file), size)
}

/// [`describe`] over any reader: `path` names the file (its last component is the file name)
/// and `size` is its length in bytes.
pub fn describe_reader<R: Read + Seek>(
    path: &Path,
    reader: R,
    size: u64,
) -> Result<PythonDist, PypiError> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| invalid_name(path, "the file name is missing or not UTF-8"))?
        .to_string();
    let extension = Extension::of(&file_name).ok_or_else(|| {
        invalid_name(
            path,
            "a Python distribution ends with .whl, .tar.gz or .zip",
        )
    })?;
    let (kind, member) = match extension {
        Extension::Wheel => {
            // Check the name before opening the archive: a bad name is the cheaper error.
            WheelName::parse(&file_name).map_err(|reason| invalid_name(path, &reason))?;
            (DistKind::Wheel, archive::wheel_metadata(path, reader)?)
        }
        Extension::TarGz => (
            DistKind::Sdist,
            archive::tar_gz_sdist_pkg_info(path, reader)?,
        ),
        Extension::Zip => (DistKind::Sdist, archive::zip_sdist_pkg_info(path, reader)?),
    };
    let fields = CoreMetadata::parse(&member.bytes);
    let missing = |field| PypiError::MissingField {
        path: path.to_path_buf(),
        member: member.name.clone(),
        field,
    };
    let name = fields.name.ok_or_else(|| missing("Name"))?;
    let raw_version = fields.version.ok_or_else(|| missing("Version"))?;
    if !is_valid_name(&name) {
        return Err(PypiError::InvalidName {
            path: path.to_path_buf(),
            name,
        });
    }
    let version = Version::from_str(&raw_version).map_err(|source| PypiError::InvalidVersion {
        path: path.to_path_buf(),
        version: raw_version.clone(),
        source,
    })?;
    let platform_arch = match kind {
        DistKind::Wheel => {
            let wheel = WheelName::parse(&file_name).map_err(|r| invalid_name(path, &r))?;
            check_agrees(path, &name, &version, wheel.name, wheel.version)?;
            wheel.rest.to_string()
        }
        DistKind::Sdist => {
            let suffix = extension.suffix();
            let stem = &file_name[..file_name.len() - suffix.len()];
            check_sdist_name(path, stem, &name, &version)?;
            suffix.to_string()
        }
    };
    Ok(PythonDist {
        path: path.to_path_buf(),
        file_name,
        name,
        version: version.to_string(),
        kind,
        platform_arch,
        metadata: (kind == DistKind::Wheel).then_some(member.bytes),
        requires_python: fields.requires_python,
        size,
    })
}

/// The `PKG-INFO` of an sdist (`.tar.gz` or legacy `.zip`), byte for byte, read within the
/// metadata limit (`limits::metadata_bytes`). Blocking: reads the file. `opp mirror` reads an
/// sdist's dependencies from it when no wheel states them.
pub fn sdist_pkg_info(path: &Path) -> Result<Vec<u8>, PypiError> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let extension = Extension::of(file_name);
    let (file, _) = super::files::open(path)?;
    let member = match extension {
        Some(Extension::TarGz) => archive::tar_gz_sdist_pkg_info(path, BufReader::new(file))?,
        Some(Extension::Zip) => archive::zip_sdist_pkg_info(path, BufReader::new(file))?,
        _ => return Err(invalid_name(path, "an sdist ends with .tar.gz or .zip")),
    };
    Ok(member.bytes)
}

fn invalid_name(path: &Path, reason: &str) -> PypiError {
    PypiError::InvalidFileName {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The name and version in a file name must be the metadata's, compared normalized
/// (PEP 503 names, PEP 440 versions).
fn check_agrees(
    path: &Path,
    name: &str,
    version: &Version,
    file_name_name: &str,
    file_name_version: &str,
) -> Result<(), PypiError> {
    let mismatch = |what, in_file_name: &str, in_metadata: String| PypiError::Mismatch {
        path: path.to_path_buf(),
        what,
        in_file_name: in_file_name.to_string(),
        in_metadata,
    };
    if normalize_name(file_name_name) != normalize_name(name) {
        return Err(mismatch("name", file_name_name, name.to_string()));
    }
    match Version::from_str(file_name_version) {
        Ok(v) if v == *version => Ok(()),
        Ok(_) => Err(mismatch("version", file_name_version, version.to_string())),
        Err(e) => Err(invalid_name(
            path,
            &format!("`{file_name_version}` in the file name is not a PEP 440 version ({e})"),
        )),
    }
}

/// An sdist stem may keep `-` in the project name, so any split into name and version that
/// agrees with the metadata will do.
fn check_sdist_name(
    path: &Path,
    stem: &str,
    name: &str,
    version: &Version,
) -> Result<(), PypiError> {
    let mut first_error = None;
    for (name_part, version_part) in sdist_splits(stem) {
        if Version::from_str(version_part).is_err() {
            continue;
        }
        match check_agrees(path, name, version, name_part, version_part) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        invalid_name(
            path,
            "an sdist file name is <name>-<version> followed by .tar.gz, with a PEP 440 version",
        )
    }))
}

/// PEP 440 operators that may follow a project name directly (`six==1.16.0`).
const REQUEST_OPERATORS: &[char] = &['=', '<', '>', '!', '~'];

/// A PEP 440 specifier (`>=5,<6`), or a bare version meaning exactly it.
fn version_filter(name: &str, spec: &str) -> Result<super::contract::VersionFilter, String> {
    let text = if spec.starts_with(REQUEST_OPERATORS) {
        format!("{name}{spec}")
    } else {
        format!("{name}=={spec}")
    };
    let req = parse_requirement(&text).map_err(|e| e.to_string())?;
    Ok(Box::new(move |v| {
        select_version(&[v.to_owned()], &req, true).is_some()
    }))
}

/// Pypi's contract: what shared code asks about this ecosystem (`ecosystem::contract`).
pub static CONTRACT: super::contract::Contract = super::contract::Contract {
    name: "pypi",
    summary: "Python wheels and sdists",
    naming: &crate::mapper::pypi::NAMING,
    sort_newest_first,
    read_release: crate::packages::pypi::read_release,
    platforms: super::contract::Platforms::None,
    mirror_from: Some("PyPI, with its dependencies"),
    merge: super::contract::Merge::FileByFile(&crate::artifact::PYPI),
    version_filter,
    request_operators: REQUEST_OPERATORS,
    diagnose: super::contract::diagnose_as::<PypiError>,
    frontend: Some(|| Box::new(crate::proxy::pypi::PypiFrontend)),
    provenance: None,
};

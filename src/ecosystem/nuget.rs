//! NuGet packages: what a `.nupkg` or `.snupkg` file is. Finds package files in the paths a
//! user gives ([`discover`]), reads id, version and dependencies from the `.nuspec` inside
//! ([`describe`], [`describe_reader`]), orders versions as NuGet does ([`NugetVersion`],
//! [`sort_newest_first`]) and chooses a version on pull ([`VersionRange`],
//! [`select_version`]). No registry I/O: laying files out in OCI is `artifact`, moving them
//! is `store/`, pushing them is `packages::nuget`.
//!
//! Parsing lives in submodules that work on bytes and readers: `archive` (the `.nuspec`
//! member of the zip), `nuspec` (its XML), `version` (NuGet.Versioning's ordering) and
//! `range` (its interval notation). Only [`discover`] and [`describe`] touch the disk.

mod archive;
mod nuspec;
mod range;
mod version;

#[cfg(test)]
mod describe_tests;

use super::files::{self, DiscoverError};
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use crate::mapper::{MapError, Mapper};
use crate::release::Ecosystem;

pub use nuspec::{Dependency, DependencyGroup, Nuspec, parse_nuspec};
pub use range::VersionRange;
pub use version::{NugetVersion, select_version, sort_newest_first};

/// Whether a file is a package or its symbols package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageKind {
    /// `.nupkg`: the package itself.
    Nupkg,
    /// `.snupkg`: the symbols package pushed beside a nupkg of the same id and version.
    Snupkg,
}

impl PackageKind {
    /// The kind a file name's extension says (case-insensitive), if any.
    pub fn of(file_name: &str) -> Option<PackageKind> {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".snupkg") {
            Some(PackageKind::Snupkg)
        } else if lower.ends_with(".nupkg") {
            Some(PackageKind::Nupkg)
        } else {
            None
        }
    }

    /// The extension, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            PackageKind::Nupkg => ".nupkg",
            PackageKind::Snupkg => ".snupkg",
        }
    }
}

/// One NuGet package file, described from its own `.nuspec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NugetPackage {
    pub path: PathBuf,
    /// The name the file is stored and pulled under: `<id>.<version>.nupkg` (or `.snupkg`),
    /// id and version as the nuspec spells them, whatever the file on disk is called.
    pub file_name: String,
    pub kind: PackageKind,
    /// The package id as the nuspec spells it.
    pub id: String,
    /// The NuGet-normalized version (`Mapper::normalize_version(Ecosystem::Nuget, ..)`).
    pub version: String,
    pub nuspec: Nuspec,
    /// The `.nuspec` member, byte for byte.
    pub nuspec_bytes: Vec<u8>,
    pub size: u64,
}

/// What can go wrong finding or reading a NuGet package. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum NugetError {
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
        "{} contains no NuGet packages (*.nupkg or *.snupkg)",
        path.display()
    )]
    EmptyDirectory { path: PathBuf },

    #[error(
        "{}: a NuGet package file name ends with .nupkg (or .snupkg for symbols)",
        path.display()
    )]
    InvalidFileName { path: PathBuf },

    #[error("{} is not a valid zip archive (a .nupkg is a zip)", path.display())]
    NotZip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    #[error(
        "{} contains the member `{member}`, an absolute path or one with a `..` component; \
         refusing the whole package (it could write outside its directory when unpacked)",
        path.display()
    )]
    UnsafeMember { path: PathBuf, member: String },

    #[error(
        "{} has no .nuspec at the root of the archive; it is not a NuGet package",
        path.display()
    )]
    MissingNuspec { path: PathBuf },

    #[error(
        "{} has more than one .nuspec at the root ({}); a package has exactly one",
        path.display(),
        members.join(", ")
    )]
    AmbiguousNuspec { path: PathBuf, members: Vec<String> },

    #[error("{}: cannot read the member `{member}`: {reason}", path.display())]
    CorruptMember {
        path: PathBuf,
        member: String,
        reason: String,
    },

    #[error("{}: `{member}` is not a valid nuspec: {reason}", path.display())]
    InvalidNuspec {
        path: PathBuf,
        member: String,
        reason: String,
    },

    #[error("{}: the package id `{id}` is not a valid NuGet id", path.display())]
    InvalidId {
        path: PathBuf,
        id: String,
        #[source]
        source: MapError,
    },

    #[error(
        "{}: the version `{version}` is not a valid NuGet version",
        path.display()
    )]
    InvalidVersion {
        path: PathBuf,
        version: String,
        #[source]
        source: MapError,
    },

    #[error("the nuspec XML is malformed: {0}")]
    Xml(String),

    #[error("the nuspec has no {0}")]
    MissingField(&'static str),

    #[error("`{range}` is not a NuGet version range: {reason}")]
    InvalidRange {
        range: String,
        reason: String,
        /// What to do, when the reason has one remedy.
        hint: Option<&'static str>,
    },
}

/// What to do about a file that could not be found, opened or read as a NuGet package.
impl crate::error::Diagnostic for NugetError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            NugetError::NotRegularFile { .. } => files::GIVE_THE_FILE,
            NugetError::NotFound { .. } => files::CHECK_THE_PATH,
            NugetError::EmptyDirectory { .. } => {
                "build them first, e.g. with `dotnet pack` or `nuget pack`"
            }
            NugetError::NotZip { .. } | NugetError::AmbiguousNuspec { .. } => "rebuild it",
            NugetError::MissingNuspec { .. } => "rebuild it with `dotnet pack` or `nuget pack`",
            NugetError::InvalidNuspec { .. } => "fix it and pack again",
            NugetError::InvalidId { .. } => "fix <id> in the nuspec",
            NugetError::InvalidVersion { .. } => "fix <version> in the nuspec",
            NugetError::InvalidRange {
                hint: Some(hint), ..
            } => hint,
            NugetError::Io { .. }
            | NugetError::InvalidFileName { .. }
            | NugetError::UnsafeMember { .. }
            | NugetError::CorruptMember { .. }
            | NugetError::Xml(_)
            | NugetError::MissingField(_)
            | NugetError::InvalidRange { hint: None, .. } => return Vec::new(),
        };
        vec![hint.to_owned()]
    }
}

impl From<DiscoverError> for NugetError {
    fn from(e: DiscoverError) -> Self {
        match e {
            DiscoverError::NotFound(path) => NugetError::NotFound { path },
            DiscoverError::Io(path, source) => NugetError::Io { path, source },
            DiscoverError::Empty(path) => NugetError::EmptyDirectory { path },
            DiscoverError::NotRegular(path) => NugetError::NotRegularFile { path },
        }
    }
}

/// The package files in `paths`: files are taken as given, directories are scanned (not
/// recursively) for `*.nupkg` and `*.snupkg`, in name order. A path listed twice is returned
/// once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, NugetError> {
    Ok(super::files::discover(paths, |name| {
        PackageKind::of(name).is_some()
    })?)
}

/// Describe one package file from its own nuspec. Blocking: reads the file.
pub fn describe(path: &Path) -> Result<NugetPackage, NugetError> {
    let (file, size) = super::files::open(path)?;
    describe_reader(path, BufReader::new(file), size)
}

/// [`describe`] over any reader (the proxy's uploads): `name` names the file (its last
/// component is the file name) and `size` is its length in bytes.
pub fn describe_reader<R: Read + Seek>(
    name: &Path,
    reader: R,
    size: u64,
) -> Result<NugetPackage, NugetError> {
    let path = name;
    let kind = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(PackageKind::of)
        .ok_or_else(|| NugetError::InvalidFileName {
            path: path.to_path_buf(),
        })?;
    let member = archive::nuspec(path, reader)?;
    let nuspec = parse_nuspec(&member.bytes).map_err(|e| NugetError::InvalidNuspec {
        path: path.to_path_buf(),
        member: member.name.clone(),
        reason: e.to_string(),
    })?;
    Mapper::normalize_package(Ecosystem::Nuget, &nuspec.id).map_err(|source| {
        NugetError::InvalidId {
            path: path.to_path_buf(),
            id: nuspec.id.clone(),
            source,
        }
    })?;
    let version =
        Mapper::normalize_version(Ecosystem::Nuget, &nuspec.version).map_err(|source| {
            NugetError::InvalidVersion {
                path: path.to_path_buf(),
                version: nuspec.version.clone(),
                source,
            }
        })?;
    Ok(NugetPackage {
        path: path.to_path_buf(),
        // The stored name comes from the nuspec, not from the file the user has (the proxy's
        // uploads have none): `<id>.<version>.nupkg` as the nuspec spells them.
        file_name: format!("{}.{}{}", nuspec.id, nuspec.version, kind.extension()),
        kind,
        id: nuspec.id.clone(),
        version,
        nuspec,
        nuspec_bytes: member.bytes,
        size,
    })
}

/// A NuGet version range (`[13.0,14.0)`), or a bare version meaning exactly it.
fn version_filter(_name: &str, spec: &str) -> Result<super::contract::VersionFilter, String> {
    let range = if spec.starts_with(['[', '(']) {
        VersionRange::parse(spec).map_err(|e| e.to_string())?
    } else {
        let normalized =
            crate::mapper::Mapper::normalize_version(crate::release::Ecosystem::Nuget, spec)
                .map_err(|e| e.to_string())?;
        let exact = NugetVersion::parse(&normalized)
            .ok_or_else(|| format!("`{spec}` is not a NuGet version"))?;
        VersionRange::exact(exact)
    };
    Ok(Box::new(move |v| {
        select_version(&[v.to_owned()], Some(&range), true).is_some()
    }))
}

/// Nuget's contract: what shared code asks about this ecosystem (`ecosystem::contract`).
pub static CONTRACT: super::contract::Contract = super::contract::Contract {
    name: "nuget",
    summary: "NuGet packages (ID)",
    naming: &crate::mapper::nuget::NAMING,
    sort_newest_first,
    read_release: crate::packages::nuget::read_release,
    platforms: super::contract::Platforms::None,
    mirror_from: Some("nuget.org, with its dependencies"),
    merge: super::contract::Merge::FileByFile(&crate::artifact::NUGET),
    version_filter,
    request_operators: &[],
    diagnose: super::contract::diagnose_as::<NugetError>,
    frontend: Some(|| Box::new(crate::proxy::nuget::NugetFrontend)),
    provenance: None,
};

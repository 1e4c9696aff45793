//! The `.nuspec` manifest inside a package: id, version, descriptive fields and dependency
//! groups, read with `roxmltree`. Elements are matched by local name, since the namespace
//! changes with the schema version (`nuspec.xsd` 2010/07 ... 2013/05). Pure: bytes in, a
//! [`Nuspec`] out; finding the member in the zip is `archive`.

use super::NugetError;

/// What opp reads from a nuspec's `<metadata>`. Strings are as written (trimmed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nuspec {
    pub id: String,
    /// The version as written (normalizing is the mapper's job).
    pub version: String,
    pub title: Option<String>,
    pub authors: Option<String>,
    pub owners: Option<String>,
    pub description: Option<String>,
    pub summary: Option<String>,
    pub release_notes: Option<String>,
    pub copyright: Option<String>,
    pub language: Option<String>,
    pub tags: Option<String>,
    pub project_url: Option<String>,
    pub icon_url: Option<String>,
    /// `<license>`'s text: an SPDX expression or a file path in the package.
    pub license: Option<String>,
    /// `<license type="...">`: `expression` or `file`.
    pub license_type: Option<String>,
    pub license_url: Option<String>,
    /// `<repository url="...">`.
    pub repository_url: Option<String>,
    pub require_license_acceptance: bool,
    pub min_client_version: Option<String>,
    /// `<packageTypes><packageType name="..."/>` (e.g. `Dependency`, `SymbolsPackage`).
    pub package_types: Vec<String>,
    pub dependency_groups: Vec<DependencyGroup>,
}

/// One `<group>` of `<dependencies>` (or the flat legacy list, as one group with no
/// framework).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyGroup {
    pub target_framework: Option<String>,
    pub dependencies: Vec<Dependency>,
}

/// One `<dependency id=".." version=".."/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub id: String,
    /// The version range as written; `None` means any version.
    pub range: Option<String>,
}

/// Parses a nuspec's XML.
pub fn parse_nuspec(xml: &[u8]) -> Result<Nuspec, NugetError> {
    let _ = xml;
    todo!()
}

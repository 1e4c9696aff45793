//! NuGet versions as NuGet.Versioning orders them: up to four numbers compared numerically,
//! then a version without pre-release labels above one with them, labels compared one by one
//! (numeric ones numerically and below alphanumeric ones, alphanumeric ones
//! case-insensitively, fewer labels first); build metadata ignored. Also choosing a version
//! for pull. Pure; validity and the normalized spelling come from the mapper.

use std::cmp::Ordering;
use std::fmt;

use super::VersionRange;

/// A parsed NuGet version. Equality and order are NuGet's (case-insensitive, metadata
/// ignored); `Display` is the normalized, lowercased form the mapper uses for tags.
#[derive(Clone, Debug)]
pub struct NugetVersion {
    numbers: [u32; 4],
    labels: Vec<String>,
    normalized: String,
}

impl NugetVersion {
    /// Parses any version NuGet accepts (`1`, `1.0`, `1.0.0.0`, `1.0.0-beta.1+build`).
    pub fn parse(s: &str) -> Option<NugetVersion> {
        let _ = s;
        todo!()
    }

    /// Whether the version has pre-release labels.
    pub fn is_prerelease(&self) -> bool {
        !self.labels.is_empty()
    }
}

impl fmt::Display for NugetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl PartialEq for NugetVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NugetVersion {}

impl PartialOrd for NugetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NugetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let _ = (&self.numbers, &other.labels);
        todo!()
    }
}

/// Sorts versions newest first by NuGet's order; strings that do not parse go last.
pub fn sort_newest_first(versions: &mut [String]) {
    let _ = versions;
    todo!()
}

/// The newest of `versions` inside `range` (any version without one). Pre-releases count
/// only with `prerelease`, or when a bound of the range is itself a pre-release (as NuGet
/// resolves `[1.0.0-beta]`).
pub fn select_version(
    versions: &[String],
    range: Option<&VersionRange>,
    prerelease: bool,
) -> Option<String> {
    let _ = (versions, range, prerelease);
    todo!()
}

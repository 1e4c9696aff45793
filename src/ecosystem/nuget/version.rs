//! NuGet versions as NuGet.Versioning orders them: up to four numbers compared numerically,
//! then a version without pre-release labels above one with them, labels compared one by one
//! (numeric ones numerically and below alphanumeric ones, alphanumeric ones
//! case-insensitively, fewer labels first); build metadata ignored. Also choosing a version
//! for pull. Pure; validity and the normalized spelling come from the mapper.

use std::cmp::Ordering;
use std::fmt;

use super::VersionRange;
use crate::mapper::Mapper;
use crate::release::Ecosystem;

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
        // The mapper holds the grammar and the normalized spelling; this reads that back.
        let normalized = Mapper::normalize_version(Ecosystem::Nuget, s.trim()).ok()?;
        let (numbers, labels) = match normalized.split_once('-') {
            Some((numbers, labels)) => (numbers, labels.split('.').map(str::to_owned).collect()),
            None => (normalized.as_str(), Vec::new()),
        };
        let mut parsed = [0u32; 4];
        for (slot, part) in parsed.iter_mut().zip(numbers.split('.')) {
            *slot = part.parse().ok()?;
        }
        Some(NugetVersion {
            numbers: parsed,
            labels,
            normalized,
        })
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
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                // A release sorts above its pre-releases.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_labels(&self.labels, &other.labels),
            }
        })
    }
}

/// Pre-release labels one by one (both are lowercased, numeric ones have no leading zeros);
/// when one list is a prefix of the other, the shorter sorts first.
fn compare_labels(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let numeric = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        let order = match (numeric(x), numeric(y)) {
            // No leading zeros, so the longer number is the larger one.
            (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Sorts versions newest first by NuGet's order; strings that do not parse go last.
pub fn sort_newest_first(versions: &mut [String]) {
    // `None` sorts below every `Some`, so reversing puts strings that do not parse last.
    versions.sort_by_cached_key(|v| std::cmp::Reverse(NugetVersion::parse(v)));
}

/// The newest of `versions` inside `range` (any version without one). Pre-releases count
/// only with `prerelease`, or when a bound of the range is itself a pre-release (as NuGet
/// resolves `[1.0.0-beta]`).
pub fn select_version(
    versions: &[String],
    range: Option<&VersionRange>,
    prerelease: bool,
) -> Option<String> {
    let bound_is_prerelease = range.is_some_and(|r| {
        [&r.min, &r.max]
            .into_iter()
            .flatten()
            .any(NugetVersion::is_prerelease)
    });
    let allow_prerelease = prerelease || bound_is_prerelease;
    versions
        .iter()
        .filter_map(|v| NugetVersion::parse(v).map(|parsed| (parsed, v)))
        .filter(|(parsed, _)| allow_prerelease || !parsed.is_prerelease())
        .filter(|(parsed, _)| range.is_none_or(|r| r.contains(parsed)))
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> NugetVersion {
        NugetVersion::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn versions_order_as_nuget_versioning_does() {
        // Ascending, each strictly above the one before (NuGet.Versioning's VersionComparer).
        let ascending = [
            "0.9",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
            "1.2",
            "1.10",
            "2.0.0-1",
            "2.0.0-a",
            "2.0.0",
        ];
        for pair in ascending.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn equal_versions_differ_only_in_spelling() {
        assert_eq!(v("1.0"), v("1.0.0.0"));
        assert_eq!(v("1.01.0"), v("1.1"));
        assert_eq!(v("1.0.0-BETA"), v("1.0.0-beta"));
        assert_eq!(v("1.0.0+build.1"), v("1.0.0+other"));
        assert_eq!(v("1.0.0-Beta+x").to_string(), "1.0.0-beta");
        assert_eq!(v("13.0.1.0").to_string(), "13.0.1");
        assert!(v("1.0.0-rc").is_prerelease());
        assert!(!v("1.0.0+rc").is_prerelease());
    }

    #[test]
    fn what_nuget_cannot_parse_is_refused() {
        for bad in [
            "",
            "a",
            "1.0.0.0.0",
            "1..0",
            "1.0-",
            "v1.0",
            "1.0.0-beta.01",
            "1.*",
        ] {
            assert!(NugetVersion::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sorting_puts_the_newest_first_and_junk_last() {
        let mut versions: Vec<String> = ["1.0.0", "junk", "2.0.0-beta", "1.10.0", "2.0.0", "1.9.0"]
            .map(String::from)
            .to_vec();
        sort_newest_first(&mut versions);
        assert_eq!(
            versions,
            ["2.0.0", "2.0.0-beta", "1.10.0", "1.9.0", "1.0.0", "junk"]
        );
    }

    #[test]
    fn selection_takes_the_newest_in_range_and_skips_prereleases_unless_asked() {
        let versions: Vec<String> = ["1.0.0", "1.5.0", "2.0.0-beta", "2.0.0", "3.0.0-rc.1"]
            .map(String::from)
            .to_vec();
        let range = |s: &str| VersionRange::parse(s).unwrap();
        assert_eq!(
            select_version(&versions, None, false).as_deref(),
            Some("2.0.0")
        );
        assert_eq!(
            select_version(&versions, None, true).as_deref(),
            Some("3.0.0-rc.1")
        );
        let below_two = range("[1.0,2.0)");
        assert_eq!(
            select_version(&versions, Some(&below_two), false).as_deref(),
            Some("1.5.0")
        );
        // 2.0.0-beta < 2.0.0, so it is inside [1.0,2.0) and wins with --prerelease.
        assert_eq!(
            select_version(&versions, Some(&below_two), true).as_deref(),
            Some("2.0.0-beta")
        );
        // A pre-release bound lets pre-releases in, as NuGet does.
        let exact_beta = range("[2.0.0-beta]");
        assert_eq!(
            select_version(&versions, Some(&exact_beta), false).as_deref(),
            Some("2.0.0-beta")
        );
        assert_eq!(
            select_version(&versions, Some(&range("[4.0,)")), true),
            None
        );
        assert_eq!(select_version(&[], None, true), None);
    }
}

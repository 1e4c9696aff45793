//! Choosing among the versions of a project: parsing a requirement (`attrs>=23,<24`), picking
//! the newest version that matches it with pip's pre-release rules, and sorting versions in
//! PEP 440 order. Versions and specifiers are `pep440_rs`'s; this module adds only the rules
//! pip layers on top.

use std::cmp::Reverse;
use std::str::FromStr;

use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};

use super::PypiError;
use super::filename::is_valid_name;

/// A project and, optionally, which of its versions are wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// The project name as written (not normalized).
    pub name: String,
    pub specifiers: Option<VersionSpecifiers>,
}

/// Parse `name` or `name<specifiers>` (`attrs`, `attrs==23.1.0`, `attrs>=23,<24`,
/// `Attrs ~= 23.1`, `attrs (>=23)`). Extras, URLs and environment markers are refused: they
/// say nothing about which files to fetch.
pub fn parse_requirement(s: &str) -> Result<Requirement, PypiError> {
    let invalid = |reason: String| PypiError::InvalidRequirement {
        requirement: s.to_string(),
        reason,
    };
    let trimmed = s.trim();
    let name_end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(trimmed.len());
    let (name, rest) = trimmed.split_at(name_end);
    if name.is_empty() {
        return Err(invalid(
            "it does not start with a project name (letters, digits, `.`, `_`, `-`)".to_string(),
        ));
    }
    if !is_valid_name(name) {
        return Err(invalid(format!(
            "`{name}` is not a valid project name: it must start and end with a letter or digit"
        )));
    }
    let mut rest = rest.trim();
    if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        rest = inner.trim();
    }
    let specifiers = match rest.chars().next() {
        None => None,
        Some('[') => {
            return Err(invalid(
                "extras (`[...]`) are not supported here".to_string(),
            ));
        }
        Some('@') => {
            return Err(invalid(
                "URL requirements are not supported here".to_string(),
            ));
        }
        Some(';') => {
            return Err(invalid(
                "environment markers (`; ...`) are not supported here".to_string(),
            ));
        }
        Some(c) if !matches!(c, '<' | '>' | '=' | '!' | '~') => {
            return Err(invalid(format!(
                "expected a version specifier such as `{name}==1.0` or `{name}>=1.0` after the name"
            )));
        }
        Some(_) => Some(VersionSpecifiers::from_str(rest).map_err(|e| {
            let message = e.to_string();
            invalid(message.lines().next().unwrap_or_default().to_string())
        })?),
    };
    Ok(Requirement {
        name: name.to_string(),
        specifiers,
    })
}

/// Whether a specifier names a pre-release in a way that lets pre-releases match, as
/// `packaging.specifiers.Specifier.prereleases` decides: only `==`, `===`, `>=`, `<=` and
/// `~=` count (`!=1.0a1`, `<2.0b1` and `>1.0rc1` do not).
fn names_prerelease(specifier: &VersionSpecifier) -> bool {
    matches!(
        specifier.operator(),
        Operator::Equal
            | Operator::EqualStar
            | Operator::ExactEqual
            | Operator::GreaterThanEqual
            | Operator::LessThanEqual
            | Operator::TildeEqual
    ) && specifier.version().any_prerelease()
}

/// The newest version (PEP 440 order) that matches `req`, or `None`.
///
/// Pre-releases (and dev releases) are considered when `pre` is set or when a specifier names
/// one (`>=2.0b1`). With no specifier at all they are also chosen when the project has no
/// final release, as pip 23 does (`packaging` 21-24 `SpecifierSet("").filter`); with a
/// specifier there is no such fallback (`x>=1.5` against `1.0, 2.0rc1` gives `None`).
/// Strings that are not PEP 440 versions are skipped. A local version matches a specifier
/// without one (`==1.0` matches `1.0+cpu`, and is then the newer of the two).
pub fn select_version(versions: &[String], req: &Requirement, pre: bool) -> Option<String> {
    let allow_pre = pre
        || req
            .specifiers
            .as_ref()
            .is_some_and(|specs| specs.iter().any(names_prerelease));
    let matching: Vec<(Version, &String)> = versions
        .iter()
        .filter_map(|v| Version::from_str(v).ok().map(|parsed| (parsed, v)))
        .filter(|(parsed, _)| {
            req.specifiers
                .as_ref()
                .is_none_or(|specs| specs.contains(parsed))
        })
        .collect();
    let newest = |include_pre: bool| {
        matching
            .iter()
            .filter(|(parsed, _)| include_pre || !parsed.any_prerelease())
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, original)| (*original).clone())
    };
    let unconstrained = req.specifiers.as_ref().is_none_or(|specs| specs.is_empty());
    newest(allow_pre).or_else(|| unconstrained.then(|| newest(true)).flatten())
}

/// Sort newest first in PEP 440 order; strings that do not parse go last, in their original
/// order.
pub fn sort_newest_first(versions: &mut [String]) {
    versions.sort_by_cached_key(|v| {
        let parsed = Version::from_str(v).ok();
        (parsed.is_none(), Reverse(parsed))
    });
}

/// The PEP 440 normalized form of a version (`1.0.0-RC1` -> `1.0.0rc1`).
pub fn normalize_version(version: &str) -> Result<String, pep440_rs::VersionParseError> {
    Version::from_str(version).map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Requirement {
        parse_requirement(s).unwrap()
    }

    fn versions(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn pick(list: &[&str], requirement: &str, pre: bool) -> Option<String> {
        select_version(&versions(list), &req(requirement), pre)
    }

    #[test]
    fn requirements_parse_in_the_forms_users_type() {
        assert_eq!(
            req("attrs"),
            Requirement {
                name: "attrs".into(),
                specifiers: None
            }
        );
        assert_eq!(req("attrs==23.1.0").specifiers.unwrap().len(), 1);
        assert_eq!(req("attrs>=23,<24").specifiers.unwrap().len(), 2);
        let r = req("Attrs ~= 23.1");
        assert_eq!(r.name, "Attrs");
        assert_eq!(r.specifiers.unwrap().to_string(), "~=23.1");
        assert_eq!(req(" zope.interface (>=5) ").name, "zope.interface");
    }

    #[test]
    fn bad_requirements_say_what_is_wrong() {
        for (bad, needle) in [
            ("", "project name"),
            ("-attrs", "valid project name"),
            ("attrs[tests]>=1", "extras"),
            ("attrs @ https://x", "URL"),
            ("attrs; python_version>'3'", "markers"),
            ("attrs 23", "attrs==1.0"),
            ("attrs>=", "attrs>="),
            ("attrs~=23", "attrs~=23"),
        ] {
            let message = parse_requirement(bad).unwrap_err().to_string();
            assert!(message.contains(needle), "{bad:?}: {message}");
        }
    }

    #[test]
    fn select_picks_the_newest_match_in_pep_440_order() {
        let list = ["1.9", "1.10", "1.2", "not-a-version", "2.0"];
        assert_eq!(pick(&list, "attrs", false).as_deref(), Some("2.0"));
        assert_eq!(pick(&list, "attrs<2", false).as_deref(), Some("1.10"));
        assert_eq!(pick(&list, "attrs>3", false), None);
    }

    #[test]
    fn pre_releases_need_the_flag_or_a_specifier_that_names_one() {
        let list = ["1.0", "2.0b1", "2.0.dev1"];
        assert_eq!(pick(&list, "x", false).as_deref(), Some("1.0"));
        assert_eq!(pick(&list, "x", true).as_deref(), Some("2.0b1"));
        assert_eq!(pick(&list, "x>=2.0b1", false).as_deref(), Some("2.0b1"));
        assert_eq!(
            pick(&list, "x==2.0.dev1", false).as_deref(),
            Some("2.0.dev1")
        );
        // `!=` and `<` naming a pre-release do not let pre-releases in.
        assert_eq!(pick(&list, "x!=2.0b1", false).as_deref(), Some("1.0"));
        assert_eq!(pick(&list, "x<3.0a1", false).as_deref(), Some("1.0"));
    }

    #[test]
    fn pre_releases_are_chosen_when_the_project_has_no_final_release() {
        assert_eq!(
            pick(&["0.1a1", "0.1a2"], "x", false).as_deref(),
            Some("0.1a2")
        );
        // With a specifier, as in pip 23.2.1: `x>=1.5` finds nothing, `--pre` is needed.
        assert_eq!(pick(&["1.0", "2.0rc1"], "x>=1.5", false), None);
        assert_eq!(
            pick(&["1.0", "2.0rc1"], "x>=1.5", true).as_deref(),
            Some("2.0rc1")
        );
    }

    #[test]
    fn compatible_release_stays_within_the_series() {
        let list = ["23.1.0", "23.2.0", "24.1.0", "23.1.5"];
        assert_eq!(pick(&list, "x~=23.1", false).as_deref(), Some("23.2.0"));
        assert_eq!(pick(&list, "x~=23.1.0", false).as_deref(), Some("23.1.5"));
    }

    #[test]
    fn equality_ignores_local_versions_unless_it_names_one() {
        let list = ["1.0", "1.0+cpu", "1.1"];
        assert_eq!(pick(&list, "x==1.0", false).as_deref(), Some("1.0+cpu"));
        assert_eq!(pick(&list, "x==1.0+cpu", false).as_deref(), Some("1.0+cpu"));
        assert_eq!(pick(&["1.0"], "x==1.0+cpu", false), None);
        assert_eq!(pick(&list, "x==1.*", false).as_deref(), Some("1.1"));
    }

    #[test]
    fn not_equal_excludes_a_version() {
        let list = ["1.0", "1.1", "1.2"];
        assert_eq!(pick(&list, "x!=1.2", false).as_deref(), Some("1.1"));
        assert_eq!(pick(&list, "x!=1.*", false), None);
    }

    #[test]
    fn the_original_spelling_is_returned() {
        assert_eq!(
            pick(&["1.0.0-RC1"], "x", true).as_deref(),
            Some("1.0.0-RC1")
        );
    }

    #[test]
    fn sorting_is_newest_first_with_unparsable_last() {
        let mut list = versions(&["1.0", "zzz", "1.10", "1.0rc1", "latest", "1.2", "1!0.1"]);
        sort_newest_first(&mut list);
        assert_eq!(
            list,
            versions(&["1!0.1", "1.10", "1.2", "1.0", "1.0rc1", "zzz", "latest"])
        );
    }

    #[test]
    fn versions_normalize() {
        assert_eq!(normalize_version("1.0.0-RC1").unwrap(), "1.0.0rc1");
        assert_eq!(normalize_version("v2.0-post1").unwrap(), "2.0.post1");
        assert!(normalize_version("one").is_err());
    }
}

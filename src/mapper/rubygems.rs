//! RubyGems' rules for the mapper: gem names (lowercased in the repository) and gem versions
//! as `Gem::Version` accepts and spells them. Nothing about `.gem` files or the compact index.

use super::Problem;
use super::naming::{self, Naming};
use super::template::{Symbol, Vocabulary};

/// RubyGems' naming: normalized names and versions are valid OCI names and tags as they are.
pub static NAMING: Naming = Naming {
    normalize_package,
    normalize_version,
    tag_text: naming::same,
    version_text: naming::same,
    default_path: "${name}",
    vocabulary: Vocabulary {
        allowed: &[Symbol::Name],
        required: &[Symbol::Name],
        value_char: |_, c| is_repository_char(c),
    },
    values: naming::name_value,
    package: naming::name_package,
};

/// `Gem::Specification`'s name rule (`[a-zA-Z0-9._-]+`, not starting with `.`, `-` or `_`),
/// lowercased.
pub(super) fn normalize_package(name: &str) -> Result<String, Problem> {
    let Some(first) = name.chars().next() else {
        return Err(Problem::invalid("a gem name cannot be empty"));
    };
    if let Some(ch) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(Problem::character(ch, "is not allowed in gem names"));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(Problem::character(first, "cannot start a gem name"));
    }
    Ok(name.to_ascii_lowercase())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// Whether a repository value made from a normalized name can contain `c`.
pub(super) fn is_repository_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
}

/// A version matching `Gem::Version`'s
/// `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`, spelled as `Gem::Version#to_s`
/// spells it: every `-` becomes `.pre.` (`1.0-rc1` -> `1.0.pre.rc1`). Case is kept: RubyGems
/// compares versions case-sensitively.
pub(super) fn normalize_version(version: &str) -> Result<String, Problem> {
    if let Some(ch) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
    {
        return Err(Problem::character(ch, "is not allowed in gem versions"));
    }
    let (release, pre) = match version.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (version, None),
    };
    let mut segments = release.split('.');
    let leading = segments.next().unwrap_or_default();
    if leading.is_empty() || !leading.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::invalid("a gem version starts with a number"));
    }
    if segments.any(str::is_empty) {
        return Err(Problem::invalid("a gem version has no empty segments"));
    }
    for segment in pre.iter().flat_map(|pre| pre.split('.')) {
        if segment.is_empty() {
            return Err(Problem::invalid(
                "a gem version has no empty pre-release segments",
            ));
        }
        // Each `-` becomes `.pre.`, so these would spell an empty segment.
        if segment.starts_with('-') || segment.ends_with('-') || segment.contains("--") {
            return Err(Problem::character(
                '-',
                "cannot start, end or be doubled in a gem pre-release segment",
            ));
        }
    }
    Ok(version.replace('-', ".pre."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased() {
        assert_eq!(normalize_package("Rails").unwrap(), "rails");
        assert_eq!(
            normalize_package("net-http_persistent.x").unwrap(),
            "net-http_persistent.x"
        );
        let offending = |n: &str| normalize_package(n).unwrap_err().offending_char();
        assert_eq!(offending("-rails"), Some('-'));
        assert_eq!(offending("ra ils"), Some(' '));
        assert_eq!(offending("rails/x"), Some('/'));
    }

    #[test]
    fn versions_are_spelled_as_gem_version_does() {
        let n = |v: &str| normalize_version(v).unwrap();
        assert_eq!(n("7.1.3"), "7.1.3");
        assert_eq!(n("1.0.0.rc1"), "1.0.0.rc1");
        assert_eq!(n("1.0-rc-1"), "1.0.pre.rc.pre.1");
        assert_eq!(n("2.0.0.BETA"), "2.0.0.BETA");
        assert!(normalize_version("a1").is_err());
        assert!(normalize_version("1..2").is_err());
        assert!(normalize_version("1.").is_err());
        assert!(normalize_version("1-").is_err());
        assert!(normalize_version("1.0--x").is_err());
        assert!(normalize_version("1.0-x-").is_err());
        assert!(normalize_version("").is_err());
        assert_eq!(
            normalize_version("1.0+x").unwrap_err().offending_char(),
            Some('+')
        );
    }
}

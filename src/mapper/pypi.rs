//! PyPI's rules for the mapper: PEP 508 names normalized per PEP 503, PEP 440 versions
//! normalized by `pep440_rs`, and their OCI spelling as PyOCI writes it (`-` -> `_` in the
//! repository name, `+` -> `-` in the tag). Nothing about files or metadata.

use std::str::FromStr;

use pep440_rs::Version;

use super::Problem;
use super::naming::{Naming, Value, Values};
use super::template::{Symbol, Vocabulary};

/// PyPI's naming, as PyOCI spells it in OCI.
pub static NAMING: Naming = Naming {
    normalize_package,
    normalize_version,
    tag_text,
    version_text,
    default_path: "${name}",
    vocabulary: Vocabulary {
        allowed: &[Symbol::Name],
        required: &[Symbol::Name],
        value_char: |_, c| is_component_char(c),
    },
    values: |normalized| vec![Value::stated(Symbol::Name, repository_name(normalized))],
    package: |values: &Values| values.get(Symbol::Name).map(package_name),
};

/// PEP 503: lowercase, every run of `-`, `_`, `.` becomes one `-`. The name must be a valid
/// PEP 508 name: ASCII letters and digits, with `-`, `_`, `.` only between them.
pub(super) fn normalize_package(name: &str) -> Result<String, Problem> {
    let (Some(first), Some(last)) = (name.chars().next(), name.chars().last()) else {
        return Err(Problem::invalid("a Python package name cannot be empty"));
    };
    if let Some(ch) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(Problem::character(
            ch,
            "is not allowed in Python package names",
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(Problem::character(
            first,
            "cannot start a Python package name",
        ));
    }
    if !last.is_ascii_alphanumeric() {
        return Err(Problem::character(last, "cannot end a Python package name"));
    }
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            normalized.push(c.to_ascii_lowercase());
        } else if !normalized.ends_with('-') {
            normalized.push('-');
        }
    }
    Ok(normalized)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// The repository path component of a normalized name, as PyOCI names it.
pub(super) fn repository_name(normalized: &str) -> String {
    normalized.replace('-', "_")
}

/// The normalized name a repository path component stands for.
pub(super) fn package_name(component: &str) -> String {
    component.replace('_', "-")
}

/// Whether a repository component made by [`repository_name`] can contain `c`.
pub(super) fn is_component_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// The PEP 440 normalized form (`1.0-RC1` -> `1.0rc1`, `v1.01` -> `1.1`).
pub(super) fn normalize_version(version: &str) -> Result<String, Problem> {
    if let Some(ch) = version.chars().find(|c| !is_version_char(*c)) {
        return Err(Problem::character(ch, "is not allowed in Python versions"));
    }
    Version::from_str(version)
        .map(|v| v.to_string())
        .map_err(|e| Problem::invalid(format!("not a PEP 440 version: {e}")))
}

/// Every character PEP 440 accepts in some spelling of a version (whitespace aside).
fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '!')
}

/// A normalized version never contains `-`, so PyOCI writes the local-version `+` as `-`.
pub(super) fn tag_text(normalized: &str) -> String {
    normalized.replace('+', "-")
}

/// The version text a tag stands for.
pub(super) fn version_text(tag: &str) -> String {
    tag.replace('-', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_as_pep_503_says() {
        assert_eq!(normalize_package("Foo.Bar_baz").unwrap(), "foo-bar-baz");
        assert_eq!(
            normalize_package("zope.interface").unwrap(),
            "zope-interface"
        );
        assert_eq!(normalize_package("a-_.-b").unwrap(), "a-b");
        assert_eq!(normalize_package("Six").unwrap(), "six");
        assert_eq!(normalize_package("x").unwrap(), "x");
    }

    #[test]
    fn invalid_names_name_the_character() {
        let offending = |n: &str| normalize_package(n).unwrap_err().offending_char();
        assert_eq!(offending("foo bar"), Some(' '));
        assert_eq!(offending("-foo"), Some('-'));
        assert_eq!(offending("foo."), Some('.'));
        assert_eq!(offending("föo"), Some('ö'));
        assert!(normalize_package("").is_err());
    }

    #[test]
    fn versions_are_normalized_as_pep_440_says() {
        assert_eq!(normalize_version("1.0+local.1").unwrap(), "1.0+local.1");
        assert_eq!(normalize_version("1.0-RC1").unwrap(), "1.0rc1");
        assert_eq!(normalize_version("v1.01").unwrap(), "1.1");
        assert_eq!(
            normalize_version("1.0.post1.dev2").unwrap(),
            "1.0.post1.dev2"
        );
        assert_eq!(normalize_version("1.0-1").unwrap(), "1.0.post1");
        assert_eq!(normalize_version("1.0+Ubuntu_1").unwrap(), "1.0+ubuntu.1");
        assert_eq!(normalize_version("1!2.0").unwrap(), "1!2.0");
        assert!(normalize_version("1.0.*").is_err());
        assert!(normalize_version("one").is_err());
    }
}

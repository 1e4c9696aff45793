//! NuGet's rules for the mapper: package ids (case-insensitive, so lowercased) and versions
//! normalized as NuGet normalizes them (NuGet.Versioning's `NuGetVersion.TryParse` grammar,
//! then the flat-container form: lowercase, no leading zeros, at least three parts, a zero
//! fourth part dropped, build metadata dropped). Nothing about nupkg or nuspec files.

use super::Problem;
use super::naming::{self, Naming};
use super::template::{Symbol, Vocabulary};

/// NuGet's naming: normalized ids and versions are valid OCI names and tags as they are.
pub static NAMING: Naming = Naming {
    normalize_package,
    normalize_version,
    tag_text: naming::same,
    version_text: naming::same,
    default_path: "${name}",
    vocabulary: Vocabulary {
        allowed: &[Symbol::Name],
        required: &[Symbol::Name],
        value_char: |_, c| is_id_char(c),
    },
    values: naming::name_value,
    package: naming::name_package,
};

/// NuGet's id rule `^\w+([.-]\w+)*$` (ASCII only: nothing else maps to OCI), at most 100
/// characters, lowercased.
pub(super) fn normalize_package(id: &str) -> Result<String, Problem> {
    if id.is_empty() {
        return Err(Problem::invalid("a NuGet package id cannot be empty"));
    }
    if let Some(ch) = id
        .chars()
        .find(|c| !(is_word_char(*c) || matches!(c, '.' | '-')))
    {
        return Err(Problem::character(
            ch,
            "is not allowed in NuGet package ids",
        ));
    }
    let mut previous: Option<char> = None;
    for ch in id.chars() {
        let separator = matches!(ch, '.' | '-');
        if separator && !previous.is_some_and(is_word_char) {
            return Err(Problem::character(
                ch,
                "must stand between letters, digits or `_` in NuGet package ids",
            ));
        }
        previous = Some(ch);
    }
    if let Some(ch) = previous.filter(|c| !is_word_char(*c)) {
        return Err(Problem::character(ch, "cannot end a NuGet package id"));
    }
    if id.len() > 100 {
        return Err(Problem::invalid(
            "a NuGet package id has at most 100 characters",
        ));
    }
    Ok(id.to_ascii_lowercase())
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether a repository value made from a normalized id can contain `c`.
pub(super) fn is_id_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
}

/// NuGet's normalized version, lowercased: `13.0.1.0` -> `13.0.1`, `1.01` -> `1.1.0`,
/// `1.0.0-Beta+abc` -> `1.0.0-beta`.
pub(super) fn normalize_version(version: &str) -> Result<String, Problem> {
    if let Some(ch) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
    {
        return Err(Problem::character(ch, "is not allowed in NuGet versions"));
    }
    let (rest, metadata) = match version.split_once('+') {
        Some((rest, metadata)) => (rest, Some(metadata)),
        None => (version, None),
    };
    let (numbers, labels) = match rest.split_once('-') {
        Some((numbers, labels)) => (numbers, Some(labels)),
        None => (rest, None),
    };

    let mut parts = numbers
        .split('.')
        .map(|part| parse_number(part, version))
        .collect::<Result<Vec<u32>, Problem>>()?;
    if parts.len() > 4 {
        return Err(Problem::invalid("a NuGet version has at most four numbers"));
    }
    parts.resize(3.max(parts.len()), 0);
    if parts.len() == 4 && parts[3] == 0 {
        parts.pop();
    }
    let mut normalized = parts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".");

    if let Some(labels) = labels {
        for label in labels.split('.') {
            check_label(label, "pre-release label")?;
            if label.len() > 1
                && label.starts_with('0')
                && label.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(Problem::invalid(format!(
                    "the numeric pre-release label `{label}` has a leading zero"
                )));
            }
        }
        normalized.push('-');
        normalized.push_str(&labels.to_ascii_lowercase());
    }
    if let Some(metadata) = metadata {
        // Validated, then dropped: NuGet ignores build metadata.
        metadata
            .split('.')
            .try_for_each(|label| check_label(label, "build metadata label"))?;
    }
    Ok(normalized)
}

/// One version number: digits only, at most `i32::MAX` as `System.Version` allows.
fn parse_number(part: &str, version: &str) -> Result<u32, Problem> {
    if part.is_empty() {
        return Err(Problem::invalid(format!(
            "`{version}` has an empty version number"
        )));
    }
    if let Some(ch) = part.chars().find(|c| !c.is_ascii_digit()) {
        return Err(Problem::character(
            ch,
            "is not allowed in NuGet version numbers",
        ));
    }
    part.parse::<u32>()
        .ok()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| Problem::invalid(format!("the version number `{part}` is too large")))
}

/// A pre-release or metadata label: `[0-9A-Za-z-]+`.
fn check_label(label: &str, what: &str) -> Result<(), Problem> {
    if label.is_empty() {
        return Err(Problem::invalid(format!("a NuGet {what} cannot be empty")));
    }
    if let Some(ch) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(Problem::character(
            ch,
            format!("is not allowed in a NuGet {what}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercased() {
        assert_eq!(
            normalize_package("Newtonsoft.Json").unwrap(),
            "newtonsoft.json"
        );
        assert_eq!(normalize_package("My_Lib-2").unwrap(), "my_lib-2");
        let offending = |id: &str| normalize_package(id).unwrap_err().offending_char();
        assert_eq!(offending("a..b"), Some('.'));
        assert_eq!(offending(".a"), Some('.'));
        assert_eq!(offending("a-"), Some('-'));
        assert_eq!(offending("a b"), Some(' '));
        assert_eq!(offending("a+b"), Some('+'));
    }

    #[test]
    fn versions_are_normalized_as_nuget_does() {
        let n = |v: &str| normalize_version(v).unwrap();
        assert_eq!(n("13.0.1.0"), "13.0.1");
        assert_eq!(n("1.00"), "1.0.0");
        assert_eq!(n("1.01.1"), "1.1.1");
        assert_eq!(n("1.00.0.1"), "1.0.0.1");
        assert_eq!(n("1.0.01.0"), "1.0.1");
        assert_eq!(n("1.0.7+r3456"), "1.0.7");
        assert_eq!(n("1"), "1.0.0");
        assert_eq!(n("1.0.0-Beta.2-x+Build.01"), "1.0.0-beta.2-x");
        assert!(normalize_version("1.0.0-beta.01").is_err());
        assert!(normalize_version("1.0.0-").is_err());
        assert!(normalize_version("1.0.0.0.0").is_err());
        assert!(normalize_version("1..0").is_err());
        assert!(normalize_version("3000000000.0").is_err());
        assert_eq!(
            normalize_version("1.0_1").unwrap_err().offending_char(),
            Some('_')
        );
        assert_eq!(
            normalize_version("1.a").unwrap_err().offending_char(),
            Some('a')
        );
    }
}

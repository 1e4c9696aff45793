//! The OCI distribution spec's rules for repository names and tags, checked so that every
//! refusal names the character at fault. Knows nothing about ecosystems or templates.

use super::Problem;

/// Tags are at most 128 characters (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
pub const MAX_TAG_LEN: usize = 128;

/// The spec sets no limit on repository names, but common registries refuse a name
/// (without host) longer than this.
pub const MAX_REPOSITORY_LEN: usize = 255;

/// Checks `tag` against `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), Problem> {
    let mut chars = tag.chars();
    let Some(first) = chars.next() else {
        return Err(Problem::invalid("an OCI tag cannot be empty"));
    };
    if !(first.is_ascii_alphanumeric() || first == '_') {
        let rule = if is_tag_char(first) {
            "cannot start an OCI tag"
        } else {
            "is not allowed in OCI tags"
        };
        return Err(Problem::character(first, rule));
    }
    if let Some(ch) = chars.find(|c| !is_tag_char(*c)) {
        return Err(Problem::character(ch, "is not allowed in OCI tags"));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(Problem::invalid(format!(
            "an OCI tag has at most {MAX_TAG_LEN} characters, this one would have {}",
            tag.len()
        )));
    }
    Ok(())
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Checks a repository path (no host): `/`-separated components, each
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, at most [`MAX_REPOSITORY_LEN`] in all.
pub fn check_repository(path: &str) -> Result<(), Problem> {
    for component in path.split('/') {
        check_component(component)?;
    }
    if path.len() > MAX_REPOSITORY_LEN {
        return Err(Problem::invalid(format!(
            "the repository path would have {} characters, over the {MAX_REPOSITORY_LEN} \
             that registries accept",
            path.len()
        )));
    }
    Ok(())
}

/// Checks one path component against `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn check_component(component: &str) -> Result<(), Problem> {
    if component.is_empty() {
        return Err(Problem::invalid(
            "an OCI repository path has no empty components (no `//`, no `/` at either end)",
        ));
    }
    if let Some(ch) = component.chars().find(|c| !is_repository_char(*c)) {
        let rule = if ch.is_ascii_uppercase() {
            "is not allowed in OCI repository names, which are lowercase"
        } else {
            "is not allowed in OCI repository names"
        };
        return Err(Problem::character(ch, rule));
    }
    // Only ASCII from here on.
    let first = char::from(component.as_bytes()[0]);
    if !first.is_ascii_alphanumeric() {
        return Err(Problem::character(
            first,
            "cannot start an OCI repository path component",
        ));
    }
    let last = char::from(component.as_bytes()[component.len() - 1]);
    if !last.is_ascii_alphanumeric() {
        return Err(Problem::character(
            last,
            "cannot end an OCI repository path component",
        ));
    }
    component
        .split(|c: char| c.is_ascii_alphanumeric())
        .filter(|run| !run.is_empty())
        .try_for_each(check_separator)
}

fn is_repository_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

/// A run of separators between two alphanumerics must be `.`, `_`, `__` or `-+`.
fn check_separator(run: &str) -> Result<(), Problem> {
    for (i, ch) in run.char_indices().skip(1) {
        let so_far = &run[..=i];
        if so_far != "__" && !so_far.bytes().all(|b| b == b'-') {
            return Err(Problem::character(
                ch,
                format!(
                    "cannot follow `{}` in an OCI repository path component",
                    &run[..i]
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offending(result: Result<(), Problem>) -> Option<char> {
        result.err().and_then(|p| p.offending_char())
    }

    #[test]
    fn tags_follow_the_distribution_spec() {
        assert!(check_tag("1.0.0").is_ok());
        assert!(check_tag("_x").is_ok());
        assert!(check_tag(&"a".repeat(128)).is_ok());
        assert!(check_tag(&"a".repeat(129)).is_err());
        assert!(check_tag("").is_err());
        assert_eq!(offending(check_tag("1.0+x")), Some('+'));
        assert_eq!(offending(check_tag("-1")), Some('-'));
        assert_eq!(offending(check_tag(".1")), Some('.'));
        assert_eq!(offending(check_tag("1!2")), Some('!'));
    }

    #[test]
    fn repository_components_follow_the_distribution_spec() {
        for ok in [
            "a",
            "a0",
            "a.b",
            "a_b",
            "a__b",
            "a-b",
            "a---b",
            "acme/pypi/six",
        ] {
            assert!(check_repository(ok).is_ok(), "{ok}");
        }
        assert_eq!(offending(check_repository("Acme")), Some('A'));
        assert_eq!(offending(check_repository("a..b")), Some('.'));
        assert_eq!(offending(check_repository("a___b")), Some('_'));
        assert_eq!(offending(check_repository("a._b")), Some('_'));
        assert_eq!(offending(check_repository("a-_b")), Some('_'));
        assert_eq!(offending(check_repository("_a")), Some('_'));
        assert_eq!(offending(check_repository("a-")), Some('-'));
        assert_eq!(offending(check_repository("a:b")), Some(':'));
        assert!(check_repository("a//b").is_err());
        assert!(check_repository("/a").is_err());
        assert!(check_repository("").is_err());
        assert!(check_repository(&"a".repeat(255)).is_ok());
        assert!(check_repository(&"a".repeat(256)).is_err());
    }
}

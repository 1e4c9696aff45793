//! Which repository names and tags the local store accepts. A repository name becomes a
//! directory path under the store root, so anything that could leave the root (`..`, an
//! absolute path, empty or hidden components) is refused here, before any path is built.
//! Pure checks only; the store decides what to do with a refusal.

/// Why a repository name is refused, as a phrase for an error message.
pub(super) fn check_repository(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    for component in name.split('/') {
        check_component(component)?;
    }
    Ok(())
}

/// One path component, by the OCI distribution grammar `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
/// It excludes `.`, `..`, empty components, separators and upper case in one rule, and it is
/// what every registry accepts, so a local repository can always be copied to one.
fn check_component(c: &str) -> Result<(), String> {
    if c.is_empty() {
        return Err("it has an empty path component (leading, trailing or double `/`)".into());
    }
    if c == "." || c == ".." {
        return Err(format!(
            "the component `{c}` would leave the store directory"
        ));
    }
    if let Some(bad) = c
        .chars()
        .find(|ch| !(ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(*ch)))
    {
        return Err(format!(
            "`{bad}` is not allowed (components use a-z, 0-9 and `.`, `_`, `-` between them)"
        ));
    }
    let bytes = c.as_bytes();
    let is_sep = |b: u8| b == b'.' || b == b'_' || b == b'-';
    if is_sep(bytes[0]) || is_sep(bytes[bytes.len() - 1]) {
        return Err(format!(
            "the component `{c}` must start and end with a letter or digit"
        ));
    }
    // Between alphanumerics: one `.`, one or two `_`, or any run of `-`.
    for run in c.split(|ch: char| ch.is_ascii_alphanumeric()) {
        let ok = run.is_empty()
            || run == "."
            || run == "_"
            || run == "__"
            || run.bytes().all(|b| b == b'-');
        if !ok {
            return Err(format!("the separator `{run}` in `{c}` is not allowed"));
        }
    }
    Ok(())
}

/// Why a tag is refused: OCI tags are `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub(super) fn check_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let Some(first) = chars.next() else {
        return Err("the tag is empty".into());
    };
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(format!("a tag cannot start with `{first}`"));
    }
    if let Some(bad) = chars.find(|ch| !(ch.is_ascii_alphanumeric() || "._-".contains(*ch))) {
        return Err(format!("`{bad}` is not allowed in a tag"));
    }
    if tag.len() > 128 {
        return Err("a tag is at most 128 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_repository_names_are_accepted() {
        for ok in [
            "pypi/six",
            "acme/terraform-provider/hashicorp/aws",
            "a.b/c__d/e--f",
            "x",
        ] {
            assert_eq!(check_repository(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn names_that_could_escape_the_root_are_refused() {
        for bad in [
            "",
            "/etc",
            "pypi/../../etc",
            "..",
            "pypi//six",
            "pypi/six/",
            "./six",
            "pypi/.six",
            "a\\b",
            "Six",
            "a/b\0c",
            "a_-b",
        ] {
            assert!(check_repository(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn tags_follow_the_oci_grammar() {
        assert!(check_tag("1.16.0").is_ok());
        assert!(check_tag("_x-Y.z").is_ok());
        assert!(check_tag("").is_err());
        assert!(check_tag(".hidden").is_err());
        assert!(check_tag("a/b").is_err());
        assert!(check_tag(&"a".repeat(129)).is_err());
    }
}

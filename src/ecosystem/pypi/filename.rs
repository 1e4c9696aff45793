//! Python distribution file names: splitting a wheel or sdist name into its parts, PEP 503
//! name normalization, and rebuilding a file name from a PyOCI index entry. Pure string work;
//! what the file contains is `archive.rs` and `metadata.rs`, which tags a wheel runs on is
//! `tags.rs`.

/// The kind of a file, told by its name alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Extension {
    Wheel,
    TarGz,
    /// A legacy `.zip` source distribution.
    Zip,
}

impl Extension {
    /// The extension a file name ends with, if it is one a Python distribution uses.
    pub(super) fn of(file_name: &str) -> Option<Self> {
        if file_name.ends_with(".whl") {
            Some(Extension::Wheel)
        } else if file_name.ends_with(".tar.gz") {
            Some(Extension::TarGz)
        } else if file_name.ends_with(".zip") {
            Some(Extension::Zip)
        } else {
            None
        }
    }

    pub(super) fn suffix(self) -> &'static str {
        match self {
            Extension::Wheel => ".whl",
            Extension::TarGz => ".tar.gz",
            Extension::Zip => ".zip",
        }
    }
}

/// A wheel file name split into its parts
/// (`{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, PEP 427).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct WheelName<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// Everything after `{name}-{version}-`, `.whl` included: PyOCI's "architecture".
    pub rest: &'a str,
    /// The compressed tag sets, each split on `.`.
    pub python: Vec<&'a str>,
    pub abi: Vec<&'a str>,
    pub platform: Vec<&'a str>,
}

impl<'a> WheelName<'a> {
    /// Split a wheel file name; `Err` says why it is not one.
    pub(super) fn parse(file_name: &'a str) -> Result<Self, String> {
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| "a wheel file name ends with `.whl`".to_string())?;
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return Err(format!(
                "a wheel file name has 5 or 6 parts separated by `-`, this one has {}",
                parts.len()
            ));
        }
        if let Some(empty) = parts.iter().position(|p| p.is_empty()) {
            return Err(format!(
                "part {} of the wheel file name is empty",
                empty + 1
            ));
        }
        if parts.iter().any(|p| p.chars().any(char::is_whitespace)) {
            return Err("a wheel file name contains no whitespace".to_string());
        }
        if parts.len() == 6 && !parts[2].starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "the build tag `{}` of a wheel file name starts with a digit",
                parts[2]
            ));
        }
        let n = parts.len();
        let rest_start = parts[0].len() + 1 + parts[1].len() + 1;
        Ok(WheelName {
            name: parts[0],
            version: parts[1],
            rest: &file_name[rest_start..],
            python: parts[n - 3].split('.').collect(),
            abi: parts[n - 2].split('.').collect(),
            platform: parts[n - 1].split('.').collect(),
        })
    }

    /// Every `(python, abi, platform)` triple the compressed tag sets stand for, lowercased.
    pub(super) fn tags(&self) -> impl Iterator<Item = (String, String, String)> + '_ {
        self.python.iter().flat_map(move |py| {
            self.abi.iter().flat_map(move |abi| {
                self.platform.iter().map(move |plat| {
                    (
                        py.to_ascii_lowercase(),
                        abi.to_ascii_lowercase(),
                        plat.to_ascii_lowercase(),
                    )
                })
            })
        })
    }
}

/// The ways an sdist stem (file name without extension) can be split into name and version:
/// every `-` is a candidate, since legacy sdists keep `-` in the project name
/// (`my-package-1.0.tar.gz`).
pub(super) fn sdist_splits(stem: &str) -> impl Iterator<Item = (&str, &str)> {
    stem.match_indices('-')
        .map(move |(i, _)| (&stem[..i], &stem[i + 1..]))
        .filter(|(name, version)| !name.is_empty() && !version.is_empty())
}

/// PEP 503 normalization: lowercase, every run of `-`, `_` and `.` becomes one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// Whether `name` is a valid project name (PEP 508: ASCII letters, digits, `.`, `_`, `-`,
/// starting and ending with a letter or digit).
pub fn is_valid_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(ok_char)
}

/// Rebuild the file name of an index entry PyOCI pushed (no title annotation), exactly as
/// PyOCI does: the project name with `-` written as `_`, the version as given, then the
/// platform architecture, joined with `-` when it is a wheel's (`py3-none-any.whl`) and
/// appended directly otherwise (`.tar.gz`).
///
/// PyOCI takes the name from the request path, which pip sends PEP 503-normalized; this
/// normalizes it first, so `Foo.Bar` and `foo-bar` both give `foo_bar`.
pub fn file_name_for(name: &str, version: &str, platform_arch: &str) -> String {
    let name = normalize_name(name).replace('-', "_");
    if platform_arch.ends_with(".whl") {
        format!("{name}-{version}-{platform_arch}")
    } else {
        format!("{name}-{version}{platform_arch}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_name_splits_into_name_version_and_pyoci_architecture() {
        let w = WheelName::parse("attrs-23.1.0-py3-none-any.whl").unwrap();
        assert_eq!(
            (w.name, w.version, w.rest),
            ("attrs", "23.1.0", "py3-none-any.whl")
        );
        assert_eq!(
            (w.python, w.abi, w.platform),
            (vec!["py3"], vec!["none"], vec!["any"])
        );
    }

    #[test]
    fn wheel_name_keeps_the_build_tag_in_the_architecture() {
        let w = WheelName::parse("baz-2.5.1.dev4+g1664eb2-1234-cp311-cp311-macosx_13_0_x86_64.whl")
            .unwrap();
        assert_eq!(w.version, "2.5.1.dev4+g1664eb2");
        assert_eq!(w.rest, "1234-cp311-cp311-macosx_13_0_x86_64.whl");
    }

    #[test]
    fn wheel_name_expands_compressed_tag_sets() {
        let w = WheelName::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        let tags: Vec<_> = w.tags().collect();
        assert_eq!(tags.len(), 2);
        assert!(tags.contains(&("py2".into(), "none".into(), "any".into())));
    }

    #[test]
    fn wheel_name_rejects_malformed_names() {
        for bad in [
            "attrs-23.1.0.whl",
            "attrs-23.1.0-none-any.whl",
            "attrs-23.1.0-x-py3-none-any.whl",
            "attrs--py3-none-any.whl",
            "attrs-23.1.0-py3-none-any.zip",
            "a-b-c-d-e-f-g.whl",
        ] {
            assert!(WheelName::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn sdist_splits_try_every_dash() {
        let splits: Vec<_> = sdist_splits("my-package-1.0").collect();
        assert_eq!(splits, vec![("my", "package-1.0"), ("my-package", "1.0")]);
        assert_eq!(sdist_splits("nodash").count(), 0);
    }

    #[test]
    fn names_normalize_per_pep_503() {
        assert_eq!(normalize_name("Foo.Bar__baz-Qux"), "foo-bar-baz-qux");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert!(is_valid_name("zope.interface"));
        assert!(!is_valid_name("-foo"));
        assert!(!is_valid_name("foo bar"));
    }

    #[test]
    fn file_names_are_rebuilt_as_pyoci_does() {
        assert_eq!(
            file_name_for("foo-bar", "1.0", "py3-none-any.whl"),
            "foo_bar-1.0-py3-none-any.whl"
        );
        assert_eq!(
            file_name_for("baz", "1.0+local.1", ".tar.gz"),
            "baz-1.0+local.1.tar.gz"
        );
        assert_eq!(
            file_name_for("baz", "1", "1234-cp311-cp311-macosx_13_0_x86_64.whl"),
            "baz-1-1234-cp311-cp311-macosx_13_0_x86_64.whl"
        );
    }
}

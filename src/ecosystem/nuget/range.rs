//! NuGet version ranges (NuGet.Versioning's `VersionRange.Parse`): `1.0` means `>= 1.0`,
//! `[1.0]` exactly 1.0, `(1.0,)`, `[1.0,2.0)`, `(,2.0]` intervals with inclusive `[]` and
//! exclusive `()` ends. Floating ranges (`1.*`) are not supported. Pure.

use super::{NugetError, NugetVersion};

/// A parsed range: optional lower and upper bounds, each inclusive or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRange {
    pub min: Option<NugetVersion>,
    pub min_inclusive: bool,
    pub max: Option<NugetVersion>,
    pub max_inclusive: bool,
}

impl VersionRange {
    /// Parses NuGet's range notation.
    pub fn parse(s: &str) -> Result<VersionRange, NugetError> {
        let invalid = |reason: &str| NugetError::InvalidRange {
            range: s.to_owned(),
            reason: reason.to_owned(),
            hint: None,
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        if text.contains('*') {
            return Err(NugetError::InvalidRange {
                range: s.to_owned(),
                reason: "floating versions (`*`) are not supported".into(),
                hint: Some("give a version or an interval, e.g. [1.0,2.0)"),
            });
        }
        let version = |part: &str| -> Result<Option<NugetVersion>, NugetError> {
            let part = part.trim();
            if part.is_empty() {
                return Ok(None);
            }
            NugetVersion::parse(part)
                .map(Some)
                .ok_or_else(|| invalid(&format!("`{part}` is not a NuGet version")))
        };
        let Some(open) = text.chars().next().filter(|c| matches!(c, '[' | '(')) else {
            // A bare version is a lower bound: `1.0` means `>= 1.0`.
            return Ok(VersionRange {
                min: version(text)?,
                min_inclusive: true,
                max: None,
                max_inclusive: false,
            });
        };
        let min_inclusive = open == '[';
        let max_inclusive = match text.chars().last() {
            Some(']') if text.len() > 1 => true,
            Some(')') if text.len() > 1 => false,
            _ => {
                return Err(invalid(
                    "an interval starting with `[` or `(` ends with `]` or `)`",
                ));
            }
        };
        let inner = &text[1..text.len() - 1];
        let range = match inner.split(',').collect::<Vec<_>>()[..] {
            [one] => {
                if !(min_inclusive && max_inclusive) {
                    return Err(invalid("a single version in brackets is written `[1.0]`"));
                }
                let exact = version(one)?.ok_or_else(|| invalid("`[]` names no version"))?;
                VersionRange::exact(exact)
            }
            [low, high] => {
                let (min, max) = (version(low)?, version(high)?);
                if min.is_none() && max.is_none() {
                    return Err(invalid("neither a lower nor an upper bound is given"));
                }
                VersionRange {
                    min,
                    min_inclusive,
                    max,
                    max_inclusive,
                }
            }
            _ => return Err(invalid("an interval has at most two versions")),
        };
        if let (Some(min), Some(max)) = (&range.min, &range.max) {
            if min > max {
                return Err(invalid("the lower bound is above the upper bound"));
            }
            if min == max && !range.min_inclusive && !range.max_inclusive {
                return Err(invalid("`(v,v)` contains no version"));
            }
        }
        Ok(range)
    }

    /// Exactly one version (`[v]`).
    pub fn exact(v: NugetVersion) -> VersionRange {
        VersionRange {
            min: Some(v.clone()),
            min_inclusive: true,
            max: Some(v),
            max_inclusive: true,
        }
    }

    /// Whether `v` lies inside the range.
    pub fn contains(&self, v: &NugetVersion) -> bool {
        let above_min = match &self.min {
            Some(min) if self.min_inclusive => v >= min,
            Some(min) => v > min,
            None => true,
        };
        let below_max = match &self.max {
            Some(max) if self.max_inclusive => v <= max,
            Some(max) => v < max,
            None => true,
        };
        above_min && below_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> NugetVersion {
        NugetVersion::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    fn contains(range: &str, version: &str) -> bool {
        VersionRange::parse(range)
            .unwrap_or_else(|e| panic!("{e}"))
            .contains(&v(version))
    }

    #[test]
    fn a_bare_version_is_a_minimum() {
        assert!(contains("1.0", "1.0.0"));
        assert!(contains("1.0", "7.3"));
        assert!(!contains("1.0", "0.9"));
        assert!(!contains("1.0", "1.0.0-beta"));
    }

    #[test]
    fn intervals_honour_inclusive_and_exclusive_ends() {
        assert!(contains("[1.0,2.0)", "1.0"));
        assert!(contains("[1.0,2.0)", "1.9.9"));
        assert!(!contains("[1.0,2.0)", "2.0"));
        assert!(contains("[1.0, 2.0]", "2.0.0.0"));
        assert!(!contains("(1.0,2.0]", "1.0"));
        assert!(contains("(1.0,)", "1.0.1"));
        assert!(!contains("(1.0,)", "1.0"));
        assert!(contains("(,2.0]", "0.1"));
        assert!(contains("(,2.0]", "2.0"));
        assert!(!contains("(,2.0)", "2.0"));
        assert!(contains("[1.2.3]", "1.2.3"));
        assert!(!contains("[1.2.3]", "1.2.4"));
        assert!(contains(" [ 1.0 , 2.0 ) ", "1.5"));
    }

    #[test]
    fn malformed_ranges_are_refused_with_the_reason() {
        for (bad, says) in [
            ("", "empty"),
            ("(1.0)", "`[1.0]`"),
            ("[1.0)", "`[1.0]`"),
            ("(,)", "neither"),
            ("[2.0,1.0]", "above"),
            ("(1.0,1.0)", "no version"),
            ("[1.0,2.0,3.0]", "at most two"),
            ("[1.0,2.0", "ends with"),
            ("[x,2.0]", "`x` is not a NuGet version"),
            ("1.*", "floating"),
        ] {
            let err = VersionRange::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }
}

//! Gem versions and requirements as RubyGems compares them: [`GemVersion`] orders like
//! `Gem::Version#<=>` (numeric and letter segments, trailing zeros ignored, a letter makes a
//! pre-release), [`Requirement`] checks versions like `Gem::Requirement#satisfied_by?` (`~>`
//! included) and spells itself as the compact index does. Pure; nothing about `.gem` files.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::RubygemsError;
use crate::mapper::Mapper;
use crate::release::Ecosystem;

/// One segment of a gem version: a run of digits or a run of letters.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Number(u64),
    Letters(String),
}

impl Segment {
    fn is_number(&self) -> bool {
        matches!(self, Segment::Number(_))
    }
}

/// A parsed `Gem::Version`: `1.2.0`, `1.0.a`, `2.0.0.pre.rc1`. Equal versions may be spelled
/// differently (`1.0` == `1.0.0`); [`GemVersion::as_str`] keeps the spelling.
#[derive(Clone, Debug)]
pub struct GemVersion {
    text: String,
    segments: Vec<Segment>,
}

impl GemVersion {
    /// Parses a version as `Gem::Version.new` does (a `-` stands for `.pre.`).
    pub fn parse(s: &str) -> Result<GemVersion, RubygemsError> {
        let text = Mapper::normalize_version(Ecosystem::Rubygems, s.trim()).map_err(|e| {
            RubygemsError::InvalidVersion {
                version: s.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let mut segments = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
            rest = &rest[start..];
            let digits = rest.starts_with(|c: char| c.is_ascii_digit());
            let end = rest
                .find(|c: char| {
                    if digits {
                        !c.is_ascii_digit()
                    } else {
                        !c.is_ascii_alphabetic()
                    }
                })
                .unwrap_or(rest.len());
            let run = &rest[..end];
            segments.push(if digits {
                Segment::Number(run.parse().map_err(|_| RubygemsError::InvalidVersion {
                    version: s.to_owned(),
                    reason: format!("the number `{run}` is too large"),
                })?)
            } else {
                Segment::Letters(run.to_owned())
            });
            rest = &rest[end..];
        }
        Ok(GemVersion { text, segments })
    }

    /// The version as written (after `-` became `.pre.`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a pre-release: any letter in it (`1.0.a`, `2.0.rc1`).
    pub fn is_prerelease(&self) -> bool {
        self.text.chars().any(|c| c.is_ascii_alphabetic())
    }

    /// The version without its pre-release part (`1.2.a.1` -> `1.2`), as `Gem::Version#release`.
    fn release(&self) -> GemVersion {
        let numeric: Vec<Segment> = self
            .segments
            .iter()
            .take_while(|s| s.is_number())
            .cloned()
            .collect();
        GemVersion {
            text: join(&numeric),
            segments: numeric,
        }
    }

    /// The upper bound of `~>`: drop letter segments and the last number, increment the one
    /// before (`1.2.3` -> `1.3`, `1.2` -> `2`, `1` -> `2`), as `Gem::Version#bump`.
    fn bump(&self) -> GemVersion {
        let mut segments: Vec<Segment> = self
            .segments
            .iter()
            .take_while(|s| s.is_number())
            .cloned()
            .collect();
        if segments.len() > 1 {
            segments.pop();
        }
        if let Some(Segment::Number(n)) = segments.last_mut() {
            *n = n.saturating_add(1);
        }
        GemVersion {
            text: join(&segments),
            segments,
        }
    }

    /// Segments with trailing zeros of the numeric part and of the pre-release part dropped,
    /// as `Gem::Version#canonical_segments` (so `1.0` == `1`, `1.0.a` == `1.a`).
    fn canonical(&self) -> Vec<&Segment> {
        let split = self
            .segments
            .iter()
            .position(|s| !s.is_number())
            .unwrap_or(self.segments.len());
        fn trim(part: &[Segment]) -> Vec<&Segment> {
            let keep = part
                .iter()
                .rposition(|s| *s != Segment::Number(0))
                .map_or(0, |i| i + 1);
            part[..keep].iter().collect()
        }
        let (numeric, rest) = self.segments.split_at(split);
        let mut out = trim(numeric);
        out.extend(trim(rest));
        out
    }
}

fn join(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Number(n) => n.to_string(),
            Segment::Letters(l) => l.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl fmt::Display for GemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number(0);
        let (lhs, rhs) = (self.canonical(), other.canonical());
        for i in 0..lhs.len().max(rhs.len()) {
            let l = lhs.get(i).copied().unwrap_or(&zero);
            let r = rhs.get(i).copied().unwrap_or(&zero);
            let ord = match (l, r) {
                (Segment::Number(a), Segment::Number(b)) => a.cmp(b),
                (Segment::Letters(a), Segment::Letters(b)) => a.cmp(b),
                (Segment::Letters(_), Segment::Number(_)) => Ordering::Less,
                (Segment::Number(_), Segment::Letters(_)) => Ordering::Greater,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}

/// The operators a `Gem::Requirement` knows.
const OPERATORS: [&str; 7] = ["=", "!=", ">", "<", ">=", "<=", "~>"];

/// A `Gem::Requirement`: every `(operator, version)` pair must hold. Serialized as
/// `[["~>", "1.2"], [">=", "1.2.3"]]`; an empty list (or `>= 0`) accepts every version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement(pub Vec<(String, String)>);

impl Requirement {
    /// Whether `v` meets every part of the requirement.
    pub fn satisfied_by(&self, v: &GemVersion) -> bool {
        self.0.iter().all(|(op, version)| {
            let Ok(r) = GemVersion::parse(version) else {
                return false;
            };
            match op.as_str() {
                "=" => *v == r,
                "!=" => *v != r,
                ">" => *v > r,
                "<" => *v < r,
                ">=" => *v >= r,
                "<=" => *v <= r,
                "~>" => *v >= r && v.release() < r.bump(),
                _ => false,
            }
        })
    }

    /// The requirement as a compact index `/info` line writes it: the parts joined by `&`
    /// (`>= 2.0&< 4`); `>= 0` when there are none.
    pub fn compact(&self) -> String {
        self.parts().join("&")
    }

    /// Whether any version named in the requirement is a pre-release (then `gem` allows
    /// pre-releases for it without being asked).
    pub fn names_prerelease(&self) -> bool {
        self.0
            .iter()
            .any(|(_, v)| GemVersion::parse(v).is_ok_and(|v| v.is_prerelease()))
    }

    /// Whether the requirement accepts every version (`>= 0`, or nothing).
    pub fn is_default(&self) -> bool {
        self.0.is_empty() || self.0 == [(">=".to_owned(), "0".to_owned())]
    }

    fn parts(&self) -> Vec<String> {
        if self.0.is_empty() {
            return vec![">= 0".to_owned()];
        }
        self.0.iter().map(|(op, v)| format!("{op} {v}")).collect()
    }
}

/// `Gem::Requirement#to_s`: the parts joined by `, ` (`>= 2.0, < 4`).
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts().join(", "))
    }
}

/// Parses a requirement as `gem` accepts it on the command line: `1.0` (meaning `= 1.0`),
/// `~> 1.2`, `>= 1, < 2` (parts separated by commas or `&`).
pub fn parse_requirement(s: &str) -> Result<Requirement, RubygemsError> {
    let invalid = |reason: String| RubygemsError::InvalidRequirement {
        requirement: s.to_owned(),
        reason,
    };
    let mut parts = Vec::new();
    for part in s.split([',', '&']) {
        let part = part.trim();
        if part.is_empty() {
            return Err(invalid("a part is empty".to_owned()));
        }
        let op_len = part
            .find(|c: char| !matches!(c, '=' | '!' | '>' | '<' | '~'))
            .unwrap_or(part.len());
        let (op, version) = part.split_at(op_len);
        let op = if op.is_empty() { "=" } else { op };
        if !OPERATORS.contains(&op) {
            return Err(invalid(format!(
                "`{op}` is not an operator (use one of {})",
                OPERATORS.join(" ")
            )));
        }
        let version = GemVersion::parse(version.trim())
            .map_err(|e| invalid(e.to_string()))?
            .text;
        parts.push((op.to_owned(), version));
    }
    Ok(Requirement(parts))
}

/// Sorts versions newest first as `Gem::Version` orders them; strings that do not parse go
/// last, in their original order.
pub fn sort_newest_first(versions: &mut [String]) {
    versions.sort_by(|a, b| match (GemVersion::parse(a), GemVersion::parse(b)) {
        (Ok(a), Ok(b)) => b.cmp(&a),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => Ordering::Equal,
    });
}

/// The newest version meeting `req` (every version when `None`). Pre-releases count only
/// with `prerelease` or when the requirement itself names one (`= 2.0.rc1`), as `gem` does.
pub fn select_version(
    versions: &[String],
    req: Option<&Requirement>,
    prerelease: bool,
) -> Option<String> {
    let allow_pre = prerelease || req.is_some_and(Requirement::names_prerelease);
    versions
        .iter()
        .filter_map(|s| GemVersion::parse(s).ok().map(|v| (s, v)))
        .filter(|(_, v)| allow_pre || !v.is_prerelease())
        .filter(|(_, v)| req.is_none_or(|r| r.satisfied_by(v)))
        .max_by(|(_, a), (_, b)| a.cmp(b))
        .map(|(s, _)| s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> GemVersion {
        GemVersion::parse(s).unwrap()
    }

    #[test]
    fn versions_order_as_gem_version_does() {
        assert!(v("1.0.a") < v("1.0"));
        assert!(v("1.10") > v("1.9"));
        assert!(v("1.0.0.pre.rc1") < v("1.0.0"));
        assert!(v("1.0.a") < v("1.0.b"));
        assert!(v("1.0.a.2") > v("1.0.a.1"));
        assert!(v("1.0.rc1") > v("1.0.beta2"));
        assert!(v("2") > v("1.99.99"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.0-rc1").as_str(), "1.0.pre.rc1");
        assert!(v("1.0.a").is_prerelease());
        assert!(!v("1.0").is_prerelease());
        assert!(GemVersion::parse("one").is_err());
    }

    #[test]
    fn pessimistic_requirements_bound_the_next_to_last_segment() {
        let r = parse_requirement("~> 1.2").unwrap();
        for ok in ["1.2", "1.2.9", "1.9", "1.99.1"] {
            assert!(r.satisfied_by(&v(ok)), "~> 1.2 accepts {ok}");
        }
        for no in ["1.1.9", "2.0", "2.0.a", "0.9"] {
            assert!(!r.satisfied_by(&v(no)), "~> 1.2 refuses {no}");
        }
        let r = parse_requirement("~> 1.2.3").unwrap();
        for ok in ["1.2.3", "1.2.10"] {
            assert!(r.satisfied_by(&v(ok)), "~> 1.2.3 accepts {ok}");
        }
        for no in ["1.2.2", "1.3", "1.3.0"] {
            assert!(!r.satisfied_by(&v(no)), "~> 1.2.3 refuses {no}");
        }
        assert!(parse_requirement("~> 1").unwrap().satisfied_by(&v("1.9")));
        assert!(!parse_requirement("~> 1").unwrap().satisfied_by(&v("2.0")));
    }

    #[test]
    fn requirements_parse_as_gem_writes_them() {
        assert_eq!(
            parse_requirement(">= 1, < 2").unwrap().0,
            vec![
                (">=".to_owned(), "1".to_owned()),
                ("<".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(parse_requirement("1.0").unwrap().to_string(), "= 1.0");
        assert_eq!(
            parse_requirement(">=2.0&<4").unwrap().compact(),
            ">= 2.0&< 4"
        );
        assert_eq!(
            parse_requirement(">= 2.0, < 4").unwrap().to_string(),
            ">= 2.0, < 4"
        );
        let r = parse_requirement("!= 1.5, >= 1").unwrap();
        assert!(!r.satisfied_by(&v("1.5")) && r.satisfied_by(&v("1.6")));
        for bad in ["", "=> 1", "~> x", ">= 1,", "1.0 2"] {
            assert!(parse_requirement(bad).is_err(), "{bad:?} is refused");
        }
        assert!(Requirement::default().satisfied_by(&v("0.1")));
        assert_eq!(Requirement::default().compact(), ">= 0");
    }

    #[test]
    fn serializes_as_pairs() {
        let r = parse_requirement("~> 1.2").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"[["~>","1.2"]]"#);
        let back: Requirement = serde_json::from_str(r#"[[">=","1"],["<","2"]]"#).unwrap();
        assert_eq!(back.to_string(), ">= 1, < 2");
    }

    #[test]
    fn newest_first_and_selection() {
        let mut vs: Vec<String> = ["1.9", "1.10", "bad", "1.0.a", "1.0", "2.0.rc1"]
            .map(String::from)
            .to_vec();
        sort_newest_first(&mut vs);
        assert_eq!(vs, ["2.0.rc1", "1.10", "1.9", "1.0", "1.0.a", "bad"]);
        assert_eq!(select_version(&vs, None, false).as_deref(), Some("1.10"));
        assert_eq!(select_version(&vs, None, true).as_deref(), Some("2.0.rc1"));
        let r = parse_requirement("~> 1.0").unwrap();
        assert_eq!(
            select_version(&vs, Some(&r), false).as_deref(),
            Some("1.10")
        );
        let r = parse_requirement("< 1.0").unwrap();
        assert_eq!(select_version(&vs, Some(&r), false), None);
        assert_eq!(
            select_version(&vs, Some(&r), true).as_deref(),
            Some("1.0.a")
        );
        let r = parse_requirement("= 2.0.rc1").unwrap();
        assert_eq!(
            select_version(&vs, Some(&r), false).as_deref(),
            Some("2.0.rc1")
        );
    }
}

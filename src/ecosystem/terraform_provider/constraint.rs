//! Terraform's provider version constraints and version choice, as Terraform (>= 1.x, via
//! `apparentlymart/go-versions`) and OpenTofu implement them: comma-separated terms, all of
//! which must hold, each `=` (or no operator), `!=`, `>`, `>=`, `<`, `<=` or `~>` and a
//! version of one to three numbers (missing ones are zero). `~> 1.2` means `>= 1.2.0, <
//! 2.0.0`, `~> 1.2.3` means `>= 1.2.3, < 1.3.0`, `~> 1` is `~> 1.0`. A pre-release only
//! matches when an exact term (`=` or bare) names it and every other term admits it; build
//! metadata only counts for `=` and `!=`. The empty constraint admits every release.
//!
//! (Terraform 1.0.x was laxer: it also took a pre-release named by `=` that another term
//! excluded. Terraform 1.15 and OpenTofu follow the rule above; opp does too.)

use std::cmp::Ordering;
use std::fmt;

use semver::{BuildMetadata, Prerelease, Version};

use super::ProviderError;

/// A parsed constraint; [`Constraint::matches`] says whether a version meets it and
/// [`fmt::Display`] writes Terraform's canonical form (the lock file's `constraints`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    op: Op,
    /// Missing numbers are zero; build metadata is dropped unless `op` is `=` or `!=`.
    boundary: Version,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `~>` with one or two numbers: up to the next major version.
    TildeMinor,
    /// `~>` with three numbers: up to the next minor version.
    TildePatch,
}

impl Op {
    /// Terraform's order of operators with equal boundaries in the canonical form.
    fn rank(self) -> u8 {
        match self {
            Op::Gt => 1,
            Op::Ge => 2,
            Op::Eq => 3,
            Op::TildePatch => 4,
            Op::TildeMinor => 5,
            Op::Le => 6,
            Op::Lt => 7,
            Op::Ne => 8,
        }
    }
}

/// Parse a Terraform version constraint (`~> 5.0`, `>= 1.2, < 2.0`, `1.2.3`).
pub fn parse_constraint(s: &str) -> Result<Constraint, ProviderError> {
    let invalid = |reason: String| ProviderError::InvalidConstraint {
        constraint: s.to_string(),
        reason,
    };
    let mut terms = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (term, remain) = parse_term(rest).map_err(invalid)?;
        terms.push(term);
        rest = remain.trim_start();
        if rest.is_empty() {
            break;
        }
        if rest.starts_with('v') {
            return Err(invalid("a `v` prefix should not be used".to_string()));
        }
        let Some(after_comma) = rest.strip_prefix(',') else {
            return Err(invalid(format!(
                "expected `,` between terms, found `{rest}`"
            )));
        };
        rest = after_comma.trim_start();
        if rest.is_empty() {
            return Err(invalid("nothing follows the last `,`".to_string()));
        }
    }
    Ok(Constraint { terms })
}

/// One term from the start of `s`: operator, at most one space, numbers, `-pre`, `+build`.
fn parse_term(s: &str) -> Result<(Term, &str), String> {
    let op_end = s
        .find(|c: char| c.is_ascii_alphanumeric() || c.is_whitespace() || matches!(c, '.' | '*'))
        .unwrap_or(s.len());
    let (op_text, rest) = s.split_at(op_end);
    let sep_end = rest
        .find(|c: char| !(c.is_whitespace() || c == 'v'))
        .unwrap_or(rest.len());
    let (sep, rest) = rest.split_at(sep_end);
    if sep.contains('v') {
        return Err("a `v` prefix should not be used".to_string());
    }
    if !sep.is_empty() && (op_text.is_empty() || sep != " ") {
        return Err(format!("only one space is expected after `{op_text}`"));
    }
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '*' | 'x' | 'X')))
        .unwrap_or(rest.len());
    let (numbers_text, rest) = rest.split_at(number_end);
    let numbers = parse_numbers(numbers_text, op_text)?;
    let (pre, rest) = extra(rest, '-')?;
    let (build, rest) = extra(rest, '+')?;
    let op = match op_text {
        "" | "=" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "~>" if numbers.len() == 3 => Op::TildePatch,
        "~>" => Op::TildeMinor,
        "=<" => return Err("invalid operator `=<`; did you mean `<=`?".to_string()),
        "=>" => return Err("invalid operator `=>`; did you mean `>=`?".to_string()),
        other => return Err(format!("invalid operator `{other}`")),
    };
    let number = |i: usize| numbers.get(i).copied().unwrap_or(0);
    let mut boundary = Version::new(number(0), number(1), number(2));
    boundary.pre = Prerelease::new(pre).map_err(|e| format!("pre-release `{pre}`: {e}"))?;
    if matches!(op, Op::Eq | Op::Ne) {
        boundary.build =
            BuildMetadata::new(build).map_err(|e| format!("build metadata `{build}`: {e}"))?;
    }
    Ok((Term { op, boundary }, rest))
}

fn parse_numbers(text: &str, op: &str) -> Result<Vec<u64>, String> {
    if text.is_empty() {
        return Err(format!("expected a version after `{op}`"));
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 3 {
        return Err("too many numbers; only major, minor and patch are allowed".to_string());
    }
    parts
        .iter()
        .map(|part| match *part {
            "*" | "x" | "X" => Err("wildcards are not allowed; leave the number out".to_string()),
            "" => Err(format!("`{text}` has an empty number")),
            digits => digits
                .parse::<u64>()
                .map_err(|_| format!("`{digits}` is not a number")),
        })
        .collect()
}

/// `-pre` or `+build` (letters, digits, `.`, `-`) at the start of `s`, without the marker.
fn extra(s: &str, marker: char) -> Result<(&str, &str), String> {
    let Some(body) = s.strip_prefix(marker) else {
        return Ok(("", s));
    };
    let end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
        .unwrap_or(body.len());
    if end == 0 {
        let what = if marker == '-' {
            "pre-release"
        } else {
            "build metadata"
        };
        return Err(format!("`{marker}` is not followed by a {what}"));
    }
    Ok(body.split_at(end))
}

impl Term {
    /// Whether `v` meets this term, pre-releases not yet excluded.
    fn admits(&self, v: &Version) -> bool {
        let b = &self.boundary;
        let cmp = v.cmp_precedence(b);
        let below = |upper: Version| v.cmp_precedence(&upper) == Ordering::Less;
        match self.op {
            Op::Eq => v == b,
            Op::Ne => v != b,
            Op::Gt => cmp == Ordering::Greater,
            Op::Ge => cmp != Ordering::Less,
            Op::Lt => cmp == Ordering::Less,
            Op::Le => cmp != Ordering::Greater,
            Op::TildeMinor => {
                cmp != Ordering::Less && below(Version::new(b.major.saturating_add(1), 0, 0))
            }
            Op::TildePatch => {
                let upper = Version::new(b.major, b.minor.saturating_add(1), 0);
                cmp != Ordering::Less && below(upper)
            }
        }
    }
}

impl Constraint {
    /// Whether `version` (semver) meets every term, with Terraform's pre-release rule.
    pub fn matches(&self, version: &str) -> bool {
        Version::parse(version).is_ok_and(|v| self.matches_version(&v))
    }

    fn matches_version(&self, v: &Version) -> bool {
        let admitted = self.terms.iter().all(|t| t.admits(v));
        let requested = || {
            self.terms
                .iter()
                .any(|t| t.op == Op::Eq && t.boundary == *v)
        };
        admitted && (v.pre.is_empty() || requested())
    }
}

impl fmt::Display for Constraint {
    /// Terraform's canonical form (`VersionConstraintsString`): duplicates dropped, terms
    /// ordered by boundary then operator, `=` written bare, `~>` with two numbers when it
    /// was written with fewer than three.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut terms: Vec<&Term> = self.terms.iter().collect();
        terms.sort_by(|a, b| {
            a.boundary
                .cmp_precedence(&b.boundary)
                .then_with(|| a.boundary.build.cmp(&b.boundary.build))
                .then_with(|| a.op.rank().cmp(&b.op.rank()))
        });
        terms.dedup();
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let b = &term.boundary;
            let op = match term.op {
                Op::Eq => "",
                Op::Ne => "!= ",
                Op::Gt => "> ",
                Op::Ge => ">= ",
                Op::Lt => "< ",
                Op::Le => "<= ",
                Op::TildeMinor | Op::TildePatch => "~> ",
            };
            write!(f, "{op}{}.{}", b.major, b.minor)?;
            if term.op != Op::TildeMinor {
                write!(f, ".{}", b.patch)?;
            }
            if !b.pre.is_empty() {
                write!(f, "-{}", b.pre)?;
            }
            if !b.build.is_empty() {
                write!(f, "+{}", b.build)?;
            }
        }
        Ok(())
    }
}

/// The newest of `versions` that meets `constraint` (by semver precedence; build metadata
/// breaks ties). Strings that are not semver are skipped.
pub fn select_version(versions: &[String], constraint: &Constraint) -> Option<String> {
    versions
        .iter()
        .filter_map(|text| Version::parse(text).ok().map(|v| (v, text)))
        .filter(|(v, _)| constraint.matches_version(v))
        .max_by(|(a, _), (b, _)| newest_order(a, b))
        .map(|(_, text)| text.clone())
}

/// Sorts versions newest first by semver precedence (build metadata breaks ties); strings
/// that are not semver go last, in text order.
pub fn sort_newest_first(versions: &mut [String]) {
    versions.sort_by(|a, b| match (Version::parse(a), Version::parse(b)) {
        (Ok(a), Ok(b)) => newest_order(&b, &a),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    });
}

fn newest_order(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b).then_with(|| a.build.cmp(&b.build))
}

#[cfg(test)]
#[path = "constraint_tests.rs"]
mod tests;

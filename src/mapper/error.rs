//! Why a package id, version, prefix or template cannot be mapped: [`MapError`], whose
//! message says what was being mapped and names the offending character where there is one.

use std::fmt;

use crate::release::Ecosystem;

/// A package id, version, prefix or template that cannot be mapped, naming the offending
/// character where there is one, e.g.
/// "cannot map pypi version `1!2.0` to a tag: `!` is not allowed in OCI tags".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {attempt}: {problem}")]
pub struct MapError {
    attempt: Attempt,
    problem: Problem,
}

impl MapError {
    /// The character at fault, when one character is.
    pub fn offending_char(&self) -> Option<char> {
        self.problem.offending_char()
    }

    /// What to do about it, when the problem has advice.
    pub fn hint(&self) -> Option<&str> {
        match &self.problem {
            Problem::Advised(advised) => Some(&advised.1),
            Problem::Character { .. } | Problem::Invalid(_) => None,
        }
    }

    /// The ecosystem whose package, version or template this was (none for the prefix).
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        match &self.attempt {
            Attempt::Package { eco, .. }
            | Attempt::Version { eco, .. }
            | Attempt::Template { eco, .. } => Some(*eco),
            Attempt::Prefix { .. } => None,
        }
    }

    pub(super) fn package(eco: Ecosystem, input: &str, problem: Problem) -> MapError {
        let input = input.to_owned();
        let attempt = Attempt::Package { eco, input };
        MapError { attempt, problem }
    }

    pub(super) fn version(eco: Ecosystem, input: &str, problem: Problem) -> MapError {
        let input = input.to_owned();
        let attempt = Attempt::Version { eco, input };
        MapError { attempt, problem }
    }

    pub(super) fn prefix(input: &str, problem: Problem) -> MapError {
        let input = input.to_owned();
        let attempt = Attempt::Prefix { input };
        MapError { attempt, problem }
    }

    pub(super) fn template(eco: Ecosystem, input: &str, problem: Problem) -> MapError {
        let input = input.to_owned();
        let attempt = Attempt::Template { eco, input };
        MapError { attempt, problem }
    }
}

/// What was being mapped when a [`MapError`] happened.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Package { eco: Ecosystem, input: String },
    Version { eco: Ecosystem, input: String },
    Prefix { input: String },
    Template { eco: Ecosystem, input: String },
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attempt::Package { eco, input } => {
                write!(
                    f,
                    "map {eco} package `{}` to a repository",
                    input.escape_debug()
                )
            }
            Attempt::Version { eco, input } => {
                write!(f, "map {eco} version `{}` to a tag", input.escape_debug())
            }
            Attempt::Prefix { input } => {
                write!(f, "use `{}` as repository prefix", input.escape_debug())
            }
            Attempt::Template { eco, input } => {
                write!(
                    f,
                    "use `{}` as {eco} repository template",
                    input.escape_debug()
                )
            }
        }
    }
}

/// Why something cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// One character is not allowed where it stands; `rule` finishes the sentence
    /// "`<ch>` ...", e.g. "is not allowed in OCI tags".
    Character { ch: char, rule: String },
    /// Anything else, as a sentence.
    Invalid(String),
    /// Anything else, as a sentence, and what to do about it (the error's hint); boxed, so
    /// that the errors holding a `MapError` stay small.
    Advised(Box<(String, String)>),
}

impl Problem {
    pub(super) fn character(ch: char, rule: impl Into<String>) -> Problem {
        Problem::Character {
            ch,
            rule: rule.into(),
        }
    }

    pub(super) fn invalid(reason: impl Into<String>) -> Problem {
        Problem::Invalid(reason.into())
    }

    pub(super) fn advised(reason: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem::Advised(Box::new((reason.into(), hint.into())))
    }

    pub(super) fn offending_char(&self) -> Option<char> {
        match self {
            Problem::Character { ch, .. } => Some(*ch),
            Problem::Invalid(_) | Problem::Advised(_) => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Character { ch, rule } => write!(f, "`{}` {rule}", ch.escape_debug()),
            Problem::Invalid(reason) => f.write_str(reason),
            Problem::Advised(advised) => f.write_str(&advised.0),
        }
    }
}

impl crate::error::Diagnostic for MapError {
    fn hints(&self) -> Vec<String> {
        self.hint().map(str::to_owned).into_iter().collect()
    }
}

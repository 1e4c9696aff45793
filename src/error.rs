//! Turning any error into what a person reads and the exit status a script checks: one line
//! of what failed, the chain of causes, and hints (as uv and cargo print them):
//!
//! ```text
//! error: <what failed>
//!   caused by: <cause>
//!   hint: <what to do>
//! ```
//!
//! Typed errors say what kind of failure they are and what to do about it through
//! [`Diagnostic`] (`error/diagnostic.rs`), apart from their message; [`report`] asks the
//! first cause in the chain that answers, and the exit status comes from its [`Kind`]. Every
//! piece goes through [`crate::output::escape`]: messages quote names, tags and texts that
//! packages and registries wrote.

use std::fmt::Write;

use crate::output::escape;
use crate::release::Ecosystem;

mod diagnostic;

pub use diagnostic::{Diagnostic, Kind, Report, hints_of, report};

/// Exit statuses, documented in `opp --help`; [`Kind::exit_code`] picks one.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const AUTH: u8 = 4;
}

/// A package, or a version of one, that is not stored where a command looked: what names it,
/// so the hint can give the `opp list` command that shows what is there instead.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct NotStored {
    pub ecosystem: Ecosystem,
    pub package: String,
    /// `None`: the package itself is missing.
    pub version: Option<String>,
    /// The store location of the package's repository, for the message.
    pub location: String,
    /// `--registry` value that reaches the same registry, `None` for the local store.
    pub registry: Option<String>,
}

impl NotStored {
    fn message(&self) -> String {
        match &self.version {
            Some(v) => format!("no version {v} of `{}` in {}", self.package, self.location),
            None => format!("no package `{}` in {}", self.package, self.location),
        }
    }

    /// The command that lists what is stored: the package's versions when only the version
    /// is missing, else the ecosystem's packages (listing a missing package finds nothing).
    fn hint(&self) -> String {
        let registry = self
            .registry
            .as_ref()
            .map(|r| format!(" --registry {r}"))
            .unwrap_or_default();
        match &self.version {
            Some(_) => format!(
                "`opp list {} {}{registry}` shows the stored versions of `{}`",
                self.ecosystem, self.package, self.package
            ),
            None => match self.ecosystem.contract().mirror_from {
                Some(from) => format!(
                    "`opp mirror {eco}{registry} {}` brings it from {from}; \
                     `opp list {eco}{registry}` shows the stored {eco} packages",
                    self.package,
                    eco = self.ecosystem
                ),
                None => format!(
                    "`opp list {}{registry}` shows the stored {} packages",
                    self.ecosystem, self.ecosystem
                ),
            },
        }
    }
}

/// A refusal by a command's own check, which has no typed error of its own: what is wrong
/// (its message), the kind of failure, and what to do about it (its hints), kept apart as
/// every [`Diagnostic`] keeps them.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub message: String,
    pub kind: Kind,
    pub hints: Vec<String>,
}

impl Refusal {
    /// A failure (exit 1) with one hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            kind: Kind::Failure,
            hints: vec![hint.into()],
        }
    }

    /// A failure (exit 1) with nothing more to say than its message.
    pub fn unhinted(message: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            kind: Kind::Failure,
            hints: Vec::new(),
        }
    }

    /// The same refusal of another kind.
    pub fn of_kind(self, kind: Kind) -> Refusal {
        Refusal { kind, ..self }
    }
}

/// The exit status and first hint of an error (see [`report`] for all of them).
pub fn classify(err: &anyhow::Error) -> (u8, Option<String>) {
    let report = report(err);
    (report.kind.exit_code(), report.hints.into_iter().next())
}

/// Renders an error: `error: ...`, then `  caused by: ...` lines, then `  hint: ...`.
pub fn render(err: &anyhow::Error, hint: Option<&str>, color: bool) -> String {
    let hints: Vec<String> = hint.map(str::to_owned).into_iter().collect();
    render_with_hints(err, &hints, color)
}

/// Renders an error with one `  hint: ...` line per hint (what the binary prints).
pub fn render_with_hints(err: &anyhow::Error, hints: &[String], color: bool) -> String {
    let (red, bold, reset) = if color {
        ("\x1b[1;31m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut last = err.to_string();
    let mut out = format!("{red}error{reset}: {}", escape(&last));
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        // Transparent wrappers repeat their source's message: print it once.
        if text != last && !last.ends_with(&text) {
            let _ = write!(out, "\n  caused by: {}", escape(&text));
        }
        last = text;
    }
    for h in hints {
        let _ = write!(out, "\n  {bold}hint{reset}: {}", escape(h));
    }
    out
}

/// An error and its causes on one line (a cause already quoted by its parent is left out):
/// for log lines, warnings and the one-line reasons the proxy answers with.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// An error and its causes on one line, then its hints (`...; pass --force to replace it`): for
/// per-item reasons in a report, which have no `hint:` lines of their own.
pub fn reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = chain(e);
    for hint in hints_of(e) {
        text.push_str("; ");
        text.push_str(&hint);
    }
    text
}

#[cfg(test)]
mod tests;

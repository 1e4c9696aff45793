//! Turning any error into what a person reads and the exit status a script checks: one line
//! of what failed, the chain of causes, and one hint (as uv and cargo print them). Every
//! piece goes through [`crate::output::escape`]: messages quote names, tags and texts that
//! packages and registries wrote.

use std::fmt::Write;

use crate::output::escape;
use crate::packages::PackageError;
use crate::release::Ecosystem;
use crate::store::StoreError;

/// Exit statuses, documented in `opp --help`.
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
            None if self.ecosystem == Ecosystem::Pypi => format!(
                "`opp mirror pypi{registry} {}` brings it, with its dependencies, from PyPI; \
                 `opp list pypi{registry}` shows the stored pypi packages",
                self.package
            ),
            None => format!(
                "`opp list {}{registry}` shows the stored {} packages",
                self.ecosystem, self.ecosystem
            ),
        }
    }
}

/// The exit status and hint for an error, from the first cause that opp knows.
pub fn classify(err: &anyhow::Error) -> (u8, Option<String>) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<crate::commands::login::LoginRefused>()
            && matches!(e.source, StoreError::Unauthorized { .. })
        {
            return (
                exit::AUTH,
                Some(format!(
                    "check the username and the password (or the token and its scopes), then run `opp login {}` again",
                    e.host
                )),
            );
        }
        let store_error = cause.downcast_ref::<StoreError>().or_else(|| {
            match cause.downcast_ref::<PackageError>() {
                Some(PackageError::Store(e)) => Some(e),
                _ => None,
            }
        });
        if let Some(e) = store_error {
            return match e {
                StoreError::Unauthorized {
                    registry,
                    status: 403,
                    ..
                } => (
                    exit::AUTH,
                    Some(format!(
                        "check the package name and the registry prefix (`opp list` shows what {registry} holds); if they are right, these credentials lack access (on ghcr.io the token needs read:packages, or write:packages to push)"
                    )),
                ),
                StoreError::Unauthorized { registry, .. } => (
                    exit::AUTH,
                    Some(format!(
                        "run `opp login {registry}`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD; if you did (or logged in with docker, whose credentials opp reads too), the password or token is wrong or expired"
                    )),
                ),
                StoreError::Unreachable { registry, .. } => (
                    exit::FAILURE,
                    Some(format!("check that {registry} is the right address and the registry is running (--registry / OPP_REGISTRY)")),
                ),
                StoreError::NotFound { .. } => (exit::NOT_FOUND, None),
                StoreError::Corrupt { .. } => (
                    exit::FAILURE,
                    Some("nothing was written; run the command again, and if it persists the stored copy is damaged".into()),
                ),
                _ => (exit::FAILURE, None),
            };
        }
        if let Some(e) = cause.downcast_ref::<NotStored>() {
            return (exit::NOT_FOUND, Some(e.hint()));
        }
        if let Some(PackageError::NotFound(_)) = cause.downcast_ref::<PackageError>() {
            return (
                exit::NOT_FOUND,
                Some(
                    "`opp list` shows every stored package, `opp list ECOSYSTEM NAME` the versions of one"
                        .into(),
                ),
            );
        }
    }
    (exit::FAILURE, None)
}

/// Renders an error: `error: ...`, then `  caused by: ...` lines, then `  hint: ...`.
pub fn render(err: &anyhow::Error, hint: Option<&str>, color: bool) -> String {
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
    if let Some(h) = hint {
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

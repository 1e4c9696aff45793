//! What kind of failure an error is and what a person can do about it, kept apart from its
//! message: the [`Diagnostic`] trait, implemented here for the library's typed errors, and
//! [`report`], which asks the first cause of an error chain that answers. The errors opp can
//! diagnose are listed once, in [`as_diagnostic`]; a new typed error with advice implements
//! `Diagnostic` and joins that list, except an ecosystem's own error, which its contract
//! names (`Contract::diagnose`).

use super::{NotStored, Refusal, exit};
use crate::artifact::ArtifactError;
use crate::auth::AuthError;
use crate::bundle::BundleError;
use crate::commands::login::LoginRefused;
use crate::config::ConfigError;
use crate::mapper::MapError;
use crate::mirror::MirrorError;
use crate::mirror::download::DownloadError;
use crate::mirror::nuget::config::ConfigError as NugetConfigError;
use crate::mirror::nuget::config_files::CredentialsError;
use crate::mirror::nuget::feed::{BadFeed, Unreadable};
use crate::mirror::nuget::framework::FrameworkError;
use crate::mirror::rubygems::RubygemsMirrorError;
use crate::mirror::terraform::TerraformMirrorError;
use crate::mirror::terraform::config::ConfigError as TerraformConfigError;
use crate::mirror::terraform_module::{FetchError, ModuleMirrorError};
use crate::mirror::unauthorized::Unauthorized;
use crate::packages::PackageError;
use crate::proxy::failure::Failure;
use crate::release::Ecosystem;
use crate::store::StoreError;

/// What kind of failure an error is; the exit status comes from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anything else: bad input, a registry error, an I/O error.
    Failure,
    /// The command line itself is wrong (clap reports those before a command runs).
    Usage,
    /// The package or version is not stored where the command looked.
    NotFound,
    /// The registry refused the credentials, or they lack access.
    Auth,
}

impl Kind {
    /// The exit status `opp --help` documents for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failure => exit::FAILURE,
            Kind::Usage => exit::USAGE,
            Kind::NotFound => exit::NOT_FOUND,
            Kind::Auth => exit::AUTH,
        }
    }
}

/// A typed error that knows what kind of failure it is and what to do about it.
pub trait Diagnostic {
    /// The kind of failure, or `None` to leave it to a cause further down the chain.
    fn kind(&self) -> Option<Kind> {
        None
    }

    /// Advice, one sentence each, printed as `hint:` lines after the causes.
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The kind and hints of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: Kind,
    pub hints: Vec<String>,
}

/// The kind and hints of the first cause in `err`'s chain that gives either; a failure
/// without hints when none does.
pub fn report(err: &anyhow::Error) -> Report {
    for cause in err.chain() {
        let Some(diagnostic) = as_diagnostic(cause) else {
            continue;
        };
        let (kind, hints) = (diagnostic.kind(), diagnostic.hints());
        if kind.is_some() || !hints.is_empty() {
            return Report {
                kind: kind.unwrap_or(Kind::Failure),
                hints,
            };
        }
    }
    Report {
        kind: Kind::Failure,
        hints: Vec::new(),
    }
}

/// The errors opp can diagnose: one line per shared type, then each ecosystem's own
/// ([`crate::ecosystem::contract::Contract::diagnose`]).
fn as_diagnostic<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Diagnostic> {
    /// The first of `types` that `cause` is, as a [`Diagnostic`].
    macro_rules! first_of {
        ($($ty:ty),+ $(,)?) => {
            None$(.or_else(|| cause.downcast_ref::<$ty>().map(|e| e as &dyn Diagnostic)))+
        };
    }
    first_of!(
        LoginRefused,
        StoreError,
        PackageError,
        ArtifactError,
        NotStored,
        BundleError,
        Refusal,
        ConfigError,
        AuthError,
        MapError,
        MirrorError,
        DownloadError,
        TerraformMirrorError,
        TerraformConfigError,
        ModuleMirrorError,
        FetchError,
        BadFeed,
        Unreadable,
        FrameworkError,
        NugetConfigError,
        CredentialsError,
        RubygemsMirrorError,
        Unauthorized,
        Failure,
    )
    .or_else(|| {
        Ecosystem::ALL
            .iter()
            .find_map(|eco| (eco.contract().diagnose)(cause))
    })
}

impl Diagnostic for LoginRefused {
    fn kind(&self) -> Option<Kind> {
        // Any other refusal (unreachable, ...) is the store error's to diagnose.
        matches!(self.source, StoreError::Unauthorized { .. }).then_some(Kind::Auth)
    }

    fn hints(&self) -> Vec<String> {
        match self.source {
            StoreError::Unauthorized { .. } => vec![format!(
                "check the username and the password (or the token and its scopes), then run `opp login {}` again",
                self.host
            )],
            _ => Vec::new(),
        }
    }
}

impl Diagnostic for StoreError {
    fn kind(&self) -> Option<Kind> {
        Some(match self {
            StoreError::Unauthorized { .. } => Kind::Auth,
            StoreError::NotFound { .. } => Kind::NotFound,
            _ => Kind::Failure,
        })
    }

    fn hints(&self) -> Vec<String> {
        match self {
            StoreError::Unauthorized {
                registry,
                status: 403,
                ..
            } => vec![format!(
                "check the package name and the registry prefix (`opp list` shows what {registry} holds); if they are right, these credentials lack access (on ghcr.io the token needs read:packages, or write:packages to push)"
            )],
            StoreError::Unauthorized { registry, .. } => vec![format!(
                "run `opp login {registry}`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD; if you did (or logged in with docker, whose credentials opp reads too), the password or token is wrong or expired"
            )],
            StoreError::Unreachable { registry, .. } => vec![format!(
                "check that {registry} is the right address and the registry is running (--registry / OPP_REGISTRY)"
            )],
            StoreError::Corrupt { .. } => vec![
                "nothing was written; run the command again, and if it persists the stored copy is damaged".into(),
            ],
            _ => Vec::new(),
        }
    }
}

impl Diagnostic for PackageError {
    // Transparent variants hide their inner error from the chain: ask it here.
    fn kind(&self) -> Option<Kind> {
        match self {
            PackageError::Store(e) => e.kind(),
            PackageError::Artifact(e) => e.kind(),
            PackageError::NotFound(_) | PackageError::SymbolsAlone { .. } => Some(Kind::NotFound),
            _ => None,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            PackageError::Store(e) => e.hints(),
            PackageError::Artifact(e) => e.hints(),
            PackageError::Map(e) => e.hints(),
            PackageError::NotFound(_) => vec![
                "`opp list` shows every stored package, `opp list ECOSYSTEM NAME` the versions of one"
                    .into(),
            ],
            PackageError::SymbolsAlone { .. } => {
                vec!["push the .nupkg first (or with it)".into()]
            }
            PackageError::Race { .. } => vec![
                "other writers kept rewriting it; run the command again (what it already uploaded is not sent twice)"
                    .into(),
            ],
            _ => Vec::new(),
        }
    }
}

impl Diagnostic for BundleError {
    // Transparent variants hide their inner error from the chain: ask it here.
    fn kind(&self) -> Option<Kind> {
        match self {
            BundleError::Store(e) => e.kind(),
            BundleError::Package(e) => e.kind(),
            BundleError::NotFound(_) => Some(Kind::NotFound),
            // A bundle (or --since file) that does not exist: "no such file" is exit 3.
            BundleError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Some(Kind::NotFound)
            }
            BundleError::Map(_)
            | BundleError::Io { .. }
            | BundleError::Invalid(_)
            | BundleError::Damaged { .. }
            | BundleError::BaseMissing { .. } => None,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            BundleError::Store(e) => e.hints(),
            BundleError::Package(e) => e.hints(),
            BundleError::Map(e) => e.hints(),
            BundleError::BaseMissing { .. } => vec!["import that bundle first".into()],
            BundleError::Io { .. }
            | BundleError::Invalid(_)
            | BundleError::NotFound(_)
            | BundleError::Damaged { .. } => Vec::new(),
        }
    }
}

impl Diagnostic for ArtifactError {
    fn hints(&self) -> Vec<String> {
        match self {
            ArtifactError::Conflict { .. } => vec!["pass --force to replace it".into()],
            ArtifactError::VersionConflict { .. } => {
                vec!["pass --force to replace the version".into()]
            }
            ArtifactError::Unusable { hint, .. } => vec![(*hint).into()],
            ArtifactError::Invalid { .. } | ArtifactError::WrongType { .. } => Vec::new(),
        }
    }
}

impl Diagnostic for Refusal {
    fn kind(&self) -> Option<Kind> {
        Some(self.kind)
    }

    fn hints(&self) -> Vec<String> {
        self.hints.clone()
    }
}

impl Diagnostic for ConfigError {
    fn hints(&self) -> Vec<String> {
        match self {
            ConfigError::CredentialsInAddress { host, .. } => vec![format!(
                "run `opp login {host}`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD"
            )],
            ConfigError::NoHome => vec!["set HOME, or pass --store".into()],
            ConfigError::BadRegistry(_)
            | ConfigError::Read { .. }
            | ConfigError::Parse { .. }
            | ConfigError::UnknownEcosystem { .. } => Vec::new(),
        }
    }
}

impl Diagnostic for NotStored {
    fn kind(&self) -> Option<Kind> {
        Some(Kind::NotFound)
    }

    fn hints(&self) -> Vec<String> {
        vec![self.hint()]
    }
}

/// The hints of the first cause in `e`'s chain that gives any (for one-line reasons, which
/// have no `hint:` lines of their own).
pub fn hints_of(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(hints) = as_diagnostic(c)
            .map(|d| d.hints())
            .filter(|h| !h.is_empty())
        {
            return hints;
        }
        cause = c.source();
    }
    Vec::new()
}

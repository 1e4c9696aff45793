//! The module half of `opp mirror terraform`: Terraform modules from a module registry
//! (`registry`: service discovery, `modules.v1` versions, the `download` answer's
//! `X-Terraform-Get`), the newest version meeting every constraint of a request (Terraform's
//! constraint syntax, the code `opp mirror terraform-provider` uses), the package that address
//! names (`source`: go-getter's rules; `fetch`: an https archive unpacked safely by `archive`,
//! or a git repository at its `ref`), zipped whole by `opp push terraform-module`'s packer and
//! pushed through its path (`sink`), through the shared pipeline (a stored version is skipped
//! without a download, `--dry-run`, one result per version).
//!
//! [`mirror_modules`] is the entry point: `opp mirror terraform-module` calls it with the
//! command line's requests, `opp mirror terraform --dir` with the module calls of a
//! configuration.

pub mod archive;
pub mod fetch;
pub mod plan;
pub mod registry;
pub mod sink;
pub mod source;

pub use plan::{ModuleRequest, Options, Outcome, mirror_modules};

use crate::ecosystem::terraform_module::ModuleError;
use crate::ecosystem::terraform_provider::ProviderError;
use crate::mirror::download::DownloadError;
use crate::mirror::terraform::TerraformMirrorError;

/// Why a module request could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum ModuleMirrorError {
    #[error("`{0}` is not a module registry host")]
    BadUpstream(String),
    #[error(
        "invalid module request `{spec}`: {reason}; expected [HOST/]NAMESPACE/NAME/SYSTEM[@CONSTRAINT]"
    )]
    BadSpec { spec: String, reason: String },
    #[error("{url} is not a registry answer opp can read: {reason}")]
    BadDocument { url: String, reason: String },
    #[error("{0} offers no module registry (no `modules.v1` in /.well-known/terraform.json)")]
    NoModules(String),
    #[error("no version of {name} matches `{constraint}`; the registry has: {available}")]
    NoVersion {
        name: String,
        constraint: String,
        available: String,
    },
    #[error("{what}: {reason}")]
    BadSource { what: String, reason: String },
    #[error(transparent)]
    Constraint(#[from] ProviderError),
    #[error(transparent)]
    Registry(Box<TerraformMirrorError>),
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error(transparent)]
    Store(#[from] crate::packages::PackageError),
}

impl From<TerraformMirrorError> for ModuleMirrorError {
    fn from(e: TerraformMirrorError) -> Self {
        ModuleMirrorError::Registry(Box::new(e))
    }
}

/// Why a module package could not be fetched and unpacked; nothing is stored then.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error("cannot write {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{label} is not a readable {kind} archive ({detail}); nothing was stored")]
    Corrupt {
        label: String,
        kind: &'static str,
        detail: String,
    },
    #[error("cannot rewrite {label} as a zip ({detail}); nothing was stored")]
    Repack { label: String, detail: String },
    #[error(
        "{label} has the entry `{entry}`, {what}; refusing the whole archive, nothing was stored"
    )]
    SpecialEntry {
        label: String,
        entry: String,
        what: &'static str,
    },
    #[error(
        "{label} unpacks to more than {limit} (`{entry}` reached it); refusing it, nothing was \
         stored"
    )]
    TooLarge {
        label: String,
        entry: String,
        limit: String,
    },
    #[error("{label} holds more than {limit} of files; refusing it, nothing was stored")]
    TreeTooLarge { label: String, limit: String },
    #[error("cannot run git, which git:: module sources need ({0})")]
    GitMissing(#[source] std::io::Error),
    #[error("git cannot fetch {repository}: {detail}")]
    Git { repository: String, detail: String },
    #[error("{repository} has no tag, branch or commit `{reference}`; nothing was stored")]
    NoRef {
        repository: String,
        reference: String,
    },
    #[error(
        "{label} has no directory `{subdir}`, which the registry's source address names; \
         nothing was stored"
    )]
    NoSubdir { label: String, subdir: String },
    #[error("{0}")]
    Task(String),
}

/// What to do about an upstream `opp mirror terraform-module` cannot use; a transparent
/// variant asks its inner error, which the chain of causes does not show.
impl crate::error::Diagnostic for ModuleMirrorError {
    fn hints(&self) -> Vec<String> {
        match self {
            ModuleMirrorError::BadUpstream(_) => vec![
                "give HOST, HOST:PORT or https://HOST[:PORT]/, e.g. registry.terraform.io".into(),
            ],
            ModuleMirrorError::Constraint(e) => e.hints(),
            ModuleMirrorError::Registry(e) => e.hints(),
            ModuleMirrorError::Store(e) => e.hints(),
            ModuleMirrorError::BadSpec { .. }
            | ModuleMirrorError::BadDocument { .. }
            | ModuleMirrorError::NoModules(_)
            | ModuleMirrorError::NoVersion { .. }
            | ModuleMirrorError::BadSource { .. }
            | ModuleMirrorError::Download(_) => Vec::new(),
        }
    }
}

/// What to do about a module package that was refused; a transparent variant asks its inner
/// error.
impl crate::error::Diagnostic for FetchError {
    fn hints(&self) -> Vec<String> {
        match self {
            FetchError::TooLarge { .. } | FetchError::TreeTooLarge { .. } => vec![
                "if the module really is this large, raise the limit with --max-unpacked-size"
                    .into(),
            ],
            FetchError::GitMissing(_) => vec!["install git".into()],
            FetchError::Module(e) => e.hints(),
            FetchError::Download(_)
            | FetchError::Io { .. }
            | FetchError::Corrupt { .. }
            | FetchError::Repack { .. }
            | FetchError::SpecialEntry { .. }
            | FetchError::Git { .. }
            | FetchError::NoRef { .. }
            | FetchError::NoSubdir { .. }
            | FetchError::Task(_) => Vec::new(),
        }
    }
}

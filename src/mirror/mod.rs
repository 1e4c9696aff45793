//! `opp mirror`: bring packages from an ecosystem's public index into the store, in the layout
//! `opp push` writes. The pipeline every ecosystem shares is here: a plan of files (each with
//! the digest the upstream states), then its execution (skip what is stored with the same
//! digest, download concurrently into temporary files, verify, push through the ecosystem's
//! push path, report per file: `execute`, `download`). What to mirror (the closure, the
//! upstream's protocol) is each ecosystem's own: `pypi/`.

pub mod credentials;
pub mod download;
pub mod execute;
pub mod nuget;
pub mod pypi;
pub mod rubygems;
pub mod terraform;
pub mod terraform_module;
pub mod unauthorized;

pub use execute::{FileResult, PlanFile, Sink, counts, execute};

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("`{0}` is not an index URL")]
    BadUpstream(String),
    #[error("invalid requirement `{spec}`: {reason}")]
    BadSpec {
        spec: String,
        reason: String,
        /// What to do, when the reason has one remedy.
        hint: Option<&'static str>,
    },
    #[error("{path}:{line}: {reason}")]
    BadLine {
        path: String,
        line: usize,
        reason: String,
        /// What to do, when the reason has one remedy.
        hint: Option<&'static str>,
    },
    #[error("{path} is not a lock file opp can read: {reason}")]
    BadLock { path: String, reason: String },
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the closure did not settle after {0} rounds of requests to the upstream index")]
    Unsettled(usize),
    #[error(transparent)]
    Download(#[from] download::DownloadError),
}

/// What to do about an upstream or a request `opp mirror pypi` cannot use.
impl crate::error::Diagnostic for MirrorError {
    fn hints(&self) -> Vec<String> {
        match self {
            MirrorError::BadUpstream(_) => vec![
                "give an http:// or https:// simple index, e.g. https://pypi.org/simple/".into(),
            ],
            MirrorError::BadSpec {
                hint: Some(hint), ..
            }
            | MirrorError::BadLine {
                hint: Some(hint), ..
            } => vec![(*hint).into()],
            MirrorError::BadSpec { .. }
            | MirrorError::BadLine { .. }
            | MirrorError::BadLock { .. }
            | MirrorError::Read { .. }
            | MirrorError::Unsettled(_)
            | MirrorError::Download(_) => Vec::new(),
        }
    }
}

//! What a Terraform configuration needs from registries, for `opp mirror terraform --dir`:
//! every provider the module tree requires, each with every version constraint written on it
//! and where (the tree gets one version per provider, so the constraints are intersected, as
//! Terraform does), the registry modules it calls (each call resolved on its own, as
//! Terraform does) and the module sources that are not a registry's. Reads the root module's
//! `.tf` files (`file`), resolves local provider names the way Terraform does (`source`) and
//! follows local module calls (`./x`, `../x`) recursively, refusing a loop (`walk`). Reads
//! files; asks no registry.

mod file;
pub mod source;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::ecosystem::terraform_provider::ProviderAddress;
pub use walk::read_tree;

/// The largest `.tf` file read (16 MiB, as the error says); a real one is a few KiB to a few
/// hundred.
pub(crate) const MAX_TF_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where something is written: a file (as the user's `--dir` path leads to it) and a line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A version constraint and where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Constrained {
    /// As written; empty for a module call without `version` (any version).
    pub constraint: String,
    pub origin: Origin,
}

/// One provider the tree requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRequirement {
    /// Every non-empty constraint on it in the tree.
    pub constraints: Vec<Constrained>,
    /// The first place that requires or uses it.
    pub first: Origin,
}

impl ProviderRequirement {
    /// The intersection of the constraints, in Terraform's syntax (`>= 1.0, < 2.0`); empty
    /// for none.
    pub fn combined(&self) -> String {
        let mut terms: Vec<&str> = Vec::new();
        for c in &self.constraints {
            if !terms.contains(&c.constraint.as_str()) {
                terms.push(&c.constraint);
            }
        }
        terms.join(", ")
    }

    /// Each constraint with where it is written: `` `>= 1.0` (infra/main.tf:4), ... ``.
    pub fn describe(&self) -> String {
        self.constraints
            .iter()
            .map(|c| format!("`{}` ({})", c.constraint, c.origin))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A registry module the tree calls: what the module mirror is handed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModuleRequirement {
    /// `NAMESPACE/NAME/SYSTEM`, or `HOST/NAMESPACE/NAME/SYSTEM` for another host than
    /// registry.terraform.io (without the `//SUBDIR` a call may add).
    pub address: String,
    /// One per `module` block calling it: its `version` (empty: any) and where it is. Each
    /// call is resolved on its own, so the newest version meeting each is what it needs.
    pub calls: Vec<Constrained>,
}

/// A module call whose source no registry serves, and so is not mirrored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotMirrored {
    pub module: String,
    pub source: String,
    /// What the source is (`a git repository`, `an HTTP(S) archive`, ...).
    pub kind: String,
    pub origin: Origin,
}

/// Everything the tree requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub providers: BTreeMap<ProviderAddress, ProviderRequirement>,
    pub modules: Vec<ModuleRequirement>,
    pub not_mirrored: Vec<NotMirrored>,
    /// Where the built-in `terraform` provider is used (nothing to mirror).
    pub built_in: Vec<Origin>,
    /// `.tf.json` files, which opp does not read.
    pub json_files: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path} holds no .tf files")]
    NoConfiguration { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is larger than 16 MiB, the most opp reads of a .tf file")]
    TooLarge { path: String },
    #[error("{origin}: not HCL opp can read: {reason}")]
    Parse { origin: Origin, reason: String },
    #[error("{origin}: {what}")]
    Invalid { origin: Origin, what: String },
    #[error("{origin}: `{constraint}` is not a version constraint: {reason}")]
    BadConstraint {
        origin: Origin,
        constraint: String,
        reason: String,
    },
    #[error("{origin}: module \"{module}\" calls {called}, but {dir} is not a directory")]
    NoModuleDir {
        origin: Origin,
        module: String,
        called: String,
        dir: String,
    },
    #[error(
        "{origin}: module \"{module}\" calls {called}, which leads back to {dir}: the local \
         modules call each other in a loop, which Terraform cannot load"
    )]
    Cycle {
        origin: Origin,
        module: String,
        called: String,
        dir: String,
    },
    #[error(
        "no version of {name} meets every constraint on it in the configuration: \
         {constraints}; the registry has: {available}"
    )]
    Unsatisfiable {
        name: String,
        constraints: String,
        available: String,
    },
}

impl crate::error::Diagnostic for ConfigError {
    fn hints(&self) -> Vec<String> {
        match self {
            ConfigError::NoConfiguration { .. } => {
                vec!["give the directory of a Terraform configuration (its root module)".into()]
            }
            _ => Vec::new(),
        }
    }
}

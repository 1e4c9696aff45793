//! What a Terraform configuration needs from registries, for `opp mirror terraform --dir`:
//! every provider the module tree requires, each with every version constraint written on it
//! and where (the tree gets one version per provider, so the constraints are intersected, as
//! Terraform does), the registry modules it calls (each call resolved on its own, as
//! Terraform does) and the module sources that are not a registry's. Reads the root module's
//! `.tf` files (`file`), resolves local provider names the way Terraform does (`source`) and
//! follows local module calls (`./x`, `../x`) recursively, refusing a loop. Reads files; asks
//! no registry.

mod file;
pub mod source;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::ecosystem::terraform_provider::{self as tfp, ProviderAddress};
use file::Facts;
use source::{ModuleSource, Provider};

/// The largest `.tf` file read (16 MiB, as the error says); a real one is a few KiB to a few
/// hundred.
const MAX_TF_FILE_BYTES: u64 = 16 * 1024 * 1024;

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
    #[error(
        "{path} holds no .tf files; give the directory of a Terraform configuration (its root module)"
    )]
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
        "the providers are mirrored, but mirroring modules is not available in this build of \
         opp; not mirrored: {modules}"
    )]
    ModuleMirrorUnavailable { modules: String },
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

/// The requirements of the configuration whose root module is `root`.
pub fn read_tree(root: &Path) -> Result<Requirements, ConfigError> {
    let mut walk = Walk::default();
    walk.module(root, None)?;
    let mut reqs = walk.reqs;
    reqs.modules = walk.modules.into_values().collect();
    if walk.tf_files == 0 {
        return Err(ConfigError::NoConfiguration {
            path: root.display().to_string(),
        });
    }
    Ok(reqs)
}

#[derive(Default)]
struct Walk {
    reqs: Requirements,
    modules: BTreeMap<String, ModuleRequirement>,
    /// Directories read (canonical), so a module called twice is read once.
    seen: HashSet<PathBuf>,
    /// The directories (canonical) of the calls that led here, for the loop check.
    stack: Vec<PathBuf>,
    tf_files: usize,
}

/// The call that led to a module directory.
struct Caller<'a> {
    origin: &'a Origin,
    module: &'a str,
    source: &'a str,
}

impl Walk {
    fn module(&mut self, dir: &Path, caller: Option<Caller>) -> Result<(), ConfigError> {
        let shown = dir.display().to_string();
        let canonical = match dir.canonicalize() {
            Ok(c) if c.is_dir() => c,
            other => {
                return Err(match caller {
                    Some(c) => ConfigError::NoModuleDir {
                        origin: c.origin.clone(),
                        module: c.module.to_owned(),
                        called: c.source.to_owned(),
                        dir: shown,
                    },
                    None => match other {
                        Err(source) => ConfigError::Read {
                            path: shown,
                            source,
                        },
                        Ok(_) => ConfigError::NoConfiguration { path: shown },
                    },
                });
            }
        };
        if let Some(c) = &caller
            && self.stack.contains(&canonical)
        {
            return Err(ConfigError::Cycle {
                origin: c.origin.clone(),
                module: c.module.to_owned(),
                called: c.source.to_owned(),
                dir: shown,
            });
        }
        if !self.seen.insert(canonical.clone()) {
            return Ok(());
        }
        let mut facts = Facts::default();
        for path in self.files(dir)? {
            let shown = path.display().to_string();
            let text = read_limited(&path)?;
            file::read(&shown, &text, &mut facts)?;
        }
        self.resolve(&facts)?;
        self.stack.push(canonical);
        for call in &facts.calls {
            match source::module_source(&call.source) {
                ModuleSource::Local(relative) => self.module(
                    &join(dir, &relative),
                    Some(Caller {
                        origin: &call.origin,
                        module: &call.name,
                        source: &call.source,
                    }),
                )?,
                ModuleSource::Registry(address) => {
                    let constraint = call.version.clone().unwrap_or_default();
                    check_constraint(&constraint, &call.origin)?;
                    self.modules
                        .entry(address.clone())
                        .or_insert_with(|| ModuleRequirement {
                            address,
                            calls: Vec::new(),
                        })
                        .calls
                        .push(Constrained {
                            constraint,
                            origin: call.origin.clone(),
                        });
                }
                ModuleSource::Other(kind) => self.reqs.not_mirrored.push(NotMirrored {
                    module: call.name.clone(),
                    source: call.source.clone(),
                    kind: kind.to_owned(),
                    origin: call.origin.clone(),
                }),
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// The `.tf` files of `dir`, sorted, skipping what Terraform skips (names starting with
    /// `.` or `#`, ending with `~`); `.tf.json` files are noted, not read.
    fn files(&mut self, dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('#') || name.ends_with('~') {
                continue;
            }
            let is_file = entry.path().is_file();
            if is_file && name.ends_with(".tf") {
                files.push(entry.path());
            } else if is_file && name.ends_with(".tf.json") {
                self.reqs
                    .json_files
                    .push(entry.path().display().to_string());
            }
        }
        files.sort();
        self.tf_files += files.len();
        Ok(files)
    }

    /// Resolves a module's local provider names through its `required_providers` (else
    /// Terraform's implied `hashicorp/NAME`) and records each provider.
    fn resolve(&mut self, facts: &Facts) -> Result<(), ConfigError> {
        let mut local: HashMap<&str, Provider> = HashMap::new();
        for r in &facts.required {
            let provider = match &r.source {
                Some(s) => source::provider_source(s),
                None => source::implied_provider(&r.local_name),
            }
            .map_err(|reason| ConfigError::Invalid {
                origin: r.origin.clone(),
                what: format!("required_providers entry `{}`: {reason}", r.local_name),
            })?;
            self.record(&provider, r.constraint.as_deref(), &r.origin)?;
            local.insert(&r.local_name, provider);
        }
        for u in &facts.used {
            let provider = match local.get(u.local_name.as_str()) {
                Some(p) => p.clone(),
                None => source::implied_provider(&u.local_name).map_err(|reason| {
                    ConfigError::Invalid {
                        origin: u.origin.clone(),
                        what: format!("provider `{}`: {reason}", u.local_name),
                    }
                })?,
            };
            self.record(&provider, u.constraint.as_deref(), &u.origin)?;
        }
        Ok(())
    }

    fn record(
        &mut self,
        provider: &Provider,
        constraint: Option<&str>,
        origin: &Origin,
    ) -> Result<(), ConfigError> {
        let Provider::Registry(address) = provider else {
            self.reqs.built_in.push(origin.clone());
            return Ok(());
        };
        let entry = self
            .reqs
            .providers
            .entry(address.clone())
            .or_insert_with(|| ProviderRequirement {
                constraints: Vec::new(),
                first: origin.clone(),
            });
        if let Some(c) = constraint.filter(|c| !c.trim().is_empty()) {
            check_constraint(c, origin)?;
            entry.constraints.push(Constrained {
                constraint: c.trim().to_owned(),
                origin: origin.clone(),
            });
        }
        Ok(())
    }
}

fn check_constraint(constraint: &str, origin: &Origin) -> Result<(), ConfigError> {
    tfp::parse_constraint(constraint)
        .map(|_| ())
        .map_err(|e| ConfigError::BadConstraint {
            origin: origin.clone(),
            constraint: constraint.to_owned(),
            reason: match e {
                tfp::ProviderError::InvalidConstraint { reason, .. } => reason,
                other => other.to_string(),
            },
        })
}

fn read_limited(path: &Path) -> Result<String, ConfigError> {
    let shown = || path.display().to_string();
    let read_error = |source| ConfigError::Read {
        path: shown(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_TF_FILE_BYTES {
        return Err(ConfigError::TooLarge { path: shown() });
    }
    std::fs::read_to_string(path).map_err(read_error)
}

/// `base` joined with a module's relative source, `.` and `..` folded away as Terraform's
/// `path.Clean` folds them (a `..` past `base`'s own components stays).
fn join(base: &Path, relative: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            name => out.push(name),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

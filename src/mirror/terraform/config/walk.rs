//! Walking a configuration tree: the root module's directory, then every local module it
//! calls, each directory's `.tf` files read once (`file`), its local provider names resolved
//! (`source`) and what it requires added up; a loop of local calls is refused. The only part
//! of `config` that touches the filesystem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::file::{self, Facts};
use super::source::{self, ModuleSource, Provider};
use super::{
    ConfigError, Constrained, MAX_TF_FILE_BYTES, ModuleRequirement, NotMirrored, Origin,
    ProviderRequirement, Requirements,
};
use crate::ecosystem::terraform_provider as tfp;

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

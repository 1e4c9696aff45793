//! The dependency closure: from the requested packages and what the upstream index said so far
//! (project pages, core metadata), which files to mirror. Pure: values in, a plan (or the list
//! of what still has to be fetched) out; `pypi/mod.rs` fetches and calls again until nothing
//! is missing.
//!
//! Per target environment, each package gets the newest version that satisfies every
//! specifier seen for it and has a file for the environment, iterated to a fixed point (a
//! newer choice can drop or add dependencies). This is not a resolver: it never backtracks.
//! Where no single version satisfies every specifier, each edge's newest is mirrored and the
//! conflict reported. Lock files and pinned requirements give an exact set instead.

use std::collections::{BTreeMap, BTreeSet};

use pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerTree};

use super::choose::{choose, files_for};
use super::environment::Environment;
use super::index::IndexFile;
use super::metadata::Dependencies;
use crate::ecosystem::pypi::normalize_name;

/// Rounds after which a closure that keeps changing is taken as it stands (and reported).
const MAX_ROUNDS: usize = 50;

/// One requested package: a command-line spec or a requirements-file line.
#[derive(Clone, Debug)]
pub struct Request {
    /// Normalized project name.
    pub name: String,
    pub extras: Vec<ExtraName>,
    pub specifiers: VersionSpecifiers,
    /// The line's own marker (requirements files); true for command-line specs.
    pub marker: MarkerTree,
    /// Allowed sha256 digests (`--hash` lines); empty allows any.
    pub hashes: Vec<String>,
    /// Follow its dependencies (false for a pinned requirements line: mirrored exactly).
    pub follow: bool,
    /// Where it was asked for, for messages (`command line`, `requirements.txt:3`).
    pub origin: String,
}

/// pip's `--only-binary` / `--no-binary`: `:all:` or names.
#[derive(Clone, Debug, Default)]
pub struct BinaryRules {
    pub only_binary_all: bool,
    pub only_binary: BTreeSet<String>,
    pub no_binary_all: bool,
    pub no_binary: BTreeSet<String>,
}

impl BinaryRules {
    /// Whether a wheel (`wheel`) or an sdist of `name` may be mirrored. A rule naming the
    /// project wins over `:all:` of the other flag.
    pub fn allows(&self, name: &str, wheel: bool) -> bool {
        let covers = |all: bool, names: &BTreeSet<String>, other: &BTreeSet<String>| {
            names.contains(name) || (all && !other.contains(name))
        };
        if wheel {
            !covers(self.no_binary_all, &self.no_binary, &self.only_binary)
        } else {
            !covers(self.only_binary_all, &self.only_binary, &self.no_binary)
        }
    }
}

/// What shapes a closure besides the requests.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub environments: Vec<Environment>,
    pub pre: bool,
    pub binary: BinaryRules,
    /// Every file of a chosen version, not only those for the targets.
    pub all_files: bool,
    /// `-c` constraints: specifiers applied to a package when something depends on it.
    pub constraints: BTreeMap<String, Vec<VersionSpecifiers>>,
}

/// What the upstream index said so far.
#[derive(Debug, Default)]
pub struct Known {
    /// Normalized name -> its files, or why the page could not be read.
    pub pages: BTreeMap<String, Result<Vec<IndexFile>, String>>,
    /// `(name, version)` -> its dependencies, or why they could not be read.
    pub metadata: BTreeMap<(String, Version), Result<Dependencies, String>>,
    /// What each page's files are for each environment, worked out once: the closure is
    /// looked at again after every answer, and a page lists up to thousands of wheels.
    pub(super) facts: Memo,
}

/// Per (environment, project): per file of its page, in order, what [`Known::facts`] says.
pub(super) type Memo =
    std::sync::Mutex<BTreeMap<(Environment, String), std::sync::Arc<Vec<FileFacts>>>>;

/// What a file of a page is, for one environment.
#[derive(Clone, Debug)]
pub(super) struct FileFacts {
    /// Its version and kind, when opp mirrors such files.
    pub(super) dist: Option<super::index::DistName>,
    /// It installs there: its tags fit the environment and its Requires-Python admits it.
    pub(super) fits: bool,
}

impl Known {
    /// What the files of `name`'s page are for `env` (empty when the page is not known).
    pub(super) fn facts(&self, env: &Environment, name: &str) -> std::sync::Arc<Vec<FileFacts>> {
        let key = (env.clone(), name.to_owned());
        let mut memo = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = memo.get(&key) {
            return f.clone();
        }
        let tags = env.tags();
        let facts: Vec<FileFacts> = match self.pages.get(name) {
            Some(Ok(files)) => files
                .iter()
                .map(|f| FileFacts {
                    dist: super::index::dist_name(name, &f.file_name),
                    fits: crate::ecosystem::pypi::is_compatible(&f.file_name, &tags)
                        && env.admits_python(f.requires_python.as_deref()),
                })
                .collect(),
            _ => return std::sync::Arc::new(Vec::new()),
        };
        let facts = std::sync::Arc::new(facts);
        memo.insert(key, facts.clone());
        facts
    }
}

/// Something the closure needs from the upstream before it can go on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Page(String),
    Metadata(String, Version),
}

/// One file to mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub package: String,
    pub version: Version,
    pub file: IndexFile,
    /// Digests a requirements file allows for it (empty: any).
    pub hashes: Vec<String>,
}

/// A problem found while closing: `fatal` ones make the run fail, others are warnings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub fatal: bool,
    pub message: String,
}

/// The files to mirror and what was found on the way.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<Planned>,
    pub problems: Vec<Problem>,
}

/// A closure not settled yet: what it needs, and the files of the versions it has chosen so
/// far whose dependencies are known (or not followed). Those are likely final, but not
/// certainly: a specifier found later can change a choice (a newer dependency's `top<2`
/// turns `top` 2.0 into 1.0, and what 2.0 pulled in drops out again), so only work that
/// leaves nothing visible in the store may start on them.
#[derive(Debug, Default)]
pub struct Pending {
    pub needs: Vec<Need>,
    pub tentative: Vec<Planned>,
}

/// One specifier seen for a package.
#[derive(Clone, Debug)]
pub(super) struct Edge {
    pub(super) from: String,
    pub(super) specifiers: VersionSpecifiers,
    pub(super) extras: Vec<ExtraName>,
    pub(super) hashes: Vec<String>,
    pub(super) follow: bool,
}

impl Edge {
    /// `==V` (no wildcard) or `===V`: the user pinned an exact version.
    pub(super) fn pinned(&self) -> Option<&Version> {
        let mut it = self.specifiers.iter();
        let first = it.next()?;
        (it.next().is_none() && matches!(first.operator(), Operator::Equal | Operator::ExactEqual))
            .then(|| first.version())
    }

    pub(super) fn describe(&self) -> String {
        let spec = self.specifiers.to_string();
        format!(
            "{}: {}",
            self.from,
            if spec.is_empty() {
                "any version"
            } else {
                &spec
            }
        )
    }
}

/// The closure of `requests` for every environment, or what must be fetched first (with the
/// files chosen so far). `settled` names versions whose tentative files the caller has
/// already taken: they are left out of [`Pending::tentative`].
pub fn resolve(
    requests: &[Request],
    options: &Options,
    known: &Known,
    settled: &BTreeSet<(String, Version)>,
) -> Result<Plan, Pending> {
    let mut needs = BTreeSet::new();
    let mut problems = BTreeSet::new();
    let mut files: BTreeMap<(String, String), Planned> = BTreeMap::new();
    let environments = if options.environments.is_empty() {
        vec![Environment::default()]
    } else {
        options.environments.clone()
    };
    for env in &environments {
        let mut missing = BTreeSet::new();
        let chosen = close(env, requests, options, known, &mut missing, &mut problems);
        let complete = missing.is_empty();
        needs.extend(missing);
        for ((name, version), edges) in chosen {
            let key = (name.clone(), version.clone());
            let followed = edges.iter().any(|e| e.follow);
            // Until the closure settles, only versions whose dependencies are known: their
            // files are what the metadata fetch may be downloading right now otherwise.
            if !complete
                && (settled.contains(&key) || (followed && !known.metadata.contains_key(&key)))
            {
                continue;
            }
            for planned in files_for(env, &name, &version, &edges, options, known) {
                files
                    .entry((name.clone(), planned.file.file_name.clone()))
                    .or_insert(planned);
            }
        }
    }
    if !needs.is_empty() {
        return Err(Pending {
            needs: needs.into_iter().collect(),
            tentative: files.into_values().collect(),
        });
    }
    Ok(Plan {
        files: files.into_values().collect(),
        problems: problems.into_iter().collect(),
    })
}

type Chosen = BTreeMap<(String, Version), Vec<Edge>>;

/// The fixed point for one environment: chosen versions with the edges that chose them.
fn close(
    env: &Environment,
    requests: &[Request],
    options: &Options,
    known: &Known,
    needs: &mut BTreeSet<Need>,
    problems: &mut BTreeSet<Problem>,
) -> Chosen {
    let mut chosen: Chosen = BTreeMap::new();
    for round in 0.. {
        let mut edges: BTreeMap<String, Vec<Edge>> = BTreeMap::new();
        for r in requests.iter().filter(|r| env.needs(&r.marker, &[])) {
            edges.entry(r.name.clone()).or_default().push(Edge {
                from: r.origin.clone(),
                specifiers: r.specifiers.clone(),
                extras: r.extras.clone(),
                hashes: r.hashes.clone(),
                follow: r.follow,
            });
        }
        let mut round_problems = BTreeSet::new();
        let mut missing = false;
        for ((name, version), by) in &chosen {
            if !by.iter().any(|e| e.follow) {
                continue;
            }
            let extras: Vec<ExtraName> = by.iter().flat_map(|e| e.extras.clone()).collect();
            let deps = match known.metadata.get(&(name.clone(), version.clone())) {
                None => {
                    needs.insert(Need::Metadata(name.clone(), version.clone()));
                    missing = true;
                    continue;
                }
                Some(Err(why)) => {
                    round_problems.insert(Problem {
                        fatal: false,
                        message: format!(
                            "cannot read the dependencies of {name} {version} ({why}); the \
                             closure may be incomplete"
                        ),
                    });
                    continue;
                }
                Some(Ok(deps)) => deps,
            };
            for bad in &deps.invalid {
                round_problems.insert(Problem {
                    fatal: false,
                    message: format!(
                        "{name} {version} has an invalid Requires-Dist `{bad}`; skipped"
                    ),
                });
            }
            for req in deps
                .requires_dist
                .iter()
                .filter(|r| env.needs(&r.marker, &extras))
            {
                let specifiers = match &req.version_or_url {
                    Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => s.clone(),
                    Some(pep508_rs::VersionOrUrl::Url(url)) => {
                        round_problems.insert(Problem {
                            fatal: false,
                            message: format!(
                                "{name} {version} depends on {} by URL ({url}); not mirrored",
                                req.name
                            ),
                        });
                        continue;
                    }
                    None => VersionSpecifiers::empty(),
                };
                edges
                    .entry(normalize_name(req.name.as_ref()))
                    .or_default()
                    .push(Edge {
                        from: format!("{name} {version}"),
                        specifiers,
                        extras: req.extras.clone(),
                        hashes: Vec::new(),
                        follow: true,
                    });
            }
        }
        if missing {
            return chosen;
        }
        let mut next: Chosen = BTreeMap::new();
        for (name, edges) in edges {
            for version in choose(
                env,
                &name,
                &edges,
                options,
                known,
                needs,
                &mut round_problems,
            ) {
                next.entry((name.clone(), version))
                    .or_default()
                    .extend(edges.clone());
            }
        }
        let same = next.len() == chosen.len()
            && next.iter().zip(&chosen).all(|((a, ea), (b, eb))| {
                a == b
                    && ea.len() == eb.len()
                    && ea
                        .iter()
                        .zip(eb)
                        .all(|(x, y)| x.from == y.from && x.extras == y.extras)
            });
        chosen = next;
        if !needs.is_empty() || same || round >= MAX_ROUNDS {
            if round >= MAX_ROUNDS && !same {
                round_problems.insert(Problem {
                    fatal: false,
                    message: format!(
                        "the closure for {} kept changing after {MAX_ROUNDS} rounds; mirroring \
                         the last one",
                        env.describe()
                    ),
                });
            }
            problems.extend(round_problems);
            return chosen;
        }
    }
    chosen
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;

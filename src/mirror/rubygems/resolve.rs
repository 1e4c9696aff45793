//! The dependency closure of gems: from the requested gems and the `/info` files read so far,
//! which gem files to mirror. Pure: values in, a plan (or the names whose `/info` is still
//! needed) out; `rubygems/mod.rs` fetches and calls again until nothing is missing.
//!
//! Per target platform (each `--platform`, or one target taking every file when none is
//! given), each gem gets the newest version that satisfies every requirement seen for it and
//! has a file for the target whose `required_ruby_version` admits `--ruby-version`, iterated
//! to a fixed point (a newer choice can change what is pulled in). For a target, a version's
//! files are its platform gems that run there, else its plain gem, as `gem` and Bundler
//! choose. This is not a resolver: it never backtracks; where no version satisfies every
//! requirement, each requirement's newest is mirrored and the conflict reported.

use std::collections::{BTreeMap, BTreeSet};

use super::info::InfoLine;
use super::platform;
use crate::ecosystem::rubygems::{GemVersion, Requirement};

/// Rounds after which a closure that keeps changing is taken as it stands (and reported).
const MAX_ROUNDS: usize = 50;

/// One requested gem.
#[derive(Clone, Debug)]
pub struct Request {
    pub name: String,
    pub requirement: Requirement,
    /// Where it was asked for, for messages.
    pub origin: String,
}

/// What shapes the closure besides the requests.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Target platforms (`x86_64-linux`, `ruby`); empty: every file of each chosen version.
    pub platforms: Vec<String>,
    /// `X.Y` or `X.Y.Z`; `None`: any Ruby.
    pub ruby: Option<String>,
    /// Allow pre-releases (a requirement naming one allows them for its gem).
    pub pre: bool,
}

/// What the upstream said so far: gem name -> its `/info` lines, or why they cannot be had.
pub type Known = BTreeMap<String, Result<Vec<InfoLine>, String>>;

/// One file to mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub line: InfoLine,
}

/// A problem found while closing: `fatal` ones make the run fail, others are warnings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub fatal: bool,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<Planned>,
    pub problems: Vec<Problem>,
}

/// One requirement seen for a gem.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Edge {
    from: String,
    requirement: Requirement,
}

/// The closure of `requests`, or the names whose `/info` must be fetched first.
pub fn resolve(
    requests: &[Request],
    options: &Options,
    known: &Known,
) -> Result<Plan, Vec<String>> {
    let targets: Vec<Option<&str>> = if options.platforms.is_empty() {
        vec![None]
    } else {
        options.platforms.iter().map(|p| Some(p.as_str())).collect()
    };
    let mut needs = BTreeSet::new();
    let mut problems = BTreeSet::new();
    let mut files: BTreeMap<(String, String), Planned> = BTreeMap::new();
    for target in targets {
        let chosen = close(target, requests, options, known, &mut needs, &mut problems);
        if !needs.is_empty() {
            continue;
        }
        for (name, version) in chosen.keys() {
            for line in files_for(target, options, known, name, version) {
                files
                    .entry((name.clone(), line.file_name(name)))
                    .or_insert_with(|| Planned {
                        name: name.clone(),
                        line: line.clone(),
                    });
            }
        }
    }
    if !needs.is_empty() {
        return Err(needs.into_iter().collect());
    }
    Ok(Plan {
        files: files.into_values().collect(),
        problems: problems.into_iter().collect(),
    })
}

type Chosen = BTreeMap<(String, String), Vec<Edge>>;

/// The fixed point for one target: chosen (name, version) with the edges that chose them.
fn close(
    target: Option<&str>,
    requests: &[Request],
    options: &Options,
    known: &Known,
    needs: &mut BTreeSet<String>,
    problems: &mut BTreeSet<Problem>,
) -> Chosen {
    let mut chosen = Chosen::new();
    for round in 0.. {
        let mut edges: BTreeMap<String, Vec<Edge>> = BTreeMap::new();
        for r in requests {
            edges.entry(r.name.clone()).or_default().push(Edge {
                from: r.origin.clone(),
                requirement: r.requirement.clone(),
            });
        }
        for (name, version) in chosen.keys() {
            let mut seen = BTreeSet::new();
            for line in files_for(target, options, known, name, version) {
                for (dep, requirement) in &line.dependencies {
                    if seen.insert((dep.clone(), requirement.to_string())) {
                        edges.entry(dep.clone()).or_default().push(Edge {
                            from: format!("{name} {version}"),
                            requirement: requirement.clone(),
                        });
                    }
                }
            }
        }
        let mut round_problems = BTreeSet::new();
        let mut next = Chosen::new();
        for (name, edges) in edges {
            for version in choose(
                target,
                options,
                known,
                &name,
                &edges,
                needs,
                &mut round_problems,
            ) {
                next.entry((name.clone(), version))
                    .or_default()
                    .extend(edges.iter().cloned());
            }
        }
        let same = next == chosen;
        chosen = next;
        if !needs.is_empty() || same || round >= MAX_ROUNDS {
            if round >= MAX_ROUNDS && !same {
                round_problems.insert(Problem {
                    fatal: false,
                    message: format!(
                        "the closure{} kept changing after {MAX_ROUNDS} rounds; mirroring the \
                         last one",
                        describe(target)
                    ),
                });
            }
            problems.extend(round_problems);
            return chosen;
        }
    }
    chosen
}

/// ` for platform P` (nothing without a target), for messages.
fn describe(target: Option<&str>) -> String {
    target
        .map(|t| format!(" for platform {t}"))
        .unwrap_or_default()
}

/// The versions to take for `name`: the newest meeting every edge; on a conflict, each
/// edge's newest (reported).
fn choose(
    target: Option<&str>,
    options: &Options,
    known: &Known,
    name: &str,
    edges: &[Edge],
    needs: &mut BTreeSet<String>,
    problems: &mut BTreeSet<Problem>,
) -> Vec<String> {
    let lines = match known.get(name) {
        None => {
            needs.insert(name.to_owned());
            return Vec::new();
        }
        Some(Err(why)) => {
            problems.insert(Problem {
                fatal: true,
                message: format!("{name} (wanted by {}): {why}", from(edges)),
            });
            return Vec::new();
        }
        Some(Ok(lines)) => lines,
    };
    let pre = options.pre || edges.iter().any(|e| e.requirement.names_prerelease());
    let mut versions: BTreeMap<String, GemVersion> = BTreeMap::new();
    for line in lines {
        if let Ok(v) = GemVersion::parse(&line.version)
            && (pre || !v.is_prerelease())
            && !select(target, options, lines, &line.version).is_empty()
        {
            versions.insert(line.version.clone(), v);
        }
    }
    let newest = |reqs: &[&Requirement]| {
        versions
            .iter()
            .filter(|(_, v)| reqs.iter().all(|r| r.satisfied_by(v)))
            .max_by(|(_, a), (_, b)| a.cmp(b))
            .map(|(s, _)| s.clone())
    };
    let all: Vec<&Requirement> = edges.iter().map(|e| &e.requirement).collect();
    if let Some(v) = newest(&all) {
        return vec![v];
    }
    let ruby = options
        .ruby
        .as_deref()
        .map(|r| format!(" on Ruby {r}"))
        .unwrap_or_default();
    let mut each = BTreeSet::new();
    for e in edges {
        match newest(&[&e.requirement]) {
            Some(v) => {
                each.insert(v);
            }
            None => {
                problems.insert(Problem {
                    fatal: true,
                    message: format!(
                        "no version of {name} satisfies {} ({}){}{ruby}",
                        e.requirement,
                        e.from,
                        describe(target)
                    ),
                });
            }
        }
    }
    if edges.len() > 1 && !each.is_empty() {
        problems.insert(Problem {
            fatal: false,
            message: format!(
                "no single version of {name} satisfies every requirement ({}){}; mirroring \
                 {}",
                edges
                    .iter()
                    .map(|e| format!("{}: {}", e.from, e.requirement))
                    .collect::<Vec<_>>()
                    .join("; "),
                describe(target),
                each.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    each.into_iter().collect()
}

fn from(edges: &[Edge]) -> String {
    edges
        .iter()
        .map(|e| e.from.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The files of `version` of `name` for the target.
fn files_for<'a>(
    target: Option<&str>,
    options: &Options,
    known: &'a Known,
    name: &str,
    version: &str,
) -> Vec<&'a InfoLine> {
    match known.get(name) {
        Some(Ok(lines)) => select(target, options, lines, version),
        _ => Vec::new(),
    }
}

/// Among `lines`, the files of `version` for the target whose required Ruby admits
/// `options.ruby`: the platform gems that run on the target, else the plain gem; every
/// file without a target.
fn select<'a>(
    target: Option<&str>,
    options: &Options,
    lines: &'a [InfoLine],
    version: &str,
) -> Vec<&'a InfoLine> {
    let usable: Vec<&InfoLine> = lines
        .iter()
        .filter(|l| l.version == version)
        .filter(|l| {
            options
                .ruby
                .as_deref()
                .is_none_or(|r| ruby_admits(&l.ruby, r))
        })
        .collect();
    let Some(target) = target else {
        return usable;
    };
    let native: Vec<&InfoLine> = usable
        .iter()
        .copied()
        .filter(|l| l.platform != "ruby" && platform::matches(target, &l.platform))
        .collect();
    if native.is_empty() {
        usable
            .into_iter()
            .filter(|l| l.platform == "ruby")
            .collect()
    } else {
        native
    }
}

/// Whether some Ruby `ruby` (`X.Y`: any `X.Y.Z`; `X.Y.Z`: that one) meets `req`.
pub fn ruby_admits(req: &Requirement, ruby: &str) -> bool {
    let exact = ruby.split('.').count() >= 3;
    let mut candidates = vec![ruby.to_owned()];
    if !exact {
        candidates.push(format!("{ruby}.999999"));
        let prefix = format!("{ruby}.");
        candidates.extend(
            req.0
                .iter()
                .filter(|(_, v)| v.starts_with(&prefix))
                .map(|(_, v)| v.clone()),
        );
    }
    candidates
        .iter()
        .filter_map(|c| GemVersion::parse(c).ok())
        .any(|v| req.satisfied_by(&v))
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;

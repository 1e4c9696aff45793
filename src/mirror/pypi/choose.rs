//! Choosing, for one package in one target environment, the versions to mirror (the newest
//! satisfying every edge; else each edge's newest, reported as a conflict; else a problem
//! saying why none fits) and then the files of a chosen version. Pure; part of the closure
//! (`resolve.rs`), which decides when to call it.

use std::collections::{BTreeMap, BTreeSet};

use pep440_rs::{Version, VersionSpecifiers};

use super::environment::Environment;
use super::index::{IndexFile, dist_name};
use super::resolve::{Edge, Known, Need, Options, Planned, Problem};
use crate::ecosystem::pypi::{self as eco, Requirement as PipRequirement};

/// A file of `name` usable under the options, and for the environment its `fits` was worked
/// out for when `for_target`.
fn usable(name: &str, wheel: bool, fits: bool, for_target: bool, options: &Options) -> bool {
    options.binary.allows(name, wheel) && (!for_target || fits)
}

fn hash_allowed(edges: &[Edge], file: &IndexFile) -> bool {
    edges.iter().filter(|e| !e.hashes.is_empty()).all(|e| {
        file.sha256
            .as_ref()
            .is_none_or(|h| e.hashes.iter().any(|a| a.eq_ignore_ascii_case(h)))
    })
}

/// The versions to mirror of one package: the newest satisfying every edge, else each
/// edge's newest (a conflict).
pub(super) fn choose(
    env: &Environment,
    name: &str,
    edges: &[Edge],
    options: &Options,
    known: &Known,
    needs: &mut BTreeSet<Need>,
    problems: &mut BTreeSet<Problem>,
) -> Vec<Version> {
    let files = match known.pages.get(name) {
        None => {
            needs.insert(Need::Page(name.to_owned()));
            return Vec::new();
        }
        Some(Err(why)) => {
            problems.insert(Problem {
                fatal: true,
                message: format!("{name}: {why} (wanted by {})", describe_all(edges)),
            });
            return Vec::new();
        }
        Some(Ok(files)) => files,
    };
    let pinned: BTreeSet<&Version> = edges.iter().filter_map(Edge::pinned).collect();
    let facts = known.facts(env, name);
    let candidates = |check_hashes: bool| -> Vec<String> {
        let mut versions: BTreeSet<Version> = BTreeSet::new();
        for (f, fact) in files.iter().zip(facts.iter()) {
            let Some(dist) = &fact.dist else {
                continue;
            };
            if (f.yanked && !pinned.contains(&dist.version))
                || !usable(name, dist.wheel, fact.fits, true, options)
                || (check_hashes && !hash_allowed(edges, f))
            {
                continue;
            }
            versions.insert(dist.version.clone());
        }
        versions.iter().map(Version::to_string).collect()
    };
    let constraints = options.constraints.get(name).cloned().unwrap_or_default();
    let pick = |list: &[String], specs: Vec<&VersionSpecifiers>| {
        let all: VersionSpecifiers = specs
            .into_iter()
            .chain(&constraints)
            .flat_map(|s| s.iter().cloned())
            .collect();
        let req = PipRequirement {
            name: name.to_owned(),
            specifiers: Some(all),
        };
        eco::select_version(list, &req, options.pre).and_then(|v| v.parse::<Version>().ok())
    };
    let list = candidates(true);
    if let Some(v) = pick(&list, edges.iter().map(|e| &e.specifiers).collect()) {
        return vec![v];
    }
    let for_env = if env.is_unconstrained() {
        String::new()
    } else {
        format!(" for {}", env.describe())
    };
    // A version exists but none of its files has an allowed digest: the hashes are wrong.
    if edges.iter().any(|e| !e.hashes.is_empty())
        && let Some(v) = pick(
            &candidates(false),
            edges.iter().map(|e| &e.specifiers).collect(),
        )
    {
        let offered: Vec<String> = files
            .iter()
            .filter(|f| dist_name(name, &f.file_name).is_some_and(|d| d.version == v))
            .map(|f| {
                format!(
                    "{} (sha256 {})",
                    f.file_name,
                    f.sha256.as_deref().unwrap_or("not given")
                )
            })
            .collect();
        problems.insert(Problem {
            fatal: true,
            message: format!(
                "no file of {name} {v} has a sha256 that {} allows; the index has {}; nothing \
                 stored for them",
                edges
                    .iter()
                    .find(|e| !e.hashes.is_empty())
                    .map_or("", |e| &e.from),
                offered.join(", ")
            ),
        });
        return Vec::new();
    }
    if edges.len() > 1 {
        let each: BTreeSet<Version> = edges
            .iter()
            .filter_map(|e| pick(&list, vec![&e.specifiers]))
            .collect();
        if !each.is_empty() {
            let versions: Vec<String> = each.iter().map(Version::to_string).collect();
            problems.insert(Problem {
                fatal: false,
                message: format!(
                    "no version of {name} satisfies every requirement{for_env} ({}); mirroring \
                     {}",
                    describe_all(edges),
                    versions.join(" and ")
                ),
            });
            return each.into_iter().collect();
        }
    }
    let pre = if options.pre {
        ""
    } else {
        "; pre-releases need --pre"
    };
    problems.insert(Problem {
        fatal: true,
        message: format!(
            "no version of {name} matches{for_env} ({}); the index has {} usable version(s){pre}",
            describe_all(edges),
            list.len()
        ),
    });
    Vec::new()
}

fn describe_all(edges: &[Edge]) -> String {
    edges
        .iter()
        .map(Edge::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The files of a chosen version to mirror for `env`.
pub(super) fn files_for(
    env: &Environment,
    name: &str,
    version: &Version,
    edges: &[Edge],
    options: &Options,
    known: &Known,
) -> Vec<Planned> {
    let Some(Ok(files)) = known.pages.get(name) else {
        return Vec::new();
    };
    let pinned = edges.iter().any(|e| e.pinned() == Some(version));
    let for_target = !(options.all_files || env.is_unconstrained());
    let hashes: Vec<String> = edges.iter().flat_map(|e| e.hashes.clone()).collect();
    let facts = known.facts(env, name);
    files
        .iter()
        .zip(facts.iter())
        .filter_map(|(f, fact)| {
            let dist = fact.dist.as_ref()?;
            (dist.version == *version
                && (!f.yanked || pinned)
                && usable(name, dist.wheel, fact.fits, for_target, options)
                && hash_allowed(edges, f))
            .then(|| Planned {
                package: name.to_owned(),
                version: version.clone(),
                file: f.clone(),
                hashes: hashes.clone(),
            })
        })
        .collect()
}

/// The files of `name` `version` the plan would mirror for some target environment (before
/// any hash check): where one is small, reading the version's metadata from it costs no
/// download the mirror would not make anyway.
pub(super) fn wanted(
    name: &str,
    version: &Version,
    options: &Options,
    known: &Known,
) -> BTreeSet<String> {
    let Some(Ok(files)) = known.pages.get(name) else {
        return BTreeSet::new();
    };
    let unconstrained = [Environment::default()];
    let environments = if options.environments.is_empty() {
        &unconstrained[..]
    } else {
        &options.environments[..]
    };
    let mut wanted = BTreeSet::new();
    for env in environments {
        let for_target = !(options.all_files || env.is_unconstrained());
        let facts = known.facts(env, name);
        for (f, fact) in files.iter().zip(facts.iter()) {
            if let Some(dist) = &fact.dist
                && dist.version == *version
                && usable(name, dist.wheel, fact.fits, for_target, options)
            {
                wanted.insert(f.file_name.clone());
            }
        }
    }
    wanted
}

/// The files of `name`'s page the closure can use, the rest dropped as the page arrives (a
/// page lists up to thousands of wheels for other platforms, and the pages of a whole closure
/// are held until it settles). With targets (and not `--all-files`): the files that install
/// on some target, and per version the files its dependencies may be read from (its smallest
/// wheel, its first wheel with PEP 658 metadata, its first sdist). Otherwise every file.
pub(super) fn prune(name: &str, files: Vec<IndexFile>, options: &Options) -> Vec<IndexFile> {
    if options.all_files
        || options.environments.is_empty()
        || options
            .environments
            .iter()
            .any(Environment::is_unconstrained)
    {
        return files;
    }
    let targets: Vec<_> = options
        .environments
        .iter()
        .map(|env| (env, env.tags()))
        .collect();
    let mut keep = vec![false; files.len()];
    // Per version: (smallest wheel, first wheel with metadata, first sdist).
    let mut sources: BTreeMap<Version, [Option<usize>; 3]> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let Some(dist) = dist_name(name, &f.file_name) else {
            continue;
        };
        keep[i] = targets.iter().any(|(env, tags)| {
            eco::is_compatible(&f.file_name, tags)
                && env.admits_python(f.requires_python.as_deref())
        });
        let [smallest, with_metadata, sdist] = sources.entry(dist.version).or_default();
        let size = |j: usize| files[j].size.unwrap_or(u64::MAX);
        if !dist.wheel {
            sdist.get_or_insert(i);
            continue;
        }
        if smallest.is_none_or(|j| f.size.unwrap_or(u64::MAX) < size(j)) {
            *smallest = Some(i);
        }
        if f.metadata.is_some() {
            with_metadata.get_or_insert(i);
        }
    }
    for i in sources.into_values().flatten().flatten() {
        keep[i] = true;
    }
    files
        .into_iter()
        .zip(keep)
        .filter_map(|(f, keep)| keep.then_some(f))
        .collect()
}

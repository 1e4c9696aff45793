//! The NuGet closure: for every target framework, from the requested packages, each version's
//! dependency group for that framework (NuGet's nearest, `framework::nearest`), and for each
//! dependency NuGet's own choice, the lowest version its range admits (what `nuget install` and
//! `dotnet restore` pick). A range given on the command line mirrors its newest match unless
//! `lowest`. Pre-releases only when asked, pinned, or named by a range's bound; unlisted
//! versions only when pinned (`[1.0.0]`). With no framework, every group's dependencies.
//!
//! Pure: the registrations are given ([`Known`]); what is missing is returned as the ids to
//! fetch, and the caller calls again. Like NuGet's own walk of the graph, this never
//! backtracks: two ranges on one id may bring two versions (both are mirrored).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::framework::{Framework, Tfm, nearest};
use super::registration::Entry;
use crate::ecosystem::nuget::VersionRange;

/// A package asked for: an id and what versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    /// `None`: any version.
    pub range: Option<VersionRange>,
    /// Takes the lowest match, as restore does for a project's reference (a command-line
    /// request takes the newest unless [`Options::lowest`]).
    pub lowest: bool,
}

/// How versions are chosen.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Empty: every dependency group.
    pub frameworks: Vec<Tfm>,
    /// A requested range mirrors its lowest match, as a dependency's does.
    pub lowest: bool,
    pub prerelease: bool,
}

/// The registrations fetched so far, by lowercase id: its versions, or why there are none.
#[derive(Debug, Default)]
pub struct Known {
    pub registrations: BTreeMap<String, Result<Vec<Entry>, String>>,
}

/// Something the closure could not do; `fatal` ones make the mirror incomplete.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub message: String,
    pub fatal: bool,
}

/// The versions to mirror, and what went wrong on the way.
#[derive(Debug, Default)]
pub struct Plan {
    /// One entry per id and version, in id and version order.
    pub chosen: Vec<Entry>,
    pub problems: Vec<Problem>,
}

/// Whether `range` names exactly one version (`[1.0.0]`): a pin.
pub fn is_pinned(range: Option<&VersionRange>) -> bool {
    range.is_some_and(|r| r.min_inclusive && r.max_inclusive && r.min.is_some() && r.min == r.max)
}

/// One edge of the walk: a package wanted with a range, and who wants it.
struct Edge {
    id: String,
    range: Option<VersionRange>,
    /// Takes the newest match, not the lowest.
    newest: bool,
    from: String,
}

/// The closure of `requests`, or the lowercase ids whose registrations are still needed.
pub fn resolve(
    requests: &[Request],
    options: &Options,
    known: &Known,
) -> Result<Plan, BTreeSet<String>> {
    let targets: Vec<Option<&Tfm>> = if options.frameworks.is_empty() {
        vec![None]
    } else {
        options.frameworks.iter().map(Some).collect()
    };
    let mut needs = BTreeSet::new();
    let mut chosen: BTreeMap<(String, String), Entry> = BTreeMap::new();
    let mut problems = BTreeSet::new();
    for target in targets {
        let for_target = target.map_or("every framework".to_owned(), ToString::to_string);
        let mut queue: VecDeque<Edge> = requests
            .iter()
            .map(|r| Edge {
                id: r.id.clone(),
                range: r.range.clone(),
                newest: !r.lowest && !options.lowest,
                from: "the command line".into(),
            })
            .collect();
        let mut visited = BTreeSet::new();
        while let Some(edge) = queue.pop_front() {
            let lower = edge.id.to_ascii_lowercase();
            let entries = match known.registrations.get(&lower) {
                None => {
                    needs.insert(lower);
                    continue;
                }
                Some(Err(why)) => {
                    problems.insert(Problem {
                        message: format!("{} (wanted by {}): {why}", edge.id, edge.from),
                        fatal: true,
                    });
                    continue;
                }
                Some(Ok(entries)) => entries,
            };
            let Some(entry) = choose(entries, &edge, options) else {
                let range = edge
                    .range
                    .as_ref()
                    .map_or("any version".to_owned(), describe_range);
                problems.insert(Problem {
                    message: format!(
                        "no version of {} matches {range} (wanted by {}){}",
                        edge.id,
                        edge.from,
                        hint(entries, &edge, options)
                    ),
                    fatal: true,
                });
                continue;
            };
            if !visited.insert((lower.clone(), entry.version.clone())) {
                continue;
            }
            chosen
                .entry((lower, entry.version.to_string()))
                .or_insert_with(|| entry.clone());
            let groups: Vec<Framework> = entry.groups.iter().map(|g| g.framework.clone()).collect();
            let selected: Vec<usize> = match target {
                Some(t) => nearest(t, &groups).into_iter().collect(),
                None => (0..groups.len()).collect(),
            };
            for i in selected {
                for d in &entry.groups[i].dependencies {
                    queue.push_back(Edge {
                        id: d.id.clone(),
                        range: d.range.clone(),
                        newest: false,
                        from: format!("{} {} for {for_target}", entry.id, entry.version),
                    });
                }
            }
        }
    }
    if !needs.is_empty() {
        return Err(needs);
    }
    Ok(Plan {
        chosen: chosen.into_values().collect(),
        problems: problems.into_iter().collect(),
    })
}

/// The version an edge gets: within its range, listed unless pinned, stable unless allowed;
/// the newest for a requested range (unless `lowest`), else the lowest.
fn choose<'a>(entries: &'a [Entry], edge: &Edge, options: &Options) -> Option<&'a Entry> {
    let pinned = is_pinned(edge.range.as_ref());
    let bound_is_prerelease = edge.range.as_ref().is_some_and(|r| {
        [&r.min, &r.max]
            .into_iter()
            .flatten()
            .any(|v| v.is_prerelease())
    });
    let prerelease = options.prerelease || pinned || bound_is_prerelease;
    let fitting = entries.iter().filter(|e| {
        edge.range.as_ref().is_none_or(|r| r.contains(&e.version))
            && (prerelease || !e.version.is_prerelease())
            && (pinned || e.listed)
    });
    if edge.newest {
        fitting.max_by(|a, b| a.version.cmp(&b.version))
    } else {
        fitting.min_by(|a, b| a.version.cmp(&b.version))
    }
}

/// Why nothing matched, when the reason is a version left out on purpose.
fn hint(entries: &[Entry], edge: &Edge, options: &Options) -> &'static str {
    let in_range: Vec<&Entry> = entries
        .iter()
        .filter(|e| edge.range.as_ref().is_none_or(|r| r.contains(&e.version)))
        .collect();
    if in_range.is_empty() {
        ""
    } else if !options.prerelease && in_range.iter().all(|e| e.version.is_prerelease()) {
        "; only pre-releases match: add --prerelease"
    } else if in_range.iter().all(|e| !e.listed) {
        "; only unlisted versions match: pin one, e.g. ID@[VERSION]"
    } else {
        ""
    }
}

/// A range as NuGet writes it.
pub fn describe_range(r: &VersionRange) -> String {
    if is_pinned(Some(r)) {
        return format!(
            "[{}]",
            r.min.as_ref().map(ToString::to_string).unwrap_or_default()
        );
    }
    let show = |v: &Option<crate::ecosystem::nuget::NugetVersion>| {
        v.as_ref().map(ToString::to_string).unwrap_or_default()
    };
    format!(
        "{}{}, {}{}",
        if r.min_inclusive { '[' } else { '(' },
        show(&r.min),
        show(&r.max),
        if r.max_inclusive { ']' } else { ')' }
    )
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;

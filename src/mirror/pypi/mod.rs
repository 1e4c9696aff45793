//! The PyPI half of `opp mirror`: read a simple index (PEP 503/691, `index`, `upstream`), the
//! dependencies of each chosen version (PEP 658 metadata or the wheel's METADATA, `metadata`),
//! close over them for every target environment (`environment`, `resolve`), and hand the files
//! to the shared pipeline through `opp push pypi`'s path (`sink`). Requested packages come from
//! the command line (`spec`) and requirements files (`requirements`).

mod choose;
pub mod environment;
pub mod index;
pub mod lazy_wheel;
pub mod lock;
pub mod metadata;
pub mod requirements;
pub mod resolve;
pub mod sink;
pub mod spec;
pub mod streaming;
pub mod upstream;
pub mod warm;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{MirrorError, PlanFile};
use resolve::{Known, Need, Options, Planned, Problem, Request};
use upstream::Upstream;
use warm::Warm;

/// Answers from the upstream (each followed by a new look at the closure) before giving up;
/// every answer is a page or a version's metadata not known before, so a closure settles
/// long before this.
const MAX_ANSWERS: usize = 20_000;
/// Pages and metadata files fetched at once.
const FETCHES: usize = 16;

/// Core metadata the store already holds (a wheel's METADATA, stored beside it), read before
/// asking the upstream: a second run needs no download to know the dependencies even where
/// the index serves no PEP 658 metadata.
#[async_trait::async_trait]
pub trait StoredMetadata: Sync {
    async fn metadata(&self, name: &str, version: &str) -> Option<Vec<u8>>;
}

/// The files to mirror for `requests`, the problems found on the way, and the files the index
/// describes fully enough to stream them into the store.
///
/// The closure is looked at again as soon as any fetch answers (not after a whole batch), so
/// a page or metadata file it then needs is asked for while the others are still coming; at
/// most [`FETCHES`] requests are in flight. Each version it chooses whose dependencies are
/// known is handed to `warm` (when given) at once, not when the closure has settled: its
/// files download and their blobs store while the rest of the closure is read. The plan is
/// returned when the closure has settled and every version handed over is warm.
pub async fn plan<'a>(
    upstream: &'a Upstream,
    stored: &'a dyn StoredMetadata,
    warm: Option<&'a dyn Warm>,
    requests: &[Request],
    options: &Options,
) -> Result<(Vec<PlanFile>, Vec<Problem>, streaming::Streamable), MirrorError> {
    let mut known = Known::default();
    let mut asked: BTreeSet<Need> = BTreeSet::new();
    let mut queue: VecDeque<Need> = VecDeque::new();
    let mut in_flight: FuturesUnordered<BoxFuture<'a, Fetched>> = FuturesUnordered::new();
    let mut warming: FuturesUnordered<BoxFuture<'a, ()>> = FuturesUnordered::new();
    let mut handed: BTreeSet<(String, pep440_rs::Version)> = BTreeSet::new();
    let mut answers = 0;
    loop {
        let pending = match resolve::resolve(requests, options, &known, &handed) {
            Ok(plan) => {
                if let Some(w) = warm {
                    let rest: Vec<Planned> = plan
                        .files
                        .iter()
                        .filter(|p| !handed.contains(&(p.package.clone(), p.version.clone())))
                        .cloned()
                        .collect();
                    hand_over(w, rest, &mut handed, &mut warming);
                }
                tracing::debug!(
                    "the closure settled after {answers} answers; {} version(s) still preparing",
                    warming.len()
                );
                while warming.next().await.is_some() {}
                tracing::debug!("every version prepared");
                return Ok(finish(upstream, plan));
            }
            Err(pending) => pending,
        };
        if let Some(w) = warm {
            hand_over(w, pending.tentative, &mut handed, &mut warming);
        }
        queue.extend(
            pending
                .needs
                .into_iter()
                .filter(|n| asked.insert(n.clone())),
        );
        while in_flight.len() < FETCHES
            && let Some(need) = queue.pop_front()
        {
            in_flight.push(fetch(upstream, stored, options, &known, need));
        }
        // The next answer, warming meanwhile.
        let first = loop {
            tokio::select! {
                f = in_flight.next() => break f,
                _ = warming.next(), if !warming.is_empty() => {}
            }
        };
        let Some(first) = first else {
            // Every need was asked and answered, yet the closure still needs it: a bug.
            return Err(MirrorError::Unsettled(answers));
        };
        let mut done = vec![first];
        while let Some(Some(more)) = in_flight.next().now_or_never() {
            done.push(more);
        }
        for f in done {
            answers += 1;
            match f {
                Fetched::Page(name, page) => {
                    tracing::debug!("read the index page of {name}");
                    let page = page.map(|files| choose::prune(&name, files, options));
                    known.pages.insert(name, page);
                }
                Fetched::Metadata(name, version, deps) => {
                    known.metadata.insert((name, version), deps);
                }
            }
        }
        if answers > MAX_ANSWERS {
            return Err(MirrorError::Unsettled(answers));
        }
    }
}

/// Hands the versions of `files` not handed over yet to `warm`, one future per version.
fn hand_over<'a>(
    warm: &'a dyn Warm,
    files: Vec<Planned>,
    handed: &mut BTreeSet<(String, pep440_rs::Version)>,
    warming: &mut FuturesUnordered<BoxFuture<'a, ()>>,
) {
    let mut by_version: BTreeMap<(String, pep440_rs::Version), Vec<Planned>> = BTreeMap::new();
    for p in files {
        by_version
            .entry((p.package.clone(), p.version.clone()))
            .or_default()
            .push(p);
    }
    for (key, files) in by_version {
        if handed.insert(key) {
            tracing::debug!("preparing {} {}", files[0].package, files[0].version);
            warming.push(warm.warm(files));
        }
    }
}

/// The plan's files, each with the copy this run already downloaded when there is one.
fn finish(
    upstream: &Upstream,
    plan: resolve::Plan,
) -> (Vec<PlanFile>, Vec<Problem>, streaming::Streamable) {
    let mut streamable = streaming::Streamable::default();
    for p in &plan.files {
        streamable.insert(&p.file);
    }
    let files = plan
        .files
        .into_iter()
        .map(|p| {
            let kept = upstream.downloaded(&p.file.url);
            PlanFile {
                sha256: p.file.sha256.or_else(|| upstream.digest(&p.file.url)),
                local: kept.map(|(path, _)| path),
                package: p.package,
                version: p.version.to_string(),
                file_name: p.file.file_name,
                url: p.file.url,
                allowed: p.hashes,
                size: p.file.size,
            }
        })
        .collect();
    (files, plan.problems, streamable)
}

/// Fetches what one [`Need`] asks for: a page, or a version's dependencies (from the store
/// when it holds that version's METADATA, else from the upstream).
fn fetch<'a>(
    upstream: &'a Upstream,
    stored: &'a dyn StoredMetadata,
    options: &Options,
    known: &Known,
    need: Need,
) -> BoxFuture<'a, Fetched> {
    match need {
        Need::Page(name) => async move {
            let page = upstream.page(&name).await;
            Fetched::Page(name, page)
        }
        .boxed(),
        Need::Metadata(name, version) => {
            let files: Vec<index::IndexFile> = match known.pages.get(&name) {
                Some(Ok(files)) => files
                    .iter()
                    .filter(|f| {
                        index::dist_name(&name, &f.file_name).is_some_and(|d| d.version == version)
                    })
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            let wanted = choose::wanted(&name, &version, options, known);
            async move {
                if let Some(bytes) = stored.metadata(&name, &version.to_string()).await {
                    tracing::debug!("read the dependencies of {name} {version} from the store");
                    let deps = Ok(metadata::parse(&bytes));
                    return Fetched::Metadata(name, version, deps);
                }
                let deps = upstream
                    .dependencies(&name, &version, &files, &wanted)
                    .await;
                Fetched::Metadata(name, version, deps)
            }
            .boxed()
        }
    }
}
/// The answer to one [`Need`].
enum Fetched {
    Page(String, Result<Vec<index::IndexFile>, String>),
    Metadata(
        String,
        pep440_rs::Version,
        Result<metadata::Dependencies, String>,
    ),
}

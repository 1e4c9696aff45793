//! The NuGet half of `opp mirror`: read a v3 feed (`feed`, `registration`), choose each
//! version's dependency group for every target framework by NuGet's rules (`framework`), close
//! over the dependencies as NuGet does (`resolve`), read what was asked for (`spec`, `lock`,
//! `project`), bring `.snupkg` symbols beside them when asked (`symbol_files`), find the feed's credentials in NuGet.Config (`config`, `config_files`), and hand the `.nupkg` files to the shared pipeline through `opp push nuget`'s
//! path with their SHA-512 checked (`sink`). `resolve` is pure: [`plan`] fetches what it asks
//! for and calls it again until nothing is missing.

pub mod config;
pub mod config_files;
pub mod feed;
pub mod framework;
pub mod lock;
pub mod project;
pub mod registration;
pub mod resolve;
pub mod sink;
pub mod spec;

use std::collections::BTreeMap;

use futures_util::{StreamExt, stream};

use super::PlanFile;
use feed::Feed;
use registration::Entry;
use resolve::{Known, Options, Plan, Request};
use sink::{Expected, key};

/// Calls of the closure (each after a batch of fetches) before giving up.
const MAX_CALLS: usize = 200;
/// Registrations fetched at once.
const FETCHES: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("the closure did not settle after {0} rounds of requests to the feed")]
pub struct Unsettled(usize);

/// The versions to mirror for `requests`, and the problems found on the way.
pub async fn plan(feed: &Feed, requests: &[Request], options: &Options) -> Result<Plan, Unsettled> {
    let mut known = Known::default();
    for _ in 0..MAX_CALLS {
        let needs = match resolve::resolve(requests, options, &known) {
            Ok(plan) => return Ok(plan),
            Err(needs) => needs,
        };
        let fetched: Vec<(String, Result<Vec<Entry>, String>)> = stream::iter(needs)
            .map(|id| async move {
                let entries = feed.registration(&id).await;
                tracing::debug!("read the registration of {id}");
                (id, entries)
            })
            .buffer_unordered(FETCHES)
            .collect()
            .await;
        known.registrations.extend(fetched);
    }
    Err(Unsettled(MAX_CALLS))
}

/// One version to download: from a registration or a lock file.
pub struct Wanted {
    pub id: String,
    pub version: crate::ecosystem::nuget::NugetVersion,
    pub content: Option<String>,
    pub expected: Vec<Expected>,
}

impl Wanted {
    pub fn from_entry(e: &Entry) -> Wanted {
        Wanted {
            id: e.id.clone(),
            version: e.version.clone(),
            content: e.content.clone(),
            expected: e
                .sha512
                .iter()
                .map(|h| Expected {
                    sha512: h.clone(),
                    source: "the feed's packageHash".into(),
                })
                .collect(),
        }
    }
}

/// The plan files of `wanted` (one per id and version; the expectations of duplicates are
/// merged) and the SHA-512 each must have; a version whose URL cannot be made is an error
/// naming it.
pub async fn files(
    feed: &Feed,
    wanted: Vec<Wanted>,
) -> (
    Vec<PlanFile>,
    BTreeMap<(String, String), Vec<Expected>>,
    Vec<String>,
) {
    let mut expected: BTreeMap<(String, String), Vec<Expected>> = BTreeMap::new();
    let mut first: BTreeMap<(String, String), Wanted> = BTreeMap::new();
    for w in wanted {
        let k = key(&w.id, &w.version);
        let list = expected.entry(k.clone()).or_default();
        for e in &w.expected {
            if !list.contains(e) {
                list.push(e.clone());
            }
        }
        first.entry(k).or_insert(w);
    }
    let mut plan = Vec::new();
    let mut errors = Vec::new();
    for w in first.into_values() {
        match feed
            .package_url(&w.id, &w.version, w.content.as_deref())
            .await
        {
            Ok(url) => plan.push(PlanFile {
                package: w.id.clone(),
                version: w.version.to_string(),
                file_name: format!("{}.{}.nupkg", w.id, w.version),
                url,
                sha256: None,
                allowed: Vec::new(),
                size: None,
                local: None,
            }),
            Err(why) => errors.push(format!("{} {}: {why}", w.id, w.version)),
        }
    }
    (plan, expected, errors)
}

/// With `--symbols`: the `.snupkg` of each (id, version), where the feed has one
/// (`Feed::symbols_url`, asked for a few at once). Returns the plan files, the versions the
/// feed has no symbols for, and the versions whose symbols could not be looked up (one line
/// each).
pub async fn symbol_files(
    feed: &Feed,
    versions: &[(String, String)],
) -> (Vec<PlanFile>, Vec<String>, Vec<String>) {
    type Found<'a> = (&'a (String, String), Result<Option<reqwest::Url>, String>);
    let found: Vec<Found> = stream::iter(versions)
        .map(|v| async move {
            let url = match crate::ecosystem::nuget::NugetVersion::parse(&v.1) {
                Some(version) => feed.symbols_url(&v.0, &version).await,
                None => Err(format!("`{}` is not a NuGet version", v.1)),
            };
            (v, url)
        })
        .buffer_unordered(FETCHES)
        .collect()
        .await;
    let (mut plan, mut without, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for ((id, version), url) in found {
        match url {
            Ok(Some(url)) => plan.push(PlanFile {
                package: id.clone(),
                version: version.clone(),
                file_name: format!("{id}.{version}.snupkg"),
                url,
                sha256: None,
                allowed: Vec::new(),
                size: None,
                local: None,
            }),
            Ok(None) => without.push(format!("{id} {version}")),
            Err(why) => errors.push(format!("{id} {version} symbols: {why}")),
        }
    }
    plan.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    without.sort();
    (plan, without, errors)
}

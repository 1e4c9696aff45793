//! Search (`SearchQueryService`) at `/nuget/v3/query`: `q` is matched as a case-insensitive
//! substring of the ids in the store (every whitespace-separated term must match; an
//! `id:`/`packageid:` prefix is accepted), then `skip`/`take` page the matches sorted by id.
//! Prerelease versions count only with `prerelease=true`, SemVer 2.0.0 ones only with
//! `semVerLevel=2.0.0`; an id left with no version is not a hit. Each hit carries its latest
//! version's nuspec metadata (docs/protocols.md §4.4).

use axum::Json;
use axum::extract::{Query, State};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{Failure, NugetApiError};
use super::read::{self, Described};
use super::registration::{id_of, tags};
use super::service;
use crate::proxy::{ProxyState, SharedState};
use crate::release::Ecosystem;

/// The most hits one request returns, whatever `take` asks.
const MAX_TAKE: usize = 1000;
/// Hits per page when `take` is absent.
const DEFAULT_TAKE: usize = 20;
/// How many ids are listed at once.
const CONCURRENCY: usize = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    q: Option<String>,
    skip: Option<usize>,
    take: Option<usize>,
    prerelease: Option<bool>,
    sem_ver_level: Option<String>,
}

impl SearchQuery {
    /// The lowercased terms every matching id contains.
    fn terms(&self) -> Vec<String> {
        self.q
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(|t| {
                let lower = t.to_ascii_lowercase();
                ["packageid:", "id:"]
                    .iter()
                    .find_map(|p| lower.strip_prefix(p).map(str::to_owned))
                    .unwrap_or(lower)
            })
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// Whether a (normalized, lowercased) version is shown.
    fn shows(&self, version: &str) -> bool {
        let Some((_, label)) = version.split_once('-') else {
            return true;
        };
        if !self.prerelease.unwrap_or(false) {
            return false;
        }
        // A dotted pre-release label is SemVer 2.0.0 (build metadata is never stored).
        !label.contains('.')
            || self
                .sem_ver_level
                .as_deref()
                .is_some_and(|l| l.starts_with('2'))
    }
}

pub async fn search(
    State(state): State<SharedState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, NugetApiError> {
    let terms = query.terms();
    let ids: Vec<String> = state
        .packages()
        .packages(Ecosystem::Nuget)
        .await?
        .into_iter()
        .filter(|id| terms.iter().all(|t| id.contains(t.as_str())))
        .collect();
    // Which ids have a version to show: one tag listing each.
    let futures: Vec<_> = ids
        .into_iter()
        .map(|id| shown_versions(&state, id, &query))
        .collect();
    let listed: Vec<(String, Vec<String>)> = stream::iter(futures)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let hits: Vec<_> = listed.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let total = hits.len();
    let take = query.take.unwrap_or(DEFAULT_TAKE).min(MAX_TAKE);
    let mut data = Vec::new();
    for (id, versions) in hits.into_iter().skip(query.skip.unwrap_or(0)).take(take) {
        let Some(latest) = versions.last() else {
            continue;
        };
        let described = read::describe_all(&state, &id, std::slice::from_ref(latest)).await?;
        let Some(latest) = described.first() else {
            continue;
        };
        data.push(hit(&state.base_url, &id, &versions, latest));
    }
    Ok(Json(json!({ "totalHits": total, "data": data })))
}

/// The versions of `id` the query shows, oldest first.
async fn shown_versions(
    state: &ProxyState,
    id: String,
    query: &SearchQuery,
) -> Result<(String, Vec<String>), Failure> {
    let mut versions = read::versions(state, &id).await?;
    versions.retain(|v| query.shows(v));
    Ok((id, versions))
}

/// One search result.
fn hit(base: &str, lower: &str, versions: &[String], latest: &Described) -> Value {
    let n = &latest.nuspec;
    let package_types: Vec<Value> = if n.package_types.is_empty() {
        vec![json!({"name": "Dependency"})]
    } else {
        n.package_types
            .iter()
            .map(|t| json!({ "name": t }))
            .collect()
    };
    let authors: Vec<String> = n
        .authors
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    json!({
        "@id": service::registration_index(base, lower),
        "@type": "Package",
        "registration": service::registration_index(base, lower),
        "id": id_of(n, lower),
        "version": latest.version,
        "description": n.description.clone().unwrap_or_default(),
        "summary": n.summary.clone().unwrap_or_default(),
        "title": n.title.clone().unwrap_or_else(|| id_of(n, lower)),
        "authors": authors,
        "tags": tags(n),
        "projectUrl": n.project_url,
        "iconUrl": n.icon_url,
        "licenseUrl": n.license_url,
        "totalDownloads": 0,
        "verified": false,
        "packageTypes": package_types,
        "versions": versions.iter().map(|v| json!({
            "version": v,
            "downloads": 0,
            "@id": service::registration_leaf(base, lower, v),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_lowercased_and_lose_an_id_prefix() {
        let q = SearchQuery {
            q: Some("  Opp id:Demo PackageId:X ".into()),
            ..SearchQuery::default()
        };
        assert_eq!(q.terms(), ["opp", "demo", "x"]);
        assert!(SearchQuery::default().terms().is_empty());
    }

    #[test]
    fn prerelease_and_semver2_versions_show_only_when_asked() {
        let stable = SearchQuery::default();
        assert!(stable.shows("1.0.0"));
        assert!(!stable.shows("1.0.0-beta"));
        let pre = SearchQuery {
            prerelease: Some(true),
            ..SearchQuery::default()
        };
        assert!(pre.shows("1.0.0-beta"));
        assert!(!pre.shows("1.0.0-beta.1"));
        let semver2 = SearchQuery {
            prerelease: Some(true),
            sem_ver_level: Some("2.0.0".into()),
            ..SearchQuery::default()
        };
        assert!(semver2.shows("1.0.0-beta.1"));
    }
}

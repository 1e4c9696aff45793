//! The Simple API routes: the root listing and project pages read from the store, and the
//! `--upstream` fallback for names the store does not have. A project is one index per
//! version and one manifest per file; versions are read concurrently and each version's
//! files are kept by the digest of its index (`proxy::releases`), so a page that was served
//! once costs one tag lookup per version.
//!
//! A name the store has is answered from the store only, never mixed with upstream files: an
//! upstream package cannot shadow or extend a stored one (dependency confusion).

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;

use super::error::{Failure, ProxyError};
use super::negotiate::{self, Format};
use super::page::{self, PageFile, ProjectPage};
use crate::artifact;
use crate::ecosystem::pypi::file_name_for;
use crate::mapper::Mapper;
use crate::packages::PackageError;
use crate::proxy::SharedState;
use crate::proxy::not_stored::Notices;
use crate::proxy::releases::ReleaseCache;
use crate::release::{Ecosystem, Release};

const ECO: Ecosystem = Ecosystem::Pypi;
/// How many versions of a project are read at once.
const VERSION_CONCURRENCY: usize = 8;
/// Cached releases before the cache starts over.
const CACHE_ENTRIES: usize = 1024;

/// What the routes share besides the proxy state: the release cache and the HTTP client for
/// the upstream index.
pub struct Shared {
    /// The releases read, by the digest of their index.
    releases: ReleaseCache<Release>,
    pub(super) upstream: Result<reqwest::Client, String>,
}

impl Shared {
    pub fn new() -> Shared {
        // reqwest is built without a default crypto provider; opp uses ring everywhere.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let upstream = reqwest::Client::builder()
            .user_agent(concat!("opp/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot set up an HTTP client: {e}"));
        Shared {
            releases: ReleaseCache::new(CACHE_ENTRIES),
            upstream,
        }
    }
}

/// `?format=` (PEP 691's optional override of the Accept header).
#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

fn chosen(headers: &HeaderMap, query: &FormatQuery) -> Result<Format, Failure> {
    let accept = accept(headers);
    negotiate::choose(accept, query.format.as_deref())
        .ok_or_else(|| Failure::NotAcceptable(accept.unwrap_or_default().to_owned()))
}

fn page_response(format: Format, body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::VARY, HeaderValue::from_static("Accept")),
        ],
        body,
    )
        .into_response()
}

/// 301 to a path of this proxy, as PyPI redirects names that are not normalized.
fn redirect(path: &str) -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, path)]).into_response()
}

pub async fn redirect_root() -> Response {
    redirect("/pypi/simple/")
}

pub async fn redirect_project(Path(project): Path<String>) -> Result<Response, ProxyError> {
    let name = normalized(&project)?;
    Ok(redirect(&format!(
        "/pypi/simple/{}/",
        page::path_segment(&name)
    )))
}

fn normalized(project: &str) -> Result<String, Failure> {
    Mapper::normalize_package(ECO, project)
        .map_err(|e| Failure::NotFound(format!("no such project: {e}")))
}

/// `GET /pypi/simple/`: every project in the store.
pub async fn root(
    State(state): State<SharedState>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ProxyError> {
    let format = chosen(&headers, &query)?;
    let names = state.packages().packages(ECO).await?;
    let body = match format {
        Format::Json => page::root_json(&names),
        Format::Html { .. } => page::root_html(&names),
    };
    Ok(page_response(format, body))
}

/// `GET /pypi/simple/{project}/`: the store's files of a project; else the upstream index's
/// page when `--upstream` is set; else 404.
pub async fn project(
    State(state): State<SharedState>,
    Extension(shared): Extension<Arc<Shared>>,
    Extension(notices): Extension<Arc<Notices>>,
    Path(project): Path<String>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ProxyError> {
    let name = normalized(&project)?;
    if name != project {
        return Ok(redirect(&format!(
            "/pypi/simple/{}/",
            page::path_segment(&name)
        )));
    }
    let format = chosen(&headers, &query)?;
    if let Some(page) = project_page(&state, &shared, &name).await? {
        let body = match format {
            Format::Json => page::project_json(&page),
            Format::Html { .. } => page::project_html(&page),
        };
        return Ok(page_response(format, body));
    }
    match &state.pypi_upstream {
        Some(upstream) => {
            Ok(super::upstream::page(&shared.upstream, upstream, &name, accept(&headers)).await?)
        }
        None => {
            // pip and uv print no body of a 404 ("No matching distribution found"): the
            // notice says it on opp's stderr too, once per project.
            let reason = notices.not_stored(&state, ECO, &name);
            Err(Failure::NotFound(reason).into())
        }
    }
}

/// Every stored version of a project with its files, or `None` when the store has none.
async fn project_page(
    state: &SharedState,
    shared: &Shared,
    name: &str,
) -> Result<Option<ProjectPage>, Failure> {
    let mut versions = state.packages().versions_newest_first(ECO, name).await?;
    if versions.is_empty() {
        return Ok(None);
    }
    versions.reverse();
    // The futures are made before they become a stream: a stream that maps with a closure
    // over borrowed items is not provably `Send` (see `detached`).
    let reads: Vec<_> = versions
        .iter()
        .map(|v| release(state, shared, name, v))
        .collect();
    let releases: Vec<Option<Arc<Release>>> = stream::iter(reads)
        .buffered(VERSION_CONCURRENCY)
        .try_collect()
        .await?;
    // A tag removed while we read is a version no more.
    let releases: Vec<Arc<Release>> = releases.into_iter().flatten().collect();
    if releases.is_empty() {
        return Ok(None);
    }
    Ok(Some(ProjectPage {
        name: name.to_owned(),
        versions: releases.iter().map(|r| r.version.clone()).collect(),
        files: releases
            .iter()
            .flat_map(|r| r.files.iter().map(|f| PageFile::new(r, f)))
            .collect(),
    }))
}

/// One stored version, from the cache when its index has not changed.
pub async fn release(
    state: &SharedState,
    shared: &Shared,
    name: &str,
    version: &str,
) -> Result<Option<Arc<Release>>, Failure> {
    let repo = state
        .mapper
        .repository(ECO, name)
        .map_err(PackageError::from)?;
    let tag = state.mapper.tag(ECO, version).map_err(PackageError::from)?;
    let fallback = |(_, arch): &(String, String)| file_name_for(name, version, arch);
    let read = || async {
        state
            .packages()
            .release(ECO, &artifact::PYPI, name, version, &fallback)
            .await
            .map_err(Failure::from)
    };
    shared
        .releases
        .get(state.store.as_ref(), &repo, &tag, read)
        .await
}

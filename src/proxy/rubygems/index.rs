//! The index routes: the source root (`HEAD /rubygems/`, RubyGems' probe for the compact
//! index), the compact index (`/versions`, `/info/NAME`, `/names`) and the full index
//! (`specs.4.8.gz`, `latest_specs.4.8.gz`, `prerelease_specs.4.8.gz`), all regenerated from
//! the store on each request.
//!
//! Compact index bodies carry `ETag: "<md5 of the body>"` (the only ETag Bundler before 2.5
//! accepts) and `Repr-Digest` (sha-256 of the body, which Bundler 2.5+ checks); `Range` is
//! ignored, always `200` with the whole body, as a regenerated file must be.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest as _, Sha256};

use super::catalog::{self, Catalog, Served};
use super::compact::{self, is_prerelease};
use super::error::{Failure, GemsError};
use super::marshal;
use crate::proxy::SharedState;
use crate::proxy::not_stored::Notices;
use crate::release::Ecosystem;

const TEXT: &str = "text/plain; charset=utf-8";

/// `GET`/`HEAD /rubygems/`: a 2xx tells RubyGems the source has a compact index.
pub async fn root() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT)],
        "opp proxy: a RubyGems source (compact index, full index, gem push)\n",
    )
}

/// A compact index body with the headers Bundler checks.
fn compact_response(body: String) -> Response {
    let etag = format!("\"{}\"", compact::md5_hex(&body));
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
    );
    (
        [
            (header::CONTENT_TYPE, TEXT.to_owned()),
            (header::ETAG, etag),
            (header::HeaderName::from_static("repr-digest"), digest),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// `GET /rubygems/versions`: one line per gem with all its versions and its `/info` MD5.
pub async fn versions(
    State(state): State<SharedState>,
    Extension(catalog): Extension<Arc<Catalog>>,
) -> Result<Response, GemsError> {
    let gems = catalog::everything(&state, &catalog).await?;
    let lines: Vec<(String, Vec<String>, String)> = gems
        .iter()
        .map(|(name, entries)| {
            let refs: Vec<_> = entries.iter().map(|s| &s.entry).collect();
            let info = compact::info(&refs);
            let real_name = refs
                .first()
                .map_or_else(|| name.clone(), |e| e.spec.name.clone());
            let versions = refs.iter().map(|e| e.version_and_platform()).collect();
            (real_name, versions, compact::md5_hex(&info))
        })
        .collect();
    let created_at = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
    Ok(compact_response(compact::versions(
        &created_at.to_string(),
        &lines,
    )))
}

/// `GET /rubygems/info/{name}`: one line per stored `.gem`, oldest version first.
pub async fn info(
    State(state): State<SharedState>,
    Extension(catalog): Extension<Arc<Catalog>>,
    Extension(notices): Extension<Arc<Notices>>,
    Path(name): Path<String>,
) -> Result<Response, GemsError> {
    let entries = catalog::gem(&state, &catalog, &name).await?;
    if entries.is_empty() {
        let reason = notices.not_stored(&state, Ecosystem::Rubygems, &name);
        return Err(Failure::NotFound(reason).into());
    }
    let refs: Vec<_> = entries.iter().map(|s| &s.entry).collect();
    Ok(compact_response(compact::info(&refs)))
}

/// `GET /rubygems/names`: every gem name.
pub async fn names(
    State(state): State<SharedState>,
    Extension(catalog): Extension<Arc<Catalog>>,
) -> Result<Response, GemsError> {
    let gems = catalog::everything(&state, &catalog).await?;
    let names: Vec<String> = gems
        .iter()
        .filter_map(|(_, entries)| entries.first().map(|s| s.entry.spec.name.clone()))
        .collect();
    Ok(compact_response(compact::names(&names)))
}

/// Which tuples a full-index file lists.
#[derive(Clone, Copy)]
enum Which {
    /// `specs.4.8.gz`: every released version.
    Released,
    /// `latest_specs.4.8.gz`: the newest released version per gem and platform.
    Latest,
    /// `prerelease_specs.4.8.gz`: every prerelease version.
    Prerelease,
}

pub async fn specs(
    state: State<SharedState>,
    catalog: Extension<Arc<Catalog>>,
) -> Result<Response, GemsError> {
    full_index(state, catalog, Which::Released).await
}

pub async fn latest_specs(
    state: State<SharedState>,
    catalog: Extension<Arc<Catalog>>,
) -> Result<Response, GemsError> {
    full_index(state, catalog, Which::Latest).await
}

pub async fn prerelease_specs(
    state: State<SharedState>,
    catalog: Extension<Arc<Catalog>>,
) -> Result<Response, GemsError> {
    full_index(state, catalog, Which::Prerelease).await
}

/// gzip of `Marshal.dump([[name, Gem::Version, platform], ...])`.
async fn full_index(
    State(state): State<SharedState>,
    Extension(catalog): Extension<Arc<Catalog>>,
    which: Which,
) -> Result<Response, GemsError> {
    let gems = catalog::everything(&state, &catalog).await?;
    let picked = pick(gems.iter().flat_map(|(_, e)| e.iter()), which);
    let tuples = picked.iter().map(|s| {
        (
            s.entry.spec.name.as_str(),
            s.entry.spec.version.as_str(),
            s.entry.spec.platform.as_str(),
        )
    });
    let marshal = marshal::spec_tuples(tuples)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&marshal)
        .map_err(Failure::io("cannot compress the index"))?;
    let body = gz
        .finish()
        .map_err(Failure::io("cannot compress the index"))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

/// The entries a full-index file lists, given every gem's entries oldest first.
fn pick<'a>(entries: impl Iterator<Item = &'a Arc<Served>>, which: Which) -> Vec<&'a Served> {
    match which {
        Which::Released => entries
            .filter(|s| !is_prerelease(&s.entry.spec.version))
            .map(Arc::as_ref)
            .collect(),
        Which::Prerelease => entries
            .filter(|s| is_prerelease(&s.entry.spec.version))
            .map(Arc::as_ref)
            .collect(),
        Which::Latest => {
            // Oldest first, so the last one seen per (name, platform) is the newest.
            let mut latest: BTreeMap<(&str, &str), &Served> = BTreeMap::new();
            for s in entries.filter(|s| !is_prerelease(&s.entry.spec.version)) {
                latest.insert((&s.entry.spec.name, &s.entry.spec.platform), s.as_ref());
            }
            latest.into_values().collect()
        }
    }
}

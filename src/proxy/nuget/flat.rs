//! The flat container (`PackageBaseAddress/3.0.0`) under `/nuget/v3/flatcontainer/`:
//! `{id}/index.json` lists the versions, `{id}/{version}/{id}.{version}.nupkg` is the package
//! streamed from the store, `{id}/{version}/{id}.nuspec` its manifest, and
//! `{id}/{version}/{id}.{version}.snupkg` its symbols package where one is stored (where
//! `opp mirror nuget --symbols` looks for one on a feed that is not nuget.org). Ids and versions are
//! matched case-insensitively and in any NuGet spelling (`1.0` is `1.0.0`), as restore asks
//! with the listed case and nuget.exe lowercases (docs/protocols.md §4.2).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::error::{Failure, NugetApiError};
use super::read::{self, lower_id};
use crate::ecosystem::nuget::PackageKind;
use crate::mapper::Mapper;
use crate::proxy::not_stored::Notices;
use crate::proxy::{SharedState, blob};
use crate::release::Ecosystem;

/// `GET {id}/index.json`: `{"versions": [...]}`, lowercased, oldest first.
pub async fn versions(
    State(state): State<SharedState>,
    Extension(notices): Extension<Arc<Notices>>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, NugetApiError> {
    if file != "index.json" {
        return Err(Failure::NotFound(format!(
            "no {file} here: the flat container serves {id}/index.json"
        ))
        .into());
    }
    let versions = read::versions(&state, &id).await?;
    if versions.is_empty() {
        let reason = notices.not_stored(&state, Ecosystem::Nuget, &id);
        return Err(Failure::NotFound(reason).into());
    }
    Ok(Json(json!({ "versions": versions })).into_response())
}

/// `GET`/`HEAD {id}/{version}/{file}`: the `.nupkg` or the `.nuspec`.
pub async fn content(
    State(state): State<SharedState>,
    Path((id, version, file)): Path<(String, String, String)>,
    method: Method,
) -> Result<Response, NugetApiError> {
    let missing = || Failure::NotFound(format!("no {file} for {id} {version} in the store"));
    let (Some(lower), Ok(normalized)) = (
        lower_id(&id),
        Mapper::normalize_version(Ecosystem::Nuget, &version),
    ) else {
        return Err(missing().into());
    };
    let wanted = file.to_ascii_lowercase();
    let named = |ext: &str| {
        wanted == format!("{lower}.{normalized}.{ext}")
            || wanted == format!("{lower}.{}.{ext}", version.to_ascii_lowercase())
    };
    let (is_nupkg, is_snupkg) = (named("nupkg"), named("snupkg"));
    let is_nuspec = wanted == format!("{lower}.nuspec");
    if !is_nupkg && !is_snupkg && !is_nuspec {
        return Err(missing().into());
    }
    let stored = read::stored(&state, &lower, &normalized)
        .await?
        .ok_or_else(missing)?;
    if is_nuspec {
        let bytes = stored.nuspec_bytes(&state).await?;
        return Ok((
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            bytes,
        )
            .into_response());
    }
    let file = if is_snupkg {
        stored
            .release
            .files
            .iter()
            .find(|f| PackageKind::of(&f.name) == Some(PackageKind::Snupkg))
            .ok_or_else(missing)?
    } else {
        &stored.nupkg
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        blob::body(&state, &stored.repository, &file.digest, file.size).await?
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, file.size)
        .header(header::ETAG, format!("\"{}\"", file.digest.hex()))
        .body(body)
        .map_err(|e| Failure::internal("cannot build the response", e).into())
}

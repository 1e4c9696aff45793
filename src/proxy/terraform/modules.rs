//! The module registry protocol (`modules.v1`) under `/terraform/modules/v1/`:
//! `{namespace}/{name}/{system}/versions`, `.../{version}/download` (204 with
//! `X-Terraform-Get` naming the zip by an absolute URL whose path ends in `.zip`, so
//! go-getter unpacks it as a zip, signed in its query as go-getter sends no token, with the
//! `//subdir` a mirrored module's registry named), and the
//! zip itself under `/terraform/modules/archive/`, streamed from the
//! module's `archive/zip` layer. Terraform reaches the base URL through a `host` block of
//! the CLI config (`cli_config`), so no discovery document is served.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::{ApiError, Failure, PREFIX, blob_response};
use crate::mapper::Mapper;
use crate::packages::PackageError;
use crate::packages::module::{MODULE_SUBDIR, zip_name};
use crate::proxy::{ProxyState, SharedState};
use crate::release::{Ecosystem, Release};

const X_TERRAFORM_GET: HeaderName = HeaderName::from_static("x-terraform-get");

pub(super) fn routes() -> axum::Router<SharedState> {
    let module = "{namespace}/{name}/{system}";
    axum::Router::new()
        .route(
            &format!("{PREFIX}/modules/v1/{module}/versions"),
            get(versions),
        )
        .route(
            &format!("{PREFIX}/modules/v1/{module}/{{version}}/download"),
            get(download),
        )
        .route(
            &format!("{PREFIX}/modules/archive/{module}/{{version}}/{{file}}"),
            get(archive),
        )
}

/// The URL path of a module version's zip, relative to the proxy's base URL.
fn archive_path(name: &str, version: &str) -> String {
    format!(
        "{PREFIX}/modules/archive/{name}/{version}/{}",
        zip_name(name, version)
    )
}

#[derive(Serialize)]
struct Versions {
    modules: [ModuleVersions; 1],
}

#[derive(Serialize)]
struct ModuleVersions {
    versions: Vec<Version>,
}

#[derive(Serialize)]
struct Version {
    version: String,
}

async fn versions(
    State(state): State<SharedState>,
    Path((namespace, name, system)): Path<(String, String, String)>,
) -> Result<Json<Versions>, ApiError> {
    let address = module_address(&namespace, &name, &system)?;
    let mut found = state
        .packages()
        .versions_newest_first(Ecosystem::TerraformModule, &address)
        .await?;
    if found.is_empty() {
        return Err(Failure::NotFound(format!("module {address} is not in the store")).into());
    }
    found.reverse();
    let versions = found
        .into_iter()
        .map(|version| Version { version })
        .collect();
    Ok(Json(Versions {
        modules: [ModuleVersions { versions }],
    }))
}

/// The module's address as the store keys it (lowercase); a name the mapper refuses
/// cannot be in the store, so it is a 404.
fn module_address(namespace: &str, name: &str, system: &str) -> Result<String, Failure> {
    let address = format!("{namespace}/{name}/{system}");
    Mapper::normalize_package(Ecosystem::TerraformModule, &address)
        .map_err(|e| Failure::Package(PackageError::Map(e)))
}

/// The stored version, or a 404 naming what is missing.
async fn release(state: &ProxyState, address: &str, version: &str) -> Result<Release, Failure> {
    let version = Mapper::normalize_version(Ecosystem::TerraformModule, version)
        .map_err(|e| Failure::Package(PackageError::Map(e)))?;
    state
        .packages()
        .module_release(address, &version)
        .await?
        .ok_or_else(|| {
            Failure::NotFound(format!(
                "module {address} has no version {version} in the store"
            ))
        })
}

async fn download(
    State(state): State<SharedState>,
    Path((namespace, name, system, version)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let address = module_address(&namespace, &name, &system)?;
    let found = release(&state, &address, &version).await?;
    let path = archive_path(&found.package, &found.version);
    // A mirrored module whose registry named a `//subdir` of its package keeps it.
    let subdir = found
        .files
        .first()
        .and_then(|f| f.annotations.get(MODULE_SUBDIR))
        .map(|s| format!("//{s}"))
        .unwrap_or_default();
    let location = format!(
        "{}{path}{subdir}?{}",
        state.base_url,
        state.access.sign_query(&path)
    );
    Ok((StatusCode::NO_CONTENT, [(X_TERRAFORM_GET, location)]).into_response())
}

async fn archive(
    State(state): State<SharedState>,
    Path((namespace, name, system, version, file)): Path<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    let address = module_address(&namespace, &name, &system)?;
    let found = release(&state, &address, &version).await?;
    let Some(zip) = found.files.first().filter(|f| f.name == file) else {
        return Err(
            Failure::NotFound(format!("module {address} {version} has no file `{file}`")).into(),
        );
    };
    let repository = state
        .mapper
        .repository(Ecosystem::TerraformModule, &found.package)
        .map_err(PackageError::from)?;
    Ok(blob_response(&state, &repository, zip).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_path_ends_in_the_zip_name() {
        assert_eq!(
            archive_path("acme/greet/null", "1.0.0"),
            "/terraform/modules/archive/acme/greet/null/1.0.0/acme-greet-null-1.0.0.zip"
        );
    }
}

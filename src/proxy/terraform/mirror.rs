//! The provider network mirror protocol under `/terraform/providers/`:
//! `{hostname}/{namespace}/{type}/index.json` (the versions), `.../{version}.json` (one
//! archive per platform with its `h1:` and `zh:` hashes) and the zips themselves, at
//! `.../terraform-provider-{type}_{version}_{os}_{arch}.zip` beside the version document,
//! linked with a signed query (`?expires=..&sig=..`) as terraform downloads it without its
//! token.
//!
//! The store keys providers by `namespace/type` (a provider of another registry by
//! `hostname/namespace/type`, when the repository template holds the hostname), so every
//! hostname in a request (`registry.terraform.io`, `registry.opentofu.org`, ...) is served
//! from the same stored provider. It does not read or write the CLI config.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::{ApiError, Failure, PREFIX, blob_response};
use crate::ecosystem::terraform_provider::zip_file_name;
use crate::packages::provider::ProviderVersion;
use crate::proxy::{ProxyState, SharedState};
use crate::release::Ecosystem;

pub(super) fn routes() -> axum::Router<SharedState> {
    axum::Router::new().route(
        &format!("{PREFIX}/providers/{{hostname}}/{{namespace}}/{{type}}/{{file}}"),
        get(provider_file),
    )
}

/// What the last path segment asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request<'a> {
    Index,
    Version(&'a str),
    Zip {
        version: &'a str,
        os: &'a str,
        arch: &'a str,
    },
}

/// Reads the last segment: `index.json`, `{version}.json`, or the zip name this mirror
/// gives in its version documents. `None` for anything else.
fn parse_file<'a>(provider_type: &str, file: &'a str) -> Option<Request<'a>> {
    if file == "index.json" {
        return Some(Request::Index);
    }
    if let Some(version) = file.strip_suffix(".json") {
        return Some(Request::Version(version));
    }
    // terraform-provider-<type>_<version>_<os>_<arch>.zip; a type has no `_` (letters,
    // digits, dashes), nor has a semantic version, an os or an arch.
    let rest = file
        .strip_prefix("terraform-provider-")?
        .strip_prefix(provider_type)?
        .strip_prefix('_')?
        .strip_suffix(".zip")?;
    let mut parts = rest.rsplitn(3, '_');
    let arch = parts.next()?;
    let os = parts.next()?;
    let version = parts.next()?;
    Some(Request::Zip { version, os, arch })
}

/// The stored package names a request's provider address may be kept under, most specific
/// first: `hostname/namespace/type` (only when the mapper accepts it, i.e. the template
/// keeps hostnames, or the hostname is the default one), then `namespace/type`.
fn candidates(state: &ProxyState, hostname: &str, namespace: &str, kind: &str) -> Vec<String> {
    let eco = Ecosystem::TerraformProvider;
    let mut names = Vec::with_capacity(2);
    for address in [
        format!("{hostname}/{namespace}/{kind}"),
        format!("{namespace}/{kind}"),
    ] {
        if state.mapper.repository(eco, &address).is_err() {
            continue;
        }
        if let Ok(name) = crate::mapper::Mapper::normalize_package(eco, &address)
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

async fn provider_file(
    State(state): State<SharedState>,
    uri: Uri,
    Path((hostname, namespace, kind, file)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    // The directory as the client wrote it: the zips are signed for the paths it will ask.
    let dir = uri.path().rsplit_once('/').map_or("", |(dir, _)| dir);
    let address = format!("{hostname}/{namespace}/{kind}");
    let kind = kind.to_ascii_lowercase();
    let names = candidates(&state, &hostname, &namespace, &kind);
    match parse_file(&kind, &file) {
        Some(Request::Index) => Ok(index(&state, &address, &names).await?),
        Some(Request::Version(version)) => {
            let document = version_document(&state, &address, &names, version, dir).await?;
            Ok(document.into_response())
        }
        Some(Request::Zip { version, os, arch }) => {
            Ok(zip(&state, &address, &names, version, (os, arch)).await?)
        }
        None => {
            Err(Failure::NotFound(format!("{address}: no file `{file}` in this mirror")).into())
        }
    }
}

#[derive(Serialize)]
struct Index {
    versions: BTreeMap<String, Empty>,
}

#[derive(Serialize)]
struct Empty {}

async fn index(state: &SharedState, address: &str, names: &[String]) -> Result<Response, Failure> {
    for name in names {
        let versions = state
            .packages()
            .versions(Ecosystem::TerraformProvider, name)
            .await?;
        if !versions.is_empty() {
            let versions = versions.into_iter().map(|v| (v, Empty {})).collect();
            return Ok(Json(Index { versions }).into_response());
        }
    }
    Err(Failure::NotFound(format!(
        "provider {address} is not in the store"
    )))
}

/// The first stored version among `names`, with the name it was found under.
async fn find_version(
    state: &SharedState,
    address: &str,
    names: &[String],
    version: &str,
) -> Result<(String, ProviderVersion), Failure> {
    for name in names {
        if let Some(found) = provider_version(state, name, version).await? {
            return Ok((name.clone(), found));
        }
    }
    Err(Failure::NotFound(format!(
        "provider {address} has no version {version} in the store"
    )))
}

/// A stored provider version.
async fn provider_version(
    state: &SharedState,
    name: &str,
    version: &str,
) -> Result<Option<ProviderVersion>, Failure> {
    Ok(state.packages().provider_version(name, version).await?)
}

#[derive(Serialize)]
struct VersionDocument {
    archives: BTreeMap<String, Archive>,
}

#[derive(Serialize)]
struct Archive {
    url: String,
    hashes: Vec<String>,
}

async fn version_document(
    state: &SharedState,
    address: &str,
    names: &[String],
    version: &str,
    dir: &str,
) -> Result<Json<VersionDocument>, Failure> {
    let (name, found) = find_version(state, address, names, version).await?;
    let sign = |zip: &str| state.access.sign_query(&format!("{dir}/{zip}"));
    Ok(Json(archives(&name, &found, sign)))
}

/// One archive per platform: the zip name beside the version document with the query
/// `sign` gives for it, the `h1:` opp recorded at push time (when it did) and the `zh:` of
/// the stored bytes.
fn archives(name: &str, found: &ProviderVersion, sign: impl Fn(&str) -> String) -> VersionDocument {
    let kind = name.rsplit('/').next().unwrap_or(name);
    let version = &found.release.version;
    let archives = found
        .release
        .files
        .iter()
        .filter_map(|f| {
            let (os, arch) = f.platform.as_ref()?;
            let mut hashes: Vec<String> = ProviderVersion::h1(f)
                .map(str::to_owned)
                .into_iter()
                .collect();
            hashes.push(format!("zh:{}", f.digest.hex()));
            let zip = zip_file_name(kind, version, os, arch);
            let url = format!("{zip}?{}", sign(&zip));
            Some((format!("{os}_{arch}"), Archive { url, hashes }))
        })
        .collect();
    VersionDocument { archives }
}

async fn zip(
    state: &SharedState,
    address: &str,
    names: &[String],
    version: &str,
    (os, arch): (&str, &str),
) -> Result<Response, Failure> {
    let (name, found) = find_version(state, address, names, version).await?;
    let Some(file) = found.release.files.iter().find(|f| {
        f.platform
            .as_ref()
            .is_some_and(|(o, a)| o == os && a == arch)
    }) else {
        return Err(Failure::NotFound(format!(
            "provider {address} {version} has no zip for {os}_{arch} in the store"
        )));
    };
    let repository = state
        .mapper
        .repository(Ecosystem::TerraformProvider, &name)
        .map_err(crate::packages::PackageError::from)?;
    blob_response(state, &repository, file).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_segment_names_the_index_a_version_or_a_zip() {
        assert_eq!(parse_file("hello", "index.json"), Some(Request::Index));
        assert_eq!(
            parse_file("hello", "1.2.3-rc.1+b.5.json"),
            Some(Request::Version("1.2.3-rc.1+b.5"))
        );
        assert_eq!(
            parse_file("hello", "terraform-provider-hello_1.2.3_linux_amd64.zip"),
            Some(Request::Zip {
                version: "1.2.3",
                os: "linux",
                arch: "amd64"
            })
        );
        assert_eq!(
            parse_file(
                "my-thing",
                "terraform-provider-my-thing_0.1.0-beta.2_darwin_arm64.zip"
            ),
            Some(Request::Zip {
                version: "0.1.0-beta.2",
                os: "darwin",
                arch: "arm64"
            })
        );
    }

    #[test]
    fn other_files_are_not_served() {
        for file in [
            "terraform-provider-other_1.2.3_linux_amd64.zip",
            "terraform-provider-hello_1.2.3_SHA256SUMS",
            "terraform-provider-hello_linux.zip",
            "hello.zip",
        ] {
            assert_eq!(parse_file("hello", file), None, "{file}");
        }
    }
}

//! The per-gem files: `GET /rubygems/gems/{NAME-VERSION[-PLATFORM]}.gem`, the stored bytes
//! streamed from the store (checked against their digest as they go), and
//! `GET /rubygems/quick/Marshal.4.8/{NAME-VERSION[-PLATFORM]}.gemspec.rz`, the zlib-deflated
//! Marshal of its `Gem::Specification` that `gem install` fetches for every gem it installs.

use std::io::Write;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::catalog::{self, Catalog, Served};
use super::error::{Failure, GemsError};
use super::marshal;
use crate::packages::PackageError;
use crate::proxy::{SharedState, blob};
use crate::release::Ecosystem;

const GEM_SUFFIX: &str = ".gem";
const SPEC_SUFFIX: &str = ".gemspec.rz";

/// The `(name, version)` a full name `NAME-VERSION[-PLATFORM]` may stand for: a name may
/// hold `-`, a version never does and starts with a digit.
fn candidates(full_name: &str) -> Vec<(&str, &str)> {
    full_name
        .char_indices()
        .filter(|(i, c)| {
            *c == '-'
                && *i > 0
                && full_name[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
        })
        .map(|(i, _)| {
            let rest = &full_name[i + 1..];
            let version = rest.split('-').next().unwrap_or(rest);
            (&full_name[..i], version)
        })
        .collect()
}

/// The stored gem whose full name is `full_name`.
async fn find(
    state: &SharedState,
    catalog: &Catalog,
    full_name: &str,
) -> Result<Option<Arc<Served>>, Failure> {
    for (name, version) in candidates(full_name) {
        let entries = catalog::version(state, catalog, name, version).await?;
        if let Some(hit) = entries.iter().find(|s| s.entry.full_name() == full_name) {
            return Ok(Some(hit.clone()));
        }
    }
    Ok(None)
}

/// `GET /rubygems/gems/{file}`.
pub async fn gem(
    State(state): State<SharedState>,
    Extension(catalog): Extension<Arc<Catalog>>,
    Path(file): Path<String>,
) -> Result<Response, GemsError> {
    let missing = || Failure::NotFound(format!("no gem file {file} in this source"));
    let full_name = file.strip_suffix(GEM_SUFFIX).ok_or_else(missing)?;
    let served = find(&state, &catalog, full_name)
        .await?
        .ok_or_else(missing)?;
    let repo = state
        .mapper
        .repository(Ecosystem::Rubygems, &served.entry.spec.name)
        .map_err(PackageError::from)?;
    let body = blob::body(&state, &repo, &served.digest, served.size).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, served.size.to_string()),
            (header::ETAG, format!("\"{}\"", served.digest.hex())),
        ],
        body,
    )
        .into_response())
}

/// `GET /rubygems/quick/Marshal.4.8/{file}`.
pub async fn quick_spec(
    State(state): State<SharedState>,
    Extension(catalog): Extension<Arc<Catalog>>,
    Path(file): Path<String>,
) -> Result<Response, GemsError> {
    let missing = || Failure::NotFound(format!("no gem specification {file} in this source"));
    let full_name = file.strip_suffix(SPEC_SUFFIX).ok_or_else(missing)?;
    let served = find(&state, &catalog, full_name)
        .await?
        .ok_or_else(missing)?;
    let marshal = marshal::specification(&served.entry.spec)?;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&marshal)
        .map_err(Failure::io("cannot compress a gem specification"))?;
    let body = z
        .finish()
        .map_err(Failure::io("cannot compress a gem specification"))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_split_where_a_version_can_start() {
        assert_eq!(candidates("rake-13.0.6"), vec![("rake", "13.0.6")]);
        assert_eq!(
            candidates("net-http-2.0-x86_64-linux"),
            vec![("net-http", "2.0")]
        );
        assert_eq!(candidates("a-1-2.0"), vec![("a", "1"), ("a-1", "2.0")]);
        assert!(candidates("no-version").is_empty());
        assert!(candidates("-1.0").is_empty());
    }
}

//! `POST /rubygems/api/v1/gems`: `gem push`. The body is the raw `.gem`; it streams into a
//! temporary file (refused with `413` past `--max-upload-size`, by `Content-Length` first
//! and by counting as it arrives), is described from its own specification and pushed with
//! [`crate::packages::Packages::push_rubygems`] exactly as `opp push rubygems` pushes it,
//! never replacing: other bytes under a stored file name answer `409`, a file that is not a
//! gem `422` with the reason. On any error nothing is stored.
//!
//! Who may push is the proxy's business (`access.rs`: `gem push` sends the secret as its
//! API key, with no scheme).

use std::path::Path;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::error::{Failure, GemsError};
use crate::artifact::ArtifactError;
use crate::ecosystem::rubygems::{self, Gem};
use crate::packages::PackageError;
use crate::proxy::SharedState;

/// How the pushed file is named in error messages (`gem push` sends no file name).
const PUSHED: &str = "the pushed .gem";

fn too_large(limit: u64) -> Failure {
    Failure::TooLarge(format!(
        "{PUSHED} is larger than this proxy accepts ({}; see `opp proxy --max-upload-size`)",
        bytesize::ByteSize::b(limit)
    ))
}

pub async fn push(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GemsError> {
    let limit = state.max_upload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit).into());
    }
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/"));
    if multipart {
        return Err(Failure::Unprocessable(
            "a multipart push (gem push --attestation) is not supported: push the .gem alone"
                .into(),
        )
        .into());
    }
    let dir = tempfile::Builder::new()
        .prefix("opp-gem-push.")
        .tempdir()
        .map_err(Failure::io(
            "cannot create a temporary directory for a push",
        ))?;
    let path = dir.path().join("pushed.gem");
    let size = receive(body, &path, limit).await?;
    if size == 0 {
        return Err(Failure::Unprocessable(format!("{PUSHED} is empty")).into());
    }
    let gem = describe(&path, size).await?;
    let (name, version, file_name) = (
        gem.info.name.clone(),
        gem.info.version.clone(),
        gem.file_name.clone(),
    );
    let pushed = state
        .packages()
        .push_rubygems(vec![gem], false)
        .await
        .map_err(|e| match e {
            PackageError::Artifact(ArtifactError::Conflict { stored, new, .. }) => {
                Failure::Conflict(format!(
                    "{file_name} already exists with other content (stored {stored}, pushed {new}); \
                     bump the version to publish a change"
                ))
            }
            other => Failure::Package(other),
        })?;
    let status = pushed.first().map_or("added", |p| p.status);
    tracing::info!("rubygems proxy: push of {file_name}: {status}");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Successfully registered gem: {name} ({version})\n"),
    )
        .into_response())
}

/// Streams the body into `path`; returns its size. Past `limit` bytes: `413`.
async fn receive(body: Body, path: &Path, limit: u64) -> Result<u64, Failure> {
    let action = "cannot write the pushed gem";
    let file = tokio::fs::File::create(path)
        .await
        .map_err(Failure::io(action))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Failure::Unprocessable(format!("{PUSHED} broke off: {e}")))?;
        size = size.saturating_add(chunk.len() as u64);
        if size > limit {
            return Err(too_large(limit));
        }
        out.write_all(&chunk).await.map_err(Failure::io(action))?;
    }
    out.flush().await.map_err(Failure::io(action))?;
    Ok(size)
}

/// Describes the pushed file from its own specification; errors name it as pushed, not
/// the temporary file.
async fn describe(path: &Path, size: u64) -> Result<Gem, Failure> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(Failure::io("cannot read the pushed gem"))?;
        let mut gem =
            rubygems::describe_reader(Path::new(PUSHED), std::io::BufReader::new(file), size)
                .map_err(|e| Failure::Unprocessable(e.to_string()))?;
        gem.path = path;
        Ok(gem)
    })
    .await
    .map_err(|e| Failure::internal("cannot read the pushed gem", e))?
}

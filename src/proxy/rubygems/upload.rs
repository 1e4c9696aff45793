//! `POST /rubygems/api/v1/gems`: `gem push`. The body is the raw `.gem`; it is spooled by
//! `proxy::upload` (as every upload is: refused with `413` past `--max-upload-size`, by
//! `Content-Length` first and by counting as it arrives), described from its own
//! specification (which hashes it: the one pass over its bytes) and pushed with
//! [`crate::packages::Packages::push_rubygems`] exactly as `opp push rubygems` pushes it,
//! never replacing: other bytes under a stored file name answer `409`, a file that is not a
//! gem `422` with the reason. On any error nothing is stored.
//!
//! Who may push is the proxy's business (`access.rs`: `gem push` sends the secret as its
//! API key, with no scheme).

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{Failure, GemsError};
use crate::ecosystem::rubygems;
use crate::proxy::SharedState;
use crate::proxy::upload::{self, Incoming};

/// How the pushed file is named in error messages (`gem push` sends no file name).
const PUSHED: &str = "the pushed .gem";

pub async fn push(
    State(state): State<SharedState>,
    request: Request,
) -> Result<Response, GemsError> {
    let multipart = upload::is_multipart(request.headers());
    let (incoming, request) = Incoming::new(request, state.max_upload, PUSHED)?;
    if multipart {
        return Err(Failure::Unprocessable(
            "a multipart push (gem push --attestation) is not supported: push the .gem alone"
                .into(),
        )
        .into());
    }
    let dir = upload::temp_dir()?;
    let stream = upload::bytes_of(request.into_body());
    // Not hashed here: reading the gem's specification hashes every byte of it.
    let saved = incoming
        .save(stream, dir.path(), "pushed.gem", false)
        .await?;
    if saved.size == 0 {
        return Err(Failure::Unprocessable(format!("{PUSHED} is empty")).into());
    }
    let mut gem = upload::describe(
        PUSHED,
        &saved.path,
        saved.size,
        rubygems::describe_reader,
        Failure::Unprocessable,
    )
    .await?;
    gem.path = saved.path.clone();
    let (name, version, file_name) = (
        gem.info.name.clone(),
        gem.info.version.clone(),
        gem.file_name.clone(),
    );
    let pushed = state
        .packages()
        .push_rubygems(vec![gem], false)
        .await
        .map_err(|e| {
            upload::conflict(e, |stored, new| {
                format!(
                    "{file_name} already exists with other content (stored {stored}, pushed \
                     {new}); bump the version to publish a change"
                )
            })
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

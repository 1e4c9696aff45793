//! `POST /pypi/` (and `/pypi/legacy/`): the legacy upload API twine and `uv publish` speak.
//! The form's `content` part is the file: spooled and hashed by `proxy::upload` (as every
//! upload is), its sent `sha256_digest` must match, it is described from its own metadata
//! and pushed with [`crate::packages::Packages::push_pypi_hashed`], exactly as `opp push
//! pypi` pushes it (never replacing: other bytes under a stored file name answer 409).
//!
//! Credentials (HTTP Basic, as both clients send them) are the proxy's business
//! (`access.rs`).

use std::path::Path;

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use super::error::{Failure, ProxyError};
use crate::ecosystem::pypi;
use crate::mapper::Mapper;
use crate::proxy::SharedState;
use crate::proxy::upload::{self, Incoming, Saved};
use crate::release::Ecosystem;

/// Longest text field read; other fields (a long description) are skipped unread.
const MAX_FIELD: usize = 64 * 1024;

/// The fields of an upload that matter here.
#[derive(Default)]
struct Form {
    action: Option<String>,
    sha256: Option<String>,
    name: Option<String>,
    version: Option<String>,
    /// The stored part: its file name and where it is.
    content: Option<(String, Saved)>,
}

fn bad(text: impl Into<String>) -> Failure {
    Failure::BadRequest(text.into())
}

pub async fn upload(
    State(state): State<SharedState>,
    request: Request,
) -> Result<Response, ProxyError> {
    let (incoming, request) = Incoming::new(request, state.max_upload, "the upload")?;
    let dir = upload::temp_dir()?;
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|e| bad(format!("the upload is not a readable multipart form: {e}")))?;
    let form = read_form(&incoming, &mut multipart, dir.path()).await?;
    if form.action.as_deref() != Some("file_upload") {
        return Err(bad(format!(
            ":action is {:?}; only file_upload is supported",
            form.action.unwrap_or_default()
        ))
        .into());
    }
    let Some((file_name, saved)) = form.content else {
        return Err(bad("the upload has no `content` file part").into());
    };
    let digest = saved
        .digest
        .ok_or_else(|| Failure::internal("cannot check the upload", "it was not hashed"))?;
    let sent = form
        .sha256
        .ok_or_else(|| bad(format!("{file_name}: the upload has no sha256_digest")))?;
    if !sent.trim().eq_ignore_ascii_case(digest.hex()) {
        return Err(bad(format!(
            "{file_name}: sha256_digest {sent} does not match the uploaded content (sha256 {})",
            digest.hex()
        ))
        .into());
    }
    let mut dist = upload::describe(
        &file_name,
        &saved.path,
        saved.size,
        pypi::describe_reader,
        Failure::BadRequest,
    )
    .await?;
    dist.path = saved.path.clone();
    check_field("name", form.name.as_deref(), &dist.name, |n| {
        Mapper::normalize_package(Ecosystem::Pypi, n).ok()
    })?;
    check_field("version", form.version.as_deref(), &dist.version, |v| {
        Mapper::normalize_version(Ecosystem::Pypi, v).ok()
    })?;
    let pushed = state
        .packages()
        .push_pypi_hashed(vec![(dist, Some((digest, saved.size)))], false)
        .await
        .map_err(|e| {
            upload::conflict(e, |stored, new| {
                format!(
                    "{file_name} already exists with other content (stored {stored}, uploaded \
                     {new})"
                )
            })
        })?;
    let status = pushed.first().map_or("added", |p| p.status);
    tracing::info!("pypi proxy: upload of {file_name}: {status}");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{file_name}: {status}\n"),
    )
        .into_response())
}

/// Reads every part: the file to disk, the few fields that matter into memory, the rest
/// skipped.
async fn read_form(
    incoming: &Incoming,
    multipart: &mut Multipart,
    dir: &Path,
) -> Result<Form, Failure> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        incoming.or_too_large(bad(format!(
            "the upload is not a readable multipart form: {e}"
        )))
    };
    let mut form = Form::default();
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let slot = match name.as_str() {
            "content" => {
                if form.content.is_some() {
                    return Err(bad("the upload has more than one `content` part"));
                }
                form.content = Some(store_file(incoming, field, dir).await?);
                continue;
            }
            ":action" => &mut form.action,
            "sha256_digest" => &mut form.sha256,
            "name" => &mut form.name,
            "version" => &mut form.version,
            _ => {
                while field.chunk().await.map_err(malformed)?.is_some() {}
                continue;
            }
        };
        let mut text = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if text.len() + chunk.len() > MAX_FIELD {
                return Err(bad(format!(
                    "the field {name} is longer than {MAX_FIELD} bytes"
                )));
            }
            text.extend_from_slice(&chunk);
        }
        let text =
            String::from_utf8(text).map_err(|_| bad(format!("the field {name} is not UTF-8")))?;
        *slot = Some(text);
    }
    Ok(form)
}

/// Spools the file part under its own (plain) file name, hashed on the way.
async fn store_file(
    incoming: &Incoming,
    field: Field<'_>,
    dir: &Path,
) -> Result<(String, Saved), Failure> {
    let file_name = field
        .file_name()
        .ok_or_else(|| bad("the `content` part has no file name"))?
        .to_owned();
    if !upload::is_plain_name(&file_name) {
        return Err(bad(format!(
            "the file name {file_name:?} is not a plain file name"
        )));
    }
    let stream = field.map_err(std::io::Error::other);
    let saved = incoming.save(stream, dir, &file_name, true).await?;
    Ok((file_name, saved))
}

/// A form field, when sent, must name what the file's metadata says (compared normalized).
fn check_field(
    field: &str,
    sent: Option<&str>,
    actual: &str,
    normalize: impl Fn(&str) -> Option<String>,
) -> Result<(), Failure> {
    let Some(sent) = sent else { return Ok(()) };
    if normalize(sent).is_some() && normalize(sent) == normalize(actual) {
        return Ok(());
    }
    Err(bad(format!(
        "the form says {field} {sent:?} but the file's metadata says {actual:?}"
    )))
}

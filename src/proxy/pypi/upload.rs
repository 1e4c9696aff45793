//! `POST /pypi/` (and `/pypi/legacy/`): the legacy upload API twine and `uv publish` speak.
//! The `content` part streams into a temporary file while it is hashed; the sent
//! `sha256_digest` must match; the file is described from its own metadata and pushed with
//! [`crate::packages::Packages::push_pypi`], exactly as `opp push pypi` pushes it (never
//! replacing: other bytes under a stored file name answer 409).
//!
//! Credentials (HTTP Basic, as both clients send them) are accepted without being checked:
//! the proxy listens on loopback for one user; authenticating uploads is still to do.

use std::path::{Path, PathBuf};

use axum::extract::multipart::Field;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

use super::error::{Failure, ProxyError};
use crate::artifact::ArtifactError;
use crate::digest::{Digest, Hasher};
use crate::ecosystem::pypi::{self, PythonDist};
use crate::mapper::Mapper;
use crate::packages::PackageError;
use crate::proxy::SharedState;
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
    /// The stored part: its file name, where it is, its digest and size.
    content: Option<(String, PathBuf, Digest, u64)>,
}

fn bad(text: impl Into<String>) -> Failure {
    Failure::BadRequest(text.into())
}

pub async fn upload(
    State(state): State<SharedState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ProxyError> {
    let limit = state.max_upload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(length) = declared.filter(|l| *l > limit) {
        return Err(too_large(&format!("the upload ({length} bytes)"), limit).into());
    }
    let dir = tempfile::Builder::new()
        .prefix("opp-upload.")
        .tempdir()
        .map_err(Failure::io(
            "cannot create a temporary directory for an upload",
        ))?;
    let form = read_form(&mut multipart, dir.path(), limit).await?;
    if form.action.as_deref() != Some("file_upload") {
        return Err(bad(format!(
            ":action is {:?}; only file_upload is supported",
            form.action.unwrap_or_default()
        ))
        .into());
    }
    let Some((file_name, path, digest, size)) = form.content else {
        return Err(bad("the upload has no `content` file part").into());
    };
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
    let dist = describe(&file_name, &path, size).await?;
    check_field("name", form.name.as_deref(), &dist.name, |n| {
        Mapper::normalize_package(Ecosystem::Pypi, n).ok()
    })?;
    check_field("version", form.version.as_deref(), &dist.version, |v| {
        Mapper::normalize_version(Ecosystem::Pypi, v).ok()
    })?;
    let pushed = state.packages().push_pypi(vec![dist], false).await.map_err(|e| match e {
        PackageError::Artifact(ArtifactError::Conflict { stored, new, .. }) => {
            Failure::Conflict(format!(
                "{file_name} already exists with other content (stored {stored}, uploaded {new})"
            ))
        }
        other => Failure::Package(other),
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
async fn read_form(multipart: &mut Multipart, dir: &Path, limit: u64) -> Result<Form, Failure> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        bad(format!("the upload is not a readable multipart form: {e}"))
    };
    let mut form = Form::default();
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let slot = match name.as_str() {
            "content" => {
                if form.content.is_some() {
                    return Err(bad("the upload has more than one `content` part"));
                }
                form.content = Some(store_file(&mut field, dir, limit).await?);
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

/// Streams the file part into `dir` under its own (plain) file name, hashing it on the way.
async fn store_file(
    field: &mut Field<'_>,
    dir: &Path,
    limit: u64,
) -> Result<(String, PathBuf, Digest, u64), Failure> {
    let file_name = field
        .file_name()
        .ok_or_else(|| bad("the `content` part has no file name"))?
        .to_owned();
    let plain = !file_name.is_empty()
        && !file_name.starts_with('.')
        && !file_name.contains(['/', '\\', '\0']);
    if !plain {
        return Err(bad(format!(
            "the file name {file_name:?} is not a plain file name"
        )));
    }
    let path = dir.join(&file_name);
    let action = format!("cannot write the upload of {file_name}");
    let file = tokio::fs::File::create(&path)
        .await
        .map_err(Failure::io(action.clone()))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut hasher = Hasher::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| bad(format!("{file_name}: the upload broke off: {e}")))?
    {
        hasher.update(&chunk);
        if hasher.len() > limit {
            return Err(too_large(&file_name, limit));
        }
        out.write_all(&chunk)
            .await
            .map_err(Failure::io(action.clone()))?;
    }
    out.flush().await.map_err(Failure::io(action))?;
    let size = hasher.len();
    Ok((file_name, path, hasher.finish(), size))
}

/// The answer to an upload over `opp proxy --max-upload-size`.
fn too_large(what: &str, limit: u64) -> Failure {
    Failure::TooLarge(format!(
        "{what} is larger than the proxy's upload limit of {}; restart `opp proxy` with a larger \
         --max-upload-size",
        bytesize::ByteSize::b(limit).display().iec()
    ))
}

/// Describes the uploaded file from its own metadata; errors name the file, not the
/// temporary directory.
async fn describe(file_name: &str, path: &Path, size: u64) -> Result<PythonDist, Failure> {
    let (name, path) = (file_name.to_owned(), path.to_owned());
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)
            .map_err(Failure::io(format!("cannot read the upload of {name}")))?;
        let mut dist = pypi::describe_reader(Path::new(&name), std::io::BufReader::new(file), size)
            .map_err(|e| bad(e.to_string()))?;
        dist.path = path;
        Ok(dist)
    })
    .await
    .map_err(|e| Failure::internal(format!("cannot read the upload of {file_name}"), e))?
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

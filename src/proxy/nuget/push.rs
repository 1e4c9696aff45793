//! `PUT /nuget/api/v2/package[/]` (`PackagePublish/2.0.0`): what `nuget push` and `dotnet
//! nuget push` send. The body is `multipart/form-data` whose first part is the package
//! (nuget.exe sends it chunked, with no `Content-Length`); a raw `.nupkg` body is accepted
//! too. It streams into a temporary file while its bytes are counted against
//! `--max-upload-size` (a declared `Content-Length` over it is refused before reading), is
//! described from its own `.nuspec` and pushed with [`crate::packages::Packages::push_nuget`]
//! as `opp push nuget` pushes it, never replacing: other bytes under a stored version answer
//! `409`. Nothing is stored on any error; the temporary file goes with the request.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use super::error::{Failure, NugetApiError};
use crate::artifact::ArtifactError;
use crate::ecosystem::nuget::{self, NugetPackage};
use crate::packages::PackageError;
use crate::proxy::SharedState;

/// What the package is called in messages when the client gives no file name.
const DEFAULT_NAME: &str = "package.nupkg";
/// How much of a body past `--max-upload-size` is still read (and dropped) so that the client,
/// which sends it all before reading the answer, sees the `413`; beyond this the connection
/// is closed.
const DRAIN_CAP: u64 = crate::proxy::server::DRAIN_PAST_LIMIT;

fn bad(text: impl Into<String>) -> Failure {
    Failure::BadRequest(text.into())
}

fn too_large(limit: u64) -> Failure {
    Failure::TooLarge(format!(
        "the package is larger than the proxy accepts ({limit} bytes, --max-upload-size)"
    ))
}

pub async fn push(
    State(state): State<SharedState>,
    request: Request,
) -> Result<Response, NugetApiError> {
    let limit = state.max_upload;
    if declared_length(request.headers()).is_some_and(|len| len > limit) {
        return Err(too_large(limit).into());
    }
    let dir = tempfile::Builder::new()
        .prefix("opp-nuget-push.")
        .tempdir()
        .map_err(Failure::io(
            "cannot create a temporary directory for a push",
        ))?;
    let over = Arc::new(AtomicBool::new(false));
    let multipart = is_multipart(request.headers());
    let (parts, body) = request.into_parts();
    let body = Body::from_stream(counted(
        body.into_data_stream(),
        limit,
        limit.saturating_add(DRAIN_CAP),
        over.clone(),
    ));
    let request = Request::from_parts(parts, body);

    let (name, path, size) = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| bad(format!("the push is not a readable multipart form: {e}")))?;
        let field = form.next_field().await.map_err(|e| {
            if over.load(Ordering::SeqCst) {
                too_large(limit)
            } else {
                bad(format!("the push is not a readable multipart form: {e}"))
            }
        })?;
        let Some(field) = field else {
            return Err(bad("the push has no package: the form is empty").into());
        };
        let name = plain_name(field.file_name());
        let path = dir.path().join(&name);
        let stream = field.map_err(std::io::Error::other);
        let size = save(stream, &path, &name, limit, &over).await?;
        if over.load(Ordering::SeqCst) {
            // The rest of the form, read and dropped.
            while let Ok(Some(mut field)) = form.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
        }
        (name, path, size)
    } else {
        let name = DEFAULT_NAME.to_owned();
        let path = dir.path().join(&name);
        let stream = request
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other);
        let size = save(stream, &path, &name, limit, &over).await?;
        (name, path, size)
    };
    if over.load(Ordering::SeqCst) {
        return Err(too_large(limit).into());
    }
    if size == 0 {
        return Err(bad(format!("{name} is empty: push a .nupkg file")).into());
    }

    // Stored under `<id>.<version>.nupkg` as its nuspec spells them, as `opp push nuget` does
    // (clients call every upload `package.nupkg`).
    let package = describe(&name, &path, size).await?;
    let file_name = package.file_name.clone();
    let pushed = state
        .packages()
        .push_nuget(vec![package], false)
        .await
        .map_err(|e| match e {
            PackageError::Artifact(ArtifactError::Conflict { stored, new, .. }) => {
                Failure::Conflict(format!(
                    "{file_name} is already in the store with other content (stored {stored}, \
                     pushed {new}); push it under a new version"
                ))
            }
            // A symbols package without its package.
            PackageError::NotFound(reason) => bad(reason),
            other => Failure::Package(other),
        })?;
    let status = pushed.first().map_or("added", |p| p.status);
    tracing::info!("nuget proxy: push of {file_name}: {status}");
    let code = if status == "unchanged" {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{file_name}: {status}\n"),
    )
        .into_response())
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// The client's file name when it is a plain one naming a package (`.nupkg`, `.snupkg`),
/// else [`DEFAULT_NAME`].
fn plain_name(sent: Option<&str>) -> String {
    match sent {
        Some(n)
            if !n.is_empty()
                && !n.starts_with('.')
                && !n.contains(['/', '\\', '\0'])
                && n.len() <= 255
                && nuget::PackageKind::of(n).is_some() =>
        {
            n.to_owned()
        }
        _ => DEFAULT_NAME.to_owned(),
    }
}

/// `body` passed through while its bytes are counted: past `limit` `over` is set (the
/// reader drops what follows), past `cap` it fails.
fn counted(
    body: impl Stream<Item = Result<Bytes, axum::Error>> + Send + 'static,
    limit: u64,
    cap: u64,
    over: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut seen: u64 = 0;
    body.map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            over.store(true, Ordering::SeqCst);
        }
        if seen > cap {
            return Err(std::io::Error::other(format!(
                "the body is larger than {cap} bytes"
            )));
        }
        Ok(chunk)
    })
}

/// Streams `stream` into `path` and returns the size; once `over` is set, reads the rest
/// without writing it.
async fn save(
    stream: impl Stream<Item = Result<Bytes, std::io::Error>>,
    path: &Path,
    name: &str,
    limit: u64,
    over: &AtomicBool,
) -> Result<u64, Failure> {
    let action = format!("cannot write the push of {name}");
    let file = tokio::fs::File::create(path)
        .await
        .map_err(Failure::io(action.clone()))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut size: u64 = 0;
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if over.load(Ordering::SeqCst) {
                too_large(limit)
            } else {
                bad(format!("{name}: the push broke off: {e}"))
            }
        })?;
        if over.load(Ordering::SeqCst) {
            continue;
        }
        size += chunk.len() as u64;
        out.write_all(&chunk)
            .await
            .map_err(Failure::io(action.clone()))?;
    }
    out.flush().await.map_err(Failure::io(action))?;
    Ok(size)
}

/// Describes the pushed file from its own nuspec; errors name the file as the client sent it.
async fn describe(name: &str, path: &Path, size: u64) -> Result<NugetPackage, Failure> {
    let (name, path): (String, PathBuf) = (name.to_owned(), path.to_owned());
    let action = format!("cannot read the push of {name}");
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)
            .map_err(Failure::io(format!("cannot read the push of {name}")))?;
        let mut package =
            nuget::describe_reader(Path::new(&name), std::io::BufReader::new(file), size)
                .map_err(|e| bad(e.to_string()))?;
        package.path = path;
        Ok(package)
    })
    .await
    .map_err(|e| Failure::internal(action, e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counting_flags_a_body_past_the_limit_and_stops_it_past_the_cap() {
        let chunks: Vec<Result<Bytes, axum::Error>> = vec![
            Ok(Bytes::from_static(b"12345")),
            Ok(Bytes::from_static(b"678")),
            Ok(Bytes::from_static(b"9")),
        ];
        let over = Arc::new(AtomicBool::new(false));
        let mut s = Box::pin(counted(
            futures_util::stream::iter(chunks),
            6,
            8,
            over.clone(),
        ));
        assert!(s.next().await.expect("first").is_ok());
        assert!(!over.load(Ordering::SeqCst));
        assert!(s.next().await.expect("second").is_ok());
        assert!(over.load(Ordering::SeqCst));
        assert!(s.next().await.expect("third").is_err());
    }

    #[test]
    fn only_plain_file_names_are_kept() {
        assert_eq!(plain_name(Some("x.nupkg")), "x.nupkg");
        assert_eq!(plain_name(Some("x.SNUPKG")), "x.SNUPKG");
        for bad in [
            None,
            Some("x.zip"),
            Some(""),
            Some("../x.nupkg"),
            Some(".hidden"),
            Some("a\\b"),
        ] {
            assert_eq!(plain_name(bad), DEFAULT_NAME, "{bad:?}");
        }
    }
}

//! `PUT /nuget/api/v2/package[/]` (`PackagePublish/2.0.0`): what `nuget push` and `dotnet
//! nuget push` send. The body is `multipart/form-data` whose first part is the package
//! (nuget.exe sends it chunked, with no `Content-Length`); a raw `.nupkg` body is accepted
//! too. It is spooled and hashed by `proxy::upload` (as every upload is; nuget.exe sends the
//! whole body before reading the answer, so a body over `--max-upload-size` is read to its
//! end, or to a cap, before the `413`), described from its own `.nuspec` and pushed with
//! [`crate::packages::Packages::push_nuget_hashed`] as `opp push nuget` pushes it, never
//! replacing: other bytes under a stored version answer `409`. Nothing is stored on any
//! error; the temporary file goes with the request.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use super::error::{Failure, NugetApiError};
use crate::ecosystem::nuget;
use crate::packages::PackageError;
use crate::proxy::SharedState;
use crate::proxy::upload::{self, Incoming};

/// What the package is called in messages when the client gives no file name.
const DEFAULT_NAME: &str = "package.nupkg";

fn bad(text: impl Into<String>) -> Failure {
    Failure::BadRequest(text.into())
}

pub async fn push(
    State(state): State<SharedState>,
    request: Request,
) -> Result<Response, NugetApiError> {
    let multipart = upload::is_multipart(request.headers());
    let (incoming, request) = Incoming::new(request, state.max_upload, "the package")?;
    let dir = upload::temp_dir()?;
    let (name, saved) = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| bad(format!("the push is not a readable multipart form: {e}")))?;
        let field = form.next_field().await.map_err(|e| {
            incoming.or_too_large(bad(format!(
                "the push is not a readable multipart form: {e}"
            )))
        })?;
        let Some(field) = field else {
            return Err(bad("the push has no package: the form is empty").into());
        };
        let name = plain_name(field.file_name());
        let stream = field.map_err(std::io::Error::other);
        let saved = incoming.save(stream, dir.path(), &name, true).await;
        if incoming.is_over() {
            // The rest of the form, read and dropped.
            while let Ok(Some(mut field)) = form.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
        }
        (name, saved?)
    } else {
        let name = DEFAULT_NAME.to_owned();
        let stream = upload::bytes_of(request.into_body());
        let saved = incoming.save(stream, dir.path(), &name, true).await?;
        (name, saved)
    };
    if saved.size == 0 {
        return Err(bad(format!("{name} is empty: push a .nupkg file")).into());
    }

    // Stored under `<id>.<version>.nupkg` as its nuspec spells them, as `opp push nuget` does
    // (clients call every upload `package.nupkg`).
    let mut package = upload::describe(
        &name,
        &saved.path,
        saved.size,
        nuget::describe_reader,
        Failure::BadRequest,
    )
    .await?;
    package.path = saved.path.clone();
    let file_name = package.file_name.clone();
    let hashed = saved.digest.map(|d| (d, saved.size));
    let pushed = state
        .packages()
        .push_nuget_hashed(vec![(package, hashed)], false)
        .await
        .map_err(|e| match e {
            // A symbols package without its package.
            e @ PackageError::SymbolsAlone { .. } => bad(crate::error::reason(&e)),
            PackageError::NotFound(reason) => bad(reason),
            other => upload::conflict(other, |stored, new| {
                format!(
                    "{file_name} is already in the store with other content (stored {stored}, \
                     pushed {new}); push it under a new version"
                )
            }),
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

/// The client's file name when it is a plain one naming a package (`.nupkg`, `.snupkg`),
/// else [`DEFAULT_NAME`].
fn plain_name(sent: Option<&str>) -> String {
    match sent {
        Some(n) if upload::is_plain_name(n) && nuget::PackageKind::of(n).is_some() => n.to_owned(),
        _ => DEFAULT_NAME.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

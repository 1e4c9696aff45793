//! Reading one manifest or index from the registry: by tag or digest, with the OCI and docker
//! media types accepted, its bytes capped at [`MAX_MANIFEST`] (refused from `Content-Length`
//! or as soon as reading passes it), checked against `Docker-Content-Digest`, and its media
//! type taken from its own `mediaType` field or its shape.

use bytes::Bytes;
use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{Method, StatusCode};

use super::body::{BodyError, MAX_MANIFEST, read_capped, show_size};
use super::error::Context;
use super::retry::Step;
use super::session::{Call, Failure, transport_failure};
use super::{ACCEPTED, RegistryStore, pull};
use crate::digest::Digest;
use crate::store::{OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, RawManifest, Result, StoreError};

impl RegistryStore {
    /// A manifest by tag or digest, `None` when the registry does not have it. The body is
    /// read within the retried step, so a connection broken mid-body is retried too.
    pub(super) async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        cx: &Context<'_>,
    ) -> Result<Option<RawManifest>> {
        let scopes = pull(repository);
        let mut call = Call::new(
            Method::GET,
            format!("/v2/{repository}/manifests/{reference}"),
            &scopes,
            Step::Read,
        );
        let accept = HeaderValue::from_str(&ACCEPTED.join(", "))
            .map_err(|_| cx.registry("invalid Accept header".to_owned()))?;
        call.headers.insert(ACCEPT, accept);
        let bytes = self
            .session
            .retrying(cx, |_| async {
                let res = self.session.send_once(&call, cx).await?;
                if res.status() == StatusCode::NOT_FOUND {
                    return match cx.refused(res).await {
                        StoreError::NotFound { .. } => Ok(None),
                        other => Err(Failure::Fatal(other)),
                    };
                }
                let res = cx.check(res).await?;
                let announced = res
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<Digest>().ok());
                match read_capped(res, MAX_MANIFEST).await {
                    Ok(bytes) => Ok(Some((bytes, announced))),
                    Err(BodyError::Read(e)) => Err(transport_failure(e, cx)),
                    Err(BodyError::TooLarge(n)) => Err(Failure::Fatal(too_large(cx, n))),
                }
            })
            .await?;
        let Some((bytes, announced)) = bytes else {
            return Ok(None);
        };
        let media_type = media_type_of(&bytes).ok_or_else(|| {
            cx.corrupt("not a JSON manifest or index with a known media type".to_owned())
        })?;
        let manifest = RawManifest::new(media_type, bytes);
        if let Some(announced) = announced.filter(|d| *d != manifest.digest) {
            return Err(cx.corrupt(format!(
                "the registry calls it {announced}, but its bytes have digest {}",
                manifest.digest
            )));
        }
        Ok(Some(manifest))
    }
}

/// A manifest over [`MAX_MANIFEST`]: refused.
fn too_large(cx: &Context<'_>, announced: Option<u64>) -> StoreError {
    let size = match announced {
        Some(n) => format!("this one is {}; it was not read", show_size(n)),
        None => format!(
            "this one is larger; reading stopped at {}",
            show_size(MAX_MANIFEST)
        ),
    };
    cx.registry(format!(
        "refused: a manifest or index may be at most {} (the distribution registry's limit), \
         {size}",
        show_size(MAX_MANIFEST)
    ))
}

/// A manifest's media type: its `mediaType` field, else guessed from its shape (`manifests`
/// makes an OCI index, `layers` or `config` an OCI manifest). `None` if it is not JSON.
fn media_type_of(bytes: &Bytes) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
        layers: Option<serde::de::IgnoredAny>,
        config: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(bytes).ok()?;
    match probe {
        Probe {
            media_type: Some(m),
            ..
        } => Some(m),
        Probe {
            manifests: Some(_), ..
        } => Some(OCI_IMAGE_INDEX.to_owned()),
        Probe {
            layers: Some(_), ..
        }
        | Probe {
            config: Some(_), ..
        } => Some(OCI_IMAGE_MANIFEST.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_comes_from_the_field_or_the_shape() {
        let m = |s: &str| media_type_of(&Bytes::from(s.to_owned()));
        assert_eq!(m(r#"{"mediaType":"x/y"}"#).as_deref(), Some("x/y"));
        assert_eq!(m(r#"{"manifests":[]}"#).as_deref(), Some(OCI_IMAGE_INDEX));
        assert_eq!(m(r#"{"layers":[]}"#).as_deref(), Some(OCI_IMAGE_MANIFEST));
        assert_eq!(m(r#"{"schemaVersion":2}"#), None);
        assert_eq!(m("not json"), None);
    }
}

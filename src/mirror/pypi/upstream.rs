//! The upstream simple index over HTTP: a project's page (JSON when offered) and a version's
//! dependencies: from the PEP 658 metadata file beside a wheel when the index serves one
//! (no wheel download), else from the METADATA inside a downloaded wheel. Credentials in the
//! URL's userinfo are sent as basic auth and never printed.

use std::str::FromStr;

use reqwest::Url;

use super::index::{self, IndexFile, dist_name};
use super::metadata::{self, Dependencies};
use crate::digest::Hasher;
use crate::ecosystem::pypi as eco;
use crate::mirror::download::{self, DownloadError, redacted};

/// The largest project page or metadata file read into memory.
const MAX_BODY: usize = 128 * 1024 * 1024;

pub struct Upstream {
    client: reqwest::Client,
    /// Ends with `/`.
    base: Url,
    /// Wheels downloaded to read their METADATA, kept for the mirror to reuse (removed on drop).
    downloaded: tempfile::TempDir,
    /// URL -> the verified file in `downloaded`.
    by_url: std::sync::Mutex<std::collections::BTreeMap<Url, std::path::PathBuf>>,
}

impl Upstream {
    pub fn new(client: reqwest::Client, url: &str) -> Result<Upstream, super::super::MirrorError> {
        let with_slash = if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        };
        let base = Url::parse(&with_slash)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| super::super::MirrorError::BadUpstream(url.to_owned()))?;
        let downloaded = tempfile::Builder::new()
            .prefix("opp-mirror-metadata.")
            .tempdir()
            .map_err(|source| super::super::MirrorError::Read {
                path: std::env::temp_dir().display().to_string(),
                source,
            })?;
        Ok(Upstream {
            client,
            base,
            downloaded,
            by_url: Default::default(),
        })
    }

    /// The index URL for messages (no password).
    pub fn describe(&self) -> String {
        redacted(&self.base)
    }

    /// The files of a project, or why they cannot be had (one line).
    pub async fn page(&self, name: &str) -> Result<Vec<IndexFile>, String> {
        let url = self
            .base
            .join(&format!("{name}/"))
            .map_err(|e| format!("cannot build the page URL: {e}"))?;
        let response = match download::get(&self.client, &url, Some(index::ACCEPT)).await {
            Ok(r) => r,
            Err(DownloadError::Status { status, .. }) if status.as_u16() == 404 => {
                return Err(format!(
                    "the upstream index {} has no project `{name}`",
                    self.describe()
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        let json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(index::JSON_TYPE));
        // The page's own URL after redirects resolves relative links.
        let page_url = response.url().clone();
        let body = bounded(response, &page_url).await?;
        index::parse_page(&body, json, &page_url)
            .map_err(|e| format!("{}: {e}", redacted(&page_url)))
    }

    /// The dependencies of one version, from the best file the page lists for it.
    pub async fn dependencies(
        &self,
        name: &str,
        version: &pep440_rs::Version,
        files: &[IndexFile],
    ) -> Result<Dependencies, String> {
        let of_version: Vec<(&IndexFile, bool)> = files
            .iter()
            .filter_map(|f| {
                let d = dist_name(name, &f.file_name)?;
                (d.version == *version).then_some((f, d.wheel))
            })
            .collect();
        // PEP 658: the metadata file beside a wheel (or an sdist with static metadata).
        if let Some((f, hash)) = of_version
            .iter()
            .find_map(|(f, wheel)| f.metadata.as_ref().filter(|_| *wheel).map(|h| (*f, h)))
        {
            let url = Url::from_str(&format!("{}.metadata", f.url))
                .map_err(|e| format!("cannot build the metadata URL: {e}"))?;
            let response = download::get(&self.client, &url, None)
                .await
                .map_err(|e| e.to_string())?;
            let body = bounded(response, &url).await?;
            if let Some(want) = hash {
                let mut h = Hasher::new();
                h.update(&body);
                let got = h.finish();
                if !got.hex().eq_ignore_ascii_case(want) {
                    return Err(format!(
                        "{} has sha256 {} but the index says {want}",
                        redacted(&url),
                        got.hex()
                    ));
                }
            }
            return Ok(metadata::parse(&body));
        }
        // Else the wheel itself: download it and read its METADATA.
        // (The smallest one: any wheel of a version carries the same dependencies, as a rule.)
        if let Some((f, _)) = of_version
            .iter()
            .filter(|(_, wheel)| *wheel)
            .min_by_key(|(f, _)| f.size.unwrap_or(u64::MAX))
        {
            return self.wheel_metadata(f).await;
        }
        Err(format!(
            "{name} {version} has only an sdist and the index serves no metadata for it"
        ))
    }

    /// A file this run already downloaded (and verified), by its URL.
    pub fn downloaded(&self, url: &Url) -> Option<std::path::PathBuf> {
        self.by_url.lock().ok()?.get(url).cloned()
    }

    async fn wheel_metadata(&self, f: &IndexFile) -> Result<Dependencies, String> {
        // One directory per file: two projects' wheels cannot share a name, but be safe.
        let dir = tempfile::Builder::new()
            .prefix("w.")
            .tempdir_in(self.downloaded.path())
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?
            .keep();
        let path = dir.join(&f.file_name);
        download::to_file(
            &self.client,
            &f.url,
            &path,
            f.sha256.as_deref(),
            &indicatif::ProgressBar::hidden(),
        )
        .await
        .map_err(|e| e.to_string())?;
        if let Ok(mut map) = self.by_url.lock() {
            map.insert(f.url.clone(), path.clone());
        }
        let described = tokio::task::spawn_blocking(move || eco::describe(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        described
            .metadata
            .map(|m| metadata::parse(&m))
            .ok_or_else(|| format!("{} has no METADATA", f.file_name))
    }
}

/// Reads a body of at most [`MAX_BODY`] bytes.
async fn bounded(response: reqwest::Response, url: &Url) -> Result<Vec<u8>, String> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| format!("cannot read {}: {}", redacted(url), download::causes(e)))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!(
                "{} is larger than {} MiB; refusing it",
                redacted(url),
                MAX_BODY / 1024 / 1024
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

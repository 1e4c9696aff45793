//! The upstream simple index over HTTP: a project's page (JSON when offered) and a version's
//! dependencies: from the PEP 658 metadata file beside a wheel when the index serves one
//! (no wheel download); else from a wheel's METADATA: a small wheel the plan mirrors is
//! downloaded whole and kept (the mirror stores that copy, not a second download), any other
//! is read with HTTP range requests (`lazy_wheel`) where the server serves them; else from an
//! sdist's PKG-INFO when it is final (Metadata-Version 2.2+, not Dynamic). Credentials in the
//! URL's userinfo are sent as basic auth and never printed.

use std::collections::BTreeSet;
use std::str::FromStr;

use reqwest::Url;

use super::index::{self, IndexFile, dist_name};
use super::lazy_wheel::{self, Lazy};
use super::metadata::{self, Dependencies};
use crate::digest::Hasher;
use crate::ecosystem::limits;
use crate::ecosystem::pypi as eco;
use crate::mirror::credentials::{self, Netrc};
use crate::mirror::download::{self, DownloadError, redacted};
use crate::mirror::unauthorized::{Sent, Unauthorized};

/// The largest wheel the plan mirrors that is downloaded whole to read its METADATA (and
/// kept): at the speeds seen, a request's latency costs as much as a few MiB, and a larger
/// wheel is read with range requests rather than delay the closure.
const KEEP_WHOLE: u64 = 2 * 1024 * 1024;
/// The largest project page read into memory (metadata files: `limits::metadata_bytes`).
const MAX_PAGE: u64 = 128 * 1024 * 1024;

pub struct Upstream {
    client: reqwest::Client,
    /// Ends with `/`; carries the credentials found for it.
    base: Url,
    /// Where the credentials in `base` came from, for a 401's message.
    credentials_from: Option<credentials::Source>,
    /// For files served from another host.
    netrc: Netrc,
    /// Wheels downloaded to read their METADATA, kept for the mirror to reuse (removed on drop).
    downloaded: tempfile::TempDir,
    /// URL -> the verified file in `downloaded` (`None` once its bytes are stored and the copy
    /// removed) and its sha256 (lowercase hex).
    by_url: std::sync::Mutex<std::collections::BTreeMap<Url, (Option<std::path::PathBuf>, String)>>,
}

impl Upstream {
    /// The index at `url`, with credentials as pip finds them (`credentials`).
    pub fn new(
        client: reqwest::Client,
        url: &str,
        netrc: Netrc,
    ) -> Result<Upstream, super::super::MirrorError> {
        let with_slash = if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        };
        let mut base = Url::parse(&with_slash)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| super::super::MirrorError::BadUpstream(redact_text(url)))?;
        let credentials_from = credentials::fill(&mut base, &netrc);
        if let Some(source) = &credentials_from {
            tracing::debug!("credentials for {} from {source:?}", redacted(&base));
        }
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
            credentials_from,
            netrc,
            downloaded,
            by_url: Default::default(),
        })
    }

    /// The HTTP client the index is read with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The index URL for messages (no password).
    pub fn describe(&self) -> String {
        redacted(&self.base)
    }

    /// What a 401 means: no credentials were found, or the ones sent were refused.
    fn unauthorized(&self) -> Unauthorized {
        Unauthorized {
            upstream: format!("the upstream index {}", self.describe()),
            sent: self
                .credentials_from
                .as_ref()
                .map_or(Sent::Nothing, credentials::Source::sent),
            where_to_give: "in the URL (https://USER:PASSWORD@HOST/...), in ~/.netrc, or in the \
                            keyring (https://USER@HOST/...)",
        }
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
            Err(DownloadError::Status { status, .. }) if status.as_u16() == 401 => {
                return Err(crate::error::reason(&self.unauthorized()));
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
        let body = bounded(response, &page_url, MAX_PAGE).await?;
        let mut files = index::parse_page(&body, json, &page_url)
            .map_err(|e| format!("{}: {e}", redacted(&page_url)))?;
        for f in &mut files {
            self.authorize(&mut f.url);
        }
        Ok(files)
    }

    /// Gives a file URL without credentials those of the index when it is on the index's
    /// host, else its own host's `.netrc` entry (as pip sends them).
    fn authorize(&self, url: &mut Url) {
        if !url.username().is_empty() || url.password().is_some() {
            return;
        }
        if url.host_str() == self.base.host_str() && url.port() == self.base.port() {
            let _ = url.set_username(self.base.username());
            let _ = url.set_password(self.base.password());
        } else {
            credentials::from_netrc(url, &self.netrc);
        }
    }

    /// The dependencies of one version, from the best file the page lists for it. `wanted`
    /// names the files the plan would mirror: a small one of those (or one of unknown size)
    /// is downloaded whole and kept for the mirror; any other wheel is read with range
    /// requests where the server serves them (`lazy_wheel`), else downloaded whole and kept.
    pub async fn dependencies(
        &self,
        name: &str,
        version: &pep440_rs::Version,
        files: &[IndexFile],
        wanted: &BTreeSet<String>,
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
            let body = self.metadata_file(f, hash.as_deref()).await?;
            return Ok(metadata::parse(&body));
        }
        // Else a wheel: any wheel of a version carries the same dependencies, as a rule. The
        // smallest one the plan mirrors, else the smallest.
        let smallest = |keep: bool| {
            of_version
                .iter()
                .filter(|(f, wheel)| *wheel && wanted.contains(&f.file_name) == keep)
                .map(|(f, _)| *f)
                .min_by_key(|f| f.size.unwrap_or(u64::MAX))
        };
        if let Some(f) = smallest(true).or_else(|| smallest(false)) {
            let mirrored = wanted.contains(&f.file_name);
            if mirrored && f.size.is_none_or(|s| s <= KEEP_WHOLE) {
                return self.wheel_metadata(f).await;
            }
            match lazy_wheel::metadata(&self.client, &f.url, &f.file_name).await {
                Lazy::Metadata(bytes) => return Ok(metadata::parse(&bytes)),
                Lazy::Whole(response) => {
                    tracing::debug!("{} comes whole (no ranges): keeping it", f.file_name);
                    match self.keep_from(f, Some(response)).await {
                        Ok(path) => return read_wheel_metadata(f, path).await,
                        Err(why) => tracing::debug!("downloading {} again: {why}", f.file_name),
                    }
                }
                Lazy::Unavailable(why) => {
                    tracing::debug!("downloading {} whole: {why}", f.file_name);
                }
            }
            return self.wheel_metadata(f).await;
        }
        // Else an sdist: its PKG-INFO, when it states its dependencies as final (PEP 643).
        if let Some((f, _)) = of_version.iter().find(|(_, wheel)| !*wheel) {
            return self.sdist_metadata(f).await;
        }
        Err(format!(
            "the index lists no wheel or sdist of {name} {version} to read them from"
        ))
    }

    /// The PEP 658 core metadata served beside `f`, at most the metadata limit, checked
    /// against the digest the index gives for it.
    pub async fn metadata_file(
        &self,
        f: &IndexFile,
        hash: Option<&str>,
    ) -> Result<Vec<u8>, String> {
        let url = Url::from_str(&format!("{}.metadata", f.url))
            .map_err(|e| format!("cannot build the metadata URL: {e}"))?;
        let response = download::get(&self.client, &url, None)
            .await
            .map_err(|e| e.to_string())?;
        let body = bounded(response, &url, limits::metadata_bytes()).await?;
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
        Ok(body)
    }

    /// A file this run already downloaded (and verified), by its URL: where it is and its
    /// sha256 (lowercase hex).
    pub fn downloaded(&self, url: &Url) -> Option<(std::path::PathBuf, String)> {
        let map = self.by_url.lock().ok()?;
        let (path, sha) = map.get(url)?;
        Some((path.clone()?, sha.clone()))
    }

    /// The sha256 (lowercase hex) of a file this run downloaded, kept or not.
    pub fn digest(&self, url: &Url) -> Option<String> {
        Some(self.by_url.lock().ok()?.get(url)?.1.clone())
    }

    /// Downloads a file of the index (checked against its sha256) into the run's temporary
    /// directory, where the mirror reuses it rather than downloading it again.
    pub async fn keep(&self, f: &IndexFile) -> Result<std::path::PathBuf, String> {
        self.keep_from(f, None).await
    }

    /// Removes the kept copy of the file at `url` (its bytes are in the store now).
    pub async fn forget(&self, url: &Url) {
        let kept = self
            .by_url
            .lock()
            .ok()
            .and_then(|mut map| map.get_mut(url)?.0.take());
        if let Some(path) = kept {
            let _ = tokio::fs::remove_file(&path).await;
            if let Some(dir) = path.parent() {
                let _ = tokio::fs::remove_dir(dir).await;
            }
        }
    }

    /// [`Upstream::keep`], from a response already coming when one is given (once, no
    /// retry: on failure the caller downloads it again).
    async fn keep_from(
        &self,
        f: &IndexFile,
        response: Option<reqwest::Response>,
    ) -> Result<std::path::PathBuf, String> {
        // One directory per file: two projects' files cannot share a name, but be safe.
        let dir = tempfile::Builder::new()
            .prefix("w.")
            .tempdir_in(self.downloaded.path())
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?
            .keep();
        let path = dir.join(&f.file_name);
        let bar = indicatif::ProgressBar::hidden();
        let expected = f.sha256.as_deref();
        let (digest, _) = match response {
            Some(r) => download::response_to_file(r, &f.url, &path, expected, &bar).await,
            None => download::to_file(&self.client, &f.url, &path, expected, &bar).await,
        }
        .map_err(|e| e.to_string())?;
        if let Ok(mut map) = self.by_url.lock() {
            map.insert(f.url.clone(), (Some(path.clone()), digest.hex().to_owned()));
        }
        Ok(path)
    }

    /// An sdist's dependencies: from the index's PEP 658 file when it serves one, else from
    /// the PKG-INFO inside it; taken only when final (Metadata-Version 2.2+, not `Dynamic`).
    async fn sdist_metadata(&self, f: &IndexFile) -> Result<Dependencies, String> {
        let bytes = match &f.metadata {
            Some(hash) => self.metadata_file(f, hash.as_deref()).await?,
            None => {
                let path = self.keep(f).await?;
                tokio::task::spawn_blocking(move || eco::sdist_pkg_info(&path))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| crate::error::chain(&e))?
            }
        };
        from_sdist(&f.file_name, &bytes)
    }

    async fn wheel_metadata(&self, f: &IndexFile) -> Result<Dependencies, String> {
        let path = self.keep(f).await?;
        read_wheel_metadata(f, path).await
    }
}

/// The dependencies a downloaded wheel's METADATA states.
async fn read_wheel_metadata(
    f: &IndexFile,
    path: std::path::PathBuf,
) -> Result<Dependencies, String> {
    let described = tokio::task::spawn_blocking(move || eco::describe(&path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    described
        .metadata
        .map(|m| metadata::parse(&m))
        .ok_or_else(|| format!("{} has no METADATA", f.file_name))
}

/// An upstream URL as given, for a message: without what its userinfo holds.
fn redact_text(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((before, after)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***@{after}"),
            None => format!("***@{after}"),
        },
        None => url.to_owned(),
    }
}

/// The dependencies an sdist's core metadata states, when they are final (PEP 643).
fn from_sdist(file_name: &str, bytes: &[u8]) -> Result<Dependencies, String> {
    let deps = metadata::parse(bytes);
    match deps.not_static() {
        None => Ok(deps),
        Some(why) => Err(format!(
            "the version has only an sdist, {file_name}, and {why}"
        )),
    }
}

/// Reads a body of at most `limit` bytes.
async fn bounded(response: reqwest::Response, url: &Url, limit: u64) -> Result<Vec<u8>, String> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| format!("cannot read {}: {}", redacted(url), download::causes(e)))?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(format!(
                "{} is larger than {}; refusing it",
                redacted(url),
                limits::show(limit)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

//! The upstream NuGet v3 feed over HTTP: its service index (read once), each id's
//! registration with the pages it links, and the URL of a version's `.nupkg` (the flat
//! container's, as nuget.exe downloads it, else the registration's `packageContent`).
//! Bodies are bounded and gzip-encoded ones (nuget.org's registrations) decoded. Reading the
//! JSON is `registration.rs`. Credentials in the service index URL
//! (`https://USER:TOKEN@host/...`) are sent as basic auth to every URL of the same origin the
//! feed leads to, and never printed.

use std::io::Read;

use reqwest::{StatusCode, Url};
use tokio::sync::OnceCell;

use super::registration::{self, Entry, Resources};
use crate::ecosystem::nuget::NugetVersion;
use crate::mirror::download::{self, DownloadError};
use crate::mirror::unauthorized::{Sent, Unauthorized};

/// The largest service index or registration document read (nuget.org's biggest pages are a
/// few MiB).
const MAX_DOCUMENT: u64 = 64 * 1024 * 1024;
/// Registration pages followed per id.
const MAX_PAGES: usize = 1000;

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a NuGet feed URL")]
pub struct BadFeed(pub String);

impl crate::error::Diagnostic for BadFeed {
    fn hints(&self) -> Vec<String> {
        vec!["give the service index, e.g. https://api.nuget.org/v3/index.json".into()]
    }
}

/// The feed could not be read at all (its service index).
#[derive(Debug, thiserror::Error)]
#[error("cannot read the NuGet feed {feed}: {reason}")]
pub struct Unreadable {
    pub feed: String,
    pub reason: FeedError,
}

impl crate::error::Diagnostic for Unreadable {
    fn kind(&self) -> Option<crate::error::Kind> {
        match &self.reason {
            FeedError::Unauthorized(u) => u.kind(),
            _ => None,
        }
    }

    fn hints(&self) -> Vec<String> {
        match &self.reason {
            FeedError::Unauthorized(u) => u.hints(),
            _ => Vec::new(),
        }
    }
}

/// Why a document of the feed could not be had.
#[derive(Clone, Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(Unauthorized),
    #[error("{0}")]
    Other(String),
}

impl From<String> for FeedError {
    fn from(text: String) -> FeedError {
        FeedError::Other(text)
    }
}

impl FeedError {
    /// One line for a package's failure: the message, and a 401's hint after it.
    fn reason(&self) -> String {
        match self {
            FeedError::Unauthorized(u) => crate::error::reason(u),
            other => other.to_string(),
        }
    }
}

pub struct Feed {
    client: reqwest::Client,
    index: Url,
    /// Where the index URL's credentials came from, for a 401's message (never the values).
    credentials_from: Option<String>,
    resources: OnceCell<Result<Resources, FeedError>>,
}

impl Feed {
    pub fn new(client: reqwest::Client, url: &str) -> Result<Feed, BadFeed> {
        let index = Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| BadFeed(url.to_owned()))?;
        Ok(Feed {
            client,
            index,
            credentials_from: None,
            resources: OnceCell::new(),
        })
    }

    /// Says where the URL's credentials came from (`~/.netrc`, `packageSourceCredentials of
    /// `feed` in FILE`), for the message of a 401.
    pub fn credentials_from(mut self, origin: String) -> Feed {
        self.credentials_from = Some(origin);
        self
    }

    /// Reads the service index, so that a feed that cannot be read is one error before any
    /// package is looked up.
    pub async fn check(&self) -> Result<(), Unreadable> {
        self.resources()
            .await
            .map(|_| ())
            .map_err(|reason| Unreadable {
                feed: self.describe(),
                reason,
            })
    }

    /// The feed for messages: its service index URL without a password.
    pub fn describe(&self) -> String {
        download::redacted(&self.index)
    }

    async fn resources(&self) -> Result<&Resources, FeedError> {
        self.resources
            .get_or_init(|| async {
                let bytes = self.document(&self.index).await?;
                registration::resources(&bytes).map_err(|e| {
                    FeedError::Other(format!("{}: {e}", download::redacted(&self.index)))
                })
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// [`Feed::resources`], or one line saying why not, for a package's failure.
    async fn resources_or_reason(&self) -> Result<&Resources, String> {
        self.resources().await.map_err(|e| e.reason())
    }

    /// Every version of `id` the feed registers; an id it does not know is an error saying so.
    pub async fn registration(&self, id: &str) -> Result<Vec<Entry>, String> {
        let base = &self.resources_or_reason().await?.registrations;
        let url = join(base, &format!("{}/index.json", id.to_ascii_lowercase()))?;
        let bytes = match self.document(&url).await {
            Err(FeedError::NotFound(_)) => {
                return Err(format!("no package of that id on {}", self.describe()));
            }
            other => other.map_err(|e| e.reason())?,
        };
        let mut read = registration::read(&bytes).map_err(|e| format!("{url}: {e}"))?;
        let mut entries = std::mem::take(&mut read.entries);
        let mut pages = read.pages;
        let mut followed = 0;
        while let Some(page) = pages.pop() {
            followed += 1;
            if followed > MAX_PAGES {
                return Err(format!("{url}: more than {MAX_PAGES} registration pages"));
            }
            let page_url = Url::parse(&page).map_err(|e| format!("{url}: page `{page}`: {e}"))?;
            let bytes = self.document(&page_url).await.map_err(|e| e.reason())?;
            let more = registration::read(&bytes).map_err(|e| format!("{page}: {e}"))?;
            entries.extend(more.entries);
            pages.extend(more.pages);
        }
        Ok(entries)
    }

    /// Where the `.nupkg` of `id` `version` is: the flat container (lowercase id, normalized
    /// version), else `content` from the registration.
    pub async fn package_url(
        &self,
        id: &str,
        version: &NugetVersion,
        content: Option<&str>,
    ) -> Result<Url, String> {
        let resources = self.resources_or_reason().await?;
        match (&resources.flat_container, content) {
            (Some(flat), _) => {
                let id = id.to_ascii_lowercase();
                join(flat, &format!("{id}/{version}/{id}.{version}.nupkg"))
                    .map(|u| self.authorized(u))
            }
            (None, Some(content)) => Url::parse(content)
                .map(|u| self.authorized(u))
                .map_err(|e| format!("packageContent `{content}`: {e}")),
            (None, None) => Err(format!(
                "{} offers no flat container (PackageBaseAddress/3.0.0) and the registration \
                 gives no packageContent for {id} {version}",
                self.describe()
            )),
        }
    }

    /// Where the `.snupkg` of `id` `version` is, or `None` when the feed has none: the first
    /// of [`symbols_candidates`] that answers a `HEAD` with success (redirects followed); a
    /// `404` moves on, any other failure is an error.
    pub async fn symbols_url(
        &self,
        id: &str,
        version: &NugetVersion,
    ) -> Result<Option<Url>, String> {
        let resources = self.resources_or_reason().await?;
        for url in symbols_candidates(resources, id, version)? {
            let url = self.authorized(url);
            let response =
                self.client.head(url.clone()).send().await.map_err(|e| {
                    format!("{}: {}", download::redacted(&url), download::causes(e))
                })?;
            match response.status() {
                s if s.is_success() => return Ok(Some(url)),
                StatusCode::NOT_FOUND | StatusCode::GONE => continue,
                StatusCode::UNAUTHORIZED => {
                    return Err(crate::error::reason(&self.unauthorized(&url)));
                }
                s => return Err(format!("{} answered {s}", download::redacted(&url))),
            }
        }
        Ok(None)
    }

    /// A JSON document: bounded, decoded from gzip when the feed sends it so.
    async fn document(&self, url: &Url) -> Result<Vec<u8>, FeedError> {
        let url = &self.authorized(url.clone());
        let response = download::get(&self.client, url, Some("application/json"))
            .await
            .map_err(|e| match e {
                DownloadError::Status { status, .. } if status == StatusCode::NOT_FOUND => {
                    FeedError::NotFound(e.to_string())
                }
                DownloadError::Status { status, .. } if status == StatusCode::UNAUTHORIZED => {
                    FeedError::Unauthorized(self.unauthorized(url))
                }
                other => FeedError::Other(other.to_string()),
            })?;
        let gzip = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
        let too_big = || {
            format!(
                "{}: the document is larger than {} MiB",
                download::redacted(url),
                MAX_DOCUMENT >> 20
            )
        };
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT) {
            return Err(too_big().into());
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{}: {}", download::redacted(url), download::causes(e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MAX_DOCUMENT {
                return Err(too_big().into());
            }
        }
        if !gzip {
            return Ok(body);
        }
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut plain)
            .map_err(|e| format!("{}: bad gzip body: {e}", download::redacted(url)))?;
        if plain.len() as u64 > MAX_DOCUMENT {
            return Err(too_big().into());
        }
        Ok(plain)
    }
}

impl Feed {
    /// What a 401 from `url` means: no credentials were found, or the ones sent were refused.
    fn unauthorized(&self, url: &Url) -> Unauthorized {
        let sent = match (&self.credentials_from, url_has_credentials(&self.index)) {
            (Some(origin), true) => Sent::From(origin.clone()),
            (None, true) => Sent::Unnamed,
            (_, false) => Sent::Nothing,
        };
        Unauthorized {
            upstream: download::redacted(url),
            sent,
            where_to_give: "in NuGet.Config (packageSourceCredentials of the source with that \
                            URL), in opp's config ([mirror.nuget] upstream = \
                            \"https://USER:TOKEN@HOST/...\") or in ~/.netrc",
        }
    }

    /// `url` with the service index's credentials when it has the same origin and none of its
    /// own (reqwest sends a URL's credentials as basic auth).
    fn authorized(&self, mut url: Url) -> Url {
        let has_credentials = url_has_credentials(&self.index);
        let same_origin = url.scheme() == self.index.scheme()
            && url.host_str() == self.index.host_str()
            && url.port_or_known_default() == self.index.port_or_known_default();
        if has_credentials && same_origin && url.username().is_empty() && url.password().is_none() {
            let _ = url.set_username(self.index.username());
            let _ = url.set_password(self.index.password());
        }
        url
    }
}

/// Where a feed may serve the `.snupkg` of `id` `version`, in the order opp asks: the
/// gallery's download beside the symbol push resource (nuget.org:
/// `https://www.nuget.org/api/v2/symbolpackage/{Id}/{Version}`, the id as given), then the flat
/// container's `{id}/{version}/{id}.{version}.snupkg` (lowercase, as its `.nupkg`). The v3
/// protocol names no symbol download resource; nuget.org's flat container serves no `.snupkg`.
pub fn symbols_candidates(
    resources: &Resources,
    id: &str,
    version: &NugetVersion,
) -> Result<Vec<Url>, String> {
    let mut urls = Vec::new();
    if let Some(base) = &resources.symbol_packages {
        urls.push(join(base, &format!("{id}/{version}"))?);
    }
    if let Some(flat) = &resources.flat_container {
        let lower = id.to_ascii_lowercase();
        urls.push(join(
            flat,
            &format!("{lower}/{version}/{lower}.{version}.snupkg"),
        )?);
    }
    Ok(urls)
}

fn url_has_credentials(url: &Url) -> bool {
    crate::mirror::credentials::present(url)
}

/// `base` (ending in `/` or not) joined with a relative path.
fn join(base: &str, path: &str) -> Result<Url, String> {
    let base = if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    };
    Url::parse(&base)
        .and_then(|b| b.join(path))
        .map_err(|e| format!("`{base}` + `{path}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_credentials_go_to_its_own_origin_only() {
        let client = download::client().unwrap();
        let feed = Feed::new(client, "https://me:t0ken@feed.example/v3/index.json").unwrap();
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            feed.authorized(url("https://feed.example/v3/flat/a/index.json"))
                .as_str(),
            "https://me:t0ken@feed.example/v3/flat/a/index.json"
        );
        for other in [
            "https://cdn.example/a.nupkg",
            "http://feed.example/a.nupkg",
            "https://feed.example:8443/a.nupkg",
            "https://you:x@feed.example/a.nupkg",
        ] {
            assert_eq!(feed.authorized(url(other)).as_str(), other);
        }
        assert_eq!(feed.describe(), "https://me:***@feed.example/v3/index.json");
    }

    #[test]
    fn symbols_are_looked_for_beside_the_symbol_push_resource_then_in_the_flat_container() {
        let version = NugetVersion::parse("1.0").unwrap();
        let both = Resources {
            registrations: "https://f.example/reg/".into(),
            flat_container: Some("https://f.example/flat/".into()),
            symbol_packages: Some("https://www.f.example/api/v2/symbolpackage".into()),
        };
        let urls: Vec<String> = symbols_candidates(&both, "Opp.A", &version)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            urls,
            [
                "https://www.f.example/api/v2/symbolpackage/Opp.A/1.0.0",
                "https://f.example/flat/opp.a/1.0.0/opp.a.1.0.0.snupkg",
            ]
        );
        let neither = Resources {
            flat_container: None,
            symbol_packages: None,
            ..both
        };
        assert!(
            symbols_candidates(&neither, "Opp.A", &version)
                .unwrap()
                .is_empty()
        );
    }
}

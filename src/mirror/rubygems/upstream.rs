//! A gem source over HTTP: its `/info/NAME` files (read into [`InfoLine`]s) and the URL of
//! each `/gems/FILE`. Credentials are found as Bundler finds them, then as pip does: the URL's
//! userinfo, else Bundler's setting for the source or its host (`bundler.rs`), else `.netrc`,
//! else the keyring (`crate::mirror::credentials`). They are sent as basic auth to the source
//! and its `/gems/` files and never printed.

use futures_util::StreamExt;
use reqwest::Url;

use super::RubygemsMirrorError;
use super::bundler;
use super::info::{self, InfoLine};
use crate::mirror::credentials::{self, Netrc, Source};
use crate::mirror::download::{self, DownloadError, redacted};
use crate::mirror::unauthorized::{Sent, Unauthorized};

/// The largest `/info` file read into memory (rubygems.org's largest are a few MiB).
const MAX_INFO: usize = 64 * 1024 * 1024;

/// Where a gem source's credentials may be, besides its URL.
#[derive(Debug, Default)]
pub struct Credentials {
    pub bundler: bundler::Settings,
    pub netrc: Netrc,
}

pub struct Upstream {
    client: reqwest::Client,
    /// Ends with `/`; carries the credentials found for it.
    base: Url,
    /// Where they came from, for a 401's message (never the values).
    credentials_from: Option<String>,
}

impl Upstream {
    pub fn new(
        client: reqwest::Client,
        url: &str,
        found: &Credentials,
    ) -> Result<Upstream, RubygemsMirrorError> {
        let with_slash = if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        };
        let mut base = Url::parse(&with_slash)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| RubygemsMirrorError::BadUpstream(redact_text(url)))?;
        let credentials_from = fill(&mut base, found);
        tracing::debug!(
            "credentials for {} from {credentials_from:?}",
            redacted(&base)
        );
        Ok(Upstream {
            client,
            base,
            credentials_from,
        })
    }

    /// The source URL for messages (no password).
    pub fn describe(&self) -> String {
        redacted(&self.base)
    }

    /// The lines of `/info/NAME` (with a warning per line that could not be read), or why
    /// they cannot be had (one line).
    pub async fn info(&self, name: &str) -> Result<(Vec<InfoLine>, Vec<String>), String> {
        let url = self
            .base
            .join(&format!("info/{name}"))
            .map_err(|e| format!("cannot build the /info URL: {e}"))?;
        let response = match download::get(&self.client, &url, None).await {
            Ok(r) => r,
            Err(DownloadError::Status { status, .. }) if status.as_u16() == 404 => {
                return Err(format!(
                    "the gem source {} has no gem `{name}`",
                    self.describe()
                ));
            }
            Err(DownloadError::Status { status, .. }) if status.as_u16() == 401 => {
                return Err(crate::error::reason(&self.unauthorized()));
            }
            Err(e) => return Err(e.to_string()),
        };
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| format!("cannot read {}: {}", redacted(&url), download::causes(e)))?;
            if body.len() + chunk.len() > MAX_INFO {
                return Err(format!(
                    "{} is larger than {} MiB; not a compact index file",
                    redacted(&url),
                    MAX_INFO / 1024 / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let text =
            String::from_utf8(body).map_err(|_| format!("{} is not UTF-8 text", redacted(&url)))?;
        Ok(info::parse(&text))
    }

    /// What a 401 means: no credentials were found, or the ones sent were refused.
    fn unauthorized(&self) -> Unauthorized {
        let sent = match (&self.credentials_from, credentials::present(&self.base)) {
            (Some(origin), true) => Sent::From(origin.clone()),
            (None, true) => Sent::Unnamed,
            (_, false) => Sent::Nothing,
        };
        Unauthorized {
            upstream: format!("the gem source {}", self.describe()),
            sent,
            where_to_give: "as Bundler takes them (`bundle config set HOST USER:PASSWORD`, or \
                            BUNDLE_HOST), in ~/.netrc, or in the URL (https://USER:PASSWORD@HOST/)",
        }
    }

    /// Where the gem file `file_name` is downloaded from.
    pub fn gem_url(&self, file_name: &str) -> Result<Url, String> {
        self.base
            .join(&format!("gems/{file_name}"))
            .map_err(|e| format!("cannot build the URL of {file_name}: {e}"))
    }
}

/// Puts credentials into `url` when it carries none: Bundler's setting, else `.netrc`, else
/// the keyring. Returns where they came from, described.
fn fill(url: &mut Url, found: &Credentials) -> Option<String> {
    if url.password().is_some() {
        return None;
    }
    if let Some(b) = found.bundler.lookup(url) {
        // Already escaped as userinfo, as Bundler takes it.
        let (user, password) = b.userinfo.split_once(':').unwrap_or((&b.userinfo, ""));
        if url.set_username(user).is_ok() && url.set_password(Some(password)).is_ok() {
            return Some(b.origin);
        }
    }
    match credentials::fill(url, &found.netrc)? {
        Source::Netrc(path) => Some(path.display().to_string()),
        Source::Keyring => Some("the keyring".to_owned()),
        Source::Config(origin) => Some(origin),
        Source::Url => None,
    }
}

/// A URL as text for a message, its password hidden.
fn redact_text(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), |u| redacted(&u))
}

//! A gem source over HTTP: its `/info/NAME` files (read into [`InfoLine`]s) and the URL of
//! each `/gems/FILE`. Credentials in the URL's userinfo are sent as basic auth and never
//! printed.

use futures_util::StreamExt;
use reqwest::Url;

use super::RubygemsMirrorError;
use super::info::{self, InfoLine};
use crate::mirror::download::{self, DownloadError, redacted};

/// The largest `/info` file read into memory (rubygems.org's largest are a few MiB).
const MAX_INFO: usize = 64 * 1024 * 1024;

pub struct Upstream {
    client: reqwest::Client,
    /// Ends with `/`.
    base: Url,
}

impl Upstream {
    pub fn new(client: reqwest::Client, url: &str) -> Result<Upstream, RubygemsMirrorError> {
        let with_slash = if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        };
        let base = Url::parse(&with_slash)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| RubygemsMirrorError::BadUpstream(url.to_owned()))?;
        Ok(Upstream { client, base })
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

    /// Where the gem file `file_name` is downloaded from.
    pub fn gem_url(&self, file_name: &str) -> Result<Url, String> {
        self.base
            .join(&format!("gems/{file_name}"))
            .map_err(|e| format!("cannot build the URL of {file_name}: {e}"))
    }
}

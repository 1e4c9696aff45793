//! The module registry protocol, as Terraform and OpenTofu speak it (`internal/registry/
//! client.go`): service discovery at `https://HOST/.well-known/terraform.json` gives the
//! `modules.v1` base URL (relative or absolute); `<base><ns>/<name>/<system>/versions` lists
//! `{"modules": [{"versions": [{"version": ...}]}]}`; `<base><ns>/<name>/<system>/<version>/
//! download` answers 204 with the package's source address in `X-Terraform-Get`, or 200 with
//! it as `{"location": ...}`. The documents are parsed here ([`parse_versions`],
//! [`location_from`], pure); [`ModuleRegistry`] fetches them.

use reqwest::Url;
use serde::Deserialize;

use super::ModuleMirrorError as Error;
use super::source;
use crate::mirror::download;
use crate::mirror::terraform::registry::get_small;

const X_TERRAFORM_GET: &str = "x-terraform-get";
/// The largest `download` answer body read (a JSON object with one URL).
const MAX_LOCATION_BODY: usize = 64 * 1024;

#[derive(Deserialize)]
struct VersionsDoc {
    modules: Vec<ModuleDoc>,
}

#[derive(Deserialize)]
struct ModuleDoc {
    versions: Vec<VersionDoc>,
}

#[derive(Deserialize)]
struct VersionDoc {
    version: String,
}

#[derive(Deserialize)]
struct LocationDoc {
    #[serde(default)]
    location: String,
}

/// The versions a `versions` document lists (a leading `v` dropped, as Terraform reads them).
pub fn parse_versions(body: &[u8]) -> Result<Vec<String>, String> {
    let doc: VersionsDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(doc
        .modules
        .into_iter()
        .flat_map(|m| m.versions)
        .map(|v| v.version.trim_start_matches('v').to_owned())
        .collect())
}

/// The package address a `download` answer gives (status, `X-Terraform-Get`, body), resolved
/// against `download` when relative.
pub fn location_from(
    status: u16,
    header: Option<&str>,
    body: &[u8],
    download: &Url,
) -> Result<String, String> {
    let location = match status {
        200 => {
            let doc: LocationDoc = serde_json::from_slice(body)
                .map_err(|e| format!("the answer is not a location document ({e})"))?;
            doc.location
        }
        204 => header.unwrap_or_default().to_owned(),
        other => return Err(format!("the registry answered {other}, not 200 or 204")),
    };
    if location.is_empty() {
        return Err("the answer names no location (no X-Terraform-Get header)".to_owned());
    }
    source::resolve_location(&location, download)
}

/// The `https://HOST[:PORT]/` an upstream or address host names.
pub fn upstream_base(upstream: &str) -> Result<Url, Error> {
    let bad = || Error::BadUpstream(upstream.to_owned());
    let text = if upstream.contains("://") {
        upstream.to_owned()
    } else {
        format!("https://{upstream}/")
    };
    let url = Url::parse(&text).map_err(|_| bad())?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(bad());
    }
    Ok(url)
}

/// A module registry, found by service discovery.
pub struct ModuleRegistry {
    client: reqwest::Client,
    /// The `modules.v1` base, ending in `/`.
    modules: Url,
}

impl ModuleRegistry {
    /// Service discovery on `base` (`https://HOST[:PORT]/`).
    pub async fn discover(client: &reqwest::Client, base: &Url) -> Result<ModuleRegistry, Error> {
        let well_known = base
            .join("/.well-known/terraform.json")
            .map_err(|_| Error::BadUpstream(base.to_string()))?;
        let body = get_small(client, &well_known).await?;
        let bad = |reason: String| Error::BadDocument {
            url: well_known.to_string(),
            reason,
        };
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        let Some(path) = doc.get("modules.v1").and_then(|v| v.as_str()) else {
            return Err(Error::NoModules(base.to_string()));
        };
        let mut modules = well_known
            .join(path)
            .map_err(|e| bad(format!("`modules.v1` is not a URL ({e})")))?;
        if !modules.path().ends_with('/') {
            let p = format!("{}/", modules.path());
            modules.set_path(&p);
        }
        Ok(ModuleRegistry {
            client: client.clone(),
            modules,
        })
    }

    /// The versions of `ns/name/system`, and the URL that listed them.
    pub async fn versions(&self, address: &str) -> Result<(Url, Vec<String>), Error> {
        let url = self.url(&format!("{address}/versions"))?;
        let body = get_small(&self.client, &url).await?;
        let versions = parse_versions(&body).map_err(|reason| Error::BadDocument {
            url: url.to_string(),
            reason,
        })?;
        Ok((url, versions))
    }

    /// The download URL of one version and the package address it gives (what
    /// `X-Terraform-Get` says, resolved).
    pub async fn location(&self, address: &str, version: &str) -> Result<(Url, String), Error> {
        let url = self.url(&format!("{address}/{version}/download"))?;
        let mut response = download::get(&self.client, &url, Some("application/json")).await?;
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get(X_TERRAFORM_GET)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            Error::Download(download::DownloadError::Http {
                url: download::redacted(&url),
                detail: download::causes(e),
            })
        })? {
            if body.len() + chunk.len() > MAX_LOCATION_BODY {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let location = location_from(status, header.as_deref(), &body, &url).map_err(|reason| {
            Error::BadDocument {
                url: download::redacted(&url),
                reason,
            }
        })?;
        Ok((url, location))
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        self.modules
            .join(path)
            .map_err(|_| Error::BadUpstream(self.modules.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_every_listed_module_lose_a_leading_v() {
        let body = br#"{"modules":[{"source":"acme/vpc/aws","versions":[
            {"version":"1.0.0","submodules":[]},{"version":"v2.1.0"}]}]}"#;
        assert_eq!(parse_versions(body).unwrap(), ["1.0.0", "2.1.0"]);
    }

    #[test]
    fn a_location_comes_from_the_header_on_204_and_the_body_on_200() {
        let download = Url::parse("https://r.example/v1/modules/a/b/c/1.0.0/download").unwrap();
        assert_eq!(
            location_from(204, Some("/files/m.zip"), b"", &download).unwrap(),
            "https://r.example/files/m.zip"
        );
        assert_eq!(
            location_from(
                200,
                None,
                br#"{"location":"git::https://g.example/m?ref=v1"}"#,
                &download
            )
            .unwrap(),
            "git::https://g.example/m?ref=v1"
        );
        assert_eq!(
            location_from(204, None, b"", &download).unwrap_err(),
            "the answer names no location (no X-Terraform-Get header)"
        );
    }

    #[test]
    fn upstreams_are_https_hosts() {
        assert_eq!(
            upstream_base("localhost:8443").unwrap().as_str(),
            "https://localhost:8443/"
        );
        assert!(upstream_base("http://r.example/").is_err());
    }
}

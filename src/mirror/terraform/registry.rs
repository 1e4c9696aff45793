//! The provider registry protocol, as Terraform speaks it (hashicorp/terraform
//! `internal/getproviders/registry_client.go`): service discovery at
//! `https://HOST/.well-known/terraform.json` gives the `providers.v1` base URL (relative or
//! absolute); `<base><namespace>/<type>/versions` lists versions with their protocols and
//! platforms; `<base><namespace>/<type>/<version>/download/<os>/<arch>` gives the zip's
//! name, URL and sha256, the SHA256SUMS and signature URLs, and the signing keys. URLs in
//! answers are resolved against the URL that gave them. The documents are parsed here
//! ([`parse_versions`], [`parse_download`], pure); [`Registry`] fetches them.

use reqwest::Url;
use serde::Deserialize;

use super::TerraformMirrorError as Error;
use super::signature::RegistryKey;
use crate::mirror::download;

/// The largest JSON document read from a registry.
const MAX_DOCUMENT: usize = 8 * 1024 * 1024;

/// One version the registry lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: String,
    pub protocols: Vec<String>,
    /// `(os, arch)`, as listed.
    pub platforms: Vec<(String, String)>,
}

/// The download document of one platform of one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    pub protocols: Vec<String>,
    pub os: String,
    pub arch: String,
    pub filename: String,
    pub download_url: Url,
    pub shasums_url: Url,
    pub shasums_signature_url: Url,
    /// Lowercase hex.
    pub shasum: String,
    pub keys: Vec<RegistryKey>,
}

#[derive(Deserialize)]
struct VersionsDoc {
    versions: Vec<VersionDoc>,
}

#[derive(Deserialize)]
struct VersionDoc {
    version: String,
    #[serde(default)]
    protocols: Vec<String>,
    #[serde(default)]
    platforms: Vec<PlatformDoc>,
}

#[derive(Deserialize)]
struct PlatformDoc {
    os: String,
    arch: String,
}

#[derive(Deserialize)]
struct DownloadDoc {
    #[serde(default)]
    protocols: Vec<String>,
    os: String,
    arch: String,
    filename: String,
    download_url: String,
    shasums_url: String,
    shasums_signature_url: String,
    shasum: String,
    #[serde(default)]
    signing_keys: SigningKeys,
}

#[derive(Deserialize, Default)]
struct SigningKeys {
    #[serde(default)]
    gpg_public_keys: Vec<KeyDoc>,
}

#[derive(Deserialize)]
struct KeyDoc {
    #[serde(default)]
    key_id: String,
    ascii_armor: String,
}

/// A `versions` document.
pub fn parse_versions(body: &[u8]) -> Result<Vec<VersionInfo>, String> {
    let doc: VersionsDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(doc
        .versions
        .into_iter()
        .map(|v| VersionInfo {
            version: v.version.trim_start_matches('v').to_owned(),
            protocols: v.protocols,
            platforms: v.platforms.into_iter().map(|p| (p.os, p.arch)).collect(),
        })
        .collect())
}

/// A download document fetched from `from` (relative URLs are resolved against it).
pub fn parse_download(body: &[u8], from: &Url) -> Result<Download, String> {
    let doc: DownloadDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let url = |s: &str, what: &str| {
        from.join(s)
            .map_err(|e| format!("`{what}` is not a URL ({e})"))
    };
    let shasum = doc.shasum.to_ascii_lowercase();
    if shasum.len() != 64 || !shasum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`shasum` `{}` is not 64 hex digits", doc.shasum));
    }
    if doc.filename.contains('/') || doc.filename.contains('\\') || doc.filename.starts_with('.') {
        return Err(format!("`filename` `{}` is not a file name", doc.filename));
    }
    Ok(Download {
        protocols: doc.protocols,
        download_url: url(&doc.download_url, "download_url")?,
        shasums_url: url(&doc.shasums_url, "shasums_url")?,
        shasums_signature_url: url(&doc.shasums_signature_url, "shasums_signature_url")?,
        os: doc.os,
        arch: doc.arch,
        filename: doc.filename,
        shasum,
        keys: doc
            .signing_keys
            .gpg_public_keys
            .into_iter()
            .map(|k| RegistryKey {
                key_id: k.key_id.to_ascii_uppercase(),
                ascii_armor: k.ascii_armor,
            })
            .collect(),
    })
}

/// The `https://HOST[:PORT]/` an upstream names: a hostname, `host:port`, or an https URL.
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

/// A provider registry, found by service discovery.
pub struct Registry {
    client: reqwest::Client,
    /// The `providers.v1` base, ending in `/`.
    providers: Url,
}

impl Registry {
    /// Service discovery on `base` (`https://HOST[:PORT]/`).
    pub async fn discover(client: &reqwest::Client, base: &Url) -> Result<Registry, Error> {
        let well_known = base
            .join("/.well-known/terraform.json")
            .map_err(|_| Error::BadUpstream(base.to_string()))?;
        let body = get_small(client, &well_known).await?;
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Error::BadDocument {
                url: well_known.to_string(),
                reason: e.to_string(),
            })?;
        let Some(path) = doc.get("providers.v1").and_then(|v| v.as_str()) else {
            return Err(Error::NoProviders(base.to_string()));
        };
        let mut providers = well_known.join(path).map_err(|e| Error::BadDocument {
            url: well_known.to_string(),
            reason: format!("`providers.v1` is not a URL ({e})"),
        })?;
        if !providers.path().ends_with('/') {
            let p = format!("{}/", providers.path());
            providers.set_path(&p);
        }
        Ok(Registry {
            client: client.clone(),
            providers,
        })
    }

    /// The versions of `namespace/type`.
    pub async fn versions(
        &self,
        namespace: &str,
        provider_type: &str,
    ) -> Result<(Url, Vec<VersionInfo>), Error> {
        let url = self.url(&format!("{namespace}/{provider_type}/versions"))?;
        let body = get_small(&self.client, &url).await?;
        let versions = parse_versions(&body).map_err(|reason| Error::BadDocument {
            url: url.to_string(),
            reason,
        })?;
        Ok((url, versions))
    }

    /// The download document of one platform.
    pub async fn download(
        &self,
        namespace: &str,
        provider_type: &str,
        version: &str,
        (os, arch): (&str, &str),
    ) -> Result<Download, Error> {
        let url = self.url(&format!(
            "{namespace}/{provider_type}/{version}/download/{os}/{arch}"
        ))?;
        let body = get_small(&self.client, &url).await?;
        parse_download(&body, &url).map_err(|reason| Error::BadDocument {
            url: url.to_string(),
            reason,
        })
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        self.providers
            .join(path)
            .map_err(|_| Error::BadUpstream(self.providers.to_string()))
    }
}

/// GET `url` (retried as every upstream request is) and read at most [`MAX_DOCUMENT`] bytes.
pub async fn get_small(client: &reqwest::Client, url: &Url) -> Result<Vec<u8>, Error> {
    let response = download::get(client, url, Some("application/json")).await?;
    read_small(url, response).await
}

/// The body of the answer to `url`, at most [`MAX_DOCUMENT`] bytes.
pub async fn read_small(url: &Url, mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Error::Download(download::DownloadError::Http {
            url: download::redacted(url),
            detail: download::causes(e),
        })
    })? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(Error::BadDocument {
                url: url.to_string(),
                reason: format!("larger than {MAX_DOCUMENT} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_document_resolves_relative_urls_and_reads_its_keys() {
        let from =
            Url::parse("https://tf.example/v1/providers/acme/hello/1.2.3/download/linux/amd64")
                .unwrap();
        let body = br#"{"protocols":["5.0"],"os":"linux","arch":"amd64",
            "filename":"terraform-provider-hello_1.2.3_linux_amd64.zip",
            "download_url":"/files/hello.zip","shasums_url":"https://cdn.example/SUMS",
            "shasums_signature_url":"SUMS.sig","shasum":"AB00000000000000000000000000000000000000000000000000000000000000",
            "signing_keys":{"gpg_public_keys":[{"key_id":"34365d9472d7468f","ascii_armor":"K"}]}}"#;
        let d = parse_download(body, &from).unwrap();
        assert_eq!(
            d.download_url.as_str(),
            "https://tf.example/files/hello.zip"
        );
        assert_eq!(d.shasums_url.as_str(), "https://cdn.example/SUMS");
        assert_eq!(
            d.shasums_signature_url.as_str(),
            "https://tf.example/v1/providers/acme/hello/1.2.3/download/linux/SUMS.sig"
        );
        assert!(d.shasum.starts_with("ab00"));
        assert_eq!(d.keys[0].key_id, "34365D9472D7468F");
    }

    #[test]
    fn a_download_document_with_a_path_for_a_file_name_is_refused() {
        let from = Url::parse("https://tf.example/x").unwrap();
        let body = br#"{"os":"linux","arch":"amd64","filename":"../../etc/passwd",
            "download_url":"a","shasums_url":"b","shasums_signature_url":"c",
            "shasum":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
        assert_eq!(
            parse_download(body, &from).unwrap_err(),
            "`filename` `../../etc/passwd` is not a file name"
        );
    }

    #[test]
    fn versions_lose_a_leading_v_and_keep_their_platforms() {
        let body = br#"{"versions":[{"version":"v1.0.0","protocols":["5.0"],
            "platforms":[{"os":"linux","arch":"amd64"}]},{"version":"2.0.0"}]}"#;
        let v = parse_versions(body).unwrap();
        assert_eq!(v[0].version, "1.0.0");
        assert_eq!(v[0].platforms, [("linux".to_owned(), "amd64".to_owned())]);
        assert!(v[1].platforms.is_empty());
    }

    #[test]
    fn upstreams_are_hosts_or_https_urls() {
        assert_eq!(
            upstream_base("localhost:8443").unwrap().as_str(),
            "https://localhost:8443/"
        );
        assert!(upstream_base("http://tf.example/").is_err());
        assert!(upstream_base("").is_err());
    }
}

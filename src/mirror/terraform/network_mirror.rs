//! The provider network mirror protocol, as Terraform and OpenTofu read it
//! (`internal/getproviders/http_mirror_source.go`): relative to the mirror's base URL,
//! `<hostname>/<namespace>/<type>/index.json` lists the versions (`{"versions": {"1.2.3":
//! {}}}`) and `<hostname>/<namespace>/<type>/<version>.json` the archives per platform
//! (`{"archives": {"linux_amd64": {"url": "...", "hashes": ["h1:..."]}}}`), each `url`
//! resolved against the URL of the document that gave it (after redirects). This is what
//! `terraform providers mirror DIR` writes, served over HTTPS. A mirror signs nothing: its
//! `h1:`/`zh:` hashes are all there is to check the zips against. Hashes of other schemes are
//! ignored, as Terraform ignores them. The documents are parsed here ([`parse_index`],
//! [`parse_archives`], pure); [`NetworkMirror`] fetches them.
//!
//! Which `--upstream` is a mirror ([`parse_upstream`]): a URL (`https://...`) is a network
//! mirror and a bare `HOST[:PORT]` a provider registry, the split Terraform's own CLI
//! configuration makes (`network_mirror { url = "https://..." }` against registry hostnames in
//! provider addresses). It needs no request to decide, and a host that serves both keeps
//! both reachable.

use std::collections::BTreeMap;

use reqwest::Url;
use serde::Deserialize;

use super::TerraformMirrorError as Error;
use super::registry::{read_small, upstream_base};
use crate::ecosystem::terraform_provider::{ProviderAddress, parse_platform};
use crate::mirror::download;

/// Where `--upstream` (or the address's host) says to fetch from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// A provider registry: `https://HOST[:PORT]/`, found by service discovery.
    Registry(Url),
    /// A network mirror's base URL, ending in `/`.
    Mirror(Url),
}

/// `HOST[:PORT]` is a registry; an `https://` URL a network mirror (its path made to end in
/// `/`, as Terraform's CLI config asks of `network_mirror` URLs).
pub fn parse_upstream(text: &str) -> Result<Upstream, Error> {
    if !text.contains("://") {
        return upstream_base(text).map(Upstream::Registry);
    }
    let bad = || Error::BadUpstream(text.to_owned());
    let mut url = Url::parse(text).map_err(|_| bad())?;
    if url.scheme() != "https" || url.host_str().is_none() || url.query().is_some() {
        return Err(bad());
    }
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(Upstream::Mirror(url))
}

/// One platform's archive of a version document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archive {
    pub os: String,
    pub arch: String,
    pub url: Url,
    /// The `h1:` hashes, as written.
    pub h1: Vec<String>,
    /// The `zh:` hashes, as lowercase hex.
    pub zh: Vec<String>,
}

impl Archive {
    /// Whether the mirror gave a hash opp can check the zip against.
    pub fn has_hashes(&self) -> bool {
        !self.h1.is_empty() || !self.zh.is_empty()
    }
}

#[derive(Deserialize)]
struct IndexDoc {
    versions: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct VersionDoc {
    archives: BTreeMap<String, ArchiveDoc>,
}

#[derive(Deserialize)]
struct ArchiveDoc {
    url: String,
    #[serde(default)]
    hashes: Vec<String>,
}

/// An `index.json`: the versions, without a leading `v`.
pub fn parse_index(body: &[u8]) -> Result<Vec<String>, String> {
    let doc: IndexDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(doc
        .versions
        .into_keys()
        .map(|v| v.trim_start_matches('v').to_owned())
        .collect())
}

/// A `<version>.json` fetched from `from`: its archives, ordered by platform. Keys that are
/// not `<os>_<arch>` are skipped (Terraform only ever looks up its own platform's key).
pub fn parse_archives(body: &[u8], from: &Url) -> Result<Vec<Archive>, String> {
    let doc: VersionDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut archives = Vec::new();
    for (platform, archive) in doc.archives {
        let Ok((os, arch)) = parse_platform(&platform) else {
            continue;
        };
        let url = from
            .join(&archive.url)
            .map_err(|e| format!("the `url` of {platform} is not a URL ({e})"))?;
        let (mut h1, mut zh) = (Vec::new(), Vec::new());
        for hash in archive.hashes {
            match hash.split_once(':') {
                Some(("h1", _)) => h1.push(hash),
                Some(("zh", hex)) => zh.push(hex.to_ascii_lowercase()),
                Some((scheme, _)) if !scheme.is_empty() => {}
                _ => {
                    return Err(format!(
                        "`{hash}` in the hashes of {platform} is not SCHEME:VALUE"
                    ));
                }
            }
        }
        archives.push(Archive {
            os,
            arch,
            url,
            h1,
            zh,
        });
    }
    Ok(archives)
}

/// A provider network mirror.
pub struct NetworkMirror {
    client: reqwest::Client,
    /// The base URL, ending in `/`.
    pub base: Url,
}

impl NetworkMirror {
    pub fn new(client: &reqwest::Client, base: Url) -> NetworkMirror {
        NetworkMirror {
            client: client.clone(),
            base,
        }
    }

    /// The versions the mirror has of `address`, and the URL of its `index.json`.
    pub async fn versions(&self, address: &ProviderAddress) -> Result<(Url, Vec<String>), Error> {
        let url = self.url(address, "index.json")?;
        let (_, body) = self.get(&url).await?;
        let versions = parse_index(&body).map_err(|reason| Error::BadDocument {
            url: url.to_string(),
            reason,
        })?;
        Ok((url, versions))
    }

    /// The archives of one version.
    pub async fn archives(
        &self,
        address: &ProviderAddress,
        version: &str,
    ) -> Result<Vec<Archive>, Error> {
        let url = self.url(address, &format!("{version}.json"))?;
        let (from, body) = self.get(&url).await?;
        parse_archives(&body, &from).map_err(|reason| Error::BadDocument {
            url: url.to_string(),
            reason,
        })
    }

    /// `<base><hostname>/<namespace>/<type>/<file>`.
    fn url(&self, a: &ProviderAddress, file: &str) -> Result<Url, Error> {
        let path = format!("{}/{}/{}/{file}", a.hostname, a.namespace, a.provider_type);
        // A hostname with a port (`localhost:8443`) would read as a URL scheme on its own.
        self.base
            .join(&format!("./{path}"))
            .map_err(|_| Error::BadUpstream(self.base.to_string()))
    }

    /// GET a small document: the URL that answered (after redirects) and the body.
    async fn get(&self, url: &Url) -> Result<(Url, Vec<u8>), Error> {
        let response = download::get(&self.client, url, Some("application/json")).await?;
        let from = response.url().clone();
        Ok((from, read_small(url, response).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_a_network_mirror_and_a_host_a_registry() {
        assert_eq!(
            parse_upstream("tf.example:8443").unwrap(),
            Upstream::Registry(Url::parse("https://tf.example:8443/").unwrap())
        );
        assert_eq!(
            parse_upstream("https://mirror.example/providers").unwrap(),
            Upstream::Mirror(Url::parse("https://mirror.example/providers/").unwrap())
        );
        assert_eq!(
            parse_upstream("https://mirror.example").unwrap(),
            Upstream::Mirror(Url::parse("https://mirror.example/").unwrap())
        );
        for bad in [
            "http://mirror.example/",
            "https://m.example/?a=b",
            "ftp://x/",
        ] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mirror_urls_keep_a_port_in_the_hostname_as_a_path_segment() {
        let client = download::client().unwrap();
        let m = NetworkMirror::new(&client, Url::parse("https://m.example/tf/").unwrap());
        let a = ProviderAddress::parse("acme/hello").unwrap();
        assert_eq!(
            m.url(&a, "index.json").unwrap().as_str(),
            "https://m.example/tf/registry.terraform.io/acme/hello/index.json"
        );
        let a = ProviderAddress {
            hostname: "localhost:8443".into(),
            namespace: "acme".into(),
            provider_type: "hello".into(),
        };
        assert_eq!(
            m.url(&a, "1.2.3.json").unwrap().as_str(),
            "https://m.example/tf/localhost:8443/acme/hello/1.2.3.json"
        );
    }

    #[test]
    fn an_index_lists_versions() {
        let mut v = parse_index(br#"{"versions":{"1.2.3":{},"v2.0.0":{}}}"#).unwrap();
        v.sort();
        assert_eq!(v, ["1.2.3", "2.0.0"]);
        assert!(parse_index(b"{}").is_err());
    }

    #[test]
    fn archives_resolve_urls_and_sort_hashes_by_scheme() {
        let from =
            Url::parse("https://m.example/registry.terraform.io/acme/hello/1.2.3.json").unwrap();
        let body = br#"{"archives":{
            "linux_amd64":{"url":"terraform-provider-hello_1.2.3_linux_amd64.zip",
                "hashes":["h1:abc=","zh:ABCD","x9:ignored"]},
            "darwin_arm64":{"url":"https://cdn.example/z.zip"},
            "not a platform":{"url":"x"}}}"#;
        let a = parse_archives(body, &from).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].os.as_str(), a[0].arch.as_str()), ("darwin", "arm64"));
        assert_eq!(a[0].url.as_str(), "https://cdn.example/z.zip");
        assert!(!a[0].has_hashes());
        assert_eq!(
            a[1].url.as_str(),
            "https://m.example/registry.terraform.io/acme/hello/\
             terraform-provider-hello_1.2.3_linux_amd64.zip"
        );
        assert_eq!(a[1].h1, ["h1:abc="]);
        assert_eq!(a[1].zh, ["abcd"]);
        let bad = br#"{"archives":{"linux_amd64":{"url":"a","hashes":["nocolon"]}}}"#;
        assert_eq!(
            parse_archives(bad, &from).unwrap_err(),
            "`nocolon` in the hashes of linux_amd64 is not SCHEME:VALUE"
        );
    }
}

//! A project's page on a simple index, read into the files it lists: PEP 691 JSON when the
//! index offers it, PEP 503 HTML otherwise, with the PEP 592 (yanked), PEP 658/714 (core
//! metadata served beside the file) and PEP 700 (size) fields. Also what a file name says
//! (project, version, wheel or sdist). Pure: bytes and the page URL in, values out.
//!
//! The HTML reader is written by hand rather than with an HTML parser crate (html5ever and
//! friends are large): a simple index page is a list of `<a>` elements whose attributes carry
//! everything, and the reader only looks at those.

use std::str::FromStr;

use pep440_rs::Version;
use reqwest::Url;
use serde::Deserialize;

use crate::ecosystem::pypi::normalize_name;

/// The media type of a PEP 691 JSON page.
pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
/// What opp asks an index for: JSON first, HTML otherwise.
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
     application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One file a project page lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    pub file_name: String,
    /// Absolute URL, without the `#sha256=` fragment.
    pub url: Url,
    /// Lowercase hex, when the index gives one.
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    pub yanked: bool,
    /// PEP 658: `Some` when the core metadata is served at `<url>.metadata`, with its sha256
    /// when the index gives one.
    pub metadata: Option<Option<String>>,
    pub size: Option<u64>,
}

/// What a distribution file name says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistName {
    pub version: Version,
    pub wheel: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the JSON project page is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the page lists `{href}`, which is not a valid URL")]
    BadUrl { href: String },
}

/// Reads a project page; `json` says whether it came as PEP 691 JSON.
pub fn parse_page(body: &[u8], json: bool, page_url: &Url) -> Result<Vec<IndexFile>, IndexError> {
    if json {
        parse_json(body, page_url)
    } else {
        parse_html(&String::from_utf8_lossy(body), page_url)
    }
}

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: BoolOrString,
    #[serde(rename = "core-metadata")]
    core_metadata: Option<BoolOrHashes>,
    #[serde(rename = "dist-info-metadata")]
    dist_info_metadata: Option<BoolOrHashes>,
    size: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum BoolOrString {
    #[default]
    Absent,
    Bool(bool),
    /// A yank reason: yanked.
    String(#[allow(dead_code)] String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrHashes {
    Bool(bool),
    Hashes(std::collections::BTreeMap<String, String>),
}

fn parse_json(body: &[u8], page_url: &Url) -> Result<Vec<IndexFile>, IndexError> {
    let page: JsonPage = serde_json::from_slice(body)?;
    page.files
        .into_iter()
        .map(|f| {
            let metadata = match f.core_metadata.or(f.dist_info_metadata) {
                None | Some(BoolOrHashes::Bool(false)) => None,
                Some(BoolOrHashes::Bool(true)) => Some(None),
                Some(BoolOrHashes::Hashes(h)) => Some(h.get("sha256").map(|s| s.to_lowercase())),
            };
            Ok(IndexFile {
                url: join(page_url, &f.url)?,
                sha256: f.hashes.get("sha256").map(|s| s.to_lowercase()),
                requires_python: f.requires_python.filter(|s| !s.trim().is_empty()),
                yanked: match f.yanked {
                    BoolOrString::Absent => false,
                    BoolOrString::Bool(b) => b,
                    BoolOrString::String(_) => true,
                },
                metadata,
                size: f.size,
                file_name: f.filename,
            })
        })
        .collect()
}

/// The absolute URL of `href` on `page_url`, with any fragment removed.
fn join(page_url: &Url, href: &str) -> Result<Url, IndexError> {
    let mut url = page_url.join(href).map_err(|_| IndexError::BadUrl {
        href: href.to_owned(),
    })?;
    url.set_fragment(None);
    Ok(url)
}

fn parse_html(text: &str, page_url: &Url) -> Result<Vec<IndexFile>, IndexError> {
    let mut files = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<a") {
        let start = at + found + 2;
        // `<abbr>` and the like are not anchors.
        if !lower[start..].starts_with(|c: char| c.is_ascii_whitespace()) {
            at = start;
            continue;
        }
        let (attrs, after_tag) = attributes(&text[start..]);
        let tag_end = start + after_tag;
        let text_end = lower[tag_end..]
            .find("</a")
            .map_or(text.len(), |i| tag_end + i);
        let inner = unescape(text[tag_end..text_end].trim());
        at = text_end;
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(href) = get("href") else { continue };
        let fragment_hash = href
            .split_once('#')
            .and_then(|(_, frag)| frag.strip_prefix("sha256="))
            .map(str::to_lowercase);
        let url = join(page_url, href)?;
        let file_name = if inner.is_empty() {
            url.path_segments()
                .and_then(|mut s| s.next_back())
                .unwrap_or_default()
                .to_owned()
        } else {
            inner
        };
        let metadata = get("data-core-metadata")
            .or_else(|| get("data-dist-info-metadata"))
            .and_then(|v| match v {
                "false" => None,
                v => Some(v.strip_prefix("sha256=").map(str::to_lowercase)),
            });
        files.push(IndexFile {
            file_name,
            url,
            sha256: fragment_hash,
            requires_python: get("data-requires-python")
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned),
            yanked: get("data-yanked").is_some(),
            metadata,
            size: None,
        });
    }
    Ok(files)
}

/// The attributes of a tag starting right after its name, unescaped, and the offset just past
/// its `>`.
fn attributes(s: &str) -> (Vec<(String, String)>, usize) {
    let bytes = s.as_bytes();
    let mut attrs = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attrs, i);
        }
        if bytes[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = s[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let value_start = i + 1;
                let end = s[value_start..]
                    .find(quote as char)
                    .map_or(s.len(), |e| value_start + e);
                value = unescape(&s[value_start..end]);
                i = (end + 1).min(s.len());
            } else {
                let value_start = i;
                while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = unescape(&s[value_start..i]);
            }
        }
        if name.is_empty() {
            i += 1;
        } else {
            attrs.push((name, value));
        }
    }
}

/// The character references simple index pages use.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The version and kind a distribution file name of `project` states, or `None` for files
/// opp does not mirror (eggs, `.exe` installers, `.tar.bz2` sdists) and names that do not
/// parse.
pub fn dist_name(project: &str, file_name: &str) -> Option<DistName> {
    let named = |version: &str, wheel: bool| {
        Version::from_str(version)
            .ok()
            .map(|version| DistName { version, wheel })
    };
    if let Some(stem) = file_name.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        return match parts.len() {
            5 | 6 => named(parts[1], true),
            _ => None,
        };
    }
    let stem = file_name
        .strip_suffix(".tar.gz")
        .or_else(|| file_name.strip_suffix(".zip"))?;
    let wanted = normalize_name(project);
    // An sdist may keep `-` in its project part: try every split.
    stem.match_indices('-').find_map(|(i, _)| {
        (normalize_name(&stem[..i]) == wanted)
            .then(|| named(&stem[i + 1..], false))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://example.test/simple/demo/").unwrap()
    }

    #[test]
    fn json_pages_give_hashes_metadata_yanks_and_absolute_urls() {
        let body = br#"{"meta":{"api-version":"1.1"},"name":"demo","files":[
          {"filename":"demo-1.0-py3-none-any.whl","url":"../../files/demo-1.0-py3-none-any.whl",
           "hashes":{"sha256":"AB"},"requires-python":">=3.8","yanked":"broken",
           "core-metadata":{"sha256":"cd"},"size":10},
          {"filename":"demo-1.0.tar.gz","url":"https://files.test/demo-1.0.tar.gz",
           "hashes":{},"yanked":false,"dist-info-metadata":true}]}"#;
        let files = parse_page(body, true, &page()).unwrap();
        assert_eq!(
            files[0].url.as_str(),
            "https://example.test/files/demo-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("ab"));
        assert!(files[0].yanked);
        assert_eq!(files[0].metadata, Some(Some("cd".to_owned())));
        assert_eq!(files[0].size, Some(10));
        assert_eq!(files[1].sha256, None);
        assert!(!files[1].yanked);
        assert_eq!(files[1].metadata, Some(None));
    }

    #[test]
    fn html_pages_give_the_same_from_anchor_attributes() {
        let body = r#"<!DOCTYPE html><html><body><h1>Links for demo</h1>
          <abbr>x</abbr>
          <a href="/files/demo-1.0-py3-none-any.whl#sha256=AbC" data-requires-python="&gt;=3.8"
             data-dist-info-metadata="sha256=ef" data-yanked="">demo-1.0-py3-none-any.whl</a><br/>
          <A HREF='demo-1.0.tar.gz'>demo-1.0.tar.gz</A>
        </body></html>"#;
        let files = parse_page(body.as_bytes(), false, &page()).unwrap();
        assert_eq!(files.len(), 2, "{files:#?}");
        assert_eq!(files[0].file_name, "demo-1.0-py3-none-any.whl");
        assert_eq!(
            files[0].url.as_str(),
            "https://example.test/files/demo-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("abc"));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert!(files[0].yanked);
        assert_eq!(files[0].metadata, Some(Some("ef".to_owned())));
        assert_eq!(
            files[1].url.as_str(),
            "https://example.test/simple/demo/demo-1.0.tar.gz"
        );
        assert!(!files[1].yanked);
        assert_eq!(files[1].metadata, None);
    }

    #[test]
    fn file_names_give_version_and_kind() {
        let v = |s: &str| Version::from_str(s).unwrap();
        let cases = [
            ("demo", "demo-1.0-py3-none-any.whl", Some((v("1.0"), true))),
            (
                "demo",
                "demo-1.0-1-cp311-cp311-win_amd64.whl",
                Some((v("1.0"), true)),
            ),
            (
                "zope-interface",
                "zope.interface-5.0.tar.gz",
                Some((v("5.0"), false)),
            ),
            ("my-pkg", "my-pkg-2.0rc1.zip", Some((v("2.0rc1"), false))),
            ("demo", "demo-1.0.tar.bz2", None),
            ("demo", "demo-1.0-py2.7.egg", None),
            ("demo", "other-1.0.tar.gz", None),
        ];
        let mut failures = Vec::new();
        for (project, file, want) in cases {
            let got = dist_name(project, file).map(|d| (d.version, d.wheel));
            if got != want {
                failures.push(format!("{file}: {got:?} != {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

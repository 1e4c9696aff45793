//! The Simple API pages as text: the root listing and a project page, in PEP 503 HTML and
//! PEP 691 JSON (API version 1.1, PEP 700), built from stored releases. Pure: what the store
//! holds comes in, a body goes out. File URLs are relative to the project page
//! (`/pypi/simple/{project}/` -> `../../files/{project}/{version}/{file}`), so the pages do not
//! depend on the host or scheme the client used.

use serde::Serialize;

use crate::artifact::{CREATED, PYOCI_SHA256, PYPI_METADATA, PYPI_REQUIRES_PYTHON};
use crate::proxy::escape;
use crate::release::{DistFile, Release};

/// The Simple API version the pages claim (PEP 629); 1.1 adds `versions`, `size` and
/// `upload-time` (PEP 700).
const API_VERSION: &str = "1.1";

/// One project page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPage {
    /// The normalized name.
    pub name: String,
    /// Every version, oldest first.
    pub versions: Vec<String>,
    pub files: Vec<PageFile>,
}

/// One file link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFile {
    pub filename: String,
    /// Relative to the project page.
    pub url: String,
    pub sha256: String,
    pub size: u64,
    pub requires_python: Option<String>,
    /// sha256 hex of the stored METADATA, when it is served as `{url}.metadata`.
    pub core_metadata: Option<String>,
    /// `yyyy-mm-ddThh:mm:ss.ffffffZ`
    pub upload_time: Option<String>,
}

impl PageFile {
    /// The link to one stored file of `release`.
    pub fn new(release: &Release, file: &DistFile) -> PageFile {
        let created = file
            .annotations
            .get(CREATED)
            .or(release.created.as_ref())
            .and_then(|c| upload_time(c));
        PageFile {
            filename: file.name.clone(),
            url: format!(
                "../../files/{}/{}/{}",
                path_segment(&release.package),
                path_segment(&release.version),
                path_segment(&file.name)
            ),
            // The layer digest is the file's sha256 (PyOCI's annotation says the same).
            sha256: file
                .annotations
                .get(PYOCI_SHA256)
                .filter(|h| h.eq_ignore_ascii_case(file.digest.hex()))
                .map_or_else(|| file.digest.hex().to_owned(), |h| h.to_ascii_lowercase()),
            size: file.size,
            requires_python: file.annotations.get(PYPI_REQUIRES_PYTHON).cloned(),
            core_metadata: served_metadata(file).map(|m| m.digest.hex().to_owned()),
            upload_time: created,
        }
    }
}

/// The stored METADATA of a file, when there is one to serve as `{file}.metadata`.
pub fn served_metadata(file: &DistFile) -> Option<&crate::release::Descriptor> {
    file.metadata
        .as_ref()
        .filter(|m| m.media_type == PYPI_METADATA)
}

/// An RFC 3339 time as PEP 700 writes it (UTC, microseconds), `None` when it is not a time.
pub fn upload_time(created: &str) -> Option<String> {
    let ts: jiff::Timestamp = created.parse().ok()?;
    Some(format!(
        "{}.{:06}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ts.subsec_microsecond()
    ))
}

pub fn project_html(page: &ProjectPage) -> String {
    let name = escape(&page.name);
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\
         <title>Links for {name}</title></head>\n<body>\n<h1>Links for {name}</h1>\n"
    );
    for f in &page.files {
        out.push_str(&format!(
            "<a href=\"{}#sha256={}\"",
            escape(&f.url),
            escape(&f.sha256)
        ));
        if let Some(r) = &f.requires_python {
            out.push_str(&format!(" data-requires-python=\"{}\"", escape(r)));
        }
        if let Some(m) = &f.core_metadata {
            let m = escape(m);
            out.push_str(&format!(
                " data-dist-info-metadata=\"sha256={m}\" data-core-metadata=\"sha256={m}\""
            ));
        }
        out.push_str(&format!(">{}</a><br/>\n", escape(&f.filename)));
    }
    out.push_str("</body></html>\n");
    out
}

#[derive(Serialize)]
struct Meta {
    #[serde(rename = "api-version")]
    api_version: &'static str,
}

#[derive(Serialize)]
struct JsonProject<'a> {
    meta: Meta,
    name: &'a str,
    versions: &'a [String],
    files: Vec<JsonFile<'a>>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    filename: &'a str,
    url: &'a str,
    hashes: Hashes<'a>,
    #[serde(rename = "requires-python", skip_serializing_if = "Option::is_none")]
    requires_python: Option<&'a str>,
    #[serde(rename = "core-metadata", skip_serializing_if = "Option::is_none")]
    core_metadata: Option<Hashes<'a>>,
    size: u64,
    #[serde(rename = "upload-time", skip_serializing_if = "Option::is_none")]
    upload_time: Option<&'a str>,
}

#[derive(Serialize)]
struct Hashes<'a> {
    sha256: &'a str,
}

#[expect(
    clippy::expect_used,
    reason = "the page is strings and lists only: serializing cannot fail"
)]
pub fn project_json(page: &ProjectPage) -> String {
    let body = JsonProject {
        meta: Meta {
            api_version: API_VERSION,
        },
        name: &page.name,
        versions: &page.versions,
        files: page
            .files
            .iter()
            .map(|f| JsonFile {
                filename: &f.filename,
                url: &f.url,
                hashes: Hashes { sha256: &f.sha256 },
                requires_python: f.requires_python.as_deref(),
                core_metadata: f.core_metadata.as_deref().map(|sha256| Hashes { sha256 }),
                size: f.size,
                upload_time: f.upload_time.as_deref(),
            })
            .collect(),
    };
    serde_json::to_string(&body).expect("a project page serializes")
}

pub fn root_html(names: &[String]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\
         <title>Simple index</title></head>\n<body>\n"
    );
    for n in names {
        out.push_str(&format!(
            "<a href=\"{}/\">{}</a><br/>\n",
            escape(&path_segment(n)),
            escape(n)
        ));
    }
    out.push_str("</body></html>\n");
    out
}

#[expect(
    clippy::expect_used,
    reason = "the list is strings only: serializing cannot fail"
)]
pub fn root_json(names: &[String]) -> String {
    #[derive(Serialize)]
    struct Root<'a> {
        meta: Meta,
        projects: Vec<Project<'a>>,
    }
    #[derive(Serialize)]
    struct Project<'a> {
        name: &'a str,
    }
    serde_json::to_string(&Root {
        meta: Meta {
            api_version: API_VERSION,
        },
        projects: names.iter().map(|name| Project { name }).collect(),
    })
    .expect("a project list serializes")
}

/// Percent-encodes one URL path segment: everything but RFC 3986 unreserved characters (so a
/// `+` of a local version stays a `+` once decoded).
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> ProjectPage {
        ProjectPage {
            name: "my-pkg".into(),
            versions: vec!["1.0".into(), "1.0+local".into()],
            files: vec![PageFile {
                filename: "my_pkg-1.0+local-py3-none-any.whl".into(),
                url: format!(
                    "../../files/my-pkg/{}/{}",
                    path_segment("1.0+local"),
                    path_segment("my_pkg-1.0+local-py3-none-any.whl")
                ),
                sha256: "ab".repeat(32),
                size: 1234,
                requires_python: Some(">=3.9,<4".into()),
                core_metadata: Some("cd".repeat(32)),
                upload_time: upload_time("2025-01-02T03:04:05Z"),
            }],
        }
    }

    #[test]
    fn html_links_carry_hash_requires_python_and_metadata() {
        let html = project_html(&page());
        let sha = "ab".repeat(32);
        let meta = "cd".repeat(32);
        assert!(html.contains(&format!(
            "<a href=\"../../files/my-pkg/1.0%2Blocal/my_pkg-1.0%2Blocal-py3-none-any.whl#sha256={sha}\" \
             data-requires-python=\"&gt;=3.9,&lt;4\" data-dist-info-metadata=\"sha256={meta}\" \
             data-core-metadata=\"sha256={meta}\">my_pkg-1.0+local-py3-none-any.whl</a><br/>"
        )), "{html}");
        assert!(html.contains("<meta name=\"pypi:repository-version\" content=\"1.1\">"));
        assert!(!html.contains("yanked"));
    }

    #[test]
    fn json_has_versions_size_upload_time_and_core_metadata() {
        let json: serde_json::Value = serde_json::from_str(&project_json(&page())).unwrap();
        assert_eq!(json["meta"]["api-version"], "1.1");
        assert_eq!(json["name"], "my-pkg");
        assert_eq!(json["versions"], serde_json::json!(["1.0", "1.0+local"]));
        let f = &json["files"][0];
        assert_eq!(f["size"], 1234);
        assert_eq!(f["hashes"]["sha256"], "ab".repeat(32));
        assert_eq!(f["core-metadata"]["sha256"], "cd".repeat(32));
        assert_eq!(f["requires-python"], ">=3.9,<4");
        assert_eq!(f["upload-time"], "2025-01-02T03:04:05.000000Z");
        assert!(f.get("yanked").is_none());
    }

    #[test]
    fn root_lists_projects_both_ways() {
        let names = vec!["attrs".to_owned(), "six".to_owned()];
        assert!(root_html(&names).contains("<a href=\"six/\">six</a>"));
        let json: serde_json::Value = serde_json::from_str(&root_json(&names)).unwrap();
        assert_eq!(json["projects"][1]["name"], "six");
    }

    #[test]
    fn upload_time_refuses_what_is_not_a_time() {
        assert_eq!(upload_time("yesterday"), None);
        assert_eq!(
            upload_time("2025-01-02T03:04:05.123456789Z").as_deref(),
            Some("2025-01-02T03:04:05.123456Z")
        );
    }
}

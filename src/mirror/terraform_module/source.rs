//! What a module registry's `X-Terraform-Get` names, read as Terraform reads it (with
//! go-getter's rules, as hashicorp/terraform's and opentofu/opentofu's `internal/getmodules`
//! configure them): a value starting with `/`, `./` or `../` is resolved against the download
//! URL (`internal/registry/client.go`, `ModuleLocation`); a forced getter (`git::`) wins,
//! else `github.com/OWNER/REPO` and `git@HOST:PATH` are git, else an `http(s)://` URL is an
//! archive; `//subdir` is split off before the query (`SourceDirSubdir`), and an archive's
//! kind comes from `?archive=` or else the longest matching extension of the URL's path
//! (Terraform's decompressors: zip, tar.gz, tgz, tar.bz2, tar.tbz2, tbz2, tar.xz, txz, and the
//! single-file gz, bz2, xz). Pure: strings in, a [`Source`] or the reason out.

use reqwest::Url;

/// How an archive is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    TarGz,
    TarBz2,
    TarXz,
}

impl ArchiveKind {
    pub fn name(self) -> &'static str {
        match self {
            ArchiveKind::Zip => "zip",
            ArchiveKind::TarGz => "tar.gz",
            ArchiveKind::TarBz2 => "tar.bz2",
            ArchiveKind::TarXz => "tar.xz",
        }
    }
}

/// Where a module package comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// An archive over HTTP(S), without the `archive` parameter.
    Archive { url: Url, kind: ArchiveKind },
    /// A git repository, cloned with the system's git; `reference` is `?ref=`.
    Git {
        repository: String,
        reference: Option<String>,
    },
}

/// A module package source: what to fetch, and the subdirectory of it that is the module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub fetch: Fetch,
    /// `//subdir` (may be a glob such as `*`), without slashes at either end.
    pub subdir: Option<String>,
}

impl Source {
    /// The source for messages: the archive URL or the repository (no password).
    pub fn describe(&self) -> String {
        match &self.fetch {
            Fetch::Archive { url, .. } => crate::mirror::download::redacted(url),
            Fetch::Git {
                repository,
                reference,
            } => {
                let at = reference
                    .as_deref()
                    .map(|r| format!(" at {r}"))
                    .unwrap_or_default();
                format!("git repository {}{at}", redact_text(repository))
            }
        }
    }
}

impl Source {
    /// Where the package came from, to record with it: an archive's URL without its query
    /// (a registry may sign it there) and credentials, or `git::REPOSITORY[?ref=REF]` without
    /// a password.
    pub fn provenance(&self) -> String {
        match &self.fetch {
            Fetch::Archive { url, .. } => {
                let mut u = url.clone();
                u.set_query(None);
                u.set_fragment(None);
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.to_string()
            }
            Fetch::Git {
                repository,
                reference,
            } => {
                let at = reference
                    .as_deref()
                    .map(|r| format!("?ref={r}"))
                    .unwrap_or_default();
                format!("git::{}{at}", redact_text(repository))
            }
        }
    }
}

/// `X-Terraform-Get` (or the body's `location`) as Terraform resolves it: relative values
/// against the download URL that gave them, anything else as given.
pub fn resolve_location(location: &str, download: &Url) -> Result<String, String> {
    let relative = ["/", "./", "../"].iter().any(|p| location.starts_with(p));
    if !relative {
        return Ok(location.to_owned());
    }
    download
        .join(location)
        .map(|u| u.to_string())
        .map_err(|e| format!("`{location}` is not a relative URL ({e})"))
}

/// Reads a go-getter source address (already resolved) as opp can fetch it.
pub fn parse(address: &str) -> Result<Source, String> {
    let (forced, rest) = split_forced(address);
    let (package, subdir) = split_subdir(rest);
    let subdir = check_subdir(&subdir)?;
    let fetch = match forced {
        Some("git") => git(&package)?,
        Some(other @ ("hg" | "s3" | "gcs" | "file")) => {
            return Err(format!(
                "`{address}` is a {other}:: source; opp mirrors archives over https and git:: \
                 sources"
            ));
        }
        Some("http" | "https") | None => detect(address, &package)?,
        Some(other) => return Err(format!("`{address}` names an unknown getter `{other}::`")),
    };
    Ok(Source { fetch, subdir })
}

/// go-getter's `getForcedGetter`: `^([A-Za-z0-9]+)::(.+)$`.
fn split_forced(address: &str) -> (Option<&str>, &str) {
    match address.split_once("::") {
        Some((getter, rest))
            if !getter.is_empty()
                && !rest.is_empty()
                && getter.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (Some(getter), rest)
        }
        _ => (None, address),
    }
}

/// go-getter's `SourceDirSubdir`: the first `//` after the scheme and before the query
/// separates the subdirectory; the query stays with the package.
fn split_subdir(src: &str) -> (String, String) {
    let stop = src.find('?').unwrap_or(src.len());
    let offset = src[..stop].find("://").map_or(0, |i| i + 3);
    let Some(i) = src[offset..stop].find("//") else {
        return (src.to_owned(), String::new());
    };
    let i = i + offset;
    let mut subdir = src[i + 2..].to_owned();
    let mut package = src[..i].to_owned();
    if let Some(q) = subdir.find('?') {
        package.push_str(&subdir[q..]);
        subdir.truncate(q);
    }
    (package, subdir)
}

/// A subdirectory stays inside the package: no `..`, not absolute (after trimming slashes).
fn check_subdir(subdir: &str) -> Result<Option<String>, String> {
    let trimmed = subdir.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.split('/').any(|p| p == "..") || trimmed.contains('\\') {
        return Err(format!(
            "the subdirectory `{subdir}` leaves the module package"
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// go-getter's detectors that need no network: GitHub shorthand, scp-like git, or a URL.
fn detect(address: &str, package: &str) -> Result<Fetch, String> {
    if let Some(path) = package.strip_prefix("github.com/") {
        let (path, query) = path.split_once('?').map_or((path, ""), |(p, q)| (p, q));
        let repo = path.trim_end_matches(".git");
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        return git(&format!("https://github.com/{repo}.git{q}"));
    }
    if package.starts_with("git@") && !package.contains("://") {
        return git(package);
    }
    let url = Url::parse(package).map_err(|_| {
        format!("`{address}` is not a source opp can fetch (an https archive or a git:: source)")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{address}` is a {}:// source; opp mirrors archives over https and git:: sources",
            url.scheme()
        ));
    }
    archive(address, url)
}

/// An HTTP source: its kind from `?archive=`, else from the path's extension.
fn archive(address: &str, mut url: Url) -> Result<Fetch, String> {
    let mut asked = None;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| {
            if k == "archive" {
                asked = Some(v.to_string());
                false
            } else {
                true
            }
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if asked.is_some() {
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    let kind = match asked.as_deref() {
        Some("false" | "0" | "f" | "F" | "FALSE" | "False") => None,
        Some(k) => Some(k.to_owned()),
        None => extension(url.path()).map(str::to_owned),
    };
    let not_module = |what: &str| {
        format!(
            "`{address}` is {what}; opp mirrors modules from archives (zip, tar.gz, tgz, \
             tar.bz2, tar.xz) and git:: sources"
        )
    };
    let kind = match kind.as_deref() {
        Some("zip") => ArchiveKind::Zip,
        Some("tar.gz" | "tgz") => ArchiveKind::TarGz,
        Some("tar.bz2" | "tar.tbz2" | "tbz2") => ArchiveKind::TarBz2,
        Some("tar.xz" | "txz") => ArchiveKind::TarXz,
        Some(single @ ("gz" | "bz2" | "xz")) => {
            return Err(not_module(&format!(
                "a single {single}-compressed file, not a module package"
            )));
        }
        Some(other) => return Err(not_module(&format!("an archive of unknown kind `{other}`"))),
        None => return Err(not_module("not an archive")),
    };
    Ok(Fetch::Archive { url, kind })
}

/// The longest of Terraform's decompressor extensions that `path` ends with.
fn extension(path: &str) -> Option<&'static str> {
    const KNOWN: [&str; 11] = [
        "bz2", "gz", "xz", "zip", "tar.bz2", "tar.tbz2", "tar.gz", "tgz", "tar.xz", "txz", "tbz2",
    ];
    KNOWN
        .iter()
        .filter(|k| path.ends_with(&format!(".{k}")))
        .max_by_key(|k| k.len())
        .copied()
}

/// A git source: `?ref=` is the reference to check out; `depth` and `sshkey` are dropped
/// (opp clones whole, and takes keys from the user's ssh setup).
fn git(package: &str) -> Result<Fetch, String> {
    let (repository, query) = package
        .split_once('?')
        .map_or((package, ""), |(r, q)| (r, q));
    let mut reference = None;
    let mut rest = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "ref" => reference = Some(v.into_owned()),
            "depth" | "sshkey" => {}
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    if let Some(r) = &reference
        && (r.is_empty() || r.starts_with('-') || r.chars().any(|c| c.is_control()))
    {
        return Err(format!("`{r}` is not a git reference"));
    }
    let scheme_ok = ["https://", "http://", "ssh://", "file://", "git://"]
        .iter()
        .any(|s| repository.starts_with(s))
        || (repository.starts_with("git@") && repository.contains(':'));
    if !scheme_ok || repository.starts_with('-') {
        return Err(format!(
            "`{repository}` is not a git repository URL opp clones (https, ssh, git, file or \
             git@HOST:PATH)"
        ));
    }
    let mut repository = repository.to_owned();
    if !rest.is_empty() {
        repository.push('?');
        repository.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(rest)
                .finish(),
        );
    }
    Ok(Fetch::Git {
        repository,
        reference,
    })
}

/// A URL-like text without its password, for messages.
fn redact_text(text: &str) -> String {
    match Url::parse(text) {
        Ok(u) if u.password().is_some() => crate::mirror::download::redacted(&u),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;

//! Lock files mirrored exactly, with no resolution: PEP 751 `pylock.toml` (`pylock.*.toml`) and
//! uv's `uv.lock`. Every wheel and sdist they list from an index becomes a plan file with the
//! URL and sha256 the lock states; with targets, wheels are kept only when some target can
//! install them (and pylock packages only when their marker can hold for some target).
//! Packages from elsewhere (VCS, a directory, the project itself) are skipped and listed. Pure.

use std::collections::BTreeMap;
use std::str::FromStr;

use reqwest::Url;
use serde::Deserialize;

use super::environment::Environment;
use super::resolve::BinaryRules;
use crate::ecosystem::pypi::{is_compatible, normalize_name, normalize_version};
use crate::mirror::PlanFile;

/// What a lock file asks for.
#[derive(Debug, Default)]
pub struct Locked {
    pub files: Vec<PlanFile>,
    /// `name version: why` for packages that are not mirrored.
    pub skipped: Vec<String>,
}

#[derive(Deserialize)]
struct PyLock {
    #[serde(default)]
    packages: Vec<PyLockPackage>,
}

#[derive(Deserialize)]
struct PyLockPackage {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    wheels: Vec<PyLockFile>,
    sdist: Option<PyLockFile>,
}

#[derive(Deserialize)]
struct PyLockFile {
    name: Option<String>,
    url: Option<String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    wheels: Vec<UvFile>,
    sdist: Option<UvFile>,
}

#[derive(Deserialize)]
struct UvFile {
    url: Option<String>,
    hash: Option<String>,
    size: Option<u64>,
}

/// One file a lock lists, before target filtering.
struct Entry {
    package: String,
    version: String,
    url: Option<String>,
    name: Option<String>,
    sha256: Option<String>,
    size: Option<u64>,
    wheel: bool,
}

/// Reads `pylock.toml` or `uv.lock` (told apart by the file name: `uv.lock` is uv's).
pub fn read(
    file_name: &str,
    text: &str,
    environments: &[Environment],
    binary: &BinaryRules,
) -> Result<Locked, String> {
    let mut locked = Locked::default();
    let mut entries = Vec::new();
    if file_name.ends_with("uv.lock") {
        let lock: UvLock = toml::from_str(text).map_err(|e| e.to_string())?;
        for p in lock.package {
            let version = p.version.clone().unwrap_or_default();
            if !p.source.contains_key("registry") {
                let kind = p
                    .source
                    .keys()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "no".into());
                locked.skipped.push(format!(
                    "{} {version}: a {kind} source, not an index",
                    p.name
                ));
                continue;
            }
            let files = p
                .wheels
                .iter()
                .map(|f| (f, true))
                .chain(p.sdist.iter().map(|f| (f, false)));
            for (f, wheel) in files {
                entries.push(Entry {
                    package: p.name.clone(),
                    version: version.clone(),
                    url: f.url.clone(),
                    name: None,
                    sha256: f
                        .hash
                        .as_deref()
                        .and_then(|h| h.strip_prefix("sha256:"))
                        .map(str::to_lowercase),
                    size: f.size,
                    wheel,
                });
            }
        }
    } else {
        let lock: PyLock = toml::from_str(text).map_err(|e| e.to_string())?;
        for p in lock.packages {
            let version = p.version.clone().unwrap_or_default();
            if let Some(m) = &p.marker {
                let marker = pep508_rs::MarkerTree::from_str(m)
                    .map_err(|e| format!("package {}: marker `{m}`: {}", p.name, e.message))?;
                if !environments.iter().any(|e| e.needs(&marker, &[])) {
                    continue;
                }
            }
            if p.wheels.is_empty() && p.sdist.is_none() {
                locked.skipped.push(format!(
                    "{} {version}: no wheels or sdist (a VCS, directory or archive source)",
                    p.name
                ));
                continue;
            }
            let files = p
                .wheels
                .iter()
                .map(|f| (f, true))
                .chain(p.sdist.iter().map(|f| (f, false)));
            for (f, wheel) in files {
                entries.push(Entry {
                    package: p.name.clone(),
                    version: version.clone(),
                    url: f.url.clone(),
                    name: f.name.clone(),
                    sha256: f.hashes.get("sha256").map(|h| h.to_lowercase()),
                    size: f.size,
                    wheel,
                });
            }
        }
    }
    for e in entries {
        let package = normalize_name(&e.package);
        let Some(url) = e.url.as_deref().and_then(|u| Url::parse(u).ok()) else {
            locked.skipped.push(format!(
                "{package} {}: a file without an absolute URL",
                e.version
            ));
            continue;
        };
        let file_name = e.name.clone().unwrap_or_else(|| {
            url.path_segments()
                .and_then(|mut s| s.next_back())
                .map(|s| s.replace("%2B", "+").replace("%2b", "+"))
                .unwrap_or_default()
        });
        let Some(sha256) = e.sha256.clone() else {
            locked
                .skipped
                .push(format!("{file_name}: the lock gives no sha256"));
            continue;
        };
        let for_some_target = environments
            .iter()
            .any(|env| is_compatible(&file_name, &env.tags()));
        if !binary.allows(&package, e.wheel) || (e.wheel && !for_some_target) {
            continue;
        }
        locked.files.push(PlanFile {
            version: normalize_version(&e.version).unwrap_or(e.version.clone()),
            package,
            file_name,
            url,
            sha256: Some(sha256.clone()),
            allowed: vec![sha256],
            size: e.size,
            local: None,
        });
    }
    Ok(locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "82fee1fc78add43492d3a1898bfa6d8a904cc97d8427f683ed8e798d07761aa0";

    fn names(l: &Locked) -> Vec<&str> {
        l.files.iter().map(|f| f.file_name.as_str()).collect()
    }

    #[test]
    fn uv_lock_lists_registry_files_and_skips_the_project_itself() {
        let text = format!(
            r#"version = 1
[[package]]
name = "app"
version = "0.1.0"
source = {{ virtual = "." }}

[[package]]
name = "idna"
version = "3.7"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.test/idna-3.7.tar.gz", hash = "sha256:{H}", size = 3 }}
wheels = [
    {{ url = "https://files.test/idna-3.7-py3-none-any.whl", hash = "sha256:{H}", size = 2 }},
    {{ url = "https://files.test/idna-3.7-cp312-cp312-win_amd64.whl", hash = "sha256:{H}" }},
]
"#
        );
        let all = read(
            "uv.lock",
            &text,
            &[Environment::default()],
            &BinaryRules::default(),
        )
        .unwrap();
        assert_eq!(
            names(&all),
            [
                "idna-3.7-py3-none-any.whl",
                "idna-3.7-cp312-cp312-win_amd64.whl",
                "idna-3.7.tar.gz"
            ]
        );
        assert_eq!(all.files[0].allowed, [H]);
        assert_eq!(all.skipped, ["app 0.1.0: a virtual source, not an index"]);
        let linux = Environment::all(&[(3, 12)], &["manylinux_2_17_x86_64".into()]);
        let some = read("uv.lock", &text, &linux, &BinaryRules::default()).unwrap();
        assert_eq!(
            names(&some),
            ["idna-3.7-py3-none-any.whl", "idna-3.7.tar.gz"]
        );
    }

    #[test]
    fn pylock_lists_wheels_and_sdists_and_honours_markers() {
        let text = format!(
            r#"lock-version = "1.0"
created-by = "test"
[[packages]]
name = "idna"
version = "3.7"
wheels = [{{ name = "idna-3.7-py3-none-any.whl", url = "https://files.test/w.whl", hashes = {{ sha256 = "{H}" }} }}]
sdist = {{ url = "https://files.test/idna-3.7.tar.gz", hashes = {{ sha256 = "{H}" }} }}

[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == 'win32'"
wheels = [{{ url = "https://files.test/colorama-0.4.6-py2.py3-none-any.whl", hashes = {{ sha256 = "{H}" }} }}]

[[packages]]
name = "mine"
vcs = {{ type = "git", url = "https://example.test/mine.git", commit-id = "abc" }}
"#
        );
        let linux = Environment::all(&[], &["manylinux_2_17_x86_64".into()]);
        let l = read("pylock.toml", &text, &linux, &BinaryRules::default()).unwrap();
        assert_eq!(names(&l), ["idna-3.7-py3-none-any.whl", "idna-3.7.tar.gz"]);
        assert_eq!(l.skipped.len(), 1, "{:?}", l.skipped);
        let win = Environment::all(&[], &["win_amd64".into()]);
        let w = read("pylock.toml", &text, &win, &BinaryRules::default()).unwrap();
        assert!(names(&w).contains(&"colorama-0.4.6-py2.py3-none-any.whl"));
    }
}

//! Reading a NuGet v3 feed's JSON (docs.microsoft.com "NuGet API"): the service index (which
//! resources serve registrations and package files) and registration pages (each version's
//! listing, dependency groups, package URL and, where the feed states it, `packageHash`).
//! Pure: bytes in, [`Entry`] values out; fetching them is `feed.rs`.

use serde::Deserialize;

use super::framework::Framework;
use crate::ecosystem::nuget::{NugetVersion, VersionRange};

/// One version of a package as its registration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The id as the feed spells it.
    pub id: String,
    pub version: NugetVersion,
    pub listed: bool,
    pub groups: Vec<Group>,
    /// `packageContent`: where the `.nupkg` is, if stated.
    pub content: Option<String>,
    /// `packageHash` when `packageHashAlgorithm` is SHA512 (base64).
    pub sha512: Option<String>,
}

/// One dependency group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub framework: Framework,
    pub dependencies: Vec<Dependency>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub id: String,
    /// `None`: any version (no `range`, or NuGet's `(, )`).
    pub range: Option<VersionRange>,
}

/// The resources of a service index opp uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resources {
    /// `RegistrationsBaseUrl`, the newest variant the feed offers (3.6.0 lists SemVer 2.0.0
    /// versions too).
    pub registrations: String,
    /// `PackageBaseAddress/3.0.0`, the flat container, if offered.
    pub flat_container: Option<String>,
    /// `SymbolPackagePublish/4.9.0`, where `.snupkg` files are pushed; nuget.org's gallery
    /// also serves them at `{@id}/{Id}/{Version}` (its "Download symbols" link).
    pub symbol_packages: Option<String>,
}

#[derive(Deserialize)]
struct ServiceIndex {
    #[serde(default)]
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@type")]
    kind: serde_json::Value,
}

/// The resources of a service index.
pub fn resources(bytes: &[u8]) -> Result<Resources, String> {
    let index: ServiceIndex = serde_json::from_slice(bytes)
        .map_err(|e| format!("it is not a NuGet v3 service index: {e}"))?;
    let types = |r: &Resource| -> Vec<String> {
        match &r.kind {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let find = |wanted: &str| {
        index
            .resources
            .iter()
            .find(|r| types(r).iter().any(|t| t == wanted))
            .map(|r| r.id.clone())
    };
    let registrations = [
        "RegistrationsBaseUrl/3.6.0",
        "RegistrationsBaseUrl/3.4.0",
        "RegistrationsBaseUrl/3.0.0-rc",
        "RegistrationsBaseUrl/3.0.0-beta",
        "RegistrationsBaseUrl",
    ]
    .iter()
    .find_map(|t| find(t))
    .ok_or("the service index lists no RegistrationsBaseUrl resource")?;
    Ok(Resources {
        registrations,
        flat_container: find("PackageBaseAddress/3.0.0"),
        symbol_packages: find("SymbolPackagePublish/4.9.0"),
    })
}

/// A registration index or page: its pages (index) or leaves (page).
#[derive(Deserialize)]
struct Page {
    #[serde(rename = "@id", default)]
    id: String,
    /// Inlined leaves (a page) or pages (an index).
    items: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct Leaf {
    #[serde(rename = "catalogEntry")]
    catalog_entry: CatalogEntry,
    #[serde(rename = "packageContent")]
    package_content: Option<String>,
}

#[derive(Deserialize)]
struct CatalogEntry {
    id: String,
    version: String,
    listed: Option<bool>,
    #[serde(rename = "dependencyGroups", default)]
    dependency_groups: Vec<RawGroup>,
    #[serde(rename = "packageContent")]
    package_content: Option<String>,
    #[serde(rename = "packageHash")]
    package_hash: Option<String>,
    #[serde(rename = "packageHashAlgorithm")]
    package_hash_algorithm: Option<String>,
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(rename = "targetFramework")]
    target_framework: Option<String>,
    #[serde(default)]
    dependencies: Option<Vec<RawDependency>>,
}

#[derive(Deserialize)]
struct RawDependency {
    id: String,
    range: Option<String>,
}

/// What one registration document holds: entries inlined in it, and the URLs of pages that
/// are not (to fetch and read with [`read`] again).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Read {
    pub entries: Vec<Entry>,
    pub pages: Vec<String>,
}

/// Reads a registration index or page.
pub fn read(bytes: &[u8]) -> Result<Read, String> {
    let doc: Page = serde_json::from_slice(bytes)
        .map_err(|e| format!("it is not a NuGet registration: {e}"))?;
    let mut out = Read::default();
    for item in doc.items.unwrap_or_default() {
        if item.get("catalogEntry").is_some() {
            out.entries.push(entry(item)?);
            continue;
        }
        let page: Page = serde_json::from_value(item)
            .map_err(|e| format!("a registration page is malformed: {e}"))?;
        match page.items {
            Some(leaves) => {
                for leaf in leaves {
                    out.entries.push(entry(leaf)?);
                }
            }
            None if !page.id.is_empty() => out.pages.push(page.id),
            None => return Err("a registration page has neither items nor an @id".into()),
        }
    }
    Ok(out)
}

fn entry(value: serde_json::Value) -> Result<Entry, String> {
    let leaf: Leaf = serde_json::from_value(value)
        .map_err(|e| format!("a registration leaf is malformed: {e}"))?;
    let c = leaf.catalog_entry;
    let version = NugetVersion::parse(&c.version).ok_or_else(|| {
        format!(
            "{} has the version `{}`, not a NuGet version",
            c.id, c.version
        )
    })?;
    let mut groups = Vec::new();
    for g in c.dependency_groups {
        let mut dependencies = Vec::new();
        for d in g.dependencies.unwrap_or_default() {
            let range = match d.range.as_deref().map(str::trim) {
                None | Some("") | Some("(, )") | Some("(,)") => None,
                Some(r) => Some(
                    VersionRange::parse(r)
                        .map_err(|e| format!("{} {}: dependency {}: {e}", c.id, c.version, d.id))?,
                ),
            };
            dependencies.push(Dependency { id: d.id, range });
        }
        groups.push(Group {
            framework: Framework::parse(g.target_framework.as_deref().unwrap_or("")),
            dependencies,
        });
    }
    let sha512 = match (c.package_hash, c.package_hash_algorithm.as_deref()) {
        (Some(h), Some(a)) if a.eq_ignore_ascii_case("sha512") => Some(h),
        _ => None,
    };
    Ok(Entry {
        id: c.id,
        version,
        listed: c.listed.unwrap_or(true),
        groups,
        content: leaf.package_content.or(c.package_content),
        sha512,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_registrations_resource_the_flat_container_and_symbols_are_found() {
        let index = br#"{"version":"3.0.0","resources":[
            {"@id":"https://f/reg/","@type":"RegistrationsBaseUrl"},
            {"@id":"https://f/reg-gz-semver2/","@type":"RegistrationsBaseUrl/3.6.0"},
            {"@id":"https://f/flat/","@type":["PackageBaseAddress/3.0.0"]},
            {"@id":"https://f/api/v2/symbolpackage","@type":"SymbolPackagePublish/4.9.0"}]}"#;
        assert_eq!(
            resources(index).unwrap(),
            Resources {
                registrations: "https://f/reg-gz-semver2/".into(),
                flat_container: Some("https://f/flat/".into()),
                symbol_packages: Some("https://f/api/v2/symbolpackage".into()),
            }
        );
        let err = resources(br#"{"resources":[]}"#).unwrap_err();
        assert_eq!(
            err,
            "the service index lists no RegistrationsBaseUrl resource"
        );
    }

    #[test]
    fn a_registration_gives_inlined_entries_and_the_pages_to_fetch() {
        let doc = br#"{"items":[
          {"@id":"https://f/reg/a/page/1.json","lower":"0.1.0","upper":"0.9.0"},
          {"@id":"https://f/reg/a/page/2.json","items":[{"catalogEntry":{
             "id":"Opp.A","version":"1.0.0-Beta","listed":false,
             "dependencyGroups":[{"targetFramework":".NETStandard2.0","dependencies":[
                {"id":"Opp.B","range":"[1.0.0, )"},{"id":"Opp.C","range":"(, )"}]},
                {"dependencies":null}],
             "packageHash":"abc==","packageHashAlgorithm":"SHA512"},
             "packageContent":"https://f/flat/opp.a/1.0.0-beta/opp.a.1.0.0-beta.nupkg"}]}]}"#;
        let read = read(doc).unwrap();
        assert_eq!(read.pages, ["https://f/reg/a/page/1.json"]);
        let [e] = &read.entries[..] else {
            panic!("{:?}", read.entries)
        };
        assert_eq!(
            (e.id.as_str(), e.version.to_string()),
            ("Opp.A", "1.0.0-beta".into())
        );
        assert!(!e.listed);
        assert_eq!(e.sha512.as_deref(), Some("abc=="));
        assert_eq!(e.groups.len(), 2);
        assert_eq!(e.groups[0].framework.to_string(), "netstandard2.0");
        assert_eq!(
            e.groups[0].dependencies[0].range,
            VersionRange::parse("1.0.0").ok()
        );
        assert_eq!(e.groups[0].dependencies[1].range, None);
        assert_eq!(e.groups[1].framework, Framework::Any);
        assert!(e.groups[1].dependencies.is_empty());
    }

    #[test]
    fn a_bad_version_or_range_names_the_package() {
        let bad_version = br#"{"items":[{"catalogEntry":{"id":"X","version":"one"}}]}"#;
        assert_eq!(
            read(bad_version).unwrap_err(),
            "X has the version `one`, not a NuGet version"
        );
        let bad_range = br#"{"items":[{"catalogEntry":{"id":"X","version":"1.0",
            "dependencyGroups":[{"dependencies":[{"id":"Y","range":"[2.0,1.0]"}]}]}}]}"#;
        let err = read(bad_range).unwrap_err();
        assert!(err.starts_with("X 1.0: dependency Y: `[2.0,1.0]`"), "{err}");
    }
}

//! Registrations (`RegistrationsBaseUrl`) under `/nuget/v3/registration/`: `{id}/index.json`
//! is one page with every version inlined as a leaf (catalog entry with the nuspec's
//! metadata and dependency groups, and the flat-container `packageContent` URL), which is all
//! nuget.exe `install` and `dotnet add package` read; `{id}/{version}.json` is the trivial
//! leaf document (docs/protocols.md §4.3). The metadata comes from the stored nuspecs.

use axum::Json;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::{Failure, NugetApiError};
use super::read::{self, Described, lower_id};
use super::service;
use crate::ecosystem::nuget::Nuspec;
use crate::mapper::Mapper;
use crate::proxy::SharedState;
use crate::proxy::not_stored::Notices;
use crate::release::Ecosystem;

/// `GET {id}/index.json` or `GET {id}/{version}.json`.
pub async fn registration(
    State(state): State<SharedState>,
    Extension(notices): Extension<Arc<Notices>>,
    Path((id, leaf)): Path<(String, String)>,
) -> Result<Response, NugetApiError> {
    let missing = || Failure::NotFound(format!("no package {id} in the store"));
    let lower = lower_id(&id).ok_or_else(missing)?;
    let base = &state.base_url;
    if leaf == "index.json" {
        let versions = read::versions(&state, &lower).await?;
        let described = read::describe_all(&state, &lower, &versions).await?;
        if described.is_empty() {
            let reason = notices.not_stored(&state, Ecosystem::Nuget, &id);
            return Err(Failure::NotFound(reason).into());
        }
        return Ok(Json(index(base, &lower, &described)).into_response());
    }
    let version = leaf
        .strip_suffix(".json")
        .and_then(|v| Mapper::normalize_version(Ecosystem::Nuget, v).ok())
        .ok_or_else(|| Failure::NotFound(format!("no {leaf} for {id}")))?;
    if read::stored(&state, &lower, &version).await?.is_none() {
        return Err(Failure::NotFound(format!("no version {version} of {id} in the store")).into());
    }
    Ok(Json(json!({
        "@id": service::registration_leaf(base, &lower, &version),
        "listed": true,
        "packageContent": service::package_content(base, &lower, &version),
        "registration": service::registration_index(base, &lower),
    }))
    .into_response())
}

/// The registration index: one page holding every version (oldest first) inline.
pub fn index(base: &str, lower: &str, versions: &[Described]) -> Value {
    let index_url = service::registration_index(base, lower);
    let leaves: Vec<Value> = versions
        .iter()
        .map(|d| {
            let leaf = service::registration_leaf(base, lower, &d.version);
            json!({
                "@id": leaf,
                "@type": "Package",
                "packageContent": service::package_content(base, lower, &d.version),
                "registration": index_url,
                "catalogEntry": catalog_entry(base, lower, d),
            })
        })
        .collect();
    let lower_version = versions.first().map_or("", |d| d.version.as_str());
    let upper_version = versions.last().map_or("", |d| d.version.as_str());
    json!({
        "@id": index_url,
        "count": 1,
        "items": [{
            "@id": format!("{index_url}#page/{lower_version}/{upper_version}"),
            "@type": "catalog:CatalogPage",
            "count": leaves.len(),
            "lower": lower_version,
            "upper": upper_version,
            "parent": index_url,
            "items": leaves,
        }],
    })
}

/// A version's catalog entry: what the nuspec says, in the registration's JSON names.
pub fn catalog_entry(base: &str, lower: &str, d: &Described) -> Value {
    let n: &Nuspec = &d.nuspec;
    let mut entry = Map::new();
    entry.insert(
        "@id".into(),
        service::registration_leaf(base, lower, &d.version).into(),
    );
    entry.insert("@type".into(), "PackageDetails".into());
    entry.insert("id".into(), id_of(n, lower).into());
    entry.insert("version".into(), d.version.clone().into());
    entry.insert("listed".into(), true.into());
    entry.insert(
        "packageContent".into(),
        service::package_content(base, lower, &d.version).into(),
    );
    let optional = [
        ("title", &n.title),
        ("description", &n.description),
        ("summary", &n.summary),
        ("authors", &n.authors),
        ("projectUrl", &n.project_url),
        ("iconUrl", &n.icon_url),
        ("licenseUrl", &n.license_url),
        ("language", &n.language),
        ("published", &d.created),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            entry.insert(key.into(), v.clone().into());
        }
    }
    if n.license_type.as_deref() == Some("expression")
        && let Some(expression) = &n.license
    {
        entry.insert("licenseExpression".into(), expression.clone().into());
    }
    entry.insert("tags".into(), tags(n).into());
    entry.insert(
        "requireLicenseAcceptance".into(),
        n.require_license_acceptance.into(),
    );
    entry.insert("dependencyGroups".into(), dependency_groups(base, n).into());
    Value::Object(entry)
}

/// The id as the nuspec spells it (the lowercased id if the nuspec has none).
pub fn id_of(n: &Nuspec, lower: &str) -> String {
    if n.id.is_empty() {
        lower.to_owned()
    } else {
        n.id.clone()
    }
}

/// The nuspec's tags (space- or comma-separated) as a list.
pub fn tags(n: &Nuspec) -> Vec<String> {
    n.tags
        .as_deref()
        .unwrap_or("")
        .split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `dependencyGroups`: a group per target framework; a dependency without a version range
/// has no `range` (any version).
fn dependency_groups(base: &str, n: &Nuspec) -> Vec<Value> {
    n.dependency_groups
        .iter()
        .map(|g| {
            let dependencies: Vec<Value> = g
                .dependencies
                .iter()
                .map(|d| {
                    let mut dep = Map::new();
                    dep.insert("@type".into(), "PackageDependency".into());
                    dep.insert("id".into(), d.id.clone().into());
                    if let Some(range) = &d.range {
                        dep.insert("range".into(), range.clone().into());
                    }
                    if let Some(lower) = lower_id(&d.id) {
                        dep.insert(
                            "registration".into(),
                            service::registration_index(base, &lower).into(),
                        );
                    }
                    Value::Object(dep)
                })
                .collect();
            let mut group = Map::new();
            group.insert("@type".into(), "PackageDependencyGroup".into());
            if let Some(tfm) = &g.target_framework {
                group.insert("targetFramework".into(), tfm.clone().into());
            }
            group.insert("dependencies".into(), dependencies.into());
            Value::Object(group)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::nuget::{Dependency, DependencyGroup};

    fn described(version: &str, deps: Vec<DependencyGroup>) -> Described {
        Described {
            version: version.into(),
            nuspec: Nuspec {
                id: "Opp.Demo".into(),
                version: version.into(),
                description: Some("A demo".into()),
                authors: Some("opp".into()),
                tags: Some("demo, opp test".into()),
                dependency_groups: deps,
                ..Nuspec::default()
            },
            created: None,
        }
    }

    #[test]
    fn the_index_inlines_every_version_with_its_dependencies() {
        let deps = vec![
            DependencyGroup {
                target_framework: Some("net8.0".into()),
                dependencies: vec![Dependency {
                    id: "Opp.Lib".into(),
                    range: Some("[2.0.0, )".into()),
                }],
            },
            DependencyGroup {
                target_framework: None,
                dependencies: vec![Dependency {
                    id: "Any.Version".into(),
                    range: None,
                }],
            },
        ];
        let doc = index(
            "https://h:1",
            "opp.demo",
            &[described("1.0.0", vec![]), described("1.1.0-beta", deps)],
        );
        assert_eq!(doc["count"], 1);
        let page = &doc["items"][0];
        assert_eq!(page["count"], 2);
        assert_eq!(page["lower"], "1.0.0");
        assert_eq!(page["upper"], "1.1.0-beta");
        assert_eq!(
            page["parent"],
            "https://h:1/nuget/v3/registration/opp.demo/index.json"
        );
        let leaf = &page["items"][1];
        assert_eq!(
            leaf["packageContent"],
            "https://h:1/nuget/v3/flatcontainer/opp.demo/1.1.0-beta/opp.demo.1.1.0-beta.nupkg"
        );
        let entry = &leaf["catalogEntry"];
        assert_eq!(entry["id"], "Opp.Demo");
        assert_eq!(entry["version"], "1.1.0-beta");
        assert_eq!(entry["tags"], json!(["demo", "opp", "test"]));
        let groups = entry["dependencyGroups"].as_array().expect("groups");
        assert_eq!(groups[0]["targetFramework"], "net8.0");
        assert_eq!(groups[0]["dependencies"][0]["id"], "Opp.Lib");
        assert_eq!(groups[0]["dependencies"][0]["range"], "[2.0.0, )");
        assert!(groups[1].get("targetFramework").is_none());
        assert!(groups[1]["dependencies"][0].get("range").is_none());
        assert_eq!(
            page["items"][0]["catalogEntry"]["dependencyGroups"],
            json!([])
        );
    }
}

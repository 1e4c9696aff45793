//! `GET /nuget/v3/index.json`: the NuGet v3 service index, and the URLs of every resource it
//! names. Every `@id` is absolute (clients skip relative ones), and each resource is listed
//! under every type string some client version looks for (docs/protocols.md §4.1): NuGet 5.8
//! knows only `RegistrationsBaseUrl/3.4.0` and `/3.0.0-beta`, newer clients prefer `/3.6.0`;
//! search is found only as `SearchQueryService/3.4.0` or `/3.0.0-beta`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::proxy::SharedState;

/// The path every route of the NuGet frontend starts with.
pub const PREFIX: &str = "/nuget";

/// The service index, the URL clients are given as their source.
pub fn index_url(base_url: &str) -> String {
    format!("{base_url}{PREFIX}/v3/index.json")
}

/// `PackageBaseAddress/3.0.0`: the flat container, ending in `/`.
pub fn flat_url(base_url: &str) -> String {
    format!("{base_url}{PREFIX}/v3/flatcontainer/")
}

/// `RegistrationsBaseUrl`: the registrations, ending in `/`.
pub fn registration_url(base_url: &str) -> String {
    format!("{base_url}{PREFIX}/v3/registration/")
}

/// `SearchQueryService`.
pub fn search_url(base_url: &str) -> String {
    format!("{base_url}{PREFIX}/v3/query")
}

/// `PackagePublish/2.0.0`: clients `PUT` to it with a `/` appended.
pub fn publish_url(base_url: &str) -> String {
    format!("{base_url}{PREFIX}/api/v2/package")
}

/// The registration index of one (lowercased) id.
pub fn registration_index(base_url: &str, lower_id: &str) -> String {
    format!("{}{lower_id}/index.json", registration_url(base_url))
}

/// The registration leaf of one version.
pub fn registration_leaf(base_url: &str, lower_id: &str, version: &str) -> String {
    format!("{}{lower_id}/{version}.json", registration_url(base_url))
}

/// The flat-container URL of one version's `.nupkg`.
pub fn package_content(base_url: &str, lower_id: &str, version: &str) -> String {
    format!(
        "{}{lower_id}/{version}/{lower_id}.{version}.nupkg",
        flat_url(base_url)
    )
}

/// The service index document for a proxy at `base_url`.
pub fn document(base_url: &str) -> Value {
    let mut resources = Vec::new();
    let mut add = |id: String, types: &[&str], comment: &str| {
        for t in types {
            resources.push(json!({"@id": id, "@type": t, "comment": comment}));
        }
    };
    add(
        flat_url(base_url),
        &["PackageBaseAddress/3.0.0"],
        "Package contents (.nupkg, .nuspec) and version lists",
    );
    add(
        registration_url(base_url),
        &[
            "RegistrationsBaseUrl/3.6.0",
            "RegistrationsBaseUrl/3.4.0",
            "RegistrationsBaseUrl/3.0.0-rc",
            "RegistrationsBaseUrl/3.0.0-beta",
            "RegistrationsBaseUrl",
        ],
        "Package metadata, SemVer 2.0.0 included",
    );
    add(
        search_url(base_url),
        &[
            "SearchQueryService/3.5.0",
            "SearchQueryService/3.4.0",
            "SearchQueryService/3.0.0-rc",
            "SearchQueryService/3.0.0-beta",
            "SearchQueryService",
        ],
        "Search by id",
    );
    add(
        publish_url(base_url),
        &["PackagePublish/2.0.0"],
        "Push (PUT, multipart)",
    );
    json!({"version": "3.0.0", "resources": resources})
}

pub async fn service_index(State(state): State<SharedState>) -> Json<Value> {
    Json(document(&state.base_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types_of(doc: &Value, id: &str) -> Vec<String> {
        doc["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter(|r| r["@id"] == id)
            .map(|r| r["@type"].as_str().expect("type").to_owned())
            .collect()
    }

    #[test]
    fn every_resource_is_absolute_and_listed_under_the_types_nuget_5_8_and_later_look_for() {
        let base = "https://localhost:1234";
        let doc = document(base);
        assert_eq!(doc["version"], "3.0.0");
        for r in doc["resources"].as_array().expect("resources") {
            let id = r["@id"].as_str().expect("@id");
            assert!(id.starts_with("https://localhost:1234/nuget/"), "{id}");
        }
        let registrations = types_of(&doc, "https://localhost:1234/nuget/v3/registration/");
        for t in ["RegistrationsBaseUrl/3.6.0", "RegistrationsBaseUrl/3.4.0"] {
            assert!(
                registrations.iter().any(|r| r == t),
                "{t}: {registrations:?}"
            );
        }
        let search = types_of(&doc, "https://localhost:1234/nuget/v3/query");
        for t in ["SearchQueryService/3.0.0-beta", "SearchQueryService/3.4.0"] {
            assert!(search.iter().any(|s| s == t), "{t}: {search:?}");
        }
        assert_eq!(
            types_of(&doc, "https://localhost:1234/nuget/v3/flatcontainer/"),
            ["PackageBaseAddress/3.0.0"]
        );
        assert_eq!(
            types_of(&doc, "https://localhost:1234/nuget/api/v2/package"),
            ["PackagePublish/2.0.0"]
        );
    }

    #[test]
    fn content_urls_are_lowercase_flat_container_paths() {
        assert_eq!(
            package_content("https://h:1", "opp.demo", "1.0.0-beta"),
            "https://h:1/nuget/v3/flatcontainer/opp.demo/1.0.0-beta/opp.demo.1.0.0-beta.nupkg"
        );
        assert_eq!(
            registration_leaf("https://h:1", "opp.demo", "1.0.0"),
            "https://h:1/nuget/v3/registration/opp.demo/1.0.0.json"
        );
    }
}

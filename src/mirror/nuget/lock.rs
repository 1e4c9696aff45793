//! `packages.lock.json` (NuGet's lock file, `RestorePackagesWithLockFile`): every package it
//! resolved, per target framework (and runtime), with the exact version and the `contentHash`
//! (base64 SHA-512 of the `.nupkg`). Mirrored exactly, no resolution; project references
//! (`"type": "Project"`) are not packages and are left out. Pure.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ecosystem::nuget::NugetVersion;

/// One package version a lock file names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    pub id: String,
    pub version: NugetVersion,
    /// The `contentHash`, base64 SHA-512.
    pub sha512: Option<String>,
}

#[derive(Deserialize)]
struct LockFile {
    version: u32,
    dependencies: BTreeMap<String, BTreeMap<String, LockEntry>>,
}

#[derive(Deserialize)]
struct LockEntry {
    #[serde(rename = "type")]
    kind: Option<String>,
    resolved: Option<String>,
    #[serde(rename = "contentHash")]
    content_hash: Option<String>,
}

/// Every package of the lock file once, in id and version order.
pub fn read(text: &str) -> Result<Vec<Locked>, String> {
    let lock: LockFile = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("it is not a NuGet packages.lock.json: {e}"))?;
    if !(1..=2).contains(&lock.version) {
        return Err(format!(
            "it has version {}, opp reads versions 1 and 2",
            lock.version
        ));
    }
    let mut found: BTreeMap<(String, NugetVersion), Locked> = BTreeMap::new();
    for (framework, packages) in &lock.dependencies {
        for (id, entry) in packages {
            if entry
                .kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("project"))
            {
                continue;
            }
            let resolved = entry
                .resolved
                .as_deref()
                .ok_or_else(|| format!("{framework}: {id} has no \"resolved\" version"))?;
            let version = NugetVersion::parse(resolved).ok_or_else(|| {
                format!("{framework}: {id} has the version `{resolved}`, not a NuGet version")
            })?;
            let key = (id.to_ascii_lowercase(), version.clone());
            let locked = Locked {
                id: id.clone(),
                version,
                sha512: entry.content_hash.clone(),
            };
            if let Some(seen) = found.get(&key)
                && seen.sha512.is_some()
                && locked.sha512.is_some()
                && seen.sha512 != locked.sha512
            {
                return Err(format!(
                    "{id} {resolved} has two different contentHash values"
                ));
            }
            found.entry(key).or_insert(locked);
        }
    }
    Ok(found.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_every_framework_are_read_once_and_projects_left_out() {
        let text = r#"{
          "version": 1,
          "dependencies": {
            "net8.0": {
              "Opp.A": {"type": "Direct", "requested": "[1.0.0, )", "resolved": "1.0.0",
                        "contentHash": "aGFzaA==", "dependencies": {"Opp.B": "1.0.0"}},
              "Opp.B": {"type": "Transitive", "resolved": "1.0.0", "contentHash": "Yg=="},
              "Opp.Lib": {"type": "Project"}
            },
            "net8.0/linux-x64": {
              "Opp.A": {"type": "Direct", "resolved": "1.0.0", "contentHash": "aGFzaA=="}
            }
          }
        }"#;
        let locked = read(text).unwrap();
        let shown: Vec<(String, String, Option<String>)> = locked
            .iter()
            .map(|l| (l.id.clone(), l.version.to_string(), l.sha512.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Opp.A".into(), "1.0.0".into(), Some("aGFzaA==".into())),
                ("Opp.B".into(), "1.0.0".into(), Some("Yg==".into())),
            ]
        );
    }

    #[test]
    fn malformed_lock_files_say_what_is_wrong() {
        for (text, says) in [
            ("{}", "it is not a NuGet packages.lock.json"),
            (r#"{"version": 9, "dependencies": {}}"#, "it has version 9"),
            (
                r#"{"version": 1, "dependencies": {"net8.0": {"X": {"type": "Direct"}}}}"#,
                "net8.0: X has no \"resolved\" version",
            ),
            (
                r#"{"version": 1, "dependencies": {"net8.0": {"X": {"resolved": "one"}}}}"#,
                "net8.0: X has the version `one`",
            ),
        ] {
            let err = read(text).unwrap_err();
            assert!(err.starts_with(says), "{text}: {err}");
        }
    }
}

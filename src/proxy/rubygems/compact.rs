//! The compact index bodies (`/versions`, `/info/NAME`, `/names`) as Bundler and RubyGems
//! read them (docs/protocols.md §5.1), rendered from the gems the store holds. Pure: values
//! in, text out; reading the store and HTTP are `catalog.rs` and the routes'.

use md5::{Digest as _, Md5};

use super::marshal::{Dependency, SpecFields};

/// One stored `.gem` as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub spec: SpecFields,
    /// sha256 hex of the `.gem` file.
    pub sha256: String,
    /// The stored file name (`NAME-VERSION[-PLATFORM].gem`).
    pub file_name: String,
}

impl IndexEntry {
    /// `VERSION` for a plain gem, `VERSION-PLATFORM` otherwise (as the compact index and the
    /// full name spell it).
    pub fn version_and_platform(&self) -> String {
        if self.spec.platform == "ruby" {
            self.spec.version.clone()
        } else {
            format!("{}-{}", self.spec.version, self.spec.platform)
        }
    }

    /// `NAME-VERSION[-PLATFORM]`, as RubyGems names the spec (`Gem::Specification#full_name`).
    pub fn full_name(&self) -> String {
        format!("{}-{}", self.spec.name, self.version_and_platform())
    }
}

/// Lowercase hex MD5 of a body: the `/versions` checksum of an `/info` file, and the
/// `ETag` Bundler before 2.5 insists on.
pub fn md5_hex(body: &str) -> String {
    hex::encode(Md5::digest(body.as_bytes()))
}

/// `op version&op version`; empty for no requirement.
fn requirement(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(op, version)| format!("{op} {version}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a requirement says nothing (`>= 0`, or none at all).
fn is_default(pairs: &[(String, String)]) -> bool {
    pairs.is_empty() || pairs.iter().all(|(op, v)| op == ">=" && v == "0")
}

fn dependency(dep: &Dependency) -> String {
    let req = if dep.requirement.is_empty() {
        ">= 0".to_owned()
    } else {
        requirement(&dep.requirement)
    };
    format!("{}:{req}", dep.name)
}

/// The `/info/NAME` body of one gem's entries, given oldest version first.
pub fn info(entries: &[&IndexEntry]) -> String {
    let mut body = String::from("---\n");
    for entry in entries {
        let deps: Vec<String> = entry
            .spec
            .dependencies
            .iter()
            .filter(|d| d.runtime)
            .map(dependency)
            .collect();
        let mut meta = vec![format!("checksum:{}", entry.sha256)];
        if !is_default(&entry.spec.required_ruby_version) {
            meta.push(format!(
                "ruby:{}",
                requirement(&entry.spec.required_ruby_version)
            ));
        }
        if !is_default(&entry.spec.required_rubygems_version) {
            meta.push(format!(
                "rubygems:{}",
                requirement(&entry.spec.required_rubygems_version)
            ));
        }
        body.push_str(&format!(
            "{} {}|{}\n",
            entry.version_and_platform(),
            deps.join(","),
            meta.join(",")
        ));
    }
    body
}

/// The `/versions` body: one line per gem, `NAME V1,V2-PLAT MD5-OF-ITS-INFO`. `gems` holds
/// each gem's name, its entries oldest first, and the MD5 of its `/info` body.
pub fn versions(created_at: &str, gems: &[(String, Vec<String>, String)]) -> String {
    let mut body = format!("created_at: {created_at}\n---\n");
    for (name, versions, md5) in gems {
        body.push_str(&format!("{name} {} {md5}\n", versions.join(",")));
    }
    body
}

/// The `/names` body: every gem name.
pub fn names(names: &[String]) -> String {
    let mut body = String::from("---\n");
    for name in names {
        body.push_str(name);
        body.push('\n');
    }
    body
}

/// Whether RubyGems treats a version as a prerelease (`Gem::Version#prerelease?`: it holds
/// a letter).
pub fn is_prerelease(version: &str) -> bool {
    version.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, platform: &str, deps: Vec<Dependency>) -> IndexEntry {
        IndexEntry {
            spec: SpecFields {
                name: "demo".into(),
                version: version.into(),
                platform: platform.into(),
                rubygems_version: "3.3.15".into(),
                specification_version: 4,
                date: (2024, 1, 1),
                summary: "s".into(),
                description: None,
                homepage: None,
                email: Vec::new(),
                authors: Vec::new(),
                licenses: Vec::new(),
                metadata: Vec::new(),
                required_ruby_version: vec![(">=".into(), "2.7".into())],
                required_rubygems_version: vec![(">=".into(), "0".into())],
                dependencies: deps,
            },
            sha256: "ab".repeat(32),
            file_name: format!("demo-{version}.gem"),
        }
    }

    #[test]
    fn info_lines_carry_runtime_dependencies_checksums_and_required_versions() {
        let deps = vec![
            Dependency {
                name: "rack".into(),
                runtime: true,
                requirement: vec![("<".into(), "4".into()), (">=".into(), "2.0".into())],
            },
            Dependency {
                name: "minitest".into(),
                runtime: false,
                requirement: vec![("~>".into(), "5".into())],
            },
            Dependency {
                name: "json".into(),
                runtime: true,
                requirement: Vec::new(),
            },
        ];
        let plain = entry("0.1.0", "ruby", Vec::new());
        let with_deps = entry("0.2.0", "ruby", deps.clone());
        let native = entry("0.2.0", "x86_64-linux", deps);
        let sum = "ab".repeat(32);
        assert_eq!(
            info(&[&plain, &with_deps, &native]),
            format!(
                "---\n\
                 0.1.0 |checksum:{sum},ruby:>= 2.7\n\
                 0.2.0 rack:< 4&>= 2.0,json:>= 0|checksum:{sum},ruby:>= 2.7\n\
                 0.2.0-x86_64-linux rack:< 4&>= 2.0,json:>= 0|checksum:{sum},ruby:>= 2.7\n"
            )
        );
        assert_eq!(native.full_name(), "demo-0.2.0-x86_64-linux");
    }

    #[test]
    fn versions_list_every_gem_with_the_md5_of_its_info() {
        let body = info(&[&entry("0.1.0", "ruby", Vec::new())]);
        let md5 = md5_hex(&body);
        assert_eq!(md5.len(), 32);
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            versions(
                "2024-01-01T00:00:00Z",
                &[(
                    "demo".into(),
                    vec!["0.1.0".into(), "0.2.0-java".into()],
                    md5.clone()
                )]
            ),
            format!("created_at: 2024-01-01T00:00:00Z\n---\ndemo 0.1.0,0.2.0-java {md5}\n")
        );
        assert_eq!(names(&["a".into(), "b".into()]), "---\na\nb\n");
        assert!(is_prerelease("1.0.0.pre1"));
        assert!(!is_prerelease("1.0.0"));
    }
}

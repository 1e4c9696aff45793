//! A gem's specification: [`GemInfo`], what opp keeps of a `Gem::Specification`, and reading
//! it from the YAML in a gem's `metadata.gz`. That YAML carries Ruby tags
//! (`!ruby/object:Gem::Specification`, `...Gem::Version`, `...Gem::Requirement`,
//! `...Gem::Dependency`, `...Gem::Platform`); the loader drops tags and this module reads the
//! plain mappings underneath. Pure: text in, values out; opening the gem is `archive`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use yaml_rust2::{Yaml, YamlLoader};

use super::version::Requirement;
use crate::ecosystem::limits;

/// Everything the proxy needs of one gem without downloading it: the compact index line
/// (`/info/NAME`) and a `Gem::Specification` for `/quick/Marshal.4.8/*.gemspec.rz`. Stored as
/// JSON, the second layer of each gem's manifest (docs/formats.md, RubyGems).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GemInfo {
    /// The name as the gemspec writes it (case kept; the repository lowercases it).
    pub name: String,
    /// `Gem::Version#to_s` (`-` already spelled `.pre.`).
    pub version: String,
    /// `ruby` for a plain gem, else the platform (`x86_64-linux`, `java`).
    pub platform: String,
    pub summary: String,
    pub description: Option<String>,
    pub authors: Vec<String>,
    /// One or several addresses (a gemspec may give a string or a list).
    pub email: Vec<String>,
    pub homepage: Option<String>,
    pub licenses: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// The gemspec's date, `YYYY-MM-DD` (RubyGems truncates it to midnight UTC).
    pub date: String,
    pub require_paths: Vec<String>,
    pub bindir: String,
    pub executables: Vec<String>,
    /// The RubyGems version that built the gem.
    pub rubygems_version: String,
    pub specification_version: u32,
    /// Runtime and development dependencies, in gemspec order.
    pub dependencies: Vec<GemDependency>,
    pub required_ruby_version: Requirement,
    pub required_rubygems_version: Requirement,
    /// Lowercase hex sha256 of the `.gem` file.
    pub sha256: String,
}

impl GemInfo {
    /// `NAME-VERSION[-PLATFORM].gem`, as `gem build` names it.
    pub fn file_name(&self) -> String {
        format!("{}.gem", self.full_name())
    }

    /// `NAME-VERSION[-PLATFORM]`, `Gem::Specification#full_name`.
    pub fn full_name(&self) -> String {
        if self.platform == "ruby" {
            format!("{}-{}", self.name, self.version)
        } else {
            format!("{}-{}-{}", self.name, self.version, self.platform)
        }
    }

    /// The runtime dependencies (what the compact index lists).
    pub fn runtime_dependencies(&self) -> impl Iterator<Item = &GemDependency> {
        self.dependencies
            .iter()
            .filter(|d| d.kind == DependencyKind::Runtime)
    }
}

/// One `Gem::Dependency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemDependency {
    pub name: String,
    pub kind: DependencyKind,
    pub requirement: Requirement,
}

/// `:runtime` or `:development`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyKind {
    Runtime,
    Development,
}

/// Reads a gem's `metadata.gz` YAML (already gunzipped). The error says what is wrong, for
/// the caller to name the file. `sha256` is left empty. A document that would load into more
/// than [`limits::MAX_YAML_NODES`] nodes (aliases expanded) or nest deeper than
/// [`limits::MAX_YAML_DEPTH`] is refused before it is loaded.
pub(crate) fn parse(yaml: &str) -> Result<GemInfo, String> {
    super::yaml_size::check(yaml, limits::MAX_YAML_NODES, limits::MAX_YAML_DEPTH)
        .map_err(|e| e.to_string())?;
    let docs = YamlLoader::load_from_str(yaml).map_err(|e| format!("not valid YAML: {e}"))?;
    let spec = docs
        .first()
        .filter(|d| d.as_hash().is_some())
        .ok_or("not a Gem::Specification (the YAML is not a mapping)")?;
    let name = text(&spec["name"]).ok_or("no `name`")?;
    let version = version(&spec["version"]).ok_or("no `version`")?;
    let dependencies = match &spec["dependencies"] {
        Yaml::Array(deps) => deps.iter().map(dependency).collect::<Result<Vec<_>, _>>()?,
        Yaml::Null | Yaml::BadValue => Vec::new(),
        _ => return Err("`dependencies` is not a list".into()),
    };
    let metadata = match &spec["metadata"] {
        Yaml::Hash(h) => h
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(GemInfo {
        name,
        version,
        platform: platform(&spec["platform"]),
        summary: text(&spec["summary"]).unwrap_or_default(),
        description: text(&spec["description"]),
        authors: list(&spec["authors"]),
        email: list(&spec["email"]),
        homepage: text(&spec["homepage"]),
        licenses: list(&spec["licenses"]),
        metadata,
        date: text(&spec["date"])
            .map(|d| d.chars().take(10).collect())
            .unwrap_or_default(),
        require_paths: match list(&spec["require_paths"]) {
            paths if paths.is_empty() => vec!["lib".to_owned()],
            paths => paths,
        },
        bindir: text(&spec["bindir"]).unwrap_or_else(|| "bin".to_owned()),
        executables: list(&spec["executables"]),
        rubygems_version: text(&spec["rubygems_version"]).unwrap_or_default(),
        specification_version: spec["specification_version"]
            .as_i64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(4),
        dependencies,
        required_ruby_version: requirement(&spec["required_ruby_version"])
            .map_err(|e| format!("`required_ruby_version` {e}"))?,
        required_rubygems_version: requirement(&spec["required_rubygems_version"])
            .map_err(|e| format!("`required_rubygems_version` {e}"))?,
        sha256: String::new(),
    })
}

/// A scalar as text (YAML may read `1.0` or `0` as a number); `None` for null and non-scalars.
fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of scalars; a lone scalar is a list of one.
fn list(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// A `Gem::Version` (`{version: "1.2.0"}`), or a bare scalar as very old gems wrote it.
fn version(y: &Yaml) -> Option<String> {
    match y {
        Yaml::Hash(_) => text(&y["version"]),
        other => text(other),
    }
}

/// A platform string, or a `Gem::Platform` mapping (`cpu`, `os`, `version`) joined as
/// `Gem::Platform#to_s` does. Missing means `ruby`.
fn platform(y: &Yaml) -> String {
    match y {
        Yaml::Hash(_) => {
            let parts: Vec<String> = ["cpu", "os", "version"]
                .iter()
                .filter_map(|k| text(&y[*k]))
                .collect();
            if parts.is_empty() {
                "ruby".to_owned()
            } else {
                parts.join("-")
            }
        }
        other => text(other).unwrap_or_else(|| "ruby".to_owned()),
    }
}

/// A `Gem::Requirement` (`{requirements: [[">=", {version: "2.0"}], ...]}`); missing means
/// any version.
fn requirement(y: &Yaml) -> Result<Requirement, String> {
    let pairs = match y {
        Yaml::Null | Yaml::BadValue => return Ok(Requirement::default()),
        Yaml::Hash(_) => &y["requirements"],
        _ => return Err("is not a Gem::Requirement".into()),
    };
    let Yaml::Array(pairs) = pairs else {
        return Err("has no `requirements` list".into());
    };
    pairs
        .iter()
        .map(|pair| match pair.as_vec().map(Vec::as_slice) {
            Some([op, v]) => match (text(op), version(v)) {
                (Some(op), Some(v)) => Ok((op, v)),
                _ => Err("has a requirement that is not [operator, version]".to_owned()),
            },
            _ => Err("has a requirement that is not [operator, version]".to_owned()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Requirement)
}

/// A `Gem::Dependency` (`name`, `requirement`, `type: :runtime`).
fn dependency(y: &Yaml) -> Result<GemDependency, String> {
    let name = text(&y["name"]).ok_or("a dependency has no `name`")?;
    let req = match &y["requirement"] {
        Yaml::Null | Yaml::BadValue => &y["version_requirements"],
        r => r,
    };
    let requirement =
        requirement(req).map_err(|e| format!("the requirement of dependency `{name}` {e}"))?;
    let kind = match text(&y["type"]).as_deref() {
        Some(":development") | Some("development") => DependencyKind::Development,
        _ => DependencyKind::Runtime,
    };
    Ok(GemDependency {
        name,
        kind,
        requirement,
    })
}

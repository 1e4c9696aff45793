//! What an SDK-style project asks NuGet for: its `<PackageReference>` items and
//! `<TargetFramework>`/`<TargetFrameworks>`, with Central Package Management's `<PackageVersion>`
//! items from `Directory.Packages.props` for references without a version, and `$(Property)`
//! references expanded from the `<PropertyGroup>`s of the project and of that file. Read with
//! `roxmltree` (as nuspecs are; it refuses DTDs). Pure: texts in; finding the props file is the
//! command's.
//!
//! Not MSBuild: conditions are not evaluated (a conditional property or item is skipped),
//! imports other than `Directory.Packages.props` (`Directory.Build.props`, targets) are not
//! read, and a version that still names a property after expansion is an error saying which.

use crate::error::Refusal;
use std::collections::BTreeMap;

use roxmltree::{Document, Node};

/// What one project asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Project {
    /// Target framework names as written (`net8.0`, `net48`).
    pub frameworks: Vec<String>,
    /// (id, version range as written).
    pub references: Vec<(String, String)>,
}

/// Reads a project (`project_name` names it in errors) and, when there is one, its
/// `Directory.Packages.props`.
pub fn read(
    project_name: &str,
    project: &str,
    central: Option<(&str, &str)>,
) -> Result<Project, Refusal> {
    let doc = parse(project_name, project)?;
    let mut properties = BTreeMap::new();
    let mut central_versions = BTreeMap::new();
    if let Some((name, text)) = central {
        let props = parse(name, text)?;
        collect_properties(&props, &mut properties);
        for item in items(&props, "PackageVersion") {
            let (Some(id), Some(version)) = (item.attribute("Include"), value(item, "Version"))
            else {
                continue;
            };
            central_versions.insert(id.to_ascii_lowercase(), (name.to_owned(), version));
        }
    }
    collect_properties(&doc, &mut properties);
    let expand = |text: &str, what: &str, file: &str| -> Result<String, Refusal> {
        let expanded = expand(text, &properties);
        match expanded.find("$(") {
            None => Ok(expanded.trim().to_owned()),
            Some(at) => {
                let name = expanded[at + 2..]
                    .split(')')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                Err(Refusal::new(
                    format!(
                        "{file}: {what} is `{text}`, and opp cannot resolve the property \
                         `{name}` (only unconditional properties of the project and \
                         Directory.Packages.props are read)"
                    ),
                    "set it there, or give the package on the command line",
                ))
            }
        }
    };
    let mut frameworks = Vec::new();
    for name in ["TargetFramework", "TargetFrameworks"] {
        for node in properties_named(&doc, name) {
            let text = node.text().unwrap_or_default();
            let list = expand(text, &format!("<{name}>"), project_name)?;
            frameworks.extend(
                list.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    let mut references = Vec::new();
    for item in items(&doc, "PackageReference") {
        let Some(id) = item.attribute("Include") else {
            continue;
        };
        let what = format!("the version of PackageReference {id}");
        let version = match value(item, "VersionOverride").or_else(|| value(item, "Version")) {
            Some(v) => expand(&v, &what, project_name)?,
            None => match central_versions.get(&id.to_ascii_lowercase()) {
                Some((file, v)) => expand(v, &what, file)?,
                None => {
                    return Err(Refusal::new(
                        format!(
                            "{project_name}: PackageReference {id} has no version, and no \
                             Directory.Packages.props above the project gives one"
                        ),
                        format!(
                            "give it one in Directory.Packages.props \
                             (<PackageVersion Include=\"{id}\" Version=\"...\" />), or a \
                             Version on the PackageReference"
                        ),
                    ));
                }
            },
        };
        references.push((id.to_owned(), version));
    }
    Ok(Project {
        frameworks,
        references,
    })
}

fn parse<'a>(name: &str, text: &'a str) -> Result<Document<'a>, Refusal> {
    Document::parse(text.trim_start_matches('\u{feff}')).map_err(|e| {
        Refusal::unhinted(format!(
            "{name} is not an MSBuild project opp can read: {e}"
        ))
    })
}

fn unconditional(node: &Node) -> bool {
    node.attribute("Condition").is_none()
}

/// Children of unconditional `<PropertyGroup>`s, themselves unconditional, into `into`
/// (later definitions win, as in MSBuild).
fn collect_properties(doc: &Document, into: &mut BTreeMap<String, String>) {
    for group in groups(doc, "PropertyGroup") {
        for p in group
            .children()
            .filter(|n| n.is_element() && unconditional(n))
        {
            let text = p.text().unwrap_or_default().trim().to_owned();
            let expanded = expand(&text, into);
            into.insert(p.tag_name().name().to_ascii_lowercase(), expanded);
        }
    }
}

fn properties_named<'a>(doc: &'a Document, name: &str) -> Vec<Node<'a, 'a>> {
    groups(doc, "PropertyGroup")
        .into_iter()
        .flat_map(|g| g.children())
        .filter(|n| n.is_element() && n.tag_name().name() == name && unconditional(n))
        .collect()
}

/// The unconditional groups of that name directly under the root.
fn groups<'a>(doc: &'a Document, name: &str) -> Vec<Node<'a, 'a>> {
    doc.root_element()
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == name && unconditional(n))
        .collect()
}

/// Unconditional items of that name in unconditional `<ItemGroup>`s.
fn items<'a>(doc: &'a Document, name: &str) -> Vec<Node<'a, 'a>> {
    groups(doc, "ItemGroup")
        .into_iter()
        .flat_map(|g| g.children())
        .filter(|n| n.is_element() && n.tag_name().name() == name && unconditional(n))
        .collect()
}

/// An item's metadata: the attribute, else the child element.
fn value(item: Node, name: &str) -> Option<String> {
    item.attribute(name).map(str::to_owned).or_else(|| {
        item.children()
            .find(|n| n.is_element() && n.tag_name().name() == name)
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    })
}

/// `$(Name)` replaced by the property's value (names case-insensitive); unknown ones kept.
fn expand(text: &str, properties: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                let name = after[..end].trim().to_ascii_lowercase();
                match properties.get(&name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = r#"<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFrameworks>net8.0;$(Legacy)</TargetFrameworks>
    <Legacy>net48</Legacy>
    <SerilogVersion>3.1.1</SerilogVersion>
  </PropertyGroup>
  <PropertyGroup Condition="'$(Configuration)' == 'Debug'">
    <TargetFramework>net6.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Serilog" Version="$(SerilogVersion)" />
    <PackageReference Include="Newtonsoft.Json">
      <Version>[13.0.3]</Version>
    </PackageReference>
    <PackageReference Include="Polly" />
    <PackageReference Include="Dapper" VersionOverride="2.1.0" />
    <ProjectReference Include="../Lib/Lib.csproj" />
  </ItemGroup>
  <ItemGroup Condition="'$(TargetFramework)' == 'net48'">
    <PackageReference Include="System.Memory" Version="4.5.5" />
  </ItemGroup>
</Project>"#;

    const CENTRAL: &str = r#"<Project>
  <PropertyGroup><ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>
    <PollyVersion>8.2.0</PollyVersion></PropertyGroup>
  <ItemGroup>
    <PackageVersion Include="polly" Version="$(PollyVersion)" />
    <PackageVersion Include="Dapper" Version="2.0.0" />
  </ItemGroup>
</Project>"#;

    #[test]
    fn references_frameworks_and_central_versions_are_read() {
        let project = read(
            "App.csproj",
            PROJECT,
            Some(("Directory.Packages.props", CENTRAL)),
        )
        .unwrap();
        // `Legacy` is defined after its use: MSBuild evaluates in order and gets nothing; opp
        // expands with every property read, so it gets net48 (a superset is safe for a mirror).
        assert_eq!(project.frameworks, ["net8.0", "net48"]);
        assert_eq!(
            project.references,
            [
                ("Serilog".to_owned(), "3.1.1".to_owned()),
                ("Newtonsoft.Json".to_owned(), "[13.0.3]".to_owned()),
                ("Polly".to_owned(), "8.2.0".to_owned()),
                ("Dapper".to_owned(), "2.1.0".to_owned()),
            ]
        );
    }

    #[test]
    fn an_unresolved_property_or_a_missing_version_is_an_error_naming_it() {
        let project = r#"<Project><ItemGroup>
            <PackageReference Include="Serilog" Version="$(NotDefined)" /></ItemGroup></Project>"#;
        let err = read("App.csproj", project, None).unwrap_err();
        assert_eq!(
            err.message,
            "App.csproj: the version of PackageReference Serilog is `$(NotDefined)`, and opp \
             cannot resolve the property `NotDefined` (only unconditional properties of the \
             project and Directory.Packages.props are read)"
        );
        assert_eq!(
            err.hints,
            ["set it there, or give the package on the command line"]
        );
        let project =
            r#"<Project><ItemGroup><PackageReference Include="Polly" /></ItemGroup></Project>"#;
        let err = read("App.csproj", project, None).unwrap_err().message;
        assert!(
            err.starts_with("App.csproj: PackageReference Polly has no version"),
            "{err}"
        );
        let err = read("App.csproj", "<Project", None).unwrap_err().message;
        assert!(
            err.starts_with("App.csproj is not an MSBuild project opp can read"),
            "{err}"
        );
    }
}

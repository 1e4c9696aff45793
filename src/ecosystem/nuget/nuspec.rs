//! The `.nuspec` manifest inside a package: id, version, descriptive fields and dependency
//! groups, read with `roxmltree`. Elements are matched by local name, since the namespace
//! changes with the schema version (`nuspec.xsd` 2010/07 ... 2013/05). Pure: bytes in, a
//! [`Nuspec`] out; finding the member in the zip is `archive`.

use roxmltree::{Document, Node};

use super::NugetError;

/// What opp reads from a nuspec's `<metadata>`. Strings are as written (trimmed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nuspec {
    pub id: String,
    /// The version as written (normalizing is the mapper's job).
    pub version: String,
    pub title: Option<String>,
    pub authors: Option<String>,
    pub owners: Option<String>,
    pub description: Option<String>,
    pub summary: Option<String>,
    pub release_notes: Option<String>,
    pub copyright: Option<String>,
    pub language: Option<String>,
    pub tags: Option<String>,
    pub project_url: Option<String>,
    pub icon_url: Option<String>,
    /// `<license>`'s text: an SPDX expression or a file path in the package.
    pub license: Option<String>,
    /// `<license type="...">`: `expression` or `file`.
    pub license_type: Option<String>,
    pub license_url: Option<String>,
    /// `<repository url="...">`.
    pub repository_url: Option<String>,
    pub require_license_acceptance: bool,
    pub min_client_version: Option<String>,
    /// `<packageTypes><packageType name="..."/>` (e.g. `Dependency`, `SymbolsPackage`).
    pub package_types: Vec<String>,
    pub dependency_groups: Vec<DependencyGroup>,
}

/// One `<group>` of `<dependencies>` (or the flat legacy list, as one group with no
/// framework).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyGroup {
    pub target_framework: Option<String>,
    pub dependencies: Vec<Dependency>,
}

/// One `<dependency id=".." version=".."/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub id: String,
    /// The version range as written; `None` means any version.
    pub range: Option<String>,
}

/// Parses a nuspec's XML.
pub fn parse_nuspec(xml: &[u8]) -> Result<Nuspec, NugetError> {
    let text =
        std::str::from_utf8(xml).map_err(|e| NugetError::Xml(format!("it is not UTF-8 ({e})")))?;
    // NuGet writes a byte order mark; roxmltree wants text only.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = Document::parse(text).map_err(|e| NugetError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "package" {
        return Err(NugetError::Xml(format!(
            "the root element is <{}>, expected <package>",
            root.tag_name().name()
        )));
    }
    let metadata =
        child(root, "metadata").ok_or(NugetError::MissingField("a <metadata> element"))?;
    let field = |name: &str| child(metadata, name).and_then(text_of);
    let required =
        |name: &str, what: &'static str| field(name).ok_or(NugetError::MissingField(what));
    let license = child(metadata, "license");
    Ok(Nuspec {
        id: required("id", "<id> in <metadata>")?,
        version: required("version", "<version> in <metadata>")?,
        title: field("title"),
        authors: field("authors"),
        owners: field("owners"),
        description: field("description"),
        summary: field("summary"),
        release_notes: field("releaseNotes"),
        copyright: field("copyright"),
        language: field("language"),
        tags: field("tags"),
        project_url: field("projectUrl"),
        icon_url: field("iconUrl"),
        license: license.and_then(text_of),
        license_type: license.and_then(|l| l.attribute("type")).map(str::to_owned),
        license_url: field("licenseUrl"),
        repository_url: child(metadata, "repository")
            .and_then(|r| r.attribute("url"))
            .map(str::to_owned),
        require_license_acceptance: field("requireLicenseAcceptance")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        min_client_version: metadata.attribute("minClientVersion").map(str::to_owned),
        package_types: child(metadata, "packageTypes")
            .map(|types| {
                children(types, "packageType")
                    .filter_map(|t| t.attribute("name").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        dependency_groups: child(metadata, "dependencies")
            .map(dependency_groups)
            .transpose()?
            .unwrap_or_default(),
    })
}

/// `<group targetFramework="..">` elements; without any, the flat legacy `<dependency>` list
/// as one group for every framework (NuGet's `NuspecReader` does the same).
fn dependency_groups(deps: Node<'_, '_>) -> Result<Vec<DependencyGroup>, NugetError> {
    let groups: Vec<Node> = children(deps, "group").collect();
    if groups.is_empty() {
        return Ok(vec![DependencyGroup {
            target_framework: None,
            dependencies: dependencies(deps)?,
        }]);
    }
    groups
        .into_iter()
        .map(|g| {
            Ok(DependencyGroup {
                target_framework: g
                    .attribute("targetFramework")
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
                dependencies: dependencies(g)?,
            })
        })
        .collect()
}

fn dependencies(parent: Node<'_, '_>) -> Result<Vec<Dependency>, NugetError> {
    children(parent, "dependency")
        .map(|d| {
            let id = d
                .attribute("id")
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .ok_or(NugetError::MissingField("`id` on a <dependency>"))?;
            Ok(Dependency {
                id: id.to_owned(),
                range: d
                    .attribute("version")
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// The child elements of `node` with local name `name`, whatever their namespace.
fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// An element's text, trimmed; `None` when empty.
fn text_of(node: Node<'_, '_>) -> Option<String> {
    let text: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = concat!(
        "\u{feff}",
        r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata minClientVersion="2.12">
    <id>Acme.Widgets</id>
    <version>1.02.0-Beta+sha.1</version>
    <title>Acme Widgets</title>
    <authors>Acme, Jane</authors>
    <description>Widgets &amp; gadgets.</description>
    <tags>widgets acme</tags>
    <projectUrl>https://example.com/widgets</projectUrl>
    <license type="expression">MIT</license>
    <requireLicenseAcceptance>true</requireLicenseAcceptance>
    <repository type="git" url="https://example.com/widgets.git" />
    <packageTypes><packageType name="Dependency" /></packageTypes>
    <dependencies>
      <group targetFramework="net8.0">
        <dependency id="Newtonsoft.Json" version="[13.0.1, )" exclude="Build" />
        <dependency id="Acme.Core" />
      </group>
      <group targetFramework=".NETStandard2.0" />
      <group>
        <dependency id="Any.Thing" version="1.0" />
      </group>
    </dependencies>
  </metadata>
  <files><file src="x" /></files>
</package>"#
    );

    #[test]
    fn fields_and_dependency_groups_are_read_as_written() {
        let n = parse_nuspec(FULL.as_bytes()).unwrap();
        assert_eq!(n.id, "Acme.Widgets");
        assert_eq!(n.version, "1.02.0-Beta+sha.1");
        assert_eq!(n.title.as_deref(), Some("Acme Widgets"));
        assert_eq!(n.authors.as_deref(), Some("Acme, Jane"));
        assert_eq!(n.description.as_deref(), Some("Widgets & gadgets."));
        assert_eq!(n.tags.as_deref(), Some("widgets acme"));
        assert_eq!(
            n.project_url.as_deref(),
            Some("https://example.com/widgets")
        );
        assert_eq!(n.license.as_deref(), Some("MIT"));
        assert_eq!(n.license_type.as_deref(), Some("expression"));
        assert_eq!(
            n.repository_url.as_deref(),
            Some("https://example.com/widgets.git")
        );
        assert!(n.require_license_acceptance);
        assert_eq!(n.min_client_version.as_deref(), Some("2.12"));
        assert_eq!(n.package_types, ["Dependency"]);
        assert_eq!(n.summary, None);
        assert_eq!(
            n.dependency_groups,
            vec![
                DependencyGroup {
                    target_framework: Some("net8.0".into()),
                    dependencies: vec![
                        Dependency {
                            id: "Newtonsoft.Json".into(),
                            range: Some("[13.0.1, )".into()),
                        },
                        Dependency {
                            id: "Acme.Core".into(),
                            range: None,
                        },
                    ],
                },
                DependencyGroup {
                    target_framework: Some(".NETStandard2.0".into()),
                    dependencies: vec![],
                },
                DependencyGroup {
                    target_framework: None,
                    dependencies: vec![Dependency {
                        id: "Any.Thing".into(),
                        range: Some("1.0".into()),
                    }],
                },
            ]
        );
    }

    #[test]
    fn old_schemas_and_flat_dependency_lists_are_read() {
        let xml = r#"<?xml version="1.0"?>
<package xmlns="http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd">
  <metadata>
    <id>Old</id><version>1.0</version>
    <dependencies><dependency id="A" version="[1.0]"/></dependencies>
  </metadata>
</package>"#;
        let n = parse_nuspec(xml.as_bytes()).unwrap();
        assert_eq!((n.id.as_str(), n.version.as_str()), ("Old", "1.0"));
        assert_eq!(n.dependency_groups.len(), 1);
        assert_eq!(n.dependency_groups[0].target_framework, None);
        assert_eq!(n.dependency_groups[0].dependencies[0].id, "A");
        // No namespace at all, and no dependencies element.
        let bare = "<package><metadata><id>B</id><version>2.0</version></metadata></package>";
        let n = parse_nuspec(bare.as_bytes()).unwrap();
        assert!(n.dependency_groups.is_empty());
    }

    #[test]
    fn broken_nuspecs_say_what_is_wrong() {
        let err = |xml: &str| parse_nuspec(xml.as_bytes()).unwrap_err().to_string();
        assert!(err("<package><metadata>").contains("malformed"));
        assert!(err("<nuspec/>").contains("expected <package>"));
        assert!(err("<package/>").contains("<metadata>"));
        assert!(
            err("<package><metadata><version>1.0</version></metadata></package>").contains("<id>")
        );
        assert!(
            err("<package><metadata><id>A</id><version> </version></metadata></package>")
                .contains("<version>")
        );
        assert!(
            err("<package><metadata><id>A</id><version>1</version>\
             <dependencies><dependency version=\"1.0\"/></dependencies></metadata></package>")
            .contains("`id` on a <dependency>")
        );
        // A DTD (and so entity expansion) is refused outright.
        assert!(
            err(
                "<!DOCTYPE package [<!ENTITY x \"y\">]><package><metadata><id>&x;</id>\
             <version>1</version></metadata></package>"
            )
            .contains("malformed")
        );
        assert!(
            parse_nuspec(b"\xff\xfe<")
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }
}

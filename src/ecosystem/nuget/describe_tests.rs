//! Tests of [`super::describe_reader`] on packages built in memory: what a good package
//! yields, and one clear error per kind of bad input.

use std::io::{Cursor, Write};
use std::path::Path;

use super::{NugetError, NugetPackage, PackageKind, describe_reader};

fn nuspec(id: &str, version: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>Acme</authors>
    <description>Test package.</description>
    <dependencies>
      <group targetFramework="net8.0"><dependency id="Dep.One" version="[1.0,2.0)" /></group>
    </dependencies>
  </metadata>
</package>"#
    )
}

/// A zip with the given members.
fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in members {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn package(nuspec_xml: &str) -> Vec<u8> {
    zip(&[
        ("Acme.Widgets.nuspec", nuspec_xml.as_bytes()),
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        ("lib/net8.0/Acme.Widgets.dll", b"MZ"),
    ])
}

fn describe(name: &str, bytes: Vec<u8>) -> Result<NugetPackage, NugetError> {
    let size = bytes.len() as u64;
    describe_reader(Path::new(name), Cursor::new(bytes), size)
}

fn error(name: &str, bytes: Vec<u8>) -> String {
    let err = describe(name, bytes).expect_err("refused");
    // The whole chain, as the binary prints it.
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[test]
fn a_package_is_described_from_its_nuspec() {
    let xml = nuspec("Acme.Widgets", "1.02.0.0-RC.1+build.7");
    let bytes = package(&xml);
    let size = bytes.len() as u64;
    let p = describe("renamed-by-the-user.nupkg", bytes).unwrap();
    assert_eq!(p.kind, PackageKind::Nupkg);
    assert_eq!(p.id, "Acme.Widgets");
    assert_eq!(p.version, "1.2.0-rc.1");
    assert_eq!(p.nuspec.version, "1.02.0.0-RC.1+build.7");
    assert_eq!(p.file_name, "Acme.Widgets.1.02.0.0-RC.1+build.7.nupkg");
    assert_eq!(p.nuspec_bytes, xml.as_bytes());
    assert_eq!(p.size, size);
    assert_eq!(p.nuspec.dependency_groups[0].dependencies[0].id, "Dep.One");
}

#[test]
fn a_symbols_package_is_told_apart_by_its_extension() {
    let p = describe(
        "Acme.Widgets.1.0.0.SNUPKG",
        package(&nuspec("Acme.Widgets", "1.0.0")),
    )
    .unwrap();
    assert_eq!(p.kind, PackageKind::Snupkg);
    assert_eq!(p.file_name, "Acme.Widgets.1.0.0.snupkg");
}

#[test]
fn bad_packages_get_one_error_naming_the_file() {
    let good = || package(&nuspec("Acme.Widgets", "1.0.0"));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a.zip", good(), "ends with .nupkg"),
        ("a.nupkg", b"not a zip at all".to_vec(), "not a valid zip"),
        ("a.nupkg", zip(&[("lib/a.dll", b"MZ")]), "has no .nuspec"),
        (
            "a.nupkg",
            zip(&[("sub/a.nuspec", nuspec("A", "1.0").as_bytes())]),
            "has no .nuspec",
        ),
        (
            "a.nupkg",
            zip(&[("a.nuspec", b"<x/>"), ("b.nuspec", b"<x/>")]),
            "more than one .nuspec",
        ),
        ("a.nupkg", package("<package><metadata>"), "malformed"),
        (
            "a.nupkg",
            package("<package><metadata><version>1.0</version></metadata></package>"),
            "no <id> in <metadata>",
        ),
        (
            "a.nupkg",
            package("<package><metadata><id>A</id></metadata></package>"),
            "no <version> in <metadata>",
        ),
        (
            "a.nupkg",
            package(&nuspec("Acme Widgets", "1.0")),
            "` ` is not allowed",
        ),
        (
            "a.nupkg",
            package(&nuspec("A", "1.0.x")),
            "`x` is not allowed",
        ),
        (
            "a.nupkg",
            package(&nuspec("A", "1.2.3.4.5")),
            "at most four numbers",
        ),
        (
            "a.nupkg",
            zip(&[
                ("a.nuspec", nuspec("A", "1.0").as_bytes()),
                ("../evil", b"x"),
            ]),
            "`../evil`",
        ),
        (
            "a.nupkg",
            zip(&[
                ("a.nuspec", nuspec("A", "1.0").as_bytes()),
                ("/etc/x", b"x"),
            ]),
            "absolute path",
        ),
    ];
    for (name, bytes, says) in cases {
        let text = error(name, bytes);
        assert!(text.contains(says), "{name} should say {says:?}: {text}");
        assert!(text.starts_with(name), "{name} is named first: {text}");
    }
}

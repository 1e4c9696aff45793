//! NuGet packages for the tests, built in place: a `.nupkg` is a zip holding `<id>.nuspec`,
//! `[Content_Types].xml`, `_rels/.rels` and `lib/<tfm>/<id>.dll`, as `nuget pack` lays it
//! out. Also the real NuGet client (`nuget5`, NuGet.exe 5.8 under mono) in a test [`Env`].
//! Does not push or pull anything.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::cli::Env;

/// A nuspec (2013/05 schema) with one dependency group per `(tfm, id, range)` triple's tfm.
pub fn nuspec(id: &str, version: &str, deps: &[(&str, &str, &str)]) -> String {
    let mut groups = String::new();
    let mut tfms: Vec<&str> = deps.iter().map(|d| d.0).collect();
    tfms.dedup();
    for tfm in tfms {
        groups.push_str(&format!("      <group targetFramework=\"{tfm}\">\n"));
        for (_, dep, range) in deps.iter().filter(|d| d.0 == tfm) {
            groups.push_str(&format!(
                "        <dependency id=\"{dep}\" version=\"{range}\" exclude=\"Build,Analyzers\" />\n"
            ));
        }
        groups.push_str("      </group>\n");
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>opp tests</authors>
    <description>A package the opp tests built.</description>
    <dependencies>
{groups}    </dependencies>
  </metadata>
</package>
"#
    )
}

/// Writes a zip with the given members (deflated, in order) to `path`.
pub fn write_zip(path: &Path, members: &[(&str, &[u8])]) -> PathBuf {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the package directory");
    }
    let file = std::fs::File::create(path).expect("create the package file");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(*name, options).expect("start a zip member");
        zip.write_all(bytes).expect("write a zip member");
    }
    zip.finish().expect("finish the zip");
    path.to_path_buf()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="dll" ContentType="application/octet" />
</Types>
"#;

fn rels(nuspec_member: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/{nuspec_member}" Id="R0" />
</Relationships>
"#
    )
}

/// A package with the given nuspec XML, written to `dir/<file_name>`; `payload` makes the dll
/// (and so the package bytes) differ between builds of one id and version.
pub fn nupkg_with_nuspec(
    dir: &Path,
    file_name: &str,
    id: &str,
    xml: &str,
    payload: &str,
) -> PathBuf {
    let nuspec_member = format!("{id}.nuspec");
    let rels = rels(&nuspec_member);
    let dll = format!("MZ fake assembly of {id}: {payload}");
    write_zip(
        &dir.join(file_name),
        &[
            ("_rels/.rels", rels.as_bytes()),
            (&nuspec_member, xml.as_bytes()),
            (&format!("lib/net8.0/{id}.dll"), dll.as_bytes()),
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ],
    )
}

/// `dir/<id>.<version>.nupkg` with a nuspec from [`nuspec`].
pub fn nupkg(dir: &Path, id: &str, version: &str, deps: &[(&str, &str, &str)]) -> PathBuf {
    let xml = nuspec(id, version, deps);
    nupkg_with_nuspec(dir, &format!("{id}.{version}.nupkg"), id, &xml, "v1")
}

/// `dir/<id>.<version>.snupkg`: a symbols package (SymbolsPackage type, a .pdb).
pub fn snupkg(dir: &Path, id: &str, version: &str) -> PathBuf {
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>opp tests</authors>
    <description>Symbols.</description>
    <packageTypes><packageType name="SymbolsPackage" /></packageTypes>
  </metadata>
</package>
"#
    );
    let nuspec_member = format!("{id}.nuspec");
    write_zip(
        &dir.join(format!("{id}.{version}.snupkg")),
        &[
            (&nuspec_member, xml.as_bytes()),
            (&format!("lib/net8.0/{id}.pdb"), b"fake pdb".as_slice()),
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ],
    )
}

/// The real NuGet client (NuGet.exe 5.8 under mono) with this environment's HOME, so its
/// caches and config start empty.
pub fn nuget5(env: &Env) -> Command {
    let mut cmd = Command::new(super::tool("nuget5"));
    env.isolate(&mut cmd, &["NUGET_"]);
    cmd.env("NUGET_PACKAGES", env.root().join("nuget-packages"))
        .env("NUGET_HTTP_CACHE_PATH", env.root().join("nuget-http-cache"));
    cmd
}

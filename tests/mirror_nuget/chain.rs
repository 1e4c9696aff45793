//! The packages of the `opp mirror nuget` tests: a chain A -> B -> C, where A's dependency
//! groups differ between net8.0 and netstandard2.0 (the latter adds D), each made as a real
//! `.nupkg` with its nuspec and described the same way in the test feed's registration.

#![allow(dead_code)] // each test file uses a part

use std::path::Path;

use crate::support;
use crate::support::cli::Env;
use crate::support::nuget_feed::FeedPackage;

/// (targetFramework or none, [(id, range)]).
pub type Group<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)]);

/// A package with these dependency groups, in its nuspec and in the feed's registration.
pub fn package(dir: &Path, id: &str, version: &str, groups: &[Group]) -> FeedPackage {
    let mut xml_groups = String::new();
    for (tfm, deps) in groups {
        match tfm {
            Some(t) => xml_groups.push_str(&format!("      <group targetFramework=\"{t}\">\n")),
            None => xml_groups.push_str("      <group>\n"),
        }
        for (dep, range) in *deps {
            xml_groups.push_str(&format!(
                "        <dependency id=\"{dep}\" version=\"{range}\" />\n"
            ));
        }
        xml_groups.push_str("      </group>\n");
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\">\n  \
         <metadata>\n    <id>{id}</id>\n    <version>{version}</version>\n    \
         <authors>opp tests</authors>\n    <description>{id} {version}</description>\n    \
         <dependencies>\n{xml_groups}    </dependencies>\n  </metadata>\n</package>\n"
    );
    let path =
        support::nuget::nupkg_with_nuspec(dir, &format!("{id}.{version}.nupkg"), id, &xml, version);
    let mut p = FeedPackage::new(id, version, &path);
    p.groups = groups
        .iter()
        .map(|(tfm, deps)| {
            (
                tfm.map(str::to_owned),
                deps.iter()
                    .map(|(d, r)| ((*d).to_owned(), (*r).to_owned()))
                    .collect(),
            )
        })
        .collect();
    p
}

/// The chain: A 1.0.0 (net8.0: B; .NETStandard2.0, spelled as nuget.org registrations do: B
/// and D), A 0.9.0; B 1.0.0 (C >= 1.0) and
/// B 1.1.0 (C >= 2.0), for any framework; C 1.0.0 and 2.0.0; D 1.0.0.
pub fn chain(env: &Env) -> Vec<FeedPackage> {
    let dir = env.root().join("built");
    let b = [("Opp.B", "[1.0.0, )")];
    let b_and_d = [("Opp.B", "[1.0.0, )"), ("Opp.D", "[1.0.0, )")];
    vec![
        package(&dir, "Opp.A", "0.9.0", &[]),
        package(
            &dir,
            "Opp.A",
            "1.0.0",
            &[(Some("net8.0"), &b), (Some(".NETStandard2.0"), &b_and_d)],
        ),
        package(&dir, "Opp.B", "1.0.0", &[(None, &[("Opp.C", "[1.0.0, )")])]),
        package(&dir, "Opp.B", "1.1.0", &[(None, &[("Opp.C", "[2.0.0, )")])]),
        package(&dir, "Opp.C", "1.0.0", &[]),
        package(&dir, "Opp.C", "2.0.0", &[]),
        package(&dir, "Opp.D", "1.0.0", &[]),
    ]
}

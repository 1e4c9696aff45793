//! `opp mirror nuget` against a NuGet v3 feed the test serves over HTTPS
//! (`support/nuget_feed.rs`), from packages it builds: a chain A -> B -> C, where A's
//! dependency groups differ between net8.0 and netstandard2.0 (the latter adds D). The feed is
//! first shown faithful with the real nuget.exe 5.8 (under mono) installing from it directly;
//! what opp mirrors is then installed by nuget.exe through `opp proxy` and compared byte for
//! byte with the direct install.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod support;

use std::path::{Path, PathBuf};

use support::cli::{Env, run_ok};
use support::nuget_feed::{Feed, FeedPackage};

/// (targetFramework or none, [(id, range)]).
type Group<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)]);

/// A package with these dependency groups, in its nuspec and in the feed's registration.
fn package(dir: &Path, id: &str, version: &str, groups: &[Group]) -> FeedPackage {
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

/// The chain: A 1.0.0 (net8.0: B; netstandard2.0: B and D), A 0.9.0; B 1.0.0 (C >= 1.0) and
/// B 1.1.0 (C >= 2.0), for any framework; C 1.0.0 and 2.0.0; D 1.0.0.
fn chain(env: &Env) -> Vec<FeedPackage> {
    let dir = env.root().join("built");
    let b = [("Opp.B", "[1.0.0, )")];
    let b_and_d = [("Opp.B", "[1.0.0, )"), ("Opp.D", "[1.0.0, )")];
    vec![
        package(&dir, "Opp.A", "0.9.0", &[]),
        package(
            &dir,
            "Opp.A",
            "1.0.0",
            &[(Some("net8.0"), &b), (Some("netstandard2.0"), &b_and_d)],
        ),
        package(&dir, "Opp.B", "1.0.0", &[(None, &[("Opp.C", "[1.0.0, )")])]),
        package(&dir, "Opp.B", "1.1.0", &[(None, &[("Opp.C", "[2.0.0, )")])]),
        package(&dir, "Opp.C", "1.0.0", &[]),
        package(&dir, "Opp.C", "2.0.0", &[]),
        package(&dir, "Opp.D", "1.0.0", &[]),
    ]
}

/// `nuget5 install ID -Framework TFM -Source SOURCE -OutputDirectory OUT` straight from the
/// feed (mono trusting its CA); returns the package directories it made, sorted.
fn nuget_install_direct(
    env: &Env,
    feed: &Feed,
    id: &str,
    framework: &str,
    out: &Path,
) -> Vec<String> {
    feed.trust_for_mono(&env.config_home());
    run_ok(
        support::nuget::nuget5(env)
            .args(["install", id, "-Framework", framework, "-Source"])
            .arg(feed.index_url())
            .arg("-OutputDirectory")
            .arg(out)
            .arg("-NonInteractive")
            .current_dir(env.root()),
    );
    installed(out)
}

/// The package directories under `out` (`Opp.A.1.0.0` ...), sorted.
fn installed(out: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

fn nupkg_in(out: &Path, dir: &str) -> PathBuf {
    out.join(dir).join(format!("{dir}.nupkg"))
}

#[test]
fn nuget_installs_the_chain_from_the_test_feed_choosing_groups_per_framework() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    for (framework, want) in [
        (
            "net48",
            vec!["Opp.A.1.0.0", "Opp.B.1.0.0", "Opp.C.1.0.0", "Opp.D.1.0.0"],
        ),
        ("net8.0", vec!["Opp.A.1.0.0", "Opp.B.1.0.0", "Opp.C.1.0.0"]),
    ] {
        let out = env.root().join(format!("direct-{framework}"));
        let got = nuget_install_direct(&env, &feed, "Opp.A", framework, &out);
        assert_eq!(got, want, "{framework}");
        for dir in &got {
            let original = packages
                .iter()
                .find(|p| format!("{}.{}", p.id, p.version) == *dir)
                .unwrap();
            assert_eq!(
                std::fs::read(nupkg_in(&out, dir)).unwrap(),
                std::fs::read(&original.path).unwrap(),
                "{dir}"
            );
        }
    }
    let requested = feed.requested();
    assert!(
        requested
            .iter()
            .any(|p| p.starts_with("/v3/registration/opp.b/page/")),
        "nuget.exe never read a linked registration page: {requested:?}"
    );
}

//! The closure on hand-written registrations: groups per framework, NuGet's lowest choice for
//! dependencies, the newest for requests, pre-release and unlisted rules, missing data.

use super::*;
use crate::ecosystem::nuget::NugetVersion;
use crate::mirror::nuget::registration::{Dependency, Group};

/// `(targetFramework or "", [(id, range)])`.
type G<'a> = (&'a str, &'a [(&'a str, &'a str)]);

fn entry(id: &str, version: &str, listed: bool, groups: &[G]) -> Entry {
    Entry {
        id: id.into(),
        version: NugetVersion::parse(version).unwrap(),
        listed,
        groups: groups
            .iter()
            .map(|(tfm, deps)| Group {
                framework: Framework::parse(tfm),
                dependencies: deps
                    .iter()
                    .map(|(d, r)| Dependency {
                        id: (*d).into(),
                        range: Some(VersionRange::parse(r).unwrap()),
                    })
                    .collect(),
            })
            .collect(),
        content: None,
        sha512: None,
    }
}

/// The feed of tests/mirror_nuget.rs, plus a pre-release and an unlisted version.
fn known() -> Known {
    let b = [("Opp.B", "[1.0.0, )")];
    let bd = [("Opp.B", "[1.0.0, )"), ("Opp.D", "[1.0.0, )")];
    let all = vec![
        entry("Opp.A", "0.9.0", true, &[]),
        entry(
            "Opp.A",
            "1.0.0",
            true,
            &[("net8.0", &b), ("netstandard2.0", &bd)],
        ),
        entry("Opp.A", "2.0.0-beta", true, &[]),
        entry("Opp.B", "1.0.0", true, &[("", &[("Opp.C", "[1.0.0, )")])]),
        entry("Opp.B", "1.1.0", true, &[("", &[("Opp.C", "[2.0.0, )")])]),
        entry("Opp.C", "1.0.0", true, &[]),
        entry("Opp.C", "2.0.0", true, &[]),
        entry("Opp.C", "3.0.0", false, &[]),
        entry("Opp.D", "1.0.0", true, &[]),
    ];
    let mut known = Known::default();
    for e in all {
        known
            .registrations
            .entry(e.id.to_ascii_lowercase())
            .or_insert_with(|| Ok(Vec::new()))
            .as_mut()
            .unwrap()
            .push(e);
    }
    known
}

fn request(id: &str, range: Option<&str>) -> Request {
    Request {
        id: id.into(),
        range: range.map(|r| VersionRange::parse(r).unwrap()),
        lowest: false,
    }
}

fn options(frameworks: &[&str]) -> Options {
    Options {
        frameworks: frameworks
            .iter()
            .map(|f| Tfm::parse_target(f).unwrap())
            .collect(),
        ..Options::default()
    }
}

/// `id version` of every chosen entry.
fn chosen(requests: &[Request], options: &Options) -> Vec<String> {
    let plan = resolve(requests, options, &known()).expect("everything is known");
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    plan.chosen
        .iter()
        .map(|e| format!("{} {}", e.id, e.version))
        .collect()
}

#[test]
fn each_framework_takes_its_nearest_group_and_dependencies_their_lowest_match() {
    let a = [request("Opp.A", None)];
    let rows: &[(&[&str], &[&str])] = &[
        (&["net8.0"], &["Opp.A 1.0.0", "Opp.B 1.0.0", "Opp.C 1.0.0"]),
        (
            &["net48"],
            &["Opp.A 1.0.0", "Opp.B 1.0.0", "Opp.C 1.0.0", "Opp.D 1.0.0"],
        ),
        (
            &["net8.0", "netstandard2.0"],
            &["Opp.A 1.0.0", "Opp.B 1.0.0", "Opp.C 1.0.0", "Opp.D 1.0.0"],
        ),
        // netcoreapp2.0 reads the netstandard2.0 group.
        (
            &["netcoreapp2.0"],
            &["Opp.A 1.0.0", "Opp.B 1.0.0", "Opp.C 1.0.0", "Opp.D 1.0.0"],
        ),
        // net45 has no compatible group: A alone.
        (&["net45"], &["Opp.A 1.0.0"]),
        // No framework: every group.
        (
            &[],
            &["Opp.A 1.0.0", "Opp.B 1.0.0", "Opp.C 1.0.0", "Opp.D 1.0.0"],
        ),
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(frameworks, want)| {
            let got = chosen(&a, &options(frameworks));
            (got != *want).then(|| format!("{frameworks:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_requested_range_mirrors_its_newest_match_unless_lowest() {
    let a = [request("Opp.A", Some("[0.9.0, 2.0.0)"))];
    let mut opts = options(&["net45"]);
    assert_eq!(chosen(&a, &opts), ["Opp.A 1.0.0"]);
    opts.lowest = true;
    assert_eq!(chosen(&a, &opts), ["Opp.A 0.9.0"]);
}

#[test]
fn prereleases_come_only_when_asked_or_named_and_unlisted_versions_only_when_pinned() {
    let net45 = options(&["net45"]);
    assert_eq!(chosen(&[request("Opp.A", None)], &net45), ["Opp.A 1.0.0"]);
    let pre = Options {
        prerelease: true,
        ..net45.clone()
    };
    assert_eq!(
        chosen(&[request("Opp.A", None)], &pre),
        ["Opp.A 2.0.0-beta"]
    );
    assert_eq!(
        chosen(&[request("Opp.A", Some("[2.0.0-beta, )"))], &net45),
        ["Opp.A 2.0.0-beta"]
    );
    // Opp.C 3.0.0 is unlisted: never the newest, but a pin takes it.
    assert_eq!(chosen(&[request("Opp.C", None)], &net45), ["Opp.C 2.0.0"]);
    assert_eq!(
        chosen(&[request("Opp.C", Some("[3.0.0]"))], &net45),
        ["Opp.C 3.0.0"]
    );
}

#[test]
fn what_is_not_known_yet_is_asked_for_and_what_cannot_match_is_a_fatal_problem() {
    let mut partial = Known::default();
    let a = known().registrations.remove("opp.a").unwrap();
    partial.registrations.insert("opp.a".into(), a);
    let needs = resolve(&[request("Opp.A", None)], &options(&["net48"]), &partial).unwrap_err();
    assert_eq!(needs, BTreeSet::from(["opp.b".into(), "opp.d".into()]));

    let plan = resolve(
        &[request("Opp.C", Some("[3.0.0, 4.0.0)"))],
        &options(&["net48"]),
        &known(),
    )
    .unwrap();
    assert!(plan.chosen.is_empty());
    assert_eq!(
        plan.problems,
        [Problem {
            message: "no version of Opp.C matches [3.0.0, 4.0.0) (wanted by the command line); \
                      only unlisted versions match: pin one, e.g. ID@[VERSION]"
                .into(),
            fatal: true,
        }]
    );
}

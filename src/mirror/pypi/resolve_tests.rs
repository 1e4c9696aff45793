//! The closure on recorded metadata, with no network: a small universe of projects (requests'
//! real Requires-Dist among them) served to `resolve` through the same need-and-call-again
//! loop the command uses.

use std::str::FromStr;

use reqwest::Url;

use super::*;
use crate::mirror::pypi::choose::prune;
use crate::mirror::pypi::metadata;

struct Release {
    name: &'static str,
    version: &'static str,
    files: &'static [&'static str],
    requires_python: Option<&'static str>,
    yanked: bool,
    requires_dist: &'static [&'static str],
}

const fn rel(
    name: &'static str,
    version: &'static str,
    files: &'static [&'static str],
    requires_dist: &'static [&'static str],
) -> Release {
    Release {
        name,
        version,
        files,
        requires_python: None,
        yanked: false,
        requires_dist,
    }
}

const PURE: &[&str] = &["py3-none-any.whl", "tar.gz"];

fn universe() -> Vec<Release> {
    vec![
        rel(
            "requests",
            "2.32.3",
            PURE,
            &[
                "charset-normalizer<4,>=2",
                "idna<4,>=2.5",
                "urllib3<3,>=1.21.1",
                "certifi>=2017.4.17",
                "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
                "chardet<6,>=3.0.2; extra == \"use-chardet-on-py3\"",
            ],
        ),
        rel(
            "charset-normalizer",
            "3.3.2",
            &[
                "cp312-cp312-win_amd64.whl",
                "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "py3-none-any.whl",
                "tar.gz",
            ],
            &[],
        ),
        rel("idna", "3.7", PURE, &[]),
        rel("idna", "4.0", PURE, &[]),
        rel(
            "urllib3",
            "2.2.2",
            PURE,
            &["brotli>=1.0.9; platform_python_implementation == 'CPython' and extra == 'brotli'"],
        ),
        rel("certifi", "2024.7.4", PURE, &[]),
        rel("pysocks", "1.7.1", &["py3-none-any.whl"], &[]),
        rel("chardet", "5.2.0", PURE, &[]),
        rel(
            "app",
            "1.0",
            PURE,
            &[
                "lib>=1",
                "winonly; sys_platform == 'win32'",
                "backport; python_version < '3.9'",
            ],
        ),
        rel("lib", "1.0", PURE, &[]),
        Release {
            requires_python: Some(">=3.10"),
            ..rel("lib", "1.5", PURE, &[])
        },
        Release {
            yanked: true,
            ..rel("lib", "1.6", PURE, &[])
        },
        rel("lib", "2.0b1", PURE, &[]),
        rel("winonly", "1.0", &["py3-none-win_amd64.whl"], &[]),
        rel("backport", "1.0", PURE, &[]),
        rel("old-user", "1.0", PURE, &["lib<1.2"]),
        rel("new-user", "1.0", PURE, &["lib>=1.5"]),
        // `top` 2.0 pulls `extra-dep`; `pinner` wants top<2, so top 1.0 wins and extra-dep
        // must drop out again.
        rel("top", "1.0", PURE, &[]),
        rel("top", "2.0", PURE, &["extra-dep"]),
        rel("pinner", "1.0", PURE, &["top<2"]),
        rel("extra-dep", "1.0", PURE, &[]),
    ]
}

/// Answers needs from the universe until the plan is complete; returns the plan.
fn run(requests: &[Request], options: &Options) -> Plan {
    answering(requests, options, usize::MAX).0
}

/// [`run`], answering at most `per_call` needs per call, the last first (fetches answer one
/// by one, in any order); also returns every release offered as tentative on the way.
fn answering(requests: &[Request], options: &Options, per_call: usize) -> (Plan, Vec<String>) {
    let universe = universe();
    let mut known = Known::default();
    let mut tentative = BTreeSet::new();
    for _ in 0..200 {
        match resolve(requests, options, &known, &BTreeSet::new()) {
            Ok(plan) => return (plan, tentative.into_iter().collect()),
            Err(pending) => {
                tentative.extend(
                    pending
                        .tentative
                        .iter()
                        .map(|p| format!("{} {}", p.package, p.version)),
                );
                for need in pending.needs.into_iter().rev().take(per_call) {
                    match need {
                        Need::Page(name) => {
                            let files: Vec<IndexFile> = universe
                                .iter()
                                .filter(|r| r.name == name)
                                .flat_map(|r| {
                                    r.files.iter().map(move |suffix| {
                                        let sep = if *suffix == "tar.gz" { "." } else { "-" };
                                        // Wheel names escape `-` in the project name (`charset_normalizer-...`).
                                        let project = if sep == "-" {
                                            r.name.replace('-', "_")
                                        } else {
                                            r.name.to_owned()
                                        };
                                        let file_name =
                                            format!("{project}-{}{sep}{suffix}", r.version);
                                        IndexFile {
                                            url: Url::parse(&format!(
                                                "https://files.test/{file_name}"
                                            ))
                                            .unwrap(),
                                            sha256: Some(format!("{:0>64}", file_name.len())),
                                            file_name,
                                            requires_python: r.requires_python.map(str::to_owned),
                                            yanked: r.yanked,
                                            metadata: Some(None),
                                            size: Some(1),
                                        }
                                    })
                                })
                                .collect();
                            // As the command keeps it.
                            let page = if files.is_empty() {
                                Err("the upstream index has no such project".to_owned())
                            } else {
                                Ok(prune(&name, files, options))
                            };
                            known.pages.insert(name, page);
                        }
                        Need::Metadata(name, version) => {
                            let r = universe
                                .iter()
                                .find(|r| {
                                    r.name == name
                                        && Version::from_str(r.version).unwrap() == version
                                })
                                .unwrap();
                            let text: String = r
                                .requires_dist
                                .iter()
                                .map(|d| format!("Requires-Dist: {d}\n"))
                                .collect();
                            known.metadata.insert(
                                (name, version),
                                Ok(metadata::parse(
                                    format!("Metadata-Version: 2.1\n{text}").as_bytes(),
                                )),
                            );
                        }
                    }
                }
            }
        }
    }
    panic!("the closure did not finish in 200 calls");
}

fn request(spec: &str) -> Request {
    let r = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(spec).unwrap();
    Request {
        name: normalize_name(r.name.as_ref()),
        extras: r.extras,
        specifiers: match r.version_or_url {
            Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => s,
            _ => VersionSpecifiers::empty(),
        },
        marker: r.marker,
        hashes: Vec::new(),
        follow: true,
        origin: "command line".into(),
    }
}

fn envs(pythons: &[(u8, u8)], platforms: &[&str]) -> Options {
    let platforms: Vec<String> = platforms.iter().map(|s| s.to_string()).collect();
    Options {
        environments: Environment::all(pythons, &platforms),
        ..Options::default()
    }
}

/// `name version` of every planned file's release, sorted and deduplicated.
fn releases(plan: &Plan) -> Vec<String> {
    let set: BTreeSet<String> = plan
        .files
        .iter()
        .map(|p| format!("{} {}", p.package, p.version))
        .collect();
    set.into_iter().collect()
}

fn file_names(plan: &Plan, package: &str) -> Vec<String> {
    plan.files
        .iter()
        .filter(|p| p.package == package)
        .map(|p| p.file.file_name.clone())
        .collect()
}

#[test]
fn requests_closes_over_its_dependencies_at_their_newest_matching_versions() {
    let plan = run(&[request("requests==2.32.3")], &Options::default());
    assert_eq!(
        releases(&plan),
        [
            "certifi 2024.7.4",
            "charset-normalizer 3.3.2",
            "idna 3.7",
            "requests 2.32.3",
            "urllib3 2.2.2"
        ]
    );
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    // No targets: every file of each chosen version.
    assert_eq!(file_names(&plan, "charset-normalizer").len(), 4);
}

#[test]
fn a_tentative_choice_can_change_before_the_closure_settles() {
    // top 2.0's dependencies are known before pinner's `top<2` arrives: 2.0 is offered as
    // tentative, then the settled plan has top 1.0 and not what 2.0 pulled in. Choices are
    // not monotonic, so only work that leaves nothing visible may start on a tentative one.
    let (plan, tentative) = answering(&[request("top"), request("pinner")], &envs(&[], &[]), 1);
    assert!(tentative.contains(&"top 2.0".to_owned()), "{tentative:?}");
    assert_eq!(releases(&plan), ["pinner 1.0", "top 1.0"]);
    // Answering everything at once settles on the same plan.
    assert_eq!(
        releases(&run(
            &[request("top"), request("pinner")],
            &Options::default()
        )),
        ["pinner 1.0", "top 1.0"]
    );
}

#[test]
fn extras_are_followed_only_when_asked() {
    let plan = run(&[request("requests[socks]==2.32.3")], &Options::default());
    assert!(releases(&plan).contains(&"pysocks 1.7.1".to_owned()));
    assert!(!releases(&plan).contains(&"chardet 5.2.0".to_owned()));
}

#[test]
fn markers_bring_a_dependency_only_for_the_targets_that_need_it() {
    type Case<'a> = (&'a [(u8, u8)], &'a [&'a str], bool, bool);
    let cases: [Case<'_>; 5] = [
        // (pythons, platforms, wants winonly, wants backport)
        (&[(3, 8)], &["win_amd64"], true, true),
        (&[(3, 12)], &["manylinux_2_17_x86_64"], false, false),
        (
            &[(3, 12)],
            &["win_amd64", "manylinux_2_17_x86_64"],
            true,
            false,
        ),
        (&[(3, 8), (3, 12)], &["manylinux_2_17_x86_64"], false, true),
        (&[], &[], true, true),
    ];
    let mut failures = Vec::new();
    for (pythons, platforms, winonly, backport) in cases {
        let plan = run(&[request("app")], &envs(pythons, platforms));
        let got = releases(&plan);
        let has = |r: &str| got.iter().any(|g| g == r);
        if has("winonly 1.0") != winonly || has("backport 1.0") != backport {
            failures.push(format!("{pythons:?} {platforms:?}: {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn targets_choose_files_and_versions_by_tags_and_requires_python() {
    let plan = run(
        &[request("app")],
        &envs(&[(3, 8), (3, 12)], &["manylinux_2_17_x86_64"]),
    );
    // lib 1.5 needs python >= 3.10: 3.8 gets 1.0, 3.12 gets 1.5; yanked 1.6 and the 2.0b1
    // pre-release are never chosen.
    let got = releases(&plan);
    assert!(
        got.contains(&"lib 1.0".to_owned()) && got.contains(&"lib 1.5".to_owned()),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|r| r == "lib 1.6" || r == "lib 2.0b1"),
        "{got:?}"
    );
    let plan = run(
        &[request("charset-normalizer")],
        &envs(&[(3, 12)], &["win_amd64"]),
    );
    let mut files = file_names(&plan, "charset-normalizer");
    files.sort();
    assert_eq!(
        files,
        [
            "charset-normalizer-3.3.2.tar.gz",
            "charset_normalizer-3.3.2-cp312-cp312-win_amd64.whl",
            "charset_normalizer-3.3.2-py3-none-any.whl",
        ]
    );
}

#[test]
fn only_binary_drops_sdists_and_all_files_keeps_every_file() {
    let mut options = envs(&[(3, 12)], &["win_amd64"]);
    options.binary.only_binary_all = true;
    let plan = run(&[request("charset-normalizer")], &options);
    assert_eq!(file_names(&plan, "charset-normalizer").len(), 2);
    options.all_files = true;
    let plan = run(&[request("charset-normalizer")], &options);
    assert_eq!(file_names(&plan, "charset-normalizer").len(), 3);
}

#[test]
fn yanked_and_pre_releases_are_chosen_only_when_pinned_or_asked() {
    let got = releases(&run(&[request("lib==1.6")], &Options::default()));
    assert_eq!(got, ["lib 1.6"]);
    let got = releases(&run(&[request("lib")], &Options::default()));
    assert_eq!(got, ["lib 1.5"]);
    let pre = Options {
        pre: true,
        ..Options::default()
    };
    assert_eq!(releases(&run(&[request("lib")], &pre)), ["lib 2.0b1"]);
}

#[test]
fn a_conflict_mirrors_each_edges_newest_and_is_reported() {
    let plan = run(
        &[request("old-user"), request("new-user")],
        &Options::default(),
    );
    let got = releases(&plan);
    assert!(
        got.contains(&"lib 1.0".to_owned()) && got.contains(&"lib 1.5".to_owned()),
        "{got:?}"
    );
    assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
    assert!(!plan.problems[0].fatal);
    assert!(
        plan.problems[0]
            .message
            .starts_with("no version of lib satisfies every requirement"),
        "{}",
        plan.problems[0].message
    );
}

#[test]
fn the_fixed_point_drops_what_a_superseded_choice_pulled_in() {
    let got = releases(&run(
        &[request("top"), request("pinner")],
        &Options::default(),
    ));
    assert_eq!(got, ["pinner 1.0", "top 1.0"]);
}

#[test]
fn an_unknown_project_is_a_fatal_problem_naming_who_wanted_it() {
    let plan = run(&[request("no-such-thing>=1")], &Options::default());
    assert!(plan.files.is_empty());
    assert_eq!(plan.problems.len(), 1);
    assert!(plan.problems[0].fatal);
    assert_eq!(
        plan.problems[0].message,
        "no-such-thing: the upstream index has no such project (wanted by command line: >=1)"
    );
}

#[test]
fn hashes_keep_only_the_files_they_name_and_a_wrong_one_names_the_files() {
    let mut r = request("idna==3.7");
    r.follow = false;
    // The recorded universe's sha256 is the file name's length, zero-padded.
    r.hashes = vec![format!("{:0>64}", "idna-3.7-py3-none-any.whl".len())];
    let plan = run(std::slice::from_ref(&r), &Options::default());
    assert_eq!(file_names(&plan, "idna"), ["idna-3.7-py3-none-any.whl"]);
    r.hashes = vec!["ab".repeat(32)];
    let plan = run(&[r], &Options::default());
    assert!(plan.files.is_empty());
    assert!(plan.problems[0].fatal);
    assert!(
        plan.problems[0]
            .message
            .contains("idna-3.7-py3-none-any.whl (sha256 0000"),
        "{}",
        plan.problems[0].message
    );
}

#[test]
fn a_page_keeps_what_a_target_installs_and_where_dependencies_are_read_from() {
    let file = |name: &str, size: u64, metadata: bool| IndexFile {
        url: Url::parse(&format!("https://files.test/{name}")).unwrap(),
        file_name: name.to_owned(),
        sha256: None,
        requires_python: None,
        yanked: false,
        metadata: metadata.then_some(None),
        size: Some(size),
    };
    let page = vec![
        file("demo-1.0-cp312-cp312-win_amd64.whl", 5, false),
        // 1.0's smallest wheel, and its first with PEP 658 metadata.
        file("demo-1.0-cp312-cp312-macosx_11_0_arm64.whl", 3, false),
        file("demo-1.0-cp312-cp312-musllinux_1_1_x86_64.whl", 9, true),
        // What the target installs.
        file("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", 7, true),
        file("demo-1.0-cp311-cp311-win32.whl", 4, true),
        file("demo-1.0.tar.gz", 8, false),
        // 0.9's only wheel.
        file("demo-0.9-cp312-cp312-win_amd64.whl", 6, false),
    ];
    let kept: Vec<String> = prune(
        "demo",
        page.clone(),
        &envs(&[(3, 12)], &["manylinux_2_17_x86_64"]),
    )
    .into_iter()
    .map(|f| f.file_name)
    .collect();
    assert_eq!(
        kept,
        [
            "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl",
            "demo-1.0-cp312-cp312-musllinux_1_1_x86_64.whl",
            "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "demo-1.0.tar.gz",
            "demo-0.9-cp312-cp312-win_amd64.whl",
        ]
    );
    // Without targets, or with --all-files, every file is a candidate.
    assert_eq!(prune("demo", page.clone(), &Options::default()), page);
    let all_files = Options {
        all_files: true,
        ..envs(&[(3, 12)], &["manylinux_2_17_x86_64"])
    };
    assert_eq!(prune("demo", page.clone(), &all_files), page);
}

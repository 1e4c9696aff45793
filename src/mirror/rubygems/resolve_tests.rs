//! The gem closure on hand-written `/info` bodies: requirements narrowing a choice, a newer
//! choice dropping what an older one pulled in, platforms, `--ruby-version`, pre-releases,
//! conflicts and gems the source does not have.

use super::*;
use crate::ecosystem::rubygems::parse_requirement;
use crate::mirror::rubygems::info;

fn known(infos: &[(&str, &str)]) -> Known {
    infos
        .iter()
        .map(|(name, body)| {
            let sum = "ab".repeat(32);
            let body = format!("---\n{}", body.replace("SUM", &sum));
            ((*name).to_owned(), Ok(info::parse(&body).0))
        })
        .collect()
}

fn request(name: &str, req: &str) -> Request {
    Request {
        name: name.to_owned(),
        requirement: if req.is_empty() {
            Requirement::default()
        } else {
            parse_requirement(req).unwrap()
        },
        origin: "command line".to_owned(),
    }
}

fn files(plan: &Plan) -> Vec<String> {
    plan.files
        .iter()
        .map(|p| p.line.file_name(&p.name))
        .collect()
}

fn chain() -> Known {
    known(&[
        ("a", "1.0.0 b:~> 1.2|checksum:SUM\n"),
        (
            "b",
            "1.1.0 |checksum:SUM\n\
             1.3.0 c:>= 1&< 2|checksum:SUM\n\
             1.4.0 c:>= 1&< 2,d:>= 0|checksum:SUM,ruby:>= 9.0\n\
             2.0.0 |checksum:SUM\n",
        ),
        (
            "c",
            "1.0.0 |checksum:SUM\n\
             1.5.0 |checksum:SUM\n\
             1.5.0-x86_64-linux |checksum:SUM\n\
             1.6.0.rc1 |checksum:SUM\n\
             2.0.0 |checksum:SUM\n",
        ),
        ("d", "1.0.0 |checksum:SUM\n"),
    ])
}

#[test]
fn asks_for_each_info_file_it_reaches() {
    let all = chain();
    let mut partial = Known::new();
    assert_eq!(
        resolve(&[request("a", "")], &Options::default(), &partial).unwrap_err(),
        ["a"]
    );
    partial.insert("a".into(), all["a"].clone());
    assert_eq!(
        resolve(&[request("a", "")], &Options::default(), &partial).unwrap_err(),
        ["b"]
    );
}

#[test]
fn the_newest_version_meeting_every_requirement_and_every_platform_without_targets() {
    let plan = resolve(&[request("a", "")], &Options::default(), &chain()).unwrap();
    assert_eq!(
        files(&plan),
        [
            "a-1.0.0.gem",
            "b-1.4.0.gem",
            "c-1.5.0-x86_64-linux.gem",
            "c-1.5.0.gem",
            "d-1.0.0.gem"
        ]
    );
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
}

#[test]
fn the_ruby_version_excludes_what_it_cannot_run_and_what_only_that_pulled_in() {
    let options = Options {
        ruby: Some("3.1".into()),
        ..Options::default()
    };
    let plan = resolve(&[request("a", "")], &options, &chain()).unwrap();
    assert_eq!(
        files(&plan),
        [
            "a-1.0.0.gem",
            "b-1.3.0.gem",
            "c-1.5.0-x86_64-linux.gem",
            "c-1.5.0.gem"
        ]
    );
}

#[test]
fn a_platform_takes_its_native_gem_where_there_is_one_else_the_plain_gem() {
    let mut failures = Vec::new();
    for (platform, want) in [
        ("x86_64-linux", "c-1.5.0-x86_64-linux.gem"),
        ("arm64-darwin", "c-1.5.0.gem"),
        ("ruby", "c-1.5.0.gem"),
    ] {
        let options = Options {
            platforms: vec![platform.into()],
            ruby: Some("3.1".into()),
            ..Options::default()
        };
        let got = files(&resolve(&[request("a", "")], &options, &chain()).unwrap());
        let expected = ["a-1.0.0.gem", "b-1.3.0.gem", want];
        if got != expected {
            failures.push(format!("{platform}: {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_requirement_from_the_command_line_narrows_a_dependency() {
    let requests = [request("a", ""), request("c", "< 1.5")];
    let options = Options {
        platforms: vec!["ruby".into()],
        ruby: Some("3.1".into()),
        ..Options::default()
    };
    let plan = resolve(&requests, &options, &chain()).unwrap();
    assert_eq!(files(&plan), ["a-1.0.0.gem", "b-1.3.0.gem", "c-1.0.0.gem"]);
}

#[test]
fn pre_releases_only_when_asked_or_named() {
    let pre = Options {
        pre: true,
        ..Options::default()
    };
    let got = files(&resolve(&[request("c", "~> 1.5")], &pre, &chain()).unwrap());
    assert_eq!(got, ["c-1.6.0.rc1.gem"]);
    let named = resolve(
        &[request("c", "= 1.6.0.rc1")],
        &Options::default(),
        &chain(),
    )
    .unwrap();
    assert_eq!(files(&named), ["c-1.6.0.rc1.gem"]);
}

#[test]
fn a_conflict_mirrors_each_side_and_says_so() {
    let requests = [request("c", "< 1.5"), request("c", ">= 2")];
    let plan = resolve(&requests, &Options::default(), &chain()).unwrap();
    assert_eq!(files(&plan), ["c-1.0.0.gem", "c-2.0.0.gem"]);
    assert_eq!(plan.problems.len(), 1);
    assert!(!plan.problems[0].fatal);
    assert!(
        plan.problems[0]
            .message
            .starts_with("no single version of c satisfies every requirement"),
        "{:?}",
        plan.problems
    );
}

#[test]
fn nothing_satisfying_or_a_missing_gem_is_fatal() {
    let plan = resolve(&[request("c", "> 9")], &Options::default(), &chain()).unwrap();
    assert_eq!(
        plan.problems,
        [Problem {
            fatal: true,
            message: "no version of c satisfies > 9 (command line)".into()
        }]
    );
    let mut k = chain();
    k.insert("gone".into(), Err("the source has no gem `gone`".into()));
    let plan = resolve(&[request("gone", "")], &Options::default(), &k).unwrap();
    assert_eq!(
        plan.problems,
        [Problem {
            fatal: true,
            message: "gone (wanted by command line): the source has no gem `gone`".into()
        }]
    );
}

#[test]
fn ruby_versions_admit_any_patch_release_of_a_minor() {
    let admits = |req: &str, ruby: &str| ruby_admits(&parse_requirement(req).unwrap(), ruby);
    assert!(admits(">= 3.1.2", "3.1"));
    assert!(admits("< 3.1.3", "3.1"));
    assert!(admits("~> 3.1.0", "3.1"));
    assert!(admits(">= 3.1.2, < 3.1.3", "3.1"));
    assert!(!admits(">= 3.2", "3.1"));
    assert!(!admits(">= 3.1.2", "3.1.1"));
    assert!(admits(">= 2.5, < 4", "3.1.1"));
}

//! Constraint parsing and matching, checked against go-versions' rules as Terraform uses them
//! (cases from its ruby-style tests and from running terraform 1.15 against a mirror).

use super::*;

fn c(s: &str) -> Constraint {
    parse_constraint(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn matching(constraint: &str, versions: &[&str]) -> Vec<String> {
    let constraint = c(constraint);
    versions
        .iter()
        .filter(|v| constraint.matches(v))
        .map(|v| v.to_string())
        .collect()
}

const VERSIONS: &[&str] = &[
    "0.9.0",
    "1.0.0",
    "1.2.0",
    "1.2.3",
    "1.2.9",
    "1.3.0",
    "1.9.9",
    "2.0.0",
    "2.0.0-beta.1",
    "1.3.0-rc.1",
];

#[test]
fn pessimistic_with_two_numbers_allows_minor_updates() {
    assert_eq!(
        matching("~> 1.2", VERSIONS),
        ["1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]
    );
    assert_eq!(matching("~> 1", VERSIONS), matching("~> 1.0", VERSIONS));
}

#[test]
fn pessimistic_with_three_numbers_allows_patch_updates() {
    assert_eq!(matching("~> 1.2.3", VERSIONS), ["1.2.3", "1.2.9"]);
    assert_eq!(matching("~>1.2.3", VERSIONS), ["1.2.3", "1.2.9"]);
}

#[test]
fn comparison_operators_and_their_intersection() {
    assert_eq!(
        matching(">= 1.2.3, < 2.0", VERSIONS),
        ["1.2.3", "1.2.9", "1.3.0", "1.9.9"]
    );
    assert_eq!(matching("> 1.9.9", VERSIONS), ["2.0.0"]);
    assert_eq!(matching("<= 1.0", VERSIONS), ["0.9.0", "1.0.0"]);
    assert_eq!(matching("!= 1.2.3, ~> 1.2.0", VERSIONS), ["1.2.0", "1.2.9"]);
}

#[test]
fn a_bare_version_is_exact_and_missing_numbers_are_zero() {
    assert_eq!(matching("1.2.3", VERSIONS), ["1.2.3"]);
    assert_eq!(matching("= 1.2", VERSIONS), ["1.2.0"]);
    assert_eq!(matching("1", VERSIONS), ["1.0.0"]);
}

#[test]
fn pre_releases_match_only_when_named_exactly() {
    assert!(
        matching(">= 1.0", VERSIONS)
            .iter()
            .all(|v| !v.contains('-'))
    );
    assert!(matching("", VERSIONS).iter().all(|v| !v.contains('-')));
    assert_eq!(matching("2.0.0-beta.1", VERSIONS), ["2.0.0-beta.1"]);
    assert_eq!(matching("= 1.3.0-rc.1", VERSIONS), ["1.3.0-rc.1"]);
    assert!(matching(">= 2.0.0-beta.1", VERSIONS) == ["2.0.0"]);
    assert!(
        matching("~> 1.3.0-rc.1", VERSIONS)
            .iter()
            .all(|v| !v.contains('-'))
    );
    // terraform 1.15: "no available releases match the given constraints".
    assert!(matching("0.1.0-beta.1, >= 0.1.0", &["0.1.0-beta.1"]).is_empty());
    assert_eq!(matching("1.3.0-rc.1, >= 1.0", VERSIONS), ["1.3.0-rc.1"]);
}

#[test]
fn build_metadata_counts_only_for_equality() {
    let versions = ["1.0.0+a", "1.0.0+b", "1.0.0"];
    assert_eq!(matching("1.0.0+a", &versions), ["1.0.0+a"]);
    assert_eq!(matching("1.0.0", &versions), ["1.0.0"]);
    assert_eq!(matching("!= 1.0.0+a", &versions), ["1.0.0+b", "1.0.0"]);
    assert_eq!(matching(">= 1.0.0+z", &versions).len(), 3);
}

#[test]
fn the_empty_constraint_admits_every_release() {
    assert_eq!(matching("  ", VERSIONS).len(), 8);
}

#[test]
fn invalid_constraints_say_what_is_wrong() {
    for (input, expected) in [
        ("=> 1.0", "did you mean `>=`"),
        ("=< 1.0", "did you mean `<=`"),
        ("v1.0", "`v` prefix"),
        (">= v1.0", "`v` prefix"),
        ("~>  1.0", "only one space"),
        ("1.0.0.0", "too many numbers"),
        ("1.x", "wildcards"),
        (">= 1.0 < 2.0", "expected `,`"),
        (">= 1.0,", "nothing follows"),
        (">=", "expected a version"),
        ("^1.0", "invalid operator `^`"),
        ("1..2", "empty number"),
        ("1.0.0-", "pre-release"),
    ] {
        let err = parse_constraint(input).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("`{input}`")), "{message}");
        assert!(message.contains(expected), "{input}: {message}");
    }
}

#[test]
fn the_canonical_form_is_what_terraform_writes_in_lock_files() {
    // Observed in lock files written by terraform 1.0.3: "~> 1.2" and ">= 1.0" -> ">= 1.0.0".
    assert_eq!(c("~> 1.2").to_string(), "~> 1.2");
    assert_eq!(c(">= 1.0").to_string(), ">= 1.0.0");
    assert_eq!(c("0.1.0-beta.1").to_string(), "0.1.0-beta.1");
    assert_eq!(c("~> 2").to_string(), "~> 2.0");
    assert_eq!(c("~> 1.2.3").to_string(), "~> 1.2.3");
    assert_eq!(
        c("< 3, >= 2.0, >= 2, != 2.5.0").to_string(),
        ">= 2.0.0, != 2.5.0, < 3.0.0"
    );
    assert_eq!(c("= 1.0.0+abc").to_string(), "1.0.0+abc");
    assert_eq!(c("").to_string(), "");
}

#[test]
fn the_newest_match_is_selected() {
    let versions: Vec<String> = VERSIONS.iter().map(|v| v.to_string()).collect();
    assert_eq!(
        select_version(&versions, &c("~> 1.2")).as_deref(),
        Some("1.9.9")
    );
    assert_eq!(select_version(&versions, &c("")).as_deref(), Some("2.0.0"));
    assert_eq!(
        select_version(&versions, &c("~> 1.2.4")).as_deref(),
        Some("1.2.9")
    );
    assert_eq!(select_version(&versions, &c("> 2.0.0")), None);
    let with_junk = vec!["latest".to_string(), "1.0.0".to_string()];
    assert_eq!(select_version(&with_junk, &c("")).as_deref(), Some("1.0.0"));
}

#[test]
fn versions_sort_newest_first_by_semver() {
    let mut versions: Vec<String> = [
        "1.10.0",
        "junk",
        "1.9.0",
        "2.0.0-rc.1",
        "2.0.0",
        "1.9.0+b",
        "1.9.0+a",
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    sort_newest_first(&mut versions);
    assert_eq!(
        versions,
        [
            "2.0.0",
            "2.0.0-rc.1",
            "1.10.0",
            "1.9.0+b",
            "1.9.0+a",
            "1.9.0",
            "junk"
        ]
    );
}

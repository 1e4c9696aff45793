//! `opp list` with no ecosystem, as a user runs it against the local store and against a
//! real registry holding packages of two ecosystems: one table with an ECOSYSTEM column, and
//! the same rows as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;

use support::cli::{Env, run_ok, stderr, stdout};
use support::fixtures::{self, SIX_WHEEL};
use support::registry::Registry;

/// Pushes the six wheel and a NuGet package, with `global` flags before the command.
fn push_two_ecosystems(env: &Env, global: &[&str]) {
    run_ok(
        env.opp()
            .args(global)
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    let nupkg = support::nuget::nupkg(&env.root().join("nupkgs"), "Acme.Tool", "2.1.0", &[]);
    run_ok(env.opp().args(global).args(["push", "nuget"]).arg(&nupkg));
}

const TABLE: &str = concat!(
    " ECOSYSTEM  PACKAGE    VERSIONS  LATEST\n",
    " pypi       six        1         1.16.0\n",
    " nuget      acme.tool  1         2.1.0\n",
);

fn check_listing(env: &Env, global: &[&str]) {
    let table = run_ok(env.opp().args(global).arg("list"));
    assert_eq!(stdout(&table), TABLE, "stderr: {}", stderr(&table));
    assert_eq!(stderr(&table), "");

    let json: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        env.opp().args(global).args(["list", "--json"]),
    )))
    .expect("opp list --json prints JSON");
    assert_eq!(
        json,
        serde_json::json!([
            {"ecosystem": "pypi", "package": "six", "versions": 1, "latest": "1.16.0"},
            {"ecosystem": "nuget", "package": "acme.tool", "versions": 1, "latest": "2.1.0"},
        ])
    );
}

#[test]
fn list_without_an_ecosystem_shows_every_ecosystem_of_the_local_store() {
    let env = Env::new();
    push_two_ecosystems(&env, &[]);
    check_listing(&env, &[]);
}

#[test]
fn list_without_an_ecosystem_shows_every_ecosystem_of_a_registry() {
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/acme", reg.host);
    push_two_ecosystems(&env, &["--registry", &registry]);
    check_listing(&env, &["--registry", &registry]);
    assert!(
        !Path::new(&env.store()).exists(),
        "the local store was used"
    );
}

#[test]
fn list_without_an_ecosystem_says_when_there_is_nothing() {
    let env = Env::new();
    let out = run_ok(env.opp().arg("list"));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!("no packages in {}\n", env.store().display())
    );
}

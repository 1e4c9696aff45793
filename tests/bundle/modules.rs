//! Terraform modules through a bundle: import moves `latest` as `opp push terraform-module`
//! does, to the highest release the target holds afterwards (never a pre-release, never merely
//! the last version imported), into a local store and into a registry; and `opp pull
//! terraform-module` without a version then unpacks that release.

use std::path::{Path, PathBuf};

use super::support::cli::{Env, run_ok};
use super::support::opentofu;
use super::support::registry::Registry;
use super::support::terraform;
use super::tags;

const MODULE: &str = "acme/greet/null";
const REPO: &str = "terraform-module/acme/greet/null";

/// A module tree whose `VERSION` file names `version`, so a pull shows which one it got.
fn module_of(env: &Env, version: &str) -> PathBuf {
    let dir = terraform::module_dir(&env.root().join(format!("module-{version}")));
    std::fs::write(dir.join("VERSION"), version).unwrap();
    dir
}

/// `opp push terraform-module` of each version into `env`'s store (or `registry`).
fn push(env: &Env, registry: Option<&str>, versions: &[&str]) {
    for v in versions {
        let mut cmd = env.opp();
        if let Some(host) = registry {
            cmd.args(["--registry", host]);
        }
        run_ok(
            cmd.args(["push", "terraform-module", MODULE, v])
                .arg(module_of(env, v)),
        );
    }
}

/// A bundle of 1.5.0, 2.0.0 and 2.1.0-rc.1 (a pre-release, which never gets `latest`).
fn bundle(source: &Env) -> PathBuf {
    push(source, None, &["1.5.0", "2.0.0", "2.1.0-rc.1"]);
    let bundle = source.root().join("modules.tar");
    run_ok(
        source
            .opp()
            .args(["export", &format!("terraform-module:{MODULE}"), "-o"])
            .arg(&bundle),
    );
    bundle
}

/// What `opp pull terraform-module MODULE` (no version) unpacks: its VERSION file.
fn pulled_version(env: &Env, registry: Option<&str>, dest: &Path) -> String {
    let mut cmd = env.opp();
    if let Some(host) = registry {
        cmd.args(["--registry", host]);
    }
    run_ok(
        cmd.args(["pull", "terraform-module", MODULE, "-o"])
            .arg(dest),
    );
    std::fs::read_to_string(dest.join("VERSION")).unwrap()
}

/// The digest each tag of the module's repository points at in a local store.
fn local_tag(store: &Path, tag: &str) -> String {
    tags(store)
        .into_iter()
        .find(|(repo, t, _)| repo == REPO && t == tag)
        .map(|(_, _, digest)| digest)
        .unwrap_or_else(|| panic!("no tag {tag} in {REPO}: {:?}", tags(store)))
}

#[test]
fn a_module_imported_into_a_store_with_an_older_version_moves_latest_to_the_newest() {
    let source = Env::new();
    let bundle = bundle(&source);
    let target = Env::new();
    push(&target, None, &["1.0.0"]);

    let out = run_ok(target.opp().args(["import", "--json"]).arg(&bundle));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let latest: Vec<&str> = report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["latest"] == true)
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(latest, ["2.0.0"], "{report}");

    let store = target.store();
    assert_eq!(local_tag(&store, "latest"), local_tag(&store, "2.0.0"));
    let dest = target.root().join("pulled");
    assert_eq!(pulled_version(&target, None, &dest), "2.0.0");
}

#[test]
fn a_module_imported_into_a_registry_with_a_newer_version_leaves_latest_at_the_newest() {
    let source = Env::new();
    let bundle = bundle(&source);
    let reg = Registry::start();
    let target = Env::new();
    push(&target, Some(&reg.host), &["3.0.0"]);

    let out = run_ok(
        target
            .opp()
            .args(["--registry", &reg.host, "import", "--json"])
            .arg(&bundle),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<(&str, &str)> = report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("1.5.0", "added"),
            ("2.0.0", "added"),
            ("2.1.0-rc.1", "added")
        ]
    );
    assert!(
        report["versions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.get("latest").is_none()),
        "{report}"
    );

    let latest = opentofu::fetch(&reg.host, REPO, "latest").digest;
    assert_eq!(latest, opentofu::fetch(&reg.host, REPO, "3.0.0").digest);
    opentofu::check_module_in_registry(&reg.host, REPO, "2.0.0").unwrap();
    let dest = target.root().join("pulled");
    assert_eq!(pulled_version(&target, Some(&reg.host), &dest), "3.0.0");
}

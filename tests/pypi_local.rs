//! PyPI end to end on the local store (no server): push real wheels and sdists from PyPI,
//! list, show, pull them back byte for byte, and install what was pulled with the real pip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{
    self, ATTRS_PRE_SDIST, ATTRS_WHEELS, MARKUPSAFE_WHEELS, SIX_SDIST, SIX_WHEEL,
};

fn same_bytes(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(x == y, "{} and {} differ", a.display(), b.display());
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn pushed_wheel_and_sdist_come_back_byte_for_byte_and_pip_installs_them() {
    let env = Env::new();
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);
    let sdist = fixtures::pypi_fixture(SIX_SDIST);
    let out = run_ok(env.opp().args(["push", "pypi"]).arg(&wheel).arg(&sdist));
    let err = stderr(&out);
    assert!(err.contains(&format!("pushed {SIX_WHEEL}")), "{err}");
    assert!(err.contains(&format!("pushed {SIX_SDIST}")), "{err}");

    // The local store is an OCI image layout per repository.
    let layout = env.store().join("pypi/six");
    assert!(layout.join("oci-layout").is_file());
    assert!(layout.join("index.json").is_file());

    let list = stdout(&run_ok(env.opp().args(["list", "pypi"])));
    assert!(list.contains("six") && list.contains("1.16.0"), "{list}");
    let show = stdout(&run_ok(env.opp().args(["show", "pypi", "six==1.16.0"])));
    assert!(
        show.contains(SIX_WHEEL) && show.contains(SIX_SDIST),
        "{show}"
    );
    assert!(
        show.contains("8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"),
        "{show}"
    );

    let dest = env.root().join("pulled");
    run_ok(env.opp().args(["pull", "pypi", "six", "-o"]).arg(&dest));
    assert_eq!(
        files_in(&dest),
        vec![SIX_WHEEL.to_owned(), SIX_SDIST.to_owned()]
    );
    same_bytes(&wheel, &dest.join(SIX_WHEEL));
    same_bytes(&sdist, &dest.join(SIX_SDIST));

    assert_eq!(env.pip_install_and_import(&dest, "six", "six"), "1.16.0");
}

#[test]
fn pushing_the_same_file_again_is_a_noop_that_says_so() {
    let env = Env::new();
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);
    run_ok(env.opp().args(["push", "pypi"]).arg(&wheel));
    let index = std::fs::read(env.store().join("pypi/six/index.json")).unwrap();
    let again = run_ok(env.opp().args(["push", "pypi"]).arg(&wheel));
    assert!(
        stderr(&again).contains("already in") && stderr(&again).contains("same bytes"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read(env.store().join("pypi/six/index.json")).unwrap(),
        index,
        "index.json changed"
    );
}

#[test]
fn other_bytes_under_a_stored_file_name_need_force_and_nothing_is_dropped() {
    let env = Env::new();
    let a = env.root().join("a");
    let b = env.root().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let first = fixtures::make_wheel(&a, "demo", "1.0.0", 0);
    let second = fixtures::make_wheel(&b, "demo", "1.0.0", 4096);
    assert_eq!(first.file_name(), second.file_name());
    let sdist_dir = env.root().join("c");
    std::fs::create_dir_all(&sdist_dir).unwrap();

    run_ok(env.opp().args(["push", "pypi"]).arg(&first));
    let refused = run_fail(env.opp().args(["push", "pypi"]).arg(&second));
    let msg = stderr(&refused);
    assert!(
        msg.contains("--force") && msg.contains("demo-1.0.0-py3-none-any.whl"),
        "{msg}"
    );
    let dest = env.root().join("out1");
    run_ok(env.opp().args(["pull", "pypi", "demo", "-o"]).arg(&dest));
    same_bytes(&first, &dest.join("demo-1.0.0-py3-none-any.whl"));

    run_ok(env.opp().args(["push", "pypi", "--force"]).arg(&second));
    let dest = env.root().join("out2");
    run_ok(env.opp().args(["pull", "pypi", "demo", "-o"]).arg(&dest));
    same_bytes(&second, &dest.join("demo-1.0.0-py3-none-any.whl"));
}

#[test]
fn files_pushed_separately_into_one_version_share_its_index() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_SDIST)),
    );
    let json = stdout(&run_ok(env.opp().args([
        "show",
        "pypi",
        "six==1.16.0",
        "--json",
    ])));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec![SIX_WHEEL, SIX_SDIST]);
}

#[test]
fn pull_picks_the_newest_version_matching_the_specifiers() {
    let env = Env::new();
    let mut push = env.opp();
    push.args(["push", "pypi"]);
    for f in ATTRS_WHEELS.iter().chain([&ATTRS_PRE_SDIST]) {
        push.arg(fixtures::pypi_fixture(f));
    }
    run_ok(&mut push);

    let pulled = |spec: &str, extra: &[&str]| -> Vec<String> {
        let dir = env.root().join(format!(
            "out-{}",
            spec.replace(['<', '>', '=', ',', '!', '~'], "_")
        ));
        run_ok(
            env.opp()
                .args(["pull", "pypi", spec, "-o"])
                .arg(&dir)
                .args(extra),
        );
        files_in(&dir)
    };
    assert_eq!(pulled("attrs", &[]), vec!["attrs-23.2.0-py3-none-any.whl"]);
    assert_eq!(
        pulled("attrs>=23,<23.2", &[]),
        vec!["attrs-23.1.0-py3-none-any.whl"]
    );
    assert_eq!(
        pulled("attrs==22.2.0", &[]),
        vec!["attrs-22.2.0-py3-none-any.whl"]
    );
    assert_eq!(
        pulled("attrs<16", &["--pre"]),
        vec![ATTRS_PRE_SDIST.to_owned()]
    );

    let none = run_fail(
        env.opp()
            .args(["pull", "pypi", "attrs<16", "-o"])
            .arg(env.root().join("none")),
    );
    assert_eq!(
        none.status.code(),
        Some(3),
        "not found has its own exit status"
    );
    assert!(stderr(&none).contains("--pre"), "{}", stderr(&none));
    assert!(!env.root().join("none").join(ATTRS_PRE_SDIST).exists());

    let list = stdout(&run_ok(env.opp().args(["list", "pypi", "attrs", "--json"])));
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let versions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        vec!["23.2.0", "23.1.0", "22.2.0", "15.0.0a1"],
        "newest first"
    );
}

#[test]
fn a_target_filter_keeps_only_the_files_pip_would_install_there() {
    let env = Env::new();
    let mut push = env.opp();
    push.args(["push", "pypi"]);
    for f in MARKUPSAFE_WHEELS {
        push.arg(fixtures::pypi_fixture(f));
    }
    run_ok(&mut push);
    let dir = env.root().join("linux311");
    run_ok(
        env.opp()
            .args([
                "pull",
                "pypi",
                "markupsafe==2.1.5",
                "--python-version",
                "3.11",
            ])
            .args(["--platform", "manylinux_2_17_x86_64", "-o"])
            .arg(&dir),
    );
    assert_eq!(
        files_in(&dir),
        vec!["MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    );
    same_bytes(
        &fixtures::pypi_fixture(MARKUPSAFE_WHEELS[0]),
        &dir.join(MARKUPSAFE_WHEELS[0]),
    );

    let all = env.root().join("all");
    run_ok(
        env.opp()
            .args(["pull", "pypi", "MarkupSafe", "-o"])
            .arg(&all),
    );
    assert_eq!(files_in(&all).len(), MARKUPSAFE_WHEELS.len());

    let none = run_fail(
        env.opp()
            .args([
                "pull",
                "pypi",
                "markupsafe",
                "--python-version",
                "3.12",
                "--platform",
                "win_arm64",
                "-o",
            ])
            .arg(env.root().join("none")),
    );
    assert_eq!(none.status.code(), Some(3));
    assert!(files_in(&env.root().join("none")).is_empty());
}

#[test]
fn list_and_show_print_tables_and_json() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi", "--json"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    let table = stdout(&run_ok(env.opp().args(["list", "pypi", "six"])));
    let header = table.lines().next().unwrap();
    for col in ["VERSION", "FILES", "SIZE", "CREATED"] {
        assert!(header.contains(col), "{table}");
    }
    let json: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        env.opp().args(["list", "pypi", "six", "--json"]),
    )))
    .unwrap();
    assert_eq!(json[0]["files"], 1);
    assert_eq!(
        json[0]["size"],
        std::fs::metadata(fixtures::pypi_fixture(SIX_WHEEL))
            .unwrap()
            .len()
    );

    let missing = run_fail(env.opp().args(["show", "pypi", "six==9.9"]));
    assert_eq!(missing.status.code(), Some(3));
    let missing = run_fail(env.opp().args(["list", "pypi", "nosuchpackage"]));
    assert_eq!(missing.status.code(), Some(3));
}

#[test]
fn two_processes_pushing_into_one_store_at_once_lose_nothing() {
    let env = Env::new();
    let dir = env.root().join("wheels");
    std::fs::create_dir_all(&dir).unwrap();
    let wheels: Vec<_> = (0..6)
        .map(|i| fixtures::make_wheel(&dir, "race", &format!("1.0.{i}"), 0))
        .collect();
    let children: Vec<_> = wheels
        .iter()
        .map(|w| {
            env.opp()
                .args(["push", "pypi", "--quiet"])
                .arg(w)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let json = stdout(&run_ok(env.opp().args(["list", "pypi", "race", "--json"])));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 6, "{json}");
}

#[test]
fn quiet_push_prints_nothing_and_json_push_reports_each_file() {
    let env = Env::new();
    let out = run_ok(
        env.opp()
            .args(["push", "pypi", "--quiet"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    assert!(stderr(&out).is_empty() && stdout(&out).is_empty());
    let out = run_ok(
        env.opp()
            .args(["push", "pypi", "--json", "-q"])
            .arg(fixtures::pypi_fixture(SIX_SDIST)),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["file"], SIX_SDIST);
    assert_eq!(v[0]["status"], "added");
    assert_eq!(
        v[0]["sha256"],
        "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"
    );
}

#[test]
fn processes_pushing_files_of_one_version_at_once_keep_every_file() {
    let env = Env::new();
    let children: Vec<_> = MARKUPSAFE_WHEELS
        .iter()
        .map(|w| {
            env.opp()
                .args(["push", "pypi", "--quiet"])
                .arg(fixtures::pypi_fixture(w))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let json = stdout(&run_ok(env.opp().args([
        "show",
        "pypi",
        "markupsafe==2.1.5",
        "--json",
    ])));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["files"].as_array().unwrap().len(),
        MARKUPSAFE_WHEELS.len(),
        "{json}"
    );
}

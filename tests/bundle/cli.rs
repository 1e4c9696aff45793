//! What the commands promise beside moving bytes: an exit status and one line naming the
//! thing for each refusal (a missing file, a name that says zstd when the bytes do not, a
//! refused version), the per-version report, `--since-index` as good as `--since`, and a
//! second import that sends nothing.

use std::path::Path;
use std::process::{Command, Output};

use super::support::cli::{Env, run_ok, stderr};
use super::support::fixtures::{self, SIX_WHEEL};
use super::support::registry::Registry;
use super::{bundle_json, full_and_delta, six_bundle, tags};

/// `opp` in `env`, with `args`, expected to exit with `code` and print `line` first.
struct Case<'a> {
    what: &'a str,
    args: Vec<String>,
    code: i32,
    line: String,
}

/// Runs `cmd`, whatever its exit status.
fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn each_refusal_exits_with_its_status_and_one_line_naming_the_file() {
    let source = Env::new();
    let (bundle, _) = six_bundle(&source);
    let dir = source.root();
    // A plain tar named .tar.zst, and a zstd one named .tar.
    let plain_named_zst = dir.join("plain.tar.zst");
    std::fs::copy(&bundle, &plain_named_zst).unwrap();
    let packed = dir.join("packed.tar.zst");
    run_ok(source.opp().args(["export", "pypi:six", "-o"]).arg(&packed));
    let zst_named_tar = dir.join("packed.tar");
    std::fs::copy(&packed, &zst_named_tar).unwrap();
    let missing = dir.join("missing.tar");
    let missing_json = dir.join("missing.tar.opp-bundle.json");
    let out = arg(&dir.join("out.tar"));

    let plain_line = format!(
        "error: {} is not zstd-compressed, but its name ends in .zst: rename it to {}",
        plain_named_zst.display(),
        dir.join("plain.tar").display()
    );
    let packed_line = format!(
        "error: {} is zstd-compressed, but its name does not end in .zst: rename it to {}.zst",
        zst_named_tar.display(),
        zst_named_tar.display()
    );
    let cases = [
        Case {
            what: "import of a missing file",
            args: vec!["import".into(), arg(&missing)],
            code: 3,
            line: format!("error: cannot open {}", missing.display()),
        },
        Case {
            what: "export --since a missing file",
            args: vec![
                "export".into(),
                "--all".into(),
                "--since".into(),
                arg(&missing),
                "-o".into(),
                out.clone(),
            ],
            code: 3,
            line: format!("error: cannot open {}", missing.display()),
        },
        Case {
            what: "export --since-index a missing file",
            args: vec![
                "export".into(),
                "--all".into(),
                "--since-index".into(),
                arg(&missing_json),
                "-o".into(),
                out.clone(),
            ],
            code: 3,
            line: format!("error: cannot read {}", missing_json.display()),
        },
        Case {
            what: "import of a plain tar named .zst",
            args: vec!["import".into(), arg(&plain_named_zst)],
            code: 1,
            line: plain_line.clone(),
        },
        Case {
            what: "import of a zstd tar named .tar",
            args: vec!["import".into(), arg(&zst_named_tar)],
            code: 1,
            line: packed_line.clone(),
        },
        Case {
            what: "export --since a zstd tar named .tar",
            args: vec![
                "export".into(),
                "--all".into(),
                "--since".into(),
                arg(&zst_named_tar),
                "-o".into(),
                out.clone(),
            ],
            code: 1,
            line: packed_line,
        },
    ];
    let target = Env::new();
    let mut failed = Vec::new();
    for case in &cases {
        let got = run(target.opp().args(&case.args));
        let first = stderr(&got).lines().next().unwrap_or_default().to_owned();
        if got.status.code() != Some(case.code) || first != case.line {
            failed.push(format!(
                "{}: exit {:?}, first line {first:?}; want exit {}, {:?}",
                case.what,
                got.status.code(),
                case.code,
                case.line
            ));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(
        !target.store().exists(),
        "a refused import wrote into the store"
    );
    assert!(
        !dir.join("out.tar").exists(),
        "a refused export left a bundle"
    );
}

#[test]
fn a_refused_version_is_reported_with_its_reason_beside_the_added_ones_and_exits_1() {
    let target = Env::new();
    let ours = fixtures::make_wheel(&target.root().join("ours"), "demo", "1.0", 4096);
    run_ok(target.opp().args(["push", "pypi"]).arg(&ours));
    let source = Env::new();
    let theirs = fixtures::make_wheel(&source.root().join("theirs"), "demo", "1.0", 8192);
    run_ok(
        source
            .opp()
            .args(["push", "pypi"])
            .arg(&theirs)
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    let bundle = source.root().join("both.tar");
    run_ok(
        source
            .opp()
            .args(["export", "pypi:demo", "pypi:six", "-o"])
            .arg(&bundle),
    );

    let out = run(target.opp().args(["import", "--json"]).arg(&bundle));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sha = |p: &Path| format!("sha256:{}", super::sha256_hex(&std::fs::read(p).unwrap()));
    let name = ours.file_name().unwrap().to_str().unwrap();
    let rows: Vec<(String, String, String)> = report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["package"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
                v["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "demo".to_owned(),
                "refused".to_owned(),
                format!(
                    "{name} is already stored with other content (stored {}, new {}); pass --force to replace it",
                    sha(&ours),
                    sha(&theirs)
                )
            ),
            ("six".to_owned(), "added".to_owned(), String::new()),
        ]
    );
}

#[test]
fn a_delta_from_the_old_bundles_index_equals_one_from_the_old_bundle() {
    let source = Env::new();
    let (full, delta, _) = full_and_delta(&source);
    let from_index = source.root().join("delta-from-index.tar");
    let mut index = full.as_os_str().to_owned();
    index.push(".opp-bundle.json");
    run_ok(
        source
            .opp()
            .args(["export", "--all", "--since-index"])
            .arg(&index)
            .arg("-o")
            .arg(&from_index),
    );
    let (a, b) = (bundle_json(&delta), bundle_json(&from_index));
    for key in ["base", "versions", "blobs", "ecosystems"] {
        assert_eq!(a[key], b[key], "{key} differs");
    }

    let target = Env::new();
    run_ok(target.opp().arg("import").arg(&full));
    run_ok(target.opp().arg("import").arg(&from_index));
    assert_eq!(tags(&target.store()), tags(&source.store()));
}

#[test]
fn importing_a_bundle_again_sends_no_blob_and_skips_every_version() {
    let source = Env::new();
    let (bundle, _) = six_bundle(&source);
    let reg = Registry::start();
    let target = Env::new();
    let import = || {
        let out = run_ok(
            target
                .opp()
                .args(["--registry", &reg.host, "import", "--json"])
                .arg(&bundle),
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = import();
    let stored = first["blobs_stored"].as_u64().unwrap();
    assert!(stored > 0, "{first}");
    let again = import();
    assert_eq!(again["blobs_stored"], 0, "{again}");
    assert_eq!(again["blobs_present"], stored, "{again}");
    let statuses: Vec<&str> = again["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["skipped"]);
}

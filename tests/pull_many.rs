//! `opp pull pypi` with several requirements at once, on the command line and from a
//! requirements file (pip's format): every pinned file arrives byte for byte; what cannot be
//! pulled by name, or a file whose digest no `--hash` allows, is refused with the file and line;
//! `opp pull nuget` takes several packages the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, ATTRS_WHEELS, MARKUPSAFE_WHEELS, SIX_WHEEL};
use support::registry::Registry;

/// six 1.16.0, attrs 23.1.0 and MarkupSafe 2.1.5 (one manylinux wheel): three projects.
const PINNED: [(&str, &str); 3] = [
    ("six==1.16.0", SIX_WHEEL),
    ("attrs==23.1.0", ATTRS_WHEELS[1]),
    ("MarkupSafe==2.1.5", MARKUPSAFE_WHEELS[0]),
];

/// Pushes the fixtures (every attrs release, so that a pin has something to choose from).
fn push_fixtures(env: &Env, store_args: &[&str]) {
    let mut cmd = env.opp();
    cmd.args(store_args).args(["push", "pypi"]);
    for file in [SIX_WHEEL, MARKUPSAFE_WHEELS[0]]
        .iter()
        .chain(ATTRS_WHEELS.iter())
    {
        cmd.arg(fixtures::pypi_fixture(file));
    }
    run_ok(&mut cmd);
}

/// Every pinned fixture is in `dir` with its original bytes, and nothing else is.
fn assert_pinned_files(dir: &Path) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("the output directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = PINNED.iter().map(|(_, f)| f.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
    for (_, file) in PINNED {
        assert!(
            std::fs::read(dir.join(file)).unwrap()
                == std::fs::read(fixtures::pypi_fixture(file)).unwrap(),
            "{file} differs from the fixture"
        );
    }
}

#[test]
fn three_pinned_requirements_in_one_command_arrive_byte_for_byte() {
    let reg = Registry::start();
    let env = Env::new();
    let store = ["--registry", &reg.host];
    push_fixtures(&env, &store);
    let out_dir = env.root().join("pulled");
    let out = run_ok(
        env.opp()
            .args(store)
            .args(["pull", "pypi"])
            .args(PINNED.map(|(r, _)| r))
            .arg("-o")
            .arg(&out_dir),
    );
    assert_pinned_files(&out_dir);
    assert!(
        stderr(&out).contains("pulled 3 of 3 requirements: 3 files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_requirements_file_pulls_each_pin_and_checks_its_hash() {
    let env = Env::new();
    push_fixtures(&env, &[]);
    let six = opp::digest::Digest::of(&std::fs::read(fixtures::pypi_fixture(SIX_WHEEL)).unwrap());
    let file = env.root().join("requirements.txt");
    std::fs::write(
        &file,
        format!(
            "# pinned by hand\n\
             six==1.16.0 \\\n    --hash=sha256:{}\n\
             \n\
             attrs==23.1.0   # not the newest\n\
             MarkupSafe==2.1.5\n",
            six.hex()
        ),
    )
    .unwrap();
    let out_dir = env.root().join("pulled");
    let out = run_ok(
        env.opp()
            .args(["pull", "pypi", "-r"])
            .arg(&file)
            .args(["--json", "-o"])
            .arg(&out_dir),
    );
    assert_pinned_files(&out_dir);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report.as_array().map(Vec::len), Some(3), "{report}");
}

#[test]
fn an_editable_line_is_refused_with_its_file_and_line_and_nothing_is_written() {
    let env = Env::new();
    push_fixtures(&env, &[]);
    let file = env.root().join("requirements.txt");
    std::fs::write(&file, "six==1.16.0\n-e ./src/mypkg\n").unwrap();
    let out_dir = env.root().join("pulled");
    let out = run_fail(
        env.opp()
            .args(["pull", "pypi", "-r"])
            .arg(&file)
            .arg("-o")
            .arg(&out_dir),
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: requirements file {}, line 2: `-e ./src/mypkg` is an editable install: opp \
             pulls packages from its store by name\n  hint: remove the line, or replace it by \
             the package's name\n",
            file.display()
        )),
        "{err}"
    );
    assert!(!out_dir.exists(), "something was written");
}

#[test]
fn a_file_no_hash_allows_is_not_written_and_the_others_are() {
    let env = Env::new();
    push_fixtures(&env, &[]);
    let file = env.root().join("requirements.txt");
    let wrong = "0".repeat(64);
    std::fs::write(
        &file,
        format!("six==1.16.0 --hash=sha256:{wrong}\nattrs==23.1.0\n"),
    )
    .unwrap();
    let out_dir = env.root().join("pulled");
    let out = run_fail(
        env.opp()
            .args(["pull", "pypi", "-r"])
            .arg(&file)
            .arg("-o")
            .arg(&out_dir),
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot pull {}:1", file.display()))
            && err.contains("none of the --hash values"),
        "{err}"
    );
    assert!(!out_dir.join(SIX_WHEEL).exists(), "six was written");
    assert!(out_dir.join(ATTRS_WHEELS[1]).is_file(), "attrs is missing");
}

#[test]
fn a_package_named_twice_is_refused() {
    let env = Env::new();
    let out = run_fail(env.opp().args(["pull", "pypi", "six==1.16.0", "Six>=1"]));
    assert!(
        stderr(&out).contains(
            "error: `six` is required twice (`six==1.16.0` and `Six>=1`)\n  \
             hint: give each package once\n"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn several_nuget_packages_in_one_command_arrive_byte_for_byte() {
    let env = Env::new();
    let dist = env.root().join("dist");
    let files = [
        support::nuget::nupkg(&dist, "Acme.One", "1.0.0", &[]),
        support::nuget::nupkg(&dist, "Acme.Two", "2.1.0", &[]),
    ];
    run_ok(env.opp().args(["push", "nuget"]).arg(&dist));
    let out_dir = env.root().join("pulled");
    let out = run_ok(
        env.opp()
            .args(["pull", "nuget", "Acme.One@1.0.0", "Acme.Two", "-o"])
            .arg(&out_dir),
    );
    for original in &files {
        let name = original
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase();
        let pulled = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().to_lowercase() == name)
            .unwrap_or_else(|| panic!("{name} was not pulled"));
        assert!(
            std::fs::read(&pulled).unwrap() == std::fs::read(original).unwrap(),
            "{name} differs"
        );
    }
    assert!(
        stderr(&out).contains("pulled 2 of 2 requirements: 2 files"),
        "{}",
        stderr(&out)
    );
}

//! Checks the shared test support itself: the real PyPI fixtures are installed, wheels built by
//! `make_wheel` install with the real pip, each bad-wheel builder is broken in the way it says,
//! and `cli::Env` isolates what it spawns. Not a test of opp.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, SIX_WHEEL};

#[test]
fn every_pypi_fixture_is_installed() {
    let dir = fixtures::pypi_fixture_dir();
    for name in fixtures::pypi_fixture_names() {
        let path = fixtures::pypi_fixture(name);
        assert_eq!(path.parent(), Some(dir.as_path()));
        let head = std::fs::read(&path).expect("read fixture");
        let magic: &[u8] = if name.ends_with(".whl") {
            b"PK\x03\x04"
        } else {
            b"\x1f\x8b"
        };
        assert!(head.starts_with(magic), "{name} is not a zip/gzip file");
    }
}

#[test]
#[should_panic(expected = "run scripts/install-test-deps.sh fixtures")]
fn a_missing_pypi_fixture_names_the_install_command() {
    fixtures::pypi_fixture("no-such-1.0-py3-none-any.whl");
}

#[test]
fn record_hash_matches_what_a_real_wheel_records() {
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);
    let record = member_text(&wheel, "six-1.16.0.dist-info/RECORD");
    let six_py = fixtures::zip_member(&wheel, "six.py").expect("six.py in the six wheel");
    let line = format!("six.py,{},{}", fixtures::record_hash(&six_py), six_py.len());
    assert!(
        record.lines().any(|l| l == line),
        "{line} not in RECORD:\n{record}"
    );
}

#[test]
fn make_wheel_installs_with_the_real_pip_and_imports() {
    let env = Env::new();
    let wheels = env.root().join("wheels");
    let wheel = fixtures::make_wheel(&wheels, "Opp.Demo-Pkg", "1.2.3", 0);
    assert_eq!(
        wheel.file_name().unwrap(),
        "opp_demo_pkg-1.2.3-py3-none-any.whl"
    );
    assert_record_is_correct(&wheel, "opp_demo_pkg-1.2.3.dist-info");

    let target = env.root().join("target");
    run_ok(
        env.pip()
            .args(["install", "--no-index", "--find-links"])
            .arg(&wheels)
            .arg("--target")
            .arg(&target)
            .arg("opp-demo-pkg==1.2.3"),
    );
    assert!(
        target
            .join("opp_demo_pkg-1.2.3.dist-info/METADATA")
            .is_file()
    );
    let out = run_ok(
        env.python()
            .env("PYTHONPATH", &target)
            .args(["-c", "import opp_demo_pkg; print(opp_demo_pkg.__version__)"]),
    );
    assert_eq!(stdout(&out).trim(), "1.2.3");
}

#[test]
fn make_wheel_pads_to_the_exact_size_with_incompressible_data() {
    let dir = tempfile::tempdir().unwrap();
    // The size of the wheel with an empty padding member, from one with a known padding.
    let probe = fixtures::make_wheel(&dir.path().join("probe"), "padded", "0.1.0", 5_000);
    let pad = fixtures::zip_member(&probe, "padded/_padding.bin")
        .expect("padding member")
        .len();
    let base = 5_000 + 1 - pad as u64 - pad.to_string().len() as u64;
    // `base + 100_004` needs a padding of 99_999 plus one byte, or 100_000 minus one: the
    // case the zip comment fills.
    for size in [
        base + 100_004,
        base + 100_003,
        base + 100_005,
        300_000,
        1_000_000,
    ] {
        let wheel =
            fixtures::make_wheel(&dir.path().join(size.to_string()), "padded", "0.1.0", size);
        assert_eq!(
            std::fs::metadata(&wheel).unwrap().len(),
            size,
            "{}",
            wheel.display()
        );
        assert_record_is_correct(&wheel, "padded-0.1.0.dist-info");
        let archive = zip::ZipArchive::new(std::fs::File::open(&wheel).unwrap()).unwrap();
        let comment = if size == base + 100_004 {
            &b" "[..]
        } else {
            b""
        };
        assert_eq!(
            archive.comment(),
            comment,
            "zip comment of a {size}-byte wheel"
        );
    }
    let wheel = dir.path().join("1000000/padded-0.1.0-py3-none-any.whl");
    let pad = fixtures::zip_member(&wheel, "padded/_padding.bin").expect("padding member");
    let mut compressed =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut compressed, &pad).unwrap();
    assert!(
        compressed.finish().unwrap().len() as f64 > 0.99 * pad.len() as f64,
        "padding compresses"
    );
}

#[test]
fn a_padded_wheel_installs_with_the_real_pip() {
    let env = Env::new();
    let wheels = env.root().join("wheels");
    fixtures::make_wheel(&wheels, "big", "2.0", 2_000_000);
    let target = env.root().join("target");
    run_ok(
        env.pip()
            .args(["install", "--no-index", "--find-links"])
            .arg(&wheels)
            .arg("--target")
            .arg(&target)
            .arg("big"),
    );
    assert!(target.join("big/_padding.bin").is_file());
}

#[test]
fn a_small_size_gives_a_minimal_wheel() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = fixtures::make_wheel(dir.path(), "tiny", "1.0", 10);
    assert!(std::fs::metadata(&wheel).unwrap().len() > 10);
    assert_record_is_correct(&wheel, "tiny-1.0.dist-info");
}

#[test]
fn not_a_zip_wheel_is_text_with_a_wheel_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixtures::not_a_zip_wheel(dir.path());
    assert!(path.to_string_lossy().ends_with("-py3-none-any.whl"));
    assert!(zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).is_err());
    assert!(std::str::from_utf8(&std::fs::read(&path).unwrap()).is_ok());
}

#[test]
fn wheel_without_metadata_has_everything_but_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixtures::wheel_without_metadata(dir.path());
    let names = fixtures::zip_member_names(&path);
    assert!(names.iter().all(|n| !n.ends_with("/METADATA")), "{names:?}");
    assert!(
        names.contains(&"nometadata-1.0.0.dist-info/WHEEL".to_owned()),
        "{names:?}"
    );
    assert_record_is_correct(&path, "nometadata-1.0.0.dist-info");
}

#[test]
fn wheel_with_mismatched_name_says_another_version_inside() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixtures::wheel_with_mismatched_name(dir.path());
    assert_eq!(path.file_name().unwrap(), "mismatch-1.0.0-py3-none-any.whl");
    let metadata = member_text(&path, "mismatch-2.0.0.dist-info/METADATA");
    assert!(metadata.contains("\nName: mismatch\n"), "{metadata}");
    assert!(metadata.contains("\nVersion: 2.0.0\n"), "{metadata}");
}

#[test]
fn wheel_with_parent_paths_is_refused_by_the_real_pip() {
    let env = Env::new();
    let wheels = env.root().join("wheels");
    let path = fixtures::wheel_with_parent_paths(&wheels);
    assert!(fixtures::zip_member_names(&path).contains(&"../evil.py".to_owned()));
    assert_record_is_correct(&path, "evil-1.0.0.dist-info");
    let target = env.root().join("t/target");
    let out = run_fail(
        env.pip()
            .args(["install", "--no-index", "--find-links"])
            .arg(&wheels)
            .arg("--target")
            .arg(&target)
            .arg("evil"),
    );
    assert!(stderr(&out).contains("outside"), "{}", stderr(&out));
    assert!(!env.root().join("t/evil.py").exists());
}

#[test]
fn env_commands_use_the_isolated_directories_and_drop_outer_settings() {
    let env = Env::new();
    let mut cmd = Command::new("env");
    env.isolate(&mut cmd, &["OPP_", "REGISTRY_"]);
    let vars: BTreeMap<String, String> = stdout(&run_ok(&mut cmd))
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    assert_eq!(vars["HOME"], env.home().display().to_string());
    assert_eq!(
        vars["XDG_CONFIG_HOME"],
        env.config_home().display().to_string()
    );
    assert_eq!(vars["XDG_DATA_HOME"], env.data_home().display().to_string());
    assert_eq!(
        vars["XDG_CACHE_HOME"],
        env.cache_home().display().to_string()
    );
    assert_eq!(
        vars["DOCKER_CONFIG"],
        env.docker_config().display().to_string()
    );
    assert!(vars["NO_PROXY"].starts_with("127.0.0.1,"));
    for key in vars.keys() {
        assert!(
            !key.starts_with("OPP_") && !key.starts_with("REGISTRY_"),
            "{key} leaked"
        );
        assert!(
            ![
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
                "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE"
            ]
            .contains(&key.as_str()),
            "{key} leaked"
        );
    }
    assert!(
        std::fs::read_dir(env.docker_config())
            .unwrap()
            .next()
            .is_none()
    );

    let opp = env.opp();
    let set: BTreeMap<_, _> = opp
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned())))
        .collect();
    assert_eq!(set["OPP_STORE"], env.store().display().to_string());
    assert_eq!(set["NO_COLOR"], "1");
    assert_eq!(opp.get_current_dir(), Some(env.root()));
}

#[test]
fn env_pip_ignores_the_machines_pip_settings() {
    let env = Env::new();
    let out = run_ok(env.pip().args(["config", "list"]));
    let mut settings: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    settings.sort();
    let ours = [
        ":env:.config-file='/dev/null'",
        ":env:.disable-pip-version-check='1'",
        ":env:.no-input='1'",
    ];
    assert_eq!(settings, ours, "pip sees settings from outside the Env");
}

#[test]
fn run_fail_returns_the_output_of_a_failing_command() {
    let out = run_fail(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), "oops\n");
}

#[test]
#[should_panic(expected = "exit status: 3")]
fn run_ok_reports_the_exit_status_and_output() {
    run_ok(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]));
}

/// Every member of the wheel but RECORD is listed in `<info>/RECORD` with its sha256 and size,
/// and nothing else is.
fn assert_record_is_correct(wheel: &Path, info: &str) {
    let record_name = format!("{info}/RECORD");
    let record = member_text(wheel, &record_name);
    let mut listed: Vec<&str> = Vec::new();
    for line in record.lines() {
        let mut fields = line.split(',');
        let (name, hash, size) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        listed.push(name);
        if name == record_name {
            assert_eq!((hash, size), ("", ""), "RECORD's own line");
            continue;
        }
        let data = fixtures::zip_member(wheel, name)
            .unwrap_or_else(|| panic!("{name} in RECORD but not in the wheel"));
        assert_eq!(hash, fixtures::record_hash(&data), "hash of {name}");
        assert_eq!(size, data.len().to_string(), "size of {name}");
    }
    let mut members = fixtures::zip_member_names(wheel);
    members.sort();
    listed.sort();
    assert_eq!(members, listed, "RECORD lists exactly the members");
}

fn member_text(wheel: &Path, name: &str) -> String {
    let data = fixtures::zip_member(wheel, name)
        .unwrap_or_else(|| panic!("{name} in {}", wheel.display()));
    String::from_utf8(data).expect("UTF-8")
}

//! `opp mirror pypi` against the real public PyPI (small pinned pure-Python packages), into a
//! local store and a real registry, checked the way a user would: pip installs the mirrored
//! closure through `opp proxy` with no network index, the bytes are the index's, a wrong
//! `--hash` stores nothing, a second run downloads nothing. The closure logic itself is
//! unit-tested on recorded metadata (`src/mirror/pypi/resolve_tests.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;

use serde_json::Value;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::registry::Registry;
use support::static_index::StaticIndex;

/// idna 3.7 as PyPI lists it.
const IDNA_WHEEL: &str = "idna-3.7-py3-none-any.whl";
const IDNA_WHEEL_SHA256: &str = "82fee1fc78add43492d3a1898bfa6d8a904cc97d8427f683ed8e798d07761aa0";
const IDNA_SDIST: &str = "idna-3.7.tar.gz";

fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    hex::encode(Sha256::digest(&bytes))
}

/// The test Python's `X.Y` and a manylinux platform tag for its machine.
fn python_target(env: &Env) -> (String, String) {
    let out = run_ok(env.python().arg("-c").arg(
        "import sys, platform; print(f'{sys.version_info[0]}.{sys.version_info[1]}', platform.machine())",
    ));
    let text = stdout(&out);
    let (version, machine) = text.trim().split_once(' ').expect("version and machine");
    (version.to_owned(), format!("manylinux_2_17_{machine}"))
}

/// `opp proxy -- pip ...` with only what opp exports pointing pip anywhere.
fn pip_through_proxy(env: &Env, args: &[&str]) -> std::process::Output {
    let mut cmd = env.opp();
    cmd.args(["proxy", "--"])
        .arg(support::tool("pip"))
        .args(args);
    for var in [
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_CERT",
        "PIP_FIND_LINKS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    run_ok(&mut cmd)
}

fn results(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("--json output is not JSON ({e}): {}", stdout(out)))
        .as_array()
        .cloned()
        .expect("a JSON list")
}

fn files_with_status(results: &[Value], status: &str) -> Vec<String> {
    let mut files: Vec<String> = results
        .iter()
        .filter(|r| r["status"] == status)
        .map(|r| r["file"].as_str().unwrap_or_default().to_owned())
        .collect();
    files.sort();
    files
}

#[test]
fn a_mirrored_closure_installs_with_pip_through_the_proxy_and_no_network_index() {
    let env = Env::new();
    let (python, platform) = python_target(&env);
    let out = run_ok(env.opp().args([
        "mirror",
        "pypi",
        "requests==2.32.3",
        "--python-version",
        &python,
        "--platform",
        &platform,
    ]));
    assert!(
        stderr(&out).contains("0 failed"),
        "summary missing: {}",
        stderr(&out)
    );
    // The proxy has no upstream: pip sees only what the mirror stored.
    let site = env.root().join("site");
    pip_through_proxy(
        &env,
        &[
            "install",
            "--no-cache-dir",
            "--target",
            site.to_str().unwrap(),
            "requests==2.32.3",
        ],
    );
    let imported = run_ok(
        env.python()
            .arg("-c")
            .arg("import requests, idna, urllib3, certifi, charset_normalizer; print(requests.__version__)")
            .env("PYTHONPATH", &site),
    );
    assert_eq!(stdout(&imported).trim(), "2.32.3");
}

#[test]
fn a_second_run_downloads_no_distribution_file() {
    let env = Env::new();
    let first = run_ok(env.opp().args(["mirror", "pypi", "idna==3.7", "--json"]));
    assert_eq!(
        files_with_status(&results(&first), "added"),
        [IDNA_WHEEL, IDNA_SDIST]
    );
    let second = run_ok(
        env.opp()
            .args(["-v", "mirror", "pypi", "idna==3.7", "--json"]),
    );
    assert_eq!(
        files_with_status(&results(&second), "skipped"),
        [IDNA_WHEEL, IDNA_SDIST]
    );
    let log = stderr(&second);
    assert!(
        !log.contains("downloading https://"),
        "the second run downloaded: {log}"
    );
    assert!(
        log.contains("0 added, 2 skipped (already stored), 0 failed"),
        "{log}"
    );
}

#[test]
fn mirroring_into_a_registry_stores_the_index_bytes_where_opp_pull_finds_them() {
    let reg = Registry::start();
    let env = Env::new();
    run_ok(env.opp().args([
        "--registry",
        &reg.host,
        "mirror",
        "pypi",
        "idna==3.7",
        "--only-binary",
        ":all:",
    ]));
    let dest = env.root().join("pulled");
    let out = run_ok(
        env.opp()
            .args(["--registry", &reg.host, "pull", "pypi", "idna==3.7", "-o"])
            .arg(&dest),
    );
    assert_eq!(sha256_of(&dest.join(IDNA_WHEEL)), IDNA_WHEEL_SHA256);
    // --only-binary: the sdist was not mirrored.
    assert!(!dest.join(IDNA_SDIST).exists(), "{}", stderr(&out));
    assert!(
        !env.store().join("pypi").exists(),
        "nothing in the local store"
    );
}

#[test]
fn a_requirements_file_with_hashes_mirrors_exactly_the_files_it_names() {
    let env = Env::new();
    let req = env.root().join("requirements.txt");
    std::fs::write(
        &req,
        format!("# pinned by pip-compile\nidna==3.7 \\\n    --hash=sha256:{IDNA_WHEEL_SHA256}\n"),
    )
    .unwrap();
    let out = run_ok(env.opp().args(["mirror", "pypi", "--json", "-r"]).arg(&req));
    let all = results(&out);
    assert_eq!(files_with_status(&all, "added"), [IDNA_WHEEL]);
    assert_eq!(all.len(), 1, "{all:#?}");
}

#[test]
fn a_wrong_hash_stores_nothing_and_fails_naming_the_file() {
    let env = Env::new();
    let req = env.root().join("requirements.txt");
    let wrong = "0".repeat(64);
    std::fs::write(&req, format!("idna==3.7 --hash=sha256:{wrong}\n")).unwrap();
    let out = run_fail(env.opp().args(["mirror", "pypi", "-r"]).arg(&req));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "no file of idna 3.7 has a sha256 that {}:1 allows; the index has {IDNA_WHEEL} (sha256 {IDNA_WHEEL_SHA256})",
            req.display()
        )),
        "{err}"
    );
    assert!(err.contains("error: the mirror is incomplete"), "{err}");
    let show = run_fail(env.opp().args(["show", "pypi", "idna==3.7"]));
    assert_ne!(show.status.code(), Some(0));
}

#[test]
fn a_platform_marker_brings_a_dependency_only_for_the_targets_that_need_it() {
    // click 8.1.7: `colorama; platform_system == "Windows"`.
    let mut failures = Vec::new();
    for (platform, wants_colorama) in [("win_amd64", true), ("manylinux_2_17_x86_64", false)] {
        let env = Env::new();
        let out = run_ok(env.opp().args([
            "mirror",
            "pypi",
            "click==8.1.7",
            "--python-version",
            "3.12",
            "--platform",
            platform,
            "--dry-run",
            "--json",
        ]));
        let planned = files_with_status(&results(&out), "planned");
        let has = planned.iter().any(|f| f.starts_with("colorama-"));
        if has != wants_colorama || !planned.iter().any(|f| f == "click-8.1.7-py3-none-any.whl") {
            failures.push(format!("{platform}: {planned:?}"));
        }
        // A dry run writes nothing.
        assert!(
            !env.store().exists(),
            "{platform}: the dry run wrote the store"
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_pylock_file_is_mirrored_exactly_without_asking_the_index() {
    let env = Env::new();
    let lock = env.root().join("pylock.toml");
    std::fs::write(
        &lock,
        format!(
            "lock-version = \"1.0\"\ncreated-by = \"hand\"\n\n[[packages]]\nname = \"idna\"\n\
             version = \"3.7\"\nwheels = [{{ url = \"https://files.pythonhosted.org/packages/e5/3e/\
             741d8c82801c347547f8a2a06aa57dbb1992be9e948df2ea0eda2c8b79e8/{IDNA_WHEEL}\", \
             hashes = {{ sha256 = \"{IDNA_WHEEL_SHA256}\" }} }}]\n"
        ),
    )
    .unwrap();
    // An unreachable upstream: a lock needs no index.
    let out = run_ok(
        env.opp()
            .args([
                "mirror",
                "pypi",
                "--upstream",
                "http://127.0.0.1:9/simple",
                "--json",
                "--lock",
            ])
            .arg(&lock),
    );
    let all = results(&out);
    assert_eq!(files_with_status(&all, "added"), [IDNA_WHEEL]);
    assert_eq!(all.len(), 1, "{all:#?}");
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["pull", "pypi", "idna==3.7", "-o"])
            .arg(&dest),
    );
    assert_eq!(sha256_of(&dest.join(IDNA_WHEEL)), IDNA_WHEEL_SHA256);
}

#[test]
fn a_file_whose_bytes_differ_from_the_index_sha256_is_named_and_not_stored() {
    use support::fixtures::{SIX_SDIST, SIX_WHEEL, pypi_fixture};
    let env = Env::new();
    let root = env.root().join("index");
    std::fs::create_dir_all(root.join("simple/six")).unwrap();
    std::fs::create_dir_all(root.join("files")).unwrap();
    let wheel = pypi_fixture(SIX_WHEEL);
    let sdist = pypi_fixture(SIX_SDIST);
    std::fs::copy(&wheel, root.join("files").join(SIX_WHEEL)).unwrap();
    std::fs::copy(&sdist, root.join("files").join(SIX_SDIST)).unwrap();
    // The page states the right digest for the sdist and a wrong one for the wheel.
    let wrong = "ab".repeat(32);
    std::fs::write(
        root.join("simple/six/index.html"),
        format!(
            "<!DOCTYPE html><html><body>\n\
             <a href=\"../../files/{SIX_WHEEL}#sha256={wrong}\">{SIX_WHEEL}</a><br/>\n\
             <a href=\"../../files/{SIX_SDIST}#sha256={}\" data-requires-python=\"&gt;=2.7\">{SIX_SDIST}</a><br/>\n\
             </body></html>\n",
            sha256_of(&sdist)
        ),
    )
    .unwrap();
    let index = StaticIndex::serve(&env, &root);
    let out = run_fail(
        env.opp()
            .args(["mirror", "pypi", "six==1.16.0", "--upstream", &index.url]),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: {SIX_WHEEL}: sha256 mismatch: the upstream index says {wrong}, the \
             downloaded bytes hash to {}; nothing stored",
            sha256_of(&wheel)
        )),
        "{err}"
    );
    assert!(
        err.contains("1 added, 0 skipped (already stored), 1 failed"),
        "{err}"
    );
    let show = stdout(&run_ok(env.opp().args([
        "show",
        "pypi",
        "six==1.16.0",
        "--json",
    ])));
    assert!(
        show.contains(SIX_SDIST) && !show.contains(SIX_WHEEL),
        "{show}"
    );
}

#[test]
fn pulling_a_package_the_store_lacks_names_the_mirror_command() {
    let env = Env::new();
    let out = run_fail(
        env.opp()
            .args(["pull", "pypi", "nosuchpackage", "-o"])
            .arg(env.root().join("pulled")),
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        format!(
            "error: no package `nosuchpackage` in {}/pypi/nosuchpackage\n  hint: `opp mirror \
             pypi nosuchpackage` brings it from PyPI, with its dependencies; `opp list pypi` \
             shows the stored pypi packages\n",
            env.store().display()
        )
    );
}

#[test]
fn pip_through_the_proxy_names_the_mirror_command_for_a_missing_project() {
    let env = Env::new();
    let mut cmd = env.opp();
    cmd.args(["proxy", "--"])
        .arg(support::tool("pip"))
        .args(["install", "--no-cache-dir", "--target"])
        .arg(env.root().join("site"))
        .arg("missing-pkg");
    for var in [
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_CERT",
        "PIP_FIND_LINKS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    let out = run_fail(&mut cmd);
    assert_eq!(out.status.code(), Some(1), "pip's exit code passes through");
    let err = stderr(&out);
    // pip prints no body of the index's 404: only its own two lines.
    assert!(
        err.contains("ERROR: No matching distribution found for missing-pkg"),
        "{err}"
    );
    // opp says what pip does not, on the same stderr.
    assert!(
        err.contains(&format!(
            "warning: pypi proxy: no package missing-pkg in {}/pypi/missing_pkg; `opp mirror \
             pypi missing-pkg` brings it from PyPI, with its dependencies\n",
            env.store().display()
        )),
        "{err}"
    );
}

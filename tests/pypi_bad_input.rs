//! Bad input gets one clear error naming the thing, a non-zero exit, and nothing written or
//! tagged.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::cli::{Env, run_fail, run_ok, stderr};
use support::fixtures::{self, SIX_WHEEL};

/// Every repository directory in the store (empty when nothing was written).
fn stored_repositories(store: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.join("oci-layout").is_file() {
                found.push(p.strip_prefix(store).unwrap().display().to_string());
            } else if p.is_dir() {
                stack.push(p);
            }
        }
    }
    found
}

/// Pushes `path` alone and checks the whole of stderr, with the test's directory written as
/// `[ROOT]`: the error line names the file and says what is wrong, and nothing is stored.
fn assert_refused(env: &Env, path: &Path, expected: &str) {
    let out = run_fail(env.opp().args(["push", "pypi"]).arg(path));
    let msg = stderr(&out).replace(&env.root().display().to_string(), "[ROOT]");
    assert_eq!(
        msg.trim_end(),
        expected,
        "the whole error, as a user reads it"
    );
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(
        stored_repositories(&env.store()).is_empty(),
        "something was stored"
    );
}

#[test]
fn a_file_that_is_not_a_zip_is_refused() {
    let env = Env::new();
    assert_refused(
        &env,
        &fixtures::not_a_zip_wheel(env.root()),
        "error: [ROOT]/notazip-1.0.0-py3-none-any.whl is not a valid zip archive\n  caused by: invalid Zip archive: Could not find EOCD\n  hint: re-download or rebuild it",
    );
}

#[test]
fn a_wheel_without_metadata_is_refused() {
    let env = Env::new();
    assert_refused(
        &env,
        &fixtures::wheel_without_metadata(env.root()),
        "error: [ROOT]/nometadata-1.0.0-py3-none-any.whl has no <name>-<version>.dist-info/METADATA; it is not a valid Python distribution\n  hint: rebuild it with a standard build backend",
    );
}

#[test]
fn a_file_name_that_disagrees_with_its_metadata_is_refused() {
    let env = Env::new();
    assert_refused(
        &env,
        &fixtures::wheel_with_mismatched_name(env.root()),
        "error: [ROOT]/mismatch-1.0.0-py3-none-any.whl: the file name says version `1.0.0` but the metadata says `2.0.0`\n  hint: rename the file to match or rebuild it",
    );
}

#[test]
fn a_zip_with_parent_paths_is_refused() {
    let env = Env::new();
    assert_refused(
        &env,
        &fixtures::wheel_with_parent_paths(env.root()),
        "error: [ROOT]/evil-1.0.0-py3-none-any.whl contains the member `../evil.py`, an absolute path or one with a `..` component; refusing the whole file (an archive with ../ paths could write outside its directory when unpacked)",
    );
}

#[test]
fn one_bad_file_among_good_ones_stores_nothing() {
    let env = Env::new();
    let bad = fixtures::not_a_zip_wheel(env.root());
    let out = run_fail(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL))
            .arg(&bad),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stored_repositories(&env.store()).is_empty());
}

#[test]
fn a_path_that_does_not_exist_is_named() {
    let env = Env::new();
    assert_refused(
        &env,
        &env.root().join("no-such-dist"),
        "error: [ROOT]/no-such-dist does not exist\n  hint: check the path",
    );
}

#[test]
fn a_version_that_cannot_map_to_a_tag_names_the_character() {
    let env = Env::new();
    let wheel = fixtures::make_wheel(env.root(), "epoch", "1!2.0", 0);
    let out = run_fail(env.opp().args(["push", "pypi"]).arg(&wheel));
    let msg = stderr(&out);
    assert!(msg.contains('!') && msg.contains("1!2.0"), "{msg}");
    assert_eq!(out.status.code(), Some(1));
    assert!(stored_repositories(&env.store()).is_empty());
}

#[test]
fn a_corrupt_blob_in_the_store_is_caught_on_pull_and_nothing_is_written() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    let blob = env.store().join(
        "pypi/six/blobs/sha256/8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
    );
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let dest = env.root().join("out");
    let out = run_fail(env.opp().args(["pull", "pypi", "six", "-o"]).arg(&dest));
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&dest)
        .map(|rd| rd.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "pull left files behind: {left:?}");
}

#[test]
fn a_registry_that_refuses_the_connection_fails_within_seconds() {
    let env = Env::new();
    let port = support::registry::free_port();
    let started = Instant::now();
    let out = run_fail(
        env.opp()
            .args(["--registry", &format!("127.0.0.1:{port}"), "push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("hint:"),
        "{msg}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_with_status_2() {
    let env = Env::new();
    let out = run_fail(env.opp().args(["push", "pypi", "--no-such-flag"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run_fail(env.opp().args(["show", "pypi", "six"]));
    assert!(stderr(&out).contains("NAME==VERSION"), "{}", stderr(&out));
}

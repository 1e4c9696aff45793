//! Half-finished work and damage in the local store, as a user meets them: an `opp push`
//! killed mid-upload, a failed `opp copy`, a truncated `index.json`. What the user sees is
//! checked: the files under the store, the exit status, the full stderr lines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::{Path, PathBuf};

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, ATTRS_WHEELS, SIX_WHEEL};

/// The upload files (`.upload.*`) in a repository's blob directory.
fn upload_files(store: &Path, repository: &str) -> Vec<PathBuf> {
    let dir = store.join(repository).join("blobs").join("sha256");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(".upload."))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[cfg(unix)]
mod killed {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::support::cli::{Env, run_ok, stdout};
    use super::support::fixtures;
    use super::upload_files;

    /// Big enough that its upload takes a while even into the page cache.
    const BIG: u64 = 192 * 1024 * 1024;

    fn signal(child: &Child, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Starts `opp push pypi` of a big wheel of `bigpkg` 1.0 and stops it (SIGSTOP) once its
    /// upload file holds more than 1 MiB: the push is then mid-upload, holding that file.
    fn push_stopped_mid_upload(env: &Env) -> (Child, PathBuf, PathBuf) {
        let wheel = fixtures::make_wheel(&env.root().join("big"), "bigpkg", "1.0", BIG);
        let mut child = env
            .opp()
            .args(["push", "pypi"])
            .arg(&wheel)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start opp push");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let busy = upload_files(&env.store(), "pypi/bigpkg")
                .into_iter()
                .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 1024 * 1024));
            if let Some(path) = busy {
                signal(&child, "STOP");
                // A write already in a system call when the signal came still lands: wait
                // until the file stops growing before anyone measures it.
                let len = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).ok();
                let mut last = len(&path);
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let now = len(&path);
                    if now == last {
                        break;
                    }
                    last = now;
                }
                return (child, path, wheel);
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("opp push ended ({status}) before its upload could be caught midway");
            }
            assert!(
                Instant::now() < deadline,
                "opp push wrote no upload file in 120 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Pushes a small second version of `bigpkg`: a write into the same repository.
    fn push_another_version(env: &Env) {
        let small = fixtures::make_wheel(&env.root().join("small"), "bigpkg", "2.0", 0);
        run_ok(env.opp().args(["push", "pypi"]).arg(small));
    }

    #[test]
    fn an_upload_killed_midway_is_removed_by_the_next_push() {
        let env = Env::new();
        let (mut child, upload, _) = push_stopped_mid_upload(&env);
        signal(&child, "KILL");
        let _ = child.wait();
        assert!(upload.exists(), "the killed push left no upload file");

        push_another_version(&env);
        assert_eq!(
            upload_files(&env.store(), "pypi/bigpkg"),
            Vec::<PathBuf>::new()
        );
    }

    #[test]
    fn an_upload_in_progress_is_not_removed_by_another_push() {
        let env = Env::new();
        let (mut child, upload, wheel) = push_stopped_mid_upload(&env);
        let size = std::fs::metadata(&upload).unwrap().len();

        push_another_version(&env);
        let kept = std::fs::metadata(&upload).map(|m| m.len());
        signal(&child, "CONT");
        assert_eq!(
            kept.ok(),
            Some(size),
            "the running upload's file was touched"
        );

        let status = child.wait().expect("wait for opp push");
        assert!(
            status.success(),
            "the stopped push failed once resumed: {status}"
        );
        let shown: serde_json::Value = serde_json::from_str(&stdout(&run_ok(env.opp().args([
            "show",
            "pypi",
            "bigpkg==1.0",
            "--json",
        ]))))
        .unwrap();
        assert_eq!(
            shown["files"][0]["size"],
            std::fs::metadata(&wheel).unwrap().len()
        );
        assert_eq!(
            shown["files"][0]["digest"],
            format!("sha256:{}", sha256_of(&wheel))
        );
    }

    fn sha256_of(path: &Path) -> String {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut file = std::fs::File::open(path).unwrap();
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        hex(&hasher.finalize())
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[test]
fn a_failed_copy_leaves_nothing_that_list_shows() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    // The wheel's blob goes missing from the source store.
    let shown: serde_json::Value = serde_json::from_str(&stdout(&run_ok(env.opp().args([
        "show",
        "pypi",
        "six==1.16.0",
        "--json",
    ]))))
    .unwrap();
    let digest = shown["files"][0]["digest"].as_str().unwrap().to_owned();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let source = env.store().join("pypi/six");
    std::fs::remove_file(source.join("blobs/sha256").join(hex)).unwrap();

    let target = env.root().join("target-store");
    let failed = run_fail(
        env.opp()
            .args(["copy", "pypi", "six==1.16.0", "--to"])
            .arg(&target),
    );
    assert_eq!(failed.status.code(), Some(3));
    assert_eq!(
        stderr(&failed),
        format!("error: blob {digest} not found in {}\n", source.display())
    );

    for args in [&["list"][..], &["list", "pypi"]] {
        let listed = run_ok(env.opp().arg("--store").arg(&target).args(args));
        assert_eq!(stdout(&listed), "", "opp {args:?}");
        let what = if args.len() == 2 { "pypi " } else { "" };
        assert_eq!(
            stderr(&listed),
            format!("no {what}packages in {}\n", target.display())
        );
    }
    // What skopeo or oras would open as a layout is not there either.
    assert!(!target.join("pypi/six/oci-layout").exists());
    assert!(!target.join("pypi/six/index.json").exists());
}

#[test]
fn a_truncated_index_json_is_named_and_the_other_packages_are_listed() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL))
            .arg(fixtures::pypi_fixture(ATTRS_WHEELS[2])),
    );
    let damaged = env.store().join("pypi/six");
    let index = std::fs::read(damaged.join("index.json")).unwrap();
    std::fs::write(damaged.join("index.json"), &index[..40]).unwrap();

    let listed = run_ok(env.opp().args(["list", "pypi"]));
    assert_eq!(
        stdout(&listed),
        concat!(
            " PACKAGE  VERSIONS  LATEST\n",
            " attrs    1         23.2.0\n"
        )
    );
    assert_eq!(
        stderr(&listed),
        format!(
            "warning: left out pypi package `six`: index.json from {} is corrupt: EOF while parsing a string at line 3 column 16\n",
            damaged.display()
        )
    );

    let asked = run_fail(env.opp().args(["list", "pypi", "six"]));
    assert_eq!(asked.status.code(), Some(1));
    assert!(
        stderr(&asked).starts_with(&format!(
            "error: index.json from {} is corrupt: ",
            damaged.display()
        )),
        "{}",
        stderr(&asked)
    );
}

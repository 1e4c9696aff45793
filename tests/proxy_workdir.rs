//! The proxy's private temporary directory as a user finds it in TMPDIR: every file in it
//! that holds the secret (or any other) readable by the owner only, and what a proxy killed
//! with SIGKILL left removed by the next proxy, while a proxy still running keeps its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "support/served.rs"]
mod served;
mod support;

use std::path::{Path, PathBuf};

use served::Served;
use support::cli::Env;

/// The `opp-proxy.*` directories in `tmpdir`.
fn proxy_dirs(tmpdir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(tmpdir)
        .expect("list TMPDIR")
        .map(|e| e.expect("TMPDIR entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("opp-proxy."))
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn a_proxy_killed_with_sigkill_leaves_a_directory_the_next_proxy_removes_but_not_a_running_ones() {
    let env = Env::new();
    let tmpdir = env.root().join("tmp");
    let mut killed = Served::start(&env, &[], &["--http"], &tmpdir);
    let running = Served::start(&env, &[], &["--http"], &tmpdir);
    killed.kill_hard();
    assert!(
        killed.tmp.join("opp.tfrc").exists(),
        "SIGKILL should have left {} (with the secret) behind",
        killed.tmp.display()
    );

    let next = Served::start(&env, &[], &["--http"], &tmpdir);
    assert!(
        !killed.tmp.exists(),
        "the dead proxy's {} is still there",
        killed.tmp.display()
    );
    assert_eq!(
        proxy_dirs(&tmpdir),
        {
            let mut live = vec![running.tmp.clone(), next.tmp.clone()];
            live.sort();
            live
        },
        "only the running proxies' directories should remain"
    );
    let out = running.curl("/", &env.root().join("index"), &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "the running proxy stopped answering: {out:?}"
    );
}

#[cfg(unix)]
#[test]
fn every_file_the_proxy_writes_is_owner_only_and_those_with_the_secret_are_among_them() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let served = Served::start(&env, &[], &[], &env.root().join("tmp"));
    let mut wrong = Vec::new();
    let mut with_secret = Vec::new();
    let mut pending = vec![served.tmp.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list the proxy's directory") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let mode = meta.permissions().mode() & 0o777;
            let name = path
                .strip_prefix(&served.tmp)
                .unwrap()
                .display()
                .to_string();
            if meta.is_dir() {
                if mode != 0o700 {
                    wrong.push(format!("{name}/ {mode:o}"));
                }
                pending.push(path);
                continue;
            }
            if mode != 0o600 {
                wrong.push(format!("{name} {mode:o}"));
            }
            let text = std::fs::read(&path).expect("read");
            if text
                .windows(served.token.len())
                .any(|w| w == served.token.as_bytes())
            {
                with_secret.push(name);
            }
        }
    }
    with_secret.sort();
    assert!(wrong.is_empty(), "not owner-only: {wrong:?}");
    for expected in ["opp.tfrc", "gemrc"] {
        assert!(
            with_secret.iter().any(|n| n == expected),
            "{expected} does not hold the secret: {with_secret:?}"
        );
    }
    assert!(
        with_secret.iter().any(|n| n.ends_with("NuGet.Config")),
        "no NuGet.Config holds the secret: {with_secret:?}"
    );
}

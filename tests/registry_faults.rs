//! `opp` against a real registry behind a fault-injecting front (tests/support/fault_front.rs):
//! busy answers and broken connections are retried with the waits the registry asks for, a
//! registry that keeps failing is given up on within `--retry-timeout` with nothing tagged,
//! refusals are not retried, `/v2/` is asked once, tag lists follow `Link` pages, a huge
//! manifest is refused unread, and a copy within one registry mounts blobs, asking `/v2/` once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fault_front::{Fault, FaultFront, Match, Nth, Seen};
use support::fixtures;
use support::registry::Registry;

const NAME: &str = "faulty";

/// A wheel of about 2 MiB, so that an upload can be cut in the middle.
fn wheel(env: &Env, version: &str) -> PathBuf {
    let dir = env.root().join("wheels");
    std::fs::create_dir_all(&dir).unwrap();
    fixtures::make_wheel(&dir, NAME, version, 2 * 1024 * 1024)
}

fn same_bytes(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

/// Pushes `files` straight to the registry (not through the front).
fn push_direct(env: &Env, reg: &Registry, prefix: &str, files: &[&Path]) {
    run_ok(
        env.opp()
            .args(["--registry", &format!("{}/{prefix}", reg.host)])
            .args(["push", "pypi"])
            .args(files),
    );
}

fn faulted(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.faulted).collect()
}

#[test]
fn push_and_pull_ride_out_busy_answers_resets_and_a_500_on_the_tag_write() {
    let reg = Registry::start();
    let front = FaultFront::start(&reg.host);
    front
        .rule(Match::upload_start(), Nth::Only(1), Fault::status(503))
        .rule(Match::upload_bytes(), Nth::Only(1), Fault::ResetMidBody)
        .rule(
            Match::manifest_put(),
            Nth::Only(1),
            Fault::retry_after(429, "1"),
        )
        .rule(Match::tag_put(), Nth::Only(1), Fault::status(500))
        .rule(Match::tags_list(), Nth::Only(1), Fault::status(502))
        .rule(Match::blob_get(), Nth::Only(1), Fault::CutResponse);
    let env = Env::new();
    let file = wheel(&env, "1.0.0");
    let registry = format!("{}/team", front.host);

    let push = run_ok(
        env.opp()
            .args(["-v", "--registry", &registry, "push", "pypi"])
            .arg(&file),
    );
    // -v tells each retry, its reason and its wait.
    let log = stderr(&push);
    for said in [
        "retrying in 1.0 s: HTTP 429 Too Many Requests",
        "HTTP 503 Service Unavailable",
        "HTTP 500 Internal Server Error",
        "the connection broke",
    ] {
        assert!(log.contains(said), "no `{said}` in:\n{log}");
    }
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["--registry", &registry, "pull", "pypi", NAME, "-o"])
            .arg(&dest),
    );
    same_bytes(&file, &dest.join(file.file_name().unwrap()));

    let seen = front.seen();
    let hit: Vec<(String, u16)> = faulted(&seen)
        .iter()
        .map(|s| (s.method.clone(), s.status))
        .collect();
    assert_eq!(
        hit,
        [
            ("POST".to_owned(), 503),
            ("PUT".to_owned(), 0),
            ("PUT".to_owned(), 429),
            ("PUT".to_owned(), 500),
            ("GET".to_owned(), 502),
            ("GET".to_owned(), 200),
        ],
        "every fault was met once, in this order"
    );
    // The manifest PUT answered 429 with Retry-After: 1 was sent again no sooner than 1 s later.
    let refused = seen
        .iter()
        .position(|s| s.faulted && s.status == 429)
        .unwrap();
    let again = seen[refused + 1..]
        .iter()
        .find(|s| s.method == "PUT" && s.path == seen[refused].path)
        .expect("the manifest PUT was sent again");
    let waited = again.at - seen[refused].at;
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, though the registry asked for 1 s"
    );
}

#[test]
fn a_registry_that_keeps_failing_is_given_up_on_within_the_retry_timeout_and_nothing_is_tagged() {
    let reg = Registry::start();
    let front = FaultFront::start(&reg.host);
    front.rule(Match::tag_put(), Nth::Every, Fault::status(503));
    let env = Env::new();
    let file = wheel(&env, "1.0.0");

    let started = Instant::now();
    let out = run_fail(
        env.opp()
            .args(["--retry-timeout", "3s", "--registry"])
            .arg(format!("{}/team", front.host))
            .args(["push", "pypi"])
            .arg(&file),
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let first = stderr(&out).lines().next().unwrap_or_default().to_owned();
    eprintln!("gave up after {took:?}: {}", stderr(&out));
    assert!(
        first.starts_with("error: ")
            && first.contains("HTTP 503")
            && first.contains("gave up after")
            && first.contains("--retry-timeout"),
        "{}",
        stderr(&out)
    );
    let tag_puts = front.count("PUT", |p| p.ends_with("/manifests/1.0.0"));
    assert!(tag_puts > 2, "the tag write was tried {tag_puts} times");
    assert!(took < Duration::from_secs(20), "gave up after {took:?}");
    let tag_dir = reg
        .data_dir()
        .join("docker/registry/v2/repositories/team/pypi")
        .join(NAME)
        .join("_manifests/tags/1.0.0");
    assert!(!tag_dir.exists(), "the tag exists: {}", tag_dir.display());
}

#[test]
fn refusals_are_not_retried() {
    struct Case {
        name: &'static str,
        on: fn() -> Match,
        status: u16,
        body: Option<&'static str>,
        exit: i32,
        push: bool,
    }
    let cases = [
        Case {
            name: "401 on the tag",
            on: Match::tag_get,
            status: 401,
            body: None,
            exit: 4,
            push: false,
        },
        Case {
            name: "404 on the blob",
            on: Match::blob_get,
            status: 404,
            body: Some(r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}"#),
            exit: 3,
            push: false,
        },
        Case {
            name: "400 digest error on the upload",
            on: Match::upload_bytes,
            status: 400,
            body: Some(r#"{"errors":[{"code":"DIGEST_INVALID","message":"digest invalid"}]}"#),
            exit: 1,
            push: true,
        },
    ];
    let reg = Registry::start();
    let env = Env::new();
    let file = wheel(&env, "1.0.0");
    push_direct(&env, &reg, "stored", &[&file]);
    let mut failed = Vec::new();
    for case in cases {
        let front = FaultFront::start(&reg.host);
        let on = (case.on)();
        front.rule(
            on.clone(),
            Nth::Every,
            Fault::Status {
                status: case.status,
                retry_after: None,
                body: case.body.map(str::to_owned),
            },
        );
        let out = if case.push {
            env.opp()
                .args([
                    "--registry",
                    &format!("{}/fresh", front.host),
                    "push",
                    "pypi",
                ])
                .arg(&file)
                .output()
                .unwrap()
        } else {
            env.opp()
                .args([
                    "--registry",
                    &format!("{}/stored", front.host),
                    "pull",
                    "pypi",
                ])
                .arg(format!("{NAME}==1.0.0"))
                .arg("-o")
                .arg(env.root().join(case.name))
                .output()
                .unwrap()
        };
        // Uploads run side by side, so several blobs may each be refused once; none twice.
        // A blob upload is known by its digest (each try has a fresh session path).
        let seen = front.seen();
        let refused = faulted(&seen);
        let mut per_target = std::collections::BTreeMap::<String, usize>::new();
        for s in &refused {
            let digest = s.query.split('&').find(|kv| kv.starts_with("digest="));
            *per_target
                .entry(digest.unwrap_or(&s.path).to_owned())
                .or_default() += 1;
        }
        let hits = per_target.values().copied().max().unwrap_or(0);
        if out.status.code() != Some(case.exit) || hits != 1 {
            failed.push(format!(
                "{}: exit {:?} (want {}), {hits} refused requests for one target (want 1): {}",
                case.name,
                out.status.code(),
                case.exit,
                stderr(&out)
            ));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn pulling_one_wheel_asks_v2_once() {
    let reg = Registry::start();
    let env = Env::new();
    let file = wheel(&env, "1.0.0");
    push_direct(&env, &reg, "team", &[&file]);
    let mut failed = Vec::new();
    for spec in [format!("{NAME}==1.0.0"), NAME.to_owned()] {
        let front = FaultFront::start(&reg.host);
        let dest = env.root().join(format!("pulled-{}", spec.len()));
        run_ok(
            env.opp()
                .args([
                    "--registry",
                    &format!("{}/team", front.host),
                    "pull",
                    "pypi",
                ])
                .arg(&spec)
                .arg("-o")
                .arg(&dest),
        );
        same_bytes(&file, &dest.join(file.file_name().unwrap()));
        let seen = front.seen();
        let pings = seen.iter().filter(|s| s.path == "/v2/").count();
        eprintln!(
            "pull {spec}: {} requests: {:?}",
            seen.len(),
            seen.iter()
                .map(|s| format!("{} {}", s.method, s.path))
                .collect::<Vec<_>>()
        );
        if pings > 1 {
            failed.push(format!("pull {spec}: {pings} requests to /v2/"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn list_follows_link_pages_of_tags() {
    let reg = Registry::start();
    let env = Env::new();
    let versions = ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"];
    let files: Vec<PathBuf> = versions.iter().map(|v| wheel(&env, v)).collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    push_direct(&env, &reg, "team", &refs);
    let front = FaultFront::start(&reg.host);
    front.paginate_tags(2);

    let out = run_ok(env.opp().args([
        "--registry",
        &format!("{}/team", front.host),
        "list",
        "pypi",
        NAME,
    ]));
    let listed = stdout(&out);
    let missing: Vec<&&str> = versions.iter().filter(|v| !listed.contains(**v)).collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{listed}");
    let pages = front.count("GET", |p| p.ends_with("/tags/list"));
    assert_eq!(pages, 3, "5 tags, 2 per page");
}

/// Peak resident memory of a running process, from /proc.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

#[test]
fn a_300_mb_manifest_is_refused_without_being_read() {
    const HUGE: u64 = 300 * 1024 * 1024;
    let reg = Registry::start();
    let env = Env::new();
    push_direct(&env, &reg, "team", &[&wheel(&env, "1.0.0")]);
    let mut failed = Vec::new();
    for announce in [true, false] {
        let front = FaultFront::start(&reg.host);
        front.rule(
            Match::tag_get(),
            Nth::Every,
            Fault::Huge {
                bytes: HUGE,
                announce,
            },
        );
        let mut child = env
            .opp()
            .args([
                "--registry",
                &format!("{}/team", front.host),
                "pull",
                "pypi",
            ])
            .arg(format!("{NAME}==1.0.0"))
            .arg("-o")
            .arg(env.root().join("pulled"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut peak = 0;
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(60) {
            peak = peak.max(peak_rss(child.id()).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        let sent = front.huge_bytes_sent();
        eprintln!(
            "announce={announce}: peak RSS {} MiB, {} MiB served: {err}",
            peak >> 20,
            sent >> 20
        );
        let first = err.lines().next().unwrap_or_default();
        let clear = first.contains("tag 1.0.0")
            && first.contains("refused: a manifest or index may be at most 4 MiB")
            && first.contains(if announce {
                "this one is 300 MiB; it was not read"
            } else {
                "reading stopped at 4 MiB"
            });
        if out.status.success() || !clear || peak > 100 << 20 || sent > 64 << 20 {
            failed.push(format!(
                "announce={announce}: exit {:?}, peak RSS {} MiB, {} MiB served: {err}",
                out.status.code(),
                peak >> 20,
                sent >> 20
            ));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn a_copy_between_prefixes_of_one_registry_mounts_the_blobs() {
    let reg = Registry::start();
    let env = Env::new();
    let file = wheel(&env, "1.0.0");
    push_direct(&env, &reg, "a", &[&file]);
    let front = FaultFront::start(&reg.host);

    run_ok(env.opp().args([
        "copy",
        "pypi",
        &format!("{NAME}==1.0.0"),
        "--from",
        &format!("{}/a", front.host),
        "--to",
        &format!("{}/b", front.host),
    ]));
    let seen = front.seen();
    let mounts = seen
        .iter()
        .filter(|s| s.method == "POST" && s.query.contains("mount=") && s.status == 201)
        .count();
    let sent = seen
        .iter()
        .filter(|s| matches!(s.method.as_str(), "PUT" | "PATCH") && s.path.contains("/blobs/"))
        .count();
    assert!(
        mounts >= 2,
        "{mounts} mounts (the wheel and its config): {seen:#?}"
    );
    assert_eq!(sent, 0, "blob bytes were sent: {seen:#?}");

    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["--registry", &format!("{}/b", reg.host), "pull", "pypi"])
            .arg(format!("{NAME}==1.0.0"))
            .arg("-o")
            .arg(&dest),
    );
    same_bytes(&file, &dest.join(file.file_name().unwrap()));
}

#[test]
fn a_copy_within_one_registry_asks_v2_once_and_reports_the_mounts() {
    let reg = Registry::start();
    let env = Env::new();
    let file = wheel(&env, "1.0.0");
    push_direct(&env, &reg, "a", &[&file]);
    let front = FaultFront::start(&reg.host);

    let out = run_ok(env.opp().args([
        "copy",
        "pypi",
        &format!("{NAME}==1.0.0"),
        "--from",
        &format!("{}/a", front.host),
        "--to",
        &format!("{}/b", front.host),
        "--json",
    ]));
    let seen = front.seen();
    let pings = seen.iter().filter(|s| s.path == "/v2/").count();
    assert_eq!(pings, 1, "requests to /v2/: {seen:#?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (&v["blobs_copied"], &v["blobs_mounted"], &v["blobs_skipped"]),
        (&0.into(), &2.into(), &0.into()),
        "the wheel and its config are mounted, not sent nor already there: {v}"
    );
    let line = format!(
        "copied {NAME} 1.0.0 from {host}/a/pypi/{NAME} to {host}/b/pypi/{NAME}:1.0.0 (0 blobs \
         sent, 0 B; 2 mounted; 0 already there)",
        host = front.host
    );
    assert!(
        stderr(&out).lines().any(|l| l.trim() == line),
        "no `{line}` in:\n{}",
        stderr(&out)
    );
}

//! What `opp mirror pypi` fetches from an upstream index that serves no PEP 658 metadata
//! (as the caching proxy in front of PyPI here does), counted on a local index that records
//! every request: each mirrored file is downloaded once (the download that told its
//! dependencies is the one stored), a large wheel's dependencies come from range requests
//! where the index serves them, and a second run downloads no distribution file. Also what a
//! person sees on a terminal: one progress bar for the plan, files and bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io::Write;
use std::path::Path;

use serde_json::Value;
use support::cli::{Env, files_with_status, run_ok, stderr};
use support::fixtures::{SIX_SDIST, SIX_WHEEL, pypi_fixture};
use support::static_index::StaticIndex;

/// demo 1.0's wheel, which depends on six.
const DEMO_WHEEL: &str = "demo-1.0-py3-none-any.whl";

fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Adds a PEP 691 JSON page to the index under `root` listing `files` with their sha256 and
/// size, and no PEP 658 metadata (as the proxy in front of PyPI here serves them).
fn page(root: &Path, project: &str, files: &[&str]) {
    let dir = root.join("simple").join(project);
    std::fs::create_dir_all(&dir).unwrap();
    let entries: Vec<Value> = files
        .iter()
        .map(|f| {
            let path = root.join("files").join(f);
            serde_json::json!({
                "filename": f,
                "url": format!("../../files/{f}"),
                "hashes": {"sha256": sha256_of(&path)},
                "size": std::fs::metadata(&path).unwrap().len(),
            })
        })
        .collect();
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": project,
        "files": entries,
    });
    std::fs::write(dir.join("index.json"), page.to_string()).unwrap();
}

/// An index holding six 1.16.0 (the real files) and demo 1.0, a wheel of `filler` bytes of
/// incompressible data that depends on six.
fn index(root: &Path, filler: usize) {
    let files = root.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for f in [SIX_WHEEL, SIX_SDIST] {
        std::fs::copy(pypi_fixture(f), files.join(f)).unwrap();
    }
    page(root, "six", &[SIX_WHEEL, SIX_SDIST]);
    let out = std::fs::File::create(files.join(DEMO_WHEEL)).unwrap();
    let mut zip = zip::ZipWriter::new(out);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    // METADATA first, far from the central directory at the end: reading it takes a range
    // of its own.
    zip.start_file("demo-1.0.dist-info/METADATA", stored)
        .unwrap();
    zip.write_all(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six\n")
        .unwrap();
    zip.start_file("demo/data.bin", stored).unwrap();
    let mut state: u32 = 2463534242;
    let noise: Vec<u8> = (0..filler)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    zip.write_all(&noise).unwrap();
    zip.start_file("demo-1.0.dist-info/WHEEL", stored).unwrap();
    zip.write_all(b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        .unwrap();
    zip.finish().unwrap();
    page(root, "demo", &[DEMO_WHEEL]);
}

/// The requests for `file` the index served, as `RANGE STATUS` (`-` for no range).
fn requests_for(index: &StaticIndex, file: &str) -> Vec<String> {
    index
        .requests()
        .iter()
        .filter_map(|l| {
            let mut parts = l.split(' ');
            let (_, path) = (parts.next()?, parts.next()?);
            path.ends_with(&format!("/files/{file}"))
                .then(|| parts.collect::<Vec<_>>().join(" "))
        })
        .collect()
}

fn mirror(env: &Env, index: &StaticIndex) -> std::process::Output {
    run_ok(env.opp().args([
        "mirror",
        "pypi",
        "demo==1.0",
        "--json",
        "--upstream",
        &index.url,
    ]))
}

#[test]
fn a_large_wheels_dependencies_come_from_ranges_and_each_file_is_downloaded_once() {
    let env = Env::new();
    let root = env.root().join("index");
    index(&root, 3 * 1024 * 1024);
    let index = StaticIndex::with_ranges(&env, &root);
    let out = mirror(&env, &index);
    assert_eq!(
        files_with_status(&out, "added"),
        [DEMO_WHEEL, SIX_WHEEL, SIX_SDIST]
    );
    // demo's METADATA: its tail (the central directory) and the member at the start, then
    // one whole download for the store.
    assert_eq!(
        requests_for(&index, DEMO_WHEEL),
        ["bytes=-65536 206", "bytes=0-32767 206", "- 200"],
        "{}",
        stderr(&out)
    );
    // six's wheel is small: downloaded whole to read its METADATA, and that copy is stored.
    assert_eq!(requests_for(&index, SIX_WHEEL), ["- 200"]);
    assert_eq!(requests_for(&index, SIX_SDIST), ["- 200"]);
}

#[test]
fn without_ranges_a_large_wheel_is_downloaded_whole_once_and_that_copy_is_stored() {
    let env = Env::new();
    let root = env.root().join("index");
    index(&root, 3 * 1024 * 1024);
    // http.server ignores Range: the first answer is the whole file, and that is kept.
    let index = StaticIndex::serve(&env, &root);
    let out = mirror(&env, &index);
    assert_eq!(
        files_with_status(&out, "added"),
        [DEMO_WHEEL, SIX_WHEEL, SIX_SDIST]
    );
    assert_eq!(
        requests_for(&index, DEMO_WHEEL),
        ["bytes=-65536 200"],
        "{}",
        stderr(&out)
    );
    assert_eq!(requests_for(&index, SIX_WHEEL), ["- 200"]);
}

#[test]
fn a_second_run_requests_no_distribution_file_from_the_upstream() {
    let env = Env::new();
    let root = env.root().join("index");
    index(&root, 3 * 1024 * 1024);
    let index = StaticIndex::with_ranges(&env, &root);
    let first = mirror(&env, &index);
    assert_eq!(
        files_with_status(&first, "added"),
        [DEMO_WHEEL, SIX_WHEEL, SIX_SDIST]
    );
    index.clear_requests();
    let second = mirror(&env, &index);
    assert_eq!(files_with_status(&second, "added"), Vec::<String>::new());
    let files: Vec<String> = index
        .requests()
        .into_iter()
        .filter(|l| l.contains("/files/"))
        .collect();
    assert_eq!(files, Vec::<String>::new(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("0 added, 3 skipped (already stored), 0 failed"),
        "{}",
        stderr(&second)
    );
}

#[test]
fn an_upstream_that_stalls_mid_file_is_given_up_on_and_asked_again() {
    let env = Env::new();
    let root = env.root().join("index");
    index(&root, 64 * 1024);
    let index = StaticIndex::stalling_once(&env, &root, &format!("/files/{SIX_SDIST}"));
    // The stalled answer stays open for ten minutes: only opp's own timeout ends it, and
    // OPP_HTTP_TIMEOUT sets that well below the default (30 s) and the watchdog here (20 s).
    let child = env
        .opp()
        .env("OPP_HTTP_TIMEOUT", "2s")
        .args(["mirror", "pypi", "demo==1.0", "--json", "--upstream"])
        .arg(&index.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out =
        support::cli::wait_within(child, std::time::Duration::from_secs(20)).unwrap_or_else(|_| {
            panic!("opp still waits on the stalled download after 20 s (OPP_HTTP_TIMEOUT=2s)")
        });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        files_with_status(&out, "added"),
        [DEMO_WHEEL, SIX_WHEEL, SIX_SDIST]
    );
    // Asked twice: the stalled answer, then the whole file.
    assert_eq!(
        requests_for(&index, SIX_SDIST),
        ["- 200", "- 200"],
        "{}",
        stderr(&out)
    );
    // What is stored is the file, byte for byte.
    let want = std::fs::read(root.join("files").join(SIX_SDIST)).unwrap();
    let blob = env
        .store()
        .join("pypi/six/blobs/sha256")
        .join(sha256_of(&root.join("files").join(SIX_SDIST)));
    assert_eq!(std::fs::read(&blob).unwrap(), want);
}

#[test]
fn on_a_terminal_the_mirror_shows_files_and_bytes_and_with_quiet_nothing() {
    let env = Env::new();
    let root = env.root().join("index");
    index(&root, 64 * 1024);
    let index = StaticIndex::serve(&env, &root);
    let mut cmd = env.opp();
    cmd.args(["mirror", "pypi", "demo==1.0", "--upstream", &index.url]);
    let out = support::cli::on_a_terminal(&cmd);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    // One bar for the whole plan: its files (none done yet), and its bytes.
    let total = [DEMO_WHEEL, SIX_WHEEL, SIX_SDIST]
        .iter()
        .map(|f| std::fs::metadata(root.join("files").join(f)).unwrap().len())
        .sum::<u64>();
    let bar = screen
        .lines()
        .find(|l| l.contains("mirroring 0/3 files"))
        .unwrap_or_else(|| panic!("no progress bar with the plan's files:\n{screen}"));
    let kib = format!("/{:.2} KiB", total as f64 / 1024.0);
    assert!(bar.contains(&kib), "no {kib} of bytes in {bar:?}");
    // Then the summary, as without a terminal.
    assert!(screen.contains("3 added, 0 skipped"), "{screen}");

    // --quiet: no bar and no status lines, on a terminal too.
    let quiet_env = Env::new();
    let mut cmd = quiet_env.opp();
    cmd.args([
        "-q",
        "mirror",
        "pypi",
        "demo==1.0",
        "--upstream",
        &index.url,
    ]);
    let out = support::cli::on_a_terminal(&cmd);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert_eq!(screen.trim(), "", "--quiet printed on the terminal");
}

#[test]
fn an_http_timeout_that_is_no_duration_is_refused_with_a_hint() {
    let env = Env::new();
    let out = support::cli::run_fail(env.opp().env("OPP_HTTP_TIMEOUT", "soon").args([
        "mirror",
        "pypi",
        "six==1.16.0",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: OPP_HTTP_TIMEOUT=`soon` is not a duration opp can wait\n  \
         hint: write a number of seconds or a duration, e.g. 30, 30s or 2m\n"
    );
}

//! `opp proxy` over a registry whose storage was altered under it: a blob with one byte
//! flipped (same length) must never reach a client as a complete response, neither whole nor
//! as a range, from any frontend (wheel, module zip, .nupkg, gem), and the proxy says which
//! blob failed. And the same paths, untampered, still
//! stream whole files and ranges without holding a file in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_pypi/harness.rs"]
mod harness;
#[path = "support/served.rs"]
mod served;
mod support;

use std::path::{Path, PathBuf};

use served::Served;
use support::cli::{Env, run_fail, run_ok, stdout};
use support::registry::Registry;

const WHEEL_NAME: &str = "opp-tamper";
const MODULE: &str = "acme/greet/null";

/// A registry holding a small wheel and a module, pushed with opp.
struct Stored {
    reg: Registry,
    env: Env,
    wheel: PathBuf,
}

fn stored() -> Stored {
    let reg = Registry::start();
    let env = Env::new();
    let wheel = harness::wheel(&env.root().join("dist"), WHEEL_NAME, "1.0", &[], "X = 1");
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(&wheel),
    );
    let module = support::terraform::module_dir(&env.root().join("module"));
    run_ok(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "push",
                "terraform-module",
                MODULE,
                "1.0.0",
            ])
            .arg(&module),
    );
    Stored { reg, env, wheel }
}

impl Stored {
    /// The sha256 hex of the first file of `ecosystem` `name`, as `opp show` gives it.
    fn digest_hex(&self, ecosystem: &str, name: &str) -> String {
        let out = run_ok(self.env.opp().args([
            "--registry",
            &self.reg.host,
            "show",
            ecosystem,
            name,
            "--json",
        ]));
        let release: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("show --json");
        let digest = release["files"][0]["digest"]
            .as_str()
            .unwrap_or_else(|| panic!("no digest in {release}"));
        digest.trim_start_matches("sha256:").to_owned()
    }

    /// Flips one byte in the middle of the registry's copy of blob `hex`; the length stays.
    fn tamper(&self, hex: &str) {
        let data = self
            .reg
            .data_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        let mut bytes = std::fs::read(&data)
            .unwrap_or_else(|e| panic!("read the registry's blob {}: {e}", data.display()));
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&data, bytes).expect("write the tampered blob");
    }

    fn serve(&self, args: &[&str]) -> Served {
        Served::start(
            &self.env,
            &["--registry", &self.reg.host],
            args,
            &self.env.root().join("tmp"),
        )
    }

    /// The wheel's URL path on the proxy.
    fn wheel_path(&self) -> String {
        let file = self.wheel.file_name().unwrap().to_str().unwrap();
        format!("/pypi/files/{WHEEL_NAME}/1.0/{file}")
    }
}

/// curl's exit status and the HTTP status it printed.
fn curl_result(out: &std::process::Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The signed archive URL the module registry protocol hands out for the module.
fn module_archive_url(served: &Served, dir: &Path) -> String {
    let headers = dir.join("headers");
    let out = served.curl(
        &format!("/terraform/modules/v1/{MODULE}/1.0.0/download"),
        &dir.join("download"),
        &["-D", headers.to_str().unwrap()],
    );
    assert_eq!(curl_result(&out), (0, "204".to_owned()), "{out:?}");
    let text = std::fs::read_to_string(&headers).expect("headers");
    text.lines()
        .find_map(|l| l.strip_prefix("x-terraform-get: "))
        .unwrap_or_else(|| panic!("no X-Terraform-Get in:\n{text}"))
        .trim()
        .to_owned()
}

/// Pushes a small .nupkg and a gem built by the real `gem build` beside the wheel and module.
fn push_nupkg_and_gem(s: &Stored) {
    let dist = s.env.root().join("other");
    let nupkg = support::nuget::nupkg(&dist, "Opp.Tamper", "1.0.0", &[]);
    let gem = support::gems::build(
        &s.env,
        &support::gems::GemSpec {
            name: "opptamper",
            version: "1.0.0",
            ..Default::default()
        },
    );
    for (ecosystem, file) in [("nuget", nupkg), ("rubygems", gem)] {
        run_ok(
            s.env
                .opp()
                .args(["--registry", &s.reg.host, "push", ecosystem])
                .arg(&file),
        );
    }
}

#[test]
fn a_tampered_file_of_every_frontend_fails_as_a_transfer_and_the_proxy_names_the_blob() {
    let s = stored();
    push_nupkg_and_gem(&s);
    // (what, `opp show` arguments, the repository, the URL path or None for the module)
    let wheel_repo = format!("pypi/{}", WHEEL_NAME.replace('-', "_"));
    let cases: [(&str, [&str; 2], &str, Option<String>); 4] = [
        (
            "wheel",
            ["pypi", "opp-tamper@1.0"],
            &wheel_repo,
            Some(s.wheel_path()),
        ),
        (
            "module",
            ["terraform-module", "acme/greet/null@1.0.0"],
            "terraform-module/acme/greet/null",
            None,
        ),
        (
            "nupkg",
            ["nuget", "Opp.Tamper@1.0.0"],
            "nuget/opp.tamper",
            Some("/nuget/v3/flatcontainer/opp.tamper/1.0.0/opp.tamper.1.0.0.nupkg".to_owned()),
        ),
        (
            "gem",
            ["rubygems", "opptamper@1.0.0"],
            "rubygems/opptamper",
            Some("/rubygems/gems/opptamper-1.0.0.gem".to_owned()),
        ),
    ];
    let digests: Vec<String> = cases
        .iter()
        .map(|(_, show, _, _)| s.digest_hex(show[0], show[1]))
        .collect();
    for hex in &digests {
        s.tamper(hex);
    }
    let served = s.serve(&["--http"]);
    let dir = s.env.root();
    let mut failures = Vec::new();
    for ((what, _, repository, path), hex) in cases.iter().zip(&digests) {
        let url = path
            .clone()
            .unwrap_or_else(|| module_archive_url(&served, dir));
        let got = dir.join(format!("{what}.got"));
        let out = served.curl(&url, &got, &[]);
        let (code, status) = curl_result(&out);
        // A failed transfer: cut short of its length, or refused with an error status before
        // any byte of the file (the proxy's cache checks small blobs whole first).
        if code == 0 && status.starts_with('2') {
            failures.push(format!(
                "{what}: curl got a complete answer ({status}, {} bytes)",
                std::fs::metadata(&got).map(|m| m.len()).unwrap_or(0)
            ));
        }
        let log = served.stderr();
        if !log.lines().any(|l| {
            l.contains(&format!("sha256:{hex}"))
                && l.contains(&format!("of {repository}:"))
                && l.contains("not serving blob")
        }) {
            failures.push(format!(
                "{what}: no log line names blob {hex} of {repository}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nopp's stderr:\n{}",
        served.stderr()
    );
}

#[test]
fn a_range_of_a_tampered_wheel_is_refused_not_served() {
    let s = stored();
    let hex = s.digest_hex("pypi", &format!("{WHEEL_NAME}@1.0"));
    s.tamper(&hex);
    let served = s.serve(&["--http"]);
    let got = s.env.root().join("range.got");
    // The first bytes are untouched: a proxy reading the range straight from the store's
    // stream would answer them as a clean 206.
    let out = served.curl(&s.wheel_path(), &got, &["-H", "Range: bytes=0-99"]);
    let (_, status) = curl_result(&out);
    assert_eq!(status, "502", "{out:?}");
    let body = std::fs::read_to_string(&got).unwrap_or_default();
    assert!(
        body.contains(&format!("sha256:{hex}")) && body.contains("corrupt"),
        "the answer does not say the blob is corrupt: {body}"
    );
}

#[test]
fn pip_install_of_a_tampered_wheel_through_opp_proxy_fails() {
    let s = stored();
    let hex = s.digest_hex("pypi", &format!("{WHEEL_NAME}@1.0"));
    s.tamper(&hex);
    let site = s.env.root().join("site");
    let mut cmd = s.env.opp();
    cmd.args(["--registry", &s.reg.host, "proxy", "--"])
        .arg(support::tool("pip"))
        .args(["install", "--no-cache-dir", "--retries", "0", "--target"])
        .arg(&site)
        .arg(WHEEL_NAME)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_FIND_LINKS");
    let out = run_fail(&mut cmd);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.lines()
            .any(|l| l.contains("not serving blob") && l.contains(&format!("sha256:{hex}"))),
        "opp did not log the digest failure:\n{text}"
    );
    assert!(
        !site.join("opp_tamper").exists(),
        "pip installed the tampered wheel"
    );
}

/// The peak resident memory of process `pid`, in bytes (Linux).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status");
    kb * 1024
}

#[test]
fn an_untampered_large_wheel_streams_whole_and_in_ranges_with_flat_memory() {
    const SIZE: u64 = 96 << 20;
    let reg = Registry::start();
    let env = Env::new();
    let wheel = support::fixtures::make_wheel(&env.root().join("dist"), "opp-big", "1.0", SIZE);
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(&wheel),
    );
    let served = Served::start(
        &env,
        &["--registry", &reg.host],
        &["--http"],
        &env.root().join("tmp"),
    );
    let file = wheel.file_name().unwrap().to_str().unwrap();
    let path = format!("/pypi/files/opp-big/1.0/{file}");
    let expected = std::fs::read(&wheel).expect("read the wheel");
    let before = peak_rss(served.opp.id());

    let got = env.root().join("whole.got");
    let out = served.curl(&path, &got, &[]);
    assert_eq!(curl_result(&out), (0, "200".to_owned()), "{out:?}");
    assert!(
        std::fs::read(&got).expect("read") == expected,
        "the whole file differs"
    );

    let tail = env.root().join("tail.got");
    let out = served.curl(&path, &tail, &["-H", "Range: bytes=-65536"]);
    assert_eq!(curl_result(&out), (0, "206".to_owned()), "{out:?}");
    assert!(
        std::fs::read(&tail).expect("read") == expected[expected.len() - 65536..],
        "the range differs"
    );

    let peak = peak_rss(served.opp.id());
    eprintln!(
        "opp proxy peak RSS: {} MiB ({} MiB before serving)",
        peak >> 20,
        before >> 20
    );
    // Flat memory: serving the file (whole, then a range) grows the proxy by a bounded
    // amount, not by the file's size.
    assert!(
        peak.saturating_sub(before) < SIZE / 8,
        "opp proxy peaked at {} MiB serving a {} MiB file ({} MiB before serving)",
        peak >> 20,
        SIZE >> 20,
        before >> 20
    );
}

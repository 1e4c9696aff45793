//! What opp prints when what it prints is hostile or secret: terminal escape sequences in
//! package metadata and in what a store holds come out escaped (JSON stays exact), a password
//! in a registry address is refused and never echoed, and error hints name the commands that
//! help (`opp login`, `opp list ...`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, SIX_WHEEL};
use support::registry::{Basic, Registry};
use zip::write::SimpleFileOptions;

const ESC: u8 = 0x1b;
/// Sets the terminal's window title, then rings the bell.
const TITLE_SEQUENCE: &str = "\u{1b}]0;pwned\u{7}";
/// Clears the screen.
const CLEAR_SEQUENCE: &str = "\u{1b}[2J";

/// `dir/<name>-1.0-py3-none-any.whl` whose METADATA summary and description carry escape
/// sequences.
fn wheel_with_escapes(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{name}-1.0-py3-none-any.whl"));
    let info = format!("{name}-1.0.dist-info");
    let members = [
        (
            format!("{name}/__init__.py"),
            "__version__ = '1.0'\n".to_owned(),
        ),
        (
            format!("{info}/METADATA"),
            format!(
                "Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: {TITLE_SEQUENCE}ok{CLEAR_SEQUENCE}\n\n{CLEAR_SEQUENCE}description\n"
            ),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: opp-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let mut record = String::new();
    for (member, text) in &members {
        zip.start_file(member.as_str(), SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        record.push_str(&format!("{member},,\n"));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    zip.start_file(format!("{info}/RECORD"), SimpleFileOptions::default())
        .unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

/// A blob written into a repository of the local store, as a foreign tool (or an attacker
/// with write access to the registry opp copied from) would; returns its digest and size.
fn write_blob(repo: &Path, bytes: &[u8]) -> (String, usize) {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(repo.join("blobs/sha256").join(&hex), bytes).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

fn read_blob(repo: &Path, digest: &str) -> Value {
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::from_slice(&std::fs::read(repo.join("blobs/sha256").join(hex)).unwrap()).unwrap()
}

/// Rewrites the index tagged `1.0` in `repo` with `change`, and points the tag at the result.
fn rewrite_index(repo: &Path, change: impl FnOnce(&Path, &mut Value)) {
    let layout_index: Value =
        serde_json::from_slice(&std::fs::read(repo.join("index.json")).unwrap()).unwrap();
    let entry = layout_index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == "1.0")
        .unwrap()
        .clone();
    let mut index = read_blob(repo, entry["digest"].as_str().unwrap());
    change(repo, &mut index);
    let (digest, size) = write_blob(repo, &serde_json::to_vec(&index).unwrap());
    let mut entry = entry;
    entry["digest"] = digest.into();
    entry["size"] = size.into();
    let layout_index = serde_json::json!({"schemaVersion": 2, "manifests": [entry]});
    std::fs::write(repo.join("index.json"), layout_index.to_string()).unwrap();
}

fn has_esc(bytes: &[u8]) -> bool {
    bytes.contains(&ESC)
}

#[test]
fn escape_sequences_from_metadata_and_the_store_are_shown_escaped() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(wheel_with_escapes(&env.root().join("dist"), "escpkg")),
    );
    // The stored title and creation time of that version, as a hostile source may write them.
    let hostile_title = format!("escpkg-1.0-py3-none-any{TITLE_SEQUENCE}.whl");
    let repo = env.store().join("pypi/escpkg");
    rewrite_index(&repo, |repo, index| {
        let child = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
        let mut manifest = read_blob(repo, &child);
        manifest["layers"][0]["annotations"]["org.opencontainers.image.title"] =
            hostile_title.clone().into();
        let (digest, size) = write_blob(repo, &serde_json::to_vec(&manifest).unwrap());
        index["manifests"][0]["digest"] = digest.into();
        index["manifests"][0]["size"] = size.into();
        // opp reads a file's name from its index entry when the entry describes it.
        index["manifests"][0]["annotations"]["io.opp.file.name"] = hostile_title.clone().into();
        index["annotations"]["org.opencontainers.image.created"] =
            format!("2024-01-01T00:00:00Z{CLEAR_SEQUENCE}").into();
    });

    let mut failures = Vec::new();
    for args in [
        &["list"][..],
        &["list", "pypi"],
        &["list", "pypi", "escpkg"],
        &["show", "pypi", "escpkg==1.0"],
    ] {
        let out = run_ok(env.opp().args(args));
        if has_esc(&out.stdout) || has_esc(&out.stderr) {
            failures.push(format!(
                "opp {args:?} printed a raw ESC:\n{}{}",
                stdout(&out),
                stderr(&out)
            ));
        }
    }
    let show = run_ok(env.opp().args(["show", "pypi", "escpkg==1.0"]));
    if !stdout(&show).contains(" escpkg-1.0-py3-none-any\\x1b]0;pwned\\x07.whl ") {
        failures.push(format!(
            "opp show hides the escaped title:\n{}",
            stdout(&show)
        ));
    }
    if !stderr(&show).ends_with(", created 2024-01-01T00:00:00Z\\x1b[2J)\n") {
        failures.push(format!("opp show: {}", stderr(&show)));
    }
    // JSON stays exact: the title as stored.
    let json: Value = serde_json::from_str(&stdout(&run_ok(env.opp().args([
        "show",
        "pypi",
        "escpkg==1.0",
        "--json",
    ]))))
    .unwrap();
    if json["files"][0]["name"] != hostile_title.as_str() {
        failures.push(format!(
            "opp show --json changed the title: {}",
            json["files"][0]
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_error_quoting_a_stored_string_escapes_it() {
    let env = Env::new();
    run_ok(env.opp().args(["push", "pypi"]).arg(fixtures::make_wheel(
        &env.root().join("dist"),
        "errpkg",
        "1.0",
        0,
    )));
    let repo = env.store().join("pypi/errpkg");
    rewrite_index(&repo, |_, index| {
        index["manifests"][0]["digest"] = format!("sha256:{CLEAR_SEQUENCE}beef").into();
    });
    let failed = run_fail(env.opp().args(["show", "pypi", "errpkg==1.0"]));
    assert_eq!(failed.status.code(), Some(1));
    assert!(!has_esc(&failed.stderr), "{:?}", stderr(&failed));
    assert_eq!(
        stderr(&failed),
        format!(
            "error: {}:1.0 is not a valid OCI image index: entry sha256:\\x1b[2Jbeef: annotation digest: `sha256:\\x1b[2Jbeef` is not a sha256 digest (expected sha256: and 64 lowercase hex digits)\n",
            repo.display()
        )
    );
}

#[test]
fn credentials_in_a_registry_address_are_refused_and_never_printed() {
    const PASSWORD: &str = "hunter2-s3cret";
    let env = Env::new();
    let config = env.root().join("opp.toml");
    std::fs::write(
        &config,
        format!("registry = \"https://me:{PASSWORD}@ghcr.io/acme\"\n"),
    )
    .unwrap();
    let hint = "holds a username and password; opp takes no credentials in an address\n  hint: run `opp login ghcr.io`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD";
    let flag = format!("http://me:{PASSWORD}@ghcr.io/acme");
    let cases: Vec<(&str, std::process::Command, String)> = vec![
        (
            "--registry",
            {
                let mut c = env.opp();
                c.args(["--registry", &flag, "list", "pypi"]);
                c
            },
            format!(
                "the registry address `http://ghcr.io/acme` (from --registry or OPP_REGISTRY) {hint}"
            ),
        ),
        (
            "OPP_REGISTRY",
            {
                let mut c = env.opp();
                c.env("OPP_REGISTRY", format!("me:{PASSWORD}@ghcr.io"))
                    .args(["push", "pypi"])
                    .arg(fixtures::pypi_fixture(SIX_WHEEL));
                c
            },
            format!("the registry address `ghcr.io` (from --registry or OPP_REGISTRY) {hint}"),
        ),
        (
            "config.toml",
            {
                let mut c = env.opp();
                c.arg("--config").arg(&config).arg("list");
                c
            },
            format!(
                "the registry address `https://ghcr.io/acme` (from `registry` in {}) {hint}",
                config.display()
            ),
        ),
        (
            "copy --to",
            {
                let mut c = env.opp();
                c.args(["copy", "pypi", "six==1.16.0", "--to", &flag]);
                c
            },
            format!("the registry address `http://ghcr.io/acme` (from --to) {hint}"),
        ),
    ];
    let mut failures = Vec::new();
    for (origin, mut cmd, message) in cases {
        let out = cmd.output().expect("run opp");
        let printed = format!("{}{}", stdout(&out), stderr(&out));
        if printed.contains(PASSWORD) {
            failures.push(format!("{origin}: the password was printed: {printed}"));
        }
        if out.status.code() != Some(1) || stderr(&out) != format!("error: {message}\n") {
            failures.push(format!("{origin}: {} {printed}", out.status));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_refused_login_hints_at_opp_login() {
    let reg = Registry::start_with_password(Basic {
        user: "me",
        password: "right",
    });
    let env = Env::new();
    let out = run_fail(
        env.opp()
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    assert_eq!(out.status.code(), Some(4));
    let text = stderr(&out);
    assert_eq!(
        text.lines().last(),
        Some(
            format!(
                "  hint: run `opp login {}`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD; if you did (or logged in with docker, whose credentials opp reads too), the password or token is wrong or expired",
                reg.host
            )
            .as_str()
        ),
        "{text}"
    );
}

#[test]
fn not_found_hints_name_the_list_command_of_that_package() {
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    let store = env.store();
    let mut failures = Vec::new();
    for (args, expected) in [
        (
            &["show", "pypi", "six==9.9"][..],
            format!(
                "error: no version 9.9 of `six` in {}/pypi/six\n  hint: `opp list pypi six` shows the stored versions of `six`\n",
                store.display()
            ),
        ),
        (
            &["copy", "pypi", "six==9.9", "--to", "./elsewhere"],
            format!(
                "error: no version 9.9 of `six` in {}/pypi/six\n  hint: `opp list pypi six` shows the stored versions of `six`\n",
                store.display()
            ),
        ),
        (
            &["list", "pypi", "nosuchpackage"],
            format!(
                "error: no package `nosuchpackage` in {}/pypi/nosuchpackage\n  hint: `opp mirror pypi nosuchpackage` brings it from PyPI, with its dependencies; `opp list pypi` shows the stored pypi packages\n",
                store.display()
            ),
        ),
        (
            &["pull", "nuget", "No.Such.Package", "-o", "./pulled"],
            format!(
                "error: no package `no.such.package` in {}/nuget/no.such.package\n  hint: `opp mirror nuget no.such.package` brings it from nuget.org, with its dependencies; `opp list nuget` shows the stored nuget packages\n",
                store.display()
            ),
        ),
        (
            &["pull", "rubygems", "nosuchgem", "-o", "./pulled"],
            format!(
                "error: no package `nosuchgem` in {}/rubygems/nosuchgem\n  hint: `opp mirror rubygems nosuchgem` brings it from rubygems.org, with its dependencies; `opp list rubygems` shows the stored rubygems packages\n",
                store.display()
            ),
        ),
        (
            &[
                "pull",
                "terraform-module",
                "acme/nosuch/aws",
                "-o",
                "./pulled",
            ],
            format!(
                "error: no package `acme/nosuch/aws` in {}/terraform-module/acme/nosuch/aws\n  hint: `opp list terraform-module` shows the stored terraform-module packages\n",
                store.display()
            ),
        ),
    ] {
        let out = run_fail(env.opp().args(args));
        if out.status.code() != Some(3) || stderr(&out) != expected {
            failures.push(format!("opp {args:?}: {}\n{}", out.status, stderr(&out)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

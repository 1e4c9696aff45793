//! Concurrent writers to one version against a real registry (Debian's docker-registry, which
//! has no compare-and-swap on tags): every push that exits 0 has its files in the tagged
//! version (PyPI wheels, RubyGems platform gems); whole-version ecosystems (Terraform providers, modules) let exactly one of several
//! different pushes win, with a clear error for the others; a module's `latest` never moves
//! backwards.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use support::cli::{Env, run_ok, stdout};
use support::fixtures;
use support::gems::{self, GemSpec};
use support::opentofu;
use support::registry::Registry;
use support::terraform;

/// Starts every command at once, then waits for them all.
fn run_concurrently(mut cmds: Vec<Command>) -> Vec<Output> {
    let children: Vec<Child> = cmds
        .iter_mut()
        .map(|c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start opp")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for opp"))
        .collect()
}

fn explain(outs: &[Output]) -> String {
    outs.iter()
        .enumerate()
        .map(|(i, o)| {
            format!(
                "push {i}: {}\n{}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `count` wheels of `name` `version`, each for another platform (so each is another entry of
/// the version): `<name>-<version>-py3-none-manylinux_2_<i>_x86_64.whl`.
fn platform_wheels(dir: &Path, name: &str, version: &str, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let scratch = dir.join(format!("scratch-{i}"));
            std::fs::create_dir_all(&scratch).unwrap();
            let built = fixtures::make_wheel(&scratch, name, version, 2000 + i as u64);
            let path = dir.join(format!(
                "{name}-{version}-py3-none-manylinux_2_{}_x86_64.whl",
                17 + i
            ));
            std::fs::rename(built, &path).unwrap();
            path
        })
        .collect()
}

/// The (file name, sha256) of every file of a version, as `opp show --json` lists them.
fn shown(env: &Env, registry: &str, eco: &str, spec: &str) -> Vec<(String, String)> {
    let out = run_ok(
        env.opp()
            .args(["--registry", registry, "show", eco, spec, "--json"]),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut files: Vec<(String, String)> = v["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files in {v}"))
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    files.sort();
    files
}

fn sha256_of(path: &Path) -> String {
    opentofu::sha256_digest(&std::fs::read(path).unwrap())
}

#[test]
fn eight_concurrent_pypi_pushes_to_one_version_keep_every_file_and_all_exit_0() {
    let reg = Registry::start();
    let env = Env::new();
    for round in 1..=3 {
        let version = format!("1.0.{round}");
        let dir = env.root().join(format!("round-{round}"));
        let wheels = platform_wheels(&dir, "crowd", &version, 8);
        let outs = run_concurrently(
            wheels
                .iter()
                .map(|w| {
                    let mut c = env.opp();
                    c.args(["--registry", &reg.host, "push", "pypi"]).arg(w);
                    c
                })
                .collect(),
        );
        assert!(
            outs.iter().all(|o| o.status.success()),
            "round {round}: a push failed:\n{}",
            explain(&outs)
        );
        let mut want: Vec<(String, String)> = wheels
            .iter()
            .map(|w| {
                let name = w.file_name().unwrap().to_string_lossy().into_owned();
                (name, sha256_of(w))
            })
            .collect();
        want.sort();
        assert_eq!(
            shown(&env, &reg.host, "pypi", &format!("crowd=={version}")),
            want,
            "round {round}: files missing after every push exited 0"
        );
    }
}

#[test]
fn concurrent_rubygems_pushes_of_one_version_for_four_platforms_keep_every_gem() {
    let reg = Registry::start();
    let env = Env::new();
    let platforms = [
        None,
        Some("x86_64-linux"),
        Some("java"),
        Some("arm64-darwin"),
    ];
    let built: Vec<PathBuf> = platforms
        .iter()
        .map(|platform| {
            gems::build(
                &env,
                &GemSpec {
                    name: "crowd",
                    version: "1.0.0",
                    platform: *platform,
                    ..GemSpec::default()
                },
            )
        })
        .collect();
    let outs = run_concurrently(
        built
            .iter()
            .map(|g| {
                let mut c = env.opp();
                c.args(["--registry", &reg.host, "push", "rubygems"]).arg(g);
                c
            })
            .collect(),
    );
    assert!(
        outs.iter().all(|o| o.status.success()),
        "a push failed:\n{}",
        explain(&outs)
    );
    let mut want: Vec<(String, String)> = built
        .iter()
        .map(|g| {
            let name = g.file_name().unwrap().to_string_lossy().into_owned();
            (name, sha256_of(g))
        })
        .collect();
    want.sort();
    assert_eq!(shown(&env, &reg.host, "rubygems", "crowd@1.0.0"), want);
}

fn push_provider(env: &Env, registry: &str, release: &Path) -> Command {
    let mut c = env.opp();
    c.args([
        "--registry",
        registry,
        "push",
        "terraform-provider",
        "acme/thing",
    ])
    .arg(release);
    c
}

#[test]
fn concurrent_pushes_of_one_provider_version_with_the_same_zips_all_succeed() {
    let reg = Registry::start();
    let env = Env::new();
    let platforms = [("linux", "amd64"), ("darwin", "arm64")];
    let a = terraform::provider_release(&env.root().join("a"), "thing", "1.0.0", &platforms);
    let b = terraform::provider_release(&env.root().join("b"), "thing", "1.0.0", &platforms);
    let outs = run_concurrently(vec![
        push_provider(&env, &reg.host, &a),
        push_provider(&env, &reg.host, &b),
    ]);
    assert!(
        outs.iter().all(|o| o.status.success()),
        "a push failed:\n{}",
        explain(&outs)
    );
    let names: Vec<String> = shown(&env, &reg.host, "terraform-provider", "acme/thing@1.0.0")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            terraform::zip_name("thing", "1.0.0", "darwin", "arm64"),
            terraform::zip_name("thing", "1.0.0", "linux", "amd64"),
        ]
    );
}

#[test]
fn concurrent_pushes_of_one_provider_version_with_other_zips_let_exactly_one_win() {
    let reg = Registry::start();
    let env = Env::new();
    // Same version, other zips: one release for Linux, one for macOS.
    let linux = [("linux", "amd64")];
    let mac = [("darwin", "arm64")];
    let a = terraform::provider_release(&env.root().join("a"), "thing", "1.0.0", &linux);
    let b = terraform::provider_release(&env.root().join("b"), "thing", "1.0.0", &mac);
    let outs = run_concurrently(vec![
        push_provider(&env, &reg.host, &a),
        push_provider(&env, &reg.host, &b),
    ]);
    let won: Vec<usize> = (0..2).filter(|i| outs[*i].status.success()).collect();
    assert_eq!(
        won.len(),
        1,
        "not exactly one push succeeded:\n{}",
        explain(&outs)
    );
    let (winner, loser) = (won[0], 1 - won[0]);
    let err = String::from_utf8_lossy(&outs[loser].stderr);
    let location = format!("{}/terraform-provider/acme/thing:1.0.0", reg.host);
    assert!(
        err.contains(&format!("{location} is already stored with other files"))
            && err.contains("pass --force to replace the version"),
        "the losing push's error:\n{err}"
    );
    // What is stored is the winner's release, whole.
    let (os, arch) = [linux[0], mac[0]][winner];
    let names: Vec<String> = shown(&env, &reg.host, "terraform-provider", "acme/thing@1.0.0")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, [terraform::zip_name("thing", "1.0.0", os, arch)]);
}

#[test]
fn concurrent_pushes_of_module_1_0_0_and_1_1_0_leave_latest_at_1_1_0() {
    let reg = Registry::start();
    let env = Env::new();
    let repo = "terraform-module/acme/greet/null";
    for round in 1..=3 {
        let name = format!("acme/greet{round}/null");
        let repo = repo.replace("greet", &format!("greet{round}"));
        let cmds = ["1.0.0", "1.1.0"]
            .iter()
            .map(|v| {
                // Other content per version, so the two zips (and manifests) differ.
                let dir = terraform::module_dir(&env.root().join(format!("{round}-{v}")));
                std::fs::write(dir.join("VERSION"), v).unwrap();
                let mut c = env.opp();
                c.args([
                    "--registry",
                    &reg.host,
                    "push",
                    "terraform-module",
                    &name,
                    v,
                ])
                .arg(dir);
                c
            })
            .collect();
        let outs = run_concurrently(cmds);
        assert!(
            outs.iter().all(|o| o.status.success()),
            "round {round}: a push failed:\n{}",
            explain(&outs)
        );
        let latest = opentofu::fetch(&reg.host, &repo, "latest").digest;
        assert_eq!(
            latest,
            opentofu::fetch(&reg.host, &repo, "1.1.0").digest,
            "round {round}: latest is not 1.1.0 ({})",
            explain(&outs)
        );
    }
}

//! Terraform providers end to end: push a goreleaser release into a real registry in
//! OpenTofu's layout, pull it into a filesystem mirror, lock every platform, and let the real
//! terraform install it with no network.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::opentofu;
use support::registry::Registry;
use support::terraform::{self, Terraform};

const PLATFORMS: [(&str, &str); 3] = [
    ("linux", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

fn release(env: &Env, name: &str, version: &str) -> std::path::PathBuf {
    terraform::provider_release(
        &env.root().join(format!("rel-{name}-{version}")),
        name,
        version,
        &PLATFORMS,
    )
}

#[test]
fn a_pushed_provider_is_in_opentofus_layout_and_terraform_installs_it_from_the_mirror_opp_writes() {
    let reg = Registry::start();
    let env = Env::new();
    let rel = release(&env, "demo", "1.2.3");
    let out = run_ok(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "push",
                "terraform-provider",
                "opp/demo",
            ])
            .arg(&rel),
    );
    assert!(
        stderr(&out).contains("pushed opp/demo 1.2.3"),
        "{}",
        stderr(&out)
    );

    // Every rule OpenTofu's oci_mirror enforces, read back from the real registry.
    opentofu::check_provider_in_registry(&reg.host, "terraform-provider/opp/demo", "1.2.3")
        .unwrap();

    // Pull this machine's platform into a filesystem mirror; lock every platform.
    let work = env.root().join("work");
    terraform::config_for_provider(&work, "registry.terraform.io", "opp", "demo", "~> 1.2");
    let mirror = env.root().join("mirror");
    run_ok(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "pull",
                "terraform-provider",
                "opp/demo@~> 1.2",
                "-o",
            ])
            .arg(&mirror),
    );
    let zip = mirror
        .join("registry.terraform.io/opp/demo")
        .join(terraform::zip_name("demo", "1.2.3", "linux", "amd64"));
    assert!(zip.is_file(), "{} missing", zip.display());
    let lock = work.join(".terraform.lock.hcl");
    run_ok(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "lock",
                "terraform-provider",
                "opp/demo",
                "--lock-file",
            ])
            .arg(&lock),
    );
    let ours = terraform::lock_hashes(&std::fs::read_to_string(&lock).unwrap(), "opp/demo");
    assert_eq!(
        ours.iter().filter(|h| h.starts_with("zh:")).count(),
        PLATFORMS.len(),
        "{ours:?}"
    );
    assert_eq!(
        ours.iter().filter(|h| h.starts_with("h1:")).count(),
        PLATFORMS.len(),
        "{ours:?}"
    );
    let src = rel.join(terraform::zip_name("demo", "1.2.3", "linux", "amd64"));
    assert!(ours.contains(&terraform::h1_of_zip(&src)));
    assert!(ours.contains(&terraform::zh_of_file(&src)));

    // terraform checks the package against the lock file opp wrote, then keeps it.
    let tf = Terraform::new(&env);
    let init = tf.init_with_plugin_dir(&work, &mirror);
    assert!(init.status.success(), "{}", terraform::explain(&init));
    let after = terraform::lock_hashes(&terraform::lock_file(&work), "opp/demo");
    for h in &ours {
        assert!(after.contains(h), "terraform dropped {h}: {after:?}");
    }
    assert_eq!(
        terraform::lock_version(&terraform::lock_file(&work), "opp/demo"),
        "1.2.3"
    );
}

#[test]
fn all_platforms_unpacked_work_as_a_filesystem_mirror_for_the_newer_terraform() {
    let env = Env::new();
    let rel = release(&env, "demo", "0.3.0");
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    let mirror = env.root().join("mirror");
    run_ok(
        env.opp()
            .args([
                "pull",
                "terraform-provider",
                "opp/demo",
                "--all-platforms",
                "--unpacked",
                "-o",
            ])
            .arg(&mirror),
    );
    for (os, arch) in PLATFORMS {
        let exe = mirror
            .join("registry.terraform.io/opp/demo/0.3.0")
            .join(format!("{os}_{arch}"))
            .join(terraform::executable_name("demo", "0.3.0"));
        assert!(exe.is_file(), "{} missing", exe.display());
    }
    let work = env.root().join("work");
    terraform::config_for_provider(&work, "registry.terraform.io", "opp", "demo", "0.3.0");
    let tf = Terraform::latest(&env);
    let init = tf.init_with_filesystem_mirror(&work, &mirror);
    assert!(init.status.success(), "{}", terraform::explain(&init));
}

#[test]
fn pull_takes_the_newest_version_a_constraint_allows_and_list_shows_platforms() {
    let env = Env::new();
    for v in ["1.0.0", "1.2.0", "2.0.0"] {
        run_ok(
            env.opp()
                .args(["push", "terraform-provider", "opp/demo"])
                .arg(release(&env, "demo", v)),
        );
    }
    let pulled = |spec: &str| -> Vec<String> {
        let dir = env.root().join(format!(
            "m-{}",
            spec.replace([' ', '~', '>', '<', '=', ','], "_")
        ));
        run_ok(
            env.opp()
                .args([
                    "pull",
                    "terraform-provider",
                    spec,
                    "--platform",
                    "darwin_arm64",
                    "-o",
                ])
                .arg(&dir),
        );
        let mut names: Vec<String> = std::fs::read_dir(dir.join("registry.terraform.io/opp/demo"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        pulled("opp/demo@~> 1.0"),
        vec![terraform::zip_name("demo", "1.2.0", "darwin", "arm64")]
    );
    assert_eq!(
        pulled("opp/demo"),
        vec![terraform::zip_name("demo", "2.0.0", "darwin", "arm64")]
    );
    assert_eq!(
        pulled("opp/demo@< 1.2"),
        vec![terraform::zip_name("demo", "1.0.0", "darwin", "arm64")]
    );

    let none = run_fail(
        env.opp()
            .args(["pull", "terraform-provider", "opp/demo@~> 3.0", "-o"])
            .arg(env.root().join("x")),
    );
    assert_eq!(none.status.code(), Some(3), "{}", stderr(&none));
    let missing = run_fail(
        env.opp()
            .args([
                "pull",
                "terraform-provider",
                "opp/demo",
                "--platform",
                "freebsd_arm",
                "-o",
            ])
            .arg(env.root().join("y")),
    );
    assert!(
        stderr(&missing).contains("linux_amd64"),
        "{}",
        stderr(&missing)
    );

    let table = stdout(&run_ok(env.opp().args([
        "list",
        "terraform-provider",
        "opp/demo",
    ])));
    assert!(
        table.contains("darwin_arm64") && table.contains("2.0.0"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&run_ok(env.opp().args([
        "list",
        "terraform-provider",
        "opp/demo",
        "--json",
    ]))))
    .unwrap();
    let versions: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["2.0.0", "1.2.0", "1.0.0"]);
}

#[test]
fn pushing_the_same_release_again_is_a_noop_and_other_zips_need_force() {
    let env = Env::new();
    let rel = release(&env, "demo", "1.0.0");
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    let again = run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    assert!(stderr(&again).contains("left as is"), "{}", stderr(&again));
    let other =
        terraform::provider_release(&env.root().join("other"), "demo", "1.0.0", &PLATFORMS[..1]);
    let refused = run_fail(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&other),
    );
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
}

/// Pushing `dir` fails with exit status 1 and exactly the stderr `want` (the test's directory
/// written as `[ROOT]`), and nothing reaches the registry. Returns what went wrong instead of
/// panicking, so a table of cases reports every failing one.
fn refusal_problems(env: &Env, reg: &Registry, case: &str, dir: &Path, want: &str) -> Vec<String> {
    let out = run_fail(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "push",
                "terraform-provider",
                "opp/demo",
            ])
            .arg(dir),
    );
    let got = stderr(&out).replace(&env.root().display().to_string(), "[ROOT]");
    let mut problems = Vec::new();
    if out.status.code() != Some(1) {
        problems.push(format!("{case}: exit {:?}, not 1", out.status.code()));
    }
    if got != want {
        problems.push(format!("{case}: stderr\n  got:  {got:?}\n  want: {want:?}"));
    }
    let listed = run_fail(env.opp().args([
        "--registry",
        &reg.host,
        "list",
        "terraform-provider",
        "opp/demo",
    ]));
    if listed.status.code() != Some(3) {
        problems.push(format!("{case}: something was pushed: {}", stdout(&listed)));
    }
    problems
}

/// The sha256 (hex) that `dir`'s SHA256SUMS states for `file`.
fn stated_sha256(dir: &Path, version: &str, file: &str) -> String {
    let sums = std::fs::read_to_string(dir.join(terraform::sums_name("demo", version))).unwrap();
    sums.lines()
        .find_map(|l| l.strip_suffix(&format!("  {file}")))
        .unwrap()
        .to_owned()
}

/// Each bad release with the whole stderr a user reads: the error naming the file, and the
/// hint saying what to do.
#[test]
fn bad_releases_are_refused_before_anything_is_pushed() {
    let reg = Registry::start();
    let env = Env::new();
    let zip = terraform::zip_name("demo", "1.0.0", "linux", "amd64");
    let bad = terraform::provider_release_with_bad_sum(
        &env.root().join("bad"),
        "demo",
        "1.0.0",
        &PLATFORMS,
    );
    let actual = opentofu::sha256_digest(&terraform::provider_zip_bytes(
        "demo", "1.0.0", "linux", "amd64",
    ));
    let bad_want = format!(
        "error: [ROOT]/bad/{zip} has sha256 {}, but [ROOT]/bad/{} says {}\n  hint: the file is \
         corrupt or SHA256SUMS is stale: re-download or rebuild the release\n",
        actual.trim_start_matches("sha256:"),
        terraform::sums_name("demo", "1.0.0"),
        stated_sha256(&bad, "1.0.0", &zip),
    );
    let missing = terraform::provider_release_missing_zip(
        &env.root().join("missing"),
        "demo",
        "1.0.0",
        &PLATFORMS,
    );
    let missing_want = format!(
        "error: [ROOT]/missing/{} names {zip}, which is not in [ROOT]/missing\n  hint: copy the \
         missing file into the directory or regenerate SHA256SUMS\n",
        terraform::sums_name("demo", "1.0.0"),
    );
    let two = terraform::provider_release_two_versions(
        &env.root().join("two"),
        "demo",
        "1.0.0",
        "1.1.0",
        &PLATFORMS,
    );
    let notsemver = terraform::provider_release(&env.root().join("ns"), "demo", "1.0", &PLATFORMS);
    let wrong_type = release(&env, "other", "1.0.0");
    let cases: Vec<(&str, &Path, String)> =
        vec![
        ("a zip whose sha256 is not the stated one", &bad, bad_want),
        ("a zip SHA256SUMS names but the directory lacks", &missing, missing_want),
        (
            "two versions in one directory",
            &two,
            "error: [ROOT]/two holds files of more than one version (1.0.0, 1.1.0)\n  hint: push \
             one version at a time, from its own directory\n"
                .to_owned(),
        ),
        (
            "a version that is not semver",
            &notsemver,
            "error: [ROOT]/ns/terraform-provider-demo_1.0_SHA256SUMS: `1.0` is not a semantic \
             version (cannot map terraform-provider version `1.0` to a tag: not a semantic \
             version: unexpected end of input while parsing minor version number); Terraform \
             only accepts MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without a leading `v`\n"
                .to_owned(),
        ),
        (
            "a release of another provider type",
            &wrong_type,
            "error: [ROOT]/rel-other-1.0.0/terraform-provider-other_1.0.0_SHA256SUMS is a release of \
             provider type `other`, not `demo`\n  hint: check NAMESPACE/TYPE or the directory\n"
                .to_owned(),
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|(case, dir, want)| refusal_problems(&env, &reg, case, dir, want))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pull_of_a_platform_not_stored_names_the_stored_ones_and_hints_the_flags() {
    let env = Env::new();
    let rel = release(&env, "demo", "1.0.0");
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    let out = run_fail(
        env.opp()
            .args([
                "pull",
                "terraform-provider",
                "opp/demo",
                "--platform",
                "linux_arm64",
                "-o",
            ])
            .arg(env.root().join("mirror")),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: `opp/demo` 1.0.0 has no linux_arm64 build; stored platforms: \
         darwin_arm64, linux_amd64, windows_amd64\n  hint: name the platforms to pull with \
         --platform OS_ARCH, or pull every one with --all-platforms\n"
    );
    assert!(
        !env.root().join("mirror").exists(),
        "the mirror was created"
    );
}

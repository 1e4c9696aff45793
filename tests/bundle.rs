//! `opp export` and `opp import` end to end: bundles written from the local store and a real
//! registry, read by skopeo, imported into fresh stores and installed from with real clients;
//! damaged bundles refused with nothing tagged.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "bundle/cli.rs"]
mod cli;
#[path = "bundle/modules.rs"]
mod modules;
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, ATTRS_WHEELS, SIX_SDIST, SIX_WHEEL};
use support::registry::Registry;

/// The names of a tar's entries, in order.
fn entry_names(tar: &Path) -> Vec<String> {
    let mut archive = tar::Archive::new(std::fs::File::open(tar).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

/// Pushes six (wheel and sdist) and one attrs wheel into `env`'s local store.
fn push_fixtures(env: &Env) {
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL))
            .arg(fixtures::pypi_fixture(SIX_SDIST))
            .arg(fixtures::pypi_fixture(ATTRS_WHEELS[1])),
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The bytes of what a tag of a local store layout points at.
fn stored_manifest(store: &Path, repo: &str, tag: &str) -> Vec<u8> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join(repo).join("index.json")).unwrap())
            .unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    let digest = entry["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(store.join(repo).join("blobs/sha256").join(hex)).unwrap()
}

#[test]
fn skopeo_reads_one_artifact_out_of_a_bundle_exported_from_the_local_store() {
    let env = Env::new();
    push_fixtures(&env);
    let bundle = env.root().join("deps.tar");
    run_ok(
        env.opp()
            .args(["export", "pypi:six", "pypi:attrs@23.1.0", "-o"])
            .arg(&bundle),
    );

    let names = entry_names(&bundle);
    assert_eq!(
        names.first().map(String::as_str),
        Some("opp-bundle.json"),
        "{names:?}"
    );
    assert_eq!(
        names.get(1).map(String::as_str),
        Some("oci-layout"),
        "{names:?}"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("index.json"),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.starts_with("./")), "{names:?}");

    let skopeo = support::tool("skopeo");
    let reference = format!("oci-archive:{}:pypi/six:1.16.0", bundle.display());
    let raw = run_ok(std::process::Command::new(&skopeo).args(["inspect", "--raw", &reference]));
    assert_eq!(
        raw.stdout,
        stored_manifest(&env.store(), "pypi/six", "1.16.0")
    );

    let dir = env.root().join("six-dir");
    run_ok(
        std::process::Command::new(&skopeo)
            .args(["copy", "--all", &reference])
            .arg(format!("dir:{}", dir.display())),
    );
    let wheel = std::fs::read(fixtures::pypi_fixture(SIX_WHEEL)).unwrap();
    let copied = std::fs::read(dir.join(sha256_hex(&wheel))).unwrap();
    assert!(
        copied == wheel,
        "skopeo's copy of the wheel differs from the pushed one"
    );
}

#[test]
fn export_names_what_it_cannot_find() {
    let env = Env::new();
    push_fixtures(&env);
    let bundle = env.root().join("deps.tar");
    let out = run_fail(
        env.opp()
            .args(["export", "pypi:six@9.9", "-o"])
            .arg(&bundle),
    );
    let store = env.store().join("pypi/six");
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        format!(
            "error: no stored version of `six` matches `pypi:six@9.9`; stored in {}: 1.16.0",
            store.display()
        )
    );
    assert!(!bundle.exists());
}

#[test]
fn a_zstd_bundle_holds_the_same_tar() {
    let env = Env::new();
    push_fixtures(&env);
    let plain = env.root().join("deps.tar");
    let packed = env.root().join("deps.tar.zst");
    run_ok(env.opp().args(["export", "pypi:six", "-o"]).arg(&plain));
    run_ok(env.opp().args(["export", "pypi:six", "-o"]).arg(&packed));
    let mut unpacked = Vec::new();
    zstd::stream::read::Decoder::new(std::fs::File::open(&packed).unwrap())
        .unwrap()
        .read_to_end(&mut unpacked)
        .unwrap();
    let names = |bytes: &[u8]| -> Vec<(String, u64)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.size())
            })
            .collect()
    };
    assert_eq!(names(&unpacked), names(&std::fs::read(&plain).unwrap()));
}

/// `opp proxy -- PROGRAM ARGS` with the machine's pip settings and CA variables kept out.
fn proxy(env: &Env, registry: &str, program: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = env.opp();
    cmd.args(["--registry", registry, "proxy", "--"])
        .arg(program)
        .args(args);
    for var in [
        "PIP_INDEX_URL",
        "PIP_CERT",
        "PIP_FIND_LINKS",
        "REQUESTS_CA_BUNDLE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    cmd
}

#[test]
fn a_bundle_from_the_local_store_imported_into_a_fresh_registry_installs_with_pip() {
    let env = Env::new();
    push_fixtures(&env);
    let bundle = env.root().join("deps.tar");
    run_ok(env.opp().args(["export", "pypi:six", "-o"]).arg(&bundle));
    let reg = Registry::start();
    let out = run_ok(
        env.opp()
            .args(["--registry", &reg.host, "import"])
            .arg(&bundle),
    );
    let table = stdout(&out);
    assert_eq!(
        table
            .lines()
            .nth(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec![
            "pypi",
            "six",
            "1.16.0",
            "added",
            &format!("{}/pypi/six:1.16.0", reg.host)
        ]),
        "{table}"
    );
    let site = env.root().join("site");
    run_ok(&mut proxy(
        &env,
        &reg.host,
        &support::tool("pip"),
        &[
            "install",
            "--no-cache-dir",
            "--target",
            site.to_str().unwrap(),
            "six==1.16.0",
        ],
    ));
    let imported = run_ok(
        env.python()
            .args(["-c", "import six; print(six.__version__)"])
            .env("PYTHONPATH", &site),
    );
    assert_eq!(stdout(&imported).trim(), "1.16.0");
}

#[test]
fn a_bundle_from_a_registry_imported_into_a_fresh_local_store_gives_the_same_files() {
    let env = Env::new();
    let reg = Registry::start();
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL))
            .arg(fixtures::pypi_fixture(SIX_SDIST)),
    );
    let bundle = env.root().join("deps.tar.zst");
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "export", "--all", "-o"])
            .arg(&bundle),
    );
    run_ok(env.opp().arg("import").arg(&bundle));
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["pull", "pypi", "six==1.16.0", "-o"])
            .arg(&dest),
    );
    for name in [SIX_WHEEL, SIX_SDIST] {
        let pulled = std::fs::read(dest.join(name)).unwrap();
        assert!(
            pulled == std::fs::read(fixtures::pypi_fixture(name)).unwrap(),
            "{name} differs"
        );
    }
}

/// Where a blob's body starts in a tar, and its size.
fn blob_position(tar: &Path, digest_hex: &str) -> (u64, u64) {
    let mut archive = tar::Archive::new(std::fs::File::open(tar).unwrap());
    let name = format!("blobs/sha256/{digest_hex}");
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().display().to_string() == name)
        .map(|e| (e.raw_file_position(), e.size()))
        .unwrap()
}

/// Every index.json under a local store: a repository with a tag has one.
fn tagged_layouts(store: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.file_name().is_some_and(|n| n == "index.json") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(store, &mut found);
    found
}

/// A bundle of six (wheel and sdist) exported from one environment, and the sdist's digest.
fn six_bundle(env: &Env) -> (PathBuf, String) {
    push_fixtures(env);
    let bundle = env.root().join("deps.tar");
    run_ok(env.opp().args(["export", "pypi:six", "-o"]).arg(&bundle));
    let sdist = std::fs::read(fixtures::pypi_fixture(SIX_SDIST)).unwrap();
    (bundle, sha256_hex(&sdist))
}

#[test]
fn a_truncated_bundle_is_refused_naming_the_blob_and_nothing_is_tagged() {
    let source = Env::new();
    let (bundle, sdist) = six_bundle(&source);
    let (start, size) = blob_position(&bundle, &sdist);
    let cut = source.root().join("cut.tar");
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&cut, &bytes[..(start + size / 2) as usize]).unwrap();

    let target = Env::new();
    let out = run_fail(target.opp().arg("import").arg(&cut));
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        format!(
            "error: {} is damaged: it is truncated: blobs/sha256/{sdist} ends after {} of {size} bytes",
            cut.display(),
            size / 2
        )
    );
    assert_eq!(tagged_layouts(&target.store()), Vec::<PathBuf>::new());
}

#[test]
fn a_bundle_with_a_flipped_byte_is_refused_naming_the_blob_and_nothing_is_tagged() {
    let source = Env::new();
    let (bundle, sdist) = six_bundle(&source);
    let (start, size) = blob_position(&bundle, &sdist);
    let mut bytes = std::fs::read(&bundle).unwrap();
    bytes[(start + size / 2) as usize] ^= 0x01;
    let flipped = source.root().join("flipped.tar");
    std::fs::write(&flipped, &bytes).unwrap();
    let body = &bytes[start as usize..(start + size) as usize];

    let target = Env::new();
    let out = run_fail(target.opp().arg("import").arg(&flipped));
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        format!(
            "error: {} is damaged: blobs/sha256/{sdist} does not match its digest: its bytes hash to sha256:{}",
            flipped.display(),
            sha256_hex(body)
        )
    );
    assert_eq!(tagged_layouts(&target.store()), Vec::<PathBuf>::new());
}

/// Every tag of a local store and the digest it points at, by repository.
fn tags(store: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for index in tagged_layouts(store) {
        let repo = index
            .parent()
            .unwrap()
            .strip_prefix(store)
            .unwrap()
            .display()
            .to_string();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
        for e in json["manifests"].as_array().unwrap() {
            let tag = e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap();
            out.push((
                repo.clone(),
                tag.to_owned(),
                e["digest"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out.sort();
    out
}

fn bundle_json(bundle: &Path) -> serde_json::Value {
    let mut beside = bundle.as_os_str().to_owned();
    beside.push(".opp-bundle.json");
    serde_json::from_slice(&std::fs::read(PathBuf::from(beside)).unwrap()).unwrap()
}

/// A store with six's wheel exported to `full.tar`, then six's sdist and an attrs wheel
/// pushed and exported as `delta.tar` (since `full.tar`) and as `all.tar`.
fn full_and_delta(env: &Env) -> (PathBuf, PathBuf, PathBuf) {
    let (full, delta, all) = (
        env.root().join("full.tar"),
        env.root().join("delta.tar"),
        env.root().join("all.tar"),
    );
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    run_ok(env.opp().args(["export", "--all", "-o"]).arg(&full));
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_SDIST))
            .arg(fixtures::pypi_fixture(ATTRS_WHEELS[1])),
    );
    run_ok(
        env.opp()
            .args(["export", "--all", "--since"])
            .arg(&full)
            .arg("-o")
            .arg(&delta),
    );
    run_ok(env.opp().args(["export", "--all", "-o"]).arg(&all));
    (full, delta, all)
}

#[test]
fn a_delta_after_its_full_bundle_gives_the_same_store_as_one_full_bundle() {
    let source = Env::new();
    let (full, delta, all) = full_and_delta(&source);
    let index = bundle_json(&delta);
    let mut full_json = full.as_os_str().to_owned();
    full_json.push(".opp-bundle.json");
    let full_digest = format!(
        "sha256:{}",
        sha256_hex(&std::fs::read(PathBuf::from(full_json)).unwrap())
    );
    assert_eq!(index["base"]["digest"], full_digest.as_str());
    let wheel = sha256_hex(&std::fs::read(fixtures::pypi_fixture(SIX_WHEEL)).unwrap());
    let held: Vec<&str> = index["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap())
        .collect();
    assert!(
        !held.contains(&format!("sha256:{wheel}").as_str()),
        "{held:?}"
    );

    let stepwise = Env::new();
    run_ok(stepwise.opp().arg("import").arg(&full));
    run_ok(stepwise.opp().arg("import").arg(&delta));
    let whole = Env::new();
    run_ok(whole.opp().arg("import").arg(&all));
    assert_eq!(tags(&stepwise.store()), tags(&whole.store()));
    assert_eq!(tags(&whole.store()), tags(&source.store()));
}

#[test]
fn a_delta_is_refused_where_its_base_is_missing_naming_a_blob() {
    let source = Env::new();
    let (_, delta, _) = full_and_delta(&source);
    let index = bundle_json(&delta);
    let held: Vec<&str> = index["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap())
        .collect();
    let mut missing: Vec<&str> = index["versions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["blobs"].as_array().unwrap())
        .map(|d| d.as_str().unwrap())
        .filter(|d| !held.contains(d))
        .collect();
    missing.sort();
    missing.dedup();
    let target = Env::new();
    let out = run_fail(target.opp().arg("import").arg(&delta));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {} builds on the bundle of {}, whose blobs the target lacks ({} in pypi/six and {} more)\n  hint: import that bundle first\n",
            delta.display(),
            index["base"]["created"].as_str().unwrap(),
            missing[0],
            missing.len() - 1
        )
    );
    assert_eq!(tagged_layouts(&target.store()), Vec::<PathBuf>::new());
}

#[test]
fn a_provider_and_a_gem_carried_in_a_bundle_install_with_terraform_and_gem() {
    use support::gems::{self, GemSpec};
    use support::terraform::{self, Terraform};
    let env = Env::new();
    let platforms = [("linux", "amd64"), ("darwin", "arm64")];
    let rel = terraform::provider_release(&env.root().join("rel"), "demo", "0.3.0", &platforms);
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    let gem = gems::build(
        &env,
        &GemSpec {
            name: "Foo_Bar",
            version: "1.2.0",
            ..GemSpec::default()
        },
    );
    run_ok(env.opp().args(["push", "rubygems"]).arg(&gem));
    let bundle = env.root().join("deps.tar.zst");
    run_ok(
        env.opp()
            .args([
                "export",
                "terraform-provider:opp/demo@0.3.0",
                "rubygems:Foo_Bar",
                "-o",
            ])
            .arg(&bundle),
    );

    let reg = Registry::start();
    let target = Env::new();
    run_ok(
        target
            .opp()
            .args(["--registry", &reg.host, "import"])
            .arg(&bundle),
    );

    let mirror = target.root().join("mirror");
    run_ok(
        target
            .opp()
            .args([
                "--registry",
                &reg.host,
                "pull",
                "terraform-provider",
                "opp/demo",
            ])
            .args(["--all-platforms", "--unpacked", "-o"])
            .arg(&mirror),
    );
    let work = target.root().join("work");
    terraform::config_for_provider(&work, "registry.terraform.io", "opp", "demo", "0.3.0");
    let init = Terraform::latest(&target).init_with_filesystem_mirror(&work, &mirror);
    assert!(init.status.success(), "{}", terraform::explain(&init));

    let gems_dir = target.root().join("gems");
    run_ok(
        target
            .opp()
            .args([
                "--registry",
                &reg.host,
                "pull",
                "rubygems",
                "Foo_Bar@1.2.0",
                "-o",
            ])
            .arg(&gems_dir),
    );
    let pulled = gems_dir.join("Foo_Bar-1.2.0.gem");
    assert_eq!(
        gems::install_and_require(&target, &pulled, "Foo_Bar"),
        "1.2.0"
    );
}

#[test]
fn importing_other_bytes_under_a_stored_file_is_refused_unless_forced() {
    let target = Env::new();
    let ours = fixtures::make_wheel(&target.root().join("ours"), "demo", "1.0", 4096);
    run_ok(target.opp().args(["push", "pypi"]).arg(&ours));
    let source = Env::new();
    let theirs = fixtures::make_wheel(&source.root().join("theirs"), "demo", "1.0", 8192);
    run_ok(source.opp().args(["push", "pypi"]).arg(&theirs));
    let bundle = source.root().join("demo.tar");
    run_ok(
        source
            .opp()
            .args(["export", "pypi:demo", "-o"])
            .arg(&bundle),
    );

    let digest = |p: &Path| format!("sha256:{}", sha256_hex(&std::fs::read(p).unwrap()));
    let name = ours.file_name().unwrap().to_str().unwrap();
    let out = run_fail(target.opp().arg("import").arg(&bundle));
    assert_eq!(
        stderr(&out)
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap(),
        format!(
            "error: 1 of 1 versions were refused; the first: {name} is already stored with other content (stored {}, new {}); pass --force to replace it",
            digest(&ours),
            digest(&theirs)
        )
    );
    let pulled = target.root().join("pulled");
    run_ok(
        target
            .opp()
            .args(["pull", "pypi", "demo==1.0", "-o"])
            .arg(&pulled),
    );
    assert_eq!(digest(&pulled.join(name)), digest(&ours));

    let forced = run_ok(
        target
            .opp()
            .args(["import", "--force", "--json"])
            .arg(&bundle),
    );
    let report: serde_json::Value = serde_json::from_slice(&forced.stdout).unwrap();
    assert_eq!(report["versions"][0]["status"], "replaced");
    let again = target.root().join("again");
    run_ok(
        target
            .opp()
            .args(["pull", "pypi", "demo==1.0", "-o"])
            .arg(&again),
    );
    assert_eq!(digest(&again.join(name)), digest(&theirs));
}

#[test]
fn a_dry_run_reads_the_whole_bundle_reports_and_writes_nothing() {
    let source = Env::new();
    let (bundle, _) = six_bundle(&source);
    let target = Env::new();
    let out = run_ok(
        target
            .opp()
            .args(["import", "--dry-run", "--json"])
            .arg(&bundle),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<(&str, &str)> = report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["package"].as_str().unwrap(),
                v["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("six", "added")]);
    assert!(!target.store().exists(), "a dry run wrote into the store");
}

//! PyPI through a real OCI registry (Debian's docker-registry on 127.0.0.1): round trips,
//! interop with skopeo and with PyOCI's layout, copies between stores, and credentials.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;
use std::process::Command;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::fixtures::{self, MARKUPSAFE_WHEELS, SIX_SDIST, SIX_WHEEL};
use support::registry::{Basic, Registry};

fn same_bytes(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

/// `opp show --json` of a version: (file name, sha256) pairs, sorted.
fn files_of(env: &Env, args: &[&str], spec: &str) -> Vec<(String, String)> {
    let out = run_ok(env.opp().args(args).args(["show", "pypi", spec, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut files: Vec<(String, String)> = v["files"]
        .as_array()
        .unwrap()
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

#[test]
fn wheels_and_sdist_round_trip_through_a_registry_and_pip_installs_them() {
    let reg = Registry::start();
    let env = Env::new();
    let registry = format!("{}/team/packages", reg.host);
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);
    let sdist = fixtures::pypi_fixture(SIX_SDIST);
    let out = run_ok(
        env.opp()
            .args(["--registry", &registry, "push", "pypi"])
            .arg(&wheel)
            .arg(&sdist),
    );
    assert!(
        stderr(&out).contains(&format!("{}/team/packages/pypi/six:1.16.0", reg.host)),
        "{}",
        stderr(&out)
    );
    // Nothing went to the local store.
    assert!(!env.store().join("pypi").exists());

    let list = stdout(&run_ok(env.opp().args([
        "--registry",
        &registry,
        "list",
        "pypi",
    ])));
    assert!(list.contains("six"), "{list}");
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["--registry", &registry, "pull", "pypi", "six==1.16.0", "-o"])
            .arg(&dest),
    );
    same_bytes(&wheel, &dest.join(SIX_WHEEL));
    same_bytes(&sdist, &dest.join(SIX_SDIST));

    assert_eq!(env.pip_install_and_import(&dest, "six", "six"), "1.16.0");

    // OPP_REGISTRY selects the registry as --registry does.
    let via_env = run_ok(
        env.opp()
            .env("OPP_REGISTRY", &registry)
            .args(["list", "pypi", "six", "--json"]),
    );
    assert!(stdout(&via_env).contains("1.16.0"));
}

#[test]
fn a_second_push_of_the_same_files_uploads_nothing_new() {
    let reg = Registry::start();
    let env = Env::new();
    let push = || {
        let mut c = env.opp();
        c.args(["--registry", &reg.host, "push", "pypi", "--json"]);
        for w in MARKUPSAFE_WHEELS {
            c.arg(fixtures::pypi_fixture(w));
        }
        let out = run_ok(&mut c);
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["status"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(push().iter().all(|s| s == "added"));
    assert!(push().iter().all(|s| s == "unchanged"));
}

#[test]
fn skopeo_copies_the_local_store_to_a_registry_and_opp_reads_it_unchanged() {
    let reg = Registry::start();
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL))
            .arg(fixtures::pypi_fixture(SIX_SDIST)),
    );
    let local = files_of(&env, &[], "six==1.16.0");

    let skopeo = support::tool("skopeo");
    let src = format!("oci:{}:1.16.0", env.store().join("pypi/six").display());
    let dst = format!("docker://{}/pypi/six:1.16.0", reg.host);
    let out = Command::new(skopeo)
        .args([
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &src,
            &dst,
        ])
        .env("HOME", env.home())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let remote = files_of(&env, &["--registry", &reg.host], "six==1.16.0");
    assert_eq!(local, remote);
    let dest = env.root().join("out");
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "pull", "pypi", "six", "-o"])
            .arg(&dest),
    );
    same_bytes(&fixtures::pypi_fixture(SIX_SDIST), &dest.join(SIX_SDIST));
}

#[test]
fn copy_moves_a_version_between_local_stores_and_registries_both_ways() {
    let reg = Registry::start();
    let env = Env::new();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL))
            .arg(fixtures::pypi_fixture(SIX_SDIST)),
    );
    let original = files_of(&env, &[], "six==1.16.0");

    let out = run_ok(env.opp().args([
        "copy",
        "pypi",
        "six==1.16.0",
        "--from",
        "local",
        "--to",
        &reg.host,
    ]));
    assert!(stderr(&out).contains("copied"), "{}", stderr(&out));
    assert_eq!(
        files_of(&env, &["--registry", &reg.host], "six==1.16.0"),
        original
    );

    let other = env.root().join("other-store");
    let other_s = other.display().to_string();
    run_ok(env.opp().args([
        "copy",
        "pypi",
        "six==1.16.0",
        "--from",
        &reg.host,
        "--to",
        &other_s,
    ]));
    assert_eq!(
        files_of(&env, &["--store", &other_s], "six==1.16.0"),
        original
    );
    // The tag points at the very same index in all three places.
    let index = |dir: &Path| -> String {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("pypi/six/index.json")).unwrap())
                .unwrap();
        v["manifests"][0]["digest"].as_str().unwrap().to_owned()
    };
    assert_eq!(index(&env.store()), index(&other));

    // A second copy finds every blob already there.
    let again =
        run_ok(
            env.opp()
                .args(["copy", "pypi", "six==1.16.0", "--to", &reg.host, "--json"]),
        );
    let v: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(v["blobs_copied"], 0, "{v}");

    let missing = run_fail(
        env.opp()
            .args(["copy", "pypi", "six==9.0", "--to", &reg.host]),
    );
    assert_eq!(missing.status.code(), Some(3));
}

/// Writes a version exactly as PyOCI pushes it (no title annotation, empty config) into a
/// local store, through the library's layout store.
fn push_as_pyoci(store: &Path, wheel: &Path) {
    use opp::digest::Digest;
    use opp::store::{RawManifest, Store, layout::LayoutStore};
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = LayoutStore::new(store);
        let bytes = std::fs::read(wheel).unwrap();
        let d = Digest::of(&bytes);
        s.push_blob("pypi/six", &d, bytes.len() as u64, Box::pin(std::io::Cursor::new(bytes.clone()))).await.unwrap();
        let empty = Digest::of(b"{}");
        s.push_blob("pypi/six", &empty, 2, Box::pin(std::io::Cursor::new(b"{}".to_vec()))).await.unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/pyoci.package.v1",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.as_str(), "size": 2},
            "layers": [{"mediaType": "application/pyoci.package.v1", "digest": d.as_str(), "size": bytes.len()}]
        });
        let m = RawManifest::new("application/vnd.oci.image.manifest.v1+json", serde_json::to_vec(&manifest).unwrap());
        s.push_manifest("pypi/six", &m, None).await.unwrap();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "artifactType": "application/pyoci.package.v1",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": m.digest.as_str(),
                "size": m.bytes.len(),
                "platform": {"architecture": "py2.py3-none-any.whl", "os": "any"}
            }]
        });
        let i = RawManifest::new("application/vnd.oci.image.index.v1+json", serde_json::to_vec(&index).unwrap());
        s.push_manifest("pypi/six", &i, Some("1.16.0")).await.unwrap();
    });
}

#[test]
fn opp_reads_a_version_pushed_by_pyoci() {
    let env = Env::new();
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);
    push_as_pyoci(&env.store(), &wheel);
    let dest = env.root().join("out");
    run_ok(env.opp().args(["pull", "pypi", "six", "-o"]).arg(&dest));
    same_bytes(&wheel, &dest.join(SIX_WHEEL));
    // And opp can add its sdist to PyOCI's index without dropping PyOCI's entry.
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_SDIST)),
    );
    let files = files_of(&env, &[], "six==1.16.0");
    assert_eq!(
        files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        vec![SIX_WHEEL, SIX_SDIST]
    );
}

#[test]
fn a_registry_that_wants_a_password_says_how_to_give_one_and_never_prints_it() {
    let reg = Registry::start_with_password(Basic {
        user: "alice",
        password: "s3cret-pass",
    });
    let env = Env::new();
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);

    let none = run_fail(
        env.opp()
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(&wheel),
    );
    assert_eq!(none.status.code(), Some(4), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("OPP_REGISTRY_USERNAME"),
        "{}",
        stderr(&none)
    );

    let wrong = run_fail(
        env.opp()
            .env("OPP_REGISTRY_USERNAME", "alice")
            .env("OPP_REGISTRY_PASSWORD", "wrong-pass-123")
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(&wheel),
    );
    assert_eq!(wrong.status.code(), Some(4));
    let all = format!("{}{}", stderr(&wrong), stdout(&wrong));
    assert!(
        !all.contains("wrong-pass-123"),
        "the password was printed: {all}"
    );

    let ok = run_ok(
        env.opp()
            .env("OPP_REGISTRY_USERNAME", "alice")
            .env("OPP_REGISTRY_PASSWORD", "s3cret-pass")
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(&wheel),
    );
    assert!(!stderr(&ok).contains("s3cret-pass"));

    // docker's config.json, as `docker login` writes it.
    use std::io::Write;
    let auth = {
        let raw = b"alice:s3cret-pass";
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in raw.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    s.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let mut f = std::fs::File::create(env.docker_config().join("config.json")).unwrap();
    write!(f, r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host).unwrap();
    let dest = env.root().join("out");
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "pull", "pypi", "six", "-o"])
            .arg(&dest),
    );
    same_bytes(&wheel, &dest.join(SIX_WHEEL));
}

#[test]
fn the_config_file_selects_the_registry_and_flags_override_it() {
    let reg = Registry::start();
    let env = Env::new();
    let config = env.config_home().join("opp");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("registry = \"{}/from-config\"\n", reg.host),
    )
    .unwrap();
    run_ok(
        env.opp()
            .args(["push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    assert!(
        !env.store().join("pypi").exists(),
        "the config file's registry was not used"
    );
    let listed = stdout(&run_ok(env.opp().args([
        "--registry",
        &format!("{}/from-config", reg.host),
        "list",
        "pypi",
    ])));
    assert!(listed.contains("six"), "{listed}");
    // A flag wins over the file: an empty --registry means the local store.
    run_ok(
        env.opp()
            .args(["--registry", "", "push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
    assert!(env.store().join("pypi/six").exists());

    std::fs::write(config.join("config.toml"), "registry = 42\n").unwrap();
    let bad = run_fail(env.opp().args(["list", "pypi"]));
    assert!(stderr(&bad).contains("config.toml"), "{}", stderr(&bad));
}

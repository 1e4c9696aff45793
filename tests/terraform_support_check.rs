//! Checks the Terraform test support itself: releases and modules built by
//! `support::terraform` install with the real Terraform (1.0.3 and 1.15) from a plugin dir, a
//! filesystem mirror and a local module path, the hashes it records are the ones computed
//! here, the broken releases are broken as named, and `support::opentofu` accepts a good
//! layout and reports each broken OpenTofu rule, on JSON and on a real registry. Not a test
//! of opp.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use support::cli::Env;
use support::opentofu as tofu;
use support::registry::Registry;
use support::terraform::{self as tf, Terraform};

const PLATFORMS: [(&str, &str); 3] = [
    ("linux", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// What Terraform 1.0.3 and 1.15 record for the linux_amd64 zip of
/// `provider_release(_, "demo", "1.2.3", _)` (checked against `h1_of_zip` too).
const DEMO_LINUX_AMD64_H1: &str = "h1:yIElY8UE7pua76T0LPIF2uXbpqPMV6qlvp4gMXz8OWg=";

#[test]
fn provider_release_is_laid_out_as_goreleaser_writes_it() {
    let env = Env::new();
    let dir = tf::provider_release(&env.root().join("rel"), "demo", "1.2.3", &PLATFORMS);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "terraform-provider-demo_1.2.3_SHA256SUMS",
            "terraform-provider-demo_1.2.3_darwin_arm64.zip",
            "terraform-provider-demo_1.2.3_linux_amd64.zip",
            "terraform-provider-demo_1.2.3_manifest.json",
            "terraform-provider-demo_1.2.3_windows_amd64.zip",
        ]
    );
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.join("terraform-provider-demo_1.2.3_manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest,
        json!({"version": 1, "metadata": {"protocol_versions": ["5.0"]}})
    );

    let sums = std::fs::read_to_string(dir.join(tf::sums_name("demo", "1.2.3"))).unwrap();
    let listed: Vec<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").unwrap().1)
        .collect();
    let mut expected: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.ends_with("SHA256SUMS"))
        .collect();
    expected.sort();
    assert_eq!(
        listed, expected,
        "SHA256SUMS lists every zip and the manifest, sorted"
    );
    for line in sums.lines() {
        let (hex, name) = line.split_once("  ").unwrap();
        assert_eq!(
            hex,
            sha256_hex(&std::fs::read(dir.join(name)).unwrap()),
            "{name}"
        );
    }

    let zip_path = dir.join(tf::zip_name("demo", "1.2.3", "linux", "amd64"));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    assert_eq!(zip.len(), 1);
    let entry = zip.by_index(0).unwrap();
    assert_eq!(entry.name().unwrap(), "terraform-provider-demo_v1.2.3");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
}

#[test]
fn provider_zips_are_deterministic_and_differ_between_platforms() {
    let linux = tf::provider_zip_bytes("demo", "1.2.3", "linux", "amd64");
    assert_eq!(
        linux,
        tf::provider_zip_bytes("demo", "1.2.3", "linux", "amd64")
    );
    assert_ne!(
        linux,
        tf::provider_zip_bytes("demo", "1.2.3", "darwin", "arm64")
    );
    assert_ne!(
        linux,
        tf::provider_zip_bytes("demo", "1.2.4", "linux", "amd64")
    );
}

#[test]
fn broken_releases_are_broken_as_named() {
    let env = Env::new();
    let linux_zip = tf::zip_name("demo", "1.0.0", "linux", "amd64");

    let bad =
        tf::provider_release_with_bad_sum(&env.root().join("bad"), "demo", "1.0.0", &PLATFORMS);
    let sums = std::fs::read_to_string(bad.join(tf::sums_name("demo", "1.0.0"))).unwrap();
    let listed = sums.lines().find(|l| l.ends_with(&linux_zip)).unwrap();
    assert_ne!(
        listed,
        format!(
            "{}  {linux_zip}",
            sha256_hex(&std::fs::read(bad.join(&linux_zip)).unwrap())
        )
    );

    let missing =
        tf::provider_release_missing_zip(&env.root().join("missing"), "demo", "1.0.0", &PLATFORMS);
    assert!(!missing.join(&linux_zip).exists());
    let sums = std::fs::read_to_string(missing.join(tf::sums_name("demo", "1.0.0"))).unwrap();
    assert!(
        sums.contains(&linux_zip),
        "SHA256SUMS still lists the missing zip"
    );

    let two = tf::provider_release_two_versions(
        &env.root().join("two"),
        "demo",
        "1.0.0",
        "1.1.0",
        &PLATFORMS,
    );
    for version in ["1.0.0", "1.1.0"] {
        assert!(two.join(tf::sums_name("demo", version)).is_file());
        assert!(
            two.join(tf::zip_name("demo", version, "darwin", "arm64"))
                .is_file()
        );
    }
}

#[test]
fn module_dir_has_the_module_and_the_directories_to_leave_out() {
    let env = Env::new();
    let dir = tf::module_dir(&env.root().join("module"));
    for file in tf::MODULE_FILES.iter().chain(&tf::MODULE_EXCLUDED) {
        assert!(dir.join(file).is_file(), "{file}");
    }
}

#[test]
fn terraform_1_0_installs_a_release_from_a_plugin_dir_and_a_filesystem_mirror() {
    let env = Env::new();
    let terraform = Terraform::new(&env);
    assert_eq!(terraform.version(), "Terraform v1.0.3");
    installs_from_plugin_dir_and_filesystem_mirror(&env, &terraform);
}

#[test]
fn terraform_1_15_installs_a_release_from_a_plugin_dir_and_a_filesystem_mirror() {
    let env = Env::new();
    let terraform = Terraform::latest(&env);
    assert!(
        terraform.version().starts_with("Terraform v1.15."),
        "{}",
        terraform.version()
    );
    installs_from_plugin_dir_and_filesystem_mirror(&env, &terraform);
}

fn installs_from_plugin_dir_and_filesystem_mirror(env: &Env, terraform: &Terraform) {
    let release = tf::provider_release(&env.root().join("rel"), "demo", "1.2.3", &PLATFORMS);
    let mirror = tf::packed_mirror(
        &release,
        &env.root().join("mirror"),
        tf::DEFAULT_HOST,
        "acme",
        "demo",
    );
    let zip = release.join(tf::zip_name("demo", "1.2.3", "linux", "amd64"));
    assert_eq!(tf::h1_of_zip(&zip), DEMO_LINUX_AMD64_H1);

    for (name, use_mirror) in [("plugin-dir", false), ("fs-mirror", true)] {
        let work = env.root().join(name);
        tf::config_for_provider(&work, tf::DEFAULT_HOST, "acme", "demo", "~> 1.2");
        let out = if use_mirror {
            terraform.init_with_filesystem_mirror(&work, &mirror)
        } else {
            terraform.init_with_plugin_dir(&work, &mirror)
        };
        assert!(out.status.success(), "{name}: {}", tf::explain(&out));
        let lock = tf::lock_file(&work);
        assert_eq!(tf::lock_version(&lock, "acme/demo"), "1.2.3");
        assert_eq!(
            tf::lock_hashes(&lock, "acme/demo"),
            [DEMO_LINUX_AMD64_H1],
            "{name}:\n{lock}"
        );
        let installed = work.join(".terraform/providers/registry.terraform.io/acme/demo/1.2.3/linux_amd64/terraform-provider-demo_v1.2.3");
        let mode = std::fs::metadata(&installed).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{} is executable", installed.display());
    }
}

#[test]
fn terraform_refuses_a_provider_the_lock_file_does_not_list() {
    let env = Env::new();
    let terraform = Terraform::new(&env);
    let release = tf::provider_release(&env.root().join("rel"), "demo", "1.2.3", &PLATFORMS);
    let mirror = tf::packed_mirror(
        &release,
        &env.root().join("mirror"),
        tf::DEFAULT_HOST,
        "acme",
        "demo",
    );
    let work = env.root().join("work");
    tf::config_for_provider(&work, tf::DEFAULT_HOST, "acme", "demo", "1.2.3");
    let other = tf::zh_of_file(&release.join(tf::zip_name("demo", "1.2.3", "darwin", "arm64")));
    std::fs::write(
        work.join(".terraform.lock.hcl"),
        format!("provider \"registry.terraform.io/acme/demo\" {{\n  version = \"1.2.3\"\n  hashes = [\n    \"{other}\",\n  ]\n}}\n"),
    )
    .unwrap();
    let out = terraform.init_with_plugin_dir(&work, &mirror);
    assert!(!out.status.success(), "{}", tf::explain(&out));
    assert!(
        tf::explain(&out).contains("checksums"),
        "{}",
        tf::explain(&out)
    );
}

#[test]
fn terraform_installs_module_dir_from_a_local_path() {
    let env = Env::new();
    let module = tf::module_dir(&env.root().join("module"));
    for terraform in [Terraform::new(&env), Terraform::latest(&env)] {
        let work = env
            .root()
            .join(format!("work-{}", terraform.version().replace(' ', "-")));
        tf::config_for_module(&work, &module.to_string_lossy());
        let out = terraform.init(&work, &[]);
        assert!(out.status.success(), "{}", tf::explain(&out));
        let modules =
            std::fs::read_to_string(work.join(".terraform/modules/modules.json")).unwrap();
        assert!(
            modules.contains("\"m.x\""),
            "the nested module is installed too: {modules}"
        );
    }
}

#[test]
fn lock_hashes_reads_the_block_of_the_named_provider() {
    let lock = "# This file is maintained automatically by \"terraform init\".\n\n\
        provider \"registry.terraform.io/acme/demo\" {\n  version     = \"1.2.3\"\n  constraints = \"~> 1.2\"\n  hashes = [\n    \"h1:AAA=\",\n    \"zh:0123\",\n  ]\n}\n\n\
        provider \"opp.test/acme/other\" {\n  version = \"0.1.0\"\n  hashes = [\n    \"h1:BBB=\",\n  ]\n}\n";
    assert_eq!(tf::lock_hashes(lock, "acme/demo"), ["h1:AAA=", "zh:0123"]);
    assert_eq!(tf::lock_hashes(lock, "opp.test/acme/other"), ["h1:BBB="]);
    assert_eq!(tf::lock_version(lock, "opp.test/acme/other"), "0.1.0");
}

// ---- OpenTofu rules on JSON ----

const ZIP_DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const LINUX_DIGEST: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const DARWIN_DIGEST: &str =
    "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn platform_manifest() -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": tofu::MANIFEST_MEDIA_TYPE,
        "artifactType": tofu::PROVIDER_TARGET_ARTIFACT_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
        "layers": [{"mediaType": "archive/zip", "digest": ZIP_DIGEST, "size": 300,
                    "annotations": {"org.opencontainers.image.title": "terraform-provider-demo_1.2.3_linux_amd64.zip"}}]
    })
}

fn provider_index() -> Value {
    let entry = |digest: &str, os: &str, arch: &str| {
        json!({"mediaType": tofu::MANIFEST_MEDIA_TYPE, "artifactType": tofu::PROVIDER_TARGET_ARTIFACT_TYPE,
               "digest": digest, "size": 500, "platform": {"os": os, "architecture": arch}})
    };
    json!({
        "schemaVersion": 2,
        "mediaType": tofu::INDEX_MEDIA_TYPE,
        "artifactType": tofu::PROVIDER_ARTIFACT_TYPE,
        "manifests": [
            entry(LINUX_DIGEST, "linux", "amd64"),
            entry(DARWIN_DIGEST, "darwin", "arm64"),
            {"mediaType": tofu::MANIFEST_MEDIA_TYPE, "artifactType": "application/vnd.opp.terraform.provider.checksums.v1",
             "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444", "size": 400}
        ]
    })
}

fn provider_manifests() -> HashMap<String, Value> {
    HashMap::from([
        (LINUX_DIGEST.to_owned(), platform_manifest()),
        (DARWIN_DIGEST.to_owned(), platform_manifest()),
    ])
}

#[test]
fn a_good_provider_index_passes() {
    tofu::check_provider_index(&provider_index(), &provider_manifests()).unwrap();
}

#[test]
fn each_broken_provider_rule_is_reported() {
    type Breaker = fn(&mut Value, &mut HashMap<String, Value>);
    let cases: [(&str, Breaker); 13] = [
        ("index: mediaType", |i, _| {
            i["mediaType"] = json!(tofu::MANIFEST_MEDIA_TYPE)
        }),
        ("index: artifactType", |i, _| {
            i.as_object_mut().unwrap().remove("artifactType");
        }),
        ("no usable manifest", |i, _| i["manifests"] = json!([])),
        ("index entry 0: mediaType", |i, _| {
            i["manifests"][0]["mediaType"] = json!(tofu::INDEX_MEDIA_TYPE)
        }),
        ("index entry 0: no platform", |i, _| {
            i["manifests"][0]
                .as_object_mut()
                .unwrap()
                .remove("platform");
        }),
        ("os.version", |i, _| {
            i["manifests"][0]["platform"]["os.version"] = json!("10.0")
        }),
        ("2 manifests for platform linux_amd64", |i, _| {
            i["manifests"][1]["platform"] = json!({"os": "linux", "architecture": "amd64"})
        }),
        ("index entry 0: digest", |i, m| {
            i["manifests"][0]["digest"] = json!("sha512:abc");
            let manifest = m.remove(LINUX_DIGEST).unwrap();
            m.insert("sha512:abc".into(), manifest);
        }),
        ("was not fetched", |_, m| {
            m.remove(LINUX_DIGEST);
        }),
        ("index entry 1 manifest: artifactType", |_, m| {
            m.get_mut(DARWIN_DIGEST).unwrap()["artifactType"] = json!(tofu::PROVIDER_ARTIFACT_TYPE)
        }),
        ("index entry 0 manifest: 2 layers", |_, m| {
            let layer = m[LINUX_DIGEST]["layers"][0].clone();
            m.get_mut(LINUX_DIGEST).unwrap()["layers"]
                .as_array_mut()
                .unwrap()
                .push(layer);
        }),
        ("index entry 0 manifest: no layer", |_, m| {
            m.get_mut(LINUX_DIGEST).unwrap()["layers"][0]["mediaType"] = json!("application/zip")
        }),
        ("layer: platform", |_, m| {
            m.get_mut(LINUX_DIGEST).unwrap()["layers"][0]["platform"] =
                json!({"os": "darwin", "architecture": "arm64"})
        }),
    ];
    for (expected, breaker) in cases {
        let (mut index, mut manifests) = (provider_index(), provider_manifests());
        breaker(&mut index, &mut manifests);
        let err = tofu::check_provider_index(&index, &manifests).expect_err(expected);
        assert!(err.contains(expected), "expected {expected:?} in: {err}");
        assert!(!err.contains("; "), "one broken rule, one error: {err}");
    }
}

fn module_manifest() -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": tofu::MANIFEST_MEDIA_TYPE,
        "artifactType": tofu::MODULE_ARTIFACT_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
        "layers": [{"mediaType": "archive/zip", "digest": ZIP_DIGEST, "size": 900}]
    })
}

#[test]
fn module_rules_accept_a_good_manifest_and_report_each_broken_one() {
    tofu::check_module_manifest(&module_manifest()).unwrap();
    type Breaker = fn(&mut Value);
    let cases: [(&str, Breaker); 5] = [
        ("module manifest: mediaType", |m| {
            m["mediaType"] = json!(tofu::INDEX_MEDIA_TYPE)
        }),
        ("module manifest: artifactType", |m| {
            m["artifactType"] = json!(tofu::PROVIDER_TARGET_ARTIFACT_TYPE)
        }),
        (
            "no layer of mediaType archive/zip",
            |m| {
                m["layers"] =
                    json!([{"mediaType": "application/x-tar", "digest": ZIP_DIGEST, "size": 9}])
            },
        ),
        ("2 layers", |m| {
            let l = m["layers"][0].clone();
            m["layers"].as_array_mut().unwrap().push(l);
        }),
        ("bad size", |m| m["layers"][0]["size"] = json!(0)),
    ];
    for (expected, breaker) in cases {
        let mut manifest = module_manifest();
        breaker(&mut manifest);
        let err = tofu::check_module_manifest(&manifest).expect_err(expected);
        assert!(err.contains(expected), "expected {expected:?} in: {err}");
        assert!(!err.contains("; "), "one broken rule, one error: {err}");
    }
}

#[test]
fn provider_tags_are_canonical_semver_with_underscore_for_plus() {
    for good in [
        "1.2.3",
        "0.0.1",
        "1.2.3-beta.1",
        "1.2.3_build.5",
        "1.0.0-rc.1_sha.abc",
    ] {
        tofu::check_tag(good).unwrap();
    }
    for bad in [
        "v1.2.3",
        "1.2",
        "01.2.3",
        "1.2.3+build",
        "latest",
        "",
        "-1.2.3",
    ] {
        assert!(tofu::check_tag(bad).is_err(), "{bad:?} should be refused");
    }
    tofu::check_oci_tag("latest").unwrap();
    assert!(tofu::check_oci_tag(&"a".repeat(129)).is_err());
}

// ---- fetch from a real registry ----

#[test]
fn fetch_reads_back_what_was_pushed_and_the_rules_hold_there() {
    let registry = Registry::start();
    let host = &registry.host;
    let zip = tf::provider_zip_bytes("demo", "1.2.3", "linux", "amd64");
    let config = tofu::put_blob(host, "acme/demo", b"{}");
    let layer = tofu::put_blob(host, "acme/demo", &zip);
    let mut manifest = platform_manifest();
    manifest["config"]["digest"] = json!(config);
    manifest["layers"][0]["digest"] = json!(layer);
    manifest["layers"][0]["size"] = json!(zip.len());
    let (digest, size) = tofu::put_manifest(
        host,
        "acme/demo",
        &tofu::sha256_digest(&serde_json::to_vec(&manifest).unwrap()),
        &manifest,
    );
    let mut index = provider_index();
    index["manifests"] = json!([{"mediaType": tofu::MANIFEST_MEDIA_TYPE, "artifactType": tofu::PROVIDER_TARGET_ARTIFACT_TYPE,
        "digest": digest, "size": size, "platform": {"os": "linux", "architecture": "amd64"}}]);
    tofu::put_manifest(host, "acme/demo", "1.2.3", &index);

    assert_eq!(tofu::fetch_json(host, "acme/demo", "1.2.3"), index);
    assert_eq!(
        tofu::fetch(host, "acme/demo", "1.2.3").content_type,
        tofu::INDEX_MEDIA_TYPE
    );
    tofu::check_provider_in_registry(host, "acme/demo", "1.2.3").unwrap();

    let mut module = module_manifest();
    module["config"]["digest"] = json!(tofu::put_blob(host, "acme/mod", b"{}"));
    module["layers"][0]["digest"] = json!(tofu::put_blob(host, "acme/mod", &zip));
    module["layers"][0]["size"] = json!(zip.len());
    tofu::put_manifest(host, "acme/mod", "latest", &module);
    tofu::check_module_in_registry(host, "acme/mod", "latest").unwrap();
    // The same index under a `v` tag is not a provider version OpenTofu can find.
    tofu::put_manifest(host, "acme/demo", "v1.2.3", &index);
    let err = tofu::check_provider_in_registry(host, "acme/demo", "v1.2.3").unwrap_err();
    assert!(err.contains("not a semver version"), "{err}");
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

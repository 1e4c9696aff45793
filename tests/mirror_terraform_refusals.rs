//! `opp mirror terraform-provider` refusing what does not check out, against the local HTTPS
//! provider registry of `support::tf_registry`: a tampered zip, a signature by a key the
//! registry does not name, a signed SHA256SUMS that disagrees with the registry, and lock files
//! whose hashes the release does not have; each stores nothing, says what failed (one line per
//! file of the version) and exits 1. Also `--lock` mirroring exactly what a lock file names.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "mirror_terraform/common.rs"]
mod common;
mod support;

use common::*;
use support::cli::{Env, run_fail, run_ok, stdout};
use support::terraform;

#[test]
fn a_tampered_zip_stores_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    let (os, arch) = this_platform();
    let name = terraform::zip_name(TYPE, VERSION, os, arch);
    let zip = up.release.join(&name);
    let original = sha256_hex(&std::fs::read(&zip).unwrap());
    let evil = terraform::provider_zip_bytes(TYPE, "6.6.6", os, arch);
    std::fs::write(&zip, &evil).unwrap();
    fails_storing_nothing(
        &env,
        &up.registry,
        &format!(
            "warning: {name}: sha256 mismatch: the upstream index says {original}, the \
             downloaded bytes hash to {}; nothing stored",
            sha256_hex(&evil)
        ),
    );
}

#[test]
fn a_signature_by_a_key_the_registry_does_not_name_stores_nothing() {
    let env = Env::new();
    let (registry, named, other) = registry_signed_by_an_unnamed_key(&env);
    fails_storing_nothing(
        &env,
        &registry,
        &format!(
            "warning: terraform-provider-hello_1.2.3_SHA256SUMS: acme/hello 1.2.3: \
             terraform-provider-hello_1.2.3_SHA256SUMS.sig: the signature (by key {}) is not \
             valid for any signing key the registry gave ({}); nothing stored",
            other.key_id, named.key_id
        ),
    );
}

#[test]
fn a_signed_sha256sums_that_disagrees_with_the_registry_stores_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    let (os, arch) = this_platform();
    let name = terraform::zip_name(TYPE, VERSION, os, arch);
    let sums = up.release.join(terraform::sums_name(TYPE, VERSION));
    let true_sum = sha256_hex(&std::fs::read(up.release.join(&name)).unwrap());
    let wrong = sha256_hex(b"not the zip");
    let text = std::fs::read_to_string(&sums)
        .unwrap()
        .replace(&true_sum, &wrong);
    std::fs::write(&sums, text).unwrap();
    up.gpg.sign(&sums, &support::tf_registry::sig_path(&sums));
    fails_storing_nothing(
        &env,
        &up.registry,
        &format!(
            "warning: terraform-provider-hello_1.2.3_SHA256SUMS: acme/hello 1.2.3: the registry \
             says sha256 {true_sum} for {name}, but the signed \
             terraform-provider-hello_1.2.3_SHA256SUMS says {wrong}; nothing stored"
        ),
    );
}

#[test]
fn a_lock_file_with_hashes_for_two_platforms_mirrors_exactly_that_version_and_those_zips() {
    let env = Env::new();
    let up = upstream(&env);
    // A newer version the lock does not name.
    let newer =
        terraform::provider_release(&env.root().join("release-2"), TYPE, "1.3.0", &platforms());
    up.registry.add_release(
        "acme/hello",
        &newer,
        "1.3.0",
        &platforms(),
        &up.gpg,
        &[&up.gpg],
    );
    let two = [platforms()[0], platforms()[1]];
    let lock = env.root().join(".terraform.lock.hcl");
    std::fs::write(&lock, lock_file(&up, &two, &[])).unwrap();
    run_ok(&mut mirror(
        &env,
        &up.registry,
        &["--lock", lock.to_str().unwrap()],
    ));
    let json =
        run_ok(
            env.opp()
                .args(["show", "terraform-provider", "acme/hello==1.2.3", "--json"]),
        );
    let release: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let mut stored: Vec<String> = release["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    let mut expected: Vec<String> = two
        .iter()
        .map(|(os, arch)| terraform::zip_name(TYPE, VERSION, os, arch))
        .collect();
    expected.sort();
    assert_eq!(stored, expected);
    run_fail(
        env.opp()
            .args(["show", "terraform-provider", "acme/hello==1.3.0"]),
    );
}

#[test]
fn a_lock_file_hash_the_signed_sha256sums_does_not_list_stores_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    let bogus = format!("zh:{}", sha256_hex(b"some other zip"));
    let lock = env.root().join(".terraform.lock.hcl");
    std::fs::write(
        &lock,
        lock_file(&up, &platforms(), std::slice::from_ref(&bogus)),
    )
    .unwrap();
    fails_storing_nothing_with(
        &env,
        &up.registry,
        &["--lock", lock.to_str().unwrap()],
        &format!(
            "warning: terraform-provider-hello_1.2.3_SHA256SUMS: acme/hello 1.2.3: the lock \
             file's {bogus} is not in the signed terraform-provider-hello_1.2.3_SHA256SUMS; \
             nothing stored"
        ),
    );
}

#[test]
fn a_lock_file_h1_that_no_zip_has_stores_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    // The h1: of a zip of another version: a well-formed hash of no zip of 1.2.3.
    let other = env.root().join("other");
    terraform::provider_release(&other, TYPE, "9.9.9", &platforms());
    let (os, arch) = this_platform();
    let h1 = terraform::h1_of_zip(&other.join(terraform::zip_name(TYPE, "9.9.9", os, arch)));
    let lock = env.root().join(".terraform.lock.hcl");
    std::fs::write(
        &lock,
        lock_file(&up, &platforms(), std::slice::from_ref(&h1)),
    )
    .unwrap();
    fails_storing_nothing_with(
        &env,
        &up.registry,
        &["--lock", lock.to_str().unwrap()],
        &format!(
            "warning: terraform-provider-hello_1.2.3_SHA256SUMS: not stored: the lock file's \
             {h1} is the hash of no zip of acme/hello 1.2.3"
        ),
    );
}

/// A version stored with this platform's zip from another build (pushed with other bytes):
/// a mirror adding a platform to it refuses, naming the zip, and the stored version stays as
/// it was (one platform, the pushed bytes).
#[test]
fn adding_platforms_to_a_version_stored_with_other_bytes_changes_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    let (os, arch) = this_platform();
    let (other_os, other_arch) = platforms()[1];
    let name = terraform::zip_name(TYPE, VERSION, os, arch);
    let pushed =
        terraform::provider_release(&env.root().join("pushed"), TYPE, VERSION, &[(os, arch)]);
    let evil = terraform::provider_zip_bytes(TYPE, "6.6.6", os, arch);
    std::fs::write(pushed.join(&name), &evil).unwrap();
    std::fs::write(
        pushed.join(terraform::sums_name(TYPE, VERSION)),
        format!("{}  {name}\n", sha256_hex(&evil)),
    )
    .unwrap();
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "acme/hello"])
            .arg(&pushed),
    );

    let out = run_fail(&mut mirror(
        &env,
        &up.registry,
        &[
            "acme/hello",
            "--platform",
            &format!("{os}_{arch}"),
            "--platform",
            &format!("{other_os}_{other_arch}"),
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "warning: {name}: the store holds a file of that name with other bytes (sha256 {}); \
         remove that version, or push the upstream file with `opp push terraform-provider \
         --force`",
        sha256_hex(&evil)
    );
    let said = support::cli::stderr(&out);
    assert!(said.lines().any(|l| l == expected), "{expected}\n{said}");
    let json =
        run_ok(
            env.opp()
                .args(["show", "terraform-provider", "acme/hello==1.2.3", "--json"]),
        );
    let release: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let files = release["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{release}");
    assert_eq!(files[0]["name"], name.as_str());
    assert_eq!(
        files[0]["digest"],
        format!("sha256:{}", sha256_hex(&evil)).as_str()
    );
}

//! `opp mirror terraform-provider ADDRESS --upstream https://...` from a provider network
//! mirror (`support::tf_network_mirror`): what the real `terraform providers mirror` wrote
//! from the local test registry, served over HTTPS. The mirror is first proved faithful by
//! the real terraform installing from it through a `network_mirror` CLI configuration; then
//! opp mirrors from it, `opp show` says the version is unsigned, and `opp proxy -- terraform
//! init` installs it with the hashes of the direct install. A zip tampered with in the mirror
//! stores nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "mirror_terraform/common.rs"]
mod common;
mod support;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::terraform::{self, Terraform};
use support::tf_network_mirror::{TfNetworkMirror, mirror_with_terraform};

/// The test registry's `acme/hello`, copied by `terraform providers mirror` for [`platforms`]
/// and served as `registry.terraform.io/acme/hello` by a network mirror.
fn network_mirror(env: &Env, up: &Upstream, tf: &Terraform) -> (TfNetworkMirror, PathBuf) {
    let dir = env.root().join("netmirror");
    mirror_with_terraform(
        tf,
        &up.registry,
        ("acme", TYPE, "~> 1.2"),
        &platforms(),
        &dir,
        terraform::DEFAULT_HOST,
    );
    (TfNetworkMirror::serve(&dir), dir)
}

/// `opp mirror terraform-provider ARGS... --upstream <the mirror's URL>`, trusting its CA.
fn mirror_from(env: &Env, mirror: &TfNetworkMirror, args: &[&str]) -> Command {
    let mut cmd = env.opp();
    cmd.args(["mirror", "terraform-provider"])
        .args(args)
        .args(["--upstream", &mirror.url])
        .env("SSL_CERT_FILE", &mirror.ca_file);
    cmd
}

/// The zip of `platform` as the mirror holds it.
fn mirrored_zip(dir: &std::path::Path, (os, arch): (&str, &str)) -> PathBuf {
    dir.join(terraform::DEFAULT_HOST)
        .join("acme")
        .join(TYPE)
        .join(terraform::zip_name(TYPE, VERSION, os, arch))
}

#[test]
fn terraform_installs_from_the_network_mirror_that_terraform_providers_mirror_made() {
    let env = Env::new();
    let up = upstream(&env);
    let tf = Terraform::new(&env);
    let (mirror, dir) = network_mirror(&env, &up, &tf);
    // What terraform providers mirror wrote: the registry's zips, byte for byte.
    for (os, arch) in platforms() {
        let name = terraform::zip_name(TYPE, VERSION, os, arch);
        assert_eq!(
            std::fs::read(mirrored_zip(&dir, (os, arch))).unwrap(),
            std::fs::read(up.release.join(&name)).unwrap(),
            "{name}"
        );
    }
    tf.write_cli_config(&mirror.cli_config());
    let work = env.root().join("from-mirror");
    terraform::config_for_provider(&work, terraform::DEFAULT_HOST, "acme", TYPE, "~> 1.2");
    let out = init(&tf, &work, &mirror.ca_file, &[]);
    assert!(out.status.success(), "{}", terraform::explain(&out));
    let zip = terraform::zip_name(TYPE, VERSION, this_platform().0, this_platform().1);
    let asked = mirror.requests();
    for path in [
        "registry.terraform.io/acme/hello/index.json".to_owned(),
        format!("registry.terraform.io/acme/hello/{VERSION}.json"),
        format!("registry.terraform.io/acme/hello/{zip}"),
    ] {
        assert!(asked.contains(&path), "{path} not asked for: {asked:?}");
    }
    let lock = terraform::lock_file(&work);
    assert!(
        terraform::lock_hashes(&lock, "registry.terraform.io/acme/hello")
            .contains(&terraform::h1_of_zip(&mirrored_zip(&dir, this_platform()))),
        "{lock}"
    );
}

#[test]
fn a_provider_from_a_network_mirror_is_unsigned_and_installs_with_the_direct_installs_hashes() {
    let env = Env::new();
    let up = upstream(&env);
    let tf = Terraform::new(&env);
    let direct = direct_install(&env, &up, &tf);
    let direct_address = format!("{}/acme/{TYPE}", up.registry.host);
    let (mirror, _) = network_mirror(&env, &up, &tf);

    let out = run_ok(&mut mirror_from(&env, &mirror, &["acme/hello@~> 1.2"]));
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "{} added, 0 skipped (already stored), 0 failed",
            platforms().len()
        )),
        "{said}"
    );
    let show = run_ok(
        env.opp()
            .args(["show", "terraform-provider", "acme/hello==1.2.3"]),
    );
    let expected = format!(
        "unsigned: mirrored from the network mirror {}, which signs nothing; each zip was \
         checked against the mirror's hashes",
        mirror.url
    );
    assert!(
        stderr(&show).lines().any(|l| l == expected),
        "{expected}\n{}",
        stderr(&show)
    );
    let json =
        run_ok(
            env.opp()
                .args(["show", "terraform-provider", "acme/hello==1.2.3", "--json"]),
        );
    let shown: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        shown["provenance"],
        serde_json::json!({"signed": false, "signature": "unsigned", "key_id": null,
            "key_user_id": null, "source_kind": "network-mirror", "source": mirror.url}),
        "{shown}"
    );

    // The direct install's lock file, for the address the proxy serves the copy under:
    // terraform checks the proxy's zip against its h1: and keeps its zh: hashes.
    let work = env.root().join("proxied");
    terraform::config_for_provider(&work, terraform::DEFAULT_HOST, "acme", TYPE, "~> 1.2");
    let lock = direct.replace(
        &direct_address,
        &format!("{}/acme/{TYPE}", terraform::DEFAULT_HOST),
    );
    std::fs::write(work.join(".terraform.lock.hcl"), &lock).unwrap();
    let out = init_through_the_proxy(&env, &tf, &work);
    assert!(out.status.success(), "{}", terraform::explain(&out));
    let zh = |hashes: Vec<String>| -> Vec<String> {
        sorted(
            hashes
                .into_iter()
                .filter(|h| h.starts_with("zh:"))
                .collect(),
        )
    };
    let after = terraform::lock_file(&work);
    let direct_zh = zh(terraform::lock_hashes(&direct, &direct_address));
    assert_eq!(direct_zh.len(), platforms().len() + 1, "{direct}");
    assert_eq!(
        zh(terraform::lock_hashes(&after, "acme/hello")),
        direct_zh,
        "{after}"
    );
}

#[test]
fn a_tampered_zip_in_the_network_mirror_stores_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    let tf = Terraform::new(&env);
    let (mirror, dir) = network_mirror(&env, &up, &tf);
    let (os, arch) = this_platform();
    let zip = mirrored_zip(&dir, (os, arch));
    let name = terraform::zip_name(TYPE, VERSION, os, arch);
    let stated = terraform::h1_of_zip(&zip);
    std::fs::write(&zip, terraform::provider_zip_bytes(TYPE, "6.6.6", os, arch)).unwrap();
    let out = run_fail(&mut mirror_from(&env, &mirror, &["acme/hello"]));
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "warning: {name}: the network mirror's hash of {name} is {stated}, but the downloaded \
         zip's are {} and {}; nothing stored",
        terraform::zh_of_file(&zip),
        terraform::h1_of_zip(&zip)
    );
    let said = stderr(&out);
    assert!(
        said.lines().any(|l| l == expected),
        "expected the line\n{expected}\nin\n{said}"
    );
    run_fail(
        env.opp()
            .args(["show", "terraform-provider", "acme/hello==1.2.3"]),
    );
}

/// A lock file naming two platforms' `h1:` mirrors exactly those zips; a second run for every
/// platform adds the others to the stored version (with the `SHA256SUMS` opp rewrites, which
/// is no file of the plan) and reports only them added, the two stored zips skipped.
#[test]
fn a_lock_file_selects_the_zips_of_the_network_mirror_whose_hashes_it_names() {
    let env = Env::new();
    let up = upstream(&env);
    let tf = Terraform::new(&env);
    let (mirror, dir) = network_mirror(&env, &up, &tf);
    // What `terraform providers lock -platform=...` records for two platforms: their h1:.
    let two = &platforms()[..2];
    let hashes: String = two
        .iter()
        .map(|p| {
            format!(
                "    \"{}\",\n",
                terraform::h1_of_zip(&mirrored_zip(&dir, *p))
            )
        })
        .collect();
    let lock = env.root().join("two.terraform.lock.hcl");
    std::fs::write(
        &lock,
        format!(
            "provider \"registry.terraform.io/acme/hello\" {{\n  version = \"{VERSION}\"\n  \
             hashes = [\n{hashes}  ]\n}}\n"
        ),
    )
    .unwrap();
    run_ok(&mut mirror_from(
        &env,
        &mirror,
        &["--lock", lock.to_str().unwrap()],
    ));
    let expected: Vec<String> = sorted(
        two.iter()
            .map(|(os, arch)| terraform::zip_name(TYPE, VERSION, os, arch))
            .collect(),
    );
    let stored: Vec<String> = stored_zips(&env)
        .into_iter()
        .filter(|f| f.ends_with(".zip"))
        .collect();
    assert_eq!(stored, expected);

    let out = run_ok(&mut mirror_from(&env, &mirror, &["acme/hello", "--json"]));
    let others = platforms().len() - two.len();
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "{others} added, {} skipped (already stored), 0 failed",
            two.len()
        )),
        "{said}"
    );
    let statuses: Vec<(String, String)> = support::cli::mirror_rows(&out)
        .into_iter()
        .map(|r| (r.file, r.status))
        .collect();
    let all: Vec<String> = sorted(
        platforms()
            .iter()
            .map(|(os, arch)| terraform::zip_name(TYPE, VERSION, os, arch))
            .collect(),
    );
    let status = |zip: &String| {
        if expected.contains(zip) {
            "skipped"
        } else {
            "added"
        }
    };
    let want: Vec<(String, String)> = all
        .iter()
        .map(|zip| (zip.clone(), status(zip).to_owned()))
        .collect();
    assert_eq!(statuses, want);
    let stored: Vec<String> = stored_zips(&env)
        .into_iter()
        .filter(|f| f.ends_with(".zip"))
        .collect();
    assert_eq!(stored, all);
}

//! `opp mirror terraform --dir`: a configuration tree (a root module and a local child module)
//! read for its providers, mirrored from the local HTTPS provider registry of
//! `support::tf_registry` (the registry is proved faithful to the real terraform in
//! `mirror_terraform.rs`), then installed by `opp proxy -- terraform init` from the store.
//! Also: a lock file in the directory wins; constraints no version meets; the plan of registry
//! modules (`--dry-run --json`), and those modules mirrored from a local module registry
//! (`support::tf_module_registry`, proved faithful in `mirror_terraform_module.rs`), each call's
//! newest match.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "mirror_terraform/common.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};

use common::{init_through_the_proxy, this_platform};
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::terraform::{self, Terraform};
use support::tf_module_registry::{self as modreg, TfModuleRegistry};
use support::tf_registry::{Gpg, TfRegistry};

/// Versions the registry serves, per provider (`namespace/type`).
const ALPHA: (&str, &[&str]) = ("acme/alpha", &["1.0.0", "1.5.0", "2.1.0"]);
const BETA: (&str, &[&str]) = ("hashicorp/beta", &["0.2.0", "0.3.0"]);

/// A registry serving [`ALPHA`] and [`BETA`] for this platform, each version signed by one key.
fn registry(env: &Env) -> (TfRegistry, PathBuf) {
    let gpg = Gpg::new("acme releases <releases@acme.invalid>");
    let registry = TfRegistry::start(&env.root().join("registry"));
    let releases = env.root().join("releases");
    for (address, versions) in [ALPHA, BETA] {
        let provider_type = address.split_once('/').unwrap().1;
        for version in versions {
            let dir = releases.join(format!("{provider_type}-{version}"));
            terraform::provider_release(&dir, provider_type, version, &[this_platform()]);
            registry.add_release(address, &dir, version, &[this_platform()], &gpg, &[&gpg]);
        }
    }
    (registry, releases)
}

/// A root module requiring acme/alpha `root_constraint` and calling `./modules/child`, which
/// requires acme/alpha `child_constraint` and uses a `beta_thing` resource (hashicorp/beta,
/// implied). Returns the root's directory.
fn configuration(env: &Env, root_constraint: &str, child_constraint: &str) -> PathBuf {
    let work = env.root().join("infra");
    let child = work.join("modules/child");
    std::fs::create_dir_all(&child).unwrap();
    std::fs::write(
        work.join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    alpha = {{ source = \"acme/alpha\", \
             version = \"{root_constraint}\" }}\n  }}\n}}\n\nmodule \"child\" {{\n  source = \
             \"./modules/child\"\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        child.join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    alpha = {{\n      source  = \
             \"acme/alpha\"\n      version = \"{child_constraint}\"\n    }}\n  }}\n}}\n\n\
             resource \"beta_thing\" \"x\" {{}}\n"
        ),
    )
    .unwrap();
    work
}

/// `opp mirror terraform --dir DIR ARGS... --upstream <the registry>`, trusting its CA.
fn mirror(env: &Env, up: &TfRegistry, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = env.opp();
    cmd.args(["mirror", "terraform", "--dir"])
        .arg(dir)
        .args(args)
        .args(["--upstream", &up.host])
        .env("SSL_CERT_FILE", &up.ca_file);
    cmd
}

/// The versions of `name` stored, of `candidates`.
fn stored(env: &Env, name: &str, candidates: &[&str]) -> Vec<String> {
    candidates
        .iter()
        .filter(|v| {
            env.opp()
                .args(["show", "terraform-provider", &format!("{name}=={v}")])
                .output()
                .unwrap()
                .status
                .success()
        })
        .map(|v| (*v).to_owned())
        .collect()
}

#[test]
fn the_newest_version_meeting_every_constraint_of_the_tree_is_mirrored_and_terraform_installs_it() {
    let env = Env::new();
    let (up, _) = registry(&env);
    let work = configuration(&env, ">= 1.0", "< 2.0");
    run_ok(&mut mirror(&env, &up, &work, &[]));
    assert_eq!(stored(&env, ALPHA.0, ALPHA.1), ["1.5.0"]);
    assert_eq!(stored(&env, BETA.0, BETA.1), ["0.3.0"]);

    let tf = Terraform::new(&env);
    let out = init_through_the_proxy(&env, &tf, &work);
    assert!(out.status.success(), "{}", terraform::explain(&out));
    let lock = terraform::lock_file(&work);
    assert_eq!(terraform::lock_version(&lock, ALPHA.0), "1.5.0", "{lock}");
    assert_eq!(terraform::lock_version(&lock, BETA.0), "0.3.0", "{lock}");
}

#[test]
fn a_lock_file_in_the_directory_pins_the_version_mirrored() {
    let env = Env::new();
    let (up, releases) = registry(&env);
    let work = configuration(&env, ">= 1.0", "< 2.0");
    let (os, arch) = this_platform();
    let zh = terraform::zh_of_file(
        &releases
            .join("alpha-1.0.0")
            .join(terraform::zip_name("alpha", "1.0.0", os, arch)),
    );
    std::fs::write(
        work.join(".terraform.lock.hcl"),
        format!(
            "provider \"registry.terraform.io/acme/alpha\" {{\n  version     = \"1.0.0\"\n  \
             constraints = \">= 1.0.0, < 2.0.0\"\n  hashes = [\n    \"{zh}\",\n  ]\n}}\n"
        ),
    )
    .unwrap();
    run_ok(&mut mirror(&env, &up, &work, &[]));
    assert_eq!(stored(&env, ALPHA.0, ALPHA.1), ["1.0.0"]);
    assert_eq!(stored(&env, BETA.0, BETA.1), ["0.3.0"]);

    let tf = Terraform::new(&env);
    let out = init_through_the_proxy(&env, &tf, &work);
    assert!(out.status.success(), "{}", terraform::explain(&out));
    let lock = terraform::lock_file(&work);
    assert_eq!(terraform::lock_version(&lock, ALPHA.0), "1.0.0", "{lock}");
}

#[test]
fn constraints_no_version_meets_are_named_with_where_they_are_written() {
    let env = Env::new();
    let (up, _) = registry(&env);
    let work = configuration(&env, ">= 2.0", "< 2.0");
    let out = run_fail(&mut mirror(&env, &up, &work, &[]));
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "warning: no version of acme/alpha meets every constraint on it in the configuration: \
         `>= 2.0` ({root}/main.tf:3), `< 2.0` ({root}/modules/child/main.tf:3); the registry \
         has: 2.1.0, 1.5.0, 1.0.0",
        root = work.display()
    );
    let said = stderr(&out);
    assert!(
        said.lines().any(|l| l == expected),
        "expected the line\n{expected}\nin\n{said}"
    );
    assert!(stored(&env, ALPHA.0, ALPHA.1).is_empty());
    assert!(stored_modules(&env).is_empty());
}

/// A configuration calling a registry module twice and a git module, using acme/alpha.
fn configuration_with_modules(env: &Env, modules: &TfModuleRegistry) -> PathBuf {
    let work = env.root().join("infra");
    std::fs::create_dir_all(&work).unwrap();
    let host = &modules.host;
    std::fs::write(
        work.join("main.tf"),
        format!(
            "module \"vpc\" {{\n  source  = \"{host}/{VPC}\"\n  version = \"~> 5.0\"\n}}\n\n\
             module \"endpoints\" {{\n  source = \"{host}/{VPC}//modules/vpc-endpoints\"\n}}\n\n\
             module \"net\" {{\n  source = \"git::https://git.example/net.git?ref=v1\"\n}}\n\n\
             resource \"alpha_thing\" \"a\" {{\n  provider = alpha.west\n}}\n\n\
             terraform {{\n  required_providers {{\n    alpha = {{ source = \"acme/alpha\", version = \"~> 1.0\" }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    work
}

/// The module the configuration of [`configuration_with_modules`] calls twice, and the versions
/// its registry serves: the `~> 5.0` call needs 5.1.0, the call without a version 6.0.0.
const VPC: &str = "acme/vpc/aws";
const VPC_VERSIONS: [&str; 4] = ["4.0.0", "5.0.0", "5.1.0", "6.0.0"];

/// A module registry serving [`VPC_VERSIONS`] of [`VPC`], each a tar.gz of the test module.
fn module_registry(env: &Env) -> TfModuleRegistry {
    let registry = TfModuleRegistry::start(&env.root().join("module-registry"));
    let module = terraform::module_dir(&env.root().join("module-src"));
    modreg::tar_gz_of(&module, &registry.archives.join("vpc.tar.gz"));
    for version in VPC_VERSIONS {
        registry.add_version(VPC, version, &registry.archive_url("vpc.tar.gz"));
    }
    registry
}

/// [`mirror`], also trusting the module registry's CA (each test registry has its own).
fn mirror_with_modules(
    env: &Env,
    up: &TfRegistry,
    modules: &TfModuleRegistry,
    dir: &Path,
    args: &[&str],
) -> std::process::Command {
    let bundle = env.root().join("both-cas.pem");
    let mut pem = std::fs::read(&up.ca_file).unwrap();
    pem.extend(std::fs::read(&modules.ca_file).unwrap());
    std::fs::write(&bundle, pem).unwrap();
    let mut cmd = mirror(env, up, dir, args);
    cmd.env("SSL_CERT_FILE", &bundle);
    cmd
}

/// The versions of the module [`VPC`] stored, of [`VPC_VERSIONS`].
fn stored_modules(env: &Env) -> Vec<String> {
    VPC_VERSIONS
        .iter()
        .filter(|v| {
            env.opp()
                .args(["show", "terraform-module", &format!("{VPC}=={v}")])
                .output()
                .unwrap()
                .status
                .success()
        })
        .map(|v| (*v).to_owned())
        .collect()
}

#[test]
fn a_dry_run_lists_the_providers_files_and_registry_modules_and_writes_nothing() {
    let env = Env::new();
    let (up, _) = registry(&env);
    let modules = module_registry(&env);
    let work = configuration_with_modules(&env, &modules);
    let out = run_ok(&mut mirror_with_modules(
        &env,
        &up,
        &modules,
        &work,
        &["--dry-run", "--json"],
    ));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let main = format!("{}/main.tf", work.display());
    assert_eq!(
        plan["modules"],
        serde_json::json!([{
            "address": format!("{}/{VPC}", modules.host),
            "calls": [
                {"constraint": "~> 5.0", "origin": {"file": main, "line": 1}},
                {"constraint": "", "origin": {"file": main, "line": 6}},
            ],
        }])
    );
    assert_eq!(
        plan["not_mirrored"],
        serde_json::json!([{
            "module": "net",
            "source": "git::https://git.example/net.git?ref=v1",
            "kind": "a git repository",
            "origin": {"file": main, "line": 10},
        }])
    );
    assert_eq!(
        plan["providers"][0]["address"],
        "registry.terraform.io/acme/alpha"
    );
    let (os, arch) = this_platform();
    let planned: Vec<(&str, &str, &str)> = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap(),
                f["version"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
            )
        })
        .collect();
    let zip = terraform::zip_name("alpha", "1.5.0", os, arch);
    let mut versions: Vec<&str> = planned.iter().map(|(_, v, _)| *v).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions, ["1.5.0", "5.1.0", "6.0.0"], "{planned:?}");
    assert!(
        planned.contains(&("acme-vpc-aws-5.1.0.zip", "5.1.0", "planned"))
            && planned.contains(&("acme-vpc-aws-6.0.0.zip", "6.0.0", "planned")),
        "{planned:?}"
    );
    assert!(
        planned.contains(&(zip.as_str(), "1.5.0", "planned")),
        "{planned:?}"
    );
    assert!(planned.iter().all(|(_, _, s)| *s == "planned"));
    let said = stderr(&out);
    let git_line = format!(
        "warning: {main}:10: module \"net\": git::https://git.example/net.git?ref=v1 is a git \
         repository, not a registry module; not mirrored"
    );
    assert!(said.lines().any(|l| l == git_line), "{git_line}\n{said}");
    assert!(stored(&env, ALPHA.0, ALPHA.1).is_empty());
}

#[test]
fn a_real_run_mirrors_the_providers_and_for_each_module_call_its_newest_match() {
    let env = Env::new();
    let (up, _) = registry(&env);
    let modules = module_registry(&env);
    let work = configuration_with_modules(&env, &modules);
    let out = run_ok(&mut mirror_with_modules(&env, &up, &modules, &work, &[]));
    assert_eq!(
        stored(&env, ALPHA.0, ALPHA.1),
        ["1.5.0"],
        "{}",
        stderr(&out)
    );
    // `~> 5.0` gets 5.1.0, the call without a version the newest; 4.0.0 and 5.0.0 are not
    // asked for.
    assert_eq!(stored_modules(&env), ["5.1.0", "6.0.0"], "{}", stderr(&out));
    let again = run_ok(&mut mirror_with_modules(&env, &up, &modules, &work, &[]));
    let archive_fetches = modules
        .requests()
        .iter()
        .filter(|r| r.starts_with("/archives/"))
        .count();
    assert_eq!(
        archive_fetches,
        2,
        "a second run fetches no archive: {}",
        stderr(&again)
    );
}

#[test]
fn a_directory_without_a_configuration_is_refused_with_a_hint() {
    let env = Env::new();
    let empty = env.root().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run_fail(env.opp().args(["mirror", "terraform", "--dir"]).arg(&empty));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "error: {} holds no .tf files\n  hint: give the directory of a Terraform \
             configuration (its root module)",
            empty.display()
        )
    );
}

//! What the `opp mirror terraform-provider` test crates share: the test registry serving
//! `acme/hello` 1.2.3 signed by a fresh gpg key, direct installs with the real terraform, and
//! running opp against it. Included with `#[path = "mirror_terraform/common.rs"] mod common;`.
#![allow(dead_code)] // each test crate uses a part

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::cli::{Env, run_fail, run_ok, stderr, stdout};
use crate::support::terraform::{self, Terraform};
use crate::support::tf_registry::{Gpg, TfRegistry};

pub const TYPE: &str = "hello";
pub const VERSION: &str = "1.2.3";

/// This machine's platform as Terraform names it, e.g. `("linux", "amd64")`.
pub fn this_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    (std::env::consts::OS, arch)
}

/// This platform and two others, without duplicates.
pub fn platforms() -> Vec<(&'static str, &'static str)> {
    let mut p = vec![this_platform()];
    for other in [("darwin", "arm64"), ("windows", "amd64")] {
        if !p.contains(&other) {
            p.push(other);
        }
    }
    p
}

/// A registry serving `acme/hello` 1.2.3 signed by a key it does not name (it names another):
/// what Terraform and opp must both refuse. Returns the registry, the named key and the signer.
pub fn registry_signed_by_an_unnamed_key(env: &Env) -> (TfRegistry, Gpg, Gpg) {
    let named = Gpg::new("acme releases <releases@acme.invalid>");
    let other = Gpg::new("someone else <else@example.invalid>");
    let registry = TfRegistry::start(&env.root().join("registry"));
    let release =
        terraform::provider_release(&env.root().join("release"), TYPE, VERSION, &platforms());
    registry.add_release(
        "acme/hello",
        &release,
        VERSION,
        &platforms(),
        &other,
        &[&named],
    );
    (registry, named, other)
}

/// A registry serving `acme/hello` 1.2.3 for [`platforms`], signed by a fresh key it names.
pub struct Upstream {
    pub registry: TfRegistry,
    pub gpg: Gpg,
    pub release: PathBuf,
}

pub fn upstream(env: &Env) -> Upstream {
    let gpg = Gpg::new("acme releases <releases@acme.invalid>");
    let registry = TfRegistry::start(&env.root().join("registry"));
    let release =
        terraform::provider_release(&env.root().join("release"), TYPE, VERSION, &platforms());
    registry.add_release("acme/hello", &release, VERSION, &platforms(), &gpg, &[&gpg]);
    Upstream {
        registry,
        gpg,
        release,
    }
}

/// `terraform init` in `work`, trusting the registry's CA, with extra environment.
pub fn init(tf: &Terraform, work: &Path, ca: &Path, envs: &[(String, String)]) -> Output {
    tf.command(work)
        .args(["init", "-input=false", "-no-color"])
        .env("SSL_CERT_FILE", ca)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run terraform init")
}

/// Terraform installs `acme/hello` from the registry directly; returns the lock file.
pub fn direct_install(env: &Env, up: &Upstream, tf: &Terraform) -> String {
    let work = env.root().join("direct");
    terraform::config_for_provider(&work, &up.registry.host, "acme", TYPE, "~> 1.2");
    let out = init(tf, &work, &up.registry.ca_file, &[]);
    assert!(
        out.status.success(),
        "{} init from the test registry failed:\n{}",
        tf.version(),
        terraform::explain(&out)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "Installed {}/acme/{TYPE} v{VERSION} (self-signed, key ID {})",
        up.registry.host, up.gpg.key_id
    );
    assert!(printed.contains(&expected), "{expected}\n{printed}");
    terraform::lock_file(&work)
}

/// `opp mirror terraform-provider ARGS... --upstream <the registry>`, trusting its CA.
pub fn mirror(env: &Env, up: &TfRegistry, args: &[&str]) -> std::process::Command {
    let mut cmd = env.opp();
    cmd.args(["mirror", "terraform-provider"])
        .args(args)
        .args(["--upstream", &up.host])
        .env("SSL_CERT_FILE", &up.ca_file);
    cmd
}

/// `opp proxy -- terraform init` in `work`, as a user runs it.
pub fn init_through_the_proxy(env: &Env, tf: &Terraform, work: &Path) -> Output {
    let program = PathBuf::from(tf.command(work).get_program());
    env.opp()
        .args(["proxy", "--"])
        .arg(program)
        .args(["init", "-input=false", "-no-color"])
        .current_dir(work)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run opp proxy -- terraform init")
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Runs a mirror that must fail: exit 1, the `expected` line on stderr, nothing stored.
pub fn fails_storing_nothing(env: &Env, up: &TfRegistry, expected: &str) {
    fails_storing_nothing_with(env, up, &["acme/hello"], expected);
}

/// [`fails_storing_nothing`] with these arguments.
pub fn fails_storing_nothing_with(env: &Env, up: &TfRegistry, args: &[&str], expected: &str) {
    let out = run_fail(&mut mirror(env, up, args));
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(
        said.lines().any(|l| l == expected),
        "expected the line\n{expected}\nin\n{said}"
    );
    let show = run_fail(
        env.opp()
            .args(["show", "terraform-provider", "acme/hello==1.2.3"]),
    );
    assert!(!show.status.success());
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A lock file for `acme/hello` 1.2.3 with the `zh:` of the zips of `platforms` and `extra`.
pub fn lock_file(up: &Upstream, platforms: &[(&str, &str)], extra: &[String]) -> String {
    let mut hashes: Vec<String> = platforms
        .iter()
        .map(|(os, arch)| {
            terraform::zh_of_file(
                &up.release
                    .join(terraform::zip_name(TYPE, VERSION, os, arch)),
            )
        })
        .collect();
    hashes.extend(extra.iter().cloned());
    let listed: String = hashes.iter().map(|h| format!("    \"{h}\",\n")).collect();
    format!(
        "provider \"registry.terraform.io/acme/hello\" {{\n  version     = \"{VERSION}\"\n  \
         constraints = \"~> 1.2\"\n  hashes = [\n{listed}  ]\n}}\n"
    )
}

/// The names of the zips `opp show --json` lists for acme/hello 1.2.3, sorted.
pub fn stored_zips(env: &Env) -> Vec<String> {
    let json =
        run_ok(
            env.opp()
                .args(["show", "terraform-provider", "acme/hello==1.2.3", "--json"]),
        );
    let release: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    sorted(
        release["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect(),
    )
}

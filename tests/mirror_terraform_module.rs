//! `opp mirror terraform-module` against a local HTTPS module registry
//! (`support::tf_module_registry`) whose downloads point at a tar.gz it serves and at a git
//! repository the test makes with the system's git (`git::file://...?ref=v1.0.0`). First the
//! registry is proved faithful: the real terraform installs both modules from it directly.
//! Then opp mirrors them, and `opp proxy -- terraform init` installs them from the store, under
//! the proxy's module host and under the public registry's address; the stored zips follow
//! OpenTofu's layout and are the bytes `opp push terraform-module` makes of the same tree;
//! hostile, oversized, missing and damaged archives store nothing and say why in one line
//! (`mirror_terraform_module/refusals.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

#[path = "mirror_terraform_module/refusals.rs"]
mod refusals;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::cli::{Env, run_fail, run_ok, stderr};
use support::opentofu;
use support::registry::Registry;
use support::terraform::{self, Terraform};
use support::tf_module_registry::{self as modreg, TfModuleRegistry};

/// The module served from a tar.gz, the one served from a git repository, and the one that is
/// a subdirectory (`//modules/x`) of the tar.gz's package.
const ARCHIVED: &str = "acme/greet/null";
const GIT: &str = "acme/gitgreet/null";
const SUB: &str = "acme/sub/null";
/// The configuration's module blocks: (key, address, the `name` it passes).
const MODULES: [(&str, &str, &str); 3] = [
    ("archived", ARCHIVED, "archive"),
    ("git", GIT, "git"),
    ("sub", SUB, "sub"),
];
const VERSION: &str = "1.0.0";

/// The registry serving [`ARCHIVED`], [`GIT`] and [`SUB`] 1.0.0, from the files of
/// `terraform::module_dir`.
struct Upstream {
    registry: TfModuleRegistry,
    module: PathBuf,
    repo: PathBuf,
}

fn upstream(env: &Env) -> Upstream {
    let registry = TfModuleRegistry::start(&env.root().join("registry"));
    let module = terraform::module_dir(&env.root().join("module-src"));
    modreg::tar_gz_of(&module, &registry.archives.join("greet-1.0.0.tar.gz"));
    registry.add_version(
        ARCHIVED,
        VERSION,
        &registry.archive_url("greet-1.0.0.tar.gz"),
    );
    let repo = env.root().join("git").join("greet");
    let location = modreg::git_repo(&repo, &module, &terraform::MODULE_FILES, "v1.0.0");
    registry.add_version(GIT, VERSION, &location);
    let sub = format!("{}//modules/x", registry.archive_url("greet-1.0.0.tar.gz"));
    registry.add_version(SUB, VERSION, &sub);
    Upstream {
        registry,
        module,
        repo,
    }
}

/// `opp mirror terraform-module ARGS... --upstream <the registry>`, trusting its CA.
fn mirror(env: &Env, up: &TfModuleRegistry, args: &[&str]) -> std::process::Command {
    let mut cmd = env.opp();
    cmd.args(["mirror", "terraform-module"])
        .args(args)
        .args(["--upstream", &up.host])
        .env("SSL_CERT_FILE", &up.ca_file);
    cmd
}

/// A configuration calling the [`MODULES`] at `host/...` (no host: the public registry's
/// address), outputting each one's greeting.
fn config(work: &Path, host: Option<&str>) {
    std::fs::create_dir_all(work).unwrap();
    let mut text = String::new();
    for (key, address, name) in MODULES {
        let source = host.map_or(address.to_owned(), |h| format!("{h}/{address}"));
        text.push_str(&format!(
            "module \"{key}\" {{\n  source  = \"{source}\"\n  version = \"~> 1.0\"\n  \
             name    = \"{name}\"\n}}\n\noutput \"{key}\" {{\n  value = module.{key}.greeting\n}}\n\n"
        ));
    }
    std::fs::write(work.join("main.tf"), text).unwrap();
}

/// What a user checks after `terraform init`: modules.json names each module by the source
/// (as the configuration writes it) and version, its files are installed (and only those), and
/// `terraform apply` computes the outputs from them. Returns every problem found.
fn check_installed(tf: &Terraform, work: &Path, source_host: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let json = std::fs::read_to_string(work.join(".terraform/modules/modules.json")).unwrap();
    let modules: serde_json::Value = serde_json::from_str(&json).unwrap();
    for (key, address, _) in MODULES {
        let entry = modules["Modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["Key"] == key);
        let source = source_host.map_or(address.to_owned(), |h| format!("{h}/{address}"));
        let Some(entry) = entry else {
            problems.push(format!("{key} not in modules.json: {json}"));
            continue;
        };
        if entry["Source"] != source.as_str() || entry["Version"] != VERSION {
            problems.push(format!("{key}: {entry}, expected {source} {VERSION}"));
        }
        let dir = entry["Dir"].as_str().unwrap_or_default();
        // The subdirectory module is `modules/x` of its package; the others the whole package.
        let (expected_dir, files) = if key == "sub" {
            (
                format!(".terraform/modules/{key}/modules/x"),
                &["main.tf"][..],
            )
        } else {
            (
                format!(".terraform/modules/{key}"),
                &terraform::MODULE_FILES[..],
            )
        };
        if dir != expected_dir {
            problems.push(format!("{key}: installed in {dir}, not {expected_dir}"));
        }
        for f in files {
            if !work.join(dir).join(f).is_file() {
                problems.push(format!("{key}: {f} not in {dir}"));
            }
        }
    }
    let apply = tf
        .command(work)
        .args(["apply", "-auto-approve", "-input=false", "-no-color"])
        .output()
        .unwrap();
    if !apply.status.success() {
        problems.push(format!("apply failed: {}", terraform::explain(&apply)));
        return problems;
    }
    let output = tf.command(work).args(["output", "-json"]).output().unwrap();
    let values: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    for (key, _, name) in MODULES {
        if values[key]["value"] != format!("hello, {name}").as_str() {
            problems.push(format!("output {key}: {}", values[key]));
        }
    }
    problems
}

/// `opp proxy [PROXY_ARGS] -- terraform init` in `work`, as a user runs it.
fn init_through_the_proxy(env: &Env, tf: &Terraform, work: &Path, proxy_args: &[&str]) -> Output {
    let program = PathBuf::from(tf.command(work).get_program());
    env.opp()
        .arg("proxy")
        .args(proxy_args)
        .arg("--")
        .arg(program)
        .args(["init", "-input=false", "-no-color"])
        .current_dir(work)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap()
}

fn terraform_installs_the_modules_of_the_test_registry_directly(latest: bool) {
    let env = Env::new();
    let up = upstream(&env);
    let tf = if latest {
        Terraform::latest(&env)
    } else {
        Terraform::new(&env)
    };
    let work = env.root().join("direct");
    config(&work, Some(&up.registry.host));
    let init = tf
        .command(&work)
        .args(["init", "-input=false", "-no-color"])
        .env("SSL_CERT_FILE", &up.registry.ca_file)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", terraform::explain(&init));
    let problems = check_installed(&tf, &work, Some(&up.registry.host));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn terraform_1_0_installs_the_archive_git_and_subdir_modules_of_the_test_registry_directly() {
    terraform_installs_the_modules_of_the_test_registry_directly(false);
}

#[test]
fn terraform_1_15_installs_the_archive_git_and_subdir_modules_of_the_test_registry_directly() {
    terraform_installs_the_modules_of_the_test_registry_directly(true);
}

#[test]
fn mirrored_modules_install_through_the_proxy_under_its_module_host() {
    let env = Env::new();
    let up = upstream(&env);
    let out = run_ok(&mut mirror(
        &env,
        &up.registry,
        &[ARCHIVED, &format!("{GIT}@~> 1.0"), SUB],
    ));
    assert!(
        stderr(&out).contains("3 added, 0 skipped (already stored), 0 failed"),
        "{}",
        stderr(&out)
    );
    let tf = Terraform::new(&env);
    let work = env.root().join("proxied");
    config(&work, Some("opp.localhost"));
    let init = init_through_the_proxy(&env, &tf, &work, &[]);
    assert!(init.status.success(), "{}", terraform::explain(&init));
    let problems = check_installed(&tf, &work, Some("opp.localhost"));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn mirrored_modules_install_through_the_proxy_under_the_public_registry_address() {
    let env = Env::new();
    let up = upstream(&env);
    run_ok(&mut mirror(&env, &up.registry, &[ARCHIVED, GIT, SUB]));
    let tf = Terraform::new(&env);
    let work = env.root().join("proxied");
    // `source = "acme/greet/null"`, as a configuration written for the public registry says.
    config(&work, None);
    let init = init_through_the_proxy(
        &env,
        &tf,
        &work,
        &["--module-host", "registry.terraform.io"],
    );
    assert!(init.status.success(), "{}", terraform::explain(&init));
    let problems = check_installed(&tf, &work, None);
    assert!(problems.is_empty(), "{problems:#?}");

    // Providers in the store still install from the proxy's network mirror in such a run.
    let (os, arch) = this_platform();
    let release =
        terraform::provider_release(&env.root().join("rel"), "hello", "1.2.3", &[(os, arch)]);
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "acme/hello"])
            .arg(&release),
    );
    let both = env.root().join("with-provider");
    config(&both, None);
    let mut text = std::fs::read_to_string(both.join("main.tf")).unwrap();
    text.push_str(
        "terraform {\n  required_providers {\n    hello = {\n      source  = \"acme/hello\"\n      \
         version = \"~> 1.2\"\n    }\n  }\n}\n",
    );
    std::fs::write(both.join("main.tf"), text).unwrap();
    let init = init_through_the_proxy(
        &env,
        &tf,
        &both,
        &["--module-host", "registry.terraform.io"],
    );
    assert!(init.status.success(), "{}", terraform::explain(&init));
    let lock = terraform::lock_file(&both);
    assert_eq!(
        terraform::lock_version(&lock, "acme/hello"),
        "1.2.3",
        "{lock}"
    );
}

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

#[test]
fn mirrored_zips_follow_opentofus_layout_and_are_what_push_makes_of_the_same_tree() {
    let reg = Registry::start();
    let env = Env::new();
    let up = upstream(&env);
    run_ok(mirror(&env, &up.registry, &[ARCHIVED, GIT, SUB]).args(["--registry", &reg.host]));
    run_ok(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "push",
                "terraform-module",
                "acme/pushed/null",
            ])
            .arg(VERSION)
            .arg(&up.module),
    );
    let layer = |module: &str| {
        let repo = format!("terraform-module/{module}");
        let manifest = opentofu::fetch(&reg.host, &repo, VERSION).json();
        manifest["layers"][0]["digest"].as_str().unwrap().to_owned()
    };
    let pushed = layer("acme/pushed/null");
    let mut problems = Vec::new();
    for module in [ARCHIVED, GIT, SUB] {
        let repo = format!("terraform-module/{module}");
        for tag in [VERSION, "latest"] {
            if let Err(e) = opentofu::check_module_in_registry(&reg.host, &repo, tag) {
                problems.push(format!("{module}:{tag}: {e}"));
            }
        }
        if layer(module) != pushed {
            problems.push(format!(
                "{module}: layer {} is not the pushed {pushed}",
                layer(module)
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_second_mirror_fetches_nothing_and_stores_nothing_new() {
    let env = Env::new();
    let up = upstream(&env);
    run_ok(&mut mirror(&env, &up.registry, &[ARCHIVED, GIT, SUB]));
    // Without the archive and the repository, only what is stored can satisfy the run.
    std::fs::remove_file(up.registry.archives.join("greet-1.0.0.tar.gz")).unwrap();
    std::fs::remove_dir_all(&up.repo).unwrap();
    let before = up.registry.requests().len();
    let out = run_ok(&mut mirror(&env, &up.registry, &[ARCHIVED, GIT, SUB]));
    assert!(
        stderr(&out).contains("0 added, 3 skipped (already stored), 0 failed"),
        "{}",
        stderr(&out)
    );
    let archives: Vec<String> = up.registry.requests()[before..]
        .iter()
        .filter(|p| p.starts_with("/archives/"))
        .cloned()
        .collect();
    assert!(archives.is_empty(), "{archives:?}");
}

#[test]
fn a_dry_run_plans_each_version_and_writes_nothing() {
    let env = Env::new();
    let up = upstream(&env);
    let out =
        run_ok(mirror(&env, &up.registry, &[ARCHIVED, GIT, SUB]).args(["--dry-run", "--json"]));
    let statuses: Vec<(String, String)> = support::cli::mirror_rows(&out)
        .into_iter()
        .map(|r| (r.file, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                "acme-gitgreet-null-1.0.0.zip".to_owned(),
                "planned".to_owned()
            ),
            ("acme-greet-null-1.0.0.zip".to_owned(), "planned".to_owned()),
            ("acme-sub-null-1.0.0.zip".to_owned(), "planned".to_owned()),
        ]
    );
    assert!(!env.store().join("terraform-module").exists());
}

#[test]
fn a_zip_archive_at_a_relative_location_is_mirrored_whole() {
    let env = Env::new();
    let up = upstream(&env);
    let zip_path = up.registry.archives.join("greet.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        for f in terraform::MODULE_FILES {
            zip.start_file(f, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zip, &std::fs::read(up.module.join(f)).unwrap())
                .unwrap();
        }
        zip.finish().unwrap();
    }
    // Relative to the download URL, as registries behind a reverse proxy answer.
    up.registry
        .add_version("acme/zipped/null", VERSION, "/archives/greet.zip");
    run_ok(&mut mirror(&env, &up.registry, &["acme/zipped/null@1.0.0"]));
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["pull", "terraform-module", "acme/zipped/null@1.0.0", "-o"])
            .arg(&dest),
    );
    for f in terraform::MODULE_FILES {
        assert_eq!(
            std::fs::read(dest.join(f)).unwrap(),
            std::fs::read(up.module.join(f)).unwrap(),
            "{f}"
        );
    }
}

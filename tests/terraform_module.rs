//! Terraform modules end to end: push a module directory reproducibly in OpenTofu's layout,
//! `latest` follows the highest release, pull unpacks safely, and terraform uses the result.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod support;

use std::io::Write;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::opentofu;
use support::registry::Registry;
use support::terraform::{self, Terraform};

#[test]
fn a_pushed_module_is_in_opentofus_layout_and_terraform_uses_what_pull_unpacks() {
    let reg = Registry::start();
    let env = Env::new();
    let module = terraform::module_dir(&env.root().join("src"));
    let push = |v: &str| {
        let out = run_ok(
            env.opp()
                .args([
                    "--registry",
                    &reg.host,
                    "push",
                    "terraform-module",
                    "acme/greet/null",
                    v,
                    "--json",
                ])
                .arg(&module),
        );
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()[0].clone()
    };
    let first = push("1.0.0");
    assert_eq!(first["status"], "added");
    let repo = "terraform-module/acme/greet/null";
    opentofu::check_module_in_registry(&reg.host, repo, "1.0.0").unwrap();
    opentofu::check_module_in_registry(&reg.host, repo, "latest").unwrap();
    // The same tree gives the same zip: pushing it again changes nothing.
    assert_eq!(push("1.0.0")["status"], "unchanged");
    // `latest` follows the highest release, not the last push.
    push("2.0.0");
    push("1.5.0");
    let latest = opentofu::fetch(&reg.host, repo, "latest").digest;
    assert_eq!(latest, opentofu::fetch(&reg.host, repo, "2.0.0").digest);

    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "pull",
                "terraform-module",
                "acme/greet/null@1.5.0",
                "-o",
            ])
            .arg(&dest),
    );
    for f in terraform::MODULE_FILES {
        assert!(dest.join(f).is_file(), "{f} missing");
    }
    for f in terraform::MODULE_EXCLUDED {
        assert!(!dest.join(f).exists(), "{f} was packed");
    }
    let work = env.root().join("work");
    terraform::config_for_module(&work, dest.to_str().unwrap());
    let init = Terraform::new(&env).init(&work, &[]);
    assert!(init.status.success(), "{}", terraform::explain(&init));

    let versions = stdout(&run_ok(env.opp().args([
        "--registry",
        &reg.host,
        "list",
        "terraform-module",
        "acme/greet/null",
        "--json",
    ])));
    let v: serde_json::Value = serde_json::from_str(&versions).unwrap();
    let listed: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["2.0.0", "1.5.0", "1.0.0"]);

    // A non-empty destination is not overwritten without --force.
    let again = run_fail(
        env.opp()
            .args([
                "--registry",
                &reg.host,
                "pull",
                "terraform-module",
                "acme/greet/null",
                "-o",
            ])
            .arg(&dest),
    );
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
}

#[test]
fn a_module_zip_with_parent_paths_and_a_missing_directory_are_refused() {
    let env = Env::new();
    let zip = env.root().join("evil.zip");
    {
        let f = std::fs::File::create(&zip).unwrap();
        let mut w = zip::ZipWriter::new(f);
        w.start_file("main.tf", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"# ok\n").unwrap();
        w.start_file("../evil.tf", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"# evil\n").unwrap();
        w.finish().unwrap();
    }
    let out = run_fail(
        env.opp()
            .args(["push", "terraform-module", "acme/evil/null", "1.0.0"])
            .arg(&zip),
    );
    assert!(stderr(&out).contains("../evil.tf"), "{}", stderr(&out));
    let missing = run_fail(
        env.opp()
            .args(["push", "terraform-module", "acme/evil/null", "1.0.0"])
            .arg(env.root().join("nope")),
    );
    assert!(stderr(&missing).contains("nope"), "{}", stderr(&missing));
    let bad_version = run_fail(
        env.opp()
            .args(["push", "terraform-module", "acme/evil/null", "1.0"])
            .arg(terraform::module_dir(&env.root().join("m"))),
    );
    assert!(
        stderr(&bad_version).contains("1.0"),
        "{}",
        stderr(&bad_version)
    );
    assert!(
        !env.store().join("terraform-module").exists(),
        "something was stored"
    );
}

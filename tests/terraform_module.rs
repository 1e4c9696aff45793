//! Terraform modules end to end: push a module directory reproducibly in OpenTofu's layout,
//! `latest` follows the highest release, pull unpacks safely, and terraform uses the result.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

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

/// Each bad push, with the full stderr a user reads (the work directory as `[ROOT]`) and its
/// exit status; nothing is stored by any of them. Every failing case is reported.
#[test]
fn bad_module_pushes_are_refused_with_what_is_wrong_and_what_to_do() {
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
    let module = terraform::module_dir(&env.root().join("m"));
    let cases: Vec<(&str, Vec<std::ffi::OsString>, &str)> = vec![
        (
            "a zip with a parent path",
            vec!["acme/evil/null".into(), "1.0.0".into(), zip.clone().into()],
            "error: [ROOT]/evil.zip has the entry `../evil.tf`: a `..` component in its path; \
             refusing the whole archive, nothing was written (unpacked, it could write outside \
             its directory)\n",
        ),
        (
            "a missing directory",
            vec![
                "acme/evil/null".into(),
                "1.0.0".into(),
                env.root().join("nope").into(),
            ],
            "error: [ROOT]/nope does not exist\n  hint: give a module directory or a .zip of one\n",
        ),
        (
            "a version that is not semver",
            vec!["acme/evil/null".into(), "1.0".into(), module.clone().into()],
            "error: cannot map terraform-module version `1.0` to a tag: not a semantic \
             version: unexpected end of input while parsing minor version number\n",
        ),
    ];
    let mut failures = Vec::new();
    for (case, args, want) in cases {
        let out = run_fail(env.opp().args(["push", "terraform-module"]).args(&args));
        let got = stderr(&out).replace(&env.root().display().to_string(), "[ROOT]");
        if out.status.code() != Some(1) || got != want {
            failures.push(format!(
                "{case}: exit {:?}\n  got:  {got:?}\n  want: {want:?}",
                out.status.code()
            ));
        }
    }
    if env.store().join("terraform-module").exists() {
        failures.push("something was stored".to_owned());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

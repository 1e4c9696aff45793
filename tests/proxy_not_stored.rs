//! What a user sees when a NuGet or RubyGems client asks `opp proxy` for a package the store
//! does not have. nuget.exe prints `Unable to find package 'ID'` and gem `Could not find a
//! valid gem`; neither prints the server's answer, so the proxy says on its own stderr which
//! `opp mirror` command brings the package. Both lines are asserted as the real clients and the
//! proxy print them. (Bundler never asks for a gem its `/versions` list lacks, so the proxy
//! cannot name it: docs/protocols.md.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[allow(dead_code)] // the proxy tests' Ruby kit; this file uses part of it
#[path = "proxy_rubygems/gems.rs"]
mod gems;
#[path = "proxy_nuget/setup.rs"]
mod setup;
mod support;

use support::cli::{Env, run_fail, stderr};

/// The lines of `text` that are not the clients' indented request log.
fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with("  ")).collect()
}

#[test]
fn nuget_install_of_a_package_the_store_lacks_names_the_mirror_command() {
    let env = Env::new();
    let out_dir = env.root().join("packages");
    let out = run_fail(&mut setup::proxy_nuget(
        &env,
        &[],
        &[
            "install",
            "Opp.Missing",
            "-OutputDirectory",
            out_dir.to_str().unwrap(),
        ],
    ));
    let text = stderr(&out) + &support::cli::stdout(&out);
    let hint = format!(
        "warning: nuget proxy: no package opp.missing in {}/nuget/opp.missing; `opp mirror \
         nuget opp.missing` brings it from nuget.org, with its dependencies",
        env.store().display()
    );
    let shown = lines(&text);
    assert_eq!(
        shown.iter().filter(|l| **l == hint).count(),
        1,
        "the proxy's hint, once: {text}"
    );
    assert!(
        shown.contains(&"Unable to find package 'Opp.Missing'"),
        "nuget.exe's own line: {text}"
    );
}

#[test]
fn gem_install_of_a_gem_the_store_lacks_names_the_mirror_command() {
    let env = Env::new();
    let out = run_fail(&mut gems::proxied(
        &env,
        &[],
        "gem",
        &["install", "--no-document", "opp-missing"],
    ));
    assert_eq!(
        lines(&stderr(&out)),
        [
            format!(
                "warning: rubygems proxy: no package opp-missing in {}/rubygems/opp-missing; \
                 `opp mirror rubygems opp-missing` brings it from rubygems.org, with its \
                 dependencies",
                env.store().display()
            )
            .as_str(),
            "ERROR:  Could not find a valid gem 'opp-missing' (>= 0) in any repository",
        ]
    );
}

//! `opp mirror rubygems` from a local gem source (`support::gem_source`: a compact index over
//! gems built with `gem build`, first shown to work with the real `bundle install`), checked
//! as a user would: `opp proxy -- bundle install` installs the mirrored closure from the
//! store alone and it loads in ruby, a wrong checksum stores nothing and says so in one line,
//! a second run downloads no gem, a Gemfile.lock is mirrored exactly.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

#[allow(dead_code)] // the proxy tests' Ruby kit; this file uses part of it
#[path = "proxy_rubygems/gems.rs"]
mod gems;
mod support;

use std::path::{Path, PathBuf};

use gems::{TestGem, seal, tool};
use support::cli::{Env, run_ok, stdout};
use support::gem_source::GemSource;

/// The chain `oppchain-a 1.0.0 -> oppchain-b ~> 1.2 -> oppchain-c >= 1, < 2`, with versions
/// around each choice: b 1.1.0 (too old), 1.3.0, 1.4.0 (needs Ruby >= 9.0), 2.0.0 (too new);
/// c 1.0.0, 1.5.0 (plain and x86_64-linux), 2.0.0 (too new). Each lib requires the next and
/// says which gem it is in `CHAIN`.
fn build_chain(env: &Env) -> Vec<PathBuf> {
    let dist = env.root().join("dist");
    let c_dep = "  s.add_runtime_dependency \"oppchain-c\", \">= 1\", \"< 2\"";
    let c_dep_future_ruby = format!("{c_dep}\n  s.required_ruby_version = \">= 9.0\"");
    let chain_b = "require \"oppchain_c\"\n  CHAIN = \"b #{VERSION} \" + OppchainC::CHAIN";
    let gems = [
        (
            "oppchain-a",
            "1.0.0",
            "ruby",
            &[("oppchain-b", "~> 1.2")][..],
            "require \"oppchain_b\"\n  CHAIN = \"a #{VERSION} \" + OppchainB::CHAIN",
            "",
        ),
        ("oppchain-b", "1.1.0", "ruby", &[], "CHAIN = \"b old\"", ""),
        ("oppchain-b", "1.3.0", "ruby", &[], chain_b, c_dep),
        (
            "oppchain-b",
            "1.4.0",
            "ruby",
            &[],
            chain_b,
            c_dep_future_ruby.as_str(),
        ),
        ("oppchain-b", "2.0.0", "ruby", &[], "CHAIN = \"b new\"", ""),
        ("oppchain-c", "1.0.0", "ruby", &[], "CHAIN = \"c old\"", ""),
        (
            "oppchain-c",
            "1.5.0",
            "ruby",
            &[],
            "CHAIN = \"c #{VERSION} plain\"",
            "",
        ),
        (
            "oppchain-c",
            "1.5.0",
            "x86_64-linux",
            &[],
            "CHAIN = \"c #{VERSION} native\"",
            "",
        ),
        ("oppchain-c", "2.0.0", "ruby", &[], "CHAIN = \"c new\"", ""),
    ];
    gems.iter()
        .map(|(name, version, platform, deps, body, extra)| {
            TestGem {
                name,
                version,
                platform,
                deps,
                body,
                extra,
            }
            .build(env, &dist)
        })
        .collect()
}

/// A project whose Gemfile asks `source` for oppchain-a.
fn project(env: &Env, dir: &str, source: &str) -> PathBuf {
    let project = env.root().join(dir);
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("Gemfile"),
        format!("source {source:?}\ngem \"oppchain-a\"\n"),
    )
    .unwrap();
    project
}

/// `bundle exec ruby` in `project`: what the installed chain says it is.
fn chain_of(env: &Env, project: &Path, bundle_path: &Path) -> String {
    let mut exec = std::process::Command::new(tool("bundle"));
    seal(env, &mut exec);
    let out = run_ok(
        exec.current_dir(project)
            .env("BUNDLE_PATH", bundle_path)
            .args([
                "exec",
                "ruby",
                "-e",
                "require 'oppchain_a'; print OppchainA::CHAIN",
            ]),
    );
    stdout(&out)
}

/// This machine's platform as RubyGems names it.
fn local_platform(env: &Env) -> String {
    stdout(&run_ok(
        gems::ruby(env).args(["-e", "print Gem::Platform.local.to_s"]),
    ))
}

/// The chain as Bundler on this machine resolves it: b 1.4.0 needs a newer Ruby, and the
/// native c where the machine is x86_64-linux.
fn expected_chain(env: &Env) -> String {
    let c = if local_platform(env) == "x86_64-linux" {
        "native"
    } else {
        "plain"
    };
    format!("a 1.0.0 b 1.3.0 c 1.5.0 {c}")
}

#[test]
fn the_local_gem_source_serves_bundle_install_through_its_compact_index() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let project = project(&env, "direct", &source.url);
    let bundle_path = env.root().join("bundle-direct");
    let mut install = std::process::Command::new(tool("bundle"));
    seal(&env, &mut install);
    run_ok(
        install
            .current_dir(&project)
            .env("BUNDLE_PATH", &bundle_path)
            .arg("install"),
    );
    assert_eq!(chain_of(&env, &project, &bundle_path), expected_chain(&env));
    let asked = source.requests();
    for path in [
        "/versions",
        "/info/oppchain-a",
        "/info/oppchain-b",
        "/info/oppchain-c",
    ] {
        assert!(
            asked.contains(&(path.to_owned(), 200)),
            "bundler did not read {path} (it fell back from the compact index): {asked:?}"
        );
    }
    assert!(
        !asked.iter().any(|(p, _)| p.contains("specs.4.8")),
        "bundler read the full index: {asked:?}"
    );
}

//! The kit of `mirror_rubygems.rs`: the oppchain gems built with `gem build`, projects that
//! ask for them, Bundler run straight against a source or through `opp proxy`, and reading
//! `opp mirror rubygems --json`.

use std::path::{Path, PathBuf};

use crate::gems::{self, TestGem, proxied, seal, tool};
use crate::support::cli::{Env, run_ok, stdout};
use crate::support::gem_source::GemSource;

/// The chain `oppchain-a 1.0.0 -> oppchain-b ~> 1.2 -> oppchain-c >= 1, < 2`, with versions
/// around each choice: b 1.1.0 (too old), 1.3.0, 1.4.0 (needs Ruby >= 9.0), 2.0.0 (too new);
/// c 1.0.0, 1.5.0 (plain and x86_64-linux), 2.0.0 (too new). Each lib requires the next and
/// says which gem it is in `CHAIN`.
pub fn build_chain(env: &Env) -> Vec<PathBuf> {
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
pub fn project(env: &Env, dir: &str, source: &str) -> PathBuf {
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
pub fn chain_of(env: &Env, project: &Path, bundle_path: &Path) -> String {
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
pub fn local_platform(env: &Env) -> String {
    stdout(&run_ok(
        gems::ruby(env).args(["-e", "print Gem::Platform.local.to_s"]),
    ))
}

/// The chain as Bundler on this machine resolves it: b 1.4.0 needs a newer Ruby, and the
/// native c where the machine is x86_64-linux.
pub fn expected_chain(env: &Env) -> String {
    let c = if local_platform(env) == "x86_64-linux" {
        "native"
    } else {
        "plain"
    };
    format!("a 1.0.0 b 1.3.0 c 1.5.0 {c}")
}

/// This machine's Ruby as `X.Y`.
pub fn local_ruby(env: &Env) -> String {
    stdout(&run_ok(gems::ruby(env).args([
        "-e",
        "print RbConfig::CONFIG['MAJOR'] + '.' + RbConfig::CONFIG['MINOR']",
    ])))
}

/// `bundle install` in `project` straight from the source its Gemfile names.
pub fn bundle_install(env: &Env, project: &Path, bundle_path: &Path) {
    let mut install = std::process::Command::new(tool("bundle"));
    seal(env, &mut install);
    run_ok(
        install
            .current_dir(project)
            .env("BUNDLE_PATH", bundle_path)
            .arg("install"),
    );
}

/// `opp proxy -- bundle install` in `project`, into a fresh bundle path.
pub fn bundle_install_through_the_proxy(env: &Env, project: &Path, bundle_path: &Path) {
    run_ok(
        proxied(env, &[], "bundle", &["install"])
            .current_dir(project)
            .env("BUNDLE_PATH", bundle_path),
    );
}

/// `opp mirror rubygems ARGS --json`: (status, file) of every result, sorted.
pub fn mirror_json(env: &Env, args: &[&str]) -> Vec<(String, String)> {
    let out = run_ok(env.opp().args(["mirror", "rubygems", "--json"]).args(args));
    statuses(&out)
}

pub fn statuses(out: &std::process::Output) -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--json output is not JSON ({e}): {}", stdout(out)));
    let mut all: Vec<(String, String)> = json
        .as_array()
        .expect("a JSON list")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["file"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    all.sort();
    all
}

pub fn with_status(status: &str, files: &[&str]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|f| (status.to_owned(), (*f).to_owned()))
        .collect()
}

/// A Gemfile.lock Bundler wrote for oppchain-a against `source`, in a project under `env`.
pub fn bundler_lock(env: &Env, source: &GemSource) -> PathBuf {
    let project = project(env, "locked", &source.url);
    bundle_install(env, &project, &env.root().join("bundle-locked"));
    project.join("Gemfile.lock")
}

/// The chain's files on this machine, as Bundler locks them.
pub fn locked_files(env: &Env) -> [&'static str; 3] {
    [
        "oppchain-a-1.0.0.gem",
        "oppchain-b-1.3.0.gem",
        if local_platform(env) == "x86_64-linux" {
            "oppchain-c-1.5.0-x86_64-linux.gem"
        } else {
            "oppchain-c-1.5.0.gem"
        },
    ]
}

//! `opp mirror rubygems` from a gem source that requires basic auth
//! (`support::gem_source` behind a password), with the credentials where a Bundler user keeps
//! them: `bundle config set --global HOST USER:PASSWORD` (shown first to let the real `bundle
//! install` in), `BUNDLE_HOST` in the environment, a `.netrc` entry, or the URL in opp's
//! config. Without them, opp fails saying where to put them, and no message holds the password.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[allow(dead_code)] // the proxy tests' Ruby kit; this file uses part of it
#[path = "proxy_rubygems/gems.rs"]
mod gems;
mod support;

#[allow(dead_code)] // the mirror tests' kit; this file uses part of it
#[path = "mirror_rubygems/kit.rs"]
mod kit;

use std::process::Output;

use gems::{seal, tool};
use kit::*;
use support::cli::{Env, run_fail, run_ok, stderr};
use support::gem_source::GemSource;

const USER: &str = "gem-user";
const PASSWORD: &str = "s3cret-gem-token";

/// `opp mirror rubygems oppchain-a --upstream SOURCE` for this machine's platform and Ruby,
/// with `envs` set.
fn mirror(env: &Env, source: &GemSource, envs: &[(&str, &str)]) -> Output {
    let mut cmd = env.opp();
    cmd.args([
        "mirror",
        "rubygems",
        "oppchain-a",
        "--upstream",
        &source.url,
    ])
    .args(["--platform", &local_platform(env)])
    .args(["--ruby-version", &local_ruby(env)])
    .current_dir(env.root());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn assert_mirrored(out: &Output) {
    let text = stderr(out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("3 added, 0 skipped (already stored), 0 failed"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
}

#[test]
fn bundle_config_credentials_of_the_host_let_bundler_and_opp_in() {
    let env = Env::new();
    let source = GemSource::serve_with_auth(&env, &build_chain(&env), Some((USER, PASSWORD)));
    let project = project(&env, "direct", &source.url);
    let bundle_path = env.root().join("bundle-direct");
    // Without credentials Bundler is refused...
    let mut refused = std::process::Command::new(tool("bundle"));
    seal(&env, &mut refused);
    run_fail(
        refused
            .current_dir(&project)
            .env("BUNDLE_PATH", &bundle_path)
            .arg("install"),
    );
    // ... and with them, set as Bundler's users set them, it installs the chain.
    let mut config = std::process::Command::new(tool("bundle"));
    seal(&env, &mut config);
    run_ok(
        config
            .args(["config", "set", "--global", "127.0.0.1"])
            .arg(format!("{USER}:{PASSWORD}"))
            .current_dir(env.root()),
    );
    bundle_install(&env, &project, &bundle_path);
    assert_eq!(chain_of(&env, &project, &bundle_path), expected_chain(&env));

    assert_mirrored(&mirror(&env, &source, &[]));
}

#[test]
fn the_bundle_host_variable_gives_the_credentials() {
    let env = Env::new();
    let source = GemSource::serve_with_auth(&env, &build_chain(&env), Some((USER, PASSWORD)));
    let userinfo = format!("{USER}:{PASSWORD}");
    assert_mirrored(&mirror(
        &env,
        &source,
        &[("BUNDLE_127__0__0__1", &userinfo)],
    ));
}

#[test]
fn without_credentials_the_sources_401_says_where_to_put_them() {
    let env = Env::new();
    let source = GemSource::serve_with_auth(&env, &build_chain(&env), Some((USER, PASSWORD)));
    let out = mirror(&env, &source, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let url = &source.url;
    assert_eq!(
        stderr(&out),
        format!(
            "resolving 1 gem(s) against {url}\n\
             warning: oppchain-a (wanted by command line): the gem source {url} answered 401 \
             Unauthorized and opp found no credentials for it; give them as Bundler takes them \
             (`bundle config set HOST USER:PASSWORD`, or BUNDLE_HOST), in ~/.netrc, or in the \
             URL (https://USER:PASSWORD@HOST/)\n\
             plan: 0 file(s) of 0 release(s)\n\
             0 added, 0 skipped (already stored), 0 failed, into {store}\n\
             error: the mirror is incomplete: 0 file(s) failed and 1 gem(s) could not be \
             planned (see above)\n",
            store = env.store().display()
        )
    );
}

#[test]
fn refused_credentials_name_where_they_came_from_and_not_the_password() {
    let env = Env::new();
    let source = GemSource::serve_with_auth(&env, &build_chain(&env), Some((USER, PASSWORD)));
    let out = mirror(
        &env,
        &source,
        &[("BUNDLE_127__0__0__1", "gem-user:wrong-password")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(!text.contains("wrong-password"), "{text}");
    let shown = source
        .url
        .replace("http://", &format!("http://{USER}:***@"));
    assert!(
        text.contains(&format!(
            "warning: oppchain-a (wanted by command line): the gem source {shown} answered 401 Unauthorized to the credentials from \
             BUNDLE_127__0__0__1 in the environment; check them: the user name or the password (or \
             token) is wrong, expired, or lacks access to this upstream\n"
        )),
        "{text}"
    );
}

#[test]
fn a_netrc_entry_for_the_sources_host_gives_the_credentials() {
    let env = Env::new();
    let source = GemSource::serve_with_auth(&env, &build_chain(&env), Some((USER, PASSWORD)));
    let netrc = env.root().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1 login {USER} password {PASSWORD}\n"),
    )
    .unwrap();
    assert_mirrored(&mirror(
        &env,
        &source,
        &[("NETRC", netrc.to_str().unwrap())],
    ));
}

#[test]
fn the_upstream_in_opps_config_is_used_without_the_flag() {
    let env = Env::new();
    let source = GemSource::serve_with_auth(&env, &build_chain(&env), Some((USER, PASSWORD)));
    let config = env.config_home().join("opp");
    std::fs::create_dir_all(&config).unwrap();
    let with_password = source
        .url
        .replace("http://", &format!("http://{USER}:{PASSWORD}@"));
    std::fs::write(
        config.join("config.toml"),
        format!("[mirror.rubygems]\nupstream = \"{with_password}\"\n"),
    )
    .unwrap();
    let out = env
        .opp()
        .args(["mirror", "rubygems", "oppchain-a"])
        .args(["--platform", &local_platform(&env)])
        .args(["--ruby-version", &local_ruby(&env)])
        .output()
        .unwrap();
    assert_mirrored(&out);
}

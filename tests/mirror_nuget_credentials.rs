//! `opp mirror nuget` from a feed that requires basic auth, with the credentials where a NuGet
//! user keeps them: `<packageSourceCredentials>` in a NuGet.Config (the source's key encoded
//! as an XML name, the password naming an environment variable). The same NuGet.Config is
//! first shown to work with the real nuget.exe 5.8; opp then finds it in the current
//! directory's chain, or takes it with `--configfile`, and without it fails in one line that
//! holds no secret.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "mirror_nuget/chain.rs"]
mod chain;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use chain::chain;
use support::cli::{Env, run_ok, stderr};
use support::nuget_feed::Feed;

const USER: &str = "opp-user";
const TOKEN: &str = "s3cret-feed-token";
/// The variable the NuGet.Config's ClearTextPassword names.
const TOKEN_VAR: &str = "OPP_TEST_FEED_TOKEN";

/// A NuGet.Config in `dir` giving the feed as source `Opp Feed` with its credentials.
fn nuget_config(dir: &Path, feed: &Feed, password_key: &str, password: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("NuGet.Config");
    std::fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n    \
             <clear />\n    <add key=\"Opp Feed\" value=\"{}\" />\n  </packageSources>\n  \
             <packageSourceCredentials>\n    <Opp_x0020_Feed>\n      \
             <add key=\"Username\" value=\"{USER}\" />\n      \
             <add key=\"{password_key}\" value=\"{password}\" />\n    </Opp_x0020_Feed>\n  \
             </packageSourceCredentials>\n</configuration>\n",
            feed.index_url()
        ),
    )
    .unwrap();
    path
}

/// `opp mirror nuget Opp.A --framework net8.0 --upstream FEED [extra]` run in `cwd`.
fn mirror(env: &Env, feed: &Feed, cwd: &Path, extra: &[&str]) -> Output {
    env.opp()
        .args(["mirror", "nuget", "Opp.A", "--framework", "net8.0"])
        .args(["--upstream", &feed.index_url()])
        .args(extra)
        .env("SSL_CERT_FILE", feed.ca_bundle(env.root()))
        .env(TOKEN_VAR, TOKEN)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn assert_mirrored(out: &Output) {
    let text = stderr(out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("3 added, 0 skipped (already stored), 0 failed"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
}

#[test]
fn nuget_config_credentials_of_the_feeds_source_let_nuget_and_opp_in() {
    let env = Env::new();
    let feed = Feed::serve_with_auth(&chain(&env), Some((USER, TOKEN)));
    let project = env.root().join("project");
    let config = nuget_config(
        &project,
        &feed,
        "ClearTextPassword",
        &format!("%{TOKEN_VAR}%"),
    );

    // nuget.exe with that NuGet.Config installs from the feed.
    feed.trust_for_mono(&env.config_home());
    let direct = env.root().join("direct");
    run_ok(
        support::nuget::nuget5(&env)
            .args(["install", "Opp.A", "-Framework", "net8.0", "-Source"])
            .arg(feed.index_url())
            .arg("-ConfigFile")
            .arg(&config)
            .arg("-OutputDirectory")
            .arg(&direct)
            .arg("-NonInteractive")
            .env(TOKEN_VAR, TOKEN)
            .current_dir(&project),
    );
    assert!(
        direct.join("Opp.A.1.0.0").is_dir(),
        "nuget.exe installed nothing"
    );

    // opp finds the same file in the directory it runs in (a subdirectory: NuGet's chain).
    let below = project.join("src");
    std::fs::create_dir_all(&below).unwrap();
    assert_mirrored(&mirror(&env, &feed, &below, &[]));
}

#[test]
fn configfile_names_the_nuget_config_to_read_alone() {
    let env = Env::new();
    let feed = Feed::serve_with_auth(&chain(&env), Some((USER, TOKEN)));
    let config = nuget_config(
        &env.root().join("elsewhere"),
        &feed,
        "ClearTextPassword",
        TOKEN,
    );
    let out = mirror(
        &env,
        &feed,
        env.root(),
        &["--configfile", config.to_str().unwrap()],
    );
    assert_mirrored(&out);
}

#[test]
fn without_credentials_the_feeds_401_is_one_error_with_a_hint_saying_where_to_put_them() {
    let env = Env::new();
    let feed = Feed::serve_with_auth(&chain(&env), Some((USER, TOKEN)));
    let out = mirror(&env, &feed, env.root(), &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let index = feed.index_url();
    assert_eq!(
        stderr(&out),
        format!(
            "error: cannot read the NuGet feed {index}: {index} answered 401 Unauthorized and \
             opp found no credentials for it\n  \
             hint: give them in NuGet.Config (packageSourceCredentials of the source with that \
             URL), in opp's config ([mirror.nuget] upstream = \"https://USER:TOKEN@HOST/...\") \
             or in ~/.netrc\n"
        )
    );
}

#[test]
fn refused_credentials_name_the_file_they_came_from_and_not_the_password() {
    let env = Env::new();
    let feed = Feed::serve_with_auth(&chain(&env), Some((USER, TOKEN)));
    let config = nuget_config(
        &env.root().join("p"),
        &feed,
        "ClearTextPassword",
        "wrong-pw",
    );
    let out = mirror(
        &env,
        &feed,
        env.root(),
        &["--configfile", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let index = feed.index_url();
    let shown = index.replace("https://", &format!("https://{USER}:***@"));
    assert_eq!(
        stderr(&out),
        format!(
            "error: cannot read the NuGet feed {shown}: {shown} answered 401 Unauthorized to the \
             credentials from packageSourceCredentials of `Opp Feed` in {}\n  \
             hint: check them: the user name or the password (or token) is wrong, expired, or \
             lacks access to this upstream\n",
            config.display()
        )
    );
}

#[test]
fn an_encrypted_password_is_refused_saying_what_to_write_instead() {
    let env = Env::new();
    let feed = Feed::serve_with_auth(&chain(&env), Some((USER, TOKEN)));
    let config = nuget_config(
        &env.root().join("p"),
        &feed,
        "Password",
        "AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAA",
    );
    let out = mirror(
        &env,
        &feed,
        env.root(),
        &["--configfile", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {} gives the package source `Opp Feed` an encrypted Password, which only \
             NuGet on Windows can decrypt and opp does not read\n  hint: write a \
             ClearTextPassword there (it may name an environment variable: %FEED_TOKEN%), or put \
             the credentials in opp's config ([mirror.nuget] upstream = \
             \"https://USER:TOKEN@HOST/...\")\n",
            config.display()
        )
    );
    assert!(
        feed.requested().is_empty(),
        "the feed was asked without credentials"
    );
}

#[test]
fn the_upstream_with_credentials_in_opps_config_is_used_without_the_flag() {
    let env = Env::new();
    let feed = Feed::serve_with_auth(&chain(&env), Some((USER, TOKEN)));
    let config = env.config_home().join("opp");
    std::fs::create_dir_all(&config).unwrap();
    let with_token = feed
        .index_url()
        .replace("https://", &format!("https://{USER}:{TOKEN}@"));
    std::fs::write(
        config.join("config.toml"),
        format!("[mirror.nuget]\nupstream = \"{with_token}\"\n"),
    )
    .unwrap();
    let out = env
        .opp()
        .args(["mirror", "nuget", "Opp.A", "--framework", "net8.0"])
        .env("SSL_CERT_FILE", feed.ca_bundle(env.root()))
        .current_dir(env.root())
        .output()
        .unwrap();
    assert_mirrored(&out);
    let shown = feed
        .index_url()
        .replace("https://", &format!("https://{USER}:***@"));
    assert!(
        stderr(&out).contains(&format!("against {shown}")),
        "{}",
        stderr(&out)
    );
}

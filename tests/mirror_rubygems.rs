//! `opp mirror rubygems` from a local gem source (`support::gem_source`: a compact index over
//! gems built with `gem build`, first shown to work with the real `bundle install`), checked
//! as a user would: `opp proxy -- bundle install` installs the mirrored closure from the
//! store alone and it loads in ruby, a wrong checksum stores nothing and says so in one line,
//! a second run downloads no gem, a Gemfile.lock is mirrored exactly. The gems, projects and
//! Bundler runs are in `mirror_rubygems/kit.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[allow(dead_code)] // the proxy tests' Ruby kit; this file uses part of it
#[path = "proxy_rubygems/gems.rs"]
mod gems;
mod support;

#[path = "mirror_rubygems/kit.rs"]
mod kit;

use gems::proxied;
use kit::*;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::gem_source::GemSource;

#[test]
fn the_local_gem_source_serves_bundle_install_through_its_compact_index() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let project = project(&env, "direct", &source.url);
    let bundle_path = env.root().join("bundle-direct");
    bundle_install(&env, &project, &bundle_path);
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

#[test]
fn a_mirrored_closure_installs_with_bundler_through_the_proxy_from_the_store_alone() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let platform = local_platform(&env);
    let ruby = local_ruby(&env);
    let out = run_ok(env.opp().args([
        "mirror",
        "rubygems",
        "oppchain-a",
        "--upstream",
        &source.url,
        "--platform",
        &platform,
        "--ruby-version",
        &ruby,
    ]));
    let native = platform == "x86_64-linux";
    let c = if native {
        "oppchain-c-1.5.0-x86_64-linux.gem"
    } else {
        "oppchain-c-1.5.0.gem"
    };
    assert!(
        stderr(&out).contains("3 added, 0 skipped (already stored), 0 failed"),
        "{}",
        stderr(&out)
    );
    // The source is gone: bundler sees only what the mirror stored.
    drop(source);
    let project = project(&env, "through-proxy", "https://rubygems.org");
    let bundle_path = env.root().join("bundle-proxy");
    bundle_install_through_the_proxy(&env, &project, &bundle_path);
    assert_eq!(chain_of(&env, &project, &bundle_path), expected_chain(&env));
    // What bundler installed is the bytes gem build wrote.
    let cache = bundle_path
        .join("ruby")
        .join(format!("{ruby}.0"))
        .join("cache");
    let dist = env.root().join("dist");
    for file in ["oppchain-a-1.0.0.gem", "oppchain-b-1.3.0.gem", c] {
        assert_eq!(
            std::fs::read(cache.join(file)).unwrap(),
            std::fs::read(dist.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn a_second_run_downloads_no_gem() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let args = [
        "oppchain-b@~> 1.3",
        "--upstream",
        &source.url,
        "--ruby-version",
        "3.1",
    ];
    let files = [
        "oppchain-b-1.3.0.gem",
        "oppchain-c-1.5.0-x86_64-linux.gem",
        "oppchain-c-1.5.0.gem",
    ];
    assert_eq!(mirror_json(&env, &args), with_status("added", &files));
    let downloads = source.gem_downloads();
    assert_eq!(downloads, 3, "{:?}", source.requests());
    assert_eq!(mirror_json(&env, &args), with_status("skipped", &files));
    assert_eq!(source.gem_downloads(), downloads, "{:?}", source.requests());
}

#[test]
fn a_gem_whose_bytes_differ_from_the_info_checksum_is_not_stored() {
    let env = Env::new();
    let mut source = GemSource::serve(&env, &build_chain(&env));
    let file = "oppchain-c-1.0.0.gem";
    let actual = source.gem(file).sha256.clone();
    let wrong = "ab".repeat(32);
    source.set_checksum(file, &wrong);
    let out = run_fail(env.opp().args([
        "mirror",
        "rubygems",
        "oppchain-c@1.0.0",
        "--upstream",
        &source.url,
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let line = format!(
        "warning: {file}: sha256 mismatch: the upstream index says {wrong}, the downloaded \
         bytes hash to {actual}; nothing stored"
    );
    assert!(err.lines().any(|l| l == line), "{err}");
    assert!(
        err.contains("0 added, 0 skipped (already stored), 1 failed"),
        "{err}"
    );
    let listed = run_ok(env.opp().args(["list", "rubygems"]));
    assert!(
        !stdout(&listed).contains("oppchain-c"),
        "{}",
        stdout(&listed)
    );
}

#[test]
fn a_gemfile_lock_is_mirrored_exactly_and_installs_frozen_through_the_proxy() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let lock = bundler_lock(&env, &source);
    let before = source.gem_downloads();
    // No --ruby-version: a resolution would take b 1.4.0; the lock pins 1.3.0.
    let got = mirror_json(&env, &["--lock", lock.to_str().unwrap()]);
    assert_eq!(got, with_status("added", &locked_files(&env)));
    assert_eq!(
        source.gem_downloads() - before,
        3,
        "{:?}",
        source.requests()
    );
    drop(source);
    let bundle_path = env.root().join("bundle-frozen");
    let project = lock.parent().unwrap();
    run_ok(
        proxied(&env, &[], "bundle", &["install"])
            .current_dir(project)
            .env("BUNDLE_FROZEN", "true")
            .env("BUNDLE_PATH", &bundle_path),
    );
    assert_eq!(chain_of(&env, project, &bundle_path), expected_chain(&env));
}

#[test]
fn a_lock_checksum_that_differs_from_the_source_stores_nothing_for_that_gem() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let lock = bundler_lock(&env, &source);
    let [a, b, c] = locked_files(&env);
    let wrong = "cd".repeat(32);
    // A CHECKSUMS section as Bundler 2.5 writes it (this Bundler predates it): right for b
    // and c, wrong for a.
    let spec = |file: &str| {
        let g = source.gem(file);
        let platform = if g.platform == "ruby" {
            String::new()
        } else {
            format!("-{}", g.platform)
        };
        format!("{} ({}{platform})", g.name, g.version)
    };
    let checksums = format!(
        "CHECKSUMS\n  {} sha256={wrong}\n  {} sha256={}\n  {} sha256={}\n\n",
        spec(a),
        spec(b),
        source.gem(b).sha256,
        spec(c),
        source.gem(c).sha256
    );
    let text = std::fs::read_to_string(&lock).unwrap();
    let at = text
        .find("BUNDLED WITH")
        .expect("Bundler writes BUNDLED WITH");
    std::fs::write(&lock, format!("{}{checksums}{}", &text[..at], &text[at..])).unwrap();
    let before = source.requests().len();
    let out = run_fail(
        env.opp()
            .args(["mirror", "rubygems", "--json", "--lock"])
            .arg(&lock),
    );
    assert_eq!(out.status.code(), Some(1));
    let line = format!(
        "warning: {a}: the lock's CHECKSUMS say sha256 {wrong}, the source's /info says {}; \
         nothing stored",
        source.gem(a).sha256
    );
    let err = stderr(&out);
    assert!(err.lines().any(|l| l == line), "{err}");
    assert_eq!(statuses(&out), with_status("added", &[b, c]));
    let asked = &source.requests()[before..];
    assert!(
        !asked.iter().any(|(p, _)| p == &format!("/gems/{a}")),
        "{a} was downloaded: {asked:?}"
    );
}

#[test]
fn a_dry_run_plans_each_platforms_files_and_writes_nothing() {
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let got = mirror_json(
        &env,
        &[
            "oppchain-a",
            "--upstream",
            &source.url,
            "--platform",
            "arm64-darwin",
            "--platform",
            "x86_64-linux",
            "--ruby-version",
            "3.1",
            "--dry-run",
        ],
    );
    // arm64-darwin has no native c: the plain one; x86_64-linux takes its native c.
    assert_eq!(
        got,
        with_status(
            "planned",
            &[
                "oppchain-a-1.0.0.gem",
                "oppchain-b-1.3.0.gem",
                "oppchain-c-1.5.0-x86_64-linux.gem",
                "oppchain-c-1.5.0.gem",
            ]
        )
    );
    assert_eq!(source.gem_downloads(), 0, "{:?}", source.requests());
    assert!(!env.store().exists(), "the dry run wrote the store");
}

#[test]
fn mirroring_into_a_registry_stores_the_source_bytes_where_opp_pull_finds_them() {
    let reg = support::registry::Registry::start();
    let env = Env::new();
    let source = GemSource::serve(&env, &build_chain(&env));
    let global = ["--registry", reg.host.as_str()];
    run_ok(env.opp().args(global).args([
        "mirror",
        "rubygems",
        "oppchain-c@~> 1.0",
        "--upstream",
        &source.url,
        "--platform",
        "x86_64-linux",
    ]));
    let native = "oppchain-c-1.5.0-x86_64-linux.gem";
    let dest = env.root().join("pulled");
    let pull = |platform: &str| {
        let mut cmd = env.opp();
        cmd.args(global)
            .args([
                "pull",
                "rubygems",
                "oppchain-c@1.5.0",
                "--platform",
                platform,
                "-o",
            ])
            .arg(&dest);
        cmd
    };
    run_ok(&mut pull("x86_64-linux"));
    assert_eq!(
        std::fs::read(dest.join(native)).unwrap(),
        std::fs::read(&source.gem(native).path).unwrap()
    );
    // --platform x86_64-linux mirrored the native gem, not the plain one beside it.
    let refused = run_fail(&mut pull("ruby"));
    assert!(
        stderr(&refused).contains("has no gem for platform `ruby`"),
        "{}",
        stderr(&refused)
    );
    assert!(!dest.join("oppchain-c-1.5.0.gem").exists());
    assert!(
        !env.store().join("rubygems").exists(),
        "nothing went to the local store"
    );
}

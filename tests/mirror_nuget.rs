//! `opp mirror nuget` against a NuGet v3 feed the test serves over HTTPS
//! (`support/nuget_feed.rs`), from packages it builds: a chain A -> B -> C, where A's
//! dependency groups differ between net8.0 and netstandard2.0 (the latter adds D). The feed is
//! first shown faithful with the real nuget.exe 5.8 (under mono) installing from it directly;
//! what opp mirrors is then installed by nuget.exe through `opp proxy` and compared byte for
//! byte with the direct install.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "mirror_nuget/chain.rs"]
mod chain;
#[path = "proxy_nuget/setup.rs"]
mod setup;
mod support;

use std::path::{Path, PathBuf};

use chain::chain;
use setup::{proxy_nuget, stored_nupkg};
use support::cli::{Env, files_with_status, run_ok, stderr};
use support::nuget_feed::{Feed, FeedPackage, sha512_base64};

/// `nuget5 install ID -Framework TFM -Source SOURCE -OutputDirectory OUT` straight from the
/// feed (mono trusting its CA); returns the package directories it made, sorted.
fn nuget_install_direct(
    env: &Env,
    feed: &Feed,
    id: &str,
    framework: &str,
    out: &Path,
) -> Vec<String> {
    feed.trust_for_mono(&env.config_home());
    run_ok(
        support::nuget::nuget5(env)
            .args(["install", id, "-Framework", framework, "-Source"])
            .arg(feed.index_url())
            .arg("-OutputDirectory")
            .arg(out)
            .arg("-NonInteractive")
            .current_dir(env.root()),
    );
    installed(out)
}

/// The package directories under `out` (`Opp.A.1.0.0` ...), sorted.
fn installed(out: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

fn nupkg_in(out: &Path, dir: &str) -> PathBuf {
    out.join(dir).join(format!("{dir}.nupkg"))
}

#[test]
fn nuget_installs_the_chain_from_the_test_feed_choosing_groups_per_framework() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    for (framework, want) in [
        (
            "net48",
            vec!["Opp.A.1.0.0", "Opp.B.1.0.0", "Opp.C.1.0.0", "Opp.D.1.0.0"],
        ),
        ("net8.0", vec!["Opp.A.1.0.0", "Opp.B.1.0.0", "Opp.C.1.0.0"]),
    ] {
        let out = env.root().join(format!("direct-{framework}"));
        let got = nuget_install_direct(&env, &feed, "Opp.A", framework, &out);
        assert_eq!(got, want, "{framework}");
        for dir in &got {
            let original = packages
                .iter()
                .find(|p| format!("{}.{}", p.id, p.version) == *dir)
                .unwrap();
            assert_eq!(
                std::fs::read(nupkg_in(&out, dir)).unwrap(),
                std::fs::read(&original.path).unwrap(),
                "{dir}"
            );
        }
    }
    let requested = feed.requested();
    assert!(
        requested
            .iter()
            .any(|p| p.starts_with("/v3/registration/opp.b/page/")),
        "nuget.exe never read a linked registration page: {requested:?}"
    );
}

/// `opp mirror nuget ARGS... --upstream FEED --json`, trusting the feed's CA; the results.
fn mirror(env: &Env, feed: &Feed, args: &[&str]) -> std::process::Output {
    let bundle = feed.ca_bundle(env.root());
    let mut cmd = env.opp();
    cmd.args(["mirror", "nuget"])
        .args(args)
        .args(["--upstream", &feed.index_url(), "--json"])
        .env("SSL_CERT_FILE", bundle);
    cmd.output().expect("run opp mirror nuget")
}

#[test]
fn a_mirrored_closure_installs_through_the_proxy_with_the_bytes_nuget_gets_from_the_feed() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    let out = mirror(
        &env,
        &feed,
        &["Opp.A", "--framework", "net48", "--framework", "net8.0"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        files_with_status(&out, "added"),
        [
            "Opp.A.1.0.0.nupkg",
            "Opp.B.1.0.0.nupkg",
            "Opp.C.1.0.0.nupkg",
            "Opp.D.1.0.0.nupkg"
        ]
    );
    assert!(
        stderr(&out).contains("4 added, 0 skipped (already stored), 0 failed"),
        "{}",
        stderr(&out)
    );

    // First through the proxy (the store alone: the feed sees no request), then straight from
    // the feed; both installs hold the same packages, byte for byte.
    for framework in ["net48", "net8.0"] {
        let before = feed.requested().len();
        let proxied = env.root().join(format!("proxied-{framework}"));
        run_ok(&mut proxy_nuget(
            &env,
            &[],
            &[
                "install",
                "Opp.A",
                "-Framework",
                framework,
                "-OutputDirectory",
                proxied.to_str().unwrap(),
            ],
        ));
        assert_eq!(
            feed.requested().len(),
            before,
            "the proxied install reached the feed"
        );
        let direct = env.root().join(format!("direct-{framework}"));
        let want = nuget_install_direct(&env, &feed, "Opp.A", framework, &direct);
        assert_eq!(installed(&proxied), want, "{framework}");
        for dir in &want {
            assert_eq!(
                std::fs::read(nupkg_in(&proxied, dir)).unwrap(),
                std::fs::read(nupkg_in(&direct, dir)).unwrap(),
                "{framework}: {dir}"
            );
        }
    }

    // A second run fetches no package file.
    let before = feed.requested();
    let again = mirror(
        &env,
        &feed,
        &["Opp.A", "--framework", "net48", "--framework", "net8.0"],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(files_with_status(&again, "skipped").len(), 4);
    let fetched: Vec<String> = feed.requested()[before.len()..]
        .iter()
        .filter(|p| p.ends_with(".nupkg"))
        .cloned()
        .collect();
    assert!(fetched.is_empty(), "downloaded again: {fetched:?}");
}

/// A packages.lock.json naming these (id, version, contentHash) for net8.0.
fn lock_file(env: &Env, entries: &[(&str, &str, &str)]) -> PathBuf {
    let deps: Vec<String> = entries
        .iter()
        .map(|(id, version, hash)| {
            format!(
                "\"{id}\": {{\"type\": \"Transitive\", \"resolved\": \"{version}\", \"contentHash\": \"{hash}\"}}"
            )
        })
        .collect();
    let text = format!(
        "{{\"version\": 1, \"dependencies\": {{\"net8.0\": {{{}}}}}}}",
        deps.join(", ")
    );
    let path = env.root().join("packages.lock.json");
    std::fs::write(&path, text).unwrap();
    path
}

fn feed_file<'a>(packages: &'a [FeedPackage], id: &str, version: &str) -> &'a Path {
    &packages
        .iter()
        .find(|p| p.id == id && p.version == version)
        .unwrap()
        .path
}

#[test]
fn a_lock_file_is_mirrored_exactly_without_following_dependencies() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    let b11 = feed_file(&packages, "Opp.B", "1.1.0");
    let lock = lock_file(&env, &[("Opp.B", "1.1.0", &sha512_base64(b11))]);
    let out = mirror(&env, &feed, &["--lock", lock.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(files_with_status(&out, "added"), ["Opp.B.1.1.0.nupkg"]);
    let stored = stored_nupkg(&env, "Opp.B", "1.1.0").expect("Opp.B 1.1.0 stored");
    assert_eq!(
        stored.digest,
        opp::digest::Digest::of(&std::fs::read(b11).unwrap())
    );
    assert!(
        stored_nupkg(&env, "Opp.C", "2.0.0").is_none(),
        "a dependency was followed"
    );
}

#[test]
fn a_lock_file_with_a_wrong_content_hash_stores_nothing_and_says_so_in_one_line() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    let d = feed_file(&packages, "Opp.D", "1.0.0");
    // The hash of another package's bytes.
    let wrong = sha512_base64(feed_file(&packages, "Opp.C", "1.0.0"));
    let lock = lock_file(&env, &[("Opp.D", "1.0.0", &wrong)]);
    let out = mirror(&env, &feed, &["--lock", lock.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    let line = text
        .lines()
        .find(|l| l.contains("Opp.D.1.0.0.nupkg:"))
        .unwrap_or_else(|| panic!("no line names the file: {text}"));
    assert_eq!(
        line,
        format!(
            "warning: Opp.D.1.0.0.nupkg: SHA-512 mismatch: {}'s contentHash is {wrong}, the \
             downloaded bytes hash to {}; nothing stored",
            lock.display(),
            sha512_base64(d)
        )
    );
    assert!(
        stored_nupkg(&env, "Opp.D", "1.0.0").is_none(),
        "stored despite the hash"
    );
}

#[test]
fn a_project_with_central_versions_mirrors_its_references_for_its_framework() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    let repo = env.root().join("repo");
    std::fs::create_dir_all(repo.join("src/App")).unwrap();
    std::fs::write(
        repo.join("Directory.Packages.props"),
        "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\n    \
         <OppAVersion>0.9.5</OppAVersion>\n  </PropertyGroup>\n  <ItemGroup>\n    \
         <PackageVersion Include=\"Opp.A\" Version=\"$(OppAVersion)\" />\n  </ItemGroup>\n</Project>\n",
    )
    .unwrap();
    let project = repo.join("src/App/App.csproj");
    std::fs::write(
        &project,
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n  \
         </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Opp.A\" />\n  </ItemGroup>\n</Project>\n",
    )
    .unwrap();
    let out = mirror(&env, &feed, &["--project", project.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // 0.9.5 means >= 0.9.5: restore's lowest match is 1.0.0; net8.0's group has no Opp.D.
    assert_eq!(
        files_with_status(&out, "added"),
        [
            "Opp.A.1.0.0.nupkg",
            "Opp.B.1.0.0.nupkg",
            "Opp.C.1.0.0.nupkg"
        ]
    );
}

#[test]
fn a_project_version_naming_an_unknown_property_is_an_error_with_a_hint() {
    let env = Env::new();
    let project = env.root().join("App.csproj");
    std::fs::write(
        &project,
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n  \
         </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Opp.A\" Version=\"$(OppAVersion)\" />\n  \
         </ItemGroup>\n</Project>\n",
    )
    .unwrap();
    let out = env
        .opp()
        .args(["mirror", "nuget", "--project"])
        .arg(&project)
        .args(["--upstream", "https://127.0.0.1:9/v3/index.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "error: {}: the version of PackageReference Opp.A is `$(OppAVersion)`, and opp cannot \
             resolve the property `OppAVersion` (only unconditional properties of the project and \
             Directory.Packages.props are read)\n  hint: set it there, or give the package on the \
             command line",
            project.display()
        )
    );
}

#[test]
fn a_package_whose_bytes_differ_from_the_feeds_package_hash_is_not_stored() {
    let env = Env::new();
    let mut packages = chain(&env);
    let wrong = sha512_base64(feed_file(&packages, "Opp.C", "1.0.0"));
    let d = packages.iter_mut().find(|p| p.id == "Opp.D").unwrap();
    d.stated_hash = Some(wrong.clone());
    let right = sha512_base64(&d.path);
    let feed = Feed::serve(&packages);
    let out = mirror(&env, &feed, &["Opp.D", "--framework", "net48"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.lines().any(|l| l
            == format!(
                "warning: Opp.D.1.0.0.nupkg: SHA-512 mismatch: the feed's packageHash is {wrong}, \
                 the downloaded bytes hash to {right}; nothing stored"
            )),
        "{text}"
    );
    assert!(
        stored_nupkg(&env, "Opp.D", "1.0.0").is_none(),
        "stored despite the hash"
    );
}

#[test]
fn the_dry_run_plan_for_each_framework_is_what_nuget_installs_and_nothing_is_written() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    let mut failures = Vec::new();
    for framework in [
        "net46",
        "net461",
        "net472",
        "netcoreapp2.1",
        "netcoreapp3.1",
        "net6.0",
        "netstandard2.0",
    ] {
        let out = mirror(
            &env,
            &feed,
            &["Opp.A", "--framework", framework, "--dry-run"],
        );
        assert!(out.status.success(), "{framework}: {}", stderr(&out));
        let planned: Vec<String> = files_with_status(&out, "planned")
            .iter()
            .map(|f| f.trim_end_matches(".nupkg").to_owned())
            .collect();
        let direct = env.root().join(format!("direct-{framework}"));
        let installed = nuget_install_direct(&env, &feed, "Opp.A", framework, &direct);
        if planned != installed {
            failures.push(format!(
                "{framework}: opp plans {planned:?}, nuget installs {installed:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!env.store().exists(), "a dry run wrote the store");
}

#[test]
fn mirroring_into_a_registry_stores_the_feeds_bytes_where_opp_pull_finds_them() {
    let reg = support::registry::Registry::start();
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve(&packages);
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "mirror", "nuget", "Opp.A"])
            .args(["--framework", "net8.0", "--upstream", &feed.index_url()])
            .env("SSL_CERT_FILE", feed.ca_bundle(env.root())),
    );
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "pull", "nuget"])
            .args(["Opp.A@1.0.0", "Opp.B@1.0.0", "Opp.C@1.0.0", "-o"])
            .arg(&dest),
    );
    for (id, version) in [("Opp.A", "1.0.0"), ("Opp.B", "1.0.0"), ("Opp.C", "1.0.0")] {
        let pulled = dest.join(format!("{id}.{version}.nupkg"));
        assert_eq!(
            std::fs::read(&pulled).unwrap_or_else(|e| panic!("{}: {e}", pulled.display())),
            std::fs::read(feed_file(&packages, id, version)).unwrap(),
            "{id}"
        );
    }
    assert!(!env.store().exists(), "nothing in the local store");
}

#[test]
fn credentials_in_the_feed_url_reach_every_request_and_are_never_printed() {
    let env = Env::new();
    let packages = chain(&env);
    let feed = Feed::serve_with_auth(&packages, Some(("opp", "s3cret-token")));
    let with_password = feed
        .index_url()
        .replace("https://", "https://opp:s3cret-token@");
    let bundle = feed.ca_bundle(env.root());
    let run = |upstream: &str| {
        env.opp()
            .args([
                "mirror",
                "nuget",
                "Opp.A",
                "--framework",
                "net8.0",
                "--upstream",
                upstream,
            ])
            .env("SSL_CERT_FILE", &bundle)
            .output()
            .unwrap()
    };
    let refused = run(&feed.index_url());
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("401 Unauthorized"),
        "{}",
        stderr(&refused)
    );
    let out = run(&with_password);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 added"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret-token"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("https://opp:***@localhost"),
        "{}",
        stderr(&out)
    );
}

//! `opp push|pull|list|show|copy rubygems` end to end, with gems built by the real `gem build`:
//! a plain gem, the same version for `x86_64-linux`, newer versions, and a gem with a runtime
//! dependency. They go to the local store and to a real registry; pulls choose versions by
//! RubyGems requirements and gems by platform, arrive byte for byte and install with
//! `gem install --local`; the stored index, manifests and info layers are checked as laid
//! out in docs/formats.md. Bad gems are in `rubygems/bad_input.rs`; the library calls the proxy
//! builds on in `rubygems/library.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "rubygems/bad_input.rs"]
mod bad_input;
#[path = "rubygems/layout.rs"]
mod layout;
#[path = "rubygems/library.rs"]
mod library;
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use layout::Layout;
use serde_json::Value;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::gems::{self, GemSpec};
use support::registry::Registry;

const LINUX: &str = "x86_64-linux";

/// The gems most tests push: `Foo_Bar` 1.2.0 (plain and x86_64-linux), 1.2.5 and 2.0.0, and
/// `needs_foo` 0.1.0 depending on `Foo_Bar ~> 1.2` and `rake >= 10, < 14`.
struct Gems {
    plain: PathBuf,
    linux: PathBuf,
    patch: PathBuf,
    major: PathBuf,
    needs: PathBuf,
}

impl Gems {
    fn build(env: &Env) -> Gems {
        let foo_bar = |version, platform| {
            gems::build(
                env,
                &GemSpec {
                    name: "Foo_Bar",
                    version,
                    platform,
                    required_ruby_version: Some(">= 2.7"),
                    ..GemSpec::default()
                },
            )
        };
        Gems {
            plain: foo_bar("1.2.0", None),
            linux: foo_bar("1.2.0", Some(LINUX)),
            patch: foo_bar("1.2.5", None),
            major: foo_bar("2.0.0", None),
            needs: gems::build(
                env,
                &GemSpec {
                    name: "needs_foo",
                    version: "0.1.0",
                    runtime: &[("Foo_Bar", &["~> 1.2"]), ("rake", &[">= 10", "< 14"])],
                    ..GemSpec::default()
                },
            ),
        }
    }

    fn all(&self) -> [&Path; 5] {
        [
            &self.plain,
            &self.linux,
            &self.patch,
            &self.major,
            &self.needs,
        ]
    }
}

fn same_bytes(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Pulls with `args` into a fresh directory and returns the one file written.
fn pull(env: &Env, global: &[&str], args: &[&str]) -> PathBuf {
    static PULLS: AtomicUsize = AtomicUsize::new(0);
    let dest = env
        .root()
        .join(format!("pulled-{}", PULLS.fetch_add(1, Ordering::Relaxed)));
    let out = run_ok(
        env.opp()
            .args(global)
            .args(["pull", "rubygems"])
            .args(args)
            .arg("-o")
            .arg(&dest)
            .arg("--json"),
    );
    let pulled = json(&out);
    let files: Vec<_> = std::fs::read_dir(&dest).unwrap().collect();
    assert_eq!(files.len(), 1, "one file in {}", dest.display());
    let path = PathBuf::from(pulled[0]["path"].as_str().unwrap());
    assert_eq!(pulled[0]["sha256"], sha256_hex(&path));
    path
}

/// Checks pull's choice of versions and platforms against `global` (a store or registry).
fn pulls_choose_as_gem_would(env: &Env, global: &[&str], g: &Gems) {
    // Newest release by default; requirements in RubyGems syntax; any case of the name.
    same_bytes(&pull(env, global, &["foo_bar"]), &g.major);
    same_bytes(&pull(env, global, &["Foo_Bar@~> 1.2.0"]), &g.patch);
    same_bytes(&pull(env, global, &["foo_bar@>= 1, < 1.2.5"]), &g.plain);
    same_bytes(&pull(env, global, &["foo_bar@1.2.0"]), &g.plain);
    same_bytes(
        &pull(env, global, &["foo_bar@1.2.0", "--platform", LINUX]),
        &g.linux,
    );
    // The newest version with a gem for the platform, as gem chooses (2.0.0 and 1.2.5 have none).
    same_bytes(
        &pull(env, global, &["foo_bar", "--platform", LINUX]),
        &g.linux,
    );
    let pulled = pull(env, global, &["foo_bar@= 1.2.0", "--platform", LINUX]);
    assert_eq!(
        pulled.file_name().unwrap(),
        "Foo_Bar-1.2.0-x86_64-linux.gem"
    );

    // A version without that platform says which platforms it has.
    let out = run_fail(env.opp().args(global).args([
        "pull",
        "rubygems",
        "foo_bar@1.2.5",
        "--platform",
        LINUX,
    ]));
    let err = stderr(&out);
    assert!(
        err.contains("no gem for platform `x86_64-linux`")
            && err.contains("stored platforms: ruby"),
        "{err}"
    );
    // No version matching: the stored ones are listed.
    let out = run_fail(
        env.opp()
            .args(global)
            .args(["pull", "rubygems", "foo_bar@~> 3.0"]),
    );
    let err = stderr(&out);
    assert!(
        err.contains("no version of `foo_bar` matches `~> 3.0`")
            && err.contains("2.0.0, 1.2.5, 1.2.0"),
        "{err}"
    );
    let out = run_fail(
        env.opp()
            .args(global)
            .args(["pull", "rubygems", "no_such_gem"]),
    );
    assert!(
        stderr(&out).starts_with("error: no package `no_such_gem` in "),
        "{}",
        stderr(&out)
    );
}

/// The stored layout of `Foo_Bar` 1.2.0 and `needs_foo` 0.1.0 in an OCI layout at `store`.
fn layout_is_as_documented(store: &Path, g: &Gems) {
    let stored = Layout::new(store, "rubygems/foo_bar");
    let index = stored.index("1.2.0");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(index["artifactType"], "application/vnd.opp.rubygems.gem.v1");
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    for (platform, file) in [("ruby", &g.plain), (LINUX, &g.linux)] {
        let (entry, manifest) = stored.entry("1.2.0", platform);
        assert_eq!(entry["artifactType"], "application/vnd.opp.rubygems.gem.v1");
        assert!(entry.get("platform").is_none(), "{entry}");
        assert_eq!(
            manifest["artifactType"],
            "application/vnd.opp.rubygems.gem.v1"
        );
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.empty.v1+json"
        );
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 2, "{manifest:#}");
        let name = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            layers[0]["mediaType"],
            "application/vnd.opp.rubygems.gem.v1+tar"
        );
        assert_eq!(
            layers[0]["annotations"]["org.opencontainers.image.title"],
            name
        );
        assert_eq!(layers[0]["digest"], format!("sha256:{}", sha256_hex(file)));
        assert_eq!(
            stored.blob(layers[0]["digest"].as_str().unwrap()),
            std::fs::read(file).unwrap()
        );
        assert_eq!(
            layers[1]["mediaType"],
            "application/vnd.opp.rubygems.info.v1+json"
        );
        let info = stored.json(layers[1]["digest"].as_str().unwrap());
        assert_eq!(info["name"], "Foo_Bar");
        assert_eq!(info["version"], "1.2.0");
        assert_eq!(info["platform"], platform);
        assert_eq!(info["sha256"], sha256_hex(file));
        assert_eq!(info["summary"], "opp test gem");
        assert_eq!(info["licenses"], serde_json::json!(["MIT"]));
        assert_eq!(info["require_paths"], serde_json::json!(["lib"]));
        assert_eq!(
            info["required_ruby_version"],
            serde_json::json!([[">=", "2.7"]])
        );
        assert_eq!(
            info["required_rubygems_version"],
            serde_json::json!([[">=", "0"]])
        );
        assert_eq!(info["dependencies"], serde_json::json!([]));
    }
    let needs = Layout::new(store, "rubygems/needs_foo");
    let (_, manifest) = needs.entry("0.1.0", "ruby");
    let info = needs.json(manifest["layers"][1]["digest"].as_str().unwrap());
    assert_eq!(
        info["dependencies"],
        serde_json::json!([
            {"name": "Foo_Bar", "kind": "runtime", "requirement": [["~>", "1.2"]]},
            {"name": "rake", "kind": "runtime", "requirement": [[">=", "10"], ["<", "14"]]},
        ])
    );
}

#[test]
fn gems_round_trip_through_the_local_store_and_install_with_gem() {
    let env = Env::new();
    let g = Gems::build(&env);
    let out = run_ok(
        env.opp()
            .args(["push", "rubygems"])
            .args(g.all())
            .arg("--json"),
    );
    let pushed = json(&out);
    assert_eq!(pushed.as_array().unwrap().len(), 5, "{pushed:#}");
    assert!(
        pushed
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "added"),
        "{pushed:#}"
    );
    assert!(
        stderr(&out).contains("pushed Foo_Bar-1.2.0-x86_64-linux.gem"),
        "{}",
        stderr(&out)
    );
    layout_is_as_documented(&env.store(), &g);

    // Pushing a directory of the same gems again changes nothing.
    let dir = g.plain.parent().unwrap();
    let again = run_ok(env.opp().args(["push", "rubygems"]).arg(dir));
    assert!(
        stderr(&again).contains("Foo_Bar-1.2.0.gem is already in"),
        "{}",
        stderr(&again)
    );

    pulls_choose_as_gem_would(&env, &[], &g);

    // The pulled gem installs and loads.
    let pulled = pull(&env, &[], &["Foo_Bar@1.2.0"]);
    assert_eq!(gems::install_and_require(&env, &pulled, "Foo_Bar"), "1.2.0");

    // list: packages, then versions newest first with their platforms.
    let packages = json(&run_ok(env.opp().args(["list", "rubygems", "--json"])));
    assert_eq!(
        packages,
        serde_json::json!([
            {"package": "foo_bar", "versions": 3, "latest": "2.0.0"},
            {"package": "needs_foo", "versions": 1, "latest": "0.1.0"},
        ])
    );
    let versions = json(&run_ok(
        env.opp().args(["list", "rubygems", "Foo_Bar", "--json"]),
    ));
    let rows: Vec<(&str, &Value)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_str().unwrap(), &r["platforms"]))
        .collect();
    assert_eq!(
        rows,
        [
            ("2.0.0", &serde_json::json!(["ruby"])),
            ("1.2.5", &serde_json::json!(["ruby"])),
            ("1.2.0", &serde_json::json!(["ruby", LINUX])),
        ]
    );
    let table = stdout(&run_ok(env.opp().args(["list", "rubygems", "foo_bar"])));
    assert!(table.contains("ruby x86_64-linux"), "{table}");

    // show: every gem of the version with its sha256.
    let shown = json(&run_ok(env.opp().args([
        "show",
        "rubygems",
        "foo_bar@1.2.0",
        "--json",
    ])));
    let mut files: Vec<(String, String)> = shown["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            (
                "Foo_Bar-1.2.0-x86_64-linux.gem".to_owned(),
                format!("sha256:{}", sha256_hex(&g.linux))
            ),
            (
                "Foo_Bar-1.2.0.gem".to_owned(),
                format!("sha256:{}", sha256_hex(&g.plain))
            ),
        ]
    );
    let table = stdout(&run_ok(env.opp().args([
        "show",
        "rubygems",
        "foo_bar@1.2.0",
    ])));
    assert!(table.contains(&sha256_hex(&g.linux)), "{table}");
}

#[test]
fn gems_round_trip_through_a_registry_and_copy_back_unchanged() {
    let reg = Registry::start();
    let env = Env::new();
    let g = Gems::build(&env);
    let registry = format!("{}/team/gems", reg.host);
    let global = ["--registry", registry.as_str()];
    let out = run_ok(
        env.opp()
            .args(global)
            .args(["push", "rubygems"])
            .args(g.all()),
    );
    assert!(
        stderr(&out).contains(&format!("{registry}/rubygems/foo_bar:1.2.0")),
        "{}",
        stderr(&out)
    );
    assert!(
        !env.store().join("rubygems").exists(),
        "nothing went to the local store"
    );

    let list = stdout(&run_ok(env.opp().args(global).args(["list", "rubygems"])));
    assert!(
        list.contains("foo_bar") && list.contains("needs_foo"),
        "{list}"
    );
    pulls_choose_as_gem_would(&env, &global, &g);
    let pulled = pull(&env, &global, &["foo_bar@1.2.0", "--platform", LINUX]);
    assert_eq!(gems::install_and_require(&env, &pulled, "Foo_Bar"), "1.2.0");

    // Copy the versions into a layout directory: the same index digest, laid out as documented.
    let copy_dir = env.root().join("copied");
    for spec in ["foo_bar@1.2.0", "needs_foo@0.1.0"] {
        run_ok(
            env.opp()
                .args(global)
                .args(["copy", "rubygems", spec, "--to"])
                .arg(&copy_dir),
        );
    }
    layout_is_as_documented(&copy_dir, &g);
    let copied = Layout::new(&copy_dir, "rubygems/foo_bar").tagged("1.2.0");
    let shown = json(&run_ok(env.opp().args(["--registry", &registry]).args([
        "show",
        "rubygems",
        "foo_bar@1.2.0",
        "--json",
    ])));
    assert_eq!(shown["files"].as_array().unwrap().len(), 2);
    // And back from the copy into the (empty) local store, where pull finds it.
    run_ok(
        env.opp()
            .args(["copy", "rubygems", "foo_bar@1.2.0", "--from"])
            .arg(&copy_dir)
            .args(["--to", "local"]),
    );
    assert_eq!(
        Layout::new(&env.store(), "rubygems/foo_bar").tagged("1.2.0"),
        copied
    );
    same_bytes(&pull(&env, &[], &["foo_bar"]), &g.plain);
}

#[test]
fn a_gem_stored_only_for_platforms_is_pulled_by_naming_one() {
    let env = Env::new();
    let native = gems::build(
        &env,
        &GemSpec {
            name: "only_native",
            version: "1.0.0",
            platform: Some(LINUX),
            ..GemSpec::default()
        },
    );
    run_ok(env.opp().args(["push", "rubygems"]).arg(&native));
    let out = run_fail(env.opp().args(["pull", "rubygems", "only_native"]));
    let err = stderr(&out);
    assert!(
        err.contains("has no gem for platform `ruby`")
            && err.contains("pass --platform")
            && err.contains("stored platforms: x86_64-linux"),
        "{err}"
    );
    same_bytes(
        &pull(&env, &[], &["only_native", "--platform", LINUX]),
        &native,
    );
}

#[test]
fn pre_releases_are_pulled_only_when_asked_for() {
    let env = Env::new();
    let build = |version| {
        gems::build(
            &env,
            &GemSpec {
                name: "prerel",
                version,
                ..GemSpec::default()
            },
        )
    };
    let (stable, pre) = (build("1.0.0"), build("1.1.0.rc1"));
    run_ok(env.opp().args(["push", "rubygems"]).arg(&stable).arg(&pre));
    same_bytes(&pull(&env, &[], &["prerel"]), &stable);
    same_bytes(&pull(&env, &[], &["prerel", "--pre"]), &pre);
    same_bytes(&pull(&env, &[], &["prerel@1.1.0.rc1"]), &pre);
    let versions = json(&run_ok(
        env.opp().args(["list", "rubygems", "prerel", "--json"]),
    ));
    assert_eq!(versions[0]["version"], "1.1.0.rc1");
    assert_eq!(versions[1]["version"], "1.0.0");
}

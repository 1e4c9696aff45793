//! NuGet end to end with the built `opp`: push .nupkg and .snupkg files to the local store and
//! to a real registry, check the layout docs/formats.md gives (the nuspec beside the package),
//! list, show, pull with NuGet ranges, copy, refuse bad packages, and let the real NuGet client
//! install what opp pulled.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::nuget;
use support::opentofu::{fetch_json, sha256_digest};
use support::registry::Registry;

const NUGET_INDEX: &str = "application/vnd.opp.nuget.package.v1";
const NUPKG: &str = "application/vnd.opp.nuget.nupkg.v1";
const NUPKG_LAYER: &str = "application/vnd.opp.nuget.nupkg.v1+zip";
const SNUPKG: &str = "application/vnd.opp.nuget.snupkg.v1";
const SNUPKG_LAYER: &str = "application/vnd.opp.nuget.snupkg.v1+zip";
const NUSPEC_LAYER: &str = "application/vnd.opp.nuget.nuspec.v1+xml";

fn same_bytes(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

/// The one file in `dir` (panics unless there is exactly one).
fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// `opp pull nuget SPEC -o <fresh dir>` with extra args; the directory.
fn pull(env: &Env, args: &[&str], spec: &str, extra: &[&str]) -> PathBuf {
    let dest = tempfile::Builder::new()
        .prefix("pulled.")
        .tempdir_in(env.root())
        .unwrap()
        .keep();
    run_ok(
        env.opp()
            .args(args)
            .args(["pull", "nuget", spec, "-o"])
            .arg(&dest)
            .args(extra),
    );
    dest
}

#[test]
fn packages_round_trip_through_a_registry_with_the_nuspec_beside_them() {
    let reg = Registry::start();
    let env = Env::new();
    let dir = env.root().join("pkgs");
    let deps = [
        ("net8.0", "Newtonsoft.Json", "[13.0.1, )"),
        ("netstandard2.0", "Acme.Core", "[1.0,2.0)"),
    ];
    let nupkg = nuget::nupkg(&dir, "Acme.Widgets", "1.2.0", &deps);
    let snupkg = nuget::snupkg(&dir, "Acme.Widgets", "1.2.0");
    let registry = format!("{}/team", reg.host);
    let out = run_ok(
        env.opp()
            .args(["--registry", &registry, "push", "nuget"])
            .arg(&dir),
    );
    let location = format!("{}/team/nuget/acme.widgets:1.2.0", reg.host);
    assert!(
        stderr(&out).contains("pushed Acme.Widgets.1.2.0.nupkg"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(&location), "{}", stderr(&out));
    assert!(!env.store().join("nuget").exists(), "nothing goes local");

    // The layout, read back from the registry.
    let repo = "team/nuget/acme.widgets";
    let index = fetch_json(&reg.host, repo, "1.2.0");
    assert_eq!(index["artifactType"], NUGET_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{index:#}");
    let entry = |kind: &str| -> &Value {
        entries
            .iter()
            .find(|e| e["artifactType"] == kind)
            .unwrap_or_else(|| panic!("no {kind} entry: {index:#}"))
    };
    for e in entries {
        assert!(e.get("platform").is_none(), "{e}");
    }
    let manifest = fetch_json(&reg.host, repo, entry(NUPKG)["digest"].as_str().unwrap());
    assert_eq!(manifest["artifactType"], NUPKG);
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest:#}");
    let nupkg_bytes = std::fs::read(&nupkg).unwrap();
    assert_eq!(layers[0]["mediaType"], NUPKG_LAYER);
    assert_eq!(layers[0]["digest"], sha256_digest(&nupkg_bytes).as_str());
    assert_eq!(
        layers[0]["annotations"]["org.opencontainers.image.title"],
        "Acme.Widgets.1.2.0.nupkg"
    );
    let nuspec = nuget::nuspec("Acme.Widgets", "1.2.0", &deps);
    assert_eq!(layers[1]["mediaType"], NUSPEC_LAYER);
    assert_eq!(
        layers[1]["digest"],
        sha256_digest(nuspec.as_bytes()).as_str()
    );
    assert_eq!(layers[1]["size"], nuspec.len());
    assert_eq!(
        layers[1]["annotations"]["org.opencontainers.image.title"],
        "acme.widgets.nuspec"
    );
    let symbols = fetch_json(&reg.host, repo, entry(SNUPKG)["digest"].as_str().unwrap());
    assert_eq!(symbols["artifactType"], SNUPKG);
    assert_eq!(symbols["layers"].as_array().unwrap().len(), 1);
    assert_eq!(symbols["layers"][0]["mediaType"], SNUPKG_LAYER);
    assert_eq!(
        symbols["layers"][0]["digest"],
        sha256_digest(&std::fs::read(&snupkg).unwrap()).as_str()
    );

    // show lists both files; pull (id in any case) writes the nupkg, byte for byte.
    let shown = stdout(&run_ok(env.opp().args([
        "--registry",
        &registry,
        "show",
        "nuget",
        "acme.WIDGETS@1.2",
        "--json",
    ])));
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let names: Vec<&str> = shown["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Acme.Widgets.1.2.0.nupkg", "Acme.Widgets.1.2.0.snupkg"]
    );
    let dest = pull(&env, &["--registry", &registry], "ACME.Widgets@1.2.0", &[]);
    same_bytes(&nupkg, &only_file(&dest));
    assert_eq!(
        only_file(&dest).file_name().unwrap(),
        "Acme.Widgets.1.2.0.nupkg"
    );
}

#[test]
fn pull_takes_the_newest_version_a_range_allows_and_list_orders_as_nuget_does() {
    let env = Env::new();
    let dir = env.root().join("pkgs");
    for v in [
        "1.0",
        "1.9.0",
        "1.10.0",
        "2.0.0-beta.2",
        "2.0.0-beta.10",
        "3.0.0-rc.1",
    ] {
        nuget::nupkg(&dir, "Acme.Ranges", v, &[]);
    }
    run_ok(env.opp().args(["push", "nuget"]).arg(&dir));

    let listed = stdout(&run_ok(env.opp().args([
        "list",
        "nuget",
        "Acme.Ranges",
        "--json",
    ])));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let versions: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "3.0.0-rc.1",
            "2.0.0-beta.10",
            "2.0.0-beta.2",
            "1.10.0",
            "1.9.0",
            "1.0.0"
        ]
    );

    let pulled = |spec: &str, extra: &[&str]| {
        let dest = pull(&env, &[], spec, extra);
        let file = only_file(&dest);
        file.file_name().unwrap().to_string_lossy().into_owned()
    };
    // No version: the newest stable one; --prerelease lets pre-releases in.
    assert_eq!(pulled("Acme.Ranges", &[]), "Acme.Ranges.1.10.0.nupkg");
    assert_eq!(
        pulled("Acme.Ranges", &["--prerelease"]),
        "Acme.Ranges.3.0.0-rc.1.nupkg"
    );
    // NuGet interval notation.
    assert_eq!(
        pulled("Acme.Ranges@[1.0,1.10)", &[]),
        "Acme.Ranges.1.9.0.nupkg"
    );
    assert_eq!(
        pulled("Acme.Ranges@(,2.0.0)", &["--prerelease"]),
        "Acme.Ranges.2.0.0-beta.10.nupkg"
    );
    // A bare version means exactly that one, in any NuGet spelling; a pre-release need not
    // be asked for when it is named.
    assert_eq!(pulled("Acme.Ranges@1.0.0.0", &[]), "Acme.Ranges.1.0.nupkg");
    assert_eq!(
        pulled("Acme.Ranges@2.0.0-BETA.2", &[]),
        "Acme.Ranges.2.0.0-beta.2.nupkg"
    );
    // Each miss says what is stored, and exits with the not-found status.
    let missing = run_fail(env.opp().args(["pull", "nuget", "Acme.Ranges@[4.0,)"]));
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("stored: 3.0.0-rc.1, 2.0.0-beta.10"));
    let bad_range = run_fail(env.opp().args(["pull", "nuget", "Acme.Ranges@[2.0,1.0]"]));
    assert!(
        stderr(&bad_range).contains("`[2.0,1.0]` is not a NuGet version range"),
        "{}",
        stderr(&bad_range)
    );
    let unknown = run_fail(env.opp().args(["pull", "nuget", "No.Such"]));
    assert_eq!(unknown.status.code(), Some(3));
}

#[test]
fn copy_moves_a_version_with_its_symbols_and_pushing_again_changes_nothing() {
    let reg = Registry::start();
    let env = Env::new();
    let dir = env.root().join("pkgs");
    let nupkg = nuget::nupkg(&dir, "Acme.Copy", "0.1.0", &[]);
    nuget::snupkg(&dir, "Acme.Copy", "0.1.0");
    run_ok(env.opp().args(["push", "nuget"]).arg(&dir));

    let statuses = |args: &[&str]| -> Vec<String> {
        let out = run_ok(
            env.opp()
                .args(args)
                .args(["push", "nuget", "--json"])
                .arg(&dir),
        );
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses(&[]), ["unchanged", "unchanged"]);

    run_ok(env.opp().args([
        "copy",
        "nuget",
        "Acme.Copy@0.1.0",
        "--from",
        "local",
        "--to",
        &reg.host,
    ]));
    let index = fetch_json(&reg.host, "nuget/acme.copy", "0.1.0");
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    let dest = pull(&env, &["--registry", &reg.host], "Acme.Copy", &[]);
    same_bytes(&nupkg, &only_file(&dest));
    // The copy is what opp pushed: pushing the same files there changes nothing.
    assert_eq!(
        statuses(&["--registry", &reg.host]),
        ["unchanged", "unchanged"]
    );

    // Other bytes under the same id and version need --force.
    let other_dir = env.root().join("other");
    let xml = nuget::nuspec("Acme.Copy", "0.1.0", &[]);
    nuget::nupkg_with_nuspec(&other_dir, "Acme.Copy.0.1.0.nupkg", "Acme.Copy", &xml, "v2");
    let refused = run_fail(env.opp().args(["push", "nuget"]).arg(&other_dir));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    run_ok(env.opp().args(["push", "nuget", "--force"]).arg(&other_dir));
    let dest = pull(&env, &[], "Acme.Copy@0.1.0", &[]);
    same_bytes(&other_dir.join("Acme.Copy.0.1.0.nupkg"), &only_file(&dest));
}

/// Pushing `file` fails with exit status `code` and exactly the stderr `expect` (the test's
/// directory written as `[ROOT]`), and nothing at all reached the store. Returns what went
/// wrong instead of panicking, so a table of cases reports every failing one.
fn refusal_problems(env: &Env, file: &Path, code: i32, expect: &str) -> Vec<String> {
    let out = run_fail(env.opp().args(["push", "nuget"]).arg(file));
    let msg = stderr(&out).replace(&env.root().display().to_string(), "[ROOT]");
    let mut problems = Vec::new();
    if out.status.code() != Some(code) {
        problems.push(format!("exit {:?}, not {code}", out.status.code()));
    }
    if msg != expect {
        problems.push(format!(
            "stderr\n      got:  {msg:?}\n      want: {expect:?}"
        ));
    }
    let listed = run_ok(env.opp().args(["list", "nuget", "--json"]));
    if stdout(&listed).trim() != "[]" {
        problems.push("something was pushed".to_owned());
    }
    problems
        .into_iter()
        .map(|p| format!("{}: {p}", file.display()))
        .collect()
}

/// Each bad package with the whole stderr a user reads: the error naming the file, its
/// causes, and the hint saying what to do.
#[test]
fn bad_packages_are_refused_with_one_clear_error_and_nothing_is_pushed() {
    let env = Env::new();
    let mut cases: Vec<(std::path::PathBuf, i32, &str)> = Vec::new();
    let dir = env.root().join("bad");
    let with_nuspec = |name: &str, xml: &str| {
        nuget::nupkg_with_nuspec(&dir, &format!("{name}.nupkg"), "Bad", xml, "x")
    };
    std::fs::create_dir_all(&dir).unwrap();

    let not_zip = dir.join("NotZip.1.0.0.nupkg");
    std::fs::write(&not_zip, "this is not a zip").unwrap();
    cases.push((
        not_zip.clone(),
        1,
        "error: [ROOT]/bad/NotZip.1.0.0.nupkg is not a valid zip archive (a .nupkg is a zip)\n  \
         caused by: invalid Zip archive: Could not find EOCD\n  hint: rebuild it\n",
    ));

    let no_nuspec = nuget::write_zip(&dir.join("NoNuspec.nupkg"), &[("lib/net8.0/a.dll", b"MZ")]);
    cases.push((
        no_nuspec,
        1,
        "error: [ROOT]/bad/NoNuspec.nupkg has no .nuspec at the root of the archive; it is not a \
         NuGet package\n  hint: rebuild it with `dotnet pack` or `nuget pack`\n",
    ));

    let malformed = with_nuspec("Malformed", "<package><metadata><id>Bad</id>");
    cases.push((
        malformed,
        1,
        "error: [ROOT]/bad/Malformed.nupkg: `Bad.nuspec` is not a valid nuspec: the nuspec XML \
         is malformed: the root node was opened but never closed\n  hint: fix it and pack again\n",
    ));

    let no_id = with_nuspec(
        "NoId",
        "<package><metadata><version>1.0</version></metadata></package>",
    );
    cases.push((
        no_id,
        1,
        "error: [ROOT]/bad/NoId.nupkg: `Bad.nuspec` is not a valid nuspec: the nuspec has no \
         <id> in <metadata>\n  hint: fix it and pack again\n",
    ));

    let no_version = with_nuspec(
        "NoVersion",
        "<package><metadata><id>Bad</id></metadata></package>",
    );
    cases.push((
        no_version,
        1,
        "error: [ROOT]/bad/NoVersion.nupkg: `Bad.nuspec` is not a valid nuspec: the nuspec has no \
         <version> in <metadata>\n  hint: fix it and pack again\n",
    ));

    let bad_id = with_nuspec("BadId", &nuget::nuspec("Bad~Id", "1.0.0", &[]));
    cases.push((
        bad_id,
        1,
        "error: [ROOT]/bad/BadId.nupkg: the package id `Bad~Id` is not a valid NuGet id\n  \
         caused by: cannot map nuget package `Bad~Id` to a repository: `~` is not allowed in \
         NuGet package ids\n  hint: fix <id> in the nuspec\n",
    ));

    let bad_version = with_nuspec("BadVersion", &nuget::nuspec("Bad", "1.0.0-beta_1", &[]));
    cases.push((
        bad_version,
        1,
        "error: [ROOT]/bad/BadVersion.nupkg: the version `1.0.0-beta_1` is not a valid NuGet \
         version\n  caused by: cannot map nuget version `1.0.0-beta_1` to a tag: `_` is not allowed in \
         NuGet versions\n  hint: fix <version> in the nuspec\n",
    ));

    let escaping = nuget::write_zip(
        &dir.join("Escaping.nupkg"),
        &[
            ("Bad.nuspec", nuget::nuspec("Bad", "1.0.0", &[]).as_bytes()),
            ("../../outside.txt", b"x"),
        ],
    );
    cases.push((
        escaping,
        1,
        "error: [ROOT]/bad/Escaping.nupkg contains the member `../../outside.txt`, an absolute \
         path or one with a `..` component; refusing the whole package (it could write outside \
         its directory when unpacked)\n",
    ));

    // A symbols package needs its package, in the push or in the store.
    let symbols = nuget::snupkg(&dir.join("symbols"), "Lonely", "1.0.0");
    cases.push((
        symbols,
        3,
        "error: [ROOT]/bad/symbols/Lonely.1.0.0.snupkg: no Lonely 1.0.0 .nupkg in this push or \
         in [ROOT]/store/nuget/lonely; a symbols package goes beside its package\n  hint: push \
         the .nupkg first (or with it)\n",
    ));

    // One bad file among good ones stops the whole push.
    let mixed = env.root().join("mixed");
    nuget::nupkg(&mixed, "Good", "1.0.0", &[]);
    std::fs::copy(&not_zip, mixed.join("NotZip.1.0.0.nupkg")).unwrap();
    cases.push((
        mixed,
        1,
        "error: [ROOT]/mixed/NotZip.1.0.0.nupkg is not a valid zip archive (a .nupkg is a zip)\n  \
         caused by: invalid Zip archive: Could not find EOCD\n  hint: rebuild it\n",
    ));

    // An empty directory and a missing path.
    std::fs::create_dir_all(env.root().join("empty")).unwrap();
    cases.push((
        env.root().join("empty"),
        1,
        "error: [ROOT]/empty contains no NuGet packages (*.nupkg or *.snupkg)\n  hint: build them \
         first, e.g. with `dotnet pack` or `nuget pack`\n",
    ));
    cases.push((
        env.root().join("missing"),
        1,
        "error: [ROOT]/missing does not exist\n  hint: check the path\n",
    ));

    let failures: Vec<String> = cases
        .iter()
        .flat_map(|(file, code, expect)| refusal_problems(&env, file, *code, expect))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_real_nuget_client_installs_what_opp_pulled() {
    let env = Env::new();
    let dir = env.root().join("pkgs");
    nuget::nupkg(&dir, "Acme.Installable", "2.1.0", &[]);
    run_ok(env.opp().args(["push", "nuget"]).arg(&dir));
    let feed = pull(&env, &[], "Acme.Installable", &[]);

    let out = env.root().join("installed");
    run_ok(
        nuget::nuget5(&env)
            .args([
                "install",
                "Acme.Installable",
                "-Version",
                "2.1.0",
                "-Source",
            ])
            .arg(&feed)
            .arg("-OutputDirectory")
            .arg(&out)
            .arg("-NonInteractive"),
    );
    let dll = out.join("Acme.Installable.2.1.0/lib/net8.0/Acme.Installable.dll");
    assert_eq!(
        std::fs::read_to_string(&dll).unwrap(),
        "MZ fake assembly of Acme.Installable: v1"
    );
}

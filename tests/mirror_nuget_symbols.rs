//! `opp mirror nuget --symbols`: the test feed serves Opp.A's `.snupkg` where nuget.org's
//! gallery serves symbols (`/api/v2/symbolpackage/{id}/{version}`, beside the service index's
//! `SymbolPackagePublish` resource); opp mirrors it beside the `.nupkg`, and `opp proxy` then
//! serves the same bytes from its flat container. Versions without symbols are named, not
//! failed; a second run downloads nothing and asks again only for the symbols it lacked.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "mirror_nuget/chain.rs"]
mod chain;
mod support;

use std::process::Output;

use support::cli::{Env, files_with_status, run_ok, stderr};
use support::nuget_feed::{Feed, FeedPackage};

/// The chain, Opp.A 1.0.0 with a symbols package.
fn chain_with_symbols(env: &Env) -> Vec<FeedPackage> {
    let mut packages = chain::chain(env);
    let a = packages
        .iter_mut()
        .find(|p| p.id == "Opp.A" && p.version == "1.0.0")
        .unwrap();
    a.symbols = Some(support::nuget::snupkg(
        &env.root().join("symbols"),
        "Opp.A",
        "1.0.0",
    ));
    packages
}

fn mirror(env: &Env, feed: &Feed) -> Output {
    env.opp()
        .args([
            "mirror",
            "nuget",
            "Opp.A",
            "--framework",
            "net8.0",
            "--symbols",
        ])
        .args(["--upstream", &feed.index_url(), "--json"])
        .env("SSL_CERT_FILE", feed.ca_bundle(env.root()))
        .output()
        .unwrap()
}

/// Fetches `path` under the proxy's NuGet v3 base (plain HTTP, the proxy's user and secret)
/// into `dest`, through `opp proxy -- python`.
const FETCH_PY: &str = r#"
import base64, os, sys, urllib.request
base = os.environ["OPP_PROXY_NUGET_SOURCE"].rsplit("/", 1)[0]
req = urllib.request.Request(base + "/" + sys.argv[1])
token = base64.b64encode(("opp:" + os.environ["OPP_PROXY_TOKEN"]).encode()).decode()
req.add_header("Authorization", "Basic " + token)
with urllib.request.urlopen(req) as r, open(sys.argv[2], "wb") as out:
    out.write(r.read())
"#;

#[test]
fn symbols_are_mirrored_beside_their_package_and_served_by_the_proxy_byte_for_byte() {
    let env = Env::new();
    let packages = chain_with_symbols(&env);
    let feed = Feed::serve(&packages);
    let out = mirror(&env, &feed);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        files_with_status(&out, "added"),
        [
            "Opp.A.1.0.0.nupkg",
            "Opp.A.1.0.0.snupkg",
            "Opp.B.1.0.0.nupkg",
            "Opp.C.1.0.0.nupkg"
        ]
    );
    assert!(
        text.contains("no symbols package on the feed for Opp.B 1.0.0, Opp.C 1.0.0\n"),
        "{text}"
    );
    assert!(
        feed.requested()
            .contains(&"/api/v2/symbolpackage/Opp.A/1.0.0".to_owned()),
        "{:?}",
        feed.requested()
    );

    // The feed is gone: the proxy serves the symbols from the store.
    drop(feed);
    let fetched = env.root().join("fetched.snupkg");
    let python_program = env.python().get_program().to_owned();
    run_ok(
        env.opp()
            .args(["proxy", "--http", "--"])
            .arg(python_program)
            .args([
                "-c",
                FETCH_PY,
                "flatcontainer/opp.a/1.0.0/opp.a.1.0.0.snupkg",
            ])
            .arg(&fetched),
    );
    let symbols = packages.iter().find_map(|p| p.symbols.clone()).unwrap();
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&symbols).unwrap()
    );
}

#[test]
fn a_second_symbols_run_downloads_nothing_and_asks_only_for_the_missing_symbols() {
    let env = Env::new();
    let feed = Feed::serve(&chain_with_symbols(&env));
    let first = mirror(&env, &feed);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = feed.requested().len();
    let again = mirror(&env, &feed);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        files_with_status(&again, "skipped"),
        [
            "Opp.A.1.0.0.nupkg",
            "Opp.A.1.0.0.snupkg",
            "Opp.B.1.0.0.nupkg",
            "Opp.C.1.0.0.nupkg"
        ]
    );
    let downloads: Vec<String> = feed.requested()[before..]
        .iter()
        .filter(|p| p.ends_with(".nupkg") || p.starts_with("/api/v2/symbolpackage/"))
        .cloned()
        .collect();
    // Stored symbols are not even looked up again (those the feed lacked are).
    assert_eq!(
        downloads,
        [
            "/api/v2/symbolpackage/Opp.B/1.0.0",
            "/api/v2/symbolpackage/Opp.C/1.0.0"
        ]
    );
}

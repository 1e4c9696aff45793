//! The proxy's NuGet frontend with the real NuGet.exe 5.8 (`nuget5`, under mono), the way a
//! user runs it: `opp proxy -- nuget5 push|install|search ...`, over HTTPS with the proxy's
//! throwaway CA, configured only by what the proxy hands the child (no `-Source` for install
//! and search). Packages are packed by `nuget pack` in the set-up (`proxy_nuget/setup.rs`);
//! what lands in the store is read back through opp's library. The protocol details nuget.exe
//! does not show are checked against the frontend served in-process (`proxy_nuget/serve.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_nuget/serve.rs"]
mod serve;
#[path = "proxy_nuget/setup.rs"]
mod setup;
mod support;

use serve::{Served, nupkg, nuspec};
use setup::{nuget_configs, pack, proxy_nuget, stored_nupkg};
use support::cli::{Env, run_fail, run_ok, stderr, stdout};

/// Both streams, for checking what nuget printed.
fn said(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[test]
fn nuget_pushes_then_installs_a_package_with_its_dependency_and_finds_them_by_search() {
    let env = Env::new();
    let lib = pack(
        &env,
        &env.root().join("lib"),
        "Opp.Lib",
        "2.0.0",
        &[],
        b"lib 2.0.0\n",
    );
    let app = pack(
        &env,
        &env.root().join("app"),
        "Opp.App",
        "1.0.0",
        &[("Opp.Lib", "2.0.0")],
        b"app 1.0.0\n",
    );

    // Pushed to the default push source, then to the source by the name the config gives it.
    let out = run_ok(&mut proxy_nuget(
        &env,
        &[],
        &["push", lib.to_str().unwrap()],
    ));
    assert!(
        said(&out).contains("Your package was pushed"),
        "{}",
        said(&out)
    );
    run_ok(&mut proxy_nuget(
        &env,
        &[],
        &["push", app.to_str().unwrap(), "-Source", "opp"],
    ));
    for (id, version, file) in [("Opp.Lib", "2.0.0", &lib), ("opp.app", "1.0", &app)] {
        let stored = stored_nupkg(&env, id, version).unwrap_or_else(|| panic!("{id} stored"));
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(stored.digest, opp::digest::Digest::of(&bytes), "{id}");
        assert_eq!(stored.size, bytes.len() as u64);
    }

    let out = run_ok(&mut proxy_nuget(
        &env,
        &[],
        &[
            "install",
            "Opp.App",
            "-Version",
            "1.0.0",
            "-OutputDirectory",
            "packages",
        ],
    ));
    assert!(
        said(&out).contains("Successfully installed 'Opp.Lib 2.0.0'"),
        "{}",
        said(&out)
    );
    let installed = env.root().join("packages");
    for (dir, original, content_file, content) in [
        ("Opp.App.1.0.0", &app, "Opp.App.txt", "app 1.0.0\n"),
        ("Opp.Lib.2.0.0", &lib, "Opp.Lib.txt", "lib 2.0.0\n"),
    ] {
        let nupkg = installed.join(dir).join(format!("{dir}.nupkg"));
        assert_eq!(
            std::fs::read(&nupkg).unwrap_or_else(|e| panic!("{}: {e}", nupkg.display())),
            std::fs::read(original).unwrap(),
            "{dir}"
        );
        let text = installed.join(dir).join("content").join(content_file);
        assert_eq!(std::fs::read_to_string(&text).unwrap(), content);
    }

    let out = run_ok(&mut proxy_nuget(&env, &[], &["search", "opp."]));
    let text = stdout(&out);
    assert!(text.contains("Opp.App | 1.0.0"), "{text}");
    assert!(text.contains("Opp.Lib | 2.0.0"), "{text}");
    assert!(text.contains("Opp.Lib, made by opp's tests."), "{text}");
    let out = run_ok(&mut proxy_nuget(&env, &[], &["search", "nothing-like-it"]));
    assert!(!stdout(&out).contains("Opp."), "{}", stdout(&out));

    // Nothing NuGet reads as configuration was left in the project or the user's home.
    let left: Vec<_> = nuget_configs(env.root())
        .into_iter()
        .filter(|p| !p.starts_with(env.root().join("packer-home")))
        .collect();
    assert!(left.is_empty(), "NuGet.Config left behind: {left:?}");
    let cache = env.data_home().join("NuGet").join("v3-cache");
    assert!(!cache.exists(), "{} left behind", cache.display());
}

#[test]
fn a_version_from_opp_push_is_pushed_again_unchanged_but_other_bytes_get_409() {
    let env = Env::new();
    let first = pack(
        &env,
        &env.root().join("a"),
        "Opp.Twice",
        "1.0.0",
        &[],
        b"first\n",
    );
    let second = pack(
        &env,
        &env.root().join("b"),
        "Opp.Twice",
        "1.0.0",
        &[],
        b"second\n",
    );
    run_ok(env.opp().args(["push", "nuget"]).arg(&first));
    // The same bytes through the proxy change nothing.
    run_ok(&mut proxy_nuget(
        &env,
        &[],
        &["push", first.to_str().unwrap()],
    ));
    let out = run_fail(&mut proxy_nuget(
        &env,
        &[],
        &["push", second.to_str().unwrap()],
    ));
    let text = said(&out);
    assert!(
        text.contains("409 (Opp.Twice.1.0.0.nupkg is already in the store"),
        "{text}"
    );
    let stored = stored_nupkg(&env, "Opp.Twice", "1.0.0").expect("stored");
    assert_eq!(
        stored.digest,
        opp::digest::Digest::of(&std::fs::read(&first).unwrap())
    );
}

#[test]
fn a_projects_own_nuget_config_does_not_add_sources_to_install_through_the_proxy() {
    let env = Env::new();
    let lib = pack(
        &env,
        &env.root().join("lib"),
        "Opp.Only",
        "1.0.0",
        &[],
        b"only\n",
    );
    run_ok(env.opp().args(["push", "nuget"]).arg(&lib));
    // nuget.exe merges this file above any user config: without the proxy's -ConfigFile it
    // would try (and fail on) a source nothing listens on.
    let project_config = env.root().join("NuGet.Config");
    let text = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="elsewhere" value="https://localhost:9/v3/index.json" />
  </packageSources>
</configuration>
"#;
    std::fs::write(&project_config, text).unwrap();
    let out = run_ok(&mut proxy_nuget(
        &env,
        &[],
        &[
            "install",
            "Opp.Only",
            "-Version",
            "1.0.0",
            "-OutputDirectory",
            "packages",
        ],
    ));
    assert!(!said(&out).contains("localhost:9"), "{}", said(&out));
    let nupkg = env
        .root()
        .join("packages/Opp.Only.1.0.0/Opp.Only.1.0.0.nupkg");
    assert_eq!(
        std::fs::read(&nupkg).unwrap_or_else(|e| panic!("{}: {e}", nupkg.display())),
        std::fs::read(&lib).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&project_config).unwrap(), text);
}

#[test]
fn a_push_over_max_upload_size_gets_413_and_stores_nothing() {
    let env = Env::new();
    // Incompressible content, so that the package stays over the limit.
    let mut noise = Vec::with_capacity(3 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    let big = pack(
        &env,
        &env.root().join("big"),
        "Opp.Big",
        "1.0.0",
        &[],
        &noise,
    );
    let out = run_fail(&mut proxy_nuget(
        &env,
        &["--max-upload-size", "1MiB"],
        &["push", big.to_str().unwrap()],
    ));
    let text = said(&out);
    assert!(
        text.contains("413 (the package is larger than the proxy accepts (1048576 bytes"),
        "{text}"
    );
    assert!(stored_nupkg(&env, "Opp.Big", "1.0.0").is_none());
    assert!(!env.store().join("nuget").join("opp.big").exists());
    // Under a limit it fits, the same push goes through.
    run_ok(&mut proxy_nuget(
        &env,
        &["--max-upload-size", "4MiB"],
        &["push", big.to_str().unwrap()],
    ));
    assert!(stored_nupkg(&env, "Opp.Big", "1.0.0").is_some());
}

#[test]
fn a_file_that_is_not_a_package_gets_400_saying_why_and_stores_nothing() {
    let env = Env::new();
    let junk = env.root().join("Opp.Junk.1.0.0.nupkg");
    std::fs::write(&junk, b"this is not a zip archive at all").unwrap();
    let out = run_fail(&mut proxy_nuget(
        &env,
        &[],
        &["push", junk.to_str().unwrap()],
    ));
    let text = said(&out);
    assert!(text.contains("400 ("), "{text}");
    assert!(text.contains("is not a valid zip archive"), "{text}");
    assert!(!env.store().join("nuget").exists());
}

#[test]
fn the_flat_container_registrations_and_search_answer_as_nuget_v3_says() {
    let env = Env::new();
    let served = Served::start(&env, 1 << 20);
    let dependency = "<dependencies><group targetFramework=\"net8.0\">\
                      <dependency id=\"Opp.Proto\" version=\"[1.0.0, 2.0.0)\" />\
                      </group></dependencies>";
    let stable = nupkg("Opp.Proto", "1.0", "");
    for package in [
        stable.clone(),
        nupkg("Opp.Proto", "1.1.0-Beta", ""),
        nupkg("Opp.Proto", "1.2.0-rc.1", ""),
        nupkg("Other.Thing", "2.0.0", dependency),
    ] {
        let r = served.push_like_nuget(&package);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // The same bytes again: fine, nothing changes.
    assert_eq!(served.push_like_nuget(&stable).status, 200);

    let index = served.get("/nuget/v3/flatcontainer/OPP.Proto/index.json");
    assert_eq!(index.status, 200, "{}", index.text());
    assert_eq!(
        index.json(),
        serde_json::json!({"versions": ["1.0.0", "1.1.0-beta", "1.2.0-rc.1"]})
    );
    for path in [
        "/nuget/v3/flatcontainer/opp.proto/1.0.0/opp.proto.1.0.0.nupkg",
        "/nuget/v3/flatcontainer/Opp.Proto/1.0/Opp.Proto.1.0.0.nupkg",
    ] {
        let r = served.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.body == stable, "{path}: other bytes");
    }
    let head = served.send(
        reqwest::Method::HEAD,
        "/nuget/v3/flatcontainer/opp.proto/1.0.0/opp.proto.1.0.0.nupkg",
        &[],
        None,
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-length"], stable.len().to_string());
    let spec = served.get("/nuget/v3/flatcontainer/opp.proto/1.0.0/opp.proto.nuspec");
    assert_eq!(spec.text(), nuspec("Opp.Proto", "1.0", ""));
    for missing in [
        "/nuget/v3/flatcontainer/opp.proto/9.0.0/opp.proto.9.0.0.nupkg",
        "/nuget/v3/flatcontainer/no.such/index.json",
        "/nuget/v3/flatcontainer/opp.proto/1.0.0/other.1.0.0.nupkg",
        "/nuget/v3/registration/no.such/index.json",
    ] {
        assert_eq!(served.get(missing).status, 404, "{missing}");
    }

    let registration = served
        .get("/nuget/v3/registration/other.thing/index.json")
        .json();
    let entry = &registration["items"][0]["items"][0]["catalogEntry"];
    assert_eq!(entry["id"], "Other.Thing");
    assert_eq!(entry["version"], "2.0.0");
    assert_eq!(entry["dependencyGroups"][0]["targetFramework"], "net8.0");
    assert_eq!(
        entry["dependencyGroups"][0]["dependencies"][0]["id"],
        "Opp.Proto"
    );
    assert_eq!(
        entry["dependencyGroups"][0]["dependencies"][0]["range"],
        "[1.0.0, 2.0.0)"
    );
    let proto = served
        .get("/nuget/v3/registration/opp.proto/index.json")
        .json();
    assert_eq!(proto["items"][0]["count"], 3);
    assert_eq!(proto["items"][0]["upper"], "1.2.0-rc.1");
    let leaf = served.get("/nuget/v3/registration/opp.proto/1.1.0-beta.json");
    assert_eq!(leaf.status, 200);
    assert!(
        leaf.json()["packageContent"]
            .as_str()
            .unwrap()
            .ends_with("/nuget/v3/flatcontainer/opp.proto/1.1.0-beta/opp.proto.1.1.0-beta.nupkg")
    );

    let search = |query: &str| served.get(&format!("/nuget/v3/query?{query}")).json();
    let hits = search("q=PROTO&skip=0&take=20&prerelease=false&semVerLevel=2.0.0");
    assert_eq!(hits["totalHits"], 1);
    assert_eq!(hits["data"][0]["id"], "Opp.Proto");
    assert_eq!(hits["data"][0]["version"], "1.0.0");
    assert_eq!(
        search("q=proto&prerelease=true")["data"][0]["version"],
        "1.1.0-beta"
    );
    let semver2 = search("q=proto&prerelease=true&semVerLevel=2.0.0");
    assert_eq!(semver2["data"][0]["version"], "1.2.0-rc.1");
    assert_eq!(semver2["data"][0]["versions"].as_array().unwrap().len(), 3);
    let page = search("q=&skip=1&take=1");
    assert_eq!(page["totalHits"], 2);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["id"], "Other.Thing");
    assert_eq!(search("q=nothing")["totalHits"], 0);
}

#[test]
fn pushes_that_are_not_packages_or_too_large_are_refused_and_store_nothing() {
    let env = Env::new();
    let served = Served::start(&env, 4096);
    let put = |headers: &[(&str, &str)], body: Vec<u8>| {
        served.send(
            reqwest::Method::PUT,
            "/nuget/api/v2/package",
            headers,
            Some(reqwest::Body::from(body)),
        )
    };
    // A raw .nupkg body (no form) is a push too.
    let r = put(&[], nupkg("Opp.Raw", "1.0.0", ""));
    assert_eq!(r.status, 201, "{}", r.text());

    let r = put(&[], Vec::new());
    assert_eq!(r.status, 400);
    assert!(r.text().contains("is empty"), "{}", r.text());
    let mut no_nuspec = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    no_nuspec
        .start_file("readme.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    let r = served.push_like_nuget(&no_nuspec.finish().unwrap().into_inner());
    assert_eq!(r.status, 400);
    assert!(r.text().contains("package.nupkg"), "{}", r.text());
    let r = put(
        &[("content-type", "multipart/form-data; boundary=x")],
        b"not a form".to_vec(),
    );
    assert_eq!(r.status, 400, "{}", r.text());

    // A declared length over the limit is refused before reading; a streamed one while reading.
    let big = vec![b'x'; 8192];
    let r = put(&[], big.clone());
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("4096 bytes"), "{}", r.text());
    let r = served.push_like_nuget(&big);
    assert_eq!(r.status, 413, "{}", r.text());
    let stored: Vec<_> = std::fs::read_dir(env.store().join("nuget"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stored, ["opp.raw"]);
}

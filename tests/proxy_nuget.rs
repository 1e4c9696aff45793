//! The proxy's NuGet frontend with the real NuGet.exe 5.8 (`nuget5`, under mono), the way a
//! user runs it: `opp proxy -- nuget5 push|install|search ...`, over HTTPS with the proxy's
//! throwaway CA, configured only by what the proxy hands the child (no `-Source` for install
//! and search). Packages are packed by `nuget pack` in the set-up (`proxy_nuget/setup.rs`);
//! what lands in the store is read back through opp's library.

#[path = "proxy_nuget/setup.rs"]
mod setup;
mod support;

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
}

#[test]
fn a_version_pushed_again_with_other_bytes_gets_409_and_the_store_keeps_the_first() {
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
    run_ok(&mut proxy_nuget(
        &env,
        &[],
        &["push", first.to_str().unwrap()],
    ));
    // The same bytes again change nothing.
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

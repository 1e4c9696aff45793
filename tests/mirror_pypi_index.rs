//! `opp mirror pypi` against a local simple index the test controls (Python's http.server):
//! dependencies read from an sdist's PKG-INFO, an index behind basic auth reached with the
//! credentials of `~/.netrc`, and the upstream named in the config file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io::Write;
use std::path::Path;

use support::cli::{Env, files_with_status, run_ok, stderr};
use support::fixtures::{SIX_SDIST, SIX_WHEEL, pypi_fixture};
use support::static_index::StaticIndex;

fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Adds a project page to the index under `root` listing `files` (already in `root/files`).
fn page(root: &Path, project: &str, files: &[&str]) {
    let dir = root.join("simple").join(project);
    std::fs::create_dir_all(&dir).unwrap();
    let mut html = String::from("<!DOCTYPE html><html><body>\n");
    for f in files {
        let sha = sha256_of(&root.join("files").join(f));
        html.push_str(&format!(
            "<a href=\"../../files/{f}#sha256={sha}\">{f}</a><br/>\n"
        ));
    }
    html.push_str("</body></html>\n");
    std::fs::write(dir.join("index.html"), html).unwrap();
}

/// An index under `root` holding six 1.16.0 (wheel and sdist, the real files).
fn index_with_six(root: &Path) {
    std::fs::create_dir_all(root.join("files")).unwrap();
    for f in [SIX_WHEEL, SIX_SDIST] {
        std::fs::copy(pypi_fixture(f), root.join("files").join(f)).unwrap();
    }
    page(root, "six", &[SIX_WHEEL, SIX_SDIST]);
}

/// A gzip tar sdist `demo-1.0.tar.gz` whose PKG-INFO has the given header lines.
fn demo_sdist(root: &Path, headers: &str) -> String {
    let name = "demo-1.0.tar.gz";
    let pkg_info = format!("{headers}Name: demo\nVersion: 1.0\n\nA demo.\n");
    let file = std::fs::File::create(root.join("files").join(name)).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(pkg_info.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "demo-1.0/PKG-INFO", pkg_info.as_bytes())
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    name.to_owned()
}

#[test]
fn an_sdist_only_version_is_followed_when_its_pkg_info_is_final() {
    // (PKG-INFO headers, six mirrored, the warning expected on stderr)
    let cases = [
        (
            "Metadata-Version: 2.2\nRequires-Dist: six==1.16.0\n",
            true,
            None,
        ),
        (
            "Metadata-Version: 2.1\nRequires-Dist: six==1.16.0\n",
            false,
            Some(
                "warning: cannot read the dependencies of demo 1.0 (the version has only an \
                 sdist, demo-1.0.tar.gz, and its PKG-INFO is Metadata-Version 2.1, older than \
                 2.2, whose Requires-Dist may differ from what a build states); the closure may \
                 be incomplete",
            ),
        ),
        (
            "Metadata-Version: 2.4\nDynamic: Requires-Dist\nRequires-Dist: six==1.16.0\n",
            false,
            Some(
                "warning: cannot read the dependencies of demo 1.0 (the version has only an \
                 sdist, demo-1.0.tar.gz, and its PKG-INFO marks Requires-Dist as Dynamic \
                 (computed at build time)); the closure may be incomplete",
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (headers, wants_six, warning) in cases {
        let env = Env::new();
        let root = env.root().join("index");
        index_with_six(&root);
        let sdist = demo_sdist(&root, headers);
        page(&root, "demo", &[&sdist]);
        let index = StaticIndex::serve(&env, &root);
        let out = run_ok(env.opp().args([
            "mirror",
            "pypi",
            "demo==1.0",
            "--json",
            "--upstream",
            &index.url,
        ]));
        let mut want = vec![sdist.clone()];
        if wants_six {
            want.extend([SIX_SDIST.to_owned(), SIX_WHEEL.to_owned()]);
        }
        want.sort();
        let err = stderr(&out);
        let warned = err.contains("the closure may be incomplete");
        if files_with_status(&out, "added") != want
            || warned != warning.is_some()
            || warning.is_some_and(|w| !err.contains(w))
        {
            failures.push(format!(
                "{headers:?}: added {:?}\n{err}",
                files_with_status(&out, "added")
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn an_index_behind_basic_auth_is_reached_with_the_netrc_credentials() {
    let env = Env::new();
    let root = env.root().join("index");
    index_with_six(&root);
    let index = StaticIndex::with_basic_auth(&env, &root, "mirror", "s3cret-pw");
    std::fs::write(
        env.home().join(".netrc"),
        "machine 127.0.0.1\n  login mirror\n  password s3cret-pw\n",
    )
    .unwrap();
    let out = run_ok(
        env.opp()
            .env_remove("NETRC")
            .args([
                "-v",
                "mirror",
                "pypi",
                "six==1.16.0",
                "--json",
                "--upstream",
            ])
            .arg(&index.url),
    );
    let mut want = vec![SIX_SDIST.to_owned(), SIX_WHEEL.to_owned()];
    want.sort();
    assert_eq!(files_with_status(&out, "added"), want, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains("s3cret-pw"),
        "a credential was printed: {err}"
    );
}

#[test]
fn without_credentials_the_index_refusal_is_named_and_nothing_is_stored() {
    let env = Env::new();
    let root = env.root().join("index");
    index_with_six(&root);
    let index = StaticIndex::with_basic_auth(&env, &root, "mirror", "s3cret-pw");
    let out = support::cli::run_fail(
        env.opp()
            .env_remove("NETRC")
            .args(["mirror", "pypi", "six==1.16.0", "--upstream"])
            .arg(&index.url),
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: six: the upstream index {} answered 401 Unauthorized and opp found no \
             credentials for it; give them in the URL (https://USER:PASSWORD@HOST/...), in \
             ~/.netrc, or in the keyring (https://USER@HOST/...) (wanted by the command line: \
             ==1.16.0)",
            index.url
        )),
        "{err}"
    );
    assert!(!env.store().join("pypi").exists(), "something was stored");
}

#[test]
fn the_upstream_in_the_config_file_is_used_without_the_flag() {
    let env = Env::new();
    let root = env.root().join("index");
    index_with_six(&root);
    let index = StaticIndex::serve(&env, &root);
    let config = env.config_home().join("opp");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("[mirror.pypi]\nupstream = \"{}\"\n", index.url),
    )
    .unwrap();
    let out = run_ok(env.opp().args(["mirror", "pypi", "six==1.16.0", "--json"]));
    let mut want = vec![SIX_SDIST.to_owned(), SIX_WHEEL.to_owned()];
    want.sort();
    assert_eq!(files_with_status(&out, "added"), want, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("against {}", index.url)),
        "{}",
        stderr(&out)
    );
}

/// six's wheel listed on a PEP 691 JSON page with its size and PEP 658 metadata (the METADATA
/// inside it, served beside it), and its sdist with a size only.
fn json_index_with_six(root: &Path) {
    index_with_six(root);
    let files = root.join("files");
    let wheel = std::fs::File::open(files.join(SIX_WHEEL)).unwrap();
    let mut zip = zip::ZipArchive::new(wheel).unwrap();
    let mut metadata = Vec::new();
    std::io::Read::read_to_end(
        &mut zip.by_name("six-1.16.0.dist-info/METADATA").unwrap(),
        &mut metadata,
    )
    .unwrap();
    std::fs::write(files.join(format!("{SIX_WHEEL}.metadata")), &metadata).unwrap();
    let entry = |f: &str, core: Option<String>| {
        let path = files.join(f);
        let mut v = serde_json::json!({
            "filename": f,
            "url": format!("../../files/{f}"),
            "hashes": {"sha256": sha256_of(&path)},
            "size": std::fs::metadata(&path).unwrap().len(),
        });
        if let Some(h) = core {
            v["core-metadata"] = serde_json::json!({ "sha256": h });
        }
        v
    };
    let metadata_sha = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&metadata))
    };
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "six",
        "files": [entry(SIX_WHEEL, Some(metadata_sha)), entry(SIX_SDIST, None)],
    });
    std::fs::write(root.join("simple/six/index.json"), page.to_string()).unwrap();
}

#[test]
fn a_wheel_the_index_describes_fully_streams_into_the_store_byte_for_byte() {
    let env = Env::new();
    let root = env.root().join("index");
    json_index_with_six(&root);
    let index = StaticIndex::serve(&env, &root);
    let out = run_ok(env.opp().args([
        "-v",
        "mirror",
        "pypi",
        "six==1.16.0",
        "--json",
        "--upstream",
        &index.url,
    ]));
    let mut want = vec![SIX_SDIST.to_owned(), SIX_WHEEL.to_owned()];
    want.sort();
    assert_eq!(files_with_status(&out, "added"), want, "{}", stderr(&out));
    let log = stderr(&out);
    let downloads: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("downloading http://") && !l.contains(".metadata"))
        .map(|l| l.rsplit_once(" DEBUG ").map_or(l, |(_, m)| m))
        .collect();
    let base = format!("http://127.0.0.1:{}/files", index.port);
    assert_eq!(
        downloads
            .iter()
            .filter(|l| l.contains(SIX_WHEEL))
            .collect::<Vec<_>>(),
        [&format!(
            "opp::mirror::pypi::streaming: downloading {base}/{SIX_WHEEL} into the store"
        )],
        "the wheel was not streamed alone: {log}"
    );
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["pull", "pypi", "six==1.16.0", "-o"])
            .arg(&dest),
    );
    assert_eq!(
        sha256_of(&dest.join(SIX_WHEEL)),
        sha256_of(&pypi_fixture(SIX_WHEEL))
    );
    // Its METADATA is stored beside it, as `opp push` stores a wheel's: a second run reads
    // the dependencies from the store.
    let again = run_ok(env.opp().args([
        "-v",
        "mirror",
        "pypi",
        "six==1.16.0",
        "--upstream",
        &index.url,
    ]));
    assert!(
        stderr(&again).contains("read the dependencies of six 1.16.0 from the store"),
        "{}",
        stderr(&again)
    );
}

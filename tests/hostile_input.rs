//! Hostile package files, end to end: a gem whose YAML specification is an alias bomb, a
//! module or provider zip that unpacks to far more than it weighs, an index naming one file
//! twice, a FIFO given as a package. Each must fail with one line naming the file and the limit,
//! a non-zero exit, bounded memory (the child's peak RSS, from `/usr/bin/time`), and nothing
//! left where the output would have gone. Every hostile file is built here.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::registry::Registry;
use support::{fixtures, opentofu, terraform};

/// What a refused command may use at most. The bombs below would take gigabytes.
const MAX_RSS_KIB: u64 = 200 * 1024;

/// Runs `cmd` under `/usr/bin/time`; its output and peak resident set size in KiB.
fn run_measured(cmd: &mut Command) -> (Output, u64) {
    let time = Path::new("/usr/bin/time");
    assert!(
        time.is_file(),
        "/usr/bin/time is needed to measure peak memory: `apt-get install time`"
    );
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut time = Command::new(time);
    time.args(["-f", "%M", "-o"]).arg(report.path());
    let out = support::cli::wrapped(time, cmd)
        .output()
        .expect("run under /usr/bin/time");
    let text = std::fs::read_to_string(report.path()).unwrap();
    let rss = text
        .lines()
        .rev()
        .find_map(|l| l.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no peak RSS in /usr/bin/time's report: {text:?}"));
    (out, rss)
}

/// Asserts a refusal as a user sees it: exit code 1, one `error:` line saying every one of
/// `says`, and a bounded peak RSS.
fn refused(out: &Output, rss_kib: u64, says: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    for s in says {
        assert!(line.contains(s), "the error line says {s:?}: {err}");
    }
    assert!(
        rss_kib < MAX_RSS_KIB,
        "peak RSS {rss_kib} KiB, over {MAX_RSS_KIB} KiB"
    );
    eprintln!("{line}\n(peak RSS {rss_kib} KiB)");
    err
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A `.gem` as `gem build` lays it out (a plain tar of metadata.gz, data.tar.gz and
/// checksums.yaml.gz) holding `metadata` as its gzipped specification.
fn gem_with_metadata_gz(path: &Path, metadata_gz: Vec<u8>) -> PathBuf {
    let empty_tar = {
        let mut b = tar::Builder::new(Vec::new());
        b.finish().unwrap();
        b.into_inner().unwrap()
    };
    let data = gz(&empty_tar);
    let sums = gz(format!(
        "---\nSHA256:\n  metadata.gz: {}\n  data.tar.gz: {}\n",
        hex::encode(Sha256::digest(&metadata_gz)),
        hex::encode(Sha256::digest(&data))
    )
    .as_bytes());
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in [
        ("metadata.gz", metadata_gz),
        ("data.tar.gz", data),
        ("checksums.yaml.gz", sums),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o444);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.finish().unwrap();
    path.to_path_buf()
}

/// A gem specification with nine levels of anchors, each a list of ten aliases to the one
/// before: about 2 KiB of YAML standing for 10^10 nodes.
fn alias_bomb_yaml() -> String {
    let mut yaml = String::from(
        "--- !ruby/object:Gem::Specification\nname: bomb\nversion: !ruby/object:Gem::Version\n  \
         version: 1.0.0\nplatform: ruby\nsummary: a YAML alias bomb\n",
    );
    yaml.push_str("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=9 {
        let items = [format!("*a{}", i - 1).as_str(); 10].join(", ");
        yaml.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    yaml.push_str("description: *a9\n");
    yaml
}

#[test]
fn push_of_a_gem_whose_yaml_is_an_alias_bomb_fails_fast_in_bounded_memory() {
    let env = Env::new();
    let yaml = alias_bomb_yaml();
    assert!(yaml.len() < 4096, "the bomb is small: {} bytes", yaml.len());
    let gem = gem_with_metadata_gz(&env.root().join("bomb-1.0.0.gem"), gz(yaml.as_bytes()));
    let started = std::time::Instant::now();
    let (out, rss) = run_measured(env.opp().args(["push", "rubygems"]).arg(&gem));
    refused(
        &out,
        rss,
        &[
            &gem.display().to_string(),
            "more than 250000 YAML nodes",
            "alias",
        ],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused in {:?}",
        started.elapsed()
    );
    assert!(!env.store().join("rubygems").exists(), "nothing pushed");
}

#[test]
fn push_of_a_gem_whose_metadata_gz_is_a_gzip_bomb_is_refused_at_4_mib() {
    let env = Env::new();
    // 8 MiB of YAML comment, a few KiB gzipped.
    let mut yaml = b"--- !ruby/object:Gem::Specification\nname: bomb\n".to_vec();
    yaml.resize(8 * 1024 * 1024, b'#');
    let gem = gem_with_metadata_gz(&env.root().join("gzbomb-1.0.0.gem"), gz(&yaml));
    let (out, rss) = run_measured(env.opp().args(["push", "rubygems"]).arg(&gem));
    refused(
        &out,
        rss,
        &[&gem.display().to_string(), "metadata.gz", "more than 4 MiB"],
    );
    assert!(!env.store().join("rubygems").exists(), "nothing pushed");
}

/// A zip holding `small` files as they are and `big` (name, size) files of zeros, deflated
/// (zeros deflate about 1000:1).
fn bomb_zip(path: &Path, small: &[(&str, &[u8], u32)], big: &[(&str, usize)]) -> PathBuf {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes, mode) in small {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    let zeros = vec![0u8; 1 << 20];
    for (name, size) in big {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(*size as u64 >= u32::MAX as u64);
        zip.start_file(*name, options).unwrap();
        for _ in 0..size / zeros.len() {
            zip.write_all(&zeros).unwrap();
        }
    }
    zip.finish().unwrap();
    path.to_path_buf()
}

/// Nothing but `keep` in `dir`: no staging directory, no partial file.
fn only(dir: &Path, keep: &[&str]) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "left behind in {}: {left:?}",
        dir.display()
    );
}

/// Pushes a module zip of `main.tf` and 48 MiB of zeros (about 100 KiB) to the local store.
fn push_module_bomb(env: &Env) {
    let zip = bomb_zip(
        &env.root().join("bomb.zip"),
        &[("main.tf", b"output \"x\" { value = 1 }\n", 0o644)],
        &[("big.bin", 48 << 20)],
    );
    assert!(std::fs::metadata(&zip).unwrap().len() < 1 << 20);
    run_ok(
        env.opp()
            .args(["push", "terraform-module", "acme/bomb/null", "1.0.0"])
            .arg(&zip),
    );
    std::fs::remove_file(zip).unwrap();
}

#[test]
fn pull_of_a_module_zip_bomb_names_the_limit_and_writes_nothing() {
    let env = Env::new();
    push_module_bomb(&env);
    let dest = env.root().join("out");
    let (out, rss) = run_measured(
        env.opp()
            .args([
                "pull",
                "terraform-module",
                "acme/bomb/null@1.0.0",
                "--max-unpacked-size",
                "16MiB",
                "-o",
            ])
            .arg(&dest),
    );
    let err = refused(
        &out,
        rss,
        &[
            "module acme/bomb/null 1.0.0",
            "unpacks to more than 16 MiB",
            "big.bin",
        ],
    );
    assert_eq!(
        err.lines().last(),
        Some(
            "  hint: if the module really is this large, raise the limit with --max-unpacked-size"
        ),
        "{err}"
    );
    assert!(!dest.exists(), "{} was created", dest.display());
    only(
        env.root(),
        &["home", "config", "data", "cache", "docker", "store"],
    );
}

#[test]
fn pull_of_a_large_module_succeeds_once_the_limit_is_raised() {
    let env = Env::new();
    push_module_bomb(&env);
    let dest = env.root().join("out");
    run_ok(
        env.opp()
            .args([
                "pull",
                "terraform-module",
                "acme/bomb/null@1.0.0",
                "--max-unpacked-size",
                "64MiB",
                "-o",
            ])
            .arg(&dest),
    );
    assert_eq!(
        std::fs::metadata(dest.join("big.bin")).unwrap().len(),
        48 << 20
    );
}

/// A provider release of one linux_amd64 zip holding the executable and 48 MiB of zeros.
fn provider_bomb_release(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let zip = bomb_zip(
        &dir.join(terraform::zip_name("bomb", "1.0.0", "linux", "amd64")),
        &[(
            &terraform::executable_name("bomb", "1.0.0"),
            b"#!/bin/sh\nexit 1\n",
            0o755,
        )],
        &[("big.bin", 48 << 20)],
    );
    let sum = hex::encode(Sha256::digest(std::fs::read(&zip).unwrap()));
    let name = zip.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(
        dir.join(terraform::sums_name("bomb", "1.0.0")),
        format!("{sum}  {name}\n"),
    )
    .unwrap();
    dir.to_path_buf()
}

#[test]
fn unpacked_pull_of_a_provider_zip_bomb_names_the_limit_and_writes_nothing() {
    let env = Env::new();
    let release = provider_bomb_release(&env.root().join("release"));
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "acme/bomb"])
            .arg(&release),
    );
    let mirror = env.root().join("mirror");
    let (out, rss) = run_measured(
        env.opp()
            .args([
                "pull",
                "terraform-provider",
                "acme/bomb",
                "--platform",
                "linux_amd64",
                "--unpacked",
                "--max-unpacked-size",
                "16MiB",
                "-o",
            ])
            .arg(&mirror),
    );
    let err = refused(
        &out,
        rss,
        &[
            &terraform::zip_name("bomb", "1.0.0", "linux", "amd64"),
            "unpacks to more than 16 MiB",
        ],
    );
    assert_eq!(
        err.lines().last(),
        Some(
            "  hint: if the provider really is this large, raise the limit with \
             --max-unpacked-size"
        ),
        "{err}"
    );
    assert!(!mirror.exists(), "{} was created", mirror.display());
}

/// The registry's index of `dupe` 1.0 gains a second entry titled like the first, whose
/// manifest points at other bytes; `opp pull` must refuse it before downloading.
#[test]
fn pull_refuses_an_index_that_names_one_file_twice_and_writes_nothing() {
    let env = Env::new();
    let reg = Registry::start();
    let wheel = fixtures::make_wheel(env.root(), "dupe", "1.0", 0);
    run_ok(
        env.opp()
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(&wheel),
    );
    let repo = "pypi/dupe";
    let mut index = opentofu::fetch(&reg.host, repo, "1.0").json();
    let entry = index["manifests"][0].clone();
    let digest = entry["digest"].as_str().unwrap();
    let mut manifest = opentofu::fetch(&reg.host, repo, digest).json();
    let other = b"other bytes under the same file name".to_vec();
    manifest["layers"][0]["digest"] = Value::from(opentofu::put_blob(&reg.host, repo, &other));
    manifest["layers"][0]["size"] = Value::from(other.len());
    let (other_digest, other_size) = opentofu::put_manifest(
        &reg.host,
        repo,
        &opentofu::sha256_digest(&serde_json::to_vec(&manifest).unwrap()),
        &manifest,
    );
    let mut twin = entry.clone();
    twin["digest"] = Value::from(other_digest);
    twin["size"] = Value::from(other_size);
    index["manifests"].as_array_mut().unwrap().push(twin);
    opentofu::put_manifest(&reg.host, repo, "1.0", &index);

    let dest = env.root().join("out");
    let (out, rss) = run_measured(
        env.opp()
            .args(["--registry", &reg.host, "pull", "pypi", "dupe==1.0", "-o"])
            .arg(&dest),
    );
    let file = wheel.file_name().unwrap().to_string_lossy().into_owned();
    refused(&out, rss, &["`dupe` 1.0", &file, "twice"]);
    assert!(!dest.exists(), "{} was created", dest.display());
}

#[cfg(unix)]
#[test]
fn a_fifo_given_as_a_package_is_refused_by_name_for_every_ecosystem() {
    let env = Env::new();
    let mut failures = Vec::new();
    for (eco, name) in [
        ("pypi", "fifo-1.0-py3-none-any.whl"),
        ("nuget", "Fifo.1.0.0.nupkg"),
        ("rubygems", "fifo-1.0.0.gem"),
    ] {
        let fifo = env.root().join(name);
        let made = Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils)");
        let mut cmd = env.opp();
        cmd.args(["push", eco]).arg(&fifo);
        let child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = support::cli::wait_within(child, std::time::Duration::from_secs(20))
            .unwrap_or_else(|killed| {
                failures.push(format!("{eco}: still waiting on the FIFO after 20 s"));
                killed
            });
        let err = stderr(&out);
        let expected = format!("{} is not a regular file", fifo.display());
        if out.status.code() != Some(1) || !err.contains(&expected) {
            failures.push(format!(
                "{eco}: exit {:?}, stderr: {err}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(!env.store().exists(), "nothing pushed");
}

/// A wheel whose METADATA and a nupkg whose nuspec unpack to 20 MiB (zip bombs in the
/// metadata member): each push names the file, the member and the 16 MiB limit.
#[test]
fn push_of_a_package_whose_metadata_member_is_a_zip_bomb_is_refused_at_16_mib() {
    let env = Env::new();
    let wheel = bomb_zip(
        &env.root().join("bomb-1.0-py3-none-any.whl"),
        &[("bomb/__init__.py", b"", 0o644)],
        &[("bomb-1.0.dist-info/METADATA", 20 << 20)],
    );
    let nupkg = bomb_zip(
        &env.root().join("Bomb.1.0.0.nupkg"),
        &[],
        &[("Bomb.nuspec", 20 << 20)],
    );
    let mut failures = Vec::new();
    for (eco, file, member) in [
        ("pypi", &wheel, "bomb-1.0.dist-info/METADATA"),
        ("nuget", &nupkg, "Bomb.nuspec"),
    ] {
        let (out, rss) = run_measured(env.opp().args(["push", eco]).arg(file));
        let err = stderr(&out);
        let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or("");
        let wanted = [
            file.display().to_string(),
            member.to_string(),
            "more than 16 MiB".to_string(),
        ];
        if out.status.code() != Some(1)
            || rss >= MAX_RSS_KIB
            || !wanted.iter().all(|w| line.contains(w.as_str()))
        {
            failures.push(format!(
                "{eco}: exit {:?}, peak RSS {rss} KiB, stderr: {err}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(!env.store().exists(), "nothing pushed");
}

/// A wheel whose METADATA is real but long (a 17 MiB description): refused at the 16 MiB
/// limit with the variable that raises it named, then pushed once OPP_MAX_METADATA_SIZE allows.
#[test]
fn a_long_metadata_is_refused_at_the_limit_and_pushed_once_opp_max_metadata_size_allows_it() {
    let env = Env::new();
    let mut metadata = b"Metadata-Version: 2.1\nName: longdesc\nVersion: 1.0\n\n".to_vec();
    metadata.extend(std::iter::repeat_n(b'a', 17 << 20));
    let wheel = bomb_zip(
        &env.root().join("longdesc-1.0-py3-none-any.whl"),
        &[
            ("longdesc/__init__.py", b"", 0o644),
            ("longdesc-1.0.dist-info/METADATA", &metadata, 0o644),
            (
                "longdesc-1.0.dist-info/WHEEL",
                b"Wheel-Version: 1.0\nGenerator: opp-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                0o644,
            ),
        ],
        &[],
    );
    let refused = run_fail(env.opp().args(["push", "pypi"]).arg(&wheel));
    let err = stderr(&refused);
    assert!(
        err.contains("longdesc-1.0.dist-info/METADATA")
            && err.contains("more than 16 MiB")
            && err.contains("OPP_MAX_METADATA_SIZE"),
        "{err}"
    );
    assert!(!env.store().exists(), "nothing pushed");
    run_ok(
        env.opp()
            .env("OPP_MAX_METADATA_SIZE", "32MiB")
            .args(["push", "pypi"])
            .arg(&wheel),
    );
    let listed = run_ok(env.opp().args(["list", "pypi", "longdesc", "--json"]));
    assert!(stdout(&listed).contains("\"1.0\""), "{}", stdout(&listed));
}

/// The same alias bomb sent with `gem push` through `opp proxy`: the proxy refuses the upload
/// (gem reports the failure), stays within bounded memory, and stores nothing.
#[test]
fn gem_push_of_an_alias_bomb_through_the_proxy_is_refused_in_bounded_memory() {
    let env = Env::new();
    let gem_tool = support::gems::ruby_tool("gem");
    let gem = gem_with_metadata_gz(
        &env.root().join("bomb-1.0.0.gem"),
        gz(alias_bomb_yaml().as_bytes()),
    );
    let (out, rss) = run_measured(
        env.opp()
            .args(["proxy", "--"])
            .arg(&gem_tool)
            .arg("push")
            .arg(&gem),
    );
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!out.status.success(), "gem push succeeded: {text}");
    assert!(text.contains("alias"), "the refusal says why: {text}");
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB: {text}");
    assert!(!env.store().join("rubygems").exists(), "nothing pushed");
}

//! Bad gems given to `opp push rubygems`: each gets one clear error naming the file and what
//! to do, a non-zero exit, and nothing is pushed, not even the good gems given with it. The
//! broken gems start from a real `gem build` gem whose members are then replaced.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::support::cli::{Env, run_fail, run_ok, stderr};
use crate::support::gems::{self, GemSpec};

/// The members of a real gem: (name, bytes), in order.
fn members(gem: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(std::fs::File::open(gem).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Writes a tar of `members` to `path`.
fn write_gem(path: &Path, members: &[(String, Vec<u8>)]) -> PathBuf {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in members {
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

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A real gem, and a copy of its members with `metadata.gz` replaced by `metadata`
/// (or dropped when `None`).
fn with_metadata(env: &Env, good: &Path, file: &str, metadata: Option<Vec<u8>>) -> PathBuf {
    let mut m = members(good);
    match metadata {
        Some(bytes) => {
            let slot = m.iter_mut().find(|(n, _)| n == "metadata.gz").unwrap();
            slot.1 = bytes;
        }
        None => m.retain(|(n, _)| n != "metadata.gz"),
    }
    write_gem(&env.root().join(file), &m)
}

fn real_yaml(good: &Path) -> String {
    let (_, gz_bytes) = members(good)
        .into_iter()
        .find(|(n, _)| n == "metadata.gz")
        .unwrap();
    let mut yaml = String::new();
    GzDecoder::new(gz_bytes.as_slice())
        .read_to_string(&mut yaml)
        .unwrap();
    yaml
}

/// Pushes `bad` together with a good gem; checks the whole of stderr (the test's directory
/// written as `[ROOT]`), the exit status, and that nothing reached the store.
fn refused(env: &Env, good: &Path, bad: &Path, expected: &str) {
    let out = run_fail(env.opp().args(["push", "rubygems"]).arg(good).arg(bad));
    let err = stderr(&out).replace(&env.root().display().to_string(), "[ROOT]");
    assert_eq!(
        err.trim_end(),
        expected,
        "the whole error, as a user reads it"
    );
    assert_eq!(out.status.code(), Some(1), "exit code");
    assert!(
        !env.store().join("rubygems").exists(),
        "nothing pushed: {err}"
    );
}

/// A real gem built by `gem build`, to push beside the bad one.
fn good_gem(env: &Env) -> PathBuf {
    gems::build(
        env,
        &GemSpec {
            name: "good",
            version: "1.0.0",
            ..GemSpec::default()
        },
    )
}

#[test]
fn a_file_that_is_not_a_tar_is_refused() {
    let env = Env::new();
    let good = good_gem(&env);
    let bad = env.root().join("not-a-tar-1.0.gem");
    std::fs::write(&bad, b"this is a text file, not a gem\n").unwrap();
    refused(
        &env,
        &good,
        &bad,
        "error: [ROOT]/not-a-tar-1.0.gem is not a gem: a .gem is a tar archive, and this one cannot be read as tar (failed to read entire block)\n  hint: rebuild it with `gem build`",
    );
}

#[test]
fn a_gem_without_metadata_is_refused() {
    let env = Env::new();
    let good = good_gem(&env);
    let bad = with_metadata(&env, &good, "no-metadata-1.0.gem", None);
    refused(
        &env,
        &good,
        &bad,
        "error: [ROOT]/no-metadata-1.0.gem has no metadata.gz, so it is not a gem (a .gem holds metadata.gz, data.tar.gz and checksums.yaml.gz)\n  hint: rebuild it with `gem build`",
    );
}

#[test]
fn metadata_that_is_not_gzip_is_refused() {
    let env = Env::new();
    let good = good_gem(&env);
    let yaml = real_yaml(&good);
    let bad = with_metadata(
        &env,
        &good,
        "plain-metadata-1.0.gem",
        Some(yaml.into_bytes()),
    );
    refused(
        &env,
        &good,
        &bad,
        "error: [ROOT]/plain-metadata-1.0.gem: cannot read metadata.gz: not gzip-compressed (invalid gzip header)\n  hint: rebuild the gem with `gem build`",
    );
}

#[test]
fn metadata_that_is_not_yaml_is_refused() {
    let env = Env::new();
    let good = good_gem(&env);
    let bad = with_metadata(
        &env,
        &good,
        "not-yaml-1.0.gem",
        Some(gz(
            b"--- !ruby/object:Gem::Specification\nname: [unclosed\n",
        )),
    );
    refused(
        &env,
        &good,
        &bad,
        "error: [ROOT]/not-yaml-1.0.gem: the specification in metadata.gz is not valid YAML: while parsing a flow sequence, expected ',' or ']' at byte 52 line 3 column 1\n  hint: rebuild the gem with `gem build`",
    );
}

#[test]
fn a_gem_name_the_mapper_refuses_is_named() {
    let env = Env::new();
    let good = good_gem(&env);
    let yaml = real_yaml(&good);
    let bad = with_metadata(
        &env,
        &good,
        "bad-name-1.0.gem",
        Some(gz(yaml.replace("name: good", "name: good/evil").as_bytes())),
    );
    refused(
        &env,
        &good,
        &bad,
        "error: [ROOT]/bad-name-1.0.gem: cannot map rubygems package `good/evil` to a repository: `/` is not allowed in gem names\n  hint: fix the name in the gemspec and rebuild the gem",
    );
}

#[test]
fn a_directory_without_gems_is_refused_and_a_good_gem_alone_goes_in() {
    let env = Env::new();
    let empty_dir = env.root().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let out = run_fail(env.opp().args(["push", "rubygems"]).arg(&empty_dir));
    let err = stderr(&out).replace(&env.root().display().to_string(), "[ROOT]");
    assert_eq!(
        err.trim_end(),
        "error: [ROOT]/empty contains no gems (*.gem)\n  hint: build one first, e.g. with `gem build NAME.gemspec`"
    );
    assert_eq!(out.status.code(), Some(1), "exit code");

    let good = good_gem(&env);
    run_ok(env.opp().args(["push", "rubygems"]).arg(&good));
    assert!(env.store().join("rubygems/good").is_dir());
}

#[test]
fn other_bytes_for_a_stored_gem_need_force() {
    let env = Env::new();
    let spec = GemSpec {
        name: "changing",
        version: "1.0.0",
        ..GemSpec::default()
    };
    let first = gems::build(&env, &spec);
    let first_copy = env.root().join("first.gem");
    std::fs::copy(&first, &first_copy).unwrap();
    run_ok(env.opp().args(["push", "rubygems"]).arg(&first_copy));
    // The same name and version with another summary: other bytes.
    let yaml = real_yaml(&first_copy).replace("opp test gem", "changed gem");
    let second = with_metadata(&env, &first_copy, "second.gem", Some(gz(yaml.as_bytes())));
    let out = run_fail(env.opp().args(["push", "rubygems"]).arg(&second));
    let err = stderr(&out);
    assert!(
        err.contains("changing-1.0.0.gem is already stored with other content")
            && err.contains("--force"),
        "{err}"
    );
    let out = run_ok(env.opp().args(["push", "rubygems", "--force"]).arg(&second));
    assert!(
        stderr(&out).contains("replaced changing-1.0.0.gem"),
        "{}",
        stderr(&out)
    );
}

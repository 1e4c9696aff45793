//! The Marshal writer checked against real Ruby: what it writes loads in `ruby` into the
//! same objects `gem generate_index` writes for the same gem.

use std::path::Path;
use std::process::Command;

use super::*;

const RUBY_HINT: &str = "ruby is needed for these tests: run `scripts/install-test-deps.sh ruby` \
     (or `apt-get install --no-install-recommends ruby bundler`)";

/// Runs `ruby -e script args...` and returns its stdout; fails the test with a hint when
/// ruby is missing or the script fails.
fn ruby(script: &str, args: &[&Path]) -> String {
    let out = Command::new("ruby")
        .arg("-e")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ruby ({e}): {RUBY_HINT}"));
    assert!(
        out.status.success(),
        "ruby failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn req(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(op, v)| ((*op).to_owned(), (*v).to_owned()))
        .collect()
}

fn demo(platform: &str) -> SpecFields {
    SpecFields {
        name: "oppdemo".into(),
        version: "0.1.0".into(),
        platform: platform.into(),
        rubygems_version: "3.3.15".into(),
        specification_version: 4,
        date: (2024, 2, 29),
        summary: "demo".into(),
        description: None,
        homepage: Some("https://x.y".into()),
        email: vec!["a@b.c".into()],
        authors: vec!["A B".into()],
        licenses: vec!["MIT".into()],
        metadata: vec![("source_code_uri".into(), "https://x.y/src".into())],
        required_ruby_version: req(&[(">=", "2.7")]),
        required_rubygems_version: Vec::new(),
        dependencies: vec![
            Dependency {
                name: "rake".into(),
                runtime: true,
                requirement: req(&[(">=", "1.0"), ("<", "99")]),
            },
            Dependency {
                name: "minitest".into(),
                runtime: false,
                requirement: req(&[("~>", "5")]),
            },
        ],
    }
}

/// The gemspec `demo(platform)` describes.
fn gemspec(platform: &str) -> String {
    format!(
        r#"Gem::Specification.new do |s|
  s.name = "oppdemo"; s.version = "0.1.0"; s.summary = "demo"; s.authors = ["A B"]
  s.files = ["lib/oppdemo.rb"]; s.license = "MIT"; s.email = "a@b.c"; s.homepage = "https://x.y"
  s.platform = "{platform}"; s.date = "2024-02-29"
  s.required_ruby_version = ">= 2.7"
  s.add_runtime_dependency "rake", ">= 1.0", "< 99"
  s.add_development_dependency "minitest", "~> 5"
  s.metadata = {{"source_code_uri" => "https://x.y/src"}}
end
"#
    )
}

/// What a loaded spec looks like, attribute by attribute (ruby prints it).
const DESCRIBE: &str = r#"
s = Marshal.load(Zlib::Inflate.inflate(File.binread(ARGV[0])))
puts [s.class, s.name, s.version.class, s.version, s.platform.class, s.platform,
      s.original_platform, s.date.utc.to_s, s.summary, s.email.inspect, s.authors.inspect,
      s.homepage, s.licenses.inspect, s.metadata.inspect, s.required_ruby_version,
      s.required_rubygems_version, s.specification_version, s.rubygems_version,
      s.dependencies.map { |d| [d.name, d.type, d.requirement.to_s, d.prerelease?].inspect },
      s.full_name].join("\n")
"#;

fn write_rz(path: &Path, marshal: &[u8]) {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(marshal).expect("deflate");
    std::fs::write(path, z.finish().expect("deflate")).expect("write .rz");
}

#[test]
fn a_specification_loads_in_ruby_as_gem_generate_index_writes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gems = dir.path().join("gems");
    std::fs::create_dir_all(dir.path().join("src/lib")).expect("mkdir");
    std::fs::create_dir_all(&gems).expect("mkdir");
    std::fs::write(
        dir.path().join("src/lib/oppdemo.rb"),
        "module Oppdemo; end\n",
    )
    .expect("write");
    for platform in ["ruby", "x86_64-linux"] {
        std::fs::write(dir.path().join("src/oppdemo.gemspec"), gemspec(platform)).expect("write");
        let built = Command::new("gem")
            .args(["build", "oppdemo.gemspec", "--output"])
            .arg(gems.join(format!("oppdemo-{platform}.gem")))
            .current_dir(dir.path().join("src"))
            .env("HOME", dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run gem ({e}): {RUBY_HINT}"));
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
    let indexed = Command::new("gem")
        .args(["generate_index", "--directory"])
        .arg(dir.path())
        .env("HOME", dir.path())
        .output()
        .expect("gem generate_index");
    assert!(
        indexed.status.success(),
        "{}",
        String::from_utf8_lossy(&indexed.stderr)
    );

    for (platform, full_name) in [
        ("ruby", "oppdemo-0.1.0"),
        ("x86_64-linux", "oppdemo-0.1.0-x86_64-linux"),
    ] {
        let ours = dir.path().join(format!("ours-{full_name}.gemspec.rz"));
        write_rz(&ours, &specification(&demo(platform)).expect("marshal"));
        let theirs = dir
            .path()
            .join(format!("quick/Marshal.4.8/{full_name}.gemspec.rz"));
        let script = format!("require 'zlib'\n{DESCRIBE}");
        let ours_text = ruby(&script, &[&ours]);
        assert_eq!(ours_text, ruby(&script, &[&theirs]), "{platform}");
        assert!(
            ours_text.contains("Gem::Specification\noppdemo\nGem::Version\n0.1.0\n"),
            "{ours_text}"
        );
        assert!(ours_text.contains(full_name), "{ours_text}");
        assert!(ours_text.contains(r#"["rake", :runtime, "#), "{ours_text}");
    }
}

#[test]
fn spec_tuples_load_in_ruby_as_the_full_index_writes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("specs.4.8");
    let bytes = spec_tuples([
        ("oppdemo", "0.1.0", "ruby"),
        ("oppdemo", "0.1.0", "x86_64-linux"),
        ("other", "2.0.0.pre1", "ruby"),
    ])
    .expect("marshal");
    std::fs::write(&path, bytes).expect("write");
    let text = ruby(
        "p Marshal.load(File.binread(ARGV[0])).map { |n, v, p| [n, v.class, v.to_s, v.prerelease?, p] }",
        &[&path],
    );
    assert_eq!(
        text.trim(),
        r#"[["oppdemo", Gem::Version, "0.1.0", false, "ruby"], ["oppdemo", Gem::Version, "0.1.0", false, "x86_64-linux"], ["other", Gem::Version, "2.0.0.pre1", true, "ruby"]]"#
    );
}

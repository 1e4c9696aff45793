//! Tests of reading gem specifications: YAML that `gem build` (RubyGems 3.3.15) wrote, an
//! older style with anchors and a `Gem::Platform` mapping, and whole gems built in memory as
//! `gem build` lays them out (good and broken).

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

/// `metadata.gz` of `Foo_Bar-1.2.0.gem`, built by `gem build` from a gemspec with two runtime
/// dependencies, a development one, metadata and a required Ruby version.
const PLAIN: &str = r#"--- !ruby/object:Gem::Specification
name: Foo_Bar
version: !ruby/object:Gem::Version
  version: 1.2.0
platform: ruby
authors:
- Ann
- Bob
autorequire:
bindir: bin
cert_chain: []
date: 2026-11-27 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: rack
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '2.0'
    - - "<"
      - !ruby/object:Gem::Version
        version: '4'
  type: :runtime
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '2.0'
    - - "<"
      - !ruby/object:Gem::Version
        version: '4'
- !ruby/object:Gem::Dependency
  name: json
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '2.6'
  type: :runtime
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '2.6'
- !ruby/object:Gem::Dependency
  name: rake
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '13.0'
  type: :development
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '13.0'
description: |-
  Longer description
  with two lines
email: ann@example.com
executables: []
extensions: []
extra_rdoc_files: []
files:
- lib/foo_bar.rb
homepage: https://example.com
licenses:
- MIT
metadata:
  source_code_uri: https://example.com/src
post_install_message:
rdoc_options: []
require_paths:
- lib
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '2.7'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
requirements: []
rubygems_version: 3.3.15
signing_key:
specification_version: 4
summary: A test gem
test_files: []
"#;

/// `metadata.gz` of `Foo_Bar-1.2.0-x86_64-linux.gem` (a platform gem, no dependencies).
const PLATFORM: &str = r#"--- !ruby/object:Gem::Specification
name: Foo_Bar
version: !ruby/object:Gem::Version
  version: 1.2.0
platform: x86_64-linux
authors:
- Ann
autorequire:
bindir: bin
cert_chain: []
date: 2026-11-27 00:00:00.000000000 Z
dependencies: []
description:
email:
executables: []
extensions: []
extra_rdoc_files: []
files:
- lib/foo_bar.rb
homepage:
licenses: []
metadata: {}
post_install_message:
rdoc_options: []
require_paths:
- lib
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '3.0'
requirements: []
rubygems_version: 3.3.15
signing_key:
specification_version: 4
summary: A test gem
test_files: []
"#;

/// The style of older RubyGems: anchors shared between `requirement` and
/// `version_requirements`, a `Gem::Platform` object, a single email string, numbers unquoted.
const OLD_STYLE: &str = r#"--- !ruby/object:Gem::Specification
name: oldgem
version: !ruby/object:Gem::Version
  version: 0.9.1
platform: !ruby/object:Gem::Platform
  cpu: x86
  os: mswin32
  version: '60'
authors:
- Old Timer
date: 2009-03-01 00:00:00 +00:00
dependencies:
- !ruby/object:Gem::Dependency
  name: rack
  type: :runtime
  version_requirement:
  version_requirements: &id001 !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: 1
    version:
email: old@example.com
required_ruby_version: *id001
rubygems_version: 1.3.1
specification_version: 2
summary: An old gem
"#;

fn pair(op: &str, v: &str) -> (String, String) {
    (op.to_owned(), v.to_owned())
}

#[test]
fn reads_what_gem_build_writes() {
    let info = spec::parse(PLAIN).unwrap();
    assert_eq!(info.name, "Foo_Bar");
    assert_eq!(info.version, "1.2.0");
    assert_eq!(info.platform, "ruby");
    assert_eq!(info.file_name(), "Foo_Bar-1.2.0.gem");
    assert_eq!(info.summary, "A test gem");
    assert_eq!(
        info.description.as_deref(),
        Some("Longer description\nwith two lines")
    );
    assert_eq!(info.authors, ["Ann", "Bob"]);
    assert_eq!(info.email, ["ann@example.com"]);
    assert_eq!(info.homepage.as_deref(), Some("https://example.com"));
    assert_eq!(info.licenses, ["MIT"]);
    assert_eq!(
        info.metadata.get("source_code_uri").map(String::as_str),
        Some("https://example.com/src")
    );
    assert_eq!(info.date, "2026-11-27");
    assert_eq!(info.require_paths, ["lib"]);
    assert_eq!(info.bindir, "bin");
    assert!(info.executables.is_empty());
    assert_eq!(info.rubygems_version, "3.3.15");
    assert_eq!(info.specification_version, 4);
    assert_eq!(info.required_ruby_version.0, [pair(">=", "2.7")]);
    assert_eq!(info.required_rubygems_version.0, [pair(">=", "0")]);
    assert!(info.required_rubygems_version.is_default());
    let deps: Vec<(&str, DependencyKind, String)> = info
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.kind, d.requirement.compact()))
        .collect();
    assert_eq!(
        deps,
        [
            ("rack", DependencyKind::Runtime, ">= 2.0&< 4".to_owned()),
            ("json", DependencyKind::Runtime, "~> 2.6".to_owned()),
            ("rake", DependencyKind::Development, "~> 13.0".to_owned()),
        ]
    );
    assert_eq!(info.runtime_dependencies().count(), 2);
}

#[test]
fn reads_a_platform_gem() {
    let info = spec::parse(PLATFORM).unwrap();
    assert_eq!(info.platform, "x86_64-linux");
    assert_eq!(info.file_name(), "Foo_Bar-1.2.0-x86_64-linux.gem");
    assert!(info.dependencies.is_empty());
    assert_eq!(info.description, None);
    assert!(info.email.is_empty());
    assert_eq!(info.required_rubygems_version.0, [pair(">=", "3.0")]);
}

#[test]
fn reads_older_specifications_with_anchors_and_platform_objects() {
    let info = spec::parse(OLD_STYLE).unwrap();
    assert_eq!(info.version, "0.9.1");
    assert_eq!(info.platform, "x86-mswin32-60");
    assert_eq!(info.email, ["old@example.com"]);
    assert_eq!(info.specification_version, 2);
    assert_eq!(info.dependencies[0].requirement.0, [pair(">=", "1")]);
    assert_eq!(info.required_ruby_version.0, [pair(">=", "1")]);
    assert_eq!(info.require_paths, ["lib"]);
}

#[test]
fn the_info_json_round_trips() {
    let info = spec::parse(PLAIN).unwrap();
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["dependencies"][0]["kind"], "runtime");
    assert_eq!(
        json["dependencies"][0]["requirement"],
        serde_json::json!([[">=", "2.0"], ["<", "4"]])
    );
    assert_eq!(
        json["required_ruby_version"],
        serde_json::json!([[">=", "2.7"]])
    );
    let back: GemInfo = serde_json::from_value(json).unwrap();
    assert_eq!(back, info);
}

#[test]
fn refuses_specifications_that_are_not_one() {
    for (yaml, says) in [
        ("name: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "not a mapping"),
        (
            "version: !ruby/object:Gem::Version\n  version: 1.0\n",
            "no `name`",
        ),
        ("name: x\n", "no `version`"),
        (
            "name: x\nversion: 1.0\ndependencies:\n- name: y\n  requirement: 5\n",
            "dependency `y`",
        ),
    ] {
        let err = spec::parse(yaml).unwrap_err();
        assert!(err.contains(says), "{yaml:?}: {err}");
    }
}

/// A gem laid out as `gem build` does, with the given members.
fn gem_bytes(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o444);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn describe_bytes(bytes: &[u8]) -> Result<Gem, RubygemsError> {
    describe_reader(Path::new("upload.gem"), bytes, bytes.len() as u64)
}

#[test]
fn describes_a_gem_and_hashes_all_of_it() {
    let bytes = gem_bytes(&[
        ("metadata.gz", gz(PLAIN.as_bytes())),
        ("data.tar.gz", gz(b"")),
        ("checksums.yaml.gz", gz(b"---\n")),
    ]);
    let gem = describe_bytes(&bytes).unwrap();
    assert_eq!(gem.file_name, "Foo_Bar-1.2.0.gem");
    assert_eq!(gem.size, bytes.len() as u64);
    assert_eq!(gem.info.sha256, crate::digest::Digest::of(&bytes).hex());
    assert_eq!(gem.path, Path::new("upload.gem"));
}

#[test]
fn bad_gems_get_one_clear_error_each() {
    let not_tar = describe_bytes(b"this is not a tar archive at all").unwrap_err();
    assert!(matches!(not_tar, RubygemsError::NotTar { .. }), "{not_tar}");
    assert!(not_tar.to_string().contains("upload.gem is not a gem"));

    let empty = describe_bytes(&[0u8; 1024]).unwrap_err();
    assert!(matches!(empty, RubygemsError::NotTar { .. }), "{empty}");

    let no_metadata = describe_bytes(&gem_bytes(&[("data.tar.gz", gz(b""))])).unwrap_err();
    assert!(
        matches!(no_metadata, RubygemsError::MissingMetadata { .. }),
        "{no_metadata}"
    );
    assert!(no_metadata.to_string().contains("has no metadata.gz"));

    let not_gzip =
        describe_bytes(&gem_bytes(&[("metadata.gz", PLAIN.as_bytes().to_vec())])).unwrap_err();
    assert!(
        matches!(not_gzip, RubygemsError::BadMetadataGz { .. }),
        "{not_gzip}"
    );
    assert!(not_gzip.to_string().contains("not gzip-compressed"));

    let not_yaml = describe_bytes(&gem_bytes(&[("metadata.gz", gz(b"name: [oops"))])).unwrap_err();
    assert!(
        matches!(not_yaml, RubygemsError::InvalidSpec { .. }),
        "{not_yaml}"
    );
    assert!(not_yaml.to_string().contains("not valid YAML"));

    let bad_name = PLAIN.replace("name: Foo_Bar", "name: \"-foo\"");
    let refused =
        describe_bytes(&gem_bytes(&[("metadata.gz", gz(bad_name.as_bytes()))])).unwrap_err();
    assert!(
        matches!(refused, RubygemsError::InvalidName { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("`-foo`"), "{refused}");
}

#[test]
fn discovers_gems_in_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b-1.0.gem"), b"x").unwrap();
    std::fs::write(dir.path().join("a-1.0.gem"), b"x").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
    let found = discover(&[dir.path().to_path_buf(), dir.path().join("a-1.0.gem")]).unwrap();
    assert_eq!(
        found,
        [dir.path().join("a-1.0.gem"), dir.path().join("b-1.0.gem")]
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        discover(&[empty.path().to_path_buf()]),
        Err(RubygemsError::EmptyDirectory { .. })
    ));
    assert!(matches!(
        discover(&[dir.path().join("missing.gem")]),
        Err(RubygemsError::NotFound { .. })
    ));
}

//! Property tests over every metadata parser: inputs built from the pieces each format is
//! made of (and random bytes, and damaged archives), a bounded number of cases so `cargo test`
//! stays quick. Each asserts no panic and an output bounded by the input. Longer runs are
//! `scripts/fuzz.sh` (cargo-fuzz over the same entry points).

use std::io::{Cursor, Write};

use proptest::prelude::*;

use super::*;

/// Output may not grow past this multiple of the input (plus room for a fixed message).
fn bounded(input: usize, output: usize) -> bool {
    output <= 16 * input + 4096
}

/// Text made of `pieces` and bits of arbitrary text, up to `max` of them.
fn text_of(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(pieces).prop_map(str::to_owned),
        1 => "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..max).prop_map(|parts| parts.concat())
}

const METADATA: &[&str] = &[
    "Metadata-Version: 2.1\n",
    "Name: ",
    "Version: ",
    "Requires-Python: ",
    "Summary: ",
    "\n",
    "\n ",
    "\t",
    ": ",
    "demo",
    "1.0",
    ">=3.8",
    "\r\n",
    "\u{feff}",
];

const NUSPEC: &[&str] = &[
    "<?xml version=\"1.0\"?>",
    "<package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\">",
    "</package>",
    "<metadata>",
    "</metadata>",
    "<id>",
    "</id>",
    "<version>",
    "</version>",
    "<dependencies>",
    "</dependencies>",
    "<group targetFramework=\"net8.0\">",
    "</group>",
    "<dependency id=\"A\" version=\"[1.0,2.0)\" />",
    "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    "&a;",
    "&amp;",
    "<![CDATA[x]]>",
    "Acme.Widgets",
    "1.0.0",
    " ",
];

const YAML: &[&str] = &[
    "--- !ruby/object:Gem::Specification\n",
    "name: ",
    "version: ",
    "!ruby/object:Gem::Version\n  version: ",
    "dependencies:\n",
    "- !ruby/object:Gem::Dependency\n",
    "requirement: ",
    "!ruby/object:Gem::Requirement\n  requirements:\n  - - \">=\"\n    - ",
    "platform: ",
    "metadata:\n",
    "&a ",
    "&b ",
    "*a",
    "*b",
    "[",
    "]",
    "{",
    "}",
    ", ",
    ": ",
    "- ",
    "\n",
    "  ",
    "'",
    "\"",
    "demo",
    "1.0.0",
    "lol",
    "? ",
    "|\n",
    "%TAG ! tag:x:\n",
];

const SHASUMS: &[&str] = &[
    "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    "  ",
    " ",
    "\n",
    "\r\n",
    "*",
    "terraform-provider-x_1.0.0_linux_amd64.zip",
    "terraform-provider-x_1.0.0_manifest.json",
    "../x.zip",
    "\u{0}",
];

const MANIFEST: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"version\"",
    "\"metadata\"",
    "\"protocol_versions\"",
    "\"6.0\"",
    "\"5.\"",
    ": ",
    ", ",
    "1",
    "null",
    "\"\\u0000\"",
];

const NAMES: &[&str] = &[
    "main.tf",
    "a/",
    "b",
    "/",
    "..",
    ".",
    "\\",
    "C:",
    "x.nuspec",
    "METADATA",
    "demo-1.0.dist-info",
    "metadata.gz",
    "PKG-INFO",
    "\u{0}",
    "é",
];

/// Unix modes a zip entry may claim: file, executable, directory, symlink, FIFO.
const MODES: &[u32] = &[0o100644, 0o100755, 0o040755, 0o120777, 0o010644];

/// A zip of up to `max` entries with names made of [`NAMES`] and one of [`MODES`], then
/// possibly damaged at a few offsets.
fn zip_of(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let name = prop::collection::vec(prop::sample::select(NAMES), 1..4).prop_map(|p| p.join("/"));
    let entry = (
        name,
        prop::sample::select(MODES),
        prop::collection::vec(any::<u8>(), 0..64),
    );
    let damage = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3);
    (prop::collection::vec(entry, 0..max), damage).prop_map(|(entries, damage)| {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, mode, content) in entries {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(mode);
            if zip.start_file(name, options).is_ok() {
                let _ = zip.write_all(&content);
            }
        }
        let mut bytes = zip.finish().map(Cursor::into_inner).unwrap_or_default();
        if !bytes.is_empty() {
            for (at, byte) in damage {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
        }
        bytes
    })
}

/// A tar holding `metadata.gz` (the given YAML, gzipped) and the other gem members.
fn gem_of(yaml: String) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(yaml.as_bytes());
    let metadata = gz.finish().unwrap_or_default();
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("metadata.gz", metadata.as_slice()),
        ("data.tar.gz", &[][..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        let _ = tar.append_data(&mut header, name, bytes);
    }
    tar.into_inner().unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn core_metadata_never_panics_and_stays_bounded(text in text_of(METADATA, 64)) {
        prop_assert!(bounded(text.len(), core_metadata(text.as_bytes())));
    }

    #[test]
    fn nuspec_never_panics_and_stays_bounded(text in text_of(NUSPEC, 48)) {
        prop_assert!(bounded(text.len(), nuspec(text.as_bytes())));
    }

    #[test]
    fn gem_yaml_never_panics_and_stays_bounded(text in text_of(YAML, 64)) {
        prop_assert!(bounded(text.len(), gem_yaml(text.as_bytes())));
    }

    #[test]
    fn provider_shasums_never_panic_and_stay_bounded(text in text_of(SHASUMS, 32)) {
        prop_assert!(bounded(text.len(), provider_shasums(text.as_bytes())));
    }

    #[test]
    fn provider_manifest_never_panics_and_stays_bounded(text in text_of(MANIFEST, 48)) {
        prop_assert!(bounded(text.len(), provider_manifest(text.as_bytes())));
    }

    #[test]
    fn random_bytes_never_panic_any_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for parse in [core_metadata, wheel, sdist, nuspec, nupkg, gem_yaml, gem,
                      provider_shasums, provider_manifest, module_zip] {
            prop_assert!(bounded(bytes.len(), parse(&bytes)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn zips_never_panic_the_zip_readers(zip in zip_of(6)) {
        for parse in [module_zip, wheel, nupkg] {
            prop_assert!(bounded(zip.len(), parse(&zip)));
        }
    }

    #[test]
    fn gems_never_panic_the_gem_reader(yaml in text_of(YAML, 48)) {
        let gem_bytes = gem_of(yaml);
        prop_assert!(bounded(gem_bytes.len(), gem(&gem_bytes)));
    }
}

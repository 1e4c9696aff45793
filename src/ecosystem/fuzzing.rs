//! One entry point per metadata parser, bytes in, for fuzzing: the cargo-fuzz targets in
//! `fuzz/` and the property tests below call these and nothing else. Each runs the parser the
//! way opp does on a user's or a registry's file, and returns the length of what it made
//! (the `Debug` text of the result), so a caller can check the output stays bounded. None may
//! panic, loop or allocate without bound on any input. Not an API for anything else.

use std::io::Cursor;
use std::path::Path;

use super::{nuget, pypi, rubygems, terraform_module, terraform_provider};

/// The length of `result`'s `Debug` text (an error's is its message's).
fn measure<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>) -> usize {
    match result {
        Ok(v) => format!("{v:?}").len(),
        Err(e) => e.to_string().len(),
    }
}

/// Wheel `METADATA` / sdist `PKG-INFO` text.
pub fn core_metadata(bytes: &[u8]) -> usize {
    format!("{:?}", pypi::CoreMetadata::parse(bytes)).len()
}

/// A whole wheel (a zip), as `opp push pypi` reads it.
pub fn wheel(bytes: &[u8]) -> usize {
    let path = Path::new("fuzz-1.0-py3-none-any.whl");
    measure(pypi::describe_reader(
        path,
        Cursor::new(bytes),
        bytes.len() as u64,
    ))
}

/// A whole sdist (a gzip tar), as `opp push pypi` reads it.
pub fn sdist(bytes: &[u8]) -> usize {
    let path = Path::new("fuzz-1.0.tar.gz");
    measure(pypi::describe_reader(
        path,
        Cursor::new(bytes),
        bytes.len() as u64,
    ))
}

/// A `.nuspec` document.
pub fn nuspec(bytes: &[u8]) -> usize {
    measure(nuget::parse_nuspec(bytes))
}

/// A whole `.nupkg` (a zip), as `opp push nuget` reads it.
pub fn nupkg(bytes: &[u8]) -> usize {
    let path = Path::new("Fuzz.1.0.0.nupkg");
    measure(nuget::describe_reader(
        path,
        Cursor::new(bytes),
        bytes.len() as u64,
    ))
}

/// A gem specification (the YAML inside `metadata.gz`).
pub fn gem_yaml(bytes: &[u8]) -> usize {
    measure(rubygems::parse_spec(&String::from_utf8_lossy(bytes)))
}

/// A whole `.gem` (a tar), as `opp push rubygems` and `gem push` through the proxy read it.
pub fn gem(bytes: &[u8]) -> usize {
    let path = Path::new("fuzz-1.0.0.gem");
    measure(rubygems::describe_reader(path, bytes, bytes.len() as u64))
}

/// A provider release's `SHA256SUMS`.
pub fn provider_shasums(bytes: &[u8]) -> usize {
    measure(terraform_provider::parse_shasums(
        Path::new("SHA256SUMS"),
        bytes,
    ))
}

/// A provider release's `_manifest.json`.
pub fn provider_manifest(bytes: &[u8]) -> usize {
    measure(terraform_provider::parse_protocols(
        Path::new("manifest.json"),
        bytes,
    ))
}

/// A module zip's listing (entry names, kinds, symlink targets), as `opp pull` checks it
/// before writing anything.
pub fn module_zip(bytes: &[u8]) -> usize {
    measure(terraform_module::list_zip(Cursor::new(bytes)))
}

#[cfg(test)]
#[path = "fuzzing_tests.rs"]
mod tests;

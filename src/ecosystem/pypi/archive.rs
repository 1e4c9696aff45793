//! Reading the core metadata member out of a distribution archive: `*.dist-info/METADATA`
//! from a wheel (zip), `<dir>/PKG-INFO` from an sdist (gzip tar, or a legacy zip). Every
//! member name is checked first; one absolute path or `..` component refuses the whole file.
//! Works on readers, not paths, so it is tested with archives built in memory; what the
//! metadata says is `metadata.rs`.

use std::io::{Read, Seek};
use std::path::Path;

use flate2::read::GzDecoder;

use super::PypiError;

// The largest metadata member opp reads: `limits::MAX_METADATA_BYTES` (a decompression
// bomb stops there).
use crate::ecosystem::limits;

/// A metadata member found in an archive: its path inside the archive and its exact bytes.
#[derive(Debug)]
pub(super) struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Whether an archive member name would escape the directory it is unpacked into: an absolute
/// path (`/x`, `\x`, `C:x`) or any `..` component.
pub(super) fn is_unsafe_member(name: &str) -> bool {
    let bytes = name.as_bytes();
    let absolute = name.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
    absolute || name.split(['/', '\\']).any(|part| part == "..")
}

/// The components of a member name, without empty and `.` ones (`./a//b/` -> `[a, b]`).
fn components(name: &str) -> Vec<&str> {
    name.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect()
}

/// `*.dist-info/METADATA` of a wheel, exactly as stored.
pub(super) fn wheel_metadata<R: Read + Seek>(path: &Path, reader: R) -> Result<Member, PypiError> {
    let mut zip = open_zip(path, reader)?;
    let names = checked_zip_names(path, &zip)?;
    let mut found: Vec<&String> = names
        .iter()
        .filter(
            |name| matches!(components(name)[..], [dir, "METADATA"] if dir.ends_with(".dist-info")),
        )
        .collect();
    found.dedup();
    match found[..] {
        [] => Err(PypiError::MissingMetadata {
            path: path.to_path_buf(),
            member: "<name>-<version>.dist-info/METADATA".to_string(),
        }),
        [member] => read_zip_member(path, &mut zip, member),
        _ => Err(PypiError::AmbiguousMetadata {
            path: path.to_path_buf(),
            members: found.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

/// `<dir>/PKG-INFO` of a legacy zip sdist.
pub(super) fn zip_sdist_pkg_info<R: Read + Seek>(
    path: &Path,
    reader: R,
) -> Result<Member, PypiError> {
    let mut zip = open_zip(path, reader)?;
    let names = checked_zip_names(path, &zip)?;
    match names.iter().find(|name| is_sdist_pkg_info(name)) {
        Some(member) => read_zip_member(path, &mut zip, member),
        None => Err(missing_pkg_info(path)),
    }
}

/// `<dir>/PKG-INFO` of a gzip tar sdist. The whole archive is read, so that a bad member
/// name anywhere refuses the file.
pub(super) fn tar_gz_sdist_pkg_info<R: Read>(path: &Path, reader: R) -> Result<Member, PypiError> {
    let not_tar = |source| PypiError::NotGzipTar {
        path: path.to_path_buf(),
        source,
    };
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let mut found: Option<Member> = None;
    for entry in archive.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if is_unsafe_member(&name) {
            return Err(unsafe_member(path, name));
        }
        if found.is_none() && entry.header().entry_type().is_file() && is_sdist_pkg_info(&name) {
            let bytes = read_limited(path, &name, &mut entry)?;
            found = Some(Member { name, bytes });
        }
    }
    found.ok_or_else(|| missing_pkg_info(path))
}

fn is_sdist_pkg_info(name: &str) -> bool {
    matches!(components(name)[..], [_, "PKG-INFO"])
}

fn missing_pkg_info(path: &Path) -> PypiError {
    PypiError::MissingMetadata {
        path: path.to_path_buf(),
        member: "<name>-<version>/PKG-INFO".to_string(),
    }
}

fn unsafe_member(path: &Path, member: String) -> PypiError {
    PypiError::UnsafeMember {
        path: path.to_path_buf(),
        member,
    }
}

fn open_zip<R: Read + Seek>(path: &Path, reader: R) -> Result<zip::ZipArchive<R>, PypiError> {
    zip::ZipArchive::new(reader).map_err(|source| PypiError::NotZip {
        path: path.to_path_buf(),
        source,
    })
}

/// All member names of a zip, refusing the archive if any is unsafe.
fn checked_zip_names<R: Read + Seek>(
    path: &Path,
    zip: &zip::ZipArchive<R>,
) -> Result<Vec<String>, PypiError> {
    let mut names = Vec::with_capacity(zip.len());
    for name in zip.file_names() {
        let name = name.map_err(|source| PypiError::NotZip {
            path: path.to_path_buf(),
            source,
        })?;
        if is_unsafe_member(&name) {
            return Err(unsafe_member(path, name.into_owned()));
        }
        names.push(name.into_owned());
    }
    Ok(names)
}

fn read_zip_member<R: Read + Seek>(
    path: &Path,
    zip: &mut zip::ZipArchive<R>,
    member: &str,
) -> Result<Member, PypiError> {
    let mut file = zip.by_name(member).map_err(|e| PypiError::CorruptMember {
        path: path.to_path_buf(),
        member: member.to_string(),
        reason: e.to_string(),
    })?;
    let bytes = read_limited(path, member, &mut file)?;
    Ok(Member {
        name: member.to_string(),
        bytes,
    })
}

fn read_limited(path: &Path, member: &str, reader: &mut impl Read) -> Result<Vec<u8>, PypiError> {
    let corrupt = |reason: String| PypiError::CorruptMember {
        path: path.to_path_buf(),
        member: member.to_string(),
        reason,
    };
    limits::read_at_most(reader, limits::metadata_bytes())
        .map_err(|e| corrupt(e.to_string()))?
        .ok_or_else(|| {
            corrupt(format!(
                "it unpacks to more than {}, the most opp reads of a metadata file \
                 (OPP_MAX_METADATA_SIZE raises it)",
                limits::show(limits::metadata_bytes())
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_parent_paths_are_unsafe() {
        for bad in ["/etc/passwd", "\\x", "C:/x", "a/../../b", "..", "a\\..\\b"] {
            assert!(is_unsafe_member(bad), "{bad}");
        }
        for ok in ["a/b", "a..b/c", "./a/PKG-INFO", "foo-1.0/..hidden"] {
            assert!(!is_unsafe_member(ok), "{ok}");
        }
    }

    #[test]
    fn pkg_info_is_found_only_one_level_down() {
        assert!(is_sdist_pkg_info("foo-1.0/PKG-INFO"));
        assert!(is_sdist_pkg_info("./foo-1.0/PKG-INFO"));
        assert!(!is_sdist_pkg_info("PKG-INFO"));
        assert!(!is_sdist_pkg_info("foo-1.0/src/foo.egg-info/PKG-INFO"));
    }
}

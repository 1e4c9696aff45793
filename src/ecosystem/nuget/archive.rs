//! Finding the `.nuspec` in a package: the one `*.nuspec` member at the root of the zip.
//! Every member name is checked first; an absolute path or a `..` component refuses the whole
//! package. Works on readers, so it is tested with archives built in memory; what the nuspec
//! says is `nuspec`.

use std::io::{Read, Seek};
use std::path::Path;

use super::NugetError;

// The largest metadata member opp reads: `limits::MAX_METADATA_BYTES` (a decompression
// bomb stops there).
use crate::ecosystem::limits;

/// The nuspec member: its name in the archive and its exact bytes.
#[derive(Debug)]
pub(super) struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Whether an archive member name would escape the directory it is unpacked into: an absolute
/// path (`/x`, `\x`, `C:x`) or any `..` component.
fn is_unsafe_member(name: &str) -> bool {
    let bytes = name.as_bytes();
    let absolute = name.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
    absolute || name.split(['/', '\\']).any(|part| part == "..")
}

/// A member at the root of the archive whose name ends with `.nuspec` (any case), as NuGet's
/// `PackageArchiveReader` looks for it.
fn is_root_nuspec(name: &str) -> bool {
    !name.contains(['/', '\\']) && name.to_ascii_lowercase().ends_with(".nuspec")
}

/// The root `*.nuspec` of a package, exactly as stored.
pub(super) fn nuspec<R: Read + Seek>(path: &Path, reader: R) -> Result<Member, NugetError> {
    let not_zip = |source| NugetError::NotZip {
        path: path.to_path_buf(),
        source,
    };
    let mut zip = zip::ZipArchive::new(reader).map_err(not_zip)?;
    let mut found = Vec::new();
    for name in zip.file_names() {
        let name = name.map_err(not_zip)?;
        if is_unsafe_member(&name) {
            return Err(NugetError::UnsafeMember {
                path: path.to_path_buf(),
                member: name.into_owned(),
            });
        }
        if is_root_nuspec(&name) {
            found.push(name.into_owned());
        }
    }
    let member = match &found[..] {
        [] => {
            return Err(NugetError::MissingNuspec {
                path: path.to_path_buf(),
            });
        }
        [one] => one.clone(),
        _ => {
            return Err(NugetError::AmbiguousNuspec {
                path: path.to_path_buf(),
                members: found,
            });
        }
    };
    let corrupt = |reason: String| NugetError::CorruptMember {
        path: path.to_path_buf(),
        member: member.clone(),
        reason,
    };
    let file = zip.by_name(&member).map_err(|e| corrupt(e.to_string()))?;
    let bytes = limits::read_at_most(file, limits::metadata_bytes())
        .map_err(|e| corrupt(e.to_string()))?
        .ok_or_else(|| {
            corrupt(format!(
                "it unpacks to more than {}, the most opp reads of a nuspec \
                 (OPP_MAX_METADATA_SIZE raises it)",
                limits::show(limits::metadata_bytes())
            ))
        })?;
    Ok(Member {
        name: member,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_parent_paths_are_unsafe() {
        for bad in [
            "/etc/passwd",
            "\\x",
            "C:/x",
            "lib/../../b",
            "..",
            "a\\..\\b",
        ] {
            assert!(is_unsafe_member(bad), "{bad}");
        }
        for ok in [
            "lib/net8.0/a.dll",
            "a..b/c",
            "[Content_Types].xml",
            "_rels/.rels",
        ] {
            assert!(!is_unsafe_member(ok), "{ok}");
        }
    }

    #[test]
    fn only_a_nuspec_at_the_root_counts() {
        assert!(is_root_nuspec("Acme.Widgets.nuspec"));
        assert!(is_root_nuspec("acme.NUSPEC"));
        assert!(!is_root_nuspec("content/other.nuspec"));
        assert!(!is_root_nuspec("nuspec"));
        assert!(!is_root_nuspec("a.nuspec.txt"));
    }
}

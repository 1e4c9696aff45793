//! Entry names and symlink targets inside a module zip: which are safe to unpack, and where a
//! symlink points. Pure: strings in, relative components or a reason out. Used before a push
//! (`check_zip`) and before a pull writes anything (`unpack_zip`); nothing here reads a zip.

use std::fmt;

/// Why an entry name or a symlink target is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsafeReason {
    /// The name is empty, or only `/` and `.` parts.
    Empty,
    /// Starts with `/`.
    Absolute,
    /// Starts with a Windows drive letter (`C:`).
    DriveLetter,
    /// Holds a `\`, which Windows reads as a separator (and so as a way around the checks).
    Backslash,
    /// Holds a NUL byte, where file systems end the name.
    Nul,
    /// Has a `..` component.
    ParentDir,
    /// Lies under a symlink entry of the same zip, so writing it would follow the link.
    UnderSymlink,
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "an empty path",
            Self::Absolute => "an absolute path",
            Self::DriveLetter => "a path with a Windows drive letter",
            Self::Backslash => "a backslash in its path (zip paths are separated by `/`)",
            Self::Nul => "a NUL byte in its path",
            Self::ParentDir => "a `..` component in its path",
            Self::UnderSymlink => "a path under a symlink entry of the same zip",
        })
    }
}

/// Refuses what no relative `/`-separated path may hold: NUL, `\`, a leading `/`, a drive
/// letter.
fn check_chars(name: &str) -> Result<(), UnsafeReason> {
    let bytes = name.as_bytes();
    if name.contains('\0') {
        Err(UnsafeReason::Nul)
    } else if name.contains('\\') {
        Err(UnsafeReason::Backslash)
    } else if name.starts_with('/') {
        Err(UnsafeReason::Absolute)
    } else if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        Err(UnsafeReason::DriveLetter)
    } else {
        Ok(())
    }
}

/// A safe entry name split into its normal components, without empty and `.` ones
/// (`./a//b/` -> `[a, b]`). Absolute names, drive letters, backslashes, NUL and `..` anywhere
/// are refused, even where `..` would stay inside (`a/../b`): no tool writes such names.
pub(super) fn components(name: &str) -> Result<Vec<&str>, UnsafeReason> {
    check_chars(name)?;
    let parts: Vec<&str> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        Err(UnsafeReason::ParentDir)
    } else if parts.is_empty() {
        Err(UnsafeReason::Empty)
    } else {
        Ok(parts)
    }
}

/// Where a symlink at `link` (an entry's components) pointing at `target` lands, resolved
/// lexically from the link's directory, as components from the root; `None` when the target
/// is absolute, malformed, or climbs above the root. Lexical only: a target that goes through
/// another symlink is checked again on disk after unpacking.
pub(super) fn resolve_link(link: &[&str], target: &str) -> Option<Vec<String>> {
    if target.is_empty() {
        return None;
    }
    check_chars(target).ok()?;
    let mut resolved: Vec<String> = link
        .split_last()
        .map(|(_, dir)| dir.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                resolved.pop()?;
            }
            part => resolved.push(part.to_string()),
        }
    }
    Some(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_drop_empty_and_dot_parts() {
        assert_eq!(components("./a//b/").unwrap(), ["a", "b"]);
        assert_eq!(components("main.tf").unwrap(), ["main.tf"]);
    }

    #[test]
    fn components_refuse_names_that_could_escape() {
        for (name, reason) in [
            ("../x", UnsafeReason::ParentDir),
            ("a/../../x", UnsafeReason::ParentDir),
            ("a/../b", UnsafeReason::ParentDir),
            ("/etc/passwd", UnsafeReason::Absolute),
            ("C:/Windows/x", UnsafeReason::DriveLetter),
            ("c:x", UnsafeReason::DriveLetter),
            ("a\\..\\..\\x", UnsafeReason::Backslash),
            ("a\0b", UnsafeReason::Nul),
            ("", UnsafeReason::Empty),
            ("./", UnsafeReason::Empty),
        ] {
            assert_eq!(components(name), Err(reason), "{name:?}");
        }
    }

    #[test]
    fn link_targets_resolve_from_the_links_directory() {
        assert_eq!(resolve_link(&["a", "l"], "../b").unwrap(), ["b"]);
        assert_eq!(resolve_link(&["l"], "./x/y").unwrap(), ["x", "y"]);
        assert_eq!(resolve_link(&["a", "b", "l"], "..").unwrap(), ["a"]);
        assert_eq!(
            resolve_link(&["l"], ".").unwrap(),
            Vec::<String>::new(),
            "the root itself is inside"
        );
    }

    #[test]
    fn link_targets_that_leave_the_root_are_refused() {
        assert_eq!(resolve_link(&["l"], ".."), None);
        assert_eq!(resolve_link(&["a", "l"], "../../x"), None);
        assert_eq!(resolve_link(&["l"], "/etc/passwd"), None);
        assert_eq!(resolve_link(&["l"], "C:/x"), None);
        assert_eq!(resolve_link(&["l"], "..\\x"), None);
        assert_eq!(resolve_link(&["l"], ""), None);
    }
}

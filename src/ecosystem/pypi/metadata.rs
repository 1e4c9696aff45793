//! Core metadata (`METADATA` in a wheel, `PKG-INFO` in an sdist): reading the few header
//! fields opp needs (`Name`, `Version`, `Requires-Python`) from its RFC 822-style header block.
//! Pure: bytes in, fields out; finding the member inside an archive is `archive.rs`.
//!
//! Written by hand rather than with `python-pkginfo` (which brings `mailparse`,
//! `rfc2047-decoder`, `charset`/`encoding_rs` and a second zip feature set with zopfli, insists
//! on `Metadata-Version`, and parses the whole description body): the header block is a few
//! lines of `Key: value` with indented continuation lines, and only three keys matter.

/// The header fields of a core metadata file that opp uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub requires_python: Option<String>,
}

impl CoreMetadata {
    /// Parse the header block (up to the first empty line). Keys are case-insensitive, the
    /// first occurrence of a key wins, continuation lines (starting with a space or tab) are
    /// joined to the value with one space, and invalid UTF-8 is replaced rather than refused.
    pub fn parse(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let mut fields = CoreMetadata::default();
        let mut current: Option<(String, String)> = None;
        for line in text.lines() {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = current.as_mut() {
                    let more = line.trim();
                    if !more.is_empty() {
                        if !value.is_empty() {
                            value.push(' ');
                        }
                        value.push_str(more);
                    }
                }
                continue;
            }
            if let Some((key, value)) = current.take() {
                fields.set(&key, value);
            }
            // A line with no colon is not a header; skip it rather than guess.
            current = line
                .split_once(':')
                .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        if let Some((key, value)) = current {
            fields.set(&key, value);
        }
        fields
    }

    fn set(&mut self, key: &str, value: String) {
        let slot = match key {
            "name" => &mut self.name,
            "version" => &mut self.version,
            "requires-python" => &mut self.requires_python,
            _ => return,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_version_and_requires_python() {
        let m = CoreMetadata::parse(
            b"Metadata-Version: 2.1\r\nName: attrs\r\nVersion: 23.1.0\r\n\
              Requires-Python: >=3.7\r\nSummary: Classes\r\n\r\nName: not-this\r\n",
        );
        assert_eq!(m.name.as_deref(), Some("attrs"));
        assert_eq!(m.version.as_deref(), Some("23.1.0"));
        assert_eq!(m.requires_python.as_deref(), Some(">=3.7"));
    }

    #[test]
    fn keys_are_case_insensitive_and_the_first_one_wins() {
        let m = CoreMetadata::parse(b"name: first\nNAME: second\nversion:1.0\n");
        assert_eq!(m.name.as_deref(), Some("first"));
        assert_eq!(m.version.as_deref(), Some("1.0"));
    }

    #[test]
    fn continuation_lines_are_joined() {
        let m = CoreMetadata::parse(
            b"Name: x\nSummary: a\n  long summary\nRequires-Python: >=3.8,\n\t<4\nVersion: 2\n",
        );
        assert_eq!(m.requires_python.as_deref(), Some(">=3.8, <4"));
        assert_eq!(m.version.as_deref(), Some("2"));
    }

    #[test]
    fn the_body_is_not_read_and_missing_fields_stay_none() {
        let m = CoreMetadata::parse(b"Metadata-Version: 2.1\n\nName: in-body\nVersion: 1\n");
        assert_eq!(m, CoreMetadata::default());
    }

    #[test]
    fn empty_values_count_as_missing() {
        let m = CoreMetadata::parse(b"Name:\nVersion:   \nName: real\n");
        assert_eq!(m.name.as_deref(), Some("real"));
        assert_eq!(m.version, None);
    }
}

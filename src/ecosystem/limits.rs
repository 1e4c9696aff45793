//! The bounds opp puts on what it reads out of a package file, in one place: how much of a
//! metadata member it decompresses, how large a gem's YAML specification may grow, how many
//! entries a zip may list, and how much a pulled archive may unpack to. A real package stays
//! far below each; a hostile one (a zip or gzip bomb, a YAML alias bomb) hits one and is
//! refused with an error naming the file and the limit. docs/limits.md lists them for users.
//! Pure: a bounded read over any reader and the numbers; what to say is each ecosystem's.

use std::io::Read;

const MIB: u64 = 1024 * 1024;

/// The largest metadata member read from a package: wheel `METADATA`, sdist `PKG-INFO`, a
/// `.nuspec` (decompressed). METADATA carries the long description, so a few MiB is plausible.
pub const MAX_METADATA_BYTES: u64 = 16 * MIB;

/// The largest gem specification (`metadata.gz`, decompressed). Real ones are a few KiB, a
/// gem listing thousands of files a few hundred KiB.
pub const MAX_GEM_METADATA_BYTES: u64 = 4 * MIB;

/// The environment variable that raises both metadata limits above, for a package whose
/// metadata legitimately passes them (`OPP_MAX_METADATA_SIZE=64MiB`).
pub const METADATA_SIZE_VARIABLE: &str = "OPP_MAX_METADATA_SIZE";

/// The most opp decompresses of a metadata member: [`MAX_METADATA_BYTES`], or what
/// `OPP_MAX_METADATA_SIZE` says when it is set to a size (`64MiB`, `1GB`).
pub fn metadata_bytes() -> u64 {
    metadata_override().unwrap_or(MAX_METADATA_BYTES)
}

/// The most opp decompresses of a gem's `metadata.gz`: [`MAX_GEM_METADATA_BYTES`], or
/// `OPP_MAX_METADATA_SIZE` when set.
pub fn gem_metadata_bytes() -> u64 {
    metadata_override().unwrap_or(MAX_GEM_METADATA_BYTES)
}

/// `OPP_MAX_METADATA_SIZE`, read once; a value that is not a size is ignored with a warning
/// in the `-v` log (the default limits stay).
fn metadata_override() -> Option<u64> {
    static OVERRIDE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *OVERRIDE.get_or_init(|| {
        let text = std::env::var(METADATA_SIZE_VARIABLE).ok()?;
        match parse_size(&text) {
            Some(n) => Some(n),
            None => {
                tracing::warn!("{METADATA_SIZE_VARIABLE}={text:?} is not a size such as 64MiB; using the defaults");
                None
            }
        }
    })
}

/// A size as people write it: `64MiB`, `2GB`, `1048576`.
fn parse_size(text: &str) -> Option<u64> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .ok()
        .map(|b| b.as_u64())
}

/// The most YAML nodes a gem specification may hold, counting every alias as the nodes it
/// stands for (a "billion laughs" document is a few KiB of text and billions of nodes).
pub const MAX_YAML_NODES: u64 = 250_000;

/// The deepest nesting of YAML collections in a gem specification (real ones: about 6).
pub const MAX_YAML_DEPTH: usize = 64;

/// The largest provider `SHA256SUMS` or `_manifest.json` read (a few hundred bytes in real
/// releases).
pub const MAX_RELEASE_TEXT_BYTES: u64 = MIB;

/// The most entries a module or provider zip may list (real ones: tens to hundreds).
pub const MAX_ZIP_ENTRIES: usize = 100_000;

/// The default bound on what one pulled archive may unpack to (`--max-unpacked-size`).
pub const DEFAULT_MAX_UNPACKED_BYTES: u64 = 1024 * MIB;

/// `--max-unpacked-size`'s default as clap reads it.
pub const DEFAULT_MAX_UNPACKED: &str = "1GiB";

/// Reads `reader` to its end if it holds at most `limit` bytes; `Ok(None)` if it holds more
/// (only `limit + 1` bytes are ever read).
pub fn read_at_most(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// How much an archive being unpacked may still write: every byte actually written counts
/// (a zip's declared sizes are the archive's word, not a fact).
#[derive(Clone, Copy, Debug)]
pub struct UnpackBudget {
    limit: u64,
    used: u64,
}

/// Why copying one archive entry stopped.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the entry failed (the archive's fault).
    Read(std::io::Error),
    /// Writing failed (the destination's fault).
    Write(std::io::Error),
    /// The entry took the archive past its budget.
    Exceeded,
}

impl UnpackBudget {
    pub fn new(limit: u64) -> Self {
        UnpackBudget { limit, used: 0 }
    }

    /// The limit, as given.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether `declared` more bytes would already pass the limit (refuse before writing).
    pub fn would_exceed(&self, declared: u64) -> bool {
        self.used.saturating_add(declared) > self.limit
    }

    /// Copies `reader` to `out` until its end or until the budget is spent; returns the bytes
    /// copied. Never writes past the budget: at most the remaining bytes plus one are read.
    pub fn copy(
        &mut self,
        reader: &mut impl Read,
        out: &mut impl std::io::Write,
    ) -> Result<u64, CopyError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let room = self.limit - self.used;
            let want = usize::try_from(room.saturating_add(1))
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            if n as u64 > room {
                return Err(CopyError::Exceeded);
            }
            out.write_all(&buf[..n]).map_err(CopyError::Write)?;
            self.used += n as u64;
            total += n as u64;
        }
    }
}

/// A limit as people read it: `16 MiB`, `1 GiB`, `1000 B`.
pub fn show(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * MIB && b % (1024 * MIB) == 0 => format!("{} GiB", b / (1024 * MIB)),
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(super::parse_size("64MiB"), Some(64 * 1024 * 1024));
        assert_eq!(super::parse_size("2GB"), Some(2_000_000_000));
        assert_eq!(super::parse_size("1048576"), Some(1_048_576));
        assert_eq!(super::parse_size("lots"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_one_byte_more() {
        assert_eq!(
            read_at_most(&b"abcd"[..], 4).unwrap(),
            Some(b"abcd".to_vec())
        );
        assert_eq!(read_at_most(&b"abcde"[..], 4).unwrap(), None);
        assert_eq!(read_at_most(&b""[..], 0).unwrap(), Some(Vec::new()));
    }

    #[test]
    fn a_budget_writes_up_to_its_limit_and_stops_before_passing_it() {
        let mut budget = UnpackBudget::new(10);
        let mut out = Vec::new();
        assert_eq!(budget.copy(&mut &[1u8; 6][..], &mut out).unwrap(), 6);
        assert!(budget.would_exceed(5));
        assert!(!budget.would_exceed(4));
        assert_eq!(budget.copy(&mut &[2u8; 4][..], &mut out).unwrap(), 4);
        assert!(matches!(
            budget.copy(&mut &[3u8; 1][..], &mut out),
            Err(CopyError::Exceeded)
        ));
        assert_eq!(out.len(), 10, "nothing past the limit was written");
    }

    #[test]
    fn limits_read_in_binary_units() {
        assert_eq!(show(16 * MIB), "16 MiB");
        assert_eq!(show(DEFAULT_MAX_UNPACKED_BYTES), "1 GiB");
        assert_eq!(show(4096), "4 KiB");
        assert_eq!(show(1000), "1000 B");
        assert_eq!(show(MIB + 1), format!("{} B", MIB + 1));
    }

    #[test]
    fn the_flag_default_is_the_byte_default() {
        let parsed: bytesize::ByteSize = DEFAULT_MAX_UNPACKED.parse().unwrap();
        assert_eq!(parsed.as_u64(), DEFAULT_MAX_UNPACKED_BYTES);
    }
}

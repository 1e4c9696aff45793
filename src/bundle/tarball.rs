//! The tar framing of a bundle, as bytes: a ustar header per entry (names without `./`,
//! mode 0644, fixed time, so the same content gives the same tar), the padding after each
//! body, the two zero blocks at the end; whether a file name asks for zstd, and whether a
//! file's first bytes agree. Pure; the
//! `tar` crate builds and checks the headers, `export` writes them, `import` reads tars with
//! the same crate.

use std::path::Path;

/// A tar block.
pub const BLOCK: usize = 512;

/// The modification time of every entry (2020-01-01), so that a bundle's bytes depend on its
/// content only.
const MTIME: u64 = 1_577_836_800;

/// The header of a regular file `name` of `size` bytes.
pub fn file_header(name: &str, size: u64) -> std::io::Result<[u8; BLOCK]> {
    header(name, size, tar::EntryType::Regular, 0o644)
}

/// The header of a directory `name` (ending in `/`).
pub fn dir_header(name: &str) -> std::io::Result<[u8; BLOCK]> {
    header(name, 0, tar::EntryType::Directory, 0o755)
}

fn header(name: &str, size: u64, kind: tar::EntryType, mode: u32) -> std::io::Result<[u8; BLOCK]> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)?;
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(MTIME);
    h.set_entry_type(kind);
    h.set_cksum();
    let mut out = [0u8; BLOCK];
    out.copy_from_slice(h.as_bytes());
    Ok(out)
}

/// Zero bytes after a body of `size` bytes, up to the next block.
pub fn padding(size: u64) -> usize {
    let rest = (size % BLOCK as u64) as usize;
    if rest == 0 { 0 } else { BLOCK - rest }
}

/// The end of an archive: two zero blocks.
pub const END: [u8; 2 * BLOCK] = [0u8; 2 * BLOCK];

/// Whether a bundle at `path` is zstd-compressed: its name ends in `.zst` (`.tar.zst`).
pub fn is_zstd(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zst"))
}

/// The first bytes of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Why a bundle's name and its first bytes (`head`) disagree about zstd, with the name it
/// should have; `None` when they agree. A bundle is read as its name says ([`is_zstd`]).
pub fn misnamed(path: &Path, head: &[u8]) -> Option<String> {
    let packed = head.starts_with(&ZSTD_MAGIC);
    let shown = path.display();
    match (is_zstd(path), packed) {
        (false, true) => Some(format!(
            "{shown} is zstd-compressed, but its name does not end in .zst: rename it to {shown}.zst"
        )),
        (true, false) => Some(format!(
            "{shown} is not zstd-compressed, but its name ends in .zst: rename it to {}",
            path.with_extension("").display()
        )),
        (true, true) | (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_tar_of_these_headers_reads_back_with_the_tar_crate() {
        let mut bytes = Vec::new();
        bytes.extend(dir_header("blobs/").unwrap());
        let body = b"hello";
        bytes.extend(file_header("blobs/sha256/abc", body.len() as u64).unwrap());
        bytes.extend(body);
        bytes.extend(vec![0u8; padding(body.len() as u64)]);
        bytes.extend(END);
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            names.push((name, content));
        }
        assert_eq!(
            names,
            [
                ("blobs/".to_owned(), Vec::new()),
                ("blobs/sha256/abc".to_owned(), body.to_vec())
            ]
        );
    }

    #[test]
    fn padding_fills_to_the_next_block() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(padding(513), 511);
    }

    #[test]
    fn zstd_is_chosen_by_the_file_name() {
        assert!(is_zstd(Path::new("deps.tar.zst")));
        assert!(!is_zstd(Path::new("deps.tar")));
        assert!(!is_zstd(Path::new("zst")));
    }

    #[test]
    fn a_name_that_disagrees_with_the_content_says_what_to_rename_it_to() {
        let zstd = [0x28, 0xB5, 0x2F, 0xFD, 0x04];
        let tar = b"opp-bundle.json\0";
        let cases: [(&str, &[u8], Option<&str>); 5] = [
            ("d/deps.tar.zst", &zstd, None),
            ("d/deps.tar", tar, None),
            (
                "d/deps.tar",
                &zstd,
                Some(
                    "d/deps.tar is zstd-compressed, but its name does not end in .zst: rename it to d/deps.tar.zst",
                ),
            ),
            (
                "d/deps.tar.zst",
                tar,
                Some(
                    "d/deps.tar.zst is not zstd-compressed, but its name ends in .zst: rename it to d/deps.tar",
                ),
            ),
            ("d/deps.tar", b"", None),
        ];
        let failed: Vec<String> = cases
            .iter()
            .filter_map(|(name, head, want)| {
                let got = misnamed(Path::new(name), head);
                (got.as_deref() != *want).then(|| format!("{name}: got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }
}

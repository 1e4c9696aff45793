//! Terraform's `h1:` package hash: `Hash1` of `golang.org/x/mod/sumdb/dirhash`, over a zip's
//! entries ([`h1_of_zip`], as `dirhash.HashZip`) or a directory's files ([`h1_of_dir`], as
//! `dirhash.HashDir`), exactly as `docs/protocols.md` 2.4 describes. The `zh:` hash is the
//! plain sha256 of the zip file and needs nothing here. Reads files and readers; decides
//! nothing about releases.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::ProviderError;

/// The `h1:` hash of a provider zip read from `reader`; `path` names it in errors.
///
/// Like `dirhash.HashZip`: every central-directory entry counts (a directory entry as an
/// empty file), names are compared as stored, byte-wise. An archive with two entries of one
/// name is refused (Go would hash the last one twice; such an archive is not a release).
pub fn h1_of_zip<R: Read + Seek>(reader: R, path: &Path) -> Result<String, ProviderError> {
    let not_zip = |source| ProviderError::NotZip {
        path: path.to_path_buf(),
        source,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(not_zip)?;
    if archive.has_duplicate_names() {
        return Err(ProviderError::UnsafeEntry {
            path: path.to_path_buf(),
            entry: "(several)".to_string(),
            reason: "two entries have the same name",
        });
    }
    let mut lines = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(not_zip)?;
        let name = entry.name_raw().to_vec();
        let shown = String::from_utf8_lossy(&name).into_owned();
        check_name(path, &shown)?;
        let digest = sha256_of(&mut entry).map_err(|source| ProviderError::CorruptEntry {
            path: path.to_path_buf(),
            entry: shown,
            source,
        })?;
        lines.push((name, digest));
    }
    Ok(summarize(lines))
}

/// [`h1_of_zip`] of the zip file at `path`.
pub fn h1_of_zip_file(path: &Path) -> Result<String, ProviderError> {
    let file = File::open(path).map_err(ProviderError::io(path))?;
    h1_of_zip(BufReader::new(file), path)
}

/// The `h1:` hash of an unpacked provider directory, like `dirhash.HashDir(dir, "", Hash1)`:
/// every file below `dir` by its `/`-separated relative path, directories skipped; a
/// symbolic link counts as the file it points to. Equals [`h1_of_zip`] of a zip holding the
/// same files and no directory entries.
pub fn h1_of_dir(dir: &Path) -> Result<String, ProviderError> {
    let meta = std::fs::metadata(dir).map_err(ProviderError::io(dir))?;
    if !meta.is_dir() {
        return Err(ProviderError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let mut lines = Vec::new();
    collect_files(dir, "", &mut lines)?;
    Ok(summarize(lines))
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    lines: &mut Vec<(Vec<u8>, [u8; 32])>,
) -> Result<(), ProviderError> {
    for entry in std::fs::read_dir(dir).map_err(ProviderError::io(dir))? {
        let entry = entry.map_err(ProviderError::io(dir))?;
        let path = entry.path();
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            return Err(ProviderError::InvalidFileName {
                path,
                reason: "the file name is not UTF-8".to_string(),
            });
        };
        let relative = format!("{prefix}{file_name}");
        // Like Go's filepath.Walk: a link is not followed into a directory, only read.
        let kind = entry.file_type().map_err(ProviderError::io(&path))?;
        if kind.is_dir() {
            collect_files(&path, &format!("{relative}/"), lines)?;
            continue;
        }
        check_name(&path, &relative)?;
        let mut file = File::open(&path).map_err(ProviderError::io(&path))?;
        let digest = sha256_of(&mut file).map_err(ProviderError::io(&path))?;
        lines.push((relative.into_bytes(), digest));
    }
    Ok(())
}

fn check_name(path: &Path, name: &str) -> Result<(), ProviderError> {
    if name.contains('\n') {
        return Err(ProviderError::UnsafeEntry {
            path: path.to_path_buf(),
            entry: name.escape_debug().to_string(),
            reason: "dirhash does not support names with a newline",
        });
    }
    Ok(())
}

/// Streams `reader` through sha256.
pub(super) fn sha256_of(reader: &mut impl Read) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// `Hash1` over (name, sha256 of content) pairs: sorted by name byte-wise, one
/// `<hex>  <name>\n` line each, then `h1:` + base64 of the sha256 of those lines.
fn summarize(mut lines: Vec<(Vec<u8>, [u8; 32])>) -> String {
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let mut summary = Sha256::new();
    for (name, digest) in &lines {
        summary.update(hex::encode(digest).as_bytes());
        summary.update(b"  ");
        summary.update(name);
        summary.update(b"\n");
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(summary.finalize());
    format!("h1:{encoded}")
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::test_zip::{Entry, build_zip, fake_provider_zip, write_tree};
    use super::*;

    /// Observed with real Terraform (1.0.3 and 1.15.5): `terraform init -plugin-dir` and
    /// `terraform providers lock -fs-mirror` wrote these `h1:` hashes into
    /// `.terraform.lock.hcl` for zips holding exactly these files (any compression).
    const FOO_LINUX_H1: &str = "h1:iGaCH/DTQSu9YEqAqecpcVosgIckv1J7OtektpIDWMA=";
    const FOO_DARWIN_H1: &str = "h1:pbNZ+4Ih/jvjLKCjlUPU2m0/1P/0xYRYkFONn0Lh8IQ=";
    const BAR_BETA_H1: &str = "h1:j2FE7gqF8xFpF/KJZixUMWBVWdtDy+xFPtnQoOnpw7Q=";

    #[test]
    fn h1_of_a_zip_is_what_terraform_records() {
        let linux = fake_provider_zip("fake provider");
        let darwin = fake_provider_zip("fake darwin provider");
        let h1 = |bytes: Vec<u8>| h1_of_zip(Cursor::new(bytes), Path::new("p.zip")).unwrap();
        assert_eq!(h1(linux), FOO_LINUX_H1);
        assert_eq!(h1(darwin), FOO_DARWIN_H1);
        let bar = build_zip(&[Entry::exe(
            "terraform-provider-bar_v0.1.0-beta.1",
            b"#!/bin/sh\n",
        )]);
        assert_eq!(h1(bar), BAR_BETA_H1);
    }

    #[test]
    fn h1_ignores_entry_order_compression_and_timestamps() {
        let a = build_zip(&[Entry::file("b", b"2"), Entry::file("a", b"1")]);
        let b = build_zip(&[Entry::file("a", b"1").stored(), Entry::file("b", b"2")]);
        assert_ne!(a, b);
        let h1 = |bytes: Vec<u8>| h1_of_zip(Cursor::new(bytes), Path::new("p.zip")).unwrap();
        assert_eq!(h1(a), h1(b));
    }

    #[test]
    fn h1_of_an_unpacked_directory_equals_h1_of_its_zip() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[
                (
                    "terraform-provider-foo_v1.2.3",
                    b"#!/bin/sh\necho \"fake provider\"\n",
                ),
                ("README.md", b"hello\n"),
            ],
        );
        assert_eq!(h1_of_dir(dir.path()).unwrap(), FOO_LINUX_H1);
    }

    #[test]
    fn nested_files_are_named_with_slashes_and_directory_entries_count_in_zips() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("docs/a.txt", b"a"), ("z", b"z")]);
        let flat = build_zip(&[Entry::file("docs/a.txt", b"a"), Entry::file("z", b"z")]);
        let h1 = |bytes: Vec<u8>| h1_of_zip(Cursor::new(bytes), Path::new("p.zip")).unwrap();
        assert_eq!(h1_of_dir(dir.path()).unwrap(), h1(flat));
        let with_dir = build_zip(&[
            Entry::dir("docs/"),
            Entry::file("docs/a.txt", b"a"),
            Entry::file("z", b"z"),
        ]);
        assert_ne!(h1_of_dir(dir.path()).unwrap(), h1(with_dir));
    }

    #[test]
    fn summary_lines_follow_dirhash_exactly() {
        // find . -type f | sort | xargs sha256sum | sha256sum, base64 of the raw digest.
        let zip = build_zip(&[Entry::file("x", b"")]);
        let line = format!("{}  x\n", hex::encode(Sha256::digest(b"")));
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line));
        let got = h1_of_zip(Cursor::new(zip), Path::new("p.zip")).unwrap();
        assert_eq!(got, format!("h1:{expected}"));
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_refused_by_name() {
        let err = h1_of_zip(Cursor::new(b"not a zip".to_vec()), Path::new("x.zip")).unwrap_err();
        assert!(matches!(err, ProviderError::NotZip { .. }), "{err}");
        assert!(err.to_string().contains("x.zip"), "{err}");
    }

    #[test]
    fn names_with_a_newline_are_refused() {
        let zip = build_zip(&[Entry::file("a\nb", b"")]);
        let err = h1_of_zip(Cursor::new(zip), Path::new("p.zip")).unwrap_err();
        assert!(err.to_string().contains("newline"), "{err}");
    }

    #[test]
    fn h1_of_dir_refuses_a_file() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("f", b"")]);
        let err = h1_of_dir(&dir.path().join("f")).unwrap_err();
        assert!(matches!(err, ProviderError::NotADirectory { .. }), "{err}");
    }
}

//! Unpacking a downloaded module archive into a directory, safely: a zip goes straight through
//! `ecosystem::terraform_module::unpack_zip_limited` (the checks `opp pull terraform-module`
//! makes: no absolute or `..` paths, no symlink out of the package, no duplicate entries, a
//! bound on what is written, nothing left on failure); a tar is first rewritten entry by entry
//! into a zip (files, symlinks; directories are implied), counting its bytes against the same
//! bound, so that one set of checks judges both. A tar is read through gzip (flate2), bzip2
//! (the bzip2 crate on libbz2-rs-sys) or xz (lzma-rust2, with a bound on the decoder's memory). Blocking: run it off the async runtime.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;

use tar::EntryType;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::FetchError;
use super::source::ArchiveKind;
use crate::ecosystem::limits::{self, CopyError, UnpackBudget};
use crate::ecosystem::terraform_module::unpack_zip_limited;

/// The most memory an xz stream may ask its decoder for (its dictionary), in KiB: `xz -9`
/// needs 64 MiB; a stream asking for more is refused rather than allocated.
const XZ_MEMORY_KIB: u32 = 256 * 1024;

/// Unpacks `archive` (of `kind`, named `label` in errors) into `dest` (which must not exist),
/// writing at most `max_bytes`; `scratch` holds the intermediate zip of a tar.
pub fn unpack(
    archive: &Path,
    kind: ArchiveKind,
    label: &str,
    dest: &Path,
    scratch: &Path,
    max_bytes: u64,
) -> Result<(), FetchError> {
    let open = |path: &Path| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|source| FetchError::Io {
                path: path.display().to_string(),
                source,
            })
    };
    let zip_path = match kind {
        ArchiveKind::Zip => archive.to_path_buf(),
        ArchiveKind::TarGz => {
            let zip = scratch.join("from-tar.zip");
            let reader = flate2::read::GzDecoder::new(open(archive)?);
            tar_to_zip(reader, kind, label, &zip, max_bytes)?;
            zip
        }
        ArchiveKind::TarBz2 => {
            let zip = scratch.join("from-tar.zip");
            let reader = bzip2::read::MultiBzDecoder::new(open(archive)?);
            tar_to_zip(reader, kind, label, &zip, max_bytes)?;
            zip
        }
        ArchiveKind::TarXz => {
            let zip = scratch.join("from-tar.zip");
            let reader = lzma_rust2::XzReader::new_mem_limit(open(archive)?, true, XZ_MEMORY_KIB);
            tar_to_zip(reader, kind, label, &zip, max_bytes)?;
            zip
        }
    };
    unpack_zip_limited(open(&zip_path)?, label, dest, false, max_bytes)?;
    Ok(())
}

/// Rewrites the tar read from `reader` as a zip at `out`: regular files with their mode's
/// `0o777` bits, symlinks as symlink entries; directories and PAX/GNU metadata entries are
/// skipped. Names are copied as they are, for `unpack_zip_limited` to judge. Hard links,
/// devices and FIFOs are refused.
fn tar_to_zip(
    reader: impl Read,
    kind: ArchiveKind,
    label: &str,
    out: &Path,
    max_bytes: u64,
) -> Result<(), FetchError> {
    let corrupt = |detail: String| FetchError::Corrupt {
        label: label.to_owned(),
        kind: kind.name(),
        detail,
    };
    let file = File::create(out).map_err(|source| FetchError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut zip = ZipWriter::new(BufWriter::new(file)).set_auto_large_file();
    let repack = |e: zip::result::ZipError| FetchError::Repack {
        label: label.to_owned(),
        detail: e.to_string(),
    };
    let mut budget = UnpackBudget::new(max_bytes);
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| corrupt(e.to_string()))?;
    for (count, entry) in entries.enumerate() {
        if count >= limits::MAX_ZIP_ENTRIES {
            return Err(corrupt(format!(
                "more than {} entries, more than opp unpacks",
                limits::MAX_ZIP_ENTRIES
            )));
        }
        let mut entry = entry.map_err(|e| corrupt(e.to_string()))?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| corrupt("an entry name is not UTF-8".to_owned()))?;
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .unix_permissions(mode);
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => {
                if budget.would_exceed(entry.header().size().unwrap_or(0)) {
                    return Err(over_limit(label, &name, max_bytes));
                }
                zip.start_file(name.as_str(), options).map_err(repack)?;
                match budget.copy(&mut entry, &mut zip) {
                    Ok(_) => {}
                    Err(CopyError::Exceeded) => return Err(over_limit(label, &name, max_bytes)),
                    Err(CopyError::Read(e)) => return Err(corrupt(e.to_string())),
                    Err(CopyError::Write(e)) => {
                        return Err(FetchError::Io {
                            path: out.display().to_string(),
                            source: e,
                        });
                    }
                }
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                zip.add_symlink(name.as_str(), target, options)
                    .map_err(repack)?;
            }
            EntryType::Directory
            | EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            other => {
                return Err(FetchError::SpecialEntry {
                    label: label.to_owned(),
                    entry: name,
                    what: if other == EntryType::Link {
                        "a hard link"
                    } else {
                        "neither a file, a directory nor a symlink"
                    },
                });
            }
        }
    }
    zip.finish().map_err(repack)?;
    Ok(())
}

fn over_limit(label: &str, entry: &str, max_bytes: u64) -> FetchError {
    FetchError::TooLarge {
        label: label.to_owned(),
        entry: entry.to_owned(),
        limit: limits::show(max_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_gz(path: &Path, entries: &[(&str, &[u8])]) {
        let file = File::create(path).unwrap();
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(EntryType::Regular);
            // `set_path` refuses `..`; a hostile archive writes the name bytes itself.
            let bytes = name.as_bytes();
            header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            header.set_cksum();
            tar.append(&header, *data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    }

    #[test]
    fn a_tar_gz_unpacks_with_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("m.tar.gz");
        tar_gz(
            &archive,
            &[("./main.tf", b"# main\n"), ("modules/x/main.tf", b"# x\n")],
        );
        let dest = tmp.path().join("out");
        unpack(
            &archive,
            ArchiveKind::TarGz,
            "m.tar.gz",
            &dest,
            tmp.path(),
            1 << 20,
        )
        .unwrap();
        assert_eq!(std::fs::read(dest.join("main.tf")).unwrap(), b"# main\n");
        assert_eq!(
            std::fs::read(dest.join("modules/x/main.tf")).unwrap(),
            b"# x\n"
        );
    }

    /// The tar of `tar_gz`'s entries, uncompressed.
    fn plain_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let tmp = tempfile::tempdir().unwrap();
        let gz = tmp.path().join("t.tar.gz");
        tar_gz(&gz, entries);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(File::open(&gz).unwrap())
            .read_to_end(&mut tar)
            .unwrap();
        tar
    }

    #[test]
    fn tar_bz2_and_tar_xz_unpack_with_their_files() {
        let tar = plain_tar(&[("main.tf", b"# main\n")]);
        let tmp = tempfile::tempdir().unwrap();
        let bz2 = tmp.path().join("m.tar.bz2");
        let mut w = bzip2::write::BzEncoder::new(File::create(&bz2).unwrap(), Default::default());
        w.write_all(&tar).unwrap();
        w.finish().unwrap();
        let xz = tmp.path().join("m.tar.xz");
        let mut w =
            lzma_rust2::XzWriter::new(File::create(&xz).unwrap(), Default::default()).unwrap();
        w.write_all(&tar).unwrap();
        w.finish().unwrap();
        for (archive, kind) in [(bz2, ArchiveKind::TarBz2), (xz, ArchiveKind::TarXz)] {
            let dest = tmp.path().join(kind.name());
            unpack(&archive, kind, kind.name(), &dest, tmp.path(), 1 << 20).unwrap();
            assert_eq!(std::fs::read(dest.join("main.tf")).unwrap(), b"# main\n");
        }
    }

    #[test]
    fn a_tar_entry_leaving_the_package_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("evil.tar.gz");
        tar_gz(
            &archive,
            &[("main.tf", b"# ok\n"), ("../evil.tf", b"# evil\n")],
        );
        let dest = tmp.path().join("out");
        let err = unpack(
            &archive,
            ArchiveKind::TarGz,
            "evil.tar.gz",
            &dest,
            tmp.path(),
            1 << 20,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "evil.tar.gz has the entry `../evil.tf`: a `..` component in its path; refusing the \
             whole archive, nothing was written (unpacked, it could write outside its directory)"
        );
        assert!(!dest.exists());
        assert!(!tmp.path().parent().unwrap().join("evil.tf").exists());
    }

    #[test]
    fn a_tar_larger_than_the_bound_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("big.tar.gz");
        tar_gz(&archive, &[("main.tf", &[b'x'; 4096])]);
        let dest = tmp.path().join("out");
        let err = unpack(
            &archive,
            ArchiveKind::TarGz,
            "big.tar.gz",
            &dest,
            tmp.path(),
            1024,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.tar.gz unpacks to more than 1 KiB (`main.tf` reached it); refusing it, nothing \
             was stored"
        );
        assert!(!dest.exists());
    }
}

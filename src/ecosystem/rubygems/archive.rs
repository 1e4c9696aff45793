//! Opening a `.gem`: a plain (uncompressed) tar holding `metadata.gz`, `data.tar.gz` and
//! `checksums.yaml.gz`. Reads the gzipped YAML specification out of it while hashing every
//! byte of the gem, so one pass over a stream gives both. Knows nothing of what the YAML says
//! (that is `spec`).

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::RubygemsError;
use crate::digest::Hasher;
use crate::ecosystem::limits;

/// The specification member of a gem.
const METADATA: &str = "metadata.gz";

/// What one pass over a gem yields.
pub(super) struct Opened {
    /// `metadata.gz`, gunzipped.
    pub yaml: String,
    /// Lowercase hex sha256 of the whole file.
    pub sha256: String,
    /// Bytes read.
    pub size: u64,
}

/// Reads a gem's `metadata.gz` and hashes the whole file. `path` only names the file in errors.
pub(super) fn open<R: Read>(path: &Path, reader: R) -> Result<Opened, RubygemsError> {
    let not_tar = |detail: String| RubygemsError::NotTar {
        path: path.to_path_buf(),
        detail,
    };
    let mut archive = tar::Archive::new(Hashing {
        inner: reader,
        hasher: Hasher::new(),
    });
    let mut yaml = None;
    let mut members = 0usize;
    for entry in archive.entries().map_err(|e| not_tar(e.to_string()))? {
        let entry = entry.map_err(|e| not_tar(e.to_string()))?;
        members += 1;
        let is_metadata = entry.path().is_ok_and(|p| p == Path::new(METADATA));
        if is_metadata && yaml.is_none() {
            yaml = Some(gunzip(path, entry)?);
        }
    }
    let mut inner = archive.into_inner();
    // Trailing bytes after the tar's end blocks still belong to the file's hash.
    std::io::copy(&mut inner, &mut std::io::sink()).map_err(|source| RubygemsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let Some(yaml) = yaml else {
        if members == 0 {
            return Err(not_tar("it holds no files".to_owned()));
        }
        return Err(RubygemsError::MissingMetadata {
            path: path.to_path_buf(),
        });
    };
    let size = inner.hasher.len();
    Ok(Opened {
        yaml,
        sha256: inner.hasher.finish().hex().to_owned(),
        size,
    })
}

fn gunzip(path: &Path, member: impl Read) -> Result<String, RubygemsError> {
    let bad = |detail: String| RubygemsError::BadMetadataGz {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = limits::read_at_most(GzDecoder::new(member), limits::gem_metadata_bytes())
        .map_err(|e| bad(format!("not gzip-compressed ({e})")))?
        .ok_or_else(|| {
            bad(format!(
                "it unpacks to more than {}, the most opp reads of a gem specification \
                 (OPP_MAX_METADATA_SIZE raises it)",
                limits::show(limits::gem_metadata_bytes())
            ))
        })?;
    String::from_utf8(bytes).map_err(|_| bad("the YAML inside is not UTF-8".to_owned()))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

//! Writing a release's files into a directory: each streams from the store into a
//! temporary file of its own beside its destination, is checked against its digest, and is
//! renamed into place only when every file arrived intact. A list naming one file twice is
//! refused before anything is fetched (two downloads would race for one destination). Used by
//! `opp pull` (the proxy streams instead). And the one bounded read of a small blob into
//! memory (a gem's info, a nuspec), for the commands and the proxy alike.

use std::path::{Path, PathBuf};

use futures_util::{StreamExt, stream};
use tempfile::TempPath;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{CONCURRENCY, PackageError, Packages, Result, io};
use crate::artifact::ArtifactError;
use crate::output::ProgressReader;
use crate::release::{Descriptor, DistFile, Ecosystem};
use crate::store::StoreError;

impl Packages<'_> {
    /// Writes the chosen files of a release into `dir`: each streams into a temporary file
    /// in `dir`, checked against its digest, and only when every file arrived intact are
    /// they renamed into place. On any failure nothing new is left in `dir` (nor `dir`
    /// itself, or the parents of it this call created).
    pub async fn download(
        &self,
        eco: Ecosystem,
        name: &str,
        files: &[DistFile],
        dir: &Path,
    ) -> Result<Vec<PathBuf>> {
        let repo = self.mapper.repository(eco, name)?;
        for f in files {
            check_file_name(&f.name)?;
        }
        refuse_duplicates(
            &format!("`{name}` in {}", self.store.location(&repo)),
            files,
        )?;
        let created = crate::ecosystem::files::topmost_missing(dir);
        let result = self.download_into(&repo, files, dir).await;
        if result.is_err()
            && let Some(created) = created
        {
            let _ = tokio::fs::remove_dir_all(created).await;
        }
        result
    }

    async fn download_into(
        &self,
        repo: &str,
        files: &[DistFile],
        dir: &Path,
    ) -> Result<Vec<PathBuf>> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(io("cannot create", dir))?;
        let downloads: Vec<_> = files
            .iter()
            .map(|f| self.download_one(repo, f, dir))
            .collect();
        let results: Vec<Result<(TempPath, PathBuf)>> = stream::iter(downloads)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut done = Vec::new();
        let mut first_err = None;
        for r in results {
            match r {
                Ok(pair) => done.push(pair),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            // Dropping the temporary paths removes them.
            return Err(e);
        }
        let mut written = Vec::new();
        for (tmp, dest) in done {
            tmp.persist(&dest)
                .map_err(|e| io("cannot write", &dest)(e.error))?;
            written.push(dest);
        }
        written.sort();
        Ok(written)
    }

    async fn download_one(
        &self,
        repo: &str,
        f: &DistFile,
        dir: &Path,
    ) -> Result<(TempPath, PathBuf)> {
        let dest = dir.join(&f.name);
        // A temporary file of its own (a unique name, created exclusively): removed when
        // dropped, on any error below.
        let (file, tmp) = tempfile::Builder::new()
            .prefix(&format!(".{}.opp-partial-", f.name))
            .tempfile_in(dir)
            .map_err(io("cannot create a temporary file in", dir))?
            .into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let result = async {
            let reader = self.store.fetch_blob(repo, &f.digest, f.size).await?;
            let bar = self.out.bar(&f.name, f.size);
            let mut reader = ProgressReader::new(reader, bar.clone());
            let what = format!("{} from {}", f.name, self.store.location(repo));
            copy_blob(&mut reader, &mut file).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    PackageError::Store(StoreError::Corrupt {
                        what: f.name.clone(),
                        location: self.store.location(repo),
                        detail: e.to_string(),
                    })
                } else {
                    PackageError::Io {
                        action: "cannot download",
                        path: what,
                        source: e,
                    }
                }
            })?;
            file.flush().await.map_err(io("cannot write", &tmp))?;
            file.sync_all().await.map_err(io("cannot write", &tmp))?;
            bar.finish_and_clear();
            Ok::<_, PackageError>(())
        }
        .await;
        drop(file);
        result.map(|()| (tmp, dest))
    }
}

impl Packages<'_> {
    /// Refuses a list of files that names one file twice (an index with two entries of one
    /// title), before anything is downloaded; `what` names the version in the error.
    /// [`Packages::download`] checks too, naming only the repository.
    pub fn refuse_duplicate_files(&self, what: &str, files: &[DistFile]) -> Result<()> {
        refuse_duplicates(what, files)
    }
}

fn refuse_duplicates(what: &str, files: &[DistFile]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    match files.iter().find(|f| !seen.insert(f.name.as_str())) {
        Some(twice) => Err(PackageError::Artifact(ArtifactError::Unusable {
            what: what.to_owned(),
            kind: "image index",
            detail: format!(
                "it lists the file `{}` twice, so opp cannot tell which is meant; nothing was \
                 downloaded",
                twice.name
            ),
            hint: "something other than opp wrote that index: remove one of the two entries",
        })),
        None => Ok(()),
    }
}

/// A stored file name must be a plain name: never a path that could escape the output
/// directory.
fn check_file_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\\')
        || name.contains('\0');
    if bad {
        return Err(PackageError::Artifact(ArtifactError::Invalid {
            what: format!("file name {name:?}"),
            kind: "file title",
            detail: "a stored file name must not be a path".into(),
        }));
    }
    Ok(())
}

impl Packages<'_> {
    /// The small blob `layer` of `repo` (a gem's info, a nuspec: what describes a file
    /// beside it) read whole into memory, when it is at most `limit` bytes; `what` and `kind`
    /// name it in errors. A larger one is refused before it is fetched, so a damaged store
    /// costs no memory; a blob failing its digest is [`StoreError::Corrupt`].
    pub async fn read_small_blob(
        &self,
        repo: &str,
        layer: &Descriptor,
        limit: u64,
        what: &str,
        kind: &'static str,
    ) -> Result<Vec<u8>> {
        if layer.size > limit {
            return Err(PackageError::Artifact(ArtifactError::Invalid {
                what: what.to_owned(),
                kind,
                detail: format!(
                    "it is {} bytes, more than the {limit} opp reads of one",
                    layer.size
                ),
            }));
        }
        let reader = self
            .store
            .fetch_blob(repo, &layer.digest, layer.size)
            .await?;
        let mut bytes = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
        reader
            .take(limit)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    PackageError::Store(StoreError::Corrupt {
                        what: format!("{kind} of {what} (blob {})", layer.digest),
                        location: self.store.location(repo),
                        detail: e.to_string(),
                    })
                } else {
                    PackageError::Io {
                        action: "cannot read",
                        path: format!("the {kind} of {what}"),
                        source: e,
                    }
                }
            })?;
        Ok(bytes)
    }
}

/// Copies a blob stream into a file in large pieces: tokio runs each file write on its
/// blocking pool, so 8 KiB writes (what `tokio::io::copy` does) cost a thread hop each.
pub(crate) async fn copy_blob<R, W>(reader: &mut R, file: &mut W) -> std::io::Result<u64>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
    W: tokio::io::AsyncWrite + Unpin + ?Sized,
{
    const PIECE: usize = 256 * 1024;
    let mut reader = tokio::io::BufReader::with_capacity(PIECE, reader);
    let mut writer = tokio::io::BufWriter::with_capacity(PIECE, file);
    let n = tokio::io::copy_buf(&mut reader, &mut writer).await?;
    writer.flush().await?;
    Ok(n)
}

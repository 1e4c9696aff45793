//! Writing a release's files into a directory: each streams from the store into a
//! temporary file beside its destination, is checked against its digest, and is renamed into
//! place only when every file arrived intact. Used by `opp pull` (the proxy streams instead).

use std::path::{Path, PathBuf};

use futures_util::{StreamExt, stream};
use tokio::io::AsyncWriteExt;

use super::{CONCURRENCY, PackageError, Packages, Result, io};
use crate::artifact::ArtifactError;
use crate::output::ProgressReader;
use crate::release::{DistFile, Ecosystem};
use crate::store::StoreError;

impl Packages<'_> {
    /// Writes the chosen files of a release into `dir`: each streams into a temporary file
    /// in `dir`, checked against its digest, and only when every file arrived intact are
    /// they renamed into place. On any failure nothing new is left in `dir`.
    pub async fn download(
        &self,
        eco: Ecosystem,
        name: &str,
        files: &[DistFile],
        dir: &Path,
    ) -> Result<Vec<PathBuf>> {
        let repo = self.mapper.repository(eco, name)?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(io("cannot create", dir))?;
        for f in files {
            check_file_name(&f.name)?;
        }
        let downloads: Vec<_> = files
            .iter()
            .map(|f| self.download_one(&repo, f, dir))
            .collect();
        let results: Vec<Result<(PathBuf, PathBuf)>> = stream::iter(downloads)
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
            for (tmp, _) in &done {
                let _ = tokio::fs::remove_file(tmp).await;
            }
            return Err(e);
        }
        let mut written = Vec::new();
        for (tmp, dest) in done {
            tokio::fs::rename(&tmp, &dest)
                .await
                .map_err(io("cannot write", &dest))?;
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
    ) -> Result<(PathBuf, PathBuf)> {
        let dest = dir.join(&f.name);
        let tmp = dir.join(format!(".{}.opp-partial-{}", f.name, std::process::id()));
        let result = async {
            let reader = self.store.fetch_blob(repo, &f.digest, f.size).await?;
            let bar = self.out.bar(&f.name, f.size);
            let mut reader = ProgressReader::new(reader, bar.clone());
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(io("cannot create", &tmp))?;
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
        match result {
            Ok(()) => Ok((tmp, dest)),
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
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

//! Writing a tar stream to a file, streaming: entries are framed here and their bytes go to a
//! writer thread (plain, or through a zstd encoder) over a bounded channel, so memory stays
//! flat whatever the sizes. The file is written under a temporary name in its directory and
//! renamed into place only by [`TarOut::finish`]; a failed export leaves nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::tarball::{self, END};
use super::{BundleError, Result, io};

/// Chunks in flight to the writer thread.
const IN_FLIGHT: usize = 16;
/// The size of the chunks a streamed body is read in.
const CHUNK: usize = 256 * 1024;
/// zstd's level: its default, fast enough not to slow an export down.
const ZSTD_LEVEL: i32 = 3;

enum Msg {
    Data(Bytes),
    /// Everything was written: flush and rename into place.
    Commit,
}

/// Where the tar's bytes go.
enum Sink {
    Plain(std::io::BufWriter<std::fs::File>),
    Zstd(zstd::stream::write::Encoder<'static, std::io::BufWriter<std::fs::File>>),
}

impl Sink {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Zstd(w) => w.write_all(bytes),
        }
    }

    /// Ends the zstd frame and flushes, so that every error shows here.
    fn finish(self) -> std::io::Result<()> {
        let mut file = match self {
            Sink::Plain(w) => w,
            Sink::Zstd(w) => w.finish()?,
        };
        file.flush()
    }
}

/// A tar file being written.
pub struct TarOut {
    tx: mpsc::Sender<Msg>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    path: PathBuf,
    /// Bytes of the tar so far (before compression).
    pub written: u64,
}

impl TarOut {
    /// Starts writing `path` (zstd-compressed when its name ends in `.zst`).
    pub fn create(path: &Path) -> Result<TarOut> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".opp-bundle.")
            .tempfile_in(&dir)
            .map_err(io("cannot create a temporary file in", &dir))?;
        // Readable as any file the user writes (a temporary file starts owner-only).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = temp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        let zstd = tarball::is_zstd(path);
        let (tx, mut rx) = mpsc::channel::<Msg>(IN_FLIGHT);
        let target = path.to_path_buf();
        let task = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let file = std::io::BufWriter::with_capacity(CHUNK, temp.as_file().try_clone()?);
            let mut sink = if zstd {
                Sink::Zstd(zstd::stream::write::Encoder::new(file, ZSTD_LEVEL)?)
            } else {
                Sink::Plain(file)
            };
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    Msg::Data(bytes) => sink.write_all(&bytes)?,
                    Msg::Commit => {
                        sink.finish()?;
                        temp.as_file().sync_all()?;
                        temp.persist(&target).map_err(|e| e.error)?;
                        return Ok(());
                    }
                }
            }
            // The exporter stopped without committing: the temporary file goes away.
            Err(std::io::Error::other("the export stopped before its end"))
        });
        Ok(TarOut {
            tx,
            task,
            path: path.to_path_buf(),
            written: 0,
        })
    }

    async fn send(&mut self, bytes: Bytes) -> Result<()> {
        self.written += bytes.len() as u64;
        if self.tx.send(Msg::Data(bytes)).await.is_err() {
            return Err(self.writer_failed().await);
        }
        Ok(())
    }

    /// The writer thread's error, once it stopped.
    async fn writer_failed(&mut self) -> BundleError {
        let result = (&mut self.task).await;
        let source = match result {
            Ok(Err(e)) => e,
            Ok(Ok(())) => std::io::Error::other("the writer stopped"),
            Err(e) => std::io::Error::other(e.to_string()),
        };
        io("cannot write", &self.path)(source)
    }

    /// A directory entry (`blobs/`).
    pub async fn dir(&mut self, name: &str) -> Result<()> {
        let header =
            tarball::dir_header(name).map_err(io("cannot name an entry", Path::new(name)))?;
        self.send(Bytes::copy_from_slice(&header)).await
    }

    /// A file entry from bytes in memory.
    pub async fn file(&mut self, name: &str, bytes: Bytes) -> Result<()> {
        let size = bytes.len() as u64;
        let header = tarball::file_header(name, size)
            .map_err(io("cannot name an entry", Path::new(name)))?;
        self.send(Bytes::copy_from_slice(&header)).await?;
        self.send(bytes).await?;
        self.pad(size).await
    }

    /// A file entry of exactly `size` bytes read from `body` (which verifies its digest, so
    /// a bad read fails here), advancing `progress`.
    pub async fn stream(
        &mut self,
        name: &str,
        size: u64,
        mut body: impl AsyncRead + Unpin,
        progress: &indicatif::ProgressBar,
    ) -> Result<()> {
        let header = tarball::file_header(name, size)
            .map_err(io("cannot name an entry", Path::new(name)))?;
        self.send(Bytes::copy_from_slice(&header)).await?;
        let mut left = size;
        let mut buf = vec![0u8; CHUNK];
        while left > 0 {
            let want = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
            let n = body
                .read(&mut buf[..want])
                .await
                .map_err(io("cannot read blob", Path::new(name)))?;
            if n == 0 {
                return Err(BundleError::Invalid(format!(
                    "{name} ended after {} of {size} bytes",
                    size - left
                )));
            }
            left -= n as u64;
            progress.inc(n as u64);
            self.send(Bytes::copy_from_slice(&buf[..n])).await?;
        }
        // Reading to the end lets a verifying reader check the digest.
        let mut rest = [0u8; 1];
        let extra = body
            .read(&mut rest)
            .await
            .map_err(io("cannot read blob", Path::new(name)))?;
        if extra != 0 {
            return Err(BundleError::Invalid(format!(
                "{name} is longer than {size} bytes"
            )));
        }
        self.pad(size).await
    }

    async fn pad(&mut self, size: u64) -> Result<()> {
        let n = tarball::padding(size);
        if n > 0 {
            self.send(Bytes::from(vec![0u8; n])).await?;
        }
        Ok(())
    }

    /// Ends the archive and renames the file into place.
    pub async fn finish(mut self) -> Result<()> {
        self.send(Bytes::from_static(&END)).await?;
        if self.tx.send(Msg::Commit).await.is_err() {
            return Err(self.writer_failed().await);
        }
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io("cannot write", &self.path)(e)),
            Err(e) => Err(io("cannot write", &self.path)(std::io::Error::other(
                e.to_string(),
            ))),
        }
    }
}

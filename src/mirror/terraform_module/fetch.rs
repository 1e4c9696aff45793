//! Fetching one module package into a directory, as Terraform would install it: an archive is
//! downloaded (the shared downloader: retries, progress) and unpacked safely (`archive`); a
//! git source is cloned with the system's `git` and the pinned `ref` checked out (submodules
//! too, as go-getter does), with prompts off and only the https, http, ssh, git and file
//! protocols allowed. Then the `//subdir` the address names must exist in it. What comes out
//! is the whole package, which the sink zips with `opp push terraform-module`'s packer.

use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::ProgressBar;

use super::FetchError;
use super::archive;
use super::source::{Fetch, Source};
use crate::mirror::download;

/// Fetches `source` into `scratch/package` and returns that directory.
pub async fn package(
    client: &reqwest::Client,
    source: &Source,
    scratch: &Path,
    bar: &ProgressBar,
    max_bytes: u64,
) -> Result<PathBuf, FetchError> {
    let dest = scratch.join("package");
    let label = source.describe();
    match &source.fetch {
        Fetch::Archive { url, kind } => {
            let file = scratch.join("archive");
            download::to_file(client, url, &file, None, bar).await?;
            let (kind, dest, scratch, label) =
                (*kind, dest.clone(), scratch.to_path_buf(), label.clone());
            blocking(move || archive::unpack(&file, kind, &label, &dest, &scratch, max_bytes))
                .await?;
        }
        Fetch::Git {
            repository,
            reference,
        } => {
            let (repository, reference, dest, label) = (
                repository.clone(),
                reference.clone(),
                dest.clone(),
                label.clone(),
            );
            blocking(move || {
                clone(&repository, reference.as_deref(), &dest)?;
                let size = tree_size(&dest)?;
                if size > max_bytes {
                    return Err(FetchError::TreeTooLarge {
                        label,
                        limit: crate::ecosystem::limits::show(max_bytes),
                    });
                }
                Ok(())
            })
            .await?;
        }
    }
    if let Some(subdir) = &source.subdir
        && !subdir.contains(['*', '?', '['])
        && !dest.join(subdir).is_dir()
    {
        return Err(FetchError::NoSubdir {
            label,
            subdir: subdir.clone(),
        });
    }
    Ok(dest)
}

/// Runs blocking work off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| FetchError::Task(e.to_string()))?
}

/// `git clone` of `repository` into `dest`, then the work tree set to `reference` (a tag,
/// branch or commit; the default branch without one) and the submodules fetched.
fn clone(repository: &str, reference: Option<&str>, dest: &Path) -> Result<(), FetchError> {
    let dest_text = dest.display().to_string();
    git(
        repository,
        None,
        &[
            "clone",
            "--quiet",
            "--no-checkout",
            "--",
            repository,
            &dest_text,
        ],
    )?;
    let commit = match reference {
        None => "HEAD".to_owned(),
        Some(r) => {
            let found = [r.to_owned(), format!("origin/{r}")]
                .into_iter()
                .find_map(|candidate| {
                    let spec = format!("{candidate}^{{commit}}");
                    git(
                        repository,
                        Some(dest),
                        &["rev-parse", "--verify", "--quiet", &spec],
                    )
                    .ok()
                    .map(|out| out.trim().to_owned())
                    .filter(|c| !c.is_empty())
                });
            found.ok_or_else(|| FetchError::NoRef {
                repository: repository.to_owned(),
                reference: r.to_owned(),
            })?
        }
    };
    git(
        repository,
        Some(dest),
        &["reset", "--quiet", "--hard", &commit],
    )?;
    if dest.join(".gitmodules").is_file() {
        git(
            repository,
            Some(dest),
            &["submodule", "update", "--quiet", "--init", "--recursive"],
        )?;
    }
    Ok(())
}

/// Runs git (in `dir`, when given) with no prompt and a fixed set of protocols; its stdout, or
/// the last line it wrote to stderr as the error.
fn git(repository: &str, dir: Option<&Path>, args: &[&str]) -> Result<String, FetchError> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "https:http:ssh:git:file")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(FetchError::GitMissing)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("git failed without a message")
        .to_owned();
    Err(FetchError::Git {
        repository: repository.to_owned(),
        detail,
    })
}

/// The total size of the regular files under `dir`, `.git` left out (symlinks not followed).
fn tree_size(dir: &Path) -> Result<u64, FetchError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| FetchError::Io { path, source }
    };
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for item in std::fs::read_dir(&d).map_err(io(&d))? {
            let item = item.map_err(io(&d))?;
            if item.file_name() == ".git" {
                continue;
            }
            let kind = item.file_type().map_err(io(&item.path()))?;
            if kind.is_dir() {
                pending.push(item.path());
            } else if kind.is_file() {
                total = total.saturating_add(item.metadata().map_err(io(&item.path()))?.len());
            }
        }
    }
    Ok(total)
}

//! Running a mirror plan, the same for every ecosystem: per version, what the store already
//! holds with the same digest is skipped without a download; the rest is downloaded
//! concurrently (bounded) into a temporary directory, each file checked against the digest the
//! upstream stated and the digests a requirements or lock file allows, then handed to the
//! ecosystem's push path ([`Sink`]) in one push per version. Every file ends as `added`,
//! `skipped` or `failed` (with why); a failed file stores nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{StreamExt, stream};
use indicatif::ProgressBar;
use reqwest::Url;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::download;
use crate::output::Output;

/// Files downloaded at once.
pub const DOWNLOADS: usize = 8;
/// Versions pushed at once.
const VERSIONS: usize = 4;

/// One file of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanFile {
    pub package: String,
    pub version: String,
    pub file_name: String,
    pub url: Url,
    /// What the upstream index states, lowercase hex.
    pub sha256: Option<String>,
    /// What a requirements or lock file allows (empty: anything the index states).
    pub allowed: Vec<String>,
    pub size: Option<u64>,
    /// The file already downloaded (e.g. to read its metadata); checked again, not fetched.
    pub local: Option<PathBuf>,
}

/// What happened to one file (`--json` prints a list of these).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileResult {
    pub package: String,
    pub version: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `planned` (dry run), `added`, `skipped` (already stored with the same digest) or
    /// `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FileResult {
    fn of(file: &PlanFile, status: &'static str, reason: Option<String>) -> FileResult {
        FileResult {
            package: file.package.clone(),
            version: file.version.clone(),
            file: file.file_name.clone(),
            size: file.size,
            sha256: file.sha256.clone(),
            status,
            reason,
        }
    }
}

/// File name -> sha256 (hex) of a stored version's files (empty when it is not stored): what
/// [`Sink::stored`] answers for the ecosystems that keep one file per index entry.
pub fn file_digests(release: Option<crate::release::Release>) -> BTreeMap<String, String> {
    release
        .map(|r| {
            r.files
                .into_iter()
                .map(|f| (f.name, f.digest.hex().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Where mirrored files go: the ecosystem's push path into the store.
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// The ecosystem the files are pushed as (named in advice such as `opp push ECO --force`).
    fn ecosystem(&self) -> crate::release::Ecosystem;

    /// File name -> sha256 (hex) of what the store holds for this version.
    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String>;
    /// Pushes the downloaded files of one version; per file, `Ok(true)` when added,
    /// `Ok(false)` when it was already there with the same bytes, or why it failed.
    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>>;
    /// Versions pushed at once (each downloads its files, at most [`DOWNLOADS`] in all, then
    /// pushes them): 4 unless the ecosystem's pushes are cheap enough for more.
    fn versions_at_once(&self) -> usize {
        VERSIONS
    }

    /// Stores the files of one version it can take straight from the upstream into the store,
    /// with no temporary file (it knows each file's digest, size and metadata up front):
    /// per file taken, `Ok(true)` when added, `Ok(false)` when already there, or why it
    /// failed; and the files it leaves to the download path. By default it takes none.
    async fn stream(
        &self,
        files: Vec<PlanFile>,
        _client: &reqwest::Client,
        _bar: &ProgressBar,
    ) -> (Vec<(PlanFile, Result<bool, String>)>, Vec<PlanFile>) {
        (Vec::new(), files)
    }
}

/// Runs the plan. With `dry_run`, only checks what the store holds and reports each file as
/// `planned` or `skipped`.
pub async fn execute(
    plan: Vec<PlanFile>,
    sink: &dyn Sink,
    client: &reqwest::Client,
    out: &Output,
    dry_run: bool,
) -> Vec<FileResult> {
    let mut groups: BTreeMap<(String, String), Vec<PlanFile>> = BTreeMap::new();
    for f in plan {
        groups
            .entry((f.package.clone(), f.version.clone()))
            .or_default()
            .push(f);
    }
    let total: u64 = groups.values().flatten().filter_map(|f| f.size).sum();
    let files = groups.values().map(Vec::len).sum();
    let bar = if dry_run {
        ProgressBar::hidden()
    } else {
        out.bar(&files_label(0, files), total)
    };
    let permits = Arc::new(Semaphore::new(DOWNLOADS));
    let work: Vec<_> = groups
        .into_values()
        .map(|files| version(files, sink, client, &permits, &bar, dry_run))
        .collect();
    let mut done = 0;
    let results: Vec<FileResult> = stream::iter(work)
        .buffer_unordered(sink.versions_at_once())
        .inspect(|version| {
            done += version.len();
            bar.set_message(files_label(done, files));
        })
        .flat_map(stream::iter)
        .collect()
        .await;
    bar.finish_and_clear();
    let mut results = results;
    results.sort_by(|a, b| (&a.package, &a.file).cmp(&(&b.package, &b.file)));
    results
}

/// The progress bar's label: files whose version is done (added, skipped or failed), of all.
fn files_label(done: usize, files: usize) -> String {
    format!("mirroring {done}/{files} files")
}

async fn version(
    files: Vec<PlanFile>,
    sink: &dyn Sink,
    client: &reqwest::Client,
    permits: &Semaphore,
    bar: &ProgressBar,
    dry_run: bool,
) -> Vec<FileResult> {
    let Some(first) = files.first() else {
        return Vec::new();
    };
    let stored = match sink.stored(&first.package, &first.version).await {
        Ok(s) => s,
        Err(why) => {
            return files
                .iter()
                .map(|f| FileResult::of(f, "failed", Some(why.clone())))
                .collect();
        }
    };
    let mut results = Vec::new();
    let mut to_fetch = Vec::new();
    for f in files {
        match (stored.get(&f.file_name), &f.sha256) {
            (Some(have), Some(want)) if have.eq_ignore_ascii_case(want) => {
                bar.inc(f.size.unwrap_or(0));
                results.push(FileResult::of(
                    &f,
                    "skipped",
                    Some("already stored with the same sha256".into()),
                ));
            }
            (Some(have), Some(_)) => results.push(FileResult::of(
                &f,
                "failed",
                Some(crate::error::reason(&crate::error::Refusal::new(
                    format!("the store holds a file of that name with other bytes (sha256 {have})"),
                    format!(
                        "remove that version, or push the upstream file with `opp push {} --force`",
                        sink.ecosystem()
                    ),
                ))),
            )),
            _ if dry_run => results.push(FileResult::of(&f, "planned", None)),
            _ => to_fetch.push(f),
        }
    }
    if to_fetch.is_empty() {
        return results;
    }
    let (streamed, to_fetch) = sink.stream(to_fetch, client, bar).await;
    for (f, outcome) in streamed {
        results.push(outcome_result(&f, outcome));
    }
    if to_fetch.is_empty() {
        return results;
    }
    let scratch = match tempfile::Builder::new().prefix("opp-mirror.").tempdir() {
        Ok(d) => d,
        Err(e) => {
            let why = format!("cannot make a temporary directory: {e}");
            results.extend(
                to_fetch
                    .iter()
                    .map(|f| FileResult::of(f, "failed", Some(why.clone()))),
            );
            return results;
        }
    };
    let fetches = to_fetch.into_iter().map(|f| {
        let dest = scratch.path().join(&f.file_name);
        async move {
            let _permit = permits.acquire().await;
            let outcome = fetch(client, &f, &dest, bar).await;
            (f, dest, outcome)
        }
    });
    let fetched: Vec<_> = stream::iter(fetches)
        .buffer_unordered(DOWNLOADS)
        .collect()
        .await;
    let mut ready = Vec::new();
    for (f, dest, outcome) in fetched {
        match outcome {
            Ok(sha256) => {
                let mut f = f;
                f.sha256 = Some(sha256);
                if stored.get(&f.file_name) == f.sha256.as_ref() {
                    results.push(FileResult::of(
                        &f,
                        "skipped",
                        Some("already stored with the same sha256".into()),
                    ));
                } else {
                    ready.push((f, dest));
                }
            }
            Err(why) => results.push(FileResult::of(&f, "failed", Some(why))),
        }
    }
    if ready.is_empty() {
        return results;
    }
    let names: Vec<PlanFile> = ready.iter().map(|(f, _)| f.clone()).collect();
    for (f, outcome) in names.iter().zip(sink.push(ready).await) {
        results.push(match outcome {
            Ok(true) => FileResult::of(f, "added", None),
            Ok(false) => FileResult::of(
                f,
                "skipped",
                Some("already stored with the same sha256".into()),
            ),
            Err(why) => FileResult::of(f, "failed", Some(why)),
        });
    }
    results
}

/// The result of a file the sink took (pushed or streamed).
fn outcome_result(f: &PlanFile, outcome: Result<bool, String>) -> FileResult {
    match outcome {
        Ok(true) => FileResult::of(f, "added", None),
        Ok(false) => FileResult::of(
            f,
            "skipped",
            Some("already stored with the same sha256".into()),
        ),
        Err(why) => FileResult::of(f, "failed", Some(why)),
    }
}

/// Downloads and checks one file; returns its sha256.
async fn fetch(
    client: &reqwest::Client,
    f: &PlanFile,
    dest: &std::path::Path,
    bar: &ProgressBar,
) -> Result<String, String> {
    let hex = match &f.local {
        Some(local) => reuse(local, dest, f.sha256.as_deref(), bar).await?,
        None => download::to_file(client, &f.url, dest, f.sha256.as_deref(), bar)
            .await
            .map_err(|e| e.to_string())?
            .0
            .hex()
            .to_owned(),
    };
    if !f.allowed.is_empty() && !f.allowed.iter().any(|a| a.eq_ignore_ascii_case(&hex)) {
        let _ = tokio::fs::remove_file(dest).await;
        return Err(format!(
            "sha256 {hex} is not among the hashes the requirements allow ({}); nothing stored",
            f.allowed.join(", ")
        ));
    }
    Ok(hex)
}

/// Copies a file downloaded earlier in the run to `dest`, checking its digest again.
async fn reuse(
    local: &std::path::Path,
    dest: &std::path::Path,
    expected: Option<&str>,
    bar: &ProgressBar,
) -> Result<String, String> {
    let (digest, size) = crate::packages::hash_file(local)
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::from(e)))?;
    if let Some(want) = expected
        && !digest.hex().eq_ignore_ascii_case(want)
    {
        return Err(format!(
            "sha256 mismatch: the upstream index says {want}, the downloaded bytes hash to {}; \
             nothing stored",
            digest.hex()
        ));
    }
    tokio::fs::copy(local, dest)
        .await
        .map_err(|e| format!("cannot copy {} to {}: {e}", local.display(), dest.display()))?;
    bar.inc(size);
    Ok(digest.hex().to_owned())
}

/// Counts of a run's results: (added, skipped, failed, planned).
pub fn counts(results: &[FileResult]) -> (usize, usize, usize, usize) {
    let n = |s: &str| results.iter().filter(|r| r.status == s).count();
    (n("added"), n("skipped"), n("failed"), n("planned"))
}

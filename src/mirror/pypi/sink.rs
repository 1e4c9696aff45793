//! Where mirrored Python files go: the store, laid out exactly as `opp push pypi` lays out a
//! pushed file (the same file manifest, metadata config and index annotations, pushed with
//! `Packages::push_versions`). A downloaded file is described from its own metadata, as
//! `opp push` describes it, and filed under the sha256 its download computed (not hashed
//! again); a wheel the index describes fully is streamed straight into the store (`stream`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use indicatif::ProgressBar;

use super::streaming::{self, Described, HttpBlob, Streamable};
use super::upstream::Upstream;
use super::warm::Warmer;
use crate::artifact::{self, FileSpec, LayerSource, LayerSpec};
use crate::digest::Digest;
use crate::ecosystem::pypi as eco;
use crate::mapper::Mapper;
use crate::mirror::pypi::StoredMetadata;
use crate::mirror::{PlanFile, Sink};
use crate::packages::Packages;
use crate::release::{Descriptor, Ecosystem};

pub struct PypiSink<'a> {
    pub packages: Packages<'a>,
    /// The upstream and the wheels it describes fully, to stream them; `None`: spool every
    /// file to a temporary file first.
    pub streaming: Option<(&'a Upstream, Streamable)>,
    /// The files whose blobs were stored while the closure settled (`warm`).
    pub warmed: Option<&'a Warmer<'a>>,
    /// Held by a version while it uploads blobs: [`UPLOADING`] at once.
    uploading: tokio::sync::Semaphore,
}

/// Versions uploading blobs at once (a version whose blobs were stored while the closure
/// settled only writes manifests and waits in its write-and-verify loop, and needs none).
const UPLOADING: usize = 16;

impl<'a> PypiSink<'a> {
    pub fn new(
        packages: Packages<'a>,
        streaming: Option<(&'a Upstream, Streamable)>,
        warmed: Option<&'a Warmer<'a>>,
    ) -> PypiSink<'a> {
        PypiSink {
            packages,
            streaming,
            warmed,
            uploading: tokio::sync::Semaphore::new(UPLOADING),
        }
    }
}

/// The largest stored METADATA read back.
const MAX_METADATA: u64 = 16 * 1024 * 1024;

#[async_trait::async_trait]
impl StoredMetadata for PypiSink<'_> {
    async fn metadata(&self, name: &str, version: &str) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let name = Mapper::normalize_package(Ecosystem::Pypi, name).ok()?;
        let fallback = |(_, arch): &(String, String)| eco::file_name_for(&name, version, arch);
        let release = self
            .packages
            .release(Ecosystem::Pypi, &artifact::PYPI, &name, version, &fallback)
            .await
            .ok()??;
        let meta = release
            .files
            .iter()
            .find_map(|f| f.metadata.as_ref())
            .filter(|d| d.size <= MAX_METADATA)?;
        let repo = self
            .packages
            .mapper
            .repository(Ecosystem::Pypi, &name)
            .ok()?;
        let mut reader = self
            .packages
            .store
            .fetch_blob(&repo, &meta.digest, meta.size)
            .await
            .ok()?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.ok()?;
        Some(bytes)
    }
}

/// An error with its causes on one line.
fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

/// The file manifest of one Python file, as `Packages::push_pypi` builds it.
fn spec(file_name: &str, d: Described, source: LayerSource) -> FileSpec {
    let mut annotations =
        BTreeMap::from([(artifact::PYOCI_SHA256.to_owned(), d.digest.hex().to_owned())]);
    if let Some(r) = d.requires_python {
        annotations.insert(artifact::PYPI_REQUIRES_PYTHON.to_owned(), r);
    }
    FileSpec {
        file_name: file_name.to_owned(),
        artifact_type: artifact::PYPI.file_artifact_type,
        entry_artifact_type: None,
        layers: vec![LayerSpec {
            descriptor: Descriptor {
                media_type: artifact::PYPI.layer_media_type.to_owned(),
                digest: d.digest,
                size: d.size,
            },
            title: Some(file_name.to_owned()),
            source,
        }],
        metadata: (!d.metadata.is_empty())
            .then(|| (artifact::PYPI_METADATA, Bytes::from(d.metadata))),
        platform: Some(("any".to_owned(), d.platform_arch)),
        entry_annotations: annotations,
    }
}

impl PypiSink<'_> {
    /// Pushes the described files of one version; per file, added or unchanged, or why not.
    async fn push_specs(
        &self,
        name: &str,
        version: &str,
        specs: Vec<FileSpec>,
    ) -> Result<BTreeMap<String, bool>, String> {
        let groups = BTreeMap::from([((name.to_owned(), version.to_owned()), specs)]);
        let pushed = self
            .packages
            .push_versions(Ecosystem::Pypi, &artifact::PYPI, groups, false)
            .await
            .map_err(chain)?;
        Ok(pushed
            .into_iter()
            .map(|p| (p.file, p.status != "unchanged"))
            .collect())
    }

    /// Pushes the files this run downloaded already (to read their metadata), from where
    /// they are: verified then, against the sha256 the plan carries, so neither copied nor
    /// hashed again; a digest the requirements do not allow stores nothing.
    async fn push_local(&self, local: Vec<PlanFile>) -> Vec<(PlanFile, Result<bool, String>)> {
        let mut results = Vec::new();
        let mut ready = Vec::new();
        for f in local {
            let sha = f.sha256.clone().unwrap_or_default();
            match &f.local {
                Some(path)
                    if f.allowed.is_empty()
                        || f.allowed.iter().any(|a| a.eq_ignore_ascii_case(&sha)) =>
                {
                    let path = path.clone();
                    ready.push((f, path));
                }
                _ => {
                    let why = format!(
                        "sha256 {sha} is not among the hashes the requirements allow ({}); \
                         nothing stored",
                        f.allowed.join(", ")
                    );
                    results.push((f, Err(why)));
                }
            }
        }
        if ready.is_empty() {
            return results;
        }
        let files: Vec<PlanFile> = ready.iter().map(|(f, _)| f.clone()).collect();
        let outcomes = self.push(ready).await;
        results.extend(files.into_iter().zip(outcomes));
        results
    }

    /// Pushes the files whose blobs are stored already (`warm`): only their file manifests
    /// and the version's index are written.
    async fn push_warmed(
        &self,
        files: Vec<(PlanFile, Described)>,
    ) -> Vec<(PlanFile, Result<bool, String>)> {
        let Some((first, _)) = files.first() else {
            return Vec::new();
        };
        let (package, version) = (first.package.clone(), first.version.clone());
        let specs = files
            .iter()
            .map(|(f, d)| spec(&f.file_name, d.clone(), LayerSource::Bytes(Bytes::new())))
            .collect();
        let pushed = self.push_specs(&package, &version, specs).await;
        files
            .into_iter()
            .map(|(f, _)| {
                let outcome = match &pushed {
                    Ok(status) => Ok(status.get(&f.file_name).copied().unwrap_or(true)),
                    Err(why) => Err(why.clone()),
                };
                (f, outcome)
            })
            .collect()
    }

    /// Streams one wheel's bytes into the store's blob; its file manifest is pushed after.
    async fn stream_one(
        &self,
        upstream: &Upstream,
        f: &PlanFile,
        file: &super::index::IndexFile,
        bar: &ProgressBar,
    ) -> Result<FileSpec, String> {
        let d = streaming::describe(upstream, f, file).await?;
        let name = Mapper::normalize_package(Ecosystem::Pypi, &f.package).map_err(chain)?;
        let repo = self
            .packages
            .mapper
            .repository(Ecosystem::Pypi, &name)
            .map_err(chain)?;
        let store = &self.packages.store;
        if !store.blob_exists(&repo, &d.digest).await.map_err(chain)? {
            let source = HttpBlob {
                client: upstream.client().clone(),
                url: f.url.clone(),
                bar: bar.clone(),
            };
            store
                .push_blob_from(&repo, &d.digest, d.size, &source)
                .await
                .map_err(chain)?;
        } else {
            bar.inc(d.size);
        }
        // The blob is stored: the push finds it there and reads nothing from this source.
        Ok(spec(&f.file_name, d, LayerSource::Bytes(Bytes::new())))
    }
}

#[async_trait::async_trait]
impl Sink for PypiSink<'_> {
    fn ecosystem(&self) -> crate::release::Ecosystem {
        crate::release::Ecosystem::Pypi
    }

    /// A closure is many small versions, most of one file, their blobs mostly stored while
    /// the closure settled: each push's round trips to the store and its write-and-verify
    /// wait, not the bytes, set the pace, so many overlap (downloads and uploads stay
    /// bounded: `execute::DOWNLOADS`, [`UPLOADING`]).
    fn versions_at_once(&self) -> usize {
        64
    }

    async fn stored(
        &self,
        package: &str,
        version: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let name = Mapper::normalize_package(Ecosystem::Pypi, package).map_err(chain)?;
        let fallback = |(_, arch): &(String, String)| eco::file_name_for(&name, version, arch);
        let release = self
            .packages
            .release(Ecosystem::Pypi, &artifact::PYPI, &name, version, &fallback)
            .await
            .map_err(chain)?;
        Ok(crate::mirror::execute::file_digests(release))
    }

    async fn push(&self, files: Vec<(PlanFile, PathBuf)>) -> Vec<Result<bool, String>> {
        // Closed never: the semaphore lives as long as the sink.
        let _uploading = self.uploading.acquire().await.ok();
        let mut outcome: Vec<Result<bool, String>> = Vec::with_capacity(files.len());
        let mut specs = Vec::new();
        for (f, path) in &files {
            let owned = path.clone();
            let described = tokio::task::spawn_blocking(move || eco::describe(&owned)).await;
            let digest = f.sha256.as_deref().map(Digest::from_hex);
            match (described, digest) {
                (Ok(Ok(d)), Some(Ok(digest))) => {
                    let described = Described {
                        digest,
                        size: d.size,
                        metadata: d.metadata.unwrap_or_default(),
                        requires_python: d.requires_python,
                        platform_arch: d.platform_arch,
                    };
                    specs.push(spec(
                        &d.file_name,
                        described,
                        LayerSource::File(path.clone()),
                    ));
                    outcome.push(Ok(true));
                }
                (Ok(Err(e)), _) => outcome.push(Err(format!(
                    "{} is not a distribution opp can push: {}",
                    f.file_name,
                    chain(e)
                ))),
                (Err(e), _) => outcome.push(Err(e.to_string())),
                (_, _) => outcome.push(Err(format!(
                    "{}: the download gave no sha256 to file it under",
                    f.file_name
                ))),
            }
        }
        let Some((first, _)) = files.first() else {
            return outcome;
        };
        if specs.is_empty() {
            return outcome;
        }
        match self.push_specs(&first.package, &first.version, specs).await {
            Ok(status) => {
                for ((f, _), o) in files.iter().zip(outcome.iter_mut()) {
                    if o.is_ok() {
                        *o = Ok(status.get(&f.file_name).copied().unwrap_or(true));
                    }
                }
            }
            Err(why) => {
                for o in outcome.iter_mut().filter(|o| o.is_ok()) {
                    *o = Err(why.clone());
                }
            }
        }
        outcome
    }

    async fn stream(
        &self,
        files: Vec<PlanFile>,
        _client: &reqwest::Client,
        bar: &ProgressBar,
    ) -> (Vec<(PlanFile, Result<bool, String>)>, Vec<PlanFile>) {
        let mut warmed = Vec::new();
        let mut files = files;
        if let Some(w) = self.warmed {
            let mut rest = Vec::new();
            for f in files {
                let allowed = |d: &Described| {
                    f.allowed.is_empty()
                        || f.allowed
                            .iter()
                            .any(|a| a.eq_ignore_ascii_case(d.digest.hex()))
                };
                match w.warmed(&f.url).map(|w| w.described) {
                    Some(d) if allowed(&d) => {
                        bar.inc(d.size);
                        warmed.push((f, d));
                    }
                    _ => rest.push(f),
                }
            }
            files = rest;
        }
        let mut results = self.push_warmed(warmed).await;
        let (local, files): (Vec<PlanFile>, Vec<PlanFile>) =
            files.into_iter().partition(|f| f.local.is_some());
        for f in &local {
            bar.inc(f.size.unwrap_or(0));
        }
        results.extend(self.push_local(local).await);
        let Some((upstream, streamable)) = &self.streaming else {
            return (results, files);
        };
        let (take, rest): (Vec<PlanFile>, Vec<PlanFile>) =
            files.into_iter().partition(|f| streamable.get(f).is_some());
        let Some(first) = take.first().cloned() else {
            return (results, rest);
        };
        let _uploading = self.uploading.acquire().await.ok();
        let streams = take.iter().map(|f| async move {
            match streamable.get(f) {
                Some(file) => self.stream_one(upstream, f, file, bar).await,
                None => Err("not streamable".to_owned()),
            }
        });
        let specs: Vec<Result<FileSpec, String>> = futures_util::future::join_all(streams).await;
        let ready: Vec<FileSpec> = specs
            .iter()
            .filter_map(|s| s.as_ref().ok().cloned())
            .collect();
        let pushed = if ready.is_empty() {
            Ok(BTreeMap::new())
        } else {
            self.push_specs(&first.package, &first.version, ready).await
        };
        results.extend(take.into_iter().zip(specs).map(|(f, spec)| {
            let outcome = match (spec, &pushed) {
                (Err(why), _) => Err(why),
                (Ok(_), Err(why)) => Err(why.clone()),
                (Ok(_), Ok(status)) => Ok(status.get(&f.file_name).copied().unwrap_or(true)),
            };
            (f, outcome)
        }));
        (results, rest)
    }
}

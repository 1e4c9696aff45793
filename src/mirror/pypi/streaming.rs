//! Mirroring a wheel straight from the upstream into the store, with no temporary file: where
//! the index states the file's sha256 and size and serves its core metadata (PEP 691 JSON with
//! PEP 658), the file manifest can be written from those alone. The metadata file is fetched
//! (bounded, checked against the digest the index gives for it) and must name the project and
//! version the file name does; the wheel's bytes go from the HTTP response into the store's blob
//! upload, which checks them against the stated sha256 and size as they arrive (the local store
//! hashes what it writes, a registry checks the digest itself) and keeps nothing that does not
//! match. Each byte is hashed once, by that check.

use std::collections::BTreeMap;
use std::str::FromStr;

use futures_util::TryStreamExt;
use indicatif::ProgressBar;
use reqwest::Url;

use super::index::IndexFile;
use super::upstream::Upstream;
use crate::digest::Digest;
use crate::ecosystem::pypi::{CoreMetadata, normalize_name};
use crate::mirror::PlanFile;
use crate::mirror::download::{self, redacted};
use crate::store::{BlobReader, BlobSource, StoreError};

/// The files a run may stream: URL -> what the index said of it.
#[derive(Debug, Default)]
pub struct Streamable {
    pub files: BTreeMap<Url, IndexFile>,
}

impl Streamable {
    /// Keeps the files the index describes fully: a wheel with sha256, size and a metadata
    /// file whose sha256 it gives.
    pub fn insert(&mut self, file: &IndexFile) {
        if Streamable::describes(file) {
            self.files.insert(file.url.clone(), file.clone());
        }
    }

    /// Whether the index describes `file` fully enough to stream it.
    pub fn describes(file: &IndexFile) -> bool {
        file.file_name.ends_with(".whl")
            && file.sha256.is_some()
            && file.size.is_some()
            && matches!(file.metadata, Some(Some(_)))
    }

    /// What the index said of a planned file, when it can be streamed: not already downloaded,
    /// and its stated digest one the requirements allow.
    pub fn get(&self, f: &PlanFile) -> Option<&IndexFile> {
        let file = self.files.get(&f.url)?;
        let sha = file.sha256.as_deref()?;
        let allowed = f.allowed.is_empty() || f.allowed.iter().any(|a| a.eq_ignore_ascii_case(sha));
        (f.local.is_none() && allowed).then_some(file)
    }
}

/// What the store needs to file a wheel that is not on disk.
#[derive(Clone)]
pub struct Described {
    pub digest: Digest,
    pub size: u64,
    pub metadata: Vec<u8>,
    pub requires_python: Option<String>,
    /// The wheel name after `NAME-VERSION-` (PyOCI's platform "architecture").
    pub platform_arch: String,
}

/// Fetches and checks the metadata of a streamable wheel.
pub async fn describe(
    upstream: &Upstream,
    f: &PlanFile,
    file: &IndexFile,
) -> Result<Described, String> {
    let hash = file.metadata.clone().flatten();
    let metadata = upstream.metadata_file(file, hash.as_deref()).await?;
    let fields = CoreMetadata::parse(&metadata);
    let (name, version) = fields
        .name
        .as_deref()
        .zip(fields.version.as_deref())
        .ok_or_else(|| format!("the metadata of {} has no Name or Version", f.file_name))?;
    let stated = pep440_rs::Version::from_str(version).ok();
    let in_name = super::index::dist_name(&f.package, &f.file_name).map(|d| d.version);
    if normalize_name(name) != normalize_name(&f.package) || stated.is_none() || stated != in_name {
        return Err(format!(
            "the metadata the index serves for {} says {name} {version}, not what the file \
             name says; nothing stored",
            f.file_name
        ));
    }
    let platform_arch = f
        .file_name
        .splitn(3, '-')
        .nth(2)
        .ok_or_else(|| format!("{} is not a wheel name", f.file_name))?
        .to_owned();
    let sha = file.sha256.as_deref().unwrap_or_default();
    Ok(Described {
        digest: Digest::from_hex(sha)
            .map_err(|e| format!("the index states sha256 `{sha}` for {}: {e}", f.file_name))?,
        size: file.size.unwrap_or_default(),
        metadata,
        requires_python: fields.requires_python,
        platform_arch,
    })
}

/// A file's bytes straight from the upstream, fetched again from the start for each try.
pub struct HttpBlob {
    pub client: reqwest::Client,
    pub url: Url,
    pub bar: ProgressBar,
}

#[async_trait::async_trait]
impl BlobSource for HttpBlob {
    async fn open(&self) -> Result<BlobReader, StoreError> {
        tracing::debug!("downloading {} into the store", redacted(&self.url));
        let response = download::get(&self.client, &self.url, None)
            .await
            .map_err(|e| StoreError::Io {
                action: "cannot download",
                path: redacted(&self.url),
                source: std::io::Error::other(e.to_string()),
            })?;
        let bytes = response.bytes_stream().map_err(std::io::Error::other);
        Ok(Box::pin(crate::output::ProgressReader::new(
            tokio_util::io::StreamReader::new(bytes),
            self.bar.clone(),
        )))
    }
}

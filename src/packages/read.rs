//! Reading a version's index into a [`Release`]: entries opp wrote describe their file in
//! annotations (`artifact::entry`), so the index alone is enough; entries other tools wrote
//! are read from their manifests, several at once. What is layout-specific (the digest
//! annotation PyOCI writes) comes from the layout's [`Kinds`].

#![deny(clippy::wildcard_enum_match_arm)]

use futures_util::{StreamExt, TryStreamExt, stream};
use oci_client::manifest::ImageIndexEntry;

use super::{CONCURRENCY, Packages, Result};
use crate::artifact::{self, ArtifactError, Kinds};
use crate::digest::Digest;
use crate::release::{DistFile, Ecosystem, Release};
use crate::store::RawManifest;

impl Packages<'_> {
    /// One version as stored, or `None` when the version does not exist.
    pub async fn release(
        &self,
        eco: Ecosystem,
        kinds: &Kinds,
        name: &str,
        version: &str,
        fallback_name: &(dyn Fn(&(String, String)) -> String + Sync),
    ) -> Result<Option<Release>> {
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, version)?;
        let Some(raw) = self.store.resolve(&repo, &tag).await? else {
            return Ok(None);
        };
        let what = format!("{}:{tag}", self.store.location(&repo));
        let index = artifact::parse_index(kinds, &what, &raw)?;
        // Owned entries: a closure over borrowed ones makes the future not `Send` for every
        // lifetime (rust-lang/rust#102211), which axum handlers need.
        let files: Vec<DistFile> = stream::iter(index.manifests.iter().cloned())
            .map(|entry| self.dist_file_owned(kinds, &repo, &what, entry, fallback_name))
            .buffered(CONCURRENCY * 2)
            .try_collect()
            .await?;
        let created = index
            .annotations
            .as_ref()
            .and_then(|a| a.get(artifact::CREATED))
            .cloned();
        Ok(Some(Release {
            ecosystem: eco,
            package: name.to_owned(),
            version: version.to_owned(),
            created,
            files,
        }))
    }

    async fn dist_file_owned(
        &self,
        kinds: &Kinds,
        repo: &str,
        what: &str,
        entry: ImageIndexEntry,
        fallback_name: &(dyn Fn(&(String, String)) -> String + Sync),
    ) -> Result<DistFile> {
        self.dist_file(kinds, repo, what, &entry, fallback_name)
            .await
    }

    /// The file an index entry holds: from the entry's annotations where opp wrote them,
    /// else from the file manifest it names.
    pub(crate) async fn dist_file(
        &self,
        kinds: &Kinds,
        repo: &str,
        what: &str,
        entry: &ImageIndexEntry,
        fallback_name: &(dyn Fn(&(String, String)) -> String + Sync),
    ) -> Result<DistFile> {
        if let Some(file) = artifact::entry::dist_file(kinds, what, entry) {
            return Ok(file?);
        }
        let digest: Digest =
            entry
                .digest
                .parse()
                .map_err(
                    |e: crate::digest::DigestParseError| ArtifactError::Invalid {
                        what: what.to_owned(),
                        kind: "image index",
                        detail: e.to_string(),
                    },
                )?;
        let raw = self.store.fetch_manifest(repo, &digest).await?;
        Ok(artifact::dist_file(what, entry, &raw, fallback_name)?)
    }

    /// The entries of a version's index (`raw`, what the tag points at) with the digest of
    /// the file each holds: from the annotations where present, else from the manifests,
    /// several at once.
    pub(crate) async fn entries_with_digests(
        &self,
        kinds: &Kinds,
        repo: &str,
        what: &str,
        raw: &RawManifest,
    ) -> Result<Vec<(ImageIndexEntry, Digest)>> {
        let index = artifact::parse_index(kinds, what, raw)?;
        let found: Vec<(ImageIndexEntry, Digest)> = stream::iter(index.manifests)
            .map(|entry| self.entry_with_digest(kinds, repo, what, entry))
            .buffered(CONCURRENCY * 2)
            .try_collect()
            .await?;
        Ok(found)
    }

    async fn entry_with_digest(
        &self,
        kinds: &Kinds,
        repo: &str,
        what: &str,
        entry: ImageIndexEntry,
    ) -> Result<(ImageIndexEntry, Digest)> {
        let digest = match artifact::entry::file_digest(kinds, &entry) {
            Some(d) => d,
            None => {
                self.dist_file(kinds, repo, what, &entry, &|_| String::new())
                    .await?
                    .digest
            }
        };
        Ok((entry, digest))
    }
}

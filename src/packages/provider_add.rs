//! Adding platforms to a stored provider version, as `opp mirror terraform-provider` does when
//! it is asked for platforms a stored version lacks: the new platform zips are merged into the
//! stored index entry by entry ([`artifact::merge`], keyed by platform, as the other
//! ecosystems' pushes merge files), the stored zips left as they are. A platform stored with
//! other bytes, or a stored `SHA256SUMS` other than the new one, is a conflict: nothing is
//! written. Under the write-and-verify loop of [`settle`](super::settle), like every push.

use std::collections::BTreeMap;

use async_trait::async_trait;
use oci_client::manifest::ImageIndexEntry;

use super::provider::{
    CHECKSUMS_ARTIFACT_TYPE, PROVIDER, Provenance, SIGNATURE, SIGNING_KEY_ID, SIGNING_KEY_USER,
    SOURCE, SOURCE_KIND, artifacts,
};
use super::settle::{Candidate, Step};
use super::{Packages, Result};
use crate::artifact::{self, Merged};
use crate::digest::Digest;
use crate::ecosystem::terraform_provider::ProviderRelease;
use crate::release::Ecosystem;
use crate::store::RawManifest;

/// The new files of one version, merged into whatever index its tag points at.
struct Adding<'a> {
    repo: &'a str,
    what: &'a str,
    created: &'a str,
    /// (file name, index entry, file digest) of each new file, the checksums entry last.
    new: Vec<(String, ImageIndexEntry, Digest)>,
    annotations: BTreeMap<String, String>,
    /// The stored checksums entry gives way to the new one (a network mirror's `SHA256SUMS`,
    /// which opp writes from the zips it checked, lists the new platforms too).
    replace_sums: bool,
}

impl Adding<'_> {
    async fn merge(
        &self,
        pkgs: &Packages<'_>,
        current: Option<&RawManifest>,
    ) -> Result<(Vec<ImageIndexEntry>, Vec<Merged>)> {
        let mut existing = match current {
            Some(raw) => {
                pkgs.entries_with_digests(&PROVIDER, self.repo, self.what, raw)
                    .await?
            }
            None => Vec::new(),
        };
        if self.replace_sums {
            let sums = self
                .new
                .iter()
                .find(|(_, e, _)| is_sums(e))
                .map(|(_, _, d)| d);
            existing.retain(|(e, d)| !is_sums(e) || Some(d) == sums);
        }
        Ok(artifact::merge(
            &PROVIDER,
            existing,
            self.new.clone(),
            false,
        )?)
    }
}

/// The index annotations of a version whose stored checksums entry stays: the new ones, with
/// the provenance (signature, signing key, source) as the stored index records it, since the
/// stored `SHA256SUMS`, its signature and its key layer are what the version keeps.
fn with_stored_provenance(
    new: &BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut annotations = new.clone();
    for key in [
        SIGNATURE,
        SIGNING_KEY_ID,
        SIGNING_KEY_USER,
        SOURCE,
        SOURCE_KIND,
    ] {
        match stored.get(key) {
            Some(value) => annotations.insert(key.to_owned(), value.clone()),
            None => annotations.remove(key),
        };
    }
    annotations
}

fn is_sums(entry: &ImageIndexEntry) -> bool {
    entry.artifact_type.as_deref() == Some(CHECKSUMS_ARTIFACT_TYPE)
}

#[async_trait]
impl Candidate for Adding<'_> {
    async fn judge(&self, pkgs: &Packages<'_>, current: Option<&RawManifest>) -> Result<Step> {
        let (entries, outcome) = self.merge(pkgs, current).await?;
        if outcome.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
            return Ok(Step::Present);
        }
        // The checksums entry comes last: when the stored one stays, so do the signature and
        // the source that the stored annotations record for it.
        let annotations = match (current, outcome.last()) {
            (Some(raw), Some(Merged::Unchanged(_))) => {
                let stored =
                    serde_json::from_slice::<oci_client::manifest::OciImageIndex>(&raw.bytes)
                        .ok()
                        .and_then(|index| index.annotations)
                        .unwrap_or_default();
                with_stored_provenance(&self.annotations, &stored)
            }
            _ => self.annotations.clone(),
        };
        Ok(Step::Write(artifact::index_with(
            &PROVIDER,
            entries,
            self.created,
            annotations,
        )))
    }
}

impl Packages<'_> {
    /// Adds the platform zips of `rel` to the stored version (or stores it, when there is none),
    /// keeping the platforms stored already. A platform stored with other bytes, or another
    /// `SHA256SUMS` (unless `replace_sums`), fails before anything is uploaded. Returns what
    /// happened to each new file (the checksums file last).
    pub async fn add_provider_platforms(
        &self,
        name: &str,
        rel: &ProviderRelease,
        provenance: &Provenance,
        replace_sums: bool,
    ) -> Result<Vec<Merged>> {
        let eco = Ecosystem::TerraformProvider;
        let repo = self.mapper.repository(eco, name)?;
        let tag = self.mapper.tag(eco, &rel.version)?;
        let what = format!("{}:{tag}", self.store.location(&repo));
        let created = artifact::now_rfc3339();
        let (built, annotations) = artifacts(rel, provenance, &created).await?;
        let new = built
            .iter()
            .map(|a| {
                (
                    a.spec.file_name.clone(),
                    a.entry(&PROVIDER, &created),
                    a.spec.layers[0].descriptor.digest.clone(),
                )
            })
            .collect();
        let candidate = Adding {
            repo: &repo,
            what: &what,
            created: &created,
            new,
            annotations,
            replace_sums,
        };
        // A conflict fails before anything is uploaded; what is stored already is not uploaded.
        let current = self.read_tag_patiently(&repo, &tag).await?;
        let (_, outcome) = candidate.merge(self, current.as_ref()).await?;
        if outcome.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
            return Ok(outcome);
        }
        let fresh: Vec<&artifact::FileArtifact> = built
            .iter()
            .zip(&outcome)
            .filter(|(_, m)| !matches!(m, Merged::Unchanged(_)))
            .map(|(a, _)| a)
            .collect();
        self.upload(&repo, &fresh).await?;
        self.settle(&repo, &tag, &what, &candidate).await?;
        Ok(outcome)
    }

    /// Uploads the zips (`path`, sha256 hex, size) of a version of `name` ahead of its push
    /// ([`add_provider_platforms`](Self::add_provider_platforms)), e.g. while their `h1:` is
    /// computed; nothing is tagged.
    pub async fn preload_provider_zips(
        &self,
        name: &str,
        zips: &[(std::path::PathBuf, String, u64)],
    ) -> Result<()> {
        let repo = self.mapper.repository(Ecosystem::TerraformProvider, name)?;
        let mut files = Vec::new();
        for (path, hex, size) in zips {
            let digest = Digest::from_hex(hex).map_err(|e| artifact::ArtifactError::Invalid {
                what: path.display().to_string(),
                kind: "sha256",
                detail: e.to_string(),
            })?;
            files.push((path.clone(), digest, *size));
        }
        self.upload_files(&repo, &files).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::string_map as map;

    #[test]
    fn a_kept_checksums_entry_keeps_the_signer_the_store_recorded() {
        let new = map(&[
            (SIGNATURE, "verified"),
            (SIGNING_KEY_ID, "NEWKEY"),
            (SIGNING_KEY_USER, "New <new@example.test>"),
            (SOURCE, "registry.example/acme/p"),
            ("io.opp.terraform.protocols", "5.0"),
        ]);
        let stored = map(&[
            (SIGNATURE, "verified"),
            (SIGNING_KEY_ID, "OLDKEY"),
            (SOURCE, "registry.example/acme/p"),
            ("io.opp.terraform.protocols", "4.0"),
        ]);
        assert_eq!(
            with_stored_provenance(&new, &stored),
            map(&[
                (SIGNATURE, "verified"),
                (SIGNING_KEY_ID, "OLDKEY"),
                (SOURCE, "registry.example/acme/p"),
                ("io.opp.terraform.protocols", "5.0"),
            ])
        );
    }
}

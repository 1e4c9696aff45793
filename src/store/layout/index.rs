//! The JSON of an OCI image layout, as values: the layout's `index.json` (one entry per tag,
//! named by `org.opencontainers.image.ref.name`) and the descriptors a stored manifest or
//! index references. Pure functions of bytes and values; reading, locking and writing the
//! files is the job of the store.
//!
//! Reading is lenient about what other tools write (skopeo leaves `mediaType` out of
//! `index.json`, untagged entries carry no annotations) and keeps fields it does not know,
//! so rewriting an index written by another tool loses nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::store::{OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST};

/// The annotation that names a tag in an image layout's `index.json`.
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The content of the `oci-layout` file.
pub(super) const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A layout's `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LayoutIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Entry>,
    /// Whatever else the file holds (annotations, fields of later spec versions).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One descriptor in `index.json`. The digest stays a string: an entry another tool wrote
/// with an algorithm opp does not handle must not make the whole index unreadable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// `platform`, `urls` and anything else, kept as written.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Default for LayoutIndex {
    fn default() -> Self {
        LayoutIndex {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_INDEX.to_owned()),
            manifests: Vec::new(),
            other: Map::new(),
        }
    }
}

impl Entry {
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations.as_ref()?.get(REF_NAME).map(String::as_str)
    }
}

impl LayoutIndex {
    pub fn parse(bytes: &[u8]) -> serde_json::Result<LayoutIndex> {
        serde_json::from_slice(bytes)
    }

    /// The bytes opp writes: always `schemaVersion: 2` and the image index media type.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut index = self.clone();
        index.schema_version = 2;
        index.media_type = Some(OCI_IMAGE_INDEX.to_owned());
        // A map of strings and numbers always serializes.
        serde_json::to_vec_pretty(&index).unwrap_or_default()
    }

    /// The entry a tag names, if any (the first one, should a foreign tool have written two).
    pub fn find_tag(&self, tag: &str) -> Option<&Entry> {
        self.manifests.iter().find(|e| e.ref_name() == Some(tag))
    }

    /// Every tag, each once, in the order of the file.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for tag in self.manifests.iter().filter_map(Entry::ref_name) {
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        tags
    }

    /// Points `tag` at a manifest: every entry that carried the tag is replaced by one new
    /// entry at the end. Entries of other tags and untagged entries are kept as they are.
    pub fn set_tag(&mut self, tag: &str, target: &ManifestSummary) {
        self.manifests.retain(|e| e.ref_name() != Some(tag));
        self.manifests.push(Entry {
            media_type: Some(target.media_type.clone()),
            digest: target.digest.to_string(),
            size: target.size,
            artifact_type: target.artifact_type.clone(),
            annotations: Some(BTreeMap::from([(REF_NAME.to_owned(), tag.to_owned())])),
            other: Map::new(),
        });
    }
}

/// What `index.json` records about a manifest it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ManifestSummary {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub artifact_type: Option<String>,
}

/// A descriptor a manifest or index points at, which must be stored before it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct Reference {
    pub digest: Digest,
    pub size: u64,
}

/// The parts of a manifest or index the store looks at.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ManifestBody {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Reference>,
    #[serde(default)]
    pub layers: Vec<Reference>,
    #[serde(default)]
    pub manifests: Vec<Reference>,
}

impl ManifestBody {
    pub fn parse(bytes: &[u8]) -> serde_json::Result<ManifestBody> {
        serde_json::from_slice(bytes)
    }

    /// Config, layers and child manifests: everything that must exist before this.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.config
            .iter()
            .chain(self.layers.iter())
            .chain(self.manifests.iter())
    }

    /// The media type the body declares, else the one its shape implies.
    pub fn media_type_or_guess(&self) -> String {
        match &self.media_type {
            Some(m) => m.clone(),
            None if !self.manifests.is_empty() => OCI_IMAGE_INDEX.to_owned(),
            None => OCI_IMAGE_MANIFEST.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(bytes: &[u8]) -> ManifestSummary {
        ManifestSummary {
            media_type: OCI_IMAGE_MANIFEST.into(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            artifact_type: Some("application/x-test".into()),
        }
    }

    #[test]
    fn index_written_by_skopeo_without_media_type_is_read_and_kept() {
        let skopeo = br#"{"schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
             "size":2,"platform":{"os":"linux","architecture":"amd64"},
             "annotations":{"org.opencontainers.image.ref.name":"v1"}},
            {"digest":"sha512:abcd","size":3}]}"#;
        let index = LayoutIndex::parse(skopeo).unwrap();
        assert_eq!(index.media_type, None);
        assert_eq!(index.tags(), ["v1"]);
        assert_eq!(index.find_tag("v1").unwrap().size, 2);

        let again = LayoutIndex::parse(&index.to_bytes()).unwrap();
        assert_eq!(again.media_type.as_deref(), Some(OCI_IMAGE_INDEX));
        assert_eq!(again.manifests[0].other["platform"]["os"], "linux");
        assert_eq!(again.manifests[1].digest, "sha512:abcd");
    }

    #[test]
    fn set_tag_replaces_the_entry_of_that_tag_and_keeps_the_others() {
        let mut index = LayoutIndex::default();
        index.set_tag("a", &summary(b"one"));
        index.set_tag("b", &summary(b"two"));
        index.set_tag("a", &summary(b"three"));
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(
            index.find_tag("a").unwrap().digest,
            Digest::of(b"three").to_string()
        );
        assert_eq!(
            index.find_tag("b").unwrap().digest,
            Digest::of(b"two").to_string()
        );
        let entry = index.find_tag("a").unwrap();
        assert_eq!(entry.artifact_type.as_deref(), Some("application/x-test"));
    }

    #[test]
    fn references_cover_config_layers_and_children() {
        let d = Digest::of(b"{}");
        let body = format!(
            r#"{{"config":{{"digest":"{d}","size":2}},"layers":[{{"digest":"{d}","size":2}}],
               "manifests":[{{"digest":"{d}","size":2}}]}}"#
        );
        let body = ManifestBody::parse(body.as_bytes()).unwrap();
        assert_eq!(body.references().count(), 3);
        assert_eq!(body.media_type_or_guess(), OCI_IMAGE_INDEX);
    }
}

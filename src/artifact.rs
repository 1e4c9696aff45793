//! How a release is laid out in OCI: image indexes whose entries are one image manifest per
//! distribution file (docs/formats.md). Pure: values in, serialized bytes out, and the merge
//! of new files into an existing index. Moving the bytes is `store/`; reading files from disk
//! is `ecosystem/`.

#![deny(clippy::wildcard_enum_match_arm)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use oci_client::manifest::{
    ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest, Platform,
};
use serde::Deserialize;

use crate::digest::Digest;
use crate::release::{Descriptor, DistFile};
use crate::store::{OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, RawManifest};

pub use layouts::{
    NUGET, NUGET_NUSPEC, NUGET_SNUPKG, PYOCI_SHA256, PYPI, PYPI_METADATA, PYPI_REQUIRES_PYTHON,
    RUBYGEMS, RUBYGEMS_INFO, RUBYGEMS_PLATFORM,
};

pub const TITLE: &str = "org.opencontainers.image.title";
pub const CREATED: &str = "org.opencontainers.image.created";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// The media and artifact types of one ecosystem's layout, and how its entries are keyed
/// (every ecosystem's values are in `layouts`).
#[derive(Debug, Clone, Copy)]
pub struct Kinds {
    /// `artifactType` of the version's index.
    pub index_artifact_type: &'static str,
    /// `artifactType` of each file manifest.
    pub file_artifact_type: &'static str,
    /// `mediaType` of the file layer.
    pub layer_media_type: &'static str,
    /// The entry annotation that tells apart entries without an OCI platform, beside their
    /// `artifactType` (RubyGems' `io.opp.rubygems.platform`): part of the merge key.
    pub entry_key: Option<&'static str>,
    /// An entry annotation of the layout that holds the file's sha256 in hex (PyOCI's
    /// `com.pyoci.sha256_digest`): read in place of `io.opp.file.digest`, which is then not
    /// written.
    pub digest_annotation: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{what} is not a valid OCI {kind}: {detail}")]
    Invalid {
        what: String,
        kind: &'static str,
        detail: String,
    },
    /// As `Invalid`, where one thing can be done about it.
    #[error("{what} is not a valid OCI {kind}: {detail}")]
    Unusable {
        what: String,
        kind: &'static str,
        detail: String,
        hint: &'static str,
    },
    #[error("{what} has artifactType {found:?}, expected {expected}")]
    WrongType {
        what: String,
        found: Option<String>,
        expected: &'static str,
    },
    /// Its hint (pass --force) is in `error::diagnostic`.
    #[error("{file} is already stored with other content (stored {stored}, new {new})")]
    Conflict {
        file: String,
        stored: Digest,
        new: Digest,
    },
    #[error(
        "{what} is already stored with other files ({file}: stored {}, new {new})",
        stored.as_ref().map(Digest::to_string).unwrap_or_else(|| "none".into())
    )]
    VersionConflict {
        what: String,
        file: String,
        stored: Option<Digest>,
        new: Digest,
    },
}

/// Where a layer's bytes come from when it is uploaded.
#[derive(Debug, Clone)]
pub enum LayerSource {
    /// A distribution file on disk, streamed.
    File(PathBuf),
    /// A small blob built in memory (a nuspec, a SHA256SUMS file, a JSON summary).
    Bytes(Bytes),
}

/// One layer of a file manifest.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    pub descriptor: Descriptor,
    /// `org.opencontainers.image.title`, the original file name.
    pub title: Option<String>,
    pub source: LayerSource,
}

/// One index entry to lay out: its manifest's layers (the first is the distribution file
/// itself, whose digest identifies the entry), its optional metadata config, its platform
/// and annotations.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// The name the entry is reported under (the distribution file's name).
    pub file_name: String,
    /// `artifactType` of the manifest.
    pub artifact_type: &'static str,
    /// `artifactType` repeated on the index entry, where the layout wants it (OpenTofu).
    pub entry_artifact_type: Option<&'static str>,
    pub layers: Vec<LayerSpec>,
    /// Metadata stored as the manifest's config blob (media type, bytes); `None` = the
    /// empty config.
    pub metadata: Option<(&'static str, Bytes)>,
    pub platform: Option<(String, String)>,
    pub entry_annotations: BTreeMap<String, String>,
}

impl FileSpec {
    /// The digest that identifies this entry: its first layer's.
    pub fn digest(&self) -> &Digest {
        &self.layers[0].descriptor.digest
    }
    /// The size of the distribution file (first layer).
    pub fn size(&self) -> u64 {
        self.layers[0].descriptor.size
    }
}

/// The serialized pieces of one file's manifest.
#[derive(Debug, Clone)]
pub struct FileArtifact {
    pub spec: FileSpec,
    pub config: Descriptor,
    pub config_bytes: Bytes,
    pub manifest: RawManifest,
}

impl FileArtifact {
    /// The index entry of this file: the spec's annotations, `created`, and the file's
    /// description ([`entry`]) so that the version reads from its index alone.
    pub fn entry(&self, kinds: &Kinds, created: &str) -> ImageIndexEntry {
        let mut annotations = self.spec.entry_annotations.clone();
        annotations.insert(CREATED.to_owned(), created.to_owned());
        let file = &self.spec.layers[0];
        let extra: Vec<Descriptor> = self.spec.layers[1..]
            .iter()
            .map(|l| l.descriptor.clone())
            .collect();
        let described = entry::annotations(
            kinds,
            &annotations,
            file.title.as_deref().unwrap_or(&self.spec.file_name),
            &file.descriptor,
            self.spec.metadata.as_ref().map(|_| &self.config),
            &extra,
        );
        annotations.extend(described);
        ImageIndexEntry {
            media_type: OCI_IMAGE_MANIFEST.to_owned(),
            digest: self.manifest.digest.to_string(),
            size: self.manifest.bytes.len() as i64,
            platform: self.spec.platform.as_ref().map(platform),
            annotations: Some(annotations),
            // Only where the layout asks for it: skopeo 1.9 rewrites (and so re-digests) an
            // index whose entries carry an artifactType.
            artifact_type: self.spec.entry_artifact_type.map(str::to_owned),
        }
    }
}

fn platform((os, arch): &(String, String)) -> Platform {
    Platform {
        architecture: arch.as_str().into(),
        os: os.as_str().into(),
        os_version: None,
        os_features: None,
        variant: None,
        features: None,
    }
}

fn descriptor(d: &Descriptor, annotations: Option<BTreeMap<String, String>>) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.to_string(),
        size: d.size as i64,
        urls: None,
        annotations,
        artifact_type: None,
    }
}

/// Builds the image manifest of one entry: config = metadata or the empty descriptor,
/// layers with their titles.
pub fn file_manifest(spec: FileSpec, created: &str) -> FileArtifact {
    file_manifest_annotated(spec, created, BTreeMap::new())
}

/// [`file_manifest`] with `annotations` beside the creation time on the manifest itself (for
/// a layout with no index to carry them: OpenTofu's modules).
#[expect(
    clippy::expect_used,
    reason = "an OCI manifest is strings, numbers and string maps: serializing cannot fail"
)]
pub fn file_manifest_annotated(
    spec: FileSpec,
    created: &str,
    mut annotations: BTreeMap<String, String>,
) -> FileArtifact {
    let (config_bytes, config_type) = match &spec.metadata {
        Some((t, m)) => (m.clone(), *t),
        None => (Bytes::from_static(EMPTY_CONFIG), EMPTY_MEDIA_TYPE),
    };
    let config = Descriptor {
        media_type: config_type.to_owned(),
        digest: Digest::of(&config_bytes),
        size: config_bytes.len() as u64,
    };
    let layers = spec
        .layers
        .iter()
        .map(|l| {
            let title = l
                .title
                .as_ref()
                .map(|t| BTreeMap::from([(TITLE.to_owned(), t.clone())]));
            descriptor(&l.descriptor, title)
        })
        .collect();
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MANIFEST.to_owned()),
        config: descriptor(&config, None),
        layers,
        subject: None,
        artifact_type: Some(spec.artifact_type.to_owned()),
        annotations: Some({
            annotations.insert(CREATED.to_owned(), created.to_owned());
            annotations
        }),
    };
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
    FileArtifact {
        spec,
        config,
        config_bytes,
        manifest: RawManifest::new(OCI_IMAGE_MANIFEST, bytes),
    }
}

/// Serializes a version's index.
pub fn index(kinds: &Kinds, entries: Vec<ImageIndexEntry>, created: &str) -> RawManifest {
    index_with(kinds, entries, created, BTreeMap::new())
}

/// Serializes a version's index with extra index annotations.
#[expect(
    clippy::expect_used,
    reason = "an OCI index is strings, numbers and string maps: serializing cannot fail"
)]
pub fn index_with(
    kinds: &Kinds,
    entries: Vec<ImageIndexEntry>,
    created: &str,
    mut annotations: BTreeMap<String, String>,
) -> RawManifest {
    annotations.insert(CREATED.to_owned(), created.to_owned());
    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_INDEX.to_owned()),
        manifests: entries,
        artifact_type: Some(kinds.index_artifact_type.to_owned()),
        annotations: Some(annotations),
    };
    RawManifest::new(
        OCI_IMAGE_INDEX,
        serde_json::to_vec(&index).expect("an index serializes"),
    )
}

/// Parses a version's index and checks its artifact type.
pub fn parse_index(
    kinds: &Kinds,
    what: &str,
    raw: &RawManifest,
) -> Result<OciImageIndex, ArtifactError> {
    let index: OciImageIndex =
        serde_json::from_slice(&raw.bytes).map_err(|e| ArtifactError::Invalid {
            what: what.to_owned(),
            kind: "image index",
            detail: e.to_string(),
        })?;
    if index.artifact_type.as_deref() != Some(kinds.index_artifact_type) {
        return Err(ArtifactError::WrongType {
            what: what.to_owned(),
            found: index.artifact_type,
            expected: kinds.index_artifact_type,
        });
    }
    Ok(index)
}

/// The parts of a file manifest opp reads (tolerant of what other tools wrote).
#[derive(Debug, Deserialize)]
struct ManifestView {
    config: OciDescriptor,
    layers: Vec<OciDescriptor>,
}

/// Reads a file manifest into a [`DistFile`]. `fallback_name` rebuilds the file name when the
/// layer has no title (PyOCI pushes none).
pub fn dist_file(
    what: &str,
    entry: &ImageIndexEntry,
    raw: &RawManifest,
    fallback_name: impl FnOnce(&(String, String)) -> String,
) -> Result<DistFile, ArtifactError> {
    let invalid = |detail: String| ArtifactError::Invalid {
        what: what.to_owned(),
        kind: "image manifest",
        detail,
    };
    let m: ManifestView = serde_json::from_slice(&raw.bytes).map_err(|e| invalid(e.to_string()))?;
    // The first layer is the distribution file; others are metadata beside it.
    let Some(layer) = m.layers.first() else {
        return Err(invalid("it has no layers".to_owned()));
    };
    let digest: Digest = layer
        .digest
        .parse()
        .map_err(|e: crate::digest::DigestParseError| invalid(e.to_string()))?;
    let platform = entry
        .platform
        .as_ref()
        .map(|p| (p.os.to_string(), p.architecture.to_string()));
    let name = match layer.annotations.as_ref().and_then(|a| a.get(TITLE)) {
        Some(t) => t.clone(),
        None => fallback_name(platform.as_ref().unwrap_or(&(String::new(), String::new()))),
    };
    let extra_layers = m.layers[1..]
        .iter()
        .map(|l| {
            Ok(Descriptor {
                media_type: l.media_type.clone(),
                digest: l
                    .digest
                    .parse()
                    .map_err(|e: crate::digest::DigestParseError| invalid(e.to_string()))?,
                size: l.size.max(0) as u64,
            })
        })
        .collect::<Result<Vec<_>, ArtifactError>>()?;
    let metadata = if m.config.media_type != EMPTY_MEDIA_TYPE && m.config.size > 2 {
        Some(Descriptor {
            media_type: m.config.media_type.clone(),
            digest: m
                .config
                .digest
                .parse()
                .map_err(|e: crate::digest::DigestParseError| invalid(e.to_string()))?,
            size: m.config.size.max(0) as u64,
        })
    } else {
        None
    };
    Ok(DistFile {
        name,
        digest,
        size: layer.size.max(0) as u64,
        platform,
        manifest: raw.digest.clone(),
        metadata,
        extra_layers,
        annotations: entry::other_annotations(entry),
    })
}

/// What a merge did with each new file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Added(String),
    Unchanged(String),
    Replaced(String),
}

/// Merges new file entries into an existing index's entries. Files are keyed by platform
/// (one file per platform per version, as PyOCI and OpenTofu key them); entries without an
/// OCI platform by their `artifactType` and the layout's [`Kinds::entry_key`] annotation (a
/// NuGet nupkg and its snupkg, one gem per Ruby platform). `existing` pairs each
/// entry with the digest of the file it holds. Nothing already there is dropped unless
/// `force` replaces it with other bytes of the same key.
pub fn merge(
    kinds: &Kinds,
    existing: Vec<(ImageIndexEntry, Digest)>,
    new: Vec<(String, ImageIndexEntry, Digest)>,
    force: bool,
) -> Result<(Vec<ImageIndexEntry>, Vec<Merged>), ArtifactError> {
    let key = |e: &ImageIndexEntry| match &e.platform {
        Some(p) => (
            Some((p.os.to_string(), p.architecture.to_string())),
            None,
            None,
        ),
        None => (
            None,
            e.artifact_type.clone(),
            kinds
                .entry_key
                .and_then(|key| e.annotations.as_ref()?.get(key).cloned()),
        ),
    };
    let mut entries: Vec<(ImageIndexEntry, Digest)> = existing;
    let mut outcome = Vec::new();
    for (file, entry, digest) in new {
        match entries.iter_mut().find(|(e, _)| key(e) == key(&entry)) {
            Some((_, stored)) if *stored == digest => outcome.push(Merged::Unchanged(file)),
            Some((slot, stored)) => {
                if !force {
                    return Err(ArtifactError::Conflict {
                        file,
                        stored: stored.clone(),
                        new: digest,
                    });
                }
                *slot = entry;
                *stored = digest;
                outcome.push(Merged::Replaced(file));
            }
            None => {
                entries.push((entry, digest));
                outcome.push(Merged::Added(file));
            }
        }
    }
    Ok((entries.into_iter().map(|(e, _)| e).collect(), outcome))
}

/// Now, as RFC 3339 in UTC with second precision.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

pub mod entry;
pub mod layouts;
#[cfg(test)]
mod tests;

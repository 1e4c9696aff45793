//! Self-describing index entries: the annotations opp writes on every index entry so that a
//! version can be read from its index alone (name, digest and size of the file, the metadata
//! config, the layers beside the file), without fetching one manifest per entry. Entries
//! without them (other tools, older opp) are read from their manifest as before; this module
//! only writes and reads the annotations, it does no I/O.

use std::collections::BTreeMap;

use oci_client::manifest::ImageIndexEntry;
use serde::{Deserialize, Serialize};

use super::{ArtifactError, Kinds};
use crate::digest::Digest;
use crate::release::{Descriptor, DistFile};

/// The distribution file's name (its layer's `org.opencontainers.image.title`).
pub const FILE_NAME: &str = "io.opp.file.name";
/// `sha256:<hex>` of the distribution file (the manifest's first layer); left out where the
/// layout's own [`Kinds::digest_annotation`] (PyOCI's `com.pyoci.sha256_digest`) already says
/// it.
pub const FILE_DIGEST: &str = "io.opp.file.digest";
/// The distribution file's size in bytes, in decimal.
pub const FILE_SIZE: &str = "io.opp.file.size";
/// The manifest's config when it holds metadata (a wheel's METADATA), as a JSON descriptor.
pub const FILE_CONFIG: &str = "io.opp.file.config";
/// The manifest's layers after the file (a nuspec, a gem's info JSON), as a JSON array of
/// descriptors.
pub const FILE_LAYERS: &str = "io.opp.file.layers";

const ALL: [&str; 5] = [FILE_NAME, FILE_DIGEST, FILE_SIZE, FILE_CONFIG, FILE_LAYERS];

/// An OCI descriptor as the annotations spell it: `{"mediaType", "digest", "size"}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Json {
    media_type: String,
    digest: String,
    size: u64,
}

impl From<&Descriptor> for Json {
    fn from(d: &Descriptor) -> Json {
        Json {
            media_type: d.media_type.clone(),
            digest: d.digest.to_string(),
            size: d.size,
        }
    }
}

/// The annotations that describe one file entry, beside the `layout`'s own.
pub(super) fn annotations(
    kinds: &Kinds,
    layout: &BTreeMap<String, String>,
    name: &str,
    file: &Descriptor,
    metadata: Option<&Descriptor>,
    extra_layers: &[Descriptor],
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        (FILE_NAME.to_owned(), name.to_owned()),
        (FILE_SIZE.to_owned(), file.size.to_string()),
    ]);
    // PyPI entries already carry PyOCI's digest annotation; an index of thousands of wheels
    // stays further from the 4 MiB limit without a second copy.
    let said = kinds.digest_annotation.and_then(|key| layout.get(key));
    if said.map(String::as_str) != Some(file.digest.hex()) {
        a.insert(FILE_DIGEST.to_owned(), file.digest.to_string());
    }
    if let Some(m) = metadata {
        a.insert(FILE_CONFIG.to_owned(), json(&Json::from(m)));
    }
    if !extra_layers.is_empty() {
        let layers: Vec<Json> = extra_layers.iter().map(Json::from).collect();
        a.insert(FILE_LAYERS.to_owned(), json(&layers));
    }
    a
}

#[expect(
    clippy::expect_used,
    reason = "descriptors are plain strings and numbers: serializing cannot fail"
)]
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("descriptors serialize")
}

/// The digest of the file an entry holds, when its annotations say it (opp's own, or the
/// layout's [`Kinds::digest_annotation`]).
pub fn file_digest(kinds: &Kinds, entry: &ImageIndexEntry) -> Option<Digest> {
    let a = entry.annotations.as_ref()?;
    if let Some(d) = a.get(FILE_DIGEST) {
        return d.parse().ok();
    }
    a.get(kinds.digest_annotation?)
        .and_then(|h| Digest::from_hex(h).ok())
}

/// The entry's annotations without opp's file description: what [`DistFile::annotations`]
/// reports, the same whether the entry was read from the index or from its manifest.
pub fn other_annotations(entry: &ImageIndexEntry) -> BTreeMap<String, String> {
    let mut a = entry.annotations.clone().unwrap_or_default();
    a.retain(|k, _| !ALL.contains(&k.as_str()));
    a
}

/// Reads a [`DistFile`] from an entry's annotations alone, or `None` when the entry does not
/// carry opp's file description (then its manifest has to be read). Annotations that are
/// there but malformed are an error, not a silent fallback.
pub fn dist_file(
    kinds: &Kinds,
    what: &str,
    entry: &ImageIndexEntry,
) -> Option<Result<DistFile, ArtifactError>> {
    let a = entry.annotations.as_ref()?;
    let (name, size) = (a.get(FILE_NAME)?, a.get(FILE_SIZE)?);
    let layout_digest = kinds.digest_annotation.and_then(|key| a.get(key));
    let digest = match (a.get(FILE_DIGEST), layout_digest) {
        (Some(d), _) => d.clone(),
        (None, Some(hex)) => format!("sha256:{hex}"),
        (None, None) => return None,
    };
    Some(described(what, entry, name, &digest, size))
}

fn described(
    what: &str,
    entry: &ImageIndexEntry,
    name: &str,
    digest: &str,
    size: &str,
) -> Result<DistFile, ArtifactError> {
    let invalid = |key: &str, detail: String| ArtifactError::Invalid {
        what: what.to_owned(),
        kind: "image index",
        detail: format!("entry {}: annotation {key}: {detail}", entry.digest),
    };
    let parse_digest = |key: &str, d: &str| -> Result<Digest, ArtifactError> {
        d.parse()
            .map_err(|e: crate::digest::DigestParseError| invalid(key, e.to_string()))
    };
    let descriptor = |key: &str, j: Json| -> Result<Descriptor, ArtifactError> {
        Ok(Descriptor {
            digest: parse_digest(key, &j.digest)?,
            media_type: j.media_type,
            size: j.size,
        })
    };
    let a = entry.annotations.as_ref();
    let get = |key: &str| a.and_then(|a| a.get(key));
    let metadata = match get(FILE_CONFIG) {
        Some(text) => {
            let j: Json =
                serde_json::from_str(text).map_err(|e| invalid(FILE_CONFIG, e.to_string()))?;
            Some(descriptor(FILE_CONFIG, j)?)
        }
        None => None,
    };
    let extra_layers = match get(FILE_LAYERS) {
        Some(text) => {
            let js: Vec<Json> =
                serde_json::from_str(text).map_err(|e| invalid(FILE_LAYERS, e.to_string()))?;
            js.into_iter()
                .map(|j| descriptor(FILE_LAYERS, j))
                .collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    Ok(DistFile {
        name: name.to_owned(),
        digest: parse_digest(FILE_DIGEST, digest)?,
        size: size
            .parse()
            .map_err(|e: std::num::ParseIntError| invalid(FILE_SIZE, e.to_string()))?,
        platform: entry
            .platform
            .as_ref()
            .map(|p| (p.os.to_string(), p.architecture.to_string())),
        manifest: parse_digest("digest", &entry.digest)?,
        metadata,
        extra_layers,
        annotations: other_annotations(entry),
    })
}

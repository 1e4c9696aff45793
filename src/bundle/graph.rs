//! What a manifest or index references: child manifests (an index's entries) and blobs (a
//! manifest's config and layers). Pure: export walks an artifact with it, import checks what a
//! version needs.

use serde::Deserialize;

use crate::digest::Digest;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ref {
    digest: String,
    size: i64,
}

#[derive(Deserialize)]
struct Node {
    #[serde(default)]
    manifests: Vec<Ref>,
    config: Option<Ref>,
    #[serde(default)]
    layers: Vec<Ref>,
}

/// The references of one manifest or index.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Refs {
    /// Child manifests (digest, size), in entry order.
    pub children: Vec<(Digest, u64)>,
    /// Config and layers (digest, size).
    pub blobs: Vec<(Digest, u64)>,
}

/// Reads the references of a manifest's bytes; the error says what is wrong.
pub fn references(bytes: &[u8]) -> Result<Refs, String> {
    let node: Node =
        serde_json::from_slice(bytes).map_err(|e| format!("not a manifest or index: {e}"))?;
    let one = |r: &Ref| -> Result<(Digest, u64), String> {
        let digest: Digest = r.digest.parse().map_err(|e| format!("{e}"))?;
        let size = u64::try_from(r.size).map_err(|_| format!("{digest} has a negative size"))?;
        Ok((digest, size))
    };
    Ok(Refs {
        children: node.manifests.iter().map(one).collect::<Result<_, _>>()?,
        blobs: node
            .config
            .iter()
            .chain(node.layers.iter())
            .map(one)
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_names_children_and_a_manifest_names_config_and_layers() {
        let d = Digest::of(b"{}");
        let index = format!(r#"{{"manifests":[{{"digest":"{d}","size":2}}]}}"#);
        assert_eq!(
            references(index.as_bytes()).unwrap(),
            Refs {
                children: vec![(d.clone(), 2)],
                blobs: vec![]
            }
        );
        let manifest = format!(
            r#"{{"config":{{"digest":"{d}","size":2}},"layers":[{{"digest":"{d}","size":7}}]}}"#
        );
        assert_eq!(
            references(manifest.as_bytes()).unwrap().blobs,
            vec![(d.clone(), 2), (d, 7)]
        );
    }

    #[test]
    fn bad_digests_and_sizes_are_refused() {
        assert!(references(br#"{"layers":[{"digest":"md5:x","size":1}]}"#).is_err());
        let d = Digest::of(b"x");
        let negative = format!(r#"{{"layers":[{{"digest":"{d}","size":-1}}]}}"#);
        assert!(references(negative.as_bytes()).is_err());
        assert!(references(b"[]").is_err());
    }
}

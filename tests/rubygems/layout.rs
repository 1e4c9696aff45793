//! Reading what opp stored for a gem version straight from an OCI image layout directory
//! (the local store, or a registry's content copied into one with `opp copy`), so tests check
//! the index, manifests and info layers as another OCI tool would see them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One OCI image layout repository: `<store>/<repository>`.
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(store: &Path, repository: &str) -> Layout {
        Layout {
            dir: store.join(repository),
        }
    }

    pub fn blob(&self, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        let path = self.dir.join("blobs/sha256").join(hex);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    pub fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.blob(digest)).expect("a JSON blob")
    }

    /// The digest the tag points at.
    pub fn tagged(&self, tag: &str) -> String {
        let index: Value = serde_json::from_slice(
            &std::fs::read(self.dir.join("index.json")).expect("the layout's index.json"),
        )
        .expect("index.json is JSON");
        index["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no tag {tag} in {}", self.dir.display()))["digest"]
            .as_str()
            .expect("a digest")
            .to_owned()
    }

    /// The version's image index.
    pub fn index(&self, tag: &str) -> Value {
        self.json(&self.tagged(tag))
    }

    /// The index entry whose gem platform annotation is `platform`, with its manifest.
    pub fn entry(&self, tag: &str, platform: &str) -> (Value, Value) {
        let index = self.index(tag);
        let entry = index["manifests"]
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["annotations"]["io.opp.rubygems.platform"] == platform)
            .unwrap_or_else(|| panic!("no {platform} entry in {index:#}"))
            .clone();
        let manifest = self.json(entry["digest"].as_str().expect("entry digest"));
        (entry, manifest)
    }
}

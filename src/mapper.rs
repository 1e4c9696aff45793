//! The mapper: (ecosystem, package, version) <-> (repository, tag). Pure, no I/O.
//! Being written; see docs/formats.md, "The mapper".

use crate::release::Ecosystem;

/// A name or version that cannot be mapped, naming the offending character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MapError(pub String);

/// Maps packages to repositories and versions to tags for one registry (or local store).
#[derive(Debug, Clone, Default)]
pub struct Mapper {
    prefix: String,
}

impl Mapper {
    pub fn new(prefix: &str) -> Result<Mapper, MapError> {
        Ok(Mapper {
            prefix: prefix.to_owned(),
        })
    }
    pub fn repository(&self, _eco: Ecosystem, _package: &str) -> Result<String, MapError> {
        Err(MapError(format!(
            "mapper not written yet ({})",
            self.prefix
        )))
    }
}

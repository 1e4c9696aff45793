//! What every frontend's failed request has in common: the HTTP status a library error maps
//! to, and the error with its causes as the one line a client prints. Each frontend keeps its
//! own error type (its outcomes and its body format: text, JSON, a reason phrase).

use axum::http::StatusCode;

use crate::artifact::ArtifactError;
use crate::packages::PackageError;
use crate::store::StoreError;

/// A name or version the mapper refuses is not in the store; a conflicting file is the
/// client's to resolve; a store that cannot be reached, or that gives a blob failing its
/// digest, is a bad gateway; a lost race is worth a retry.
pub fn package_status(e: &PackageError) -> StatusCode {
    match e {
        PackageError::Map(_) | PackageError::NotFound(_) => StatusCode::NOT_FOUND,
        PackageError::Artifact(ArtifactError::Conflict { .. }) => StatusCode::CONFLICT,
        PackageError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
        PackageError::Store(StoreError::Unreachable { .. } | StoreError::Unauthorized { .. })
        | PackageError::Store(StoreError::Registry { .. } | StoreError::Corrupt { .. }) => {
            StatusCode::BAD_GATEWAY
        }
        PackageError::Race { .. } | PackageError::Store(StoreError::Transient { .. }) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub use crate::error::chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_are_joined_once() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(chain(&e), "outer: disk full");
    }

    #[test]
    fn a_conflict_is_409_and_an_unreachable_store_502() {
        let conflict = PackageError::Artifact(ArtifactError::Conflict {
            file: "a".into(),
            stored: crate::digest::Digest::of(b"a"),
            new: crate::digest::Digest::of(b"b"),
        });
        assert_eq!(package_status(&conflict), StatusCode::CONFLICT);
        let gone = PackageError::Store(StoreError::Unreachable {
            registry: "r".into(),
            source: "refused".into(),
        });
        assert_eq!(package_status(&gone), StatusCode::BAD_GATEWAY);
    }
}

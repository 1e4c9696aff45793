//! The Terraform half of `opp mirror`: providers from a provider registry (`registry`: service
//! discovery, versions, download documents), the version and platforms chosen per request
//! (`plan`), `SHA256SUMS` and its signature fetched and verified before any zip is planned
//! (`signature`), and the zips handed to the shared pipeline, which downloads them
//! concurrently and checks each against the signed `SHA256SUMS`; the sink pushes each
//! version whole through `opp push terraform-provider`'s path with its provenance (`sink`).

pub mod config;
pub mod lock;
pub mod plan;
pub mod registry;
pub mod signature;
pub mod sink;

use crate::ecosystem::terraform_provider::ProviderError;
use crate::mirror::download::DownloadError;

#[derive(Debug, thiserror::Error)]
pub enum TerraformMirrorError {
    #[error(
        "`{0}` is not a provider registry host; give HOST, HOST:PORT or https://HOST[:PORT]/, \
         e.g. registry.terraform.io"
    )]
    BadUpstream(String),
    #[error("invalid provider request `{spec}`: {reason}; expected NAMESPACE/TYPE[@CONSTRAINT]")]
    BadSpec { spec: String, reason: String },
    #[error("{url} is not a registry document opp can read: {reason}")]
    BadDocument { url: String, reason: String },
    #[error("{0} offers no provider registry (no `providers.v1` in /.well-known/terraform.json)")]
    NoProviders(String),
    #[error("no version of {name} matches `{constraint}`; the registry has: {available}")]
    NoVersion {
        name: String,
        constraint: String,
        available: String,
    },
    #[error("{name} {version} has none of the platforms asked for ({asked}); it has: {available}")]
    NoPlatform {
        name: String,
        version: String,
        asked: String,
        available: String,
    },
    #[error("{what}: the registry names the zip `{found}`, not `{expected}`; nothing stored")]
    OddFileName {
        what: String,
        found: String,
        expected: String,
    },
    #[error(
        "{what}: the platforms have different SHA256SUMS files ({first} and {other}); nothing \
         stored"
    )]
    SplitSums {
        what: String,
        first: String,
        other: String,
    },
    #[error("{what}: {file}: {reason}; nothing stored")]
    Signature {
        what: String,
        file: String,
        reason: signature::SignatureError,
    },
    #[error(
        "{what}: the registry says sha256 {registry} for {file}, but the signed {sums} says \
         {signed}; nothing stored"
    )]
    ShasumMismatch {
        what: String,
        file: String,
        sums: String,
        registry: String,
        signed: String,
    },
    #[error("{what}: {file} is not listed in the signed {sums}; nothing stored")]
    NotInSums {
        what: String,
        file: String,
        sums: String,
    },
    #[error("{what}: the lock file's zh:{hash} is not in the signed {sums}; nothing stored")]
    LockMismatch {
        what: String,
        hash: String,
        sums: String,
    },
    #[error("{path} is not a lock file opp can read: {reason}")]
    BadLock { path: String, reason: String },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Download(#[from] DownloadError),
}

/// What `opp show` says of a mirrored provider version's provenance (its index annotations),
/// or `None` for a version that was pushed, not mirrored.
pub fn provenance_line(annotations: &std::collections::BTreeMap<String, String>) -> Option<String> {
    use crate::packages::provider::{SIGNATURE, SIGNING_KEY_ID, SIGNING_KEY_USER, SOURCE};
    let source = annotations.get(SOURCE)?;
    Some(match annotations.get(SIGNING_KEY_ID) {
        Some(id) => format!(
            "SHA256SUMS signed by key {id}{}, verified when mirrored from {source}",
            annotations
                .get(SIGNING_KEY_USER)
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        ),
        None => format!(
            "SHA256SUMS signature {} when mirrored from {source}",
            annotations
                .get(SIGNATURE)
                .map(String::as_str)
                .unwrap_or("not verified")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::provider::{SIGNATURE, SIGNING_KEY_ID, SIGNING_KEY_USER, SOURCE};
    use std::collections::BTreeMap;

    #[test]
    fn provenance_names_the_key_or_says_it_was_not_verified() {
        let mut a = BTreeMap::new();
        assert_eq!(provenance_line(&a), None);
        a.insert(
            SOURCE.to_owned(),
            "https://r.example/v1/providers/acme/hello/versions".to_owned(),
        );
        a.insert(
            SIGNATURE.to_owned(),
            "not verified (--insecure-skip-signature)".to_owned(),
        );
        assert_eq!(
            provenance_line(&a).unwrap(),
            "SHA256SUMS signature not verified (--insecure-skip-signature) when mirrored from \
             https://r.example/v1/providers/acme/hello/versions"
        );
        a.insert(SIGNING_KEY_ID.to_owned(), "34365D9472D7468F".to_owned());
        a.insert(
            SIGNING_KEY_USER.to_owned(),
            "HashiCorp Security <security@hashicorp.com>".to_owned(),
        );
        assert_eq!(
            provenance_line(&a).unwrap(),
            "SHA256SUMS signed by key 34365D9472D7468F (HashiCorp Security \
             <security@hashicorp.com>), verified when mirrored from \
             https://r.example/v1/providers/acme/hello/versions"
        );
    }
}

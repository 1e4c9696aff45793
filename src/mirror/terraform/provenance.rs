//! What a mirrored provider version says of where it came from and what vouched for it, read
//! back from its index annotations (docs/formats.md, "Provenance of mirrored providers"): the
//! line `opp show` prints ([`provenance_line`]) and the `provenance` object of `opp show
//! --json` and `opp mirror terraform-provider --json` ([`Provenance::of`]). Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use super::plan_mirror::{NETWORK_MIRROR, UNSIGNED};
use crate::packages::provider::{SIGNATURE, SIGNING_KEY_ID, SIGNING_KEY_USER, SOURCE, SOURCE_KIND};

/// The provenance of a mirrored version, as JSON output carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// Whether a signature over SHA256SUMS was verified when it was mirrored.
    pub signed: bool,
    /// `verified`, `not verified (--insecure-skip-signature)` or `unsigned` (network mirror).
    pub signature: String,
    /// The signing key's id (16 uppercase hex digits) when signed.
    pub key_id: Option<String>,
    /// The signing key's first user id, when signed and it has one.
    pub key_user_id: Option<String>,
    /// `registry` or `network-mirror`.
    pub source_kind: String,
    /// Where it came from: the registry's versions URL, or the network mirror's base URL.
    pub source: String,
}

impl Provenance {
    /// `None` for a version that was pushed, not mirrored.
    pub fn of(annotations: &BTreeMap<String, String>) -> Option<Provenance> {
        let get = |k: &str| annotations.get(k).cloned();
        let source = get(SOURCE)?;
        let key_id = get(SIGNING_KEY_ID);
        Some(Provenance {
            signed: key_id.is_some(),
            signature: get(SIGNATURE).unwrap_or_else(|| "not verified".to_owned()),
            key_user_id: key_id.as_ref().and_then(|_| get(SIGNING_KEY_USER)),
            key_id,
            source_kind: get(SOURCE_KIND).unwrap_or_else(|| "registry".to_owned()),
            source,
        })
    }
}

/// What `opp show` says of a mirrored provider version's provenance (its index annotations),
/// or `None` for a version that was pushed, not mirrored.
pub fn provenance_line(annotations: &BTreeMap<String, String>) -> Option<String> {
    let p = Provenance::of(annotations)?;
    Some(match (&p.key_id, p.source_kind.as_str()) {
        (Some(id), _) => format!(
            "SHA256SUMS signed by key {id}{}, verified when mirrored from {}",
            p.key_user_id
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default(),
            p.source
        ),
        (None, NETWORK_MIRROR) if p.signature == UNSIGNED => format!(
            "unsigned: mirrored from the network mirror {}, which signs nothing; each zip was \
             checked against the mirror's hashes",
            p.source
        ),
        (None, _) => format!(
            "SHA256SUMS signature {} when mirrored from {}",
            p.signature, p.source
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn provenance_names_the_key_or_says_it_was_not_verified() {
        assert_eq!(provenance_line(&BTreeMap::new()), None);
        let source = "https://r.example/v1/providers/acme/hello/versions";
        let mut a = annotations(&[
            (SOURCE, source),
            (SIGNATURE, "not verified (--insecure-skip-signature)"),
        ]);
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

    #[test]
    fn a_version_from_a_network_mirror_is_unsigned() {
        let a = annotations(&[
            (SOURCE, "https://m.example/"),
            (SIGNATURE, UNSIGNED),
            (SOURCE_KIND, NETWORK_MIRROR),
        ]);
        assert_eq!(
            provenance_line(&a).unwrap(),
            "unsigned: mirrored from the network mirror https://m.example/, which signs \
             nothing; each zip was checked against the mirror's hashes"
        );
        assert_eq!(
            serde_json::to_value(Provenance::of(&a).unwrap()).unwrap(),
            serde_json::json!({"signed": false, "signature": "unsigned", "key_id": null,
                "key_user_id": null, "source_kind": "network-mirror",
                "source": "https://m.example/"})
        );
    }

    #[test]
    fn a_signed_version_carries_its_key_as_fields() {
        let a = annotations(&[
            (SOURCE, "https://r.example/v1/providers/acme/hello/versions"),
            (SIGNATURE, "verified"),
            (SIGNING_KEY_ID, "34365D9472D7468F"),
            (
                SIGNING_KEY_USER,
                "HashiCorp Security <security@hashicorp.com>",
            ),
        ]);
        let p = Provenance::of(&a).unwrap();
        assert!(p.signed);
        assert_eq!(p.key_id.as_deref(), Some("34365D9472D7468F"));
        assert_eq!(
            p.key_user_id.as_deref(),
            Some("HashiCorp Security <security@hashicorp.com>")
        );
        assert_eq!(p.source_kind, "registry");
    }
}

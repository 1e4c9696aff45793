//! Checking a provider release's `SHA256SUMS` as Terraform does: its detached OpenPGP
//! signature (`SHA256SUMS.sig`, binary or armored) must verify against one of the signing
//! keys the registry returned for the version (ASCII-armored public keys; the primary key or a
//! signing subkey bound to it). Pure: bytes in, the signer out. OpenPGP is rpgp (`pgp`), a
//! maintained pure-Rust implementation (no gpg or system library at run time).

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

/// The key that made a valid signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// The primary key's 64-bit key id, 16 uppercase hex digits (as `gpg --keyid-format long`
    /// and the registry's `key_id` show it), e.g. HashiCorp's `34365D9472D7468F`.
    pub key_id: String,
    /// The key's first user id, e.g. `HashiCorp Security <security@hashicorp.com>`.
    pub user_id: Option<String>,
    /// The armored key that verified (kept with the version).
    pub armor: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the registry gave no signing key")]
    NoKeys,
    #[error("the signature file is not an OpenPGP signature ({0})")]
    BadSignature(String),
    #[error("the signing key {key_id} the registry gave is not an OpenPGP public key ({reason})")]
    BadKey { key_id: String, reason: String },
    #[error(
        "the signature (by key {issuer}) is not valid for any signing key the registry gave ({keys})"
    )]
    Invalid { issuer: String, keys: String },
}

/// One signing key as the registry lists it: its stated id and ASCII armor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryKey {
    pub key_id: String,
    pub ascii_armor: String,
}

/// Verifies `signature` over `sums` with one of `keys`; the signer.
pub fn verify(
    sums: &[u8],
    signature: &[u8],
    keys: &[RegistryKey],
) -> Result<Signer, SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::NoKeys);
    }
    let (sig, _) = DetachedSignature::from_reader_single(signature)
        .map_err(|e| SignatureError::BadSignature(e.to_string()))?;
    let issuer = sig
        .signature
        .issuer_key_id()
        .first()
        .map(|k| k.to_string().to_ascii_uppercase())
        .or_else(|| {
            sig.signature.issuer_fingerprint().first().map(|f| {
                let hex = format!("{f:x}").to_ascii_uppercase();
                hex[hex.len().saturating_sub(16)..].to_owned()
            })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let mut parsed = Vec::new();
    for k in keys {
        let (key, _) =
            SignedPublicKey::from_armor_single(k.ascii_armor.as_bytes()).map_err(|e| {
                SignatureError::BadKey {
                    key_id: k.key_id.clone(),
                    reason: e.to_string(),
                }
            })?;
        parsed.push((k, key));
    }
    for (k, key) in &parsed {
        let by_primary = sig.verify(key, sums).is_ok();
        let by_subkey = || {
            key.public_subkeys.iter().any(|sub| {
                sub.verify_bindings(&key.primary_key).is_ok() && sig.verify(sub, sums).is_ok()
            })
        };
        if by_primary || by_subkey() {
            return Ok(Signer {
                key_id: key.legacy_key_id().to_string().to_ascii_uppercase(),
                user_id: key
                    .details
                    .users
                    .first()
                    .and_then(|u| u.id.as_str().map(str::to_owned)),
                armor: k.ascii_armor.clone(),
            });
        }
    }
    Err(SignatureError::Invalid {
        issuer,
        keys: keys
            .iter()
            .map(|k| k.key_id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;

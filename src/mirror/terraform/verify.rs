//! A provider version's `SHA256SUMS` and its signature, checked as Terraform checks them: the
//! signature against the signing keys the registry gave for the version (unless
//! `--insecure-skip-signature`), then each planned zip's sha256 as the registry stated it
//! against the signed file, and a lock file's `zh:` hashes against it. A mirror fetches the
//! two files beside the zips and the sink runs these checks before anything is pushed
//! ([`Unverified`]); a dry run fetches them first (`plan`), to report the signer. Also the
//! provenance a version is stored with.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;

use super::TerraformMirrorError as Error;
use super::signature::{self, RegistryKey, Signer};
use crate::ecosystem::terraform_provider::parse_shasums;
use crate::mirror::download::DownloadError;
use crate::packages::provider::{
    Provenance, SIGNATURE, SIGNING_KEY_ID, SIGNING_KEY_USER, SOURCE, SOURCE_KIND,
};

/// What the sink checks before pushing a version whose `SHA256SUMS` came with its zips.
#[derive(Clone, Debug)]
pub struct Unverified {
    /// The signing keys the registry gave for the version.
    pub keys: Vec<RegistryKey>,
    pub skip_signature: bool,
    /// A lock file's `zh:` hashes (hex) of the version, all of which must be signed.
    pub locked_zh: Vec<String>,
}

/// What a checked `SHA256SUMS` says.
#[derive(Clone, Debug)]
pub struct Verified {
    /// File name -> sha256 (hex), as signed.
    pub sums: BTreeMap<String, String>,
    /// `None` with `--insecure-skip-signature`.
    pub signer: Option<Signer>,
}

/// Reads `sums_path` and `sig_path`, verifies the signature (unless `skip_signature`) and
/// parses the sums. `what` (`NAME VERSION`) and `sig_name` name them in errors.
pub fn verify_files(
    what: &str,
    sums_path: &Path,
    sig_path: &Path,
    sig_name: &str,
    keys: &[RegistryKey],
    skip_signature: bool,
) -> Result<Verified, Error> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| DownloadError::Io {
            path: p.display().to_string(),
            source,
        })
    };
    let sums_bytes = read(sums_path)?;
    let signer = if skip_signature {
        None
    } else {
        let sig_bytes = read(sig_path)?;
        Some(
            signature::verify(&sums_bytes, &sig_bytes, keys).map_err(|reason| {
                Error::Signature {
                    what: what.to_owned(),
                    file: sig_name.to_owned(),
                    reason,
                }
            })?,
        )
    };
    let sums = parse_shasums(sums_path, &sums_bytes)?;
    Ok(Verified { sums, signer })
}

/// Checks a lock file's `zh:` hashes (`locked_zh`, hex) and each planned zip's sha256 as the
/// registry stated it (`zips`: file name -> hex) against the signed sums.
pub fn check_zips(
    what: &str,
    sums_name: &str,
    sums: &BTreeMap<String, String>,
    zips: &BTreeMap<String, String>,
    locked_zh: &[String],
) -> Result<(), Error> {
    if let Some(stray) = locked_zh.iter().find(|z| !sums.values().any(|v| v == *z)) {
        return Err(Error::LockMismatch {
            what: what.to_owned(),
            hash: stray.clone(),
            sums: sums_name.to_owned(),
        });
    }
    for (file, stated) in zips {
        let Some(signed) = sums.get(file) else {
            return Err(Error::NotInSums {
                what: what.to_owned(),
                file: file.clone(),
                sums: sums_name.to_owned(),
            });
        };
        if signed != stated {
            return Err(Error::ShasumMismatch {
                what: what.to_owned(),
                file: file.clone(),
                sums: sums_name.to_owned(),
                registry: stated.clone(),
                signed: signed.clone(),
            });
        }
    }
    Ok(())
}

/// Where a version from a provider registry came from (its versions URL).
pub fn source_provenance(source: &str) -> Provenance {
    let mut provenance = Provenance::default();
    provenance
        .annotations
        .insert(SOURCE.to_owned(), source.to_owned());
    provenance
        .annotations
        .insert(SOURCE_KIND.to_owned(), "registry".to_owned());
    provenance
}

/// `provenance` with what the signature check found: the signer (its key kept with the
/// version), or that it was skipped.
pub fn signed_provenance(
    mut provenance: Provenance,
    signer: Option<&Signer>,
    sums_name: &str,
) -> Provenance {
    let notes = &mut provenance.annotations;
    match signer {
        Some(s) => {
            notes.insert(SIGNATURE.to_owned(), "verified".to_owned());
            notes.insert(SIGNING_KEY_ID.to_owned(), s.key_id.clone());
            if let Some(user) = &s.user_id {
                notes.insert(SIGNING_KEY_USER.to_owned(), user.clone());
            }
            provenance.signing_key = Some((
                format!("{sums_name}.{}.asc", s.key_id),
                Bytes::from(s.armor.clone().into_bytes()),
            ));
        }
        None => {
            notes.insert(
                SIGNATURE.to_owned(),
                "not verified (--insecure-skip-signature)".to_owned(),
            );
        }
    }
    provenance
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::string_map as map;

    #[test]
    fn zips_are_checked_against_the_signed_sums_and_the_lock_against_them_first() {
        let sums = map(&[("a.zip", "aa"), ("b.zip", "bb")]);
        let what = "acme/hello 1.2.3";
        assert!(
            check_zips(
                what,
                "SUMS",
                &sums,
                &map(&[("a.zip", "aa")]),
                &["bb".into()]
            )
            .is_ok()
        );
        assert_eq!(
            check_zips(what, "SUMS", &sums, &map(&[("a.zip", "ab")]), &[])
                .unwrap_err()
                .to_string(),
            "acme/hello 1.2.3: the registry says sha256 ab for a.zip, but the signed SUMS says \
             aa; nothing stored"
        );
        assert_eq!(
            check_zips(what, "SUMS", &sums, &map(&[("c.zip", "cc")]), &[])
                .unwrap_err()
                .to_string(),
            "acme/hello 1.2.3: c.zip is not listed in the signed SUMS; nothing stored"
        );
        assert_eq!(
            check_zips(
                what,
                "SUMS",
                &sums,
                &map(&[("c.zip", "cc")]),
                &["dd".into()]
            )
            .unwrap_err()
            .to_string(),
            "acme/hello 1.2.3: the lock file's zh:dd is not in the signed SUMS; nothing stored"
        );
    }
}

//! Signatures made with gpg 2.2 (ed25519 keys; one signing with a subkey), in `testdata/`.

use super::*;

const SUMS: &[u8] = include_bytes!("testdata/SHA256SUMS");
const KEY_1: &str = include_str!("testdata/key-231E6B2684BF4A59.asc");
const KEY_2: &str = include_str!("testdata/key-F5F669E95C86F0DD.asc");
const KEY_3: &str = include_str!("testdata/key-2E62E9617681C5B9.asc");
const SIG_1_ARMORED: &[u8] = include_bytes!("testdata/SHA256SUMS.by-231E6B2684BF4A59.asc");
const SIG_3_BINARY: &[u8] = include_bytes!("testdata/SHA256SUMS.by-subkey-of-2E62E9617681C5B9.sig");

fn key(id: &str, armor: &str) -> RegistryKey {
    RegistryKey {
        key_id: id.to_owned(),
        ascii_armor: armor.to_owned(),
    }
}

#[test]
fn an_armored_signature_by_a_listed_key_names_its_signer() {
    let keys = [
        key("F5F669E95C86F0DD", KEY_2),
        key("231E6B2684BF4A59", KEY_1),
    ];
    let signer = verify(SUMS, SIG_1_ARMORED, &keys).unwrap();
    assert_eq!(signer.key_id, "231E6B2684BF4A59");
    assert_eq!(
        signer.user_id.as_deref(),
        Some("fixture h1 <h1@opp.invalid>")
    );
    assert_eq!(signer.armor, KEY_1);
}

#[test]
fn a_binary_signature_by_a_signing_subkey_names_the_primary_key() {
    let signer = verify(SUMS, SIG_3_BINARY, &[key("2E62E9617681C5B9", KEY_3)]).unwrap();
    assert_eq!(signer.key_id, "2E62E9617681C5B9");
}

#[test]
fn a_signature_by_a_key_the_registry_did_not_give_is_refused() {
    let err = verify(SUMS, SIG_1_ARMORED, &[key("F5F669E95C86F0DD", KEY_2)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signature (by key 231E6B2684BF4A59) is not valid for any signing key the registry \
         gave (F5F669E95C86F0DD)"
    );
}

#[test]
fn changed_sums_do_not_verify() {
    let mut sums = SUMS.to_vec();
    sums[0] = b'b';
    let err = verify(&sums, SIG_1_ARMORED, &[key("231E6B2684BF4A59", KEY_1)]).unwrap_err();
    assert!(matches!(err, SignatureError::Invalid { .. }), "{err}");
}

#[test]
fn no_keys_garbage_signatures_and_garbage_keys_are_errors() {
    assert_eq!(
        verify(SUMS, SIG_1_ARMORED, &[]),
        Err(SignatureError::NoKeys)
    );
    assert!(matches!(
        verify(SUMS, b"not a signature", &[key("231E6B2684BF4A59", KEY_1)]),
        Err(SignatureError::BadSignature(_))
    ));
    assert!(matches!(
        verify(
            SUMS,
            SIG_1_ARMORED,
            &[key(
                "X",
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"
            )]
        ),
        Err(SignatureError::BadKey { .. })
    ));
}

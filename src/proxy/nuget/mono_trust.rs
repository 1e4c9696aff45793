//! Mono's certificate trust store for nuget.exe: mono's TLS (btls) ignores `SSL_CERT_FILE`
//! and trusts the directory `$XDG_CONFIG_HOME/.mono/new-certs/Trust/`, where `cert-sync
//! --user` writes each certificate as PEM named by OpenSSL's subject hash (`2274bf15.0`,
//! OpenSSL's hashed-directory lookup). This module writes the proxy's CA bundle there, in a
//! directory of the proxy's own that the child gets as `XDG_CONFIG_HOME`; it computes the hash
//! itself (SHA-1 of the canonical subject, as `X509_NAME_hash_ex`), so no mono tool runs.
//!
//! Choosing the directory and when to use it is the frontend's job (`nuget.rs`).

use std::path::{Path, PathBuf};

/// Where mono looks, under its config home (`XDG_CONFIG_HOME`).
pub const TRUST_DIR: [&str; 3] = [".mono", "new-certs", "Trust"];

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the CA bundle {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write mono's trust store {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA bundle {} holds no certificate mono could use", path.display())]
    Empty { path: PathBuf },
}

/// Writes every certificate of the PEM `bundle` into mono's trust store under `config_home`.
/// Certificates whose subject cannot be read are left out. Returns how many were written.
pub fn install(bundle: &Path, config_home: &Path) -> Result<usize, TrustError> {
    let text = std::fs::read(bundle).map_err(|source| TrustError::Read {
        path: bundle.to_owned(),
        source,
    })?;
    let dir = TRUST_DIR
        .iter()
        .fold(config_home.to_owned(), |dir, part| dir.join(part));
    crate::proxy::workdir::create_private_dirs(&dir).map_err(|source| TrustError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut written = 0;
    for block in certificates(&String::from_utf8_lossy(&text)) {
        let Some(hash) = subject_hash(block.contents()) else {
            tracing::debug!(
                "a certificate of {} has no readable subject",
                bundle.display()
            );
            continue;
        };
        // Same hash, other certificate: the next free `.N`, as OpenSSL's c_rehash does.
        let path = (0..)
            .map(|n| dir.join(format!("{hash}.{n}")))
            .find(|p| !p.exists())
            .unwrap_or_else(|| dir.join(format!("{hash}.0")));
        crate::proxy::workdir::write_private(&path, pem::encode(&block).as_bytes()).map_err(
            |source| TrustError::Write {
                path: path.clone(),
                source,
            },
        )?;
        written += 1;
    }
    if written == 0 {
        return Err(TrustError::Empty {
            path: bundle.to_owned(),
        });
    }
    Ok(written)
}

/// Every PEM certificate in `text`; text between them (comments) and blocks that do not
/// decode are skipped, so one bad entry in a system bundle costs only itself.
fn certificates(text: &str) -> Vec<pem::Pem> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find(END) {
        let (block, after) = rest.split_at(end + END.len());
        if let Some(begin) = block.find("-----BEGIN CERTIFICATE-----")
            && let Ok(pem) = pem::parse(&block[begin..])
        {
            found.push(pem);
        }
        rest = after;
    }
    found
}

/// OpenSSL's subject hash of a DER certificate, as 8 hex digits (`openssl x509
/// -subject_hash`): the first four bytes, little-endian, of the SHA-1 of the canonical
/// encoding of the subject name.
pub fn subject_hash(der: &[u8]) -> Option<String> {
    let canonical = canonical_name(subject(der)?)?;
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &canonical);
    let first: [u8; 4] = digest.as_ref().get(..4)?.try_into().ok()?;
    Some(format!("{:08x}", u32::from_le_bytes(first)))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const UTF8_STRING: u8 = 0x0c;
const BMP_STRING: u8 = 0x1e;
const UNIVERSAL_STRING: u8 = 0x1c;
/// PrintableString, T61String, IA5String, VisibleString: one byte per character.
const BYTE_STRINGS: [u8; 4] = [0x13, 0x14, 0x16, 0x1a];

/// One DER element: its tag, its content, and the whole encoding.
struct Element<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// The first element of `input` and what follows it (single-byte tags, definite lengths).
fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = input.get(2..2 + count)?;
        let length = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    let whole = input.get(..end)?;
    Some((
        Element {
            tag,
            content: &whole[header..],
            whole,
        },
        &input[end..],
    ))
}

/// Every element of a constructed element's content.
fn elements(mut content: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (e, rest) = element(content)?;
        out.push(e);
        content = rest;
    }
    Some(out)
}

/// The subject's content (its RDN sets) of a DER certificate.
fn subject(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = element(der)?;
    let (tbs, _) = element(certificate.content)?;
    let mut fields = elements(tbs.content)?.into_iter();
    let mut field = fields.next()?;
    if field.tag == 0xa0 {
        field = fields.next()?; // the explicit version
    }
    // serial (current), signature, issuer, validity, then the subject.
    let subject = fields.nth(3)?;
    (field.tag == 0x02 && subject.tag == SEQUENCE).then_some(subject.content)
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// OpenSSL's canonical name encoding (`x509_name_canon`): each RDN set re-encoded with its
/// string values as lowercased, space-collapsed UTF8Strings, sets concatenated without the
/// outer SEQUENCE.
fn canonical_name(rdns: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for rdn in elements(rdns)? {
        if rdn.tag != SET {
            return None;
        }
        let mut avas = Vec::new();
        for ava in elements(rdn.content)? {
            let parts = elements(ava.content)?;
            let [oid, value] = parts.as_slice() else {
                return None;
            };
            let mut content = oid.whole.to_vec();
            match text(value) {
                Some(t) => content.extend(encode(UTF8_STRING, canonical_text(&t).as_bytes())),
                None => content.extend_from_slice(value.whole),
            }
            avas.push(encode(SEQUENCE, &content));
        }
        // DER orders a SET OF by its encodings.
        avas.sort();
        out.extend(encode(SET, &avas.concat()));
    }
    Some(out)
}

/// A string value as text, for the string types OpenSSL canonicalizes.
fn text(value: &Element<'_>) -> Option<String> {
    match value.tag {
        UTF8_STRING => String::from_utf8(value.content.to_vec()).ok(),
        t if BYTE_STRINGS.contains(&t) => {
            Some(value.content.iter().map(|b| char::from(*b)).collect())
        }
        BMP_STRING => {
            let units: Vec<u16> = value
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        UNIVERSAL_STRING => value
            .content
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// Trimmed, inner runs of ASCII whitespace collapsed to one space, ASCII lowercased.
fn canonical_text(text: &str) -> String {
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.trim_matches(space).chars() {
        if space(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -subj "/CN=opp test CA"`; `openssl x509 -subject_hash` says 2274bf15.
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUOx2OQYDjl9waoUgDhwHg9MakwsEwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLb3BwIHRlc3QgQ0EwHhcNMjYxMTI3MjEwMTIzWhcNMjYxMTI4
MjEwMTIzWjAWMRQwEgYDVQQDDAtvcHAgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABPl2fx71lRINfLNdYOrUUB3ryRmUGl90/M+SKvjPkKdzSqxi1dYw
k698IP7ptLhOxj48SNYOD2eoR6wuOUO1vuqjUzBRMB0GA1UdDgQWBBRn/c3N2R6j
BQf0DOy7UDrLj+WB0TAfBgNVHSMEGDAWgBRn/c3N2R6jBQf0DOy7UDrLj+WB0TAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQD1agbwaauIfNkmi+42
LjOKT291OhPqrrjE11KWEujcvwIgNs8b5xQ/oysqzAmstgrvW61OYjhloMxE9s5s
5EIPkv4=
-----END CERTIFICATE-----
";

    #[test]
    fn the_subject_hash_is_openssls() {
        let block = pem::parse(TEST_CA).expect("PEM");
        assert_eq!(subject_hash(block.contents()).as_deref(), Some("2274bf15"));
        assert_eq!(subject_hash(b"\x30\x03\x02\x01\x00"), None);
    }

    #[test]
    fn text_is_trimmed_collapsed_and_lowercased() {
        assert_eq!(canonical_text("  Opp \t Test\nCA "), "opp test ca");
        assert_eq!(canonical_text("Ünï"), "Ünï");
    }

    #[test]
    fn the_bundle_lands_in_mono_s_trust_directory_by_hash() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join("bundle.pem");
        let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        std::fs::write(&bundle, format!("# a comment\n{TEST_CA}{broken}{TEST_CA}")).expect("write");
        let home = dir.path().join("xdg");
        assert_eq!(install(&bundle, &home).expect("install"), 2);
        let trust = home.join(".mono/new-certs/Trust");
        for name in ["2274bf15.0", "2274bf15.1"] {
            let text = std::fs::read_to_string(trust.join(name)).expect(name);
            assert!(text.contains("MIIBgTCCASegAwIBAgIUOx2OQYDjl9waoUgDhwHg9MakwsEw"));
        }
        std::fs::write(&bundle, "no certificates").expect("write");
        assert!(matches!(
            install(&bundle, &home),
            Err(TrustError::Empty { .. })
        ));
    }
}

//! The proxy's HTTPS identity: a throwaway certificate authority made at start, a leaf
//! certificate it signs for the loopback names, and the PEM bundle (system roots plus that CA)
//! a child process trusts so it reaches both the proxy and the public internet.
//!
//! The CA's private key exists only inside [`generate`]: it signs the leaf and is dropped, so
//! it is never written anywhere and nothing can sign with it afterwards. Only certificates go
//! to disk, into the proxy's private temporary directory, with mode 0600. Serving the leaf is
//! `server.rs`'s job; choosing the temporary directory and removing it is the caller's.

use std::path::{Path, PathBuf};

use axum_server::tls_rustls::RustlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// Where system CA bundles live on the common Unix families, in the order they are tried
/// (after `SSL_CERT_FILE`): Debian/Ubuntu/Alpine/Arch, Fedora/RHEL, macOS/BSD.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// How long the certificates are valid: a proxy lives minutes, but a laptop's clock may be
/// a little off, so a day either side of now.
const VALID_DAYS_BEFORE: i64 = 1;
const VALID_DAYS_AFTER: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot make the proxy's TLS certificate")]
    Generate(#[from] rcgen::Error),
    #[error("`{0}` cannot be a name in the proxy's TLS certificate")]
    BadName(String, #[source] rcgen::Error),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the system CA bundle {path}")]
    ReadRoots {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load the proxy's TLS certificate")]
    Config(#[source] std::io::Error),
}

/// The leaf the proxy serves and the CA certificate that clients trust. Holds no CA key.
pub struct ProxyTls {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The leaf certificate followed by the CA certificate, PEM.
    pub chain_pem: String,
    /// The leaf's private key, PEM. Kept in memory only.
    key_pem: String,
}

impl std::fmt::Debug for ProxyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyTls").finish_non_exhaustive()
    }
}

/// The files written for a child: the CA certificate alone and the bundle a client trusts.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub ca_cert: PathBuf,
    pub bundle: PathBuf,
    /// The system roots copied into the bundle; `None` when none were found.
    pub system_roots: Option<PathBuf>,
}

/// Makes a CA and a leaf for `names` (DNS names or IP addresses, e.g. `localhost`,
/// `127.0.0.1`, `::1`). The CA key is dropped before this returns.
pub fn generate(names: &[&str]) -> Result<ProxyTls, TlsError> {
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("opp proxy throwaway CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut ca_params);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut sans: Vec<String> = Vec::new();
    for n in names {
        if !sans.iter().any(|s| s == n) {
            sans.push((*n).to_owned());
        }
    }
    let mut leaf_params = CertificateParams::new(sans.clone()).map_err(|e| {
        let bad = sans
            .iter()
            .find(|s| CertificateParams::new(vec![(*s).clone()]).is_err())
            .cloned()
            .unwrap_or_else(|| sans.join(", "));
        TlsError::BadName(bad, e)
    })?;
    leaf_params.distinguished_name = name("localhost");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    set_validity(&mut leaf_params);
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

    let ca_pem = ca.pem();
    Ok(ProxyTls {
        chain_pem: format!("{}{}", leaf.pem(), ca_pem),
        ca_pem,
        key_pem: leaf_key.serialize_pem(),
    })
}

impl ProxyTls {
    /// The server side of the leaf, for axum-server. The rustls crypto provider must be
    /// installed first (`store::registry::install_crypto_provider`).
    pub async fn rustls_config(&self) -> Result<RustlsConfig, TlsError> {
        RustlsConfig::from_pem(
            self.chain_pem.clone().into_bytes(),
            self.key_pem.clone().into_bytes(),
        )
        .await
        .map_err(TlsError::Config)
    }

    /// Writes `ca.pem` (the CA alone) and `ca-bundle.pem` (system roots, then the CA) into
    /// `dir`, each readable by the owner only.
    pub fn write_bundle(&self, dir: &Path) -> Result<Bundle, TlsError> {
        let ca_cert = dir.join("ca.pem");
        write_private(&ca_cert, self.ca_pem.as_bytes())?;
        let system_roots = system_roots();
        let mut bundle_text = match &system_roots {
            Some(path) => std::fs::read_to_string(path).map_err(|source| TlsError::ReadRoots {
                path: path.clone(),
                source,
            })?,
            None => String::new(),
        };
        if !bundle_text.is_empty() && !bundle_text.ends_with('\n') {
            bundle_text.push('\n');
        }
        bundle_text.push_str("# opp proxy throwaway CA\n");
        bundle_text.push_str(&self.ca_pem);
        let bundle = dir.join("ca-bundle.pem");
        write_private(&bundle, bundle_text.as_bytes())?;
        Ok(Bundle {
            ca_cert,
            bundle,
            system_roots,
        })
    }
}

/// The system's CA bundle: `SSL_CERT_FILE` when it names a file (so a corporate bundle is
/// kept), else the first of the usual places that exists.
pub fn system_roots() -> Option<PathBuf> {
    let from_env = std::env::var_os("SSL_CERT_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    from_env
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "opp");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Valid from a day ago to a month ahead, at midnight UTC.
fn set_validity(params: &mut CertificateParams) {
    let day = |offset_days: i64| {
        let now = jiff::Timestamp::now();
        let then = now
            .checked_add(jiff::SignedDuration::from_hours(24 * offset_days))
            .unwrap_or(now);
        let d = jiff::tz::Offset::UTC.to_datetime(then).date();
        // A civil date's month is 1..=12 and its day 1..=31: both fit in u8.
        rcgen::date_time_ymd(
            i32::from(d.year()),
            d.month().unsigned_abs(),
            d.day().unsigned_abs(),
        )
    };
    params.not_before = day(-VALID_DAYS_BEFORE);
    params.not_after = day(VALID_DAYS_AFTER);
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    super::workdir::write_private(path, bytes).map_err(|source| TlsError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn leaf_is_signed_by_the_ca_and_no_key_is_written() {
        let tls = generate(&[
            "localhost",
            "127.0.0.1",
            "::1",
            "opp.localhost",
            "localhost",
        ])
        .expect("generate");
        assert_eq!(tls.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(tls.chain_pem.ends_with(&tls.ca_pem));
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = tls.write_bundle(dir.path()).expect("write bundle");
        for path in [&bundle.ca_cert, &bundle.bundle] {
            let text = std::fs::read_to_string(path).expect("read");
            assert!(
                !text.contains("PRIVATE KEY"),
                "{} holds a key",
                path.display()
            );
            assert!(text.ends_with(&tls.ca_pem));
            let mode = std::fs::metadata(path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_name_that_cannot_be_in_a_certificate_is_named() {
        let err = generate(&["localhost", "bad\u{e9}name"]).expect_err("non-ASCII name");
        assert!(err.to_string().contains("bad\u{e9}name"), "{err}");
    }
}

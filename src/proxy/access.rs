//! Who may use the proxy: the one user who started it. At start a random secret is drawn
//! from the OS; every request must then carry it, as `Authorization: Basic <any user>:<secret>`
//! (pip, uv, twine), `Authorization: Bearer <secret>` (terraform's `credentials` token), the
//! bare `Authorization: <secret>` (`gem push` sends its API key so, with no scheme),
//! `X-NuGet-ApiKey: <secret>` (`nuget push -ApiKey`, `dotnet nuget push -k`), or a
//! signed short-lived URL (`?expires=..&sig=..`, HMAC-SHA256 of the path and the expiry) for
//! the archives terraform downloads without sending its token.
//!
//! Comparisons are constant-time (through `ring::hmac::verify`), and the secret is never
//! formatted by `Debug`. Checking requests in the server is `server.rs`'s job; handing the
//! secret to clients is each frontend's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Uri, header};
use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The user name put beside the secret where a client wants one (any name is accepted).
pub const USER: &str = "opp";
/// The `WWW-Authenticate` challenge of a `401`.
pub const CHALLENGE: &str = "Basic realm=\"opp proxy\"";
/// The header NuGet clients send their push API key in.
pub const NUGET_API_KEY: &str = "x-nuget-apikey";
/// How long a signed URL stays valid after it was handed out.
pub const SIGNED_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Random bytes in a secret (hex-encoded: 64 characters, safe in URLs, HCL and shells).
const SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot draw a random secret for the proxy from the operating system")]
    Random,
}

/// The per-run secret and the key that signs download URLs.
#[derive(Clone)]
pub struct Access {
    secret: String,
    key: hmac::Key,
    /// HMAC of the secret itself: a presented secret is checked by verifying its HMAC
    /// against this tag, which compares in constant time.
    secret_tag: Vec<u8>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").finish_non_exhaustive()
    }
}

/// What a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The secret, or a valid signed URL.
    Allowed,
    /// Neither the secret nor a signature (or a wrong secret): answer 401.
    Unauthorized,
    /// A signed URL whose signature does not match its path and expiry: answer 403.
    BadSignature,
    /// A signed URL past its expiry: answer 403.
    Expired,
}

impl Access {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> Result<Access, AccessError> {
        let mut bytes = [0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| AccessError::Random)?;
        Ok(Access::with_secret(&hex::encode(bytes)))
    }

    /// Access for a known secret (tests, and clients built in-process).
    pub fn with_secret(secret: &str) -> Access {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let secret_tag = hmac::sign(&key, secret.as_bytes()).as_ref().to_vec();
        Access {
            secret: secret.to_owned(),
            key,
            secret_tag,
        }
    }

    /// The secret itself, for the child's configuration and serve mode's instructions.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `presented` is the secret (constant-time).
    pub fn is_secret(&self, presented: &[u8]) -> bool {
        hmac::verify(&self.key, presented, &self.secret_tag).is_ok()
    }

    /// `url` with `opp:SECRET@` as its userinfo (`https://opp:SECRET@localhost:PORT/...`).
    pub fn url_with_credentials(&self, url: &str) -> String {
        url_with_password(url, &self.secret)
    }

    /// The query (`expires=..&sig=..`) that lets anyone fetch `path` for
    /// [`SIGNED_URL_LIFETIME`] without the secret.
    pub fn sign_query(&self, path: &str) -> String {
        let expires = unix_now().saturating_add(SIGNED_URL_LIFETIME.as_secs());
        self.sign_query_until(path, expires)
    }

    /// The query signing `path` until `expires` (seconds since the Unix epoch).
    pub fn sign_query_until(&self, path: &str, expires: u64) -> String {
        let tag = hmac::sign(&self.key, signed_message(path, expires).as_bytes());
        format!("expires={expires}&sig={}", hex::encode(tag.as_ref()))
    }

    /// Whether a request for `uri` with `headers` may be served.
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Verdict {
        if headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .any(|value| self.authorization_holds_secret(value.as_bytes()))
            || headers
                .get_all(NUGET_API_KEY)
                .iter()
                .any(|value| self.is_secret(value.as_bytes().trim_ascii()))
        {
            return Verdict::Allowed;
        }
        match signature(uri.query().unwrap_or("")) {
            Some((expires, sig)) => self.check_signature(uri.path(), expires, sig),
            None => Verdict::Unauthorized,
        }
    }

    /// `Basic base64(user:secret)` (any user), `Bearer secret` (schemes case-insensitive), or
    /// the secret alone (`gem push`'s API key).
    fn authorization_holds_secret(&self, value: &[u8]) -> bool {
        let Some(space) = value.iter().position(|b| *b == b' ') else {
            return self.is_secret(value);
        };
        let (scheme, rest) = value.split_at(space);
        let credentials = rest.trim_ascii();
        if scheme.eq_ignore_ascii_case(b"bearer") {
            return self.is_secret(credentials);
        }
        if !scheme.eq_ignore_ascii_case(b"basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials) else {
            return false;
        };
        match decoded.iter().position(|b| *b == b':') {
            Some(colon) => self.is_secret(&decoded[colon + 1..]),
            None => false,
        }
    }

    fn check_signature(&self, path: &str, expires: &str, sig: &str) -> Verdict {
        let (Ok(expires_at), Ok(tag)) = (expires.parse::<u64>(), hex::decode(sig)) else {
            return Verdict::BadSignature;
        };
        if hmac::verify(&self.key, signed_message(path, expires_at).as_bytes(), &tag).is_err() {
            return Verdict::BadSignature;
        }
        if expires_at < unix_now() {
            return Verdict::Expired;
        }
        Verdict::Allowed
    }
}

/// `url` with `opp:PASSWORD@` as its userinfo.
pub fn url_with_password(url: &str, password: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{USER}:{password}@{rest}"),
        None => url.to_owned(),
    }
}

/// What is signed: the path as the client sends it, and the expiry.
fn signed_message(path: &str, expires: u64) -> String {
    format!("{path}\n{expires}")
}

/// `expires` and `sig` of a query, when both are there.
fn signature(query: &str) -> Option<(&str, &str)> {
    let (mut expires, mut sig) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("expires", value)) => expires = Some(value),
            Some(("sig", value)) => sig = Some(value),
            _ => {}
        }
    }
    Some((expires?, sig?))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn secrets_are_random_hex_and_never_debug_printed() {
        let a = Access::generate().expect("secret");
        let b = Access::generate().expect("secret");
        assert_eq!(a.secret().len(), 64);
        assert!(a.secret().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.secret(), b.secret());
        assert!(!format!("{a:?}").contains(a.secret()));
    }

    #[test]
    fn basic_with_any_user_bearer_and_the_bare_secret_carry_it() {
        let access = Access::with_secret("s3cret");
        let uri: Uri = "/pypi/simple/".parse().expect("uri");
        let allowed = [
            basic("opp:s3cret"),
            basic("anyone:s3cret"),
            basic(":s3cret"),
            "Bearer s3cret".into(),
            "bearer  s3cret".into(),
            // gem push: the API key alone.
            "s3cret".into(),
        ];
        for value in allowed {
            assert_eq!(
                access.check(&uri, &with_auth(&value)),
                Verdict::Allowed,
                "{value}"
            );
        }
        let refused = [
            basic("opp:wrong"),
            basic("s3cret"),
            basic("opp:s3cret2"),
            "Bearer wrong".into(),
            "Token s3cret".into(),
            "s3cret2".into(),
            "wrong".into(),
            "Basic !!!".into(),
        ];
        for value in refused {
            assert_eq!(
                access.check(&uri, &with_auth(&value)),
                Verdict::Unauthorized,
                "{value}"
            );
        }
        assert_eq!(access.check(&uri, &HeaderMap::new()), Verdict::Unauthorized);
    }

    #[test]
    fn a_nuget_api_key_header_carries_the_secret() {
        let access = Access::with_secret("s3cret");
        let uri: Uri = "/nuget/api/v2/package/".parse().expect("uri");
        let with_key = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                "X-NuGet-ApiKey",
                HeaderValue::from_str(value).expect("header"),
            );
            headers
        };
        assert_eq!(access.check(&uri, &with_key("s3cret")), Verdict::Allowed);
        assert_eq!(access.check(&uri, &with_key(" s3cret ")), Verdict::Allowed);
        for wrong in ["wrong", "", "s3cret2", "Bearer s3cret"] {
            assert_eq!(
                access.check(&uri, &with_key(wrong)),
                Verdict::Unauthorized,
                "{wrong}"
            );
        }
    }

    #[test]
    fn signed_urls_hold_for_their_path_until_they_expire() {
        let access = Access::with_secret("s3cret");
        let path = "/terraform/modules/archive/a/b/c/1.0.0/a-b-c-1.0.0.zip";
        let uri = |query: &str| -> Uri { format!("{path}?{query}").parse().expect("uri") };
        let none = HeaderMap::new();
        let query = access.sign_query(path);
        assert_eq!(access.check(&uri(&query), &none), Verdict::Allowed);
        let other: Uri = format!("/terraform/modules/archive/x.zip?{query}")
            .parse()
            .expect("uri");
        assert_eq!(access.check(&other, &none), Verdict::BadSignature);
        let tampered = query.replace("expires=", "expires=9");
        assert_eq!(access.check(&uri(&tampered), &none), Verdict::BadSignature);
        let past = access.sign_query_until(path, unix_now() - 1);
        assert_eq!(access.check(&uri(&past), &none), Verdict::Expired);
        let foreign = Access::with_secret("other").sign_query(path);
        assert_eq!(access.check(&uri(&foreign), &none), Verdict::BadSignature);
        assert_eq!(
            access.check(&uri("expires=1"), &none),
            Verdict::Unauthorized
        );
    }

    #[test]
    fn credentials_go_into_the_url_userinfo() {
        let access = Access::with_secret("abc");
        assert_eq!(
            access.url_with_credentials("https://localhost:1/pypi/simple/"),
            "https://opp:abc@localhost:1/pypi/simple/"
        );
    }
}

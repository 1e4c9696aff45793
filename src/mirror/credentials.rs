//! Credentials for an upstream index, shared by every `opp mirror` ecosystem, found where pip
//! finds them: the URL's userinfo (`https://USER:PASSWORD@host/simple/`), else the `.netrc`
//! entry of the URL's host (`NETRC`, else `~/.netrc`; the `default` entry when no `machine`
//! matches, as requests reads it), else, when the URL names a user without a password
//! (`https://USER@host/simple/`), the OS keyring entry with service = the host and user = that
//! user (as pip's and uv's keyring support look it up). Ecosystems put their own sources first
//! (NuGet.Config, Bundler's settings) with [`set`]. They travel in the URL's userinfo, which
//! reqwest sends as basic auth; every message shows URLs through `download::redacted`, so no
//! credential is ever printed.
//!
//! The `.netrc` parser is the `rust-netrc` crate (uv's). Its parse errors may quote a token of
//! the file, which may be a password, so they are reported without their detail.

use std::path::{Path, PathBuf};

use reqwest::Url;

/// Where the credentials of a URL came from (for the `-v` log; never the values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Url,
    Netrc(PathBuf),
    Keyring,
    /// An ecosystem's own configuration, described (`NuGet.Config /x/NuGet.Config`).
    Config(String),
}

impl Source {
    /// What a 401's message says the credentials came from.
    pub fn sent(&self) -> crate::mirror::unauthorized::Sent {
        use crate::mirror::unauthorized::Sent;
        match self {
            Source::Url => Sent::Unnamed,
            Source::Netrc(path) => Sent::From(path.display().to_string()),
            Source::Keyring => Sent::From("the keyring".into()),
            Source::Config(what) => Sent::From(what.clone()),
        }
    }
}

/// The `.netrc` file pip would read, parsed; empty when there is none.
#[derive(Debug, Default)]
pub struct Netrc {
    path: Option<PathBuf>,
    parsed: netrc::Netrc,
}

impl Netrc {
    /// Reads `NETRC`, else `~/.netrc`. A missing file is no credentials; a file that cannot be
    /// read or parsed is an error naming it (without quoting it).
    pub fn load() -> Result<Netrc, String> {
        match netrc::Netrc::get_file() {
            Some(path) => Netrc::read(&path),
            None => Ok(Netrc::default()),
        }
    }

    fn read(path: &Path) -> Result<Netrc, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let parsed = parse(&String::from_utf8_lossy(&bytes)).ok_or_else(|| {
            format!(
                "{} is not a valid .netrc file (machine HOST login USER password PASSWORD); \
                 fix it, or point NETRC elsewhere",
                path.display()
            )
        })?;
        Ok(Netrc {
            path: Some(path.to_owned()),
            parsed,
        })
    }

    /// The login and password for `host`.
    pub fn lookup(&self, host: &str) -> Option<(String, String)> {
        lookup(&self.parsed, host)
    }
}

/// Parses `.netrc` text; `None` when it does not parse.
fn parse(text: &str) -> Option<netrc::Netrc> {
    text.parse::<netrc::Netrc>().ok()
}

/// The entry of `host`, else the `default` entry.
fn lookup(parsed: &netrc::Netrc, host: &str) -> Option<(String, String)> {
    let entry = parsed
        .hosts
        .get(host)
        .or_else(|| parsed.hosts.get("default"))?;
    Some((entry.login.clone(), entry.password.clone()))
}

/// Whether `url` carries a user or a password.
pub fn present(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// What userinfo must percent-encode (the WHATWG URL userinfo set), and `%` itself: reqwest
/// decodes the userinfo before sending it as basic auth, so a literal `%` must arrive as `%25`.
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');

/// Puts `user` and `password` into `url` (percent-encoded as userinfo needs); false when the
/// URL cannot carry them (no host).
pub fn set(url: &mut Url, user: &str, password: &str) -> bool {
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, USERINFO).to_string();
    url.set_username(&encode(user)).is_ok() && url.set_password(Some(&encode(password))).is_ok()
}

/// Puts credentials into `url` when it carries none: its host's `.netrc` entry. Returns
/// where the credentials it now carries came from.
pub fn from_netrc(url: &mut Url, netrc: &Netrc) -> Option<Source> {
    if present(url) {
        return Some(Source::Url);
    }
    let (login, password) = netrc.lookup(url.host_str()?)?;
    set(url, &login, &password).then_some(())?;
    Some(Source::Netrc(netrc.path.clone().unwrap_or_default()))
}

/// [`from_netrc`], then the keyring when the URL names a user without a password.
pub fn fill(url: &mut Url, netrc: &Netrc) -> Option<Source> {
    if url.password().is_some() {
        return Some(Source::Url);
    }
    if url.username().is_empty() {
        return from_netrc(url, netrc);
    }
    let host = url.host_str()?.to_owned();
    let user = percent_decoded(url.username());
    match crate::auth::keyring::password(&host, &user) {
        crate::auth::keyring::Keyring::Answered(Some(password)) => {
            url.set_password(Some(&password)).ok()?;
            Some(Source::Keyring)
        }
        crate::auth::keyring::Keyring::Answered(None) => {
            tracing::debug!("the keyring has no entry for {user} at {host}");
            Some(Source::Url)
        }
        crate::auth::keyring::Keyring::Unavailable(why) => {
            tracing::debug!("the keyring could not be asked for {user} at {host}: {why}");
            Some(Source::Url)
        }
    }
}

fn percent_decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netrc(text: &str) -> Netrc {
        Netrc {
            path: Some(PathBuf::from("/home/me/.netrc")),
            parsed: parse(text).unwrap(),
        }
    }

    #[test]
    fn a_url_takes_its_hosts_netrc_entry_else_the_default_one() {
        let n = netrc(
            "machine pypi.example login me password s3cret\n\
             default login anon password guest\n",
        );
        let cases = [
            (
                "https://pypi.example/simple/",
                "https://me:s3cret@pypi.example/simple/",
            ),
            (
                "https://pypi.example:8443/simple/",
                "https://me:s3cret@pypi.example:8443/simple/",
            ),
            (
                "https://other.example/simple/",
                "https://anon:guest@other.example/simple/",
            ),
            (
                "https://u:p@pypi.example/simple/",
                "https://u:p@pypi.example/simple/",
            ),
        ];
        let mut failures = Vec::new();
        for (given, want) in cases {
            let mut url = Url::parse(given).unwrap();
            from_netrc(&mut url, &n);
            if url.as_str() != want {
                failures.push(format!("{given}: {url}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn credentials_set_into_a_url_reach_reqwest_as_written() {
        let mut url = Url::parse("https://feed.example/v3/index.json").unwrap();
        assert!(set(&mut url, "me-you@corp", "p%40ss:w/rd"));
        assert_eq!(
            url.as_str(),
            "https://me-you%40corp:p%2540ss%3Aw%2Frd@feed.example/v3/index.json"
        );
        assert_eq!(percent_decoded(url.password().unwrap()), "p%40ss:w/rd");
    }

    #[test]
    fn no_entry_and_no_default_leaves_the_url_alone() {
        let n = netrc("machine pypi.example login me password s3cret\n");
        let mut url = Url::parse("https://other.example/simple/").unwrap();
        assert_eq!(from_netrc(&mut url, &n), None);
        assert_eq!(url.as_str(), "https://other.example/simple/");
    }

    #[test]
    fn a_netrc_that_does_not_parse_is_named_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".netrc");
        std::fs::write(&path, "machine h login me password s3cret bogus-token\n").unwrap();
        let err = Netrc::read(&path).unwrap_err();
        assert!(!err.contains("s3cret") && !err.contains("bogus"), "{err}");
        assert!(
            err.starts_with(&format!("{} is not a valid .netrc file", path.display())),
            "{err}"
        );
    }
}

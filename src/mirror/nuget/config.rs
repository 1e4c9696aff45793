//! NuGet.Config as NuGet reads it, for the feed's credentials: each file's `<packageSources>`
//! and `<packageSourceCredentials>`, merged in NuGet's order (the closest file wins an item of
//! the same key; `<clear />` drops what the files further away gave), then the credentials of
//! the source whose URL is the upstream's. A credentials element is named by the source's key
//! encoded as an XML name (`Contoso Feed` -> `<Contoso_x0020_Feed>`, `XmlConvert.EncodeName`),
//! decoded here as `XmlConvert.DecodeName` does; its `Username` and `ClearTextPassword` (keys
//! matched case-insensitively) have `%NAME%` expanded from the environment as
//! `Environment.ExpandEnvironmentVariables` does (NuGet's `AddItem.Value`). An encrypted
//! `Password` (Windows DPAPI) is an error saying what to write instead; opp does not decrypt it.
//! `NuGetPackageSourceCredentials_KEY` (`Username=U;Password=P`) wins over the files, as in
//! NuGet's `PackageSourceProvider`.
//!
//! Pure: texts and an environment lookup in. Which files are read is `config_files.rs`.
//! Read with `roxmltree` (as nuspecs are; it refuses DTDs). No message quotes a value, so a
//! password never reaches the terminal.

use reqwest::Url;

/// Why the credentials cannot be had from NuGet.Config. Never holds a credential.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{path} is not a NuGet.Config opp can read: {reason}")]
    Parse { path: String, reason: String },
    #[error(
        "{path} gives the package source `{source_key}` an encrypted Password, which only NuGet \
         on Windows can decrypt and opp does not read"
    )]
    Encrypted { path: String, source_key: String },
    #[error(
        "{path}: the packageSourceCredentials of `{source_key}` need a Username and a \
         ClearTextPassword"
    )]
    Incomplete { path: String, source_key: String },
}

/// Where else to put the credentials NuGet.Config cannot give opp.
impl crate::error::Diagnostic for ConfigError {
    fn hints(&self) -> Vec<String> {
        match self {
            ConfigError::Encrypted { .. } => vec![
                "write a ClearTextPassword there (it may name an environment variable: \
                 %FEED_TOKEN%), or put the credentials in opp's config ([mirror.nuget] upstream \
                 = \"https://USER:TOKEN@HOST/...\")"
                    .into(),
            ],
            ConfigError::Parse { .. } | ConfigError::Incomplete { .. } => Vec::new(),
        }
    }
}

/// One `<add key value/>` of a section, or a `<clear/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item<T> {
    Clear,
    Add(String, T),
}

/// A password as a file gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Password {
    Clear(String),
    Encrypted,
    Missing,
}

/// The credentials element of one source, and the file it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Credential {
    path: String,
    username: Option<String>,
    password: Password,
}

/// What one file says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigFile {
    sources: Vec<Item<String>>,
    credentials: Vec<Item<Credential>>,
}

/// Reads one NuGet.Config (`path` names it in errors).
pub fn parse(path: &str, text: &str) -> Result<ConfigFile, ConfigError> {
    let bad = |reason: String| ConfigError::Parse {
        path: path.to_owned(),
        reason,
    };
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        // roxmltree's messages may quote the text; the position is enough.
        let pos = e.pos();
        bad(format!(
            "not well-formed XML at line {} column {}",
            pos.row, pos.col
        ))
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "configuration" {
        return Err(bad("the root element is not <configuration>".into()));
    }
    let mut file = ConfigFile::default();
    for section in root.children().filter(|n| n.is_element()) {
        match section.tag_name().name() {
            "packageSources" => {
                for item in section.children().filter(|n| n.is_element()) {
                    match item.tag_name().name() {
                        "clear" => file.sources.push(Item::Clear),
                        "add" => {
                            if let (Some(k), Some(v)) =
                                (item.attribute("key"), item.attribute("value"))
                            {
                                file.sources.push(Item::Add(k.to_owned(), v.to_owned()));
                            }
                        }
                        _ => {}
                    }
                }
            }
            "packageSourceCredentials" => {
                for item in section.children().filter(|n| n.is_element()) {
                    let name = item.tag_name().name();
                    if name == "clear" {
                        file.credentials.push(Item::Clear);
                        continue;
                    }
                    let mut credential = Credential {
                        path: path.to_owned(),
                        username: None,
                        password: Password::Missing,
                    };
                    for add in item.children().filter(|n| n.has_tag_name("add")) {
                        let (Some(k), Some(v)) = (add.attribute("key"), add.attribute("value"))
                        else {
                            continue;
                        };
                        if k.eq_ignore_ascii_case("Username") {
                            credential.username = Some(v.to_owned());
                        } else if k.eq_ignore_ascii_case("ClearTextPassword") {
                            credential.password = Password::Clear(v.to_owned());
                        } else if k.eq_ignore_ascii_case("Password") {
                            credential.password = Password::Encrypted;
                        }
                    }
                    file.credentials
                        .push(Item::Add(decode_name(name), credential));
                }
            }
            _ => {}
        }
    }
    Ok(file)
}

/// The items of one section over every file, closest file first: the closest file wins a key,
/// and a `<clear/>` hides the items before it and of every file further away.
fn merge<T: Clone>(files: &[&[Item<T>]]) -> Vec<(String, T)> {
    let mut merged: Vec<(String, T)> = Vec::new();
    for items in files.iter().rev() {
        for item in *items {
            match item {
                Item::Clear => merged.clear(),
                Item::Add(key, value) => {
                    merged.retain(|(k, _)| k != key);
                    merged.push((key.clone(), value.clone()));
                }
            }
        }
    }
    merged
}

/// Where credentials were found, for the log (never the values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub username: String,
    pub password: String,
    /// `packageSourceCredentials of `KEY` in FILE`, or the environment variable.
    pub origin: String,
}

/// The credentials NuGet would send to `upstream`: those of the first source (in NuGet's
/// order) whose URL is `upstream`'s and that has any. `files` are closest first.
pub fn credentials_for(
    upstream: &Url,
    files: &[ConfigFile],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Found>, ConfigError> {
    let sources = merge(&files.iter().map(|f| &f.sources[..]).collect::<Vec<_>>());
    let credentials = merge(&files.iter().map(|f| &f.credentials[..]).collect::<Vec<_>>());
    for (key, value) in &sources {
        if !same_source(upstream, &expand(value, env)) {
            continue;
        }
        let variable = format!("NuGetPackageSourceCredentials_{key}");
        if let Some((username, password)) = env(&variable).as_deref().and_then(from_variable) {
            return Ok(Some(Found {
                username,
                password,
                origin: variable,
            }));
        }
        // NuGet compares the decoded element name with the source key ordinally.
        let Some((_, c)) = credentials.iter().find(|(k, _)| k == key) else {
            continue;
        };
        let incomplete = || ConfigError::Incomplete {
            path: c.path.clone(),
            source_key: key.clone(),
        };
        let password = match &c.password {
            Password::Clear(p) => expand(p, env),
            Password::Encrypted => {
                return Err(ConfigError::Encrypted {
                    path: c.path.clone(),
                    source_key: key.clone(),
                });
            }
            Password::Missing => return Err(incomplete()),
        };
        let username = expand(c.username.as_deref().ok_or_else(incomplete)?, env);
        return Ok(Some(Found {
            username,
            password,
            origin: format!("packageSourceCredentials of `{key}` in {}", c.path),
        }));
    }
    Ok(None)
}

/// The URL a source key names, for `--upstream NAME` (the source's key, case-insensitive, as
/// `nuget -Source NAME` takes it).
pub fn source_url(
    name: &str,
    files: &[ConfigFile],
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    merge(&files.iter().map(|f| &f.sources[..]).collect::<Vec<_>>())
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| expand(&v, env))
}

/// `Username=U;Password=P[;ValidAuthenticationTypes=...]`, as NuGet's regex reads it.
fn from_variable(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let rest = strip_prefix_ignore_case(text, "Username=")?;
    let lower = rest.to_ascii_lowercase();
    let at = lower.find(";")?;
    let user = &rest[..at];
    let after = rest[at + 1..].trim_start();
    let pass = strip_prefix_ignore_case(after, "Password=")?;
    let pass = match pass.to_ascii_lowercase().find(";validauthenticationtypes=") {
        Some(i) => &pass[..i],
        None => pass,
    };
    Some((user.to_owned(), pass.to_owned()))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Whether the source URL `value` is `upstream` (credentials and a trailing `/` aside).
fn same_source(upstream: &Url, value: &str) -> bool {
    let Ok(mut source) = Url::parse(value.trim()) else {
        return false;
    };
    let mut upstream = upstream.clone();
    for u in [&mut source, &mut upstream] {
        let _ = u.set_username("");
        let _ = u.set_password(None);
    }
    source.as_str().trim_end_matches('/') == upstream.as_str().trim_end_matches('/')
}

/// `%NAME%` replaced by the variable's value where it is set, as .NET's
/// `Environment.ExpandEnvironmentVariables` does (an unset one stays as written).
pub fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) => match env(&after[..end]).filter(|_| end > 0) {
                Some(value) => {
                    out.push_str(&value);
                    rest = &after[end + 1..];
                }
                None => {
                    // The closing `%` may open the next name.
                    out.push('%');
                    out.push_str(&after[..end]);
                    rest = &after[end..];
                }
            },
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// An XML name decoded as `XmlConvert.DecodeName` does: `_xHHHH_` (and `_xHHHHHHHH_`) is that
/// character; anything else stays.
pub fn decode_name(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let decoded = [8, 4].into_iter().find_map(|n| {
            let hex = tail.get(..n)?;
            if tail.as_bytes().get(n) != Some(&b'_') || !hex.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return None;
            }
            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
            Some((c, n + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &tail[used..];
            }
            None => {
                out.push_str("_x");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

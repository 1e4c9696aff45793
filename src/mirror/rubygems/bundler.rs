//! A gem source's credentials as Bundler keeps them (`Bundler::Settings#credentials_for`): the
//! setting named by the source URL, else by its host (`bundle config set gems.example.com
//! USER:PASSWORD`), each looked up as `Settings.key_for` spells the key (`BUNDLE_` + the key
//! with `.` as `__`, `-` as `___`, upper-cased; a URL first normalized with a trailing `/`),
//! in Bundler's order: the application's `.bundle/config` (`BUNDLE_APP_CONFIG`), then the
//! `BUNDLE_*` environment, then the user's config (`BUNDLE_CONFIG`, `BUNDLE_USER_CONFIG`,
//! `$BUNDLE_USER_HOME/config`, else `~/.bundle/config`). The value is `USER:PASSWORD` as
//! userinfo, percent-escaped as Bundler asks ("CGI escape your usernames and passwords").
//!
//! Config files are Bundler's YAML (`BUNDLE_KEY: "value"`), read with yaml-rust2; a file that
//! does not parse is named without quoting it (it may hold passwords). [`Settings::lookup`] is
//! pure; [`Settings::load`] reads the files.

use crate::error::Refusal;
use std::path::{Path, PathBuf};

use reqwest::Url;

/// One layer of Bundler's settings: where it came from and its `BUNDLE_*` keys.
#[derive(Clone, Debug, Default)]
struct Layer {
    origin: String,
    values: Vec<(String, String)>,
}

/// Bundler's settings that can hold credentials, highest priority first.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    layers: Vec<Layer>,
}

/// Credentials Bundler would use, and where they were set (never the values in messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// `USER:PASSWORD`, percent-escaped as userinfo.
    pub userinfo: String,
    /// `BUNDLE_GEMS__EXAMPLE__COM in /home/me/.bundle/config`.
    pub origin: String,
}

impl Settings {
    /// The settings of the application at `app_root` (the Gemfile's directory, when known),
    /// the environment and the user's config. A file that cannot be read or parsed is an
    /// error naming it.
    pub fn load(app_root: Option<&Path>) -> Result<Settings, Refusal> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut layers = Vec::new();
        if let Some(root) = app_root {
            let dir = match var("BUNDLE_APP_CONFIG").map(PathBuf::from) {
                Some(d) if d.is_absolute() => d,
                Some(d) => root.join(d),
                None => root.join(".bundle"),
            };
            layers.push(read_file(&dir.join("config"))?);
        }
        layers.push(Layer {
            origin: "the environment".into(),
            values: std::env::vars()
                .filter(|(k, _)| k.starts_with("BUNDLE_") && k.len() > "BUNDLE_".len())
                .collect(),
        });
        let global = var("BUNDLE_CONFIG")
            .or_else(|| var("BUNDLE_USER_CONFIG"))
            .map(PathBuf::from)
            .or_else(|| var("BUNDLE_USER_HOME").map(|h| PathBuf::from(h).join("config")))
            .or_else(|| dirs::home_dir().map(|h| h.join(".bundle").join("config")));
        if let Some(path) = global {
            layers.push(read_file(&path)?);
        }
        Ok(Settings { layers })
    }

    /// The credentials Bundler would send to `source`: the setting of its URL, else of its
    /// host, the first layer holding the key winning.
    pub fn lookup(&self, source: &Url) -> Option<Found> {
        let mut plain = source.clone();
        let _ = plain.set_username("");
        let _ = plain.set_password(None);
        let mut url = plain.to_string();
        if !url.ends_with('/') {
            url.push('/');
        }
        let keys = [key_for(&url), key_for(source.host_str()?)];
        keys.iter().find_map(|key| {
            self.layers.iter().find_map(|layer| {
                let (_, value) = layer.values.iter().find(|(k, _)| k == key)?;
                Some(Found {
                    userinfo: value.clone(),
                    origin: format!("{key} in {}", layer.origin),
                })
            })
        })
    }
}

/// `Bundler::Settings.key_for`: `BUNDLE_` + the key with `.` as `__` and `-` as `___`,
/// upper-cased.
pub fn key_for(key: &str) -> String {
    format!(
        "BUNDLE_{}",
        key.replace('.', "__").replace('-', "___").to_uppercase()
    )
}

/// A Bundler config file; a missing or empty one is an empty layer.
fn read_file(path: &Path) -> Result<Layer, Refusal> {
    let origin = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Layer {
                origin,
                values: Vec::new(),
            });
        }
        Err(e) => {
            return Err(Refusal::unhinted(format!(
                "cannot read Bundler's config {origin}: {e}"
            )));
        }
    };
    let values = parse(&text).ok_or_else(|| {
        Refusal::new(
            format!("{origin} is not a Bundler config file"),
            "fix it: Bundler writes YAML of BUNDLE_KEY: \"value\" lines",
        )
    })?;
    Ok(Layer { origin, values })
}

/// The `BUNDLE_*` string entries of a config file's YAML mapping (dashes in keys read as
/// `___`, as Bundler does); `None` when it is not YAML or not a mapping.
fn parse(text: &str) -> Option<Vec<(String, String)>> {
    use yaml_rust2::{Yaml, YamlLoader};
    if text.trim().is_empty() {
        return Some(Vec::new());
    }
    let docs = YamlLoader::load_from_str(text).ok()?;
    let Some(Yaml::Hash(map)) = docs.into_iter().next() else {
        return None;
    };
    Some(
        map.into_iter()
            .filter_map(|(k, v)| {
                let key = k.as_str()?.replace('-', "___");
                let value = match v {
                    Yaml::String(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Real(r) => r,
                    _ => return None,
                };
                key.starts_with("BUNDLE_").then_some((key, value))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(origin: &str, text: &str) -> Layer {
        Layer {
            origin: origin.into(),
            values: parse(text).unwrap(),
        }
    }

    #[test]
    fn keys_are_spelled_as_bundler_spells_them() {
        assert_eq!(key_for("gems.example.com"), "BUNDLE_GEMS__EXAMPLE__COM");
        assert_eq!(key_for("my-gems.example"), "BUNDLE_MY___GEMS__EXAMPLE");
        assert_eq!(
            key_for("https://gems.example.com/private/"),
            "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/"
        );
        assert_eq!(key_for("127.0.0.1"), "BUNDLE_127__0__0__1");
    }

    #[test]
    fn the_url_setting_wins_over_the_host_one_and_the_first_layer_wins_a_key() {
        let app = layer(
            "/app/.bundle/config",
            "---\nBUNDLE_GEMS__EXAMPLE__COM: \"app:a\"\n",
        );
        let user = layer(
            "/home/me/.bundle/config",
            "---\nBUNDLE_GEMS__EXAMPLE__COM: \"user:u\"\n\
             BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/: \"url:p%40ss\"\n",
        );
        let settings = Settings {
            layers: vec![app, user],
        };
        let found = |url: &str| {
            settings
                .lookup(&Url::parse(url).unwrap())
                .map(|f| (f.userinfo, f.origin))
        };
        let cases = [
            (
                "https://gems.example.com/private",
                Some((
                    "url:p%40ss",
                    "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/ in /home/me/.bundle/config",
                )),
            ),
            (
                "https://x:y@gems.example.com/private/",
                Some((
                    "url:p%40ss",
                    "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/ in /home/me/.bundle/config",
                )),
            ),
            (
                "https://gems.example.com/",
                Some(("app:a", "BUNDLE_GEMS__EXAMPLE__COM in /app/.bundle/config")),
            ),
            ("https://other.example/", None),
        ];
        let mut failures = Vec::new();
        for (url, want) in cases {
            let want = want.map(|(u, o)| (u.to_owned(), o.to_owned()));
            let got = found(url);
            if got != want {
                failures.push(format!("{url}: {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn a_config_that_does_not_parse_is_named_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "BUNDLE_X: \"s3cret\n  - [").unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
        assert_eq!(
            err.message,
            format!("{} is not a Bundler config file", path.display())
        );
        assert_eq!(
            err.hints,
            ["fix it: Bundler writes YAML of BUNDLE_KEY: \"value\" lines"]
        );
        assert!(
            read_file(&dir.path().join("missing"))
                .unwrap()
                .values
                .is_empty()
        );
    }
}

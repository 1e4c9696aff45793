//! Where opp's settings come from: defaults < config file (`opp/config.toml` in the user's
//! config directory) < environment (`OPP_*`) < flags. Clap already merges flags over the
//! environment; this module adds the file and the defaults, and parses store locations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::release::Ecosystem;

/// Where packages are kept: a local store directory or a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    Registry {
        host: String,
        prefix: String,
        plain_http: bool,
    },
}

impl Location {
    /// Parses `HOST[:PORT][/PREFIX]`. An address with `USER:PASSWORD@` in it is refused
    /// before anything else looks at it, so no message or log line can carry the password
    /// (registry hosts and repository names never hold an `@`).
    pub fn registry(spec: &str, plain_http: bool) -> Result<Location, ConfigError> {
        if let Some(redacted) = without_userinfo(spec) {
            let host = redacted
                .split_once("://")
                .map_or(redacted.as_str(), |(_, rest)| rest);
            let host = host.split('/').next().unwrap_or_default().to_owned();
            return Err(ConfigError::CredentialsInAddress {
                address: redacted,
                host,
                origin: None,
            });
        }
        let spec = spec.trim_end_matches('/');
        let spec = spec.strip_prefix("https://").unwrap_or(spec);
        let (spec, plain_http) = match spec.strip_prefix("http://") {
            Some(s) => (s, true),
            None => (spec, plain_http),
        };
        let (host, prefix) = spec.split_once('/').unwrap_or((spec, ""));
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(ConfigError::BadRegistry(spec.to_owned()));
        }
        Ok(Location::Registry {
            host: host.to_owned(),
            prefix: prefix.to_owned(),
            plain_http,
        })
    }

    /// Parses a `--from`/`--to` value: `local`, a directory (`/...`, `./...`, `../...`,
    /// `~/...`), or a registry.
    pub fn parse(
        spec: &str,
        default_store: &Path,
        plain_http: bool,
    ) -> Result<Location, ConfigError> {
        if spec == "local" {
            return Ok(Location::Local(default_store.to_owned()));
        }
        if let Some(rest) = spec.strip_prefix("~/") {
            let home = dirs::home_dir().ok_or(ConfigError::NoHome)?;
            return Ok(Location::Local(home.join(rest)));
        }
        if spec.starts_with('/') || spec.starts_with("./") || spec.starts_with("../") || spec == "."
        {
            return Ok(Location::Local(PathBuf::from(spec)));
        }
        Location::registry(spec, plain_http)
    }

    /// For messages: the registry with its prefix, or the store directory.
    pub fn describe(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Registry { host, prefix, .. } if prefix.is_empty() => host.clone(),
            Location::Registry { host, prefix, .. } => format!("{host}/{prefix}"),
        }
    }
}

/// `spec` without its `USER[:PASSWORD]@` part, when it has one: everything between the scheme
/// and the last `@` goes, whatever it holds (a password may contain `/` or `@`).
fn without_userinfo(spec: &str) -> Option<String> {
    let at = spec.rfind('@')?;
    let (scheme, _) = spec.split_once("://").unwrap_or(("", ""));
    let scheme = if scheme.is_empty() || scheme.len() > at {
        String::new()
    } else {
        format!("{scheme}://")
    };
    Some(format!("{scheme}{}", &spec[at + 1..]))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Never holds the password: `address` has the user information cut out.
    #[error(
        "the registry address `{address}`{} holds a username and password; opp takes no credentials in an address", origin.as_ref().map(|o| format!(" (from {o})")).unwrap_or_default()
    )]
    CredentialsInAddress {
        address: String,
        host: String,
        /// Where the address came from, e.g. `--registry or OPP_REGISTRY`.
        origin: Option<String>,
    },
    #[error("`{0}` is not a registry (expected HOST[:PORT][/PREFIX], e.g. ghcr.io/acme)")]
    BadRegistry(String),
    #[error("cannot read config file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {detail}")]
    Parse { path: String, detail: String },
    #[error("config file {path}: unknown ecosystem `{name}` in [templates]")]
    UnknownEcosystem { path: String, name: String },
    #[error("cannot find the home directory")]
    NoHome,
}

impl ConfigError {
    /// Names where a refused address came from (a flag, the environment, the config file).
    pub fn with_origin(self, origin: impl Into<String>) -> ConfigError {
        match self {
            ConfigError::CredentialsInAddress { address, host, .. } => {
                ConfigError::CredentialsInAddress {
                    address,
                    host,
                    origin: Some(origin.into()),
                }
            }
            other => other,
        }
    }
}

/// The config file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    registry: Option<String>,
    store: Option<PathBuf>,
    #[serde(default)]
    plain_http: bool,
    /// `retry-timeout = "60s"`: how long a registry step may keep retrying.
    #[serde(default, rename = "retry-timeout", alias = "retry_timeout")]
    retry_timeout: Option<String>,
    /// Repository template per ecosystem, e.g. `terraform-provider = "acme/${namespace}/${type}"`.
    #[serde(default)]
    templates: BTreeMap<String, String>,
    /// `[mirror.ECOSYSTEM]` tables, e.g. `[mirror.pypi] upstream = "https://..."`.
    #[serde(default)]
    mirror: BTreeMap<String, MirrorConfig>,
}

/// One `[mirror.ECOSYSTEM]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorConfig {
    /// The index `opp mirror ECOSYSTEM` reads from (`--upstream` wins).
    upstream: Option<String>,
}

/// The settings every command runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub location: Location,
    pub default_store: PathBuf,
    pub plain_http: bool,
    /// `--plain-http` was given on the command line (for `opp proxy` it also means: serve
    /// plain HTTP).
    pub plain_http_flag: bool,
    pub quiet: bool,
    pub templates: BTreeMap<Ecosystem, String>,
    /// How long each registry step may keep retrying (`--retry-timeout`).
    pub retry_timeout: Duration,
    /// Ecosystem name (`pypi`) -> `upstream` of its `[mirror.NAME]` table in the config file.
    pub mirror_upstreams: BTreeMap<String, String>,
}

/// The local store used when nothing else is configured.
pub fn default_store() -> Result<PathBuf, ConfigError> {
    let data = dirs::data_dir().or_else(|| dirs::home_dir().map(|h| h.join(".local/share")));
    Ok(data.ok_or(ConfigError::NoHome)?.join("opp").join("store"))
}

fn default_config_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("opp").join("config.toml"))
}

/// Resolves the settings from the parsed global flags (which already hold the environment).
pub fn load(global: &GlobalArgs) -> Result<Settings, ConfigError> {
    let (path, explicit) = match &global.config {
        Some(p) => (Some(p.clone()), true),
        None => (default_config_file(), false),
    };
    let file = match &path {
        Some(path) => read_file(path, explicit)?,
        None => FileConfig::default(),
    };
    let config_path = path.unwrap_or_default();
    let path_str = global
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut templates = BTreeMap::new();
    for (name, template) in file.templates {
        let eco = Ecosystem::ALL
            .into_iter()
            .find(|e| e.as_str() == name)
            .ok_or_else(|| ConfigError::UnknownEcosystem {
                path: path_str.clone(),
                name,
            })?;
        templates.insert(eco, template);
    }
    let mut mirror_upstreams = BTreeMap::new();
    for (name, table) in file.mirror {
        if !Ecosystem::ALL.into_iter().any(|e| e.as_str() == name) {
            return Err(ConfigError::Parse {
                path: path_str.clone(),
                detail: format!("unknown ecosystem `{name}` in [mirror.{name}]"),
            });
        }
        if let Some(upstream) = table.upstream {
            mirror_upstreams.insert(name, upstream);
        }
    }
    let default_store = match global.store.clone().or(file.store) {
        Some(s) => s,
        None => default_store()?,
    };
    let retry_timeout = match (global.retry_timeout, &file.retry_timeout) {
        (Some(d), _) => d,
        (None, Some(text)) => parse_duration(text).map_err(|detail| ConfigError::Parse {
            path: path_str.clone(),
            detail: format!("retry-timeout: {detail}"),
        })?,
        (None, None) => crate::store::registry::DEFAULT_RETRY_TIMEOUT,
    };
    let plain_http = global.plain_http || file.plain_http;
    let (registry, origin) = match (&global.registry, &file.registry) {
        (Some(r), _) => (Some(r), "--registry or OPP_REGISTRY".to_owned()),
        (None, Some(r)) => (Some(r), format!("`registry` in {}", config_path.display())),
        (None, None) => (None, String::new()),
    };
    let location = match registry {
        Some(r) if !r.is_empty() => {
            Location::registry(r, plain_http).map_err(|e| e.with_origin(origin))?
        }
        _ => Location::Local(default_store.clone()),
    };
    Ok(Settings {
        location,
        default_store,
        plain_http,
        plain_http_flag: global.plain_http,
        quiet: global.quiet,
        templates,
        retry_timeout,
        mirror_upstreams,
    })
}

/// A duration as a person writes it: `60s`, `1.5s`, `2m`, `1m 30s`, `500ms`; a bare number
/// is seconds. For `--retry-timeout` and `retry-timeout` in the config file.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let parsed: jiff::SignedDuration = text
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (write e.g. 60s, 2m or 500ms)"))?;
    Duration::try_from(parsed).map_err(|_| format!("`{text}` is negative"))
}

fn read_file(path: &Path, explicit: bool) -> Result<FileConfig, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(FileConfig::default());
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        detail: parse_problem(&text, &e),
    })
}

/// What is wrong with a config file and where, without quoting the file: toml's own message
/// shows the offending line, which may be `registry = http://me:PASSWORD@...`.
fn parse_problem(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end();
    let Some(before) = err.span().and_then(|span| text.get(..span.start)) else {
        return message.to_owned();
    };
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{message} at line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_specs_split_host_and_prefix() {
        assert_eq!(
            Location::registry("ghcr.io/acme/pkgs", false).unwrap(),
            Location::Registry {
                host: "ghcr.io".into(),
                prefix: "acme/pkgs".into(),
                plain_http: false
            }
        );
        assert_eq!(
            Location::registry("http://10.0.0.1:5000", false).unwrap(),
            Location::Registry {
                host: "10.0.0.1:5000".into(),
                prefix: "".into(),
                plain_http: true
            }
        );
        assert!(Location::registry("", false).is_err());
    }

    #[test]
    fn a_config_file_that_does_not_parse_is_not_quoted() {
        let text = "plain_http = true\nregistry = http://me:s3cret@ghcr.io\n";
        let err = toml::from_str::<FileConfig>(text).unwrap_err();
        let problem = parse_problem(text, &err);
        assert!(!problem.contains("s3cret"), "{problem}");
        assert!(problem.ends_with(" at line 2, column 12"), "{problem}");
    }

    #[test]
    fn credentials_in_an_address_are_refused_without_echoing_them() {
        for (spec, address, host) in [
            (
                "http://me:s3cret@10.0.0.1:5000/acme",
                "http://10.0.0.1:5000/acme",
                "10.0.0.1:5000",
            ),
            ("me:s3cret@ghcr.io", "ghcr.io", "ghcr.io"),
            (
                "https://me:s3/cr@t@ghcr.io/a",
                "https://ghcr.io/a",
                "ghcr.io",
            ),
            ("me:s3cret@ho st", "ho st", "ho st"),
        ] {
            let err = Location::registry(spec, false).unwrap_err();
            let text = err.to_string();
            assert!(!text.contains("s3"), "{spec}: {text}");
            match err {
                ConfigError::CredentialsInAddress {
                    address: a,
                    host: h,
                    ..
                } => assert_eq!((a.as_str(), h.as_str()), (address, host), "{spec}"),
                other => panic!("{spec}: {other}"),
            }
        }
    }

    #[test]
    fn a_mirror_table_gives_the_upstream_of_its_ecosystem() {
        let file: FileConfig =
            toml::from_str("[mirror.pypi]\nupstream = \"https://devpi.example/simple/\"\n")
                .unwrap();
        assert_eq!(
            file.mirror["pypi"].upstream.as_deref(),
            Some("https://devpi.example/simple/")
        );
        assert!(toml::from_str::<FileConfig>("[mirror.pypi]\nupstreem = \"x\"\n").is_err());
    }

    #[test]
    fn durations_are_read_as_people_write_them() {
        let ok = [
            ("60s", Duration::from_secs(60)),
            ("60", Duration::from_secs(60)),
            ("2m", Duration::from_secs(120)),
            ("1m 30s", Duration::from_secs(90)),
            ("1.5s", Duration::from_millis(1500)),
            ("500ms", Duration::from_millis(500)),
            ("0s", Duration::ZERO),
        ];
        let mut failed = Vec::new();
        for (text, want) in ok {
            match parse_duration(text) {
                Ok(got) if got == want => {}
                other => failed.push(format!("{text}: {other:?}")),
            }
        }
        for text in ["soon", "", "-5s", "5 parsecs"] {
            if parse_duration(text).is_ok() {
                failed.push(format!("{text}: accepted"));
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn copy_locations_tell_directories_from_registries() {
        let d = Path::new("/data/store");
        assert_eq!(
            Location::parse("local", d, false).unwrap(),
            Location::Local(d.into())
        );
        assert_eq!(
            Location::parse("./s", d, false).unwrap(),
            Location::Local("./s".into())
        );
        assert!(matches!(
            Location::parse("127.0.0.1:5000/x", d, false).unwrap(),
            Location::Registry { .. }
        ));
    }
}

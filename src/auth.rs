//! Where the credentials for a registry host come from, in this order: explicit values (the
//! caller reads `OPP_REGISTRY_USERNAME`/`OPP_REGISTRY_PASSWORD` or flags and passes them in),
//! the `--registry-config` file, the credential helper docker's `config.json` names for the
//! host (`credHelpers`, `credsStore`), the OS keyring ([`keyring`]), the file's `auths`
//! (through the `docker_credential` crate), podman's `auth.json`, else anonymous.
//!
//! This module finds credentials; [`save`] writes and removes them for `opp login`/`logout`,
//! and [`check`] asks a registry whether it takes them. Looking them up may run a
//! `docker-credential-*` helper process or wait for the keyring, so [`resolve`] is blocking:
//! call it before the async work starts or inside `tokio::task::spawn_blocking`.
//!
//! Docker identity tokens (`identitytoken`, or a helper answering with user `<token>`) are
//! returned as [`Credentials::IdentityToken`]; the registry store exchanges them for access
//! tokens (docker's OAuth2 refresh-token flow).

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use docker_credential::{CredentialRetrievalError, DockerCredential};

/// The environment variables the caller reads for explicit credentials.
pub const USERNAME_VAR: &str = "OPP_REGISTRY_USERNAME";
pub const PASSWORD_VAR: &str = "OPP_REGISTRY_PASSWORD";

pub mod keyring;
pub mod save;

/// The `--registry-config` file, read before docker's own (set once, at start-up).
static REGISTRY_CONFIG: OnceLock<PathBuf> = OnceLock::new();

/// The key docker uses for Docker Hub in `config.json` and with credential helpers.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Credentials for one registry host. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic {
        username: String,
        password: String,
        origin: Origin,
    },
    /// A docker identity token (an OAuth2 refresh token), exchanged at the registry's token
    /// realm for access tokens.
    IdentityToken {
        token: String,
        origin: Origin,
    },
}

/// Where a set of credentials was found, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Passed in by the caller (`OPP_REGISTRY_USERNAME`/`OPP_REGISTRY_PASSWORD` or a flag).
    Explicit,
    /// Docker's `config.json`; `helper` names the credential helper it delegated to, if any.
    DockerConfig {
        path: PathBuf,
        helper: Option<String>,
    },
    /// Podman's `auth.json`.
    Podman { path: PathBuf },
    /// The OS keyring, where `opp login` saves credentials when no helper is configured.
    Keyring,
}

impl Credentials {
    /// Username and password given explicitly by the caller.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
            origin: Origin::Explicit,
        }
    }

    /// Explicit credentials from the values of `OPP_REGISTRY_USERNAME` and
    /// `OPP_REGISTRY_PASSWORD` (read by the caller). Empty values count as unset; setting
    /// only one of the two is an error.
    pub fn from_env_vars(
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Option<(String, String)>, AuthError> {
        let username = username.filter(|s| !s.is_empty());
        let password = password.filter(|s| !s.is_empty());
        match (username, password) {
            (Some(u), Some(p)) => Ok(Some((u, p))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(AuthError::Incomplete {
                set: USERNAME_VAR,
                missing: PASSWORD_VAR,
            }),
            (None, Some(_)) => Err(AuthError::Incomplete {
                set: PASSWORD_VAR,
                missing: USERNAME_VAR,
            }),
        }
    }

    /// Where these credentials came from, for messages: "anonymous",
    /// "OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD", "docker config.json (/home/me/.docker/config.json)".
    pub fn describe(&self) -> String {
        match self {
            Credentials::Anonymous => "anonymous".to_owned(),
            Credentials::Basic { origin, .. } | Credentials::IdentityToken { origin, .. } => {
                origin.describe()
            }
        }
    }

    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Anonymous | Credentials::IdentityToken { .. } => None,
            Credentials::Basic { username, .. } => Some(username),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic {
                username, origin, ..
            } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .field("origin", origin)
                .finish(),
            Credentials::IdentityToken { origin, .. } => f
                .debug_struct("IdentityToken")
                .field("token", &"<redacted>")
                .field("origin", origin)
                .finish(),
        }
    }
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Explicit => format!("{USERNAME_VAR}/{PASSWORD_VAR}"),
            Origin::DockerConfig { path, helper: None } => {
                format!("docker config.json ({})", path.display())
            }
            Origin::DockerConfig {
                path,
                helper: Some(h),
            } => format!(
                "docker config.json ({}), credential helper docker-credential-{h}",
                path.display()
            ),
            Origin::Podman { path } => format!("podman auth.json ({})", path.display()),
            Origin::Keyring => format!("the OS keyring (service `{}`)", keyring::SERVICE),
        }
    }
}

/// Why credentials could not be found. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{set} is set but {missing} is not")]
    Incomplete {
        set: &'static str,
        missing: &'static str,
    },
    #[error("cannot read credentials for {host} from {}: {detail}", path.display())]
    Config {
        host: String,
        path: PathBuf,
        detail: String,
    },
    #[error("credential helper docker-credential-{helper} failed for {host}: {detail}")]
    Helper {
        host: String,
        helper: String,
        detail: String,
    },
    #[error("{origin} holds an identity token for {host}, which opp cannot use yet")]
    IdentityToken { host: String, origin: String },
    #[error("cannot save credentials for {host} in {}: {detail}", path.display())]
    Save {
        host: String,
        path: PathBuf,
        detail: String,
    },
    #[error("--registry-config {}: {detail}", path.display())]
    RegistryConfig { path: PathBuf, detail: String },
}

/// What to do about credentials that are half given or cannot be used.
impl crate::error::Diagnostic for AuthError {
    fn hints(&self) -> Vec<String> {
        match self {
            AuthError::Incomplete { .. } => vec!["set both, or neither".to_owned()],
            AuthError::IdentityToken { .. } => vec![format!(
                "log in with a username and password, or set {USERNAME_VAR} and {PASSWORD_VAR}"
            )],
            AuthError::Config { .. }
            | AuthError::Helper { .. }
            | AuthError::Save { .. }
            | AuthError::RegistryConfig { .. } => Vec::new(),
        }
    }
}

/// The credential files to look in. [`CredentialFiles::from_env`] finds them as docker and
/// podman do; tests build one by hand.
#[derive(Clone, Debug, Default)]
pub struct CredentialFiles {
    /// Docker's `config.json`.
    pub docker_config: Option<PathBuf>,
    /// Podman's `auth.json`.
    pub podman_auth: Option<PathBuf>,
}

impl CredentialFiles {
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`; `$REGISTRY_AUTH_FILE` or
    /// `$XDG_RUNTIME_DIR/containers/auth.json` (Linux) or `~/.config/containers/auth.json`.
    pub fn from_env() -> CredentialFiles {
        let docker_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".docker")));
        let podman_auth = std::env::var_os("REGISTRY_AUTH_FILE")
            .map(PathBuf::from)
            .or_else(|| {
                let runtime = std::env::var_os("XDG_RUNTIME_DIR")
                    .filter(|_| cfg!(target_os = "linux"))
                    .map(|d| PathBuf::from(d).join("containers/auth.json"));
                match runtime {
                    Some(p) if p.is_file() => Some(p),
                    _ => dirs::home_dir().map(|h| h.join(".config/containers/auth.json")),
                }
            });
        CredentialFiles {
            docker_config: docker_dir.map(|d| d.join("config.json")),
            podman_auth,
        }
    }
}

/// Makes `path`, a docker-format `config.json`, the first place [`resolve`] looks after
/// explicit credentials (`--registry-config`). Call it once, at start-up.
pub fn set_registry_config(path: &Path) -> Result<(), AuthError> {
    if !path.is_file() {
        return Err(AuthError::RegistryConfig {
            path: path.to_owned(),
            detail: "no such file".into(),
        });
    }
    // A second call (tests running commands in one process) keeps the first file.
    let _ = REGISTRY_CONFIG.set(path.to_owned());
    Ok(())
}

/// The credentials for `host` (`ghcr.io`, `127.0.0.1:5000`): `explicit` if given, else the
/// `--registry-config` file, else the credential helper docker's config names for the host,
/// else the OS keyring, else the rest of docker's config, else podman's, else anonymous.
/// Blocking (may run a credential helper, and waits up to [`keyring::TIMEOUT`] for the
/// keyring).
pub fn resolve(host: &str, explicit: Option<(String, String)>) -> Result<Credentials, AuthError> {
    if explicit.is_some() {
        return resolve_with(host, explicit, &CredentialFiles::from_env());
    }
    if let Some(path) = REGISTRY_CONFIG.get() {
        let only = CredentialFiles {
            docker_config: Some(path.clone()),
            podman_auth: None,
        };
        let found = resolve_with(host, None, &only)?;
        if found != Credentials::Anonymous {
            return Ok(found);
        }
    }
    let files = CredentialFiles::from_env();
    let helper = files
        .docker_config
        .as_deref()
        .filter(|p| p.is_file())
        .and_then(|p| configured_helper(p, host));
    if helper.is_none() {
        match keyring::get(host) {
            keyring::Keyring::Answered(Some((username, password))) => {
                return Ok(Credentials::Basic {
                    username,
                    password,
                    origin: Origin::Keyring,
                });
            }
            keyring::Keyring::Answered(None) => {}
            keyring::Keyring::Unavailable(why) => {
                tracing::debug!(host, "OS keyring not used: {why}");
            }
        }
    }
    resolve_with(host, None, &files)
}

/// [`resolve`] with the credential files given.
pub fn resolve_with(
    host: &str,
    explicit: Option<(String, String)>,
    files: &CredentialFiles,
) -> Result<Credentials, AuthError> {
    if let Some((username, password)) = explicit {
        return Ok(Credentials::basic(username, password));
    }
    if let Some(path) = files.docker_config.as_deref().filter(|p| p.is_file()) {
        let helper = configured_helper(path, host);
        let origin = Origin::DockerConfig {
            path: path.to_owned(),
            helper,
        };
        if let Some(c) = from_file(path, host, origin)? {
            return Ok(c);
        }
    }
    if let Some(path) = files.podman_auth.as_deref().filter(|p| p.is_file()) {
        let origin = Origin::Podman {
            path: path.to_owned(),
        };
        if let Some(c) = from_file(path, host, origin)? {
            return Ok(c);
        }
    }
    tracing::debug!(host, "no credentials configured, using anonymous access");
    Ok(Credentials::Anonymous)
}

/// Whether `host` is Docker Hub under one of its names.
fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

/// The keys to look `host` up under, in order. Docker keys Docker Hub as
/// `https://index.docker.io/v1/` (also for helpers); podman writes `docker.io`, which
/// `docker_credential` matches when asked for `index.docker.io`.
fn lookup_keys(host: &str) -> Vec<&str> {
    if is_docker_hub(host) {
        vec![DOCKER_HUB_KEY, "index.docker.io"]
    } else {
        vec![host]
    }
}

/// Looks `host` up in one docker-format file. `Ok(None)` when it has nothing for the host.
fn from_file(path: &Path, host: &str, origin: Origin) -> Result<Option<Credentials>, AuthError> {
    for key in lookup_keys(host) {
        let file = File::open(path).map_err(|e| AuthError::Config {
            host: host.to_owned(),
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        match docker_credential::get_credential_from_reader(BufReader::new(file), key) {
            Ok(DockerCredential::UsernamePassword(username, password)) => {
                return Ok(Some(Credentials::Basic {
                    username,
                    password,
                    origin,
                }));
            }
            Ok(DockerCredential::IdentityToken(token)) => {
                return Ok(Some(Credentials::IdentityToken { token, origin }));
            }
            Err(CredentialRetrievalError::NoCredentialConfigured) => continue,
            Err(e) => {
                let helper = configured_helper(path, host);
                return lookup_error(e, path, host, helper).map(|()| None);
            }
        }
    }
    Ok(None)
}

/// Turns a `docker_credential` error into ours. A helper answering "credentials not found"
/// (what docker's helpers say for an unknown host) is not an error: `Ok(())`.
fn lookup_error(
    e: CredentialRetrievalError,
    path: &Path,
    host: &str,
    helper: Option<String>,
) -> Result<(), AuthError> {
    let helper = helper.unwrap_or_else(|| "?".to_owned());
    let helper_error = |detail: String| AuthError::Helper {
        host: host.to_owned(),
        helper: helper.clone(),
        detail,
    };
    match e {
        CredentialRetrievalError::HelperFailure { stdout, stderr, .. } => {
            let said = if stderr.trim().is_empty() {
                stdout
            } else {
                stderr
            };
            if said.to_ascii_lowercase().contains("credentials not found") {
                tracing::debug!(host, "credential helper has no credentials for the host");
                return Ok(());
            }
            Err(helper_error(first_line(&said)))
        }
        CredentialRetrievalError::HelperCommunicationError => Err(helper_error(format!(
            "cannot run docker-credential-{helper} (is it on PATH?)"
        ))),
        CredentialRetrievalError::MalformedHelperResponse => Err(helper_error(
            "its answer is not the expected JSON".to_owned(),
        )),
        other => Err(AuthError::Config {
            host: host.to_owned(),
            path: path.to_owned(),
            detail: match other {
                CredentialRetrievalError::ConfigReadError => "not valid JSON".to_owned(),
                CredentialRetrievalError::CredentialDecodingError => {
                    "its `auth` value is not base64 of user:password".to_owned()
                }
                CredentialRetrievalError::CredentialMismatchError => {
                    "its `auth` value does not match its username and password".to_owned()
                }
                other => other.to_string(),
            },
        }),
    }
}

/// The helper `config.json` delegates `host` to, if any (`credHelpers[host]`, else
/// `credsStore`), read only to say where credentials came from.
fn configured_helper(path: &Path, host: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Helpers {
        #[serde(default)]
        cred_helpers: std::collections::HashMap<String, String>,
        creds_store: Option<String>,
    }
    let file = File::open(path).ok()?;
    let helpers: Helpers = serde_json::from_reader(BufReader::new(file)).ok()?;
    lookup_keys(host)
        .into_iter()
        .find_map(|k| helpers.cred_helpers.get(k).cloned())
        .or(helpers.creds_store)
        .filter(|h| !h.is_empty())
}

fn first_line(s: &str) -> String {
    let line = s.trim().lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests;

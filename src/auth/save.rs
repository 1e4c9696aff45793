//! Saving and removing a registry's credentials, for `opp login` and `opp logout`, in the
//! order docker uses: the credential helper docker's `config.json` names for the host
//! (`credHelpers`, else `credsStore`), else the OS keyring when it answers, else the file's
//! `auths` (base64 only, as docker writes it without a helper).
//!
//! It does not check credentials against a registry (`store::registry::check` does: only `store/` talks to registries) and does not read
//! them back (`auth::resolve`). Blocking: it runs helper processes and waits for the keyring.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{Map, Value};

use super::keyring::{self, Keyring};
use super::{AuthError, configured_helper, first_line, lookup_keys};

/// Where credentials were saved or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// `docker-credential-NAME`, named by the config file.
    Helper { name: String, config: PathBuf },
    /// The OS keyring.
    Keyring,
    /// The `auths` section of a docker config file.
    ConfigFile(PathBuf),
}

impl Place {
    pub fn describe(&self) -> String {
        match self {
            Place::Helper { name, config } => format!(
                "credential helper docker-credential-{name} (named in {})",
                config.display()
            ),
            Place::Keyring => format!("the OS keyring (service `{}`)", keyring::SERVICE),
            Place::ConfigFile(path) => format!("{} (auths)", path.display()),
        }
    }
}

/// What [`save`] or [`erase`] did, with notes for the user (a keyring that did not answer,
/// an unencrypted file). Neither ever holds a secret.
#[derive(Debug, Default)]
pub struct Outcome {
    pub places: Vec<Place>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Saves `username` and `secret` for `host`, with `config` as docker's config.json
/// (which need not exist).
pub fn save(host: &str, username: &str, secret: &str, config: &Path) -> Result<Outcome, AuthError> {
    let mut out = Outcome::default();
    if let Some(name) = configured_helper(config, host) {
        helper_store(&name, host, username, secret)?;
        out.places.push(Place::Helper {
            name,
            config: config.to_owned(),
        });
        return Ok(out);
    }
    match keyring::set(host, username, secret) {
        Keyring::Answered(()) => {
            out.places.push(Place::Keyring);
            return Ok(out);
        }
        Keyring::Unavailable(why) => out.notes.push(format!(
            "the OS keyring cannot be used: {why}; saving to {} instead",
            config.display()
        )),
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{secret}"));
    edit_auths(config, host, |auths, key| {
        let mut entry = Map::new();
        entry.insert("auth".into(), Value::String(auth));
        auths.insert(key.to_owned(), Value::Object(entry));
    })?;
    out.warnings.push(format!(
        "the password is stored unencrypted (only base64-encoded) in {}; configure a \
         credential helper (`credsStore` in that file) or an OS keyring to avoid this",
        config.display()
    ));
    out.places.push(Place::ConfigFile(config.to_owned()));
    Ok(out)
}

/// Removes what is saved for `host`: from the configured helper if there is one, else from
/// the keyring and the config file's `auths`. `places` is empty when nothing was saved.
pub fn erase(host: &str, config: &Path) -> Result<Outcome, AuthError> {
    let mut out = Outcome::default();
    if let Some(name) = configured_helper(config, host) {
        if helper_erase(&name, host)? {
            out.places.push(Place::Helper {
                name,
                config: config.to_owned(),
            });
        }
        return Ok(out);
    }
    match keyring::delete(host) {
        Keyring::Answered(true) => out.places.push(Place::Keyring),
        Keyring::Answered(false) => {}
        Keyring::Unavailable(why) => out
            .notes
            .push(format!("the OS keyring cannot be used: {why}")),
    }
    if config.is_file() {
        let mut removed = false;
        edit_auths(config, host, |auths, _| {
            auths.retain(|k, _| {
                let gone = names_host(k, host);
                removed |= gone;
                !gone
            });
        })?;
        if removed {
            out.places.push(Place::ConfigFile(config.to_owned()));
        }
    }
    Ok(out)
}

/// Whether an `auths` key (`host`, `https://host`, `https://host/v1/` ...) is for `host`.
fn names_host(key: &str, host: &str) -> bool {
    let bare = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let bare = bare.split('/').next().unwrap_or(bare);
    lookup_keys(host).contains(&key) || bare.eq_ignore_ascii_case(host)
}

/// Reads `config` (or `{}` if it does not exist), lets `edit` change its `auths` object (with
/// the key docker uses for `host`), and writes it back atomically with mode 0600, keeping
/// every other key as it was.
fn edit_auths(
    config: &Path,
    host: &str,
    edit: impl FnOnce(&mut Map<String, Value>, &str),
) -> Result<(), AuthError> {
    let fail = |detail: String| AuthError::Save {
        host: host.to_owned(),
        path: config.to_owned(),
        detail,
    };
    let mut doc = match std::fs::read(config) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| fail(format!("it is not valid JSON ({e})")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Object(Map::new()),
        Err(e) => return Err(fail(e.to_string())),
    };
    let root = doc
        .as_object_mut()
        .ok_or_else(|| fail("it is not a JSON object".into()))?;
    let auths = root
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| fail("its `auths` is not a JSON object".into()))?;
    edit(auths, lookup_keys(host)[0]);
    let mut text = serde_json::to_vec_pretty(&doc).map_err(|e| fail(e.to_string()))?;
    text.push(b'\n');
    write_private(config, &text).map_err(|e| fail(e.to_string()))
}

/// Writes `bytes` to `path` through a temporary file in the same directory (mode 0600 where
/// modes exist), renamed over it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    // tempfile creates the file readable by its owner only.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `docker-credential-NAME store` with `{"ServerURL","Username","Secret"}` on stdin.
fn helper_store(name: &str, host: &str, username: &str, secret: &str) -> Result<(), AuthError> {
    let input = serde_json::json!({
        "ServerURL": lookup_keys(host)[0],
        "Username": username,
        "Secret": secret,
    })
    .to_string();
    run_helper(name, host, "store", &input, secret).map(|_| ())
}

/// `docker-credential-NAME erase` with the server URL on stdin; `false` when the helper had
/// nothing for it.
fn helper_erase(name: &str, host: &str) -> Result<bool, AuthError> {
    match run_helper(name, host, "erase", lookup_keys(host)[0], "") {
        Ok(_) => Ok(true),
        Err(AuthError::Helper { detail, .. })
            if detail.to_ascii_lowercase().contains("not found") =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Runs a helper action; an error's detail is its first line of output, with `secret`
/// blanked out in case the helper echoes its input.
fn run_helper(
    name: &str,
    host: &str,
    action: &str,
    input: &str,
    secret: &str,
) -> Result<String, AuthError> {
    let program = format!("docker-credential-{name}");
    let fail = |detail: String| AuthError::Helper {
        host: host.to_owned(),
        helper: name.to_owned(),
        detail,
    };
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program} (is it on PATH?): {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| fail(format!("cannot write to {program}: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("{program} {action} failed: {e}")))?;
    let said = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        if secret.is_empty() {
            text
        } else {
            text.replace(secret, "<redacted>")
        }
    };
    if output.status.success() {
        return Ok(said(&output.stdout));
    }
    let stderr = said(&output.stderr);
    let text = if stderr.trim().is_empty() {
        said(&output.stdout)
    } else {
        stderr
    };
    Err(fail(format!(
        "`{action}` failed ({}): {}",
        output.status,
        first_line(&text)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_keys_for_a_host() {
        assert!(names_host("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(names_host("https://127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(names_host("https://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
        assert!(!names_host("127.0.0.1:5001", "127.0.0.1:5000"));
        assert!(names_host("https://index.docker.io/v1/", "docker.io"));
    }

    #[test]
    fn editing_auths_keeps_other_keys_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"proxies":{"default":{"httpProxy":"x"}},"auths":{"other.io":{"auth":"b3RoZXI6cA=="}}}"#,
        )
        .unwrap();
        edit_auths(&path, "127.0.0.1:5000", |auths, key| {
            auths.insert(key.into(), serde_json::json!({"auth": "dTpw"}));
        })
        .unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["proxies"]["default"]["httpProxy"], "x");
        assert_eq!(doc["auths"]["other.io"]["auth"], "b3RoZXI6cA==");
        assert_eq!(doc["auths"]["127.0.0.1:5000"]["auth"], "dTpw");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_config_that_is_not_an_object_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "[1]").unwrap();
        let err = edit_auths(&path, "h", |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
    }
}

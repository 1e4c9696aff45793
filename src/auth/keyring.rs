//! Registry credentials in the OS keyring (Secret Service on Linux and the BSDs, the macOS
//! Keychain, the Windows Credential Manager): one entry per registry host, service `opp`,
//! user the host, holding `{"Username":..,"Secret":..}`.
//!
//! A keyring may be absent (no session bus), locked with nobody to unlock it, or slow: every
//! call runs on its own thread and is given [`TIMEOUT`]; when it does not answer in time, or
//! answers with an error, the caller is told [`Keyring::Unavailable`] with the reason and moves
//! on (the thread is left behind; it does not keep opp from exiting). This module does not
//! decide when the keyring is used; `auth` and `auth::save` do. Without the `keyring` cargo
//! feature every call answers `Unavailable`.

use std::time::Duration;

/// How long one keyring call may take before opp gives up on the keyring.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The keyring service name opp's entries are filed under.
pub const SERVICE: &str = "opp";

/// What the keyring said.
#[derive(Debug)]
pub enum Keyring<T> {
    /// It answered.
    Answered(T),
    /// It could not be used; the reason is for a note (it never holds a secret).
    Unavailable(String),
}

/// The username and secret stored for a host, as the keyring entry holds them.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The credentials stored for `host`, `None` if the keyring has no entry for it.
pub fn get(host: &str) -> Keyring<Option<(String, String)>> {
    let owned = host.to_owned();
    bounded(move || imp::get(&owned)).and_then(|found| match found {
        None => Keyring::Answered(None),
        Some(text) => match serde_json::from_str::<Stored>(&text) {
            Ok(s) => Keyring::Answered(Some((s.username, s.secret))),
            Err(_) => Keyring::Unavailable(format!(
                "its entry `{SERVICE}` / `{host}` is not what opp writes there"
            )),
        },
    })
}

/// The password stored under `service` for `user`, as other tools file theirs (pip's and
/// uv's keyring support: service = the index host); `None` if there is none.
pub fn password(service: &str, user: &str) -> Keyring<Option<String>> {
    let (service, user) = (service.to_owned(), user.to_owned());
    bounded(move || imp::password(&service, &user))
}

/// Stores `username` and `secret` for `host`, replacing what was there.
pub fn set(host: &str, username: &str, secret: &str) -> Keyring<()> {
    let value = match serde_json::to_string(&Stored {
        username: username.to_owned(),
        secret: secret.to_owned(),
    }) {
        Ok(v) => v,
        Err(e) => return Keyring::Unavailable(format!("cannot encode the entry: {e}")),
    };
    let host = host.to_owned();
    bounded(move || imp::set(&host, &value))
}

/// Removes the entry for `host`; `Answered(false)` if there was none.
pub fn delete(host: &str) -> Keyring<bool> {
    let host = host.to_owned();
    bounded(move || imp::delete(&host))
}

impl<T> Keyring<T> {
    fn and_then<U>(self, f: impl FnOnce(T) -> Keyring<U>) -> Keyring<U> {
        match self {
            Keyring::Answered(v) => f(v),
            Keyring::Unavailable(why) => Keyring::Unavailable(why),
        }
    }
}

/// Runs `f` on its own thread and waits at most [`TIMEOUT`] for it.
fn bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Keyring<T> {
    bounded_for(TIMEOUT, f)
}

fn bounded_for<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Keyring<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("opp-keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Keyring::Unavailable(format!("cannot start a thread for it: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(v)) => Keyring::Answered(v),
        Ok(Err(why)) => Keyring::Unavailable(why),
        Err(_) => Keyring::Unavailable(format!(
            "it did not answer within {:.1} s (locked, or waiting for a prompt?)",
            timeout.as_secs_f64()
        )),
    }
}

#[cfg(feature = "keyring")]
mod imp {
    //! The keyring-core calls, with the platform's store.
    use std::sync::{Arc, OnceLock};

    use keyring_core::{CredentialStore, Entry, Error};

    use super::SERVICE;

    /// The platform store, opened once per process (`Err` is why it cannot be).
    fn store() -> Result<Arc<CredentialStore>, String> {
        static STORE: OnceLock<Result<Arc<CredentialStore>, String>> = OnceLock::new();
        STORE.get_or_init(open).clone()
    }

    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    fn open() -> Result<Arc<CredentialStore>, String> {
        let store: Arc<CredentialStore> =
            zbus_secret_service_keyring_store::Store::new().map_err(|e| describe(&e))?;
        Ok(store)
    }

    #[cfg(target_os = "macos")]
    fn open() -> Result<Arc<CredentialStore>, String> {
        let store: Arc<CredentialStore> =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| describe(&e))?;
        Ok(store)
    }

    #[cfg(target_os = "windows")]
    fn open() -> Result<Arc<CredentialStore>, String> {
        let store: Arc<CredentialStore> =
            windows_native_keyring_store::Store::new().map_err(|e| describe(&e))?;
        Ok(store)
    }

    #[cfg(not(any(
        all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ),
        target_os = "macos",
        target_os = "windows"
    )))]
    fn open() -> Result<Arc<CredentialStore>, String> {
        Err("this platform has no keyring opp knows".into())
    }

    fn entry(host: &str) -> Result<Entry, String> {
        Entry::new_in_store(&store()?, SERVICE, host).map_err(|e| describe(&e))
    }

    pub fn get(host: &str) -> Result<Option<String>, String> {
        match entry(host)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }

    pub fn password(service: &str, user: &str) -> Result<Option<String>, String> {
        let entry = Entry::new_in_store(&store()?, service, user).map_err(|e| describe(&e))?;
        match entry.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }

    pub fn set(host: &str, value: &str) -> Result<(), String> {
        entry(host)?.set_password(value).map_err(|e| describe(&e))
    }

    pub fn delete(host: &str) -> Result<bool, String> {
        match entry(host)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(Error::NoEntry) => Ok(false),
            Err(e) => Err(describe(&e)),
        }
    }

    /// A keyring error in a few words. keyring-core errors name the store's failure (no
    /// session bus, locked collection ...), never the secret.
    fn describe(e: &Error) -> String {
        match e {
            Error::PlatformFailure(inner) => format!("it is not reachable ({inner})"),
            Error::NoStorageAccess(inner) => format!("it refused access ({inner})"),
            other => other.to_string(),
        }
    }
}

#[cfg(not(feature = "keyring"))]
mod imp {
    //! Built without the `keyring` feature: there is no keyring.
    const WHY: &str = "opp was built without the `keyring` feature";

    pub fn get(_host: &str) -> Result<Option<String>, String> {
        Err(WHY.into())
    }

    pub fn password(_service: &str, _user: &str) -> Result<Option<String>, String> {
        Err(WHY.into())
    }

    pub fn set(_host: &str, _value: &str) -> Result<(), String> {
        Err(WHY.into())
    }

    pub fn delete(_host: &str) -> Result<bool, String> {
        Err(WHY.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_keyring_that_does_not_answer_is_given_up_on() {
        let started = Instant::now();
        let got = bounded_for(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        });
        assert!(started.elapsed() < Duration::from_secs(5));
        match got {
            Keyring::Unavailable(why) => assert!(why.contains("did not answer"), "{why}"),
            Keyring::Answered(()) => panic!("a sleeping keyring answered"),
        }
    }

    #[test]
    fn answers_and_errors_are_passed_on() {
        assert!(matches!(
            bounded_for(TIMEOUT, || Ok(7)),
            Keyring::Answered(7)
        ));
        match bounded_for::<()>(TIMEOUT, || Err("no bus".into())) {
            Keyring::Unavailable(why) => assert_eq!(why, "no bus"),
            Keyring::Answered(()) => panic!("an error was an answer"),
        }
    }
}

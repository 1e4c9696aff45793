//! `opp login` and `opp logout`: get a username and password (prompt, or `--username` with
//! `--password-stdin`), have the registry check them, save them where `auth::save` decides,
//! and say where they went. Never prints, logs or puts the password in an error.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};

use crate::auth::save::{self, Outcome, Place};
use crate::auth::{CredentialFiles, PASSWORD_VAR, USERNAME_VAR};
use crate::cli::{LoginArgs, LogoutArgs};
use crate::config::{Location, Settings};
use crate::output::Output;
use crate::store::registry::check::{self, Verdict};

pub async fn login(settings: &Settings, out: &Output, args: LoginArgs) -> anyhow::Result<()> {
    let (host, plain_http) = registry(args.server.as_deref(), settings)?;
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if interactive => dialoguer::Input::<String>::new()
            .with_prompt(format!("Username for {host}"))
            .interact_text()
            .context("cannot read the username")?,
        None => {
            return Err(crate::error::Refusal::new(
                "no terminal to ask for a username",
                format!(
                    "pass --username with --password-stdin (or set {USERNAME_VAR} and \
                     {PASSWORD_VAR} instead of logging in)"
                ),
            )
            .into());
        }
    };
    let username = username.trim().to_owned();
    if username.is_empty() {
        bail!("the username is empty");
    }
    let password = if args.password_stdin {
        read_password_stdin()?
    } else if interactive {
        dialoguer::Password::new()
            .with_prompt(format!("Password for {username}@{host}"))
            .interact()
            .context("cannot read the password")?
    } else {
        return Err(crate::error::Refusal::new(
            "no terminal to ask for the password",
            "pipe it in with --password-stdin",
        )
        .into());
    };
    if password.is_empty() {
        bail!("the password is empty");
    }

    match check::check(&host, plain_http, &username, &password)
        .await
        .map_err(|source| LoginRefused {
            host: host.clone(),
            username: username.clone(),
            source,
        })? {
        Verdict::Accepted => {}
        Verdict::NotRequired => out.warn(format!(
            "{host} answers without credentials, so it could not check them; saving them anyway"
        )),
    }

    let config = docker_config()?;
    let outcome = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || save::save(&host, &username, &password, &config))
            .await
            .context("saving the credentials stopped")??
    };
    report(out, &outcome);
    let place = outcome
        .places
        .first()
        .map(Place::describe)
        .unwrap_or_default();
    out.status(format!("Logged in to {host}; credentials saved in {place}"));
    Ok(())
}

pub async fn logout(settings: &Settings, out: &Output, args: LogoutArgs) -> anyhow::Result<()> {
    let (host, _) = registry(args.server.as_deref(), settings)?;
    let config = docker_config()?;
    let outcome = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || save::erase(&host, &config))
            .await
            .context("removing the credentials stopped")??
    };
    report(out, &outcome);
    if outcome.places.is_empty() {
        out.status(format!(
            "No saved credentials for {host}: nothing to remove"
        ));
    } else {
        let places: Vec<String> = outcome.places.iter().map(Place::describe).collect();
        out.status(format!(
            "Logged out of {host}; removed credentials from {}",
            places.join(" and ")
        ));
    }
    Ok(())
}

fn report(out: &Output, outcome: &Outcome) {
    for note in &outcome.notes {
        out.status(format!("note: {note}"));
    }
    for warning in &outcome.warnings {
        out.warn(warning);
    }
}

/// The registry host named on the command line, else the configured one, and whether it
/// talks plain HTTP (loopback hosts always do; `check` decides that).
fn registry(server: Option<&str>, settings: &Settings) -> anyhow::Result<(String, bool)> {
    let location = match server {
        Some(s) => Location::registry(s, settings.plain_http)?,
        None => settings.location.clone(),
    };
    match location {
        Location::Registry {
            host, plain_http, ..
        } => Ok((host, plain_http)),
        Location::Local(_) => Err(anyhow!(
            "which registry? name it (`opp login ghcr.io`) or configure one (--registry / \
             OPP_REGISTRY)"
        )),
    }
}

/// Docker's config.json, where helpers are named and `auths` live.
fn docker_config() -> anyhow::Result<PathBuf> {
    CredentialFiles::from_env().docker_config.ok_or_else(|| {
        crate::error::Refusal::new(
            "cannot find docker's config.json",
            "set DOCKER_CONFIG (the directory that holds it) or HOME",
        )
        .into()
    })
}

/// The password from standard input, without its final line break.
fn read_password_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the password from standard input")?;
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned())
}

/// The registry refused the credentials given to `opp login`; nothing was saved.
#[derive(Debug, thiserror::Error)]
#[error("cannot log in to {host} as `{username}`; nothing was saved")]
pub struct LoginRefused {
    pub host: String,
    pub username: String,
    #[source]
    pub source: crate::store::StoreError,
}

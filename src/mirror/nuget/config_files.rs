//! Which NuGet.Config files NuGet reads, closest first (NuGet.Configuration's
//! `Settings.LoadDefaultSettings`): with `--configfile FILE` that file alone; else the first of
//! `nuget.config`, `NuGet.config`, `NuGet.Config` in the current directory and in each directory
//! above it, then the user's (`~/.nuget/NuGet/NuGet.Config`, then the `*.config` files of
//! `~/.nuget/NuGet/config/`; `%APPDATA%\NuGet` on Windows), then the machine-wide `*.config`
//! files (`/etc/opt/NuGet/Config`, or `$NUGET_COMMON_APPLICATION_DATA/NuGet/Config`; macOS
//! `/Library/Application Support/NuGet/Config`; Windows `%ProgramFiles(x86)%\NuGet\Config`).
//! Reading them is `config.rs`. Then the upstream's credentials: [`with_credentials`].

use std::path::{Path, PathBuf};

use reqwest::Url;

use super::config::{self, ConfigError, ConfigFile};
use crate::mirror::credentials::{self, Netrc, Source};

/// The names NuGet looks for in each directory, in its order (a case-sensitive file system).
const NAMES: [&str; 3] = ["nuget.config", "NuGet.config", "NuGet.Config"];

/// The directories NuGet takes its files from besides the current directory's chain.
pub struct Places {
    pub cwd: PathBuf,
    /// `~/.nuget/NuGet`.
    pub user: Option<PathBuf>,
    /// `/etc/opt/NuGet/Config`.
    pub machine: Option<PathBuf>,
}

impl Places {
    /// This machine's, as NuGet's `NuGetEnvironment` finds them.
    pub fn here() -> Places {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let (user, machine) = if cfg!(windows) {
            (
                var("APPDATA").map(|d| d.join("NuGet")),
                var("ProgramFiles(x86)")
                    .or_else(|| var("ProgramFiles"))
                    .map(|d| d.join("NuGet").join("Config")),
            )
        } else {
            let common = if cfg!(target_os = "macos") {
                Some(PathBuf::from("/Library/Application Support"))
            } else {
                var("NUGET_COMMON_APPLICATION_DATA").or(Some(PathBuf::from("/etc/opt")))
            };
            (
                dirs::home_dir().map(|h| h.join(".nuget").join("NuGet")),
                common.map(|d| d.join("NuGet").join("Config")),
            )
        };
        Places {
            cwd: std::env::current_dir().unwrap_or_default(),
            user,
            machine,
        }
    }
}

/// The files NuGet reads, closest first (only existing ones).
pub fn discover(places: &Places) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in places.cwd.ancestors() {
        if let Some(f) = NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            found.push(f);
        }
    }
    if let Some(user) = &places.user {
        let main = user.join("NuGet.Config");
        if main.is_file() {
            found.push(main);
        }
        found.extend(
            config_files_in(&user.join("config"))
                .into_iter()
                .filter(|p| p.file_name().is_some_and(|n| n != "NuGet.Config")),
        );
    }
    if let Some(machine) = &places.machine {
        found.extend(config_files_in(machine));
    }
    found
}

/// The `*.config` files directly in `dir`, by name.
fn config_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("config"))
        })
        .collect();
    files.sort();
    files
}

/// Why the feed's credentials could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read the NuGet config file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The transparent variant asks its inner error, which the chain of causes does not show.
impl crate::error::Diagnostic for CredentialsError {
    fn hints(&self) -> Vec<String> {
        match self {
            CredentialsError::Config(e) => crate::error::Diagnostic::hints(e),
            CredentialsError::Read { .. } => Vec::new(),
        }
    }
}

/// Reads `files` (closest first).
pub fn read(files: &[PathBuf]) -> Result<Vec<ConfigFile>, CredentialsError> {
    files
        .iter()
        .map(|path| {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
                path: name.clone(),
                source,
            })?;
            Ok(config::parse(&name, &text)?)
        })
        .collect()
}

/// The upstream as given (a URL, or a NuGet.Config source key as `nuget -Source` takes one),
/// with credentials where NuGet, then pip, would find them: the URL's own, else NuGet.Config's
/// for the source with that URL (`NuGetPackageSourceCredentials_KEY` first), else `.netrc`,
/// else the keyring (`https://USER@HOST/...`). Returns the URL to read and where its
/// credentials came from. A `upstream` that is neither is returned as it is (the feed says why
/// it is no URL).
pub fn with_credentials(
    upstream: &str,
    files: &[ConfigFile],
    netrc: &Netrc,
) -> Result<(String, Option<Source>), ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let named = (!upstream.contains("://"))
        .then(|| config::source_url(upstream, files, &env))
        .flatten();
    let text = named.as_deref().unwrap_or(upstream);
    let Ok(mut url) = Url::parse(text.trim()) else {
        return Ok((text.to_owned(), None));
    };
    if url.password().is_some() {
        return Ok((url.into(), Some(Source::Url)));
    }
    if let Some(found) = config::credentials_for(&url, files, &env)?
        && credentials::set(&mut url, &found.username, &found.password)
    {
        return Ok((url.into(), Some(Source::Config(found.origin))));
    }
    let source = credentials::fill(&mut url, netrc);
    Ok((url.into(), source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_found_closest_first_as_nuget_orders_them() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let work = r.join("work");
        let app = work.join("app");
        let user = r.join("home/.nuget/NuGet");
        let machine = r.join("etc/opt/NuGet/Config");
        for d in [&app, &user.join("config"), &machine] {
            std::fs::create_dir_all(d).unwrap();
        }
        let write = |p: PathBuf| {
            std::fs::write(&p, "<configuration/>").unwrap();
            p
        };
        let want = vec![
            write(app.join("nuget.config")),
            write(work.join("NuGet.Config")),
            write(user.join("NuGet.Config")),
            write(user.join("config/a.config")),
            write(user.join("config/b.Config")),
            write(machine.join("corp.config")),
        ];
        write(user.join("config/notes.txt"));
        let got = discover(&Places {
            cwd: app,
            user: Some(user),
            machine: Some(machine),
        });
        // Directories above the temporary one may hold their own NuGet.Config.
        let got: Vec<PathBuf> = got.into_iter().filter(|p| p.starts_with(r)).collect();
        assert_eq!(got, want);
    }
}

//! The NuGet frontend of `opp proxy`: the NuGet v3 protocol over the store under `/nuget/`
//! (service index, flat container, registrations, search, push), and the configuration that
//! points NuGet clients at it as their only source, leaving no file in the user's project or
//! home (docs/protocols.md §4, "What `opp proxy` gives NuGet clients").
//!
//! What a child gets, all inside the proxy's temporary directory `nuget/`:
//! - `NuGet.Config` (`<clear/>`, the proxy's source and its secret, the default push source),
//!   named by `OPP_PROXY_NUGET_CONFIG` and by `RestoreConfigFile`, which MSBuild reads from the
//!   environment as a property, so `dotnet restore` uses it alone;
//! - `NUGET_HTTP_CACHE_PATH` there too, so no cached index of a one-run port stays behind;
//! - for nuget.exe under mono (the command is `nuget*` or `mono …nuget*.exe`): `XDG_CONFIG_HOME`
//!   pointing at `nuget/mono/`, where mono's nuget.exe reads its user config
//!   (`NuGet/NuGet.Config`, the same file) and mono's TLS its trust store (`.mono/new-certs`,
//!   the proxy's CA bundle). Any other command gets the directory as
//!   `OPP_PROXY_NUGET_MONO_CONFIG_HOME` to set itself.
//!
//! Submodules: `service` (the service index and every URL), `flat` (flat container), `registration`,
//! `search`, `push`, `read` (versions, nupkgs and nuspecs from the store), `config` (the
//! NuGet.Config text), `mono_trust` (mono's certificate store), `error`. Binding, TLS and the
//! child process are the proxy's server; what a NuGet package is in OCI is `packages::nuget`.

mod argv;
mod config;
mod error;
mod flat;
mod mono_trust;
mod push;
mod read;
mod registration;
mod search;
mod service;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, put};

use super::not_stored::Notices;
use super::{ChildContext, Frontend, ProxyState, Scheme, SharedState};

pub use argv::{runs_nuget_exe, with_config_file};
pub use config::{FILE_NAME as CONFIG_FILE_NAME, NugetConfig, SOURCE_NAME};
pub use mono_trust::subject_hash;
pub use service::{index_url, publish_url};

/// The directory under the proxy's temporary directory holding what NuGet clients get.
const DIR: &str = "nuget";
/// Under [`DIR`]: the config home handed to mono's nuget.exe as `XDG_CONFIG_HOME`.
const MONO_HOME: &str = "mono";
/// Under [`DIR`]: NuGet's HTTP cache for this run.
const HTTP_CACHE: &str = "http-cache";

/// Serves the store's NuGet packages to nuget.exe and dotnet.
pub struct NugetFrontend;

/// Where the files a child gets are, under the proxy's temporary directory `temp`.
pub struct ChildFiles {
    /// The NuGet.Config with only the proxy as source.
    pub config: PathBuf,
    /// The config home for mono's nuget.exe (`XDG_CONFIG_HOME`).
    pub mono_home: PathBuf,
    pub http_cache: PathBuf,
}

impl ChildFiles {
    pub fn under(temp: &Path) -> ChildFiles {
        let dir = temp.join(DIR);
        ChildFiles {
            config: dir.join(CONFIG_FILE_NAME),
            mono_home: dir.join(MONO_HOME),
            http_cache: dir.join(HTTP_CACHE),
        }
    }
}

/// Writes the NuGet.Config (twice: for `-ConfigFile`/`RestoreConfigFile`, and as mono's user
/// config) and, when the proxy serves HTTPS, mono's trust store with the CA bundle.
pub fn write_child_files(state: &ProxyState, ctx: &ChildContext) -> anyhow::Result<ChildFiles> {
    let files = ChildFiles::under(&ctx.temp_dir);
    let text = NugetConfig {
        source: &index_url(&state.base_url),
        user: super::access::USER,
        secret: state.access.secret(),
    }
    .render();
    let user_config = files.mono_home.join("NuGet").join(CONFIG_FILE_NAME);
    for path in [&files.config, &user_config] {
        if let Some(parent) = path.parent() {
            super::workdir::create_private_dirs(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_private(path, &text)?;
    }
    if let Some(bundle) = &ctx.ca_bundle
        && let Err(e) = mono_trust::install(bundle, &files.mono_home)
    {
        // Only nuget.exe under mono needs it: the other tools must not lose the proxy.
        tracing::warn!(
            "nuget.exe will not trust the proxy: {}",
            anyhow::Error::new(e)
                .chain()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ")
        );
    }
    Ok(files)
}

/// Writes `text` readable by the owner only: it holds the secret.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    super::workdir::write_private(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[async_trait::async_trait]
impl Frontend for NugetFrontend {
    fn name(&self) -> &'static str {
        "nuget"
    }

    fn router(&self) -> Router<SharedState> {
        // Pushes stream to a temporary file and count against --max-upload-size themselves.
        let push = put(push::push).layer(DefaultBodyLimit::disable());
        Router::new()
            .route("/nuget/v3/index.json", get(service::service_index))
            .route("/nuget/v3/flatcontainer/{id}/{file}", get(flat::versions))
            .route(
                "/nuget/v3/flatcontainer/{id}/{version}/{file}",
                get(flat::content),
            )
            .route(
                "/nuget/v3/registration/{id}/{leaf}",
                get(registration::registration),
            )
            .route("/nuget/v3/query", get(search::search))
            .route("/nuget/api/v2/package", push.clone())
            .route("/nuget/api/v2/package/", push)
            .layer(axum::Extension(Arc::new(Notices::default())))
    }

    async fn child_env(
        &self,
        state: &ProxyState,
        ctx: &ChildContext,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let files = write_child_files(state, ctx)?;
        let text = |p: &Path| p.to_string_lossy().into_owned();
        let mut env = vec![
            ("OPP_PROXY_NUGET_SOURCE", index_url(&state.base_url)),
            ("OPP_PROXY_NUGET_CONFIG", text(&files.config)),
            ("OPP_PROXY_NUGET_MONO_CONFIG_HOME", text(&files.mono_home)),
            // MSBuild turns environment variables into properties: `dotnet restore` and
            // `msbuild -t:restore` then read this config alone.
            ("RestoreConfigFile", text(&files.config)),
            ("NUGET_HTTP_CACHE_PATH", text(&files.http_cache)),
        ];
        if runs_nuget_exe(&ctx.command) {
            env.push(("XDG_CONFIG_HOME", text(&files.mono_home)));
        }
        Ok(env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// nuget.exe (mono) takes plain HTTP on loopback; dotnet 9+ (NuGet 6.12) refuses it
    /// without `allowInsecureConnections`, so every other command gets HTTPS.
    fn scheme(&self, ctx: &ChildContext) -> Scheme {
        if runs_nuget_exe(&ctx.command) {
            Scheme::Http
        } else {
            Scheme::Https
        }
    }

    /// nuget.exe takes its config file only by argument: see `argv.rs`.
    fn child_args(&self, ctx: &ChildContext) -> Option<Vec<OsString>> {
        with_config_file(&ctx.command, &ChildFiles::under(&ctx.temp_dir).config)
    }

    /// Refers to the secret as `$OPP_PROXY_TOKEN` (exported above), so that it is printed
    /// once; the config files themselves hold it.
    fn instructions(&self, state: &ProxyState, ctx: &ChildContext) -> String {
        let files = ChildFiles::under(&ctx.temp_dir);
        let source = index_url(&state.base_url);
        format!(
            "NuGet:      source {source} (user {user}, password $OPP_PROXY_TOKEN)\n  \
             NuGet.Config with only that source (holds the secret): {config}\n  \
             nuget.exe:  XDG_CONFIG_HOME={mono} nuget install PACKAGE -OutputDirectory packages -ConfigFile {config}\n  \
             \x20           (mono's nuget.exe reads that config there, and mono's TLS the proxy's CA)\n  \
             dotnet:     dotnet restore --configfile {config}\n  \
             push:       nuget push PACKAGE.nupkg -Source {source} -ApiKey \"$OPP_PROXY_TOKEN\"\n  \
             \x20           dotnet nuget push PACKAGE.nupkg -s {source} -k \"$OPP_PROXY_TOKEN\"\n",
            user = super::access::USER,
            config = files.config.display(),
            mono = files.mono_home.display(),
        )
    }
}

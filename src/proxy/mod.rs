//! `opp proxy`: an ephemeral local frontend that speaks each ecosystem's native protocol over
//! the configured store, so pip, uv, twine and terraform use packages stored in OCI.
//!
//! This module owns the shared state every frontend serves from ([`ProxyState`]) and the
//! [`Frontend`] interface: a frontend contributes routes under its own path prefix, the
//! environment variables and config files that point its clients at the proxy, and the
//! snippet printed when the proxy runs without a command, and which [`Scheme`] its clients
//! need. Binding (one listener per scheme), TLS, running the child and who may use the proxy
//! live in `listeners.rs`, `server.rs`, `tls.rs`, `child.rs` and `access.rs`.

pub mod nuget;
pub mod terraform;

use std::path::PathBuf;
use std::sync::Arc;

pub mod access;
pub mod blob;
pub mod child;
pub mod failure;
pub mod frontends;
pub mod listeners;
pub mod not_stored;
pub mod releases;
pub mod server;
pub mod spool;
pub mod tls;
pub mod upload;
pub mod workdir;

use crate::mapper::Mapper;
use crate::output::Output;
use crate::packages::Packages;
use crate::store::Store;

/// What every frontend serves from. There is one per listener (plain HTTP, HTTPS): they
/// differ only in `base_url` and share everything else ([`ProxyState::at`]).
pub struct ProxyState {
    pub store: Arc<dyn Store>,
    pub mapper: Mapper,
    /// Hidden output (no progress bars, no status lines) for the library calls.
    pub out: Output,
    /// The base URL of the listener this state serves, without a trailing slash:
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`. Frontends write it into what they
    /// answer, so that a client stays on the scheme it came in on.
    pub base_url: String,
    /// `--upstream` index for PyPI names the store does not have.
    pub pypi_upstream: Option<String>,
    /// The hostname module sources use to reach the proxy (`--module-host`).
    pub module_host: String,
    /// The largest upload body accepted (`--max-upload-size`), in bytes.
    pub max_upload: u64,
    /// The per-run secret every request must carry, and the key signing download URLs.
    pub access: access::Access,
    /// Verified copies of blobs on disk, that ranges are served from.
    pub spool: spool::Spool,
}

impl ProxyState {
    /// The library's view of the store, for one request.
    pub fn packages(&self) -> Packages<'_> {
        Packages {
            store: self.store.as_ref(),
            mapper: &self.mapper,
            out: &self.out,
        }
    }

    /// The same state for another listener, at `base_url`: the store, its cache, the secret
    /// and the spool are shared, not copied.
    pub fn at(&self, base_url: String) -> ProxyState {
        ProxyState {
            store: self.store.clone(),
            mapper: self.mapper.clone(),
            out: self.out.clone(),
            base_url,
            pypi_upstream: self.pypi_upstream.clone(),
            module_host: self.module_host.clone(),
            max_upload: self.max_upload,
            access: self.access.clone(),
            spool: self.spool.clone(),
        }
    }
}

/// How a listener speaks to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP, on loopback only: pip, uv, twine, gem, bundler and nuget.exe accept it
    /// there, and it spares them the TLS handshake and the CA bundle.
    Http,
    /// HTTPS with the proxy's throwaway CA: for clients that refuse plain HTTP even on
    /// loopback (terraform's provider mirror, dotnet 9+), and for any address but loopback.
    Https,
}

pub mod pypi;
pub mod rubygems;

pub type SharedState = Arc<ProxyState>;

/// Escapes text for an HTML or XML element or a double- or single-quoted attribute (the PyPI
/// project pages, the NuGet.Config handed to a child).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Where a child process's configuration goes: a private temporary directory removed when
/// the proxy exits, and the CA bundle when the proxy serves HTTPS.
pub struct ChildContext {
    pub temp_dir: PathBuf,
    /// PEM bundle: the system roots plus the proxy's throwaway CA (HTTPS only).
    pub ca_bundle: Option<PathBuf>,
    /// The child's argv (empty when the proxy serves without a command), so a frontend can
    /// tailor its configuration to the tool.
    pub command: Vec<std::ffi::OsString>,
}

impl ChildContext {
    /// The file name of the program the child runs (`terraform` for `/usr/bin/terraform`),
    /// lowercased; `None` without a command.
    pub fn program(&self) -> Option<String> {
        let program = self.command.first()?;
        let name = std::path::Path::new(program).file_name()?;
        Some(name.to_string_lossy().to_ascii_lowercase())
    }
}

/// One native protocol served by the proxy.
#[async_trait::async_trait]
pub trait Frontend: Send + Sync {
    /// The ecosystem name used by `--ecosystems` (`pypi`, `terraform`).
    fn name(&self) -> &'static str;
    /// Routes, mounted at the root of the proxy; every path starts with `/{name}/`.
    fn router(&self) -> axum::Router<SharedState>;
    /// Environment for a child process (and any config files written into
    /// `ctx.temp_dir`), pointing its clients at `base_url`.
    /// May read the store (e.g. which providers it holds).
    async fn child_env(
        &self,
        state: &ProxyState,
        ctx: &ChildContext,
    ) -> anyhow::Result<Vec<(String, String)>>;
    /// The command line to run instead of `ctx.command`, for a tool that takes its
    /// configuration only by argument (nuget.exe's `-ConfigFile`); `None` leaves it as is.
    fn child_args(&self, _ctx: &ChildContext) -> Option<Vec<std::ffi::OsString>> {
        None
    }
    /// What to print, per tool, when the proxy serves without a command.
    fn instructions(&self, state: &ProxyState, ctx: &ChildContext) -> String;
    /// The listener this frontend's clients are pointed at when the proxy serves both
    /// schemes: plain HTTP (the default) for clients that accept it on loopback, HTTPS for
    /// those that refuse it. `--http` / `--https` override it for every frontend.
    fn scheme(&self, _ctx: &ChildContext) -> Scheme {
        Scheme::Http
    }
    /// What this frontend's clients lose when `--http` gives them plain HTTP although
    /// [`Frontend::scheme`] asks for HTTPS, printed as a warning; `None` when nothing is lost
    /// (or the command is not one of its clients).
    fn plain_http_warning(&self, _ctx: &ChildContext) -> Option<String> {
        None
    }
}

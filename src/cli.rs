//! The command-line interface: every command, argument and flag, with its help text. It is
//! also the source of the shell completions in `completions/` and the man pages in `man/`
//! (`opp completions SHELL`, `opp man DIR`). No behaviour lives here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::release::Ecosystem;

mod bundle;
mod ecosystem;
mod mirror;
mod mirror_terraform;
mod transfer;
pub use bundle::*;
pub use ecosystem::{EcosystemArg, EcosystemParser};
pub use mirror::*;
pub use mirror_terraform::*;
pub use transfer::*;

const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure (bad input, registry error, I/O error ...)
  2  usage error (unknown flag, missing argument)
  3  not found (no such package, version or file)
  4  authentication failed (the registry or upstream refused the credentials)

Environment:
  OPP_REGISTRY           registry to use, HOST[:PORT][/PREFIX] (as --registry)
  OPP_STORE              local store directory (as --store)
  OPP_REGISTRY_USERNAME  username for the registry
  OPP_REGISTRY_PASSWORD  password or token for the registry
  OPP_REGISTRY_CONFIG    a docker-format config.json to read credentials from first
  DOCKER_CONFIG          directory of docker's config.json (credentials, helpers)
  OPP_HTTP_TIMEOUT       how long an upstream of opp mirror may stay silent before the
                         request is retried (default 30s)
  NO_COLOR               disable colours";

/// Publish and fetch language packages directly to and from OCI registries.
///
/// With no registry configured, opp keeps packages in a local OCI image layout store under
/// the user's data directory, so every command works without a server.
#[derive(Debug, Parser)]
#[command(name = "opp", version, about, long_about = None, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Registry to use, as HOST[:PORT][/PREFIX] (e.g. ghcr.io/acme). Without one, opp uses
    /// the local store.
    #[arg(
        long,
        global = true,
        env = "OPP_REGISTRY",
        value_name = "HOST[:PORT][/PREFIX]"
    )]
    pub registry: Option<String>,

    /// Local store directory (default: opp/store in the user's data directory).
    #[arg(long, global = true, env = "OPP_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// Talk plain HTTP to the registry (loopback hosts always do).
    #[arg(long, global = true)]
    pub plain_http: bool,

    /// Print nothing but errors and requested output; no progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Config file (default: opp/config.toml in the user's config directory).
    #[arg(long, global = true, env = "OPP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log what opp does (requests, token exchanges) to stderr; credentials are never
    /// logged. OPP_LOG (e.g. OPP_LOG=trace) chooses the detail itself.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// How long each registry step may keep retrying a busy registry (429, 5xx) or a broken
    /// connection, waits included: e.g. 60s, 2m, 0s for no retries (default: 1m, or
    /// retry-timeout in config.toml).
    #[arg(
        long,
        global = true,
        env = "OPP_RETRY_TIMEOUT",
        value_name = "DURATION",
        value_parser = crate::config::parse_duration
    )]
    pub retry_timeout: Option<std::time::Duration>,

    /// A docker-format config.json to read registry credentials from before docker's own
    /// (after OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD).
    #[arg(long, global = true, env = "OPP_REGISTRY_CONFIG", value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push distribution files into the store or registry.
    #[command(subcommand)]
    Push(PushCommand),
    /// Pull a version's files out of the store or registry.
    #[command(subcommand)]
    Pull(PullCommand),
    /// List packages (of every ecosystem, or of one), or the versions of one package.
    List(ListArgs),
    /// Show the files of one version.
    Show(ShowArgs),
    /// Write a provider's hashes for every stored platform into .terraform.lock.hcl.
    #[command(subcommand)]
    Lock(LockCommand),
    /// Copy a version, with every blob it references, between stores and registries.
    Copy(CopyArgs),
    /// Write packages of the store, with everything they reference, into one bundle file.
    Export(ExportArgs),
    /// Load a bundle written by `opp export` into the store, verified.
    Import(ImportArgs),
    /// Bring packages and their dependencies from a public index into the store, verified.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Serve the store to pip, uv, twine, terraform and nuget in their own protocols on
    /// 127.0.0.1, and run a command pointed at it.
    ///
    /// `opp proxy -- COMMAND ARGS...` runs the command with its tools pointed at the proxy
    /// (environment variables, temporary config files, and a CA bundle of the system roots
    /// plus the proxy's throwaway CA in SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and
    /// OPP_PROXY_CA_BUNDLE), passes Ctrl-C and SIGTERM on to it, and exits with its status.
    /// The command also sees OPP_PROXY_URL and OPP_PROXY_<ECOSYSTEM>_URL (e.g.
    /// OPP_PROXY_PYPI_URL), to point any other tool at the proxy by hand. Without a command,
    /// opp serves until Ctrl-C and prints how to point each tool at it. Temporary files are
    /// removed when opp exits.
    ///
    /// The proxy serves one user: every request must carry a secret drawn at start, as a
    /// Basic auth password (any user name), a Bearer token or a NuGet API key (nuget push
    /// -ApiKey); terraform's archive downloads get signed links valid for 15 minutes instead.
    /// The command's tools get the secret through their configuration (and OPP_PROXY_TOKEN);
    /// without a command opp prints it.
    Proxy(ProxyArgs),
    /// Log in to a registry: check a username and password with it, then save them.
    #[command(long_about = LOGIN_ABOUT)]
    Login(LoginArgs),
    /// Remove the saved credentials for a registry.
    ///
    /// Removes them from the credential helper docker's config.json names for the registry,
    /// or else from the OS keyring and from config.json `auths`.
    Logout(LogoutArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Write the man pages into a directory.
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// An ecosystem; without it, list the packages of every ecosystem.
    #[arg(value_parser = EcosystemParser)]
    pub ecosystem: Option<Ecosystem>,
    /// A package name; without it, list the packages.
    pub name: Option<String>,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[arg(value_parser = EcosystemParser)]
    pub ecosystem: Ecosystem,
    /// NAME==VERSION or NAME@VERSION.
    #[arg(value_name = "NAME@VERSION")]
    pub package: String,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    #[arg(value_parser = EcosystemParser)]
    pub ecosystem: Ecosystem,
    /// NAME==VERSION (or NAME@VERSION).
    #[arg(value_name = "NAME==VERSION")]
    pub package: String,
    /// Source: `local` (the local store), a store directory (starting with / or .), or a
    /// registry HOST[:PORT][/PREFIX]. Default: the configured store or registry.
    #[arg(long, value_name = "LOCATION")]
    pub from: Option<String>,
    /// Destination, in the same forms as --from.
    #[arg(long, value_name = "LOCATION")]
    pub to: String,
    /// Print what was copied as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = PROXY_EXAMPLES, after_long_help = PROXY_EXAMPLES)]
pub struct ProxyArgs {
    /// Port to listen on (default: a free one); the HTTPS listener's when both are served.
    #[arg(long, default_value_t = 0, hide_default_value = true, value_name = "N")]
    pub port: u16,
    /// Address to listen on (default: 127.0.0.1). Any address but loopback needs HTTPS:
    /// --http and --plain-http are refused with it. The certificate covers the address.
    #[arg(long, value_name = "IP")]
    pub bind: Option<std::net::IpAddr>,
    /// Serve every client plain HTTP on http://127.0.0.1:PORT. By default the proxy listens
    /// twice on loopback: plain HTTP for the clients that accept it there (pip, uv, twine,
    /// gem, bundler, nuget.exe), HTTPS on https://localhost:PORT for those that do not
    /// (terraform's provider mirror, dotnet). The global --plain-http does the same for
    /// `opp proxy`, besides talking plain HTTP to the registry.
    #[arg(long, conflicts_with = "https")]
    pub http: bool,
    /// Serve every client HTTPS on https://localhost:PORT, with a throwaway CA handed to the
    /// command (the bundle is in OPP_PROXY_CA_BUNDLE).
    #[arg(long)]
    pub https: bool,
    /// Ecosystems to serve, comma-separated (e.g. pypi,terraform). Default: all of them.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub ecosystems: Vec<String>,
    /// Package index to fall back to for PyPI names the store does not have
    /// (e.g. https://pypi.org/simple/).
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Hostname Terraform module sources use to reach the proxy (it must resolve to
    /// 127.0.0.1; the proxy's certificate covers it).
    #[arg(long, default_value = "opp.localhost", value_name = "HOST")]
    pub module_host: String,
    /// Largest package the proxy accepts in one upload (twine, gem push, nuget push), e.g.
    /// 512MiB or 2GB; a larger body is refused with HTTP 413 and nothing is stored.
    #[arg(long, default_value = "1GiB", value_name = "SIZE")]
    pub max_upload_size: bytesize::ByteSize,
    /// How long tag lists and tags read from a registry are reused (e.g. 5s, 500ms, 0 for
    /// never). Manifests and small blobs by digest never change and are always kept in memory
    /// (8 MiB at most). A push through the proxy is visible at once; one by others after at
    /// most this time.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = crate::store::cache::parse_ttl)]
    pub cache_ttl: std::time::Duration,
    /// The command to run against the proxy, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

const PROXY_EXAMPLES: &str = "\
Examples:
  opp proxy -- terraform init
  opp proxy -- pip install mypkg
  opp proxy -- uv sync
  opp proxy -- twine upload dist/*
  opp proxy -- nuget install MyPkg -OutputDirectory packages
  opp proxy -- nuget push MyPkg.1.0.0.nupkg
  opp proxy -- gem install mygem
  opp proxy -- bundle install    # a Gemfile's https://rubygems.org is served by the proxy
  opp proxy -- gem push mygem-1.0.0.gem
  opp proxy --port 8080          # serve until Ctrl-C, printing how to point each tool at it";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write opp.1 and one page per subcommand into.
    pub dir: PathBuf,
}

const LOGIN_ABOUT: &str = "\
Log in to a registry: check a username and password with it, then save them.

Without --username and --password-stdin, opp asks for both (the password is not echoed).
The registry is asked first (GET /v2/, with basic auth or a bearer token from its token
service); nothing is saved unless it accepts them.

Where the credentials are saved, the first that applies:
  1. the docker credential helper that $DOCKER_CONFIG/config.json (else
     ~/.docker/config.json) names for the registry (credHelpers, else credsStore)
  2. the OS keyring (Secret Service, macOS Keychain, Windows Credential Manager), when one
     answers within a few seconds
  3. config.json `auths`, only base64-encoded (not encrypted), with a warning, as docker does

Where credentials are read from, by every command, the first that has them:
  1. OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD
  2. the --registry-config file (OPP_REGISTRY_CONFIG)
  3. the credential helper config.json names for the registry
  4. the OS keyring
  5. config.json `auths`, then podman's auth.json
  6. none (anonymous)";

#[derive(Debug, Args)]
#[command(after_help = LOGIN_EXAMPLES, after_long_help = LOGIN_EXAMPLES)]
pub struct LoginArgs {
    /// The registry, HOST[:PORT] (default: the configured registry, --registry/OPP_REGISTRY).
    #[arg(value_name = "REGISTRY")]
    pub server: Option<String>,
    /// The username (asked for when not given).
    #[arg(long, short)]
    pub username: Option<String>,
    /// Read the password (or token) from standard input, for scripts and CI.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

const LOGIN_EXAMPLES: &str = "\
Examples:
  opp login ghcr.io
  echo \"$TOKEN\" | opp login ghcr.io --username me --password-stdin
  opp logout ghcr.io";

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry, HOST[:PORT] (default: the configured registry, --registry/OPP_REGISTRY).
    #[arg(value_name = "REGISTRY")]
    pub server: Option<String>,
}

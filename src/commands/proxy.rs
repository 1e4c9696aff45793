//! `opp proxy [-- COMMAND ARGS...]`: serve the configured store to native clients on
//! 127.0.0.1 (or `--bind`, HTTPS only), then either run COMMAND pointed at the proxy and exit
//! with its status, or print how to point each tool at it and serve until Ctrl-C or SIGTERM.
//! Either way a fresh secret guards the proxy: the command gets it in its configuration,
//! serve mode prints it once.
//!
//! Glue only: serving is `proxy::server`, the certificate `proxy::tls`, the child
//! `proxy::child`, and what each ecosystem serves and exports its `Frontend`. This file owns
//! the private temporary directory (`proxy::workdir`) and removes it on every way out but
//! SIGKILL; the next proxy removes what a killed one left.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::ProxyArgs;
use crate::config::{Location, Settings};
use crate::output::Output;
use crate::proxy::access::Access;
use crate::proxy::child::{self, ChildError, Signals};
use crate::proxy::listeners::{self, Served};
use crate::proxy::spool::{self, Spool};
use crate::proxy::tls::{self, Bundle};
use crate::proxy::workdir::{self, WorkDir};
use crate::proxy::{ChildContext, Frontend, ProxyState, Scheme, SharedState, frontends, server};
use crate::store::Store;
use crate::store::cache::CachingStore;

/// Hosts a child must reach directly, never through an HTTP proxy from its environment.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub async fn run(settings: &Settings, out: &Output, args: ProxyArgs) -> anyhow::Result<()> {
    // First, so that a signal while starting is held for the child (or ends the serving)
    // instead of killing opp and leaving the temporary directory behind.
    let mut signals = Signals::new()?;
    check_host(&args.module_host)?;
    let selected = select(frontends::all(), &args.ecosystems)?;
    let parent = std::env::temp_dir();
    for stale in workdir::reap(&parent) {
        tracing::debug!(
            "removed {}, left by a proxy that no longer runs",
            stale.display()
        );
    }
    let temp = WorkDir::create_in(&parent)?;
    let result = serve(settings, out, &args, &selected, temp.path(), &mut signals).await;
    let temp_path = temp.path().to_owned();
    if let Err(e) = temp.close() {
        out.warn(format!("cannot remove {}: {e}", temp_path.display()));
    }
    let err = match result {
        Ok(0) => return Ok(()),
        // Everything is shut down and removed: only the status is left to give.
        Ok(status) => std::process::exit(i32::from(status)),
        Err(err) => err,
    };
    match err
        .downcast_ref::<ChildError>()
        .map(ChildError::exit_status)
    {
        Some(status) if status != crate::error::exit::FAILURE => {
            eprintln!("{}", crate::error::render(&err, None, out.color()));
            std::process::exit(i32::from(status))
        }
        _ => Err(err),
    }
}

/// Starts the listeners, runs the command or waits for a signal, stops them. Returns the
/// status to exit with.
async fn serve(
    settings: &Settings,
    out: &Output,
    args: &ProxyArgs,
    frontends: &[Box<dyn Frontend>],
    temp: &Path,
    signals: &mut Signals,
) -> anyhow::Result<u8> {
    let target = super::open(&settings.location, settings)?;
    // --https wins over the global --plain-http, which otherwise means --http here.
    let force_http = args.http || (settings.plain_http_flag && !args.https);
    let bind_ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let served = listeners::choose(force_http, args.https, bind_ip)?;
    let access = Access::generate()?;
    let bound = listeners::bind(served, bind_ip, args.port)?;

    let (tls_config, bundle) = if served.serves(Scheme::Https) {
        crate::store::registry::install_crypto_provider();
        let bind_name = bind_ip.to_string();
        let mut names = LOOPBACK.to_vec();
        names.push(&args.module_host);
        if !bind_ip.is_unspecified() {
            names.push(&bind_name);
        }
        let identity = tls::generate(&names)?;
        let bundle = identity.write_bundle(temp)?;
        if bundle.system_roots.is_none() {
            out.warn(
                "no system CA bundle found (SSL_CERT_FILE, /etc/ssl/certs/ca-certificates.crt, \
                 ...): the command trusts only the proxy",
            );
        }
        (Some(identity.rustls_config().await?), Some(bundle))
    } else {
        (None, None)
    };

    let first = ProxyState {
        store: cached(target.store, &target.location, args.cache_ttl),
        mapper: target.mapper,
        out: Output::new(true),
        base_url: String::new(),
        pypi_upstream: args.upstream.clone(),
        module_host: args.module_host.clone(),
        max_upload: args.max_upload_size.as_u64(),
        access,
        spool: Spool::new(temp, spool::DEFAULT_LIMIT)
            .context("cannot create the proxy's blob spool")?,
    };
    let states = States(
        bound
            .iter()
            .map(|l| (l.scheme, Arc::new(first.at(l.base_url.clone()))))
            .collect(),
    );
    let ctx = ChildContext {
        temp_dir: temp.to_owned(),
        ca_bundle: bundle.as_ref().map(|b| b.bundle.clone()),
        command: args.command.clone(),
    };
    let schemes: Vec<Scheme> = frontends
        .iter()
        .map(|f| served.for_frontend(f.scheme(&ctx)))
        .collect();
    if served == Served::Only(Scheme::Http) {
        for f in frontends {
            if f.scheme(&ctx) == Scheme::Https
                && let Some(warning) = f.plain_http_warning(&ctx)
            {
                out.warn(warning);
            }
        }
    }
    let mut direct = vec![args.module_host.clone()];
    if !bind_ip.is_unspecified() {
        direct.push(bind_ip.to_string());
    }
    let common = common_env(
        &states,
        served,
        frontends,
        &schemes,
        temp,
        bundle.as_ref(),
        &direct,
    );
    let mut env = common.clone();
    for (frontend, scheme) in frontends.iter().zip(&schemes) {
        let vars = frontend
            .child_env(states.get(*scheme), &ctx)
            .await
            .with_context(|| format!("cannot prepare the {} clients' settings", frontend.name()))?;
        env.extend(vars);
    }

    let routes = server::routes(frontends);
    let mut running = Vec::new();
    for listener in bound {
        let state = states.get(listener.scheme).clone();
        let page = index_page(&state.base_url, frontends, &target.location);
        let app = server::app(routes.clone(), state, page);
        let tls = match listener.scheme {
            Scheme::Https => tls_config.clone(),
            Scheme::Http => None,
        };
        tracing::debug!(
            "proxy listening on {}, base URL {}",
            listener.addr,
            listener.base_url
        );
        running.push(server::start(listener.socket, app, tls)?);
    }

    let result = if args.command.is_empty() {
        println!(
            "{}",
            instructions(
                &states,
                frontends,
                &schemes,
                &ctx,
                &common,
                &target.location
            )
        );
        let received = signals.recv().await;
        tracing::debug!("{received:?}: stopping");
        Ok(0)
    } else {
        let command = frontends
            .iter()
            .find_map(|f| f.child_args(&ctx))
            .unwrap_or_else(|| args.command.clone());
        child::run(&command, &env, signals)
            .await
            .map_err(anyhow::Error::from)
    };
    for server in running {
        server.shutdown().await;
    }
    result
}

/// The state of each listener, by scheme.
struct States(Vec<(Scheme, SharedState)>);

impl States {
    /// The state of the listener serving `scheme`; the first one when there is no such
    /// listener (callers ask only for schemes [`Served::for_frontend`] gave).
    #[expect(
        clippy::expect_used,
        reason = "the proxy binds at least one listener before any state is asked for"
    )]
    fn get(&self, scheme: Scheme) -> &SharedState {
        let found = self.0.iter().find(|(s, _)| *s == scheme);
        &found
            .or(self.0.first())
            .expect("at least one listener is bound")
            .1
    }

    fn url(&self, scheme: Scheme) -> Option<&str> {
        self.0
            .iter()
            .find(|(s, _)| *s == scheme)
            .map(|(_, state)| state.base_url.as_str())
    }
}

/// A registry behind a [`CachingStore`], so that each request does not pay registry round
/// trips for what was just read; the local layout is read from disk as it is.
fn cached(store: Arc<dyn Store>, location: &Location, ttl: Duration) -> Arc<dyn Store> {
    match location {
        Location::Local(_) => store,
        Location::Registry { .. } => Arc::new(CachingStore::new(store, ttl)),
    }
}

/// `--module-host` goes into a certificate and into module source addresses: a plain
/// hostname only.
fn check_host(host: &str) -> anyhow::Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        anyhow::bail!("--module-host `{host}` is not a hostname (letters, digits, `-` and `.`)");
    }
    Ok(())
}

/// The frontends named by `--ecosystems`, in their own order; all of them when none is named.
fn select(
    all: Vec<Box<dyn Frontend>>,
    wanted: &[String],
) -> anyhow::Result<Vec<Box<dyn Frontend>>> {
    let wanted: Vec<&str> = wanted
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(unknown) = wanted.iter().find(|w| !all.iter().any(|f| f.name() == **w)) {
        let known: Vec<&str> = all.iter().map(|f| f.name()).collect();
        anyhow::bail!(
            "`{unknown}` is not an ecosystem the proxy serves (it serves: {})",
            if known.is_empty() {
                "none yet".to_owned()
            } else {
                known.join(", ")
            }
        );
    }
    Ok(all
        .into_iter()
        .filter(|f| wanted.is_empty() || wanted.contains(&f.name()))
        .collect())
}

/// Variables every child gets, whatever the frontends add: the URLs (`OPP_PROXY_URL` the
/// one every client accepts, `OPP_PROXY_HTTP_URL` / `OPP_PROXY_HTTPS_URL` each listener's,
/// `OPP_PROXY_<ECOSYSTEM>_URL` the one that ecosystem's clients are given), the secret, the
/// temporary directory, the CA bundle under the names common clients read, and loopback
/// (and `direct`: the module host, a bound address) off any proxy.
fn common_env(
    states: &States,
    served: Served,
    frontends: &[Box<dyn Frontend>],
    schemes: &[Scheme],
    temp: &Path,
    bundle: Option<&Bundle>,
    direct: &[String],
) -> Vec<(String, String)> {
    let main = states.get(served.main());
    let mut env = vec![
        ("OPP_PROXY_URL".to_owned(), main.base_url.clone()),
        (
            "OPP_PROXY_TOKEN".to_owned(),
            main.access.secret().to_owned(),
        ),
    ];
    for (var, scheme) in [
        ("OPP_PROXY_HTTP_URL", Scheme::Http),
        ("OPP_PROXY_HTTPS_URL", Scheme::Https),
    ] {
        if let Some(url) = states.url(scheme) {
            env.push((var.to_owned(), url.to_owned()));
        }
    }
    for (f, scheme) in frontends.iter().zip(schemes) {
        let base = &states.get(*scheme).base_url;
        env.push((url_var(f.name()), frontend_url(base, f.name())));
    }
    env.push(("OPP_PROXY_TMP".to_owned(), temp.display().to_string()));
    if let Some(b) = bundle {
        let bundle_path = b.bundle.display().to_string();
        env.push((
            "OPP_PROXY_CA_CERT".to_owned(),
            b.ca_cert.display().to_string(),
        ));
        for var in [
            "OPP_PROXY_CA_BUNDLE",
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
        ] {
            env.push((var.to_owned(), bundle_path.clone()));
        }
    }
    let mut hosts: Vec<&str> = LOOPBACK.to_vec();
    for host in direct {
        if !hosts.contains(&host.as_str()) {
            hosts.push(host);
        }
    }
    for var in ["NO_PROXY", "no_proxy"] {
        let mut value = hosts.join(",");
        if let Some(outer) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
            value.push(',');
            value.push_str(&outer);
        }
        env.push((var.to_owned(), value));
    }
    env
}

/// `OPP_PROXY_PYPI_URL` for `pypi`, `OPP_PROXY_TERRAFORM_URL` for `terraform`.
fn url_var(name: &str) -> String {
    format!(
        "OPP_PROXY_{}_URL",
        name.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

fn frontend_url(base_url: &str, name: &str) -> String {
    format!("{base_url}/{name}/")
}

fn describe(location: &Location) -> String {
    match location {
        Location::Local(dir) => format!("the local store {}", dir.display()),
        Location::Registry { host, prefix, .. } if prefix.is_empty() => {
            format!("the registry {host}")
        }
        Location::Registry { host, prefix, .. } => format!("the registry {host}/{prefix}"),
    }
}

/// What `GET /` answers: what is served, and where.
fn index_page(base_url: &str, frontends: &[Box<dyn Frontend>], location: &Location) -> String {
    let mut page = format!(
        "opp proxy {}: serving {}\n\n",
        env!("CARGO_PKG_VERSION"),
        describe(location)
    );
    if frontends.is_empty() {
        page.push_str("no ecosystems are served\n");
    }
    for f in frontends {
        page.push_str(&format!(
            "{:<12}{}\n",
            f.name(),
            frontend_url(base_url, f.name())
        ));
    }
    page
}

/// What `opp proxy` without a command prints: where each listener is and whom it serves,
/// the common variables as shell exports, then each frontend's own snippet (with the URL of
/// the listener its clients are given).
fn instructions(
    states: &States,
    frontends: &[Box<dyn Frontend>],
    schemes: &[Scheme],
    ctx: &ChildContext,
    common: &[(String, String)],
    location: &Location,
) -> String {
    let mut text = format!(
        "opp proxy: serving {} (Ctrl-C to stop)\n",
        describe(location)
    );
    for (scheme, state) in &states.0 {
        let clients: Vec<&str> = frontends
            .iter()
            .zip(schemes)
            .filter(|(_, s)| *s == scheme)
            .map(|(f, _)| f.name())
            .collect();
        let what = match scheme {
            Scheme::Http => "plain HTTP, loopback only",
            Scheme::Https => "HTTPS (trust OPP_PROXY_CA_BUNDLE), for any client",
        };
        let clients = if clients.is_empty() {
            String::new()
        } else {
            format!("; given to the {} clients", clients.join(", "))
        };
        text.push_str(&format!("  {:<26} {what}{clients}\n", state.base_url));
    }
    text.push_str(
        "\nEvery request needs the secret OPP_PROXY_TOKEN (as a Basic auth password with any\n\
         user name, a Bearer token, or an API key: nuget's -ApiKey, gem's GEM_HOST_API_KEY);\n\
         keep it to yourself.\n\n\
         Point any tool at it from a POSIX shell:\n",
    );
    for (key, value) in common {
        text.push_str(&format!("  export {key}={}\n", sh_quote(value)));
    }
    for (f, scheme) in frontends.iter().zip(schemes) {
        text.push('\n');
        text.push_str(f.instructions(states.get(*scheme), ctx).trim_end());
        text.push('\n');
    }
    text
}

/// `value` as one POSIX shell word.
fn sh_quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-:,=+@%".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_variables_are_named_after_the_frontend() {
        assert_eq!(url_var("pypi"), "OPP_PROXY_PYPI_URL");
        assert_eq!(url_var("terraform"), "OPP_PROXY_TERRAFORM_URL");
        assert_eq!(
            frontend_url("https://localhost:1", "pypi"),
            "https://localhost:1/pypi/"
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            sh_quote("/tmp/opp-proxy.x/ca.pem"),
            "/tmp/opp-proxy.x/ca.pem"
        );
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn module_hosts_are_plain_hostnames() {
        assert!(check_host("opp.localhost").is_ok());
        assert!(check_host("localhost").is_ok());
        for bad in ["bad host", "", "a..b", "-a.b", "a/b", "h\u{e9}.x"] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unknown_ecosystem_is_refused() {
        let err = select(Vec::new(), &["nuget".to_owned()])
            .err()
            .expect("unknown ecosystem");
        assert!(err.to_string().contains("`nuget`"), "{err}");
        assert!(select(Vec::new(), &[]).expect("none asked").is_empty());
    }
}

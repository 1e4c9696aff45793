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
use crate::proxy::spool::{self, Spool};
use crate::proxy::tls::{self, Bundle};
use crate::proxy::workdir::{self, WorkDir};
use crate::proxy::{ChildContext, Frontend, ProxyState, frontends, server};
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

/// Starts the server, runs the command or waits for a signal, stops the server. Returns the
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
    let https = !(args.http || settings.plain_http_flag);
    let bind_ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    check_bind(bind_ip, https)?;
    let access = Access::generate()?;
    let listener = server::bind(bind_ip, args.port)?;
    let addr = listener
        .local_addr()
        .context("cannot read the proxy's address")?;
    let base_url = server::base_url(addr, https);

    let (tls_config, bundle) = if https {
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

    let state = Arc::new(ProxyState {
        store: cached(target.store, &target.location, args.cache_ttl),
        mapper: target.mapper,
        out: Output::new(true),
        base_url,
        pypi_upstream: args.upstream.clone(),
        module_host: args.module_host.clone(),
        max_upload: args.max_upload_size.as_u64(),
        access,
        spool: Spool::new(temp, spool::DEFAULT_LIMIT)
            .context("cannot create the proxy's blob spool")?,
    });
    let ctx = ChildContext {
        temp_dir: temp.to_owned(),
        ca_bundle: bundle.as_ref().map(|b| b.bundle.clone()),
        command: args.command.clone(),
    };
    let mut direct = vec![args.module_host.clone()];
    if !bind_ip.is_unspecified() {
        direct.push(bind_ip.to_string());
    }
    let common = common_env(&state, frontends, temp, bundle.as_ref(), &direct);
    let mut env = common.clone();
    for frontend in frontends {
        let vars = frontend
            .child_env(&state, &ctx)
            .await
            .with_context(|| format!("cannot prepare the {} clients' settings", frontend.name()))?;
        env.extend(vars);
    }

    let page = index_page(&state.base_url, frontends, &target.location);
    let app = server::router(state.clone(), frontends, page);
    let running = server::start(listener, app, tls_config)?;
    tracing::debug!("proxy listening on {addr}, base URL {}", state.base_url);

    let result = if args.command.is_empty() {
        println!(
            "{}",
            instructions(&state, frontends, &ctx, &common, &target.location)
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
    running.shutdown().await;
    result
}

/// A registry behind a [`CachingStore`], so that each request does not pay registry round
/// trips for what was just read; the local layout is read from disk as it is.
fn cached(store: Arc<dyn Store>, location: &Location, ttl: Duration) -> Arc<dyn Store> {
    match location {
        Location::Local(_) => store,
        Location::Registry { .. } => Arc::new(CachingStore::new(store, ttl)),
    }
}

/// Anything but loopback is reachable by others: only over HTTPS, so that the secret does
/// not cross the network in clear.
fn check_bind(ip: IpAddr, https: bool) -> anyhow::Result<()> {
    if !https && !ip.is_loopback() {
        anyhow::bail!(
            "--bind {ip} needs HTTPS: the proxy's secret would cross the network in clear \
             (drop --http / --plain-http, or bind a loopback address)"
        );
    }
    Ok(())
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

/// Variables every child gets, whatever the frontends add: the URLs, the secret, the
/// temporary directory, the CA bundle under the names common clients read, and loopback (and
/// `direct`: the module host, a bound address) off any proxy.
fn common_env(
    state: &ProxyState,
    frontends: &[Box<dyn Frontend>],
    temp: &Path,
    bundle: Option<&Bundle>,
    direct: &[String],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("OPP_PROXY_URL".to_owned(), state.base_url.clone()),
        (
            "OPP_PROXY_TOKEN".to_owned(),
            state.access.secret().to_owned(),
        ),
    ];
    for f in frontends {
        env.push((url_var(f.name()), frontend_url(&state.base_url, f.name())));
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

/// What `opp proxy` without a command prints: the common variables as shell exports, then
/// each frontend's own snippet.
fn instructions(
    state: &ProxyState,
    frontends: &[Box<dyn Frontend>],
    ctx: &ChildContext,
    common: &[(String, String)],
    location: &Location,
) -> String {
    let mut text = format!(
        "opp proxy: serving {} on {} (Ctrl-C to stop)\n\n\
         Every request needs the secret OPP_PROXY_TOKEN (as a Basic auth password with any\n\
         user name, a Bearer token, or an API key: nuget's -ApiKey, gem's GEM_HOST_API_KEY);\n\
         keep it to yourself.\n\n\
         Point any tool at it from a POSIX shell:\n",
        describe(location),
        state.base_url
    );
    for (key, value) in common {
        text.push_str(&format!("  export {key}={}\n", sh_quote(value)));
    }
    for f in frontends {
        text.push('\n');
        text.push_str(f.instructions(state, ctx).trim_end());
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
    fn only_loopback_may_serve_plain_http() {
        let ip = |text: &str| text.parse::<IpAddr>().expect("address");
        assert!(check_bind(ip("127.0.0.1"), false).is_ok());
        assert!(check_bind(ip("::1"), false).is_ok());
        assert!(check_bind(ip("0.0.0.0"), true).is_ok());
        let err = check_bind(ip("0.0.0.0"), false).expect_err("plain HTTP on every address");
        assert!(err.to_string().contains("needs HTTPS"), "{err}");
        assert!(check_bind(ip("192.0.2.7"), false).is_err());
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

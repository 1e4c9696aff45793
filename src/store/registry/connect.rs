//! Setting up the connections to one registry: checking the host, choosing HTTP for
//! loopback hosts, and building the HTTP clients (one for requests and token servers, one
//! without a read timeout for uploads). It sends no request itself.

use std::net::IpAddr;
use std::time::Duration;

use super::{USER_AGENT, error};
use crate::store::{Result, StoreError};

/// An HTTP client for `host`; `read` bounds every wait for the registry (none for uploads,
/// which [`super::upload`] watches for progress instead). Connections are kept and reused
/// for every request of the process.
pub(super) fn http_client(
    host: &str,
    connect: Duration,
    read: Option<Duration>,
) -> Result<reqwest::Client, StoreError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect);
    if let Some(read) = read {
        builder = builder.read_timeout(read);
    }
    builder.build().map_err(|e| StoreError::Registry {
        location: host.to_owned(),
        message: format!("cannot set up an HTTP client: {}", error::chain(&e)),
    })
}

/// Refuses what is not a bare `host[:port]` (a scheme, a path, spaces).
pub(super) fn check_host(host: &str) -> Result<()> {
    let bad = host.is_empty()
        || host.contains("://")
        || host.contains('/')
        || host.chars().any(char::is_whitespace);
    if bad {
        return Err(StoreError::Registry {
            location: host.to_owned(),
            message: "not a registry host: expected host[:port], such as ghcr.io or \
                      127.0.0.1:5000"
                .to_owned(),
        });
    }
    Ok(())
}

/// Whether `host` (`host`, `host:port`, `[v6]:port`) names this machine: loopback registries
/// are spoken to over plain HTTP.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if host.parse::<IpAddr>().is_ok() {
        host
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost",
            "LOCALHOST:8080",
            "[::1]:5000",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[fe80::1]:5000",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn hosts_with_a_scheme_or_path_are_refused() {
        for h in ["", "https://ghcr.io", "ghcr.io/acme", "a b"] {
            assert!(check_host(h).is_err(), "{h}");
        }
        assert!(check_host("ghcr.io").is_ok());
    }
}

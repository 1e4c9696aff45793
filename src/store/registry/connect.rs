//! Setting up the connections to one registry: checking the host, choosing HTTP for
//! loopback hosts, and building the HTTP clients (oci-client's, and the plain one that asks
//! token servers). It sends no request itself.

use std::net::IpAddr;
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};

use super::{Timeouts, USER_AGENT, error};
use crate::store::{Result, StoreError};

/// An oci-client for `host` over HTTP or HTTPS; `read` bounds every wait for the registry.
pub(super) fn client(
    host: &str,
    http: bool,
    connect: Duration,
    read: Option<Duration>,
) -> Result<Client, StoreError> {
    let config = ClientConfig {
        protocol: if http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        use_monolithic_push: true,
        connect_timeout: Some(connect),
        read_timeout: read,
        platform_resolver: None,
        user_agent: USER_AGENT,
        ..ClientConfig::default()
    };
    Client::try_from(config).map_err(|e| StoreError::Registry {
        location: host.to_owned(),
        message: format!("cannot set up an HTTP client: {}", error::chain(&e)),
    })
}

/// The plain reqwest client that asks token servers for bearer tokens.
pub(super) fn token_client(host: &str, timeouts: Timeouts) -> Result<reqwest::Client, StoreError> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.idle)
        .build()
        .map_err(|e| StoreError::Registry {
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

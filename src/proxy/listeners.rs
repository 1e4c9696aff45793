//! Which listeners `opp proxy` opens, and which one each frontend's clients are given.
//!
//! By default two, both on 127.0.0.1 with ports of the system's choosing: plain HTTP for the
//! clients that accept it on loopback (pip, uv, twine, gem, bundler, nuget.exe: no TLS
//! handshake per connection, no CA bundle to trust) and HTTPS for those that refuse it
//! (terraform's provider mirror, dotnet 9+). `--http` or `--https` serve everything on one
//! scheme; an address other than loopback (`--bind`) is served over HTTPS only, so that the
//! proxy's secret never crosses the network in clear. The choice is pure ([`choose`]);
//! [`bind`] opens the sockets, `server.rs` serves on them.

use std::net::{IpAddr, SocketAddr};

use super::Scheme;
use super::server::{self, ServerError};

/// The schemes one run of the proxy serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// A plain HTTP and an HTTPS listener; each frontend's clients get the scheme it asks
    /// for ([`super::Frontend::scheme`]).
    Both,
    /// One listener, every client on it.
    Only(Scheme),
}

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error(
        "--bind {0} needs HTTPS: the proxy's secret would cross the network in clear (drop \
         --http / --plain-http, or bind a loopback address)"
    )]
    PlainHttpOffLoopback(IpAddr),
}

/// What the flags ask for: `force_http` (`--http`, or the global `--plain-http` unless
/// `--https` is given), `force_https` (`--https`), on address `ip`.
pub fn choose(force_http: bool, force_https: bool, ip: IpAddr) -> Result<Served, ListenerError> {
    if force_https {
        return Ok(Served::Only(Scheme::Https));
    }
    if !ip.is_loopback() {
        return if force_http {
            Err(ListenerError::PlainHttpOffLoopback(ip))
        } else {
            Ok(Served::Only(Scheme::Https))
        };
    }
    Ok(if force_http {
        Served::Only(Scheme::Http)
    } else {
        Served::Both
    })
}

impl Served {
    /// The schemes served, plain HTTP first.
    pub fn schemes(self) -> Vec<Scheme> {
        match self {
            Served::Both => vec![Scheme::Http, Scheme::Https],
            Served::Only(scheme) => vec![scheme],
        }
    }

    pub fn serves(self, scheme: Scheme) -> bool {
        self.schemes().contains(&scheme)
    }

    /// The listener a frontend that asks for `wanted` is given.
    pub fn for_frontend(self, wanted: Scheme) -> Scheme {
        match self {
            Served::Both => wanted,
            Served::Only(scheme) => scheme,
        }
    }

    /// What `OPP_PROXY_URL` names: HTTPS when it is served (every client accepts it, given
    /// the CA bundle), else plain HTTP.
    pub fn main(self) -> Scheme {
        if self.serves(Scheme::Https) {
            Scheme::Https
        } else {
            Scheme::Http
        }
    }
}

/// One bound socket, not yet served.
pub struct Listener {
    pub scheme: Scheme,
    pub socket: std::net::TcpListener,
    pub addr: SocketAddr,
    /// What clients are given, without a trailing slash ([`server::base_url`]).
    pub base_url: String,
}

/// Binds a socket per served scheme on `ip`. `port` (`--port`; `0`: a free one) goes to the
/// HTTPS listener when both are served (the scheme every client accepts), and the plain HTTP
/// one takes a free port.
pub fn bind(served: Served, ip: IpAddr, port: u16) -> Result<Vec<Listener>, ServerError> {
    served
        .schemes()
        .into_iter()
        .map(|scheme| {
            let port = match (served, scheme) {
                (Served::Both, Scheme::Http) => 0,
                _ => port,
            };
            let socket = server::bind(ip, port)?;
            let addr = socket.local_addr().map_err(|source| ServerError::Bind {
                addr: SocketAddr::from((ip, port)),
                source,
            })?;
            let base_url = server::base_url(addr, scheme == Scheme::Https);
            Ok(Listener {
                scheme,
                socket,
                addr,
                base_url,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn each_flag_and_address_gives_its_listeners() {
        use Scheme::{Http, Https};
        let cases = [
            // (force_http, force_https, address, expected)
            (false, false, "127.0.0.1", Some(Served::Both)),
            (false, false, "::1", Some(Served::Both)),
            (true, false, "127.0.0.1", Some(Served::Only(Http))),
            (false, true, "127.0.0.1", Some(Served::Only(Https))),
            (false, false, "0.0.0.0", Some(Served::Only(Https))),
            (false, false, "192.0.2.7", Some(Served::Only(Https))),
            (false, true, "192.0.2.7", Some(Served::Only(Https))),
            (true, false, "0.0.0.0", None),
            (true, false, "192.0.2.7", None),
        ];
        let mut failed = Vec::new();
        for (http, https, addr, expected) in cases {
            let got = choose(http, https, ip(addr)).ok();
            if got != expected {
                failed.push(format!(
                    "http={http} https={https} {addr}: {got:?}, not {expected:?}"
                ));
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn plain_http_off_loopback_is_refused_naming_the_address() {
        let err = choose(true, false, ip("0.0.0.0")).expect_err("plain HTTP on every address");
        assert!(
            err.to_string().starts_with("--bind 0.0.0.0 needs HTTPS"),
            "{err}"
        );
    }

    #[test]
    fn frontends_get_their_scheme_only_when_both_are_served() {
        use Scheme::{Http, Https};
        assert_eq!(Served::Both.for_frontend(Http), Http);
        assert_eq!(Served::Both.for_frontend(Https), Https);
        assert_eq!(Served::Only(Http).for_frontend(Https), Http);
        assert_eq!(Served::Only(Https).for_frontend(Http), Https);
        assert_eq!(Served::Both.main(), Https);
        assert_eq!(Served::Only(Http).main(), Http);
    }

    #[tokio::test]
    async fn both_listeners_bind_loopback_and_the_port_goes_to_https() {
        let held = server::bind(ip("127.0.0.1"), 0).expect("a free port");
        let port = held.local_addr().expect("address").port();
        drop(held);
        let bound = bind(Served::Both, ip("127.0.0.1"), port).expect("bind both");
        let urls: Vec<(Scheme, &str)> = bound
            .iter()
            .map(|l| (l.scheme, l.base_url.as_str()))
            .collect();
        assert_eq!(urls.len(), 2);
        assert_eq!(
            urls[1],
            (Scheme::Https, &*format!("https://localhost:{port}"))
        );
        assert!(urls[0].1.starts_with("http://127.0.0.1:"), "{urls:?}");
        assert_ne!(bound[0].addr.port(), port);
    }
}

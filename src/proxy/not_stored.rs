//! A package a client asked for that the store does not have. The PyPI, NuGet and RubyGems
//! frontends answer 404 with a reason naming the `opp mirror` command that brings it, and,
//! because pip, uv, nuget.exe, dotnet and gem print their own "not found" line and never the
//! server's body, the proxy also says it on its own stderr as a warning, once per package and
//! run ([`Notices::not_stored`]). Bundler never asks for a gem its `/versions` list lacks, so the
//! proxy cannot tell it (docs/protocols.md).

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::ProxyState;
use crate::release::Ecosystem;

/// The packages already told about in this run.
#[derive(Default)]
pub struct Notices {
    told: Mutex<BTreeSet<(Ecosystem, String)>>,
}

impl Notices {
    /// The reason a frontend answers for `name`, which the store does not have; warned on the
    /// proxy's stderr the first time.
    pub fn not_stored(&self, state: &ProxyState, eco: Ecosystem, name: &str) -> String {
        let text = reason(state, eco, name);
        let first = self
            .told
            .lock()
            .map(|mut told| told.insert((eco, name.to_ascii_lowercase())))
            .unwrap_or(false);
        if first {
            state.out.warn(format!("{eco} proxy: {text}"));
        }
        text
    }
}

/// `no package NAME in LOCATION; `opp mirror ECO NAME` brings it from ...`.
pub fn reason(state: &ProxyState, eco: Ecosystem, name: &str) -> String {
    let location = match state.mapper.repository(eco, name) {
        Ok(repository) => format!(" in {}", state.store.location(&repository)),
        Err(_) => String::new(),
    };
    match eco.contract().mirror_from {
        Some(from) => {
            format!("no package {name}{location}; `opp mirror {eco} {name}` brings it from {from}")
        }
        None => format!("no package {name}{location}"),
    }
}

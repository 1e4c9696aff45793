//! The RubyGems half of `opp mirror`: read a gem source's compact index (`/info/NAME`,
//! `info`, `upstream`), close over runtime dependencies per target platform and Ruby version
//! (`platform`, `resolve`), with the source's credentials where Bundler keeps them
//! (`bundler`), or take the exact gems a `Gemfile.lock` pins (`lock`), and hand
//! the files to the shared pipeline through `opp push rubygems`'s path (`sink`). Every file
//! is checked against the sha256 its `/info` line carries (and the lock's `CHECKSUMS`).

pub mod bundler;
pub mod info;
pub mod lock;
pub mod platform;
pub mod resolve;
pub mod sink;
pub mod upstream;

use std::collections::BTreeMap;

use futures_util::{StreamExt, stream};

use super::PlanFile;
use crate::ecosystem::rubygems::{Requirement, parse_requirement};
use crate::mapper::Mapper;
use crate::release::Ecosystem;
use resolve::{Known, Options, Problem, Request};
use upstream::Upstream;

/// Calls of the closure (each after a batch of fetches) before giving up.
const MAX_CALLS: usize = 200;
/// `/info` files fetched at once.
const FETCHES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum RubygemsMirrorError {
    #[error("`{0}` is not a gem source URL")]
    BadUpstream(String),
    #[error("invalid gem request `{spec}`: {reason}")]
    BadSpec { spec: String, reason: String },
    #[error("--ruby-version `{0}` is not X.Y or X.Y.Z (e.g. 3.3)")]
    BadRuby(String),
    #[error("{path} is not a Gemfile.lock opp can read: {reason}")]
    BadLock { path: String, reason: String },
    #[error("the closure did not settle after {0} rounds of requests to the gem source")]
    Unsettled(usize),
}

/// What to do about a source or a request `opp mirror rubygems` cannot use.
impl crate::error::Diagnostic for RubygemsMirrorError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            RubygemsMirrorError::BadUpstream(_) => {
                "give an http:// or https:// URL, e.g. https://rubygems.org/"
            }
            RubygemsMirrorError::BadSpec { .. } => {
                "write NAME or NAME@REQUIREMENT (e.g. rails@'~> 7.1')"
            }
            RubygemsMirrorError::BadRuby(_)
            | RubygemsMirrorError::BadLock { .. }
            | RubygemsMirrorError::Unsettled(_) => return Vec::new(),
        };
        vec![hint.to_owned()]
    }
}

/// `NAME` or `NAME@REQUIREMENT` (`rails@~> 7.1`, `rack@>= 2, < 4`, `rake@13.0.6`).
pub fn request(spec: &str) -> Result<Request, RubygemsMirrorError> {
    let bad = |reason: String| RubygemsMirrorError::BadSpec {
        spec: spec.to_owned(),
        reason,
    };
    let (name, requirement) = match spec.split_once('@') {
        Some((name, req)) => (
            name.trim(),
            parse_requirement(req).map_err(|e| bad(e.to_string()))?,
        ),
        None => (spec.trim(), Requirement::default()),
    };
    Mapper::normalize_package(Ecosystem::Rubygems, name).map_err(|e| bad(e.to_string()))?;
    Ok(Request {
        name: name.to_owned(),
        requirement,
        origin: "command line".to_owned(),
    })
}

/// Checks `--ruby-version`.
pub fn ruby_version(text: &str) -> Result<String, RubygemsMirrorError> {
    let parts: Vec<&str> = text.split('.').collect();
    if (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Ok(text.to_owned())
    } else {
        Err(RubygemsMirrorError::BadRuby(text.to_owned()))
    }
}

/// The files to mirror for `requests`, and the problems found on the way.
pub async fn plan(
    upstream: &Upstream,
    requests: &[Request],
    options: &Options,
) -> Result<(Vec<PlanFile>, Vec<Problem>), RubygemsMirrorError> {
    let mut known = Known::new();
    let mut problems = Vec::new();
    for _ in 0..MAX_CALLS {
        let needs = match resolve::resolve(requests, options, &known) {
            Ok(plan) => {
                problems.extend(plan.problems);
                let mut files = Vec::new();
                for p in plan.files {
                    let file_name = p.line.file_name(&p.name);
                    match planned(
                        upstream,
                        &p.name,
                        &p.line.version,
                        &file_name,
                        p.line.sha256,
                    ) {
                        Ok(f) => files.push(f),
                        Err(message) => problems.push(Problem {
                            fatal: true,
                            message,
                        }),
                    }
                }
                return Ok((files, problems));
            }
            Err(needs) => needs,
        };
        let fetched: Vec<_> = stream::iter(needs)
            .map(|name| async move {
                let info = upstream.info(&name).await;
                (name, info)
            })
            .buffer_unordered(FETCHES)
            .collect()
            .await;
        for (name, info) in fetched {
            tracing::debug!("read the /info of {name}");
            let lines = info.map(|(lines, invalid)| {
                problems.extend(invalid.into_iter().map(|why| Problem {
                    fatal: false,
                    message: format!("{name}: skipped an /info line it cannot read: {why}"),
                }));
                lines
            });
            known.insert(name, lines);
        }
    }
    Err(RubygemsMirrorError::Unsettled(MAX_CALLS))
}

/// One plan file; refused when the source states no checksum for it.
fn planned(
    upstream: &Upstream,
    name: &str,
    version: &str,
    file_name: &str,
    sha256: Option<String>,
) -> Result<PlanFile, String> {
    let Some(sha256) = sha256 else {
        return Err(format!(
            "{file_name}: the /info line of {} gives no checksum, so it cannot be verified; not \
             mirrored",
            upstream.describe()
        ));
    };
    Ok(PlanFile {
        package: name.to_owned(),
        version: version.to_owned(),
        file_name: file_name.to_owned(),
        url: upstream.gem_url(file_name)?,
        sha256: Some(sha256),
        allowed: Vec::new(),
        size: None,
        local: None,
    })
}

/// The files a lock pins, each checked against its source's `/info` line (and the lock's
/// CHECKSUMS) before anything is downloaded. `upstream` replaces every `remote:` when given.
pub async fn plan_lock(
    client: &reqwest::Client,
    locked: &[lock::LockedGem],
    upstream: Option<&str>,
    credentials: &upstream::Credentials,
) -> (Vec<PlanFile>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut sources: BTreeMap<String, Upstream> = BTreeMap::new();
    for gem in locked {
        let Some(url) = upstream.or(gem.remote.as_deref()) else {
            continue;
        };
        if !sources.contains_key(url) {
            match Upstream::new(client.clone(), url, credentials) {
                Ok(u) => {
                    sources.insert(url.to_owned(), u);
                }
                Err(e) => problems.push(Problem {
                    fatal: true,
                    message: e.to_string(),
                }),
            }
        }
    }
    let mut wanted: Vec<(String, String)> = locked
        .iter()
        .filter_map(|g| {
            let url = upstream.or(g.remote.as_deref())?;
            Some((url.to_owned(), g.name.clone()))
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    let sources_ref = &sources;
    let infos: BTreeMap<(String, String), Result<Vec<info::InfoLine>, String>> =
        stream::iter(wanted)
            .map(|(url, name)| async move {
                let info = match sources_ref.get(&url) {
                    Some(source) => source.info(&name).await.map(|(lines, _)| lines),
                    None => Err(format!("`{url}` is not a gem source URL")),
                };
                ((url, name), info)
            })
            .buffer_unordered(FETCHES)
            .collect()
            .await;
    let mut files = Vec::new();
    for gem in locked {
        let file_name = gem.file_name();
        let fatal = |message: String| Problem {
            fatal: true,
            message,
        };
        let Some(url) = upstream.or(gem.remote.as_deref()) else {
            problems.push(fatal(format!(
                "{file_name}: the lock names no remote for it; give --upstream"
            )));
            continue;
        };
        let (Some(source), Some(info)) = (
            sources.get(url),
            infos.get(&(url.to_owned(), gem.name.clone())),
        ) else {
            continue;
        };
        let lines = match info {
            Ok(lines) => lines,
            Err(why) => {
                problems.push(fatal(format!("{file_name}: {why}")));
                continue;
            }
        };
        let Some(line) = lines
            .iter()
            .find(|l| l.version == gem.version && l.platform == gem.platform)
        else {
            problems.push(fatal(format!(
                "{file_name}: the lock pins it, but {}info/{} does not list it",
                source.describe(),
                gem.name
            )));
            continue;
        };
        if let (Some(want), Some(have)) = (&gem.sha256, &line.sha256)
            && want != have
        {
            problems.push(fatal(format!(
                "{file_name}: the lock's CHECKSUMS say sha256 {want}, the source's /info says \
                 {have}; nothing stored"
            )));
            continue;
        }
        match planned(
            source,
            &gem.name,
            &gem.version,
            &file_name,
            line.sha256.clone().or(gem.sha256.clone()),
        ) {
            Ok(mut f) => {
                f.allowed = gem.sha256.iter().cloned().collect();
                files.push(f);
            }
            Err(message) => problems.push(fatal(message)),
        }
    }
    (files, problems)
}

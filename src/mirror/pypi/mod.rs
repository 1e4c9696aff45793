//! The PyPI half of `opp mirror`: read a simple index (PEP 503/691, `index`, `upstream`), the
//! dependencies of each chosen version (PEP 658 metadata or the wheel's METADATA, `metadata`),
//! close over them for every target environment (`environment`, `resolve`), and hand the files
//! to the shared pipeline through `opp push pypi`'s path (`sink`). Requested packages come from
//! the command line (`spec`) and requirements files (`requirements`).

mod choose;
pub mod environment;
pub mod index;
pub mod lock;
pub mod metadata;
pub mod requirements;
pub mod resolve;
pub mod sink;
pub mod spec;
pub mod streaming;
pub mod upstream;

use futures_util::{StreamExt, stream};

use super::{MirrorError, PlanFile};
use resolve::{Known, Need, Options, Problem, Request};
use upstream::Upstream;

/// Calls of the closure (each after a batch of fetches) before giving up.
const MAX_CALLS: usize = 200;
/// Pages and metadata files fetched at once.
const FETCHES: usize = 8;

/// Core metadata the store already holds (a wheel's METADATA, stored beside it), read before
/// asking the upstream: a second run needs no download to know the dependencies even where
/// the index serves no PEP 658 metadata.
#[async_trait::async_trait]
pub trait StoredMetadata: Sync {
    async fn metadata(&self, name: &str, version: &str) -> Option<Vec<u8>>;
}

/// The files to mirror for `requests`, the problems found on the way, and the files the index
/// describes fully enough to stream them into the store.
pub async fn plan(
    upstream: &Upstream,
    stored: &dyn StoredMetadata,
    requests: &[Request],
    options: &Options,
) -> Result<(Vec<PlanFile>, Vec<Problem>, streaming::Streamable), MirrorError> {
    let mut known = Known::default();
    for _ in 0..MAX_CALLS {
        let needs = match resolve::resolve(requests, options, &known) {
            Ok(plan) => {
                let mut streamable = streaming::Streamable::default();
                for p in &plan.files {
                    streamable.insert(&p.file);
                }
                let files = plan
                    .files
                    .into_iter()
                    .map(|p| PlanFile {
                        local: upstream.downloaded(&p.file.url),
                        package: p.package,
                        version: p.version.to_string(),
                        file_name: p.file.file_name,
                        url: p.file.url,
                        sha256: p.file.sha256,
                        allowed: p.hashes,
                        size: p.file.size,
                    })
                    .collect();
                return Ok((files, plan.problems, streamable));
            }
            Err(needs) => needs,
        };
        let known_ref = &known;
        let fetched: Vec<Fetched> = stream::iter(needs)
            .map(|need| async move {
                match need {
                    Need::Page(name) => {
                        let page = upstream.page(&name).await;
                        Fetched::Page(name, page)
                    }
                    Need::Metadata(name, version) => {
                        if let Some(bytes) = stored.metadata(&name, &version.to_string()).await {
                            tracing::debug!(
                                "read the dependencies of {name} {version} from the store"
                            );
                            let deps = Ok(metadata::parse(&bytes));
                            return Fetched::Metadata(name, version, deps);
                        }
                        let files = match known_ref.pages.get(&name) {
                            Some(Ok(files)) => files.as_slice(),
                            _ => &[],
                        };
                        let deps = upstream.dependencies(&name, &version, files).await;
                        Fetched::Metadata(name, version, deps)
                    }
                }
            })
            .buffer_unordered(FETCHES)
            .collect()
            .await;
        for f in fetched {
            match f {
                Fetched::Page(name, page) => {
                    tracing::debug!("read the index page of {name}");
                    known.pages.insert(name, page);
                }
                Fetched::Metadata(name, version, deps) => {
                    known.metadata.insert((name, version), deps);
                }
            }
        }
    }
    Err(MirrorError::Unsettled(MAX_CALLS))
}

/// The answer to one [`Need`].
enum Fetched {
    Page(String, Result<Vec<index::IndexFile>, String>),
    Metadata(
        String,
        pep440_rs::Version,
        Result<metadata::Dependencies, String>,
    ),
}

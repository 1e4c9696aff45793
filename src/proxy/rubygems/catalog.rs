//! The gems the store holds, as the RubyGems routes need them: per gem, every stored `.gem`
//! (one per version and platform) with its info, oldest version first. Versions are read
//! concurrently, and each version's entries are kept by the digest of its index
//! (`proxy::releases`), so an index served once costs one tag lookup per version afterwards.
//!
//! Reading releases and gem infos is `packages::rubygems`; what the entries turn into on the
//! wire is `compact.rs` and `marshal.rs`.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt, stream};

use super::compact::IndexEntry;
use super::error::Failure;
use super::marshal::{Dependency, SpecFields};
use crate::digest::Digest;
use crate::ecosystem::rubygems::{DependencyKind, GemInfo};
use crate::packages::PackageError;
use crate::proxy::ProxyState;
use crate::proxy::releases::ReleaseCache;
use crate::release::Ecosystem;

const ECO: Ecosystem = Ecosystem::Rubygems;
/// How many versions (or gems) are read at once.
const CONCURRENCY: usize = 8;
/// Cached versions before the cache starts over.
const CACHE_ENTRIES: usize = 4096;
/// RubyGems' date for a gemspec without a readable one (`Gem::DEFAULT_SOURCE_DATE_EPOCH`).
const FALLBACK_DATE: (i32, u32, u32) = (1980, 1, 2);

/// One stored `.gem`: how the index lists it, and where its bytes are.
#[derive(Debug)]
pub struct Served {
    pub entry: IndexEntry,
    pub digest: Digest,
    pub size: u64,
}

/// One version's stored gems, shared between requests.
pub type VersionGems = Arc<Vec<Arc<Served>>>;

/// The per-version cache: each version's gems by the digest of its index.
pub struct Catalog {
    versions: ReleaseCache<Vec<Arc<Served>>>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog {
            versions: ReleaseCache::new(CACHE_ENTRIES),
        }
    }
}

/// Every gem name in the store (as the repositories spell it: lowercase).
pub async fn names(state: &ProxyState) -> Result<Vec<String>, Failure> {
    Ok(state.packages().packages(ECO).await?)
}

/// Every stored `.gem` of a gem, oldest version first (within a version, the plain gem
/// first). Empty when the store has no such gem.
pub async fn gem(
    state: &ProxyState,
    catalog: &Catalog,
    name: &str,
) -> Result<Vec<Arc<Served>>, Failure> {
    let mut versions = match state.packages().versions_newest_first(ECO, name).await {
        Ok(v) => v,
        // A name that cannot be a repository is a gem the store does not have.
        Err(PackageError::Map(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    versions.reverse();
    // The futures are made before they become a stream: a stream mapping with a closure over
    // borrowed items is not provably `Send` (see `Packages::release`).
    let reads: Vec<_> = versions
        .iter()
        .map(|v| version(state, catalog, name, v))
        .collect();
    let all: Vec<VersionGems> = stream::iter(reads)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(all.iter().flat_map(|v| v.iter().cloned()).collect())
}

/// Every gem of the store with its entries, by name. Gems whose versions all vanished
/// while being read are left out.
pub async fn everything(
    state: &ProxyState,
    catalog: &Catalog,
) -> Result<Vec<(String, Vec<Arc<Served>>)>, Failure> {
    let names = names(state).await?;
    let reads: Vec<_> = names.iter().map(|n| gem(state, catalog, n)).collect();
    let gems: Vec<Vec<Arc<Served>>> = stream::iter(reads)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(names
        .into_iter()
        .zip(gems)
        .filter(|(_, entries)| !entries.is_empty())
        .collect())
}

/// One version's stored gems (empty when the version does not exist), from the cache when
/// its index has not changed.
pub async fn version(
    state: &ProxyState,
    catalog: &Catalog,
    name: &str,
    version: &str,
) -> Result<VersionGems, Failure> {
    let none = || Arc::new(Vec::new());
    let repo = match state.mapper.repository(ECO, name) {
        Ok(repo) => repo,
        Err(_) => return Ok(none()),
    };
    let Ok(tag) = state.mapper.tag(ECO, version) else {
        return Ok(none());
    };
    let read = || read_version(state, name, version);
    let gems = catalog
        .versions
        .get(state.store.as_ref(), &repo, &tag, read)
        .await?;
    Ok(gems.unwrap_or_else(none))
}

/// One version's stored gems with their infos, read from the store; `None` when the version
/// is gone.
async fn read_version(
    state: &ProxyState,
    name: &str,
    version: &str,
) -> Result<Option<Vec<Arc<Served>>>, Failure> {
    let packages = state.packages();
    let Some(release) = packages.gem_release(name, version).await? else {
        return Ok(None);
    };
    let reads: Vec<_> = release
        .files
        .iter()
        .map(|f| packages.gem_info(name, f))
        .collect();
    let infos: Vec<GemInfo> = stream::iter(reads)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut served: Vec<Arc<Served>> = release
        .files
        .iter()
        .zip(infos)
        .map(|(file, info)| {
            Arc::new(Served {
                entry: IndexEntry {
                    spec: spec_fields(&info),
                    sha256: file.digest.hex().to_owned(),
                    file_name: file.name.clone(),
                },
                digest: file.digest.clone(),
                size: file.size,
            })
        })
        .collect();
    served.sort_by(|a, b| {
        let native = |s: &Served| s.entry.spec.platform != "ruby";
        (native(a), &a.entry.spec.platform).cmp(&(native(b), &b.entry.spec.platform))
    });
    Ok(Some(served))
}

/// The `Gem::Specification` fields of a stored gem's info.
pub fn spec_fields(info: &GemInfo) -> SpecFields {
    SpecFields {
        name: info.name.clone(),
        version: info.version.clone(),
        platform: if info.platform.is_empty() {
            "ruby".to_owned()
        } else {
            info.platform.clone()
        },
        rubygems_version: info.rubygems_version.clone(),
        specification_version: i32::try_from(info.specification_version).unwrap_or(4),
        date: parse_date(&info.date).unwrap_or(FALLBACK_DATE),
        summary: info.summary.clone(),
        // `Gem::Specification#description=` keeps `str.to_s`: a gemspec without one has "".
        description: Some(info.description.clone().unwrap_or_default()),
        homepage: info.homepage.clone(),
        email: info.email.clone(),
        authors: info.authors.clone(),
        licenses: info.licenses.clone(),
        metadata: info
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        required_ruby_version: info.required_ruby_version.0.clone(),
        required_rubygems_version: info.required_rubygems_version.0.clone(),
        dependencies: info
            .dependencies
            .iter()
            .map(|d| Dependency {
                name: d.name.clone(),
                runtime: matches!(d.kind, DependencyKind::Runtime),
                requirement: d.requirement.0.clone(),
            })
            .collect(),
    }
}

/// `YYYY-MM-DD` (anything after the day is ignored, as RubyGems keeps only the day).
fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let day_part = text.get(..10)?;
    let mut parts = day_part.split('-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    Some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_the_day_only() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(
            parse_date("2024-02-29 00:00:00.000000000 Z"),
            Some((2024, 2, 29))
        );
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
    }
}

//! Reading NuGet packages back from the store for the other routes: the versions of an id
//! (ascending, as the flat container and registrations list them), a version's `.nupkg`
//! file, and its `.nuspec` (the second layer of the nupkg manifest), parsed or as bytes.
//! What is stored where is `packages::nuget`; parsing a nuspec is `ecosystem::nuget`.

use futures_util::{StreamExt, TryStreamExt, stream};

use super::error::Failure;
use crate::artifact;
use crate::ecosystem::nuget::{self, Nuspec};
use crate::mapper::Mapper;
use crate::packages::PackageError;
use crate::proxy::ProxyState;
use crate::release::{DistFile, Ecosystem, Release};
use crate::store::StoreError;

/// How many versions are read at once (registrations, search).
const CONCURRENCY: usize = 8;
/// The largest nuspec read (nuspecs are a few KiB; this keeps a bad store from costing memory).
const MAX_NUSPEC: u64 = 4 * 1024 * 1024;

/// The lowercased id as NuGet matches it, or `None` when it cannot be a NuGet id.
pub fn lower_id(id: &str) -> Option<String> {
    Mapper::normalize_package(Ecosystem::Nuget, id).ok()
}

/// Every version of `id` in the store, NuGet-normalized and lowercased, oldest first. An id
/// the store does not hold has none.
pub async fn versions(state: &ProxyState, id: &str) -> Result<Vec<String>, Failure> {
    let Some(id) = lower_id(id) else {
        return Ok(Vec::new());
    };
    let mut versions = match state
        .packages()
        .versions_newest_first(Ecosystem::Nuget, &id)
        .await
    {
        Ok(v) => v,
        Err(PackageError::Store(StoreError::NotFound { .. }) | PackageError::Map(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    versions.reverse();
    Ok(versions)
}

/// One stored version and its `.nupkg` file.
pub struct Stored {
    pub release: Release,
    pub nupkg: DistFile,
    /// The repository the blobs are in.
    pub repository: String,
}

/// The stored version `version` of `id` (any case, any NuGet spelling), or `None`.
pub async fn stored(
    state: &ProxyState,
    id: &str,
    version: &str,
) -> Result<Option<Stored>, Failure> {
    let Some(lower) = lower_id(id) else {
        return Ok(None);
    };
    let release = match state.packages().nuget_release(&lower, version).await {
        Ok(Some(r)) => r,
        Ok(None) | Err(PackageError::Map(_)) => return Ok(None),
        Err(PackageError::Store(StoreError::NotFound { .. })) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(nupkg) = release
        .files
        .iter()
        .find(|f| f.name.to_ascii_lowercase().ends_with(".nupkg"))
        .cloned()
    else {
        return Ok(None);
    };
    let repository = state
        .mapper
        .repository(Ecosystem::Nuget, &lower)
        .map_err(PackageError::from)?;
    Ok(Some(Stored {
        release,
        nupkg,
        repository,
    }))
}

impl Stored {
    /// The nuspec layer of the nupkg manifest, when it has one.
    pub fn nuspec_layer(&self) -> Option<&crate::release::Descriptor> {
        self.nupkg
            .extra_layers
            .iter()
            .find(|l| l.media_type == artifact::NUGET_NUSPEC)
    }

    /// The nuspec's bytes as stored.
    pub async fn nuspec_bytes(&self, state: &ProxyState) -> Result<Vec<u8>, Failure> {
        let what = format!("{} {}", self.release.package, self.release.version);
        let layer = self
            .nuspec_layer()
            .ok_or_else(|| Failure::NotFound(format!("{what} is stored without its .nuspec")))?;
        let bytes = state
            .packages()
            .read_small_blob(&self.repository, layer, MAX_NUSPEC, &what, "nuspec")
            .await?;
        Ok(bytes)
    }
}

/// What registrations and search say about one version.
pub struct Described {
    /// Lowercased normalized version, as stored.
    pub version: String,
    pub nuspec: Nuspec,
    /// When it was pushed (the index's `created`), if recorded.
    pub created: Option<String>,
}

/// Reads every version in `versions` of `id` with its nuspec, in the same order; versions
/// that vanished meanwhile are left out. A stored nuspec that does not parse is an error
/// naming the version.
pub async fn describe_all(
    state: &ProxyState,
    id: &str,
    versions: &[String],
) -> Result<Vec<Described>, Failure> {
    // Futures built into a Vec first: a closure over borrowed data would make the stream's
    // future not `Send` for every lifetime, which axum handlers need.
    let futures: Vec<_> = versions
        .iter()
        .map(|v| describe_one(state, id.to_owned(), v.clone()))
        .collect();
    let described: Vec<Option<Described>> = stream::iter(futures)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().collect())
}

async fn describe_one(
    state: &ProxyState,
    id: String,
    version: String,
) -> Result<Option<Described>, Failure> {
    let Some(stored) = stored(state, &id, &version).await? else {
        return Ok(None);
    };
    let bytes = stored.nuspec_bytes(state).await?;
    let nuspec = nuget::parse_nuspec(&bytes).map_err(|e| {
        Failure::internal(
            format!("the stored .nuspec of {id} {version} does not parse"),
            e,
        )
    })?;
    Ok(Some(Described {
        version: stored.release.version.clone(),
        nuspec,
        created: stored.release.created.clone(),
    }))
}

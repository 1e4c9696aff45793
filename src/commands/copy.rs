//! `opp copy ECOSYSTEM NAME==VERSION --from A --to B`: move one version, with every blob it
//! references, between the local store and registries.

use serde::Serialize;

use crate::cli::CopyArgs;
use crate::config::{Location, Settings};
use crate::output::{Output, bytes};
use crate::release::Ecosystem;
use crate::store::copy::copy_tag;

#[derive(Serialize)]
struct Copied {
    package: String,
    version: String,
    from: String,
    to: String,
    manifests: usize,
    blobs_copied: usize,
    blobs_skipped: usize,
    bytes_copied: u64,
}

pub async fn run(settings: &Settings, out: &Output, args: CopyArgs) -> anyhow::Result<()> {
    let eco: Ecosystem = args.ecosystem;
    let (name, version) = super::name_and_version(eco, &args.package)?;
    let from_loc = match &args.from {
        Some(s) => Location::parse(s, &settings.default_store, settings.plain_http)
            .map_err(|e| e.with_origin("--from"))?,
        None => settings.location.clone(),
    };
    let to_loc = Location::parse(&args.to, &settings.default_store, settings.plain_http)
        .map_err(|e| e.with_origin("--to"))?;
    let from = super::open(&from_loc, settings)?;
    let to = super::open(&to_loc, settings)?;
    let from_repo = from.mapper.repository(eco, &name)?;
    let to_repo = to.mapper.repository(eco, &name)?;
    let tag = from.mapper.tag(eco, &version)?;
    let to_tag = to.mapper.tag(eco, &version)?;
    if tag != to_tag {
        anyhow::bail!(
            "source and destination map {name} {version} to different tags ({tag}, {to_tag})"
        );
    }
    if from.store.resolve(&from_repo, &tag).await?.is_none() {
        return Err(from.not_stored(eco, &name, Some(&version)).into());
    }
    let stats = copy_tag(
        from.store.as_ref(),
        &from_repo,
        to.store.as_ref(),
        &to_repo,
        &tag,
    )
    .await?;
    out.status(format!(
        "copied {name} {version} from {} to {}:{tag} ({} blobs, {}; {} already there)",
        from.store.location(&from_repo),
        to.store.location(&to_repo),
        stats.blobs_copied,
        bytes(stats.bytes_copied),
        stats.blobs_skipped
    ));
    if args.json {
        out.json(&Copied {
            package: name,
            version,
            from: from_loc.describe(),
            to: to_loc.describe(),
            manifests: stats.manifests,
            blobs_copied: stats.blobs_copied,
            blobs_skipped: stats.blobs_skipped,
            bytes_copied: stats.bytes_copied,
        });
    }
    Ok(())
}

//! `opp copy ECOSYSTEM NAME==VERSION --from A --to B`: move one version, with every blob it
//! references, between the local store and registries. Within one registry (two prefixes of
//! one host) both sides go through one store, so the registry's `/v2/` challenge is asked and
//! each token fetched once, and blobs are mounted rather than sent.

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
    blobs_mounted: usize,
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
    let mut to = super::open(&to_loc, settings)?;
    if same_registry(&from_loc, &to_loc) {
        // One session: one `/v2/`, one token cache (a mount's token covers both scopes).
        to.store = from.store.clone();
    }
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
        "copied {name} {version} from {} to {}:{tag} ({} blobs sent, {}; {} mounted; {} already \
         there)",
        from.store.location(&from_repo),
        to.store.location(&to_repo),
        stats.blobs_copied,
        bytes(stats.bytes_copied),
        stats.blobs_mounted,
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
            blobs_mounted: stats.blobs_mounted,
            blobs_skipped: stats.blobs_skipped,
            bytes_copied: stats.bytes_copied,
        });
    }
    Ok(())
}

/// Whether both locations are one registry, spoken to the same way (the credentials are the
/// host's either way).
fn same_registry(a: &Location, b: &Location) -> bool {
    match (a, b) {
        (
            Location::Registry {
                host: a,
                plain_http: pa,
                ..
            },
            Location::Registry {
                host: b,
                plain_http: pb,
                ..
            },
        ) => a.eq_ignore_ascii_case(b) && pa == pb,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_prefixes_of_one_registry_share_a_store() {
        let parse = |text: &str| {
            Location::parse(text, std::path::Path::new("/store"), false).expect("a location")
        };
        let cases = [
            ("ghcr.io/a", "ghcr.io/b", true),
            ("ghcr.io/a", "GHCR.io/b/c", true),
            ("127.0.0.1:5000/a", "127.0.0.1:5000", true),
            ("ghcr.io/a", "quay.io/a", false),
            ("127.0.0.1:5000/a", "127.0.0.1:5001/a", false),
            ("ghcr.io/a", "./dir", false),
        ];
        let failed: Vec<String> = cases
            .iter()
            .filter(|(a, b, same)| same_registry(&parse(a), &parse(b)) != *same)
            .map(|(a, b, same)| format!("{a} and {b}: expected same={same}"))
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }
}

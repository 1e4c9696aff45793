//! `opp export ITEM... -o FILE` / `opp export --all -o FILE`: packages of the configured store
//! into one bundle (docs/bundles.md), with its opp-bundle.json beside it.

use std::path::{Path, PathBuf};

use crate::bundle::BundleError;
use crate::bundle::export::{Since, Source};
use crate::bundle::select::parse_item;
use crate::cli::ExportArgs;
use crate::config::Settings;
use crate::output::{Output, bytes};

pub async fn run(settings: &Settings, out: &Output, args: ExportArgs) -> anyhow::Result<()> {
    let items = args
        .items
        .iter()
        .map(|text| {
            parse_item(text)
                .map_err(|why| BundleError::Invalid(format!("invalid item `{text}`: {why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let since = match (&args.since, &args.since_index) {
        (Some(tar), _) => Some(Since::from_index_bytes(
            &crate::bundle::read::bundle_json(tar).await?,
            tar,
        )?),
        (None, Some(json)) => {
            let bytes = tokio::fs::read(json)
                .await
                .map_err(crate::bundle::io("cannot read", json))?;
            Some(Since::from_index_bytes(&bytes, json)?)
        }
        (None, None) => None,
    };
    let target = super::open(&settings.location, settings)?;
    let source = Source {
        store: target.store.as_ref(),
        mapper: &target.mapper,
    };
    let chosen = if args.all {
        source.choose_all().await?
    } else {
        source.choose(&items).await?
    };
    let collected = source.collect(&chosen).await?;
    let (index, index_bytes) =
        crate::bundle::export::write(&source, collected, since, &args.output, out).await?;
    let beside = beside(&args.output);
    tokio::fs::write(&beside, &index_bytes)
        .await
        .map_err(crate::bundle::io("cannot write", &beside))?;
    let versions = index.versions.len();
    out.status(format!(
        "exported {versions} {} ({} blobs, {}) to {}{}",
        if versions == 1 { "version" } else { "versions" },
        index.blobs.len(),
        bytes(index.bytes()),
        args.output.display(),
        match &index.base {
            Some(base) => format!(", a delta on the bundle of {}", base.created),
            None => String::new(),
        }
    ));
    if args.json {
        out.json(&index);
    }
    Ok(())
}

/// Where the bundle's opp-bundle.json is written beside it: `FILE.opp-bundle.json`.
fn beside(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".opp-bundle.json");
    PathBuf::from(name)
}

//! `opp import FILE [--dry-run] [--force] [--json]`: a bundle into the configured store
//! (docs/bundles.md), reported per version.

use crate::bundle::import::{Options, import};
use crate::cli::ImportArgs;
use crate::config::Settings;
use crate::output::{Output, bytes};

pub async fn run(settings: &Settings, out: &Output, args: ImportArgs) -> anyhow::Result<()> {
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let opts = Options {
        dry_run: args.dry_run,
        force: args.force,
    };
    let imported = import(&pkgs, &args.file, opts).await?;
    let count = |status: &str| {
        imported
            .versions
            .iter()
            .filter(|v| v.status == status)
            .count()
    };
    if args.json {
        out.json(&imported);
    } else {
        let rows = imported
            .versions
            .iter()
            .map(|v| {
                vec![
                    v.ecosystem.clone(),
                    v.package.clone(),
                    v.version.clone(),
                    v.status.to_owned(),
                    match (&v.reason, v.latest) {
                        (Some(reason), _) => reason.clone(),
                        (None, true) => format!("{} (and latest)", v.location),
                        (None, false) => v.location.clone(),
                    },
                ]
            })
            .collect();
        out.table(
            &["ecosystem", "package", "version", "status", "where"],
            rows,
        );
    }
    let refused = count("refused");
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    out.status(format!(
        "{verb} {} into {}: {} added, {} merged, {} replaced, {} skipped, {refused} refused ({} blobs stored, {}; {} already there)",
        args.file.display(),
        target.location.describe(),
        count("added"),
        count("merged") + count("merge"),
        count("replaced"),
        count("skipped"),
        imported.blobs_stored,
        bytes(imported.bytes_stored),
        imported.blobs_present,
    ));
    if let Some(first) = imported.problems.first() {
        anyhow::bail!("{first}");
    }
    if refused > 0 {
        let first = imported
            .versions
            .iter()
            .find(|v| v.status == "refused")
            .and_then(|v| v.reason.clone())
            .unwrap_or_default();
        anyhow::bail!(
            "{refused} of {} versions were refused; the first: {first}",
            imported.versions.len()
        );
    }
    Ok(())
}

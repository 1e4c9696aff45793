//! `opp show ECOSYSTEM NAME==VERSION`: the files of one version with digest and size.

#![deny(clippy::wildcard_enum_match_arm)]

use crate::cli::ShowArgs;
use crate::config::Settings;
use crate::output::{Output, bytes};
use crate::release::Ecosystem;

pub async fn run(settings: &Settings, out: &Output, args: ShowArgs) -> anyhow::Result<()> {
    let eco: Ecosystem = args.ecosystem;
    let (name, version) = super::name_and_version(eco, &args.package)?;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let release = super::load_release(&pkgs, eco, &name, &version)
        .await?
        .ok_or_else(|| target.not_stored(eco, &name, Some(&version)))?;
    if args.json {
        if eco == Ecosystem::TerraformProvider {
            // A provider version carries its provenance (null when it was pushed).
            let provenance = match pkgs.provider_version(&name, &version).await? {
                Some(v) => crate::mirror::terraform::provenance::Provenance::of(&v.annotations),
                None => None,
            };
            let mut value = serde_json::to_value(&release)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("provenance".to_owned(), serde_json::to_value(provenance)?);
            }
            out.json(&value);
        } else {
            out.json(&release);
        }
        return Ok(());
    }
    out.status(format!(
        "{} {} ({} file{}, {}{})",
        release.package,
        release.version,
        release.files.len(),
        if release.files.len() == 1 { "" } else { "s" },
        bytes(release.total_size()),
        release
            .created
            .as_deref()
            .map(|c| format!(", created {c}"))
            .unwrap_or_default()
    ));
    out.table(
        &["file", "size", "sha256"],
        release
            .files
            .iter()
            .map(|f| vec![f.name.clone(), bytes(f.size), f.digest.hex().to_owned()])
            .collect(),
    );
    if let Some(provenance) = eco.contract().provenance
        && let Some(line) = provenance(&pkgs, &name, &version).await?
    {
        out.status(line);
    }
    Ok(())
}

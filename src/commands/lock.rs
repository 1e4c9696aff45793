//! `opp lock terraform-provider NS/TYPE[@C]`: write the provider's block of
//! `.terraform.lock.hcl` with the `zh:` and `h1:` hashes of every stored platform, so the
//! lock file is complete for every platform a team runs on.

use crate::cli::LockProviderArgs;
use crate::config::Settings;
use crate::ecosystem::terraform_provider::{self as tfp, LockEntry, ProviderAddress};
use crate::output::Output;
use crate::packages::PackageError;
use crate::packages::provider::ProviderVersion;
use crate::release::Ecosystem;

pub async fn terraform_provider(
    settings: &Settings,
    out: &Output,
    args: LockProviderArgs,
) -> anyhow::Result<()> {
    let eco = Ecosystem::TerraformProvider;
    let (name, constraint) = super::provider::split_spec(&args.provider)?;
    let mut address = ProviderAddress::parse(&name)?;
    if let Some(hostname) = &args.hostname {
        address = address.with_hostname(hostname);
    }
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let version =
        super::provider::choose_version(&target, &pkgs, &name, constraint.as_deref()).await?;
    let stored = pkgs
        .provider_version(&name, &version)
        .await?
        .ok_or_else(|| {
            PackageError::NotFound(format!("`{name}` {version} vanished while opp read it"))
        })?;
    let mut hashes = Vec::new();
    let scratch = tempfile::tempdir()?;
    for f in &stored.release.files {
        hashes.push(format!("zh:{}", f.digest.hex()));
        match ProviderVersion::h1(f) {
            Some(h1) => hashes.push(h1.to_owned()),
            None => {
                // Pushed by another tool: compute h1 from the zip itself.
                pkgs.download(eco, &name, std::slice::from_ref(f), scratch.path())
                    .await?;
                let zip = scratch.path().join(&f.name);
                hashes.push(tokio::task::spawn_blocking(move || tfp::h1_of_zip_file(&zip)).await??);
            }
        }
    }
    let mut entry = LockEntry::new(&address, &version, hashes);
    if let Some(c) = constraint.as_deref().filter(|c| !c.is_empty()) {
        entry.constraints = Some(tfp::parse_constraint(c)?.to_string());
    }
    let existing = match std::fs::read_to_string(&args.lock_file) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("cannot read {}", args.lock_file.display()))
            );
        }
    };
    let text = tfp::update_lock_file(existing.as_deref(), &entry)?;
    let dir = args
        .lock_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(&args.lock_file)?;
    out.status(format!(
        "locked {address} {version} in {} ({} platforms: {})",
        args.lock_file.display(),
        stored.release.files.len(),
        stored
            .release
            .files
            .iter()
            .filter_map(|f| f.platform.as_ref().map(|(o, a)| format!("{o}_{a}")))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    if args.json {
        let mut hashes = entry.hashes.clone();
        hashes.sort();
        out.json(&serde_json::json!({"provider": address.to_string(), "version": version, "hashes": hashes}));
    }
    Ok(())
}

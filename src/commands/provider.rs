//! `opp push terraform-provider NS/TYPE DIR` and `opp pull terraform-provider NS/TYPE[@C]`:
//! a goreleaser release directory in, a Terraform filesystem mirror out.

use serde::Serialize;

use crate::artifact::Merged;
use crate::cli::{PullProviderArgs, PushProviderArgs};
use crate::config::Settings;
use crate::ecosystem::terraform_provider::{self as tfp, MirrorLayout, ProviderAddress};
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages::provider::ProviderVersion;
use crate::packages::select::Asked;
use crate::packages::{PackageError, Packages};
use crate::release::Ecosystem;

const ECO: Ecosystem = Ecosystem::TerraformProvider;

#[derive(Serialize)]
struct FileReport {
    provider: String,
    version: String,
    file: String,
    platform: String,
    sha256: String,
    size: u64,
    status: &'static str,
    path: Option<String>,
}

/// Splits `NS/TYPE[@CONSTRAINT]` into the normalized provider name and the constraint text.
pub(super) fn split_spec(spec: &str) -> anyhow::Result<(String, Option<String>)> {
    let (name, constraint) = match spec.split_once('@') {
        Some((n, c)) => (n, Some(c.trim().to_owned())),
        None => (spec, None),
    };
    Ok((Mapper::normalize_package(ECO, name.trim())?, constraint))
}

/// The newest stored version matching a Terraform constraint (all releases without one),
/// chosen as pull and the proxy choose ([`super::Target::select_version`]): a provider with
/// nothing stored is [`crate::error::NotStored`], a constraint nothing matches names every
/// stored version.
pub(super) async fn choose_version(
    target: &super::Target,
    pkgs: &Packages<'_>,
    name: &str,
    constraint: Option<&str>,
) -> anyhow::Result<String> {
    let c = tfp::parse_constraint(constraint.unwrap_or(""))?;
    let asked = Asked {
        noun: "provider",
        matches: constraint,
        hint: "",
    };
    target
        .select_version(pkgs, ECO, name, &asked, |stored| {
            tfp::select_version(stored, &c)
        })
        .await
}

pub async fn push(settings: &Settings, out: &Output, args: PushProviderArgs) -> anyhow::Result<()> {
    let name = Mapper::normalize_package(ECO, &args.provider)?;
    let address = ProviderAddress::parse(&name)?;
    // Check every zip against SHA256SUMS before anything is uploaded.
    let (dir, ty) = (args.dir.clone(), address.provider_type.clone());
    let release = tokio::task::spawn_blocking(move || tfp::read_release(&dir, &ty)).await??;
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let repo = target.mapper.repository(ECO, &name)?;
    let location = format!(
        "{}:{}",
        target.store.location(&repo),
        target.mapper.tag(ECO, &release.version)?
    );
    let outcome = pkgs.push_provider(&name, &release, args.push.force).await?;
    let mut report = Vec::new();
    for (m, p) in outcome.iter().zip(&release.platforms) {
        let status = match m {
            Merged::Added(_) => "added",
            Merged::Replaced(_) => "replaced",
            Merged::Unchanged(_) => "unchanged",
        };
        report.push(FileReport {
            provider: name.clone(),
            version: release.version.clone(),
            file: p.file_name.clone(),
            platform: p.platform(),
            sha256: p.sha256_hex.clone(),
            size: p.size,
            status,
            path: None,
        });
    }
    let platforms: Vec<String> = release.platforms.iter().map(|p| p.platform()).collect();
    if outcome.iter().all(|m| matches!(m, Merged::Unchanged(_))) {
        out.status(format!(
            "{name} {} is already in {location} with the same zips; left as is",
            release.version
        ));
    } else {
        let total: u64 = release.platforms.iter().map(|p| p.size).sum();
        out.status(format!(
            "pushed {name} {} ({}, {}) to {location}",
            release.version,
            platforms.join(" "),
            bytes(total)
        ));
    }
    if args.push.json {
        out.json(&report);
    }
    Ok(())
}

pub async fn pull(settings: &Settings, out: &Output, args: PullProviderArgs) -> anyhow::Result<()> {
    let (name, constraint) = split_spec(&args.provider)?;
    let mut address = ProviderAddress::parse(&name)?;
    if let Some(hostname) = &args.hostname {
        address = address.with_hostname(hostname);
    }
    let wanted: Vec<(String, String)> = if args.all_platforms {
        Vec::new()
    } else if args.platform.is_empty() {
        vec![tfp::current_platform()]
    } else {
        args.platform
            .iter()
            .map(|p| tfp::parse_platform(p))
            .collect::<Result<_, _>>()?
    };
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let version = choose_version(&target, &pkgs, &name, constraint.as_deref()).await?;
    let stored: ProviderVersion =
        pkgs.provider_version(&name, &version)
            .await?
            .ok_or_else(|| {
                PackageError::NotFound(format!("`{name}` {version} vanished while opp read it"))
            })?;
    let files: Vec<_> = if wanted.is_empty() {
        stored.release.files.clone()
    } else {
        let mut chosen = Vec::new();
        for (os, arch) in &wanted {
            let f = stored
                .release
                .files
                .iter()
                .find(|f| f.platform.as_ref() == Some(&(os.clone(), arch.clone())));
            match f {
                Some(f) => chosen.push(f.clone()),
                None => {
                    let have: Vec<String> = stored
                        .release
                        .files
                        .iter()
                        .filter_map(|f| f.platform.as_ref())
                        .map(|(o, a)| format!("{o}_{a}"))
                        .collect();
                    return Err(crate::error::Refusal::new(
                        format!(
                            "`{name}` {version} has no {os}_{arch} build; stored platforms: {}",
                            have.join(", ")
                        ),
                        "name the platforms to pull with --platform OS_ARCH, or pull every one with --all-platforms",
                    )
                    .of_kind(crate::error::Kind::NotFound)
                    .into());
                }
            }
        }
        chosen
    };
    let layout = if args.unpacked {
        MirrorLayout::Unpacked
    } else {
        MirrorLayout::Packed
    };
    let provider_dir = tfp::mirror_path(
        &args.output,
        &address,
        &version,
        "x",
        "y",
        MirrorLayout::Packed,
    )
    .parent()
    .map(std::path::Path::to_path_buf)
    // A mirror path is OUTPUT/HOST/NAMESPACE/TYPE/...: it always has a parent.
    .unwrap_or_else(|| args.output.clone());
    let mut report = Vec::new();
    pkgs.refuse_duplicate_files(&format!("`{name}` {version}"), &files)?;
    // On failure, remove the directories this pull created (they were not there before).
    let created = crate::ecosystem::files::topmost_missing(&provider_dir.join(&version));
    let written = write_mirror(
        &pkgs,
        &name,
        &files,
        &provider_dir,
        layout,
        &args,
        &address,
        &version,
    )
    .await;
    if let Err(e) = written {
        if let Some(dir) = created {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(e);
    }
    for f in &files {
        let (os, arch) = f.platform.clone().unwrap_or_default();
        let path = tfp::mirror_path(&args.output, &address, &version, &os, &arch, layout);
        out.status(format!("wrote {} ({})", path.display(), bytes(f.size)));
        report.push(FileReport {
            provider: name.clone(),
            version: version.clone(),
            file: f.name.clone(),
            platform: format!("{os}_{arch}"),
            sha256: f.digest.hex().to_owned(),
            size: f.size,
            status: "written",
            path: Some(path.display().to_string()),
        });
    }
    if args.json {
        out.json(&report);
    }
    Ok(())
}

/// Writes the chosen zips into the mirror: as they are (packed), or unpacked, each within
/// `--max-unpacked-size`, all staged before any is put in place.
#[allow(clippy::too_many_arguments)]
async fn write_mirror(
    pkgs: &Packages<'_>,
    name: &str,
    files: &[crate::release::DistFile],
    provider_dir: &std::path::Path,
    layout: MirrorLayout,
    args: &PullProviderArgs,
    address: &ProviderAddress,
    version: &str,
) -> anyhow::Result<()> {
    match layout {
        MirrorLayout::Packed => {
            pkgs.download(ECO, name, files, provider_dir).await?;
        }
        MirrorLayout::Unpacked => {
            let scratch = tempfile::tempdir()?;
            pkgs.download(ECO, name, files, scratch.path()).await?;
            let max_bytes = args.max_unpacked_size.as_u64();
            let mut staged = Vec::new();
            for f in files {
                let (os, arch) = f.platform.clone().unwrap_or_default();
                let dest = tfp::mirror_path(&args.output, address, version, &os, &arch, layout);
                let zip = scratch.path().join(&f.name);
                staged.push(
                    tokio::task::spawn_blocking(move || tfp::stage_unpack(&zip, &dest, max_bytes))
                        .await??,
                );
            }
            for s in staged {
                s.commit()?;
            }
        }
    }
    Ok(())
}

//! `opp list ECOSYSTEM [NAME]`: the packages of an ecosystem, or one package's versions
//! newest first, as a table or JSON.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::cli::ListArgs;
use crate::config::Settings;
use crate::ecosystem;
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages::PackageError;
use crate::release::{Ecosystem, Release};

#[derive(Serialize)]
struct VersionRow {
    version: String,
    files: usize,
    size: u64,
    created: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    platforms: Vec<String>,
}

#[derive(Serialize)]
struct PackageRow {
    package: String,
    versions: usize,
    latest: Option<String>,
}

pub async fn run(settings: &Settings, out: &Output, args: ListArgs) -> anyhow::Result<()> {
    let eco: Ecosystem = args.ecosystem.into();
    let target = super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    match args.name {
        None => {
            let names = pkgs.packages(eco).await?;
            let rows: Vec<PackageRow> = stream::iter(names)
                .map(|n| async {
                    let mut versions = pkgs.versions(eco, &n).await?;
                    ecosystem::sort_newest_first(eco, &mut versions);
                    Ok::<_, PackageError>(PackageRow {
                        package: n,
                        versions: versions.len(),
                        latest: versions.first().cloned(),
                    })
                })
                .buffered(8)
                .try_collect()
                .await?;
            if args.json {
                out.json(&rows);
            } else if rows.is_empty() {
                out.status(format!(
                    "no {eco} packages in {}",
                    target.location.describe()
                ));
            } else {
                out.table(
                    &["package", "versions", "latest"],
                    rows.into_iter()
                        .map(|r| {
                            vec![
                                r.package,
                                r.versions.to_string(),
                                r.latest.unwrap_or_default(),
                            ]
                        })
                        .collect(),
                );
            }
        }
        Some(name) => {
            let name = Mapper::normalize_package(eco, &name)?;
            let mut versions = pkgs.versions(eco, &name).await?;
            if versions.is_empty() {
                let repo = target.mapper.repository(eco, &name)?;
                return Err(PackageError::NotFound(format!(
                    "no package `{name}` in {}",
                    target.store.location(&repo)
                ))
                .into());
            }
            ecosystem::sort_newest_first(eco, &mut versions);
            let releases: Vec<Option<Release>> = stream::iter(versions)
                .map(|v| {
                    let name = name.clone();
                    let pkgs = &pkgs;
                    async move { super::load_release(pkgs, eco, &name, &v).await }
                })
                .buffered(8)
                .try_collect()
                .await?;
            let rows: Vec<VersionRow> = releases
                .into_iter()
                .flatten()
                .map(|r| VersionRow {
                    files: r.files.len(),
                    size: r.total_size(),
                    created: r.created.clone(),
                    platforms: platforms(eco, &r),
                    version: r.version,
                })
                .collect();
            if args.json {
                out.json(&rows);
            } else {
                let with_platforms =
                    matches!(eco, Ecosystem::TerraformProvider | Ecosystem::Rubygems);
                let mut headers = vec!["version", "files", "size", "created"];
                if with_platforms {
                    headers.push("platforms");
                }
                out.table(
                    &headers,
                    rows.into_iter()
                        .map(|r| {
                            let mut row = vec![
                                r.version,
                                r.files.to_string(),
                                bytes(r.size),
                                r.created.unwrap_or_default(),
                            ];
                            if with_platforms {
                                row.push(r.platforms.join(" "));
                            }
                            row
                        })
                        .collect(),
                );
            }
        }
    }
    Ok(())
}

/// `os_arch` of every file of a release, for ecosystems whose files are per platform.
fn platforms(eco: Ecosystem, r: &Release) -> Vec<String> {
    if eco == Ecosystem::Rubygems {
        return r
            .files
            .iter()
            .filter_map(|f| {
                f.annotations
                    .get(crate::artifact::RUBYGEMS_PLATFORM)
                    .cloned()
            })
            .collect();
    }
    if eco != Ecosystem::TerraformProvider {
        return Vec::new();
    }
    r.files
        .iter()
        .filter_map(|f| f.platform.as_ref())
        .map(|(os, arch)| format!("{os}_{arch}"))
        .collect()
}

//! `opp list [ECOSYSTEM [NAME]]`: the packages of every ecosystem (with an ECOSYSTEM column)
//! or of one, or one package's versions newest first, as a table or JSON.
//!
//! A package whose repository cannot be read (a damaged `index.json`, a registry error for
//! that one repository) does not hide the others: it is left out, named in a warning on
//! stderr with the reason, and the command still exits 0. That is what `pip list` does with
//! a broken installed distribution and what a script piping `--json` needs (the readable
//! packages, not nothing); `opp list ECOSYSTEM NAME` for the damaged package fails with the
//! error itself and exit status 1. A repository without any version (what a failed copy or
//! push into a registry may leave) is no package and is not listed.

#![deny(clippy::wildcard_enum_match_arm)]

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::cli::ListArgs;
use crate::config::Settings;
use crate::ecosystem;
use crate::mapper::Mapper;
use crate::output::{Output, bytes};
use crate::packages::PackageError;
use crate::release::{Ecosystem, Release};

use super::Target;

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
    /// Only when every ecosystem is listed (one ecosystem's JSON keeps its shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    ecosystem: Option<Ecosystem>,
    package: String,
    versions: usize,
    latest: Option<String>,
}

pub async fn run(settings: &Settings, out: &Output, args: ListArgs) -> anyhow::Result<()> {
    let target = super::open(&settings.location, settings)?;
    match (args.ecosystem, args.name) {
        (Some(eco), Some(name)) => versions(out, &target, eco, &name, args.json).await,
        (Some(eco), None) => packages(out, &target, &[eco], args.json).await,
        // clap gives a name only after an ecosystem.
        (None, _) => packages(out, &target, &Ecosystem::ALL, args.json).await,
    }
}

/// The packages of `ecos`; with more than one, an ECOSYSTEM column (JSON field) says whose.
async fn packages(
    out: &Output,
    target: &Target,
    ecos: &[Ecosystem],
    json: bool,
) -> anyhow::Result<()> {
    let all = ecos.len() > 1;
    let pkgs = target.packages(out);
    let names = package_names(target, ecos).await?;
    let found: Vec<(Ecosystem, String, Result<Vec<String>, PackageError>)> = stream::iter(names)
        .map(|(eco, name)| {
            let pkgs = &pkgs;
            async move {
                let versions = pkgs.versions(eco, &name).await;
                (eco, name, versions)
            }
        })
        .buffered(8)
        .collect()
        .await;
    let mut rows = Vec::new();
    for (eco, name, versions) in found {
        match versions {
            Ok(versions) if versions.is_empty() => {}
            Ok(mut versions) => {
                ecosystem::sort_newest_first(eco, &mut versions);
                rows.push(PackageRow {
                    ecosystem: all.then_some(eco),
                    package: name,
                    versions: versions.len(),
                    latest: versions.first().cloned(),
                });
            }
            Err(e) => out.warn(format!(
                "left out {eco} package `{name}`: {}",
                causes(&anyhow::Error::from(e))
            )),
        }
    }
    if json {
        out.json(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        let what = if all {
            String::new()
        } else {
            format!("{} ", ecos[0])
        };
        out.status(format!(
            "no {what}packages in {}",
            target.location.describe()
        ));
        return Ok(());
    }
    let mut headers = vec!["package", "versions", "latest"];
    if all {
        headers.insert(0, "ecosystem");
    }
    let table = rows
        .into_iter()
        .map(|r| {
            let mut row = vec![
                r.package,
                r.versions.to_string(),
                r.latest.unwrap_or_default(),
            ];
            if let Some(eco) = r.ecosystem {
                row.insert(0, eco.to_string());
            }
            row
        })
        .collect();
    out.table(&headers, table);
    Ok(())
}

/// Every package name of `ecos` in the store, ecosystem by ecosystem, each sorted. The store
/// is asked once, for the repositories under the prefix all ecosystems share (a registry's
/// catalog is read whole whatever the prefix).
async fn package_names(
    target: &Target,
    ecos: &[Ecosystem],
) -> Result<Vec<(Ecosystem, String)>, PackageError> {
    let prefixes: Vec<String> = ecos
        .iter()
        .map(|eco| target.mapper.repository_prefix(*eco))
        .collect();
    let repositories = target
        .store
        .list_repositories(common_prefix(&prefixes))
        .await?;
    let mut names = Vec::new();
    for eco in ecos {
        let mut of_eco: Vec<String> = repositories
            .iter()
            .filter_map(|r| target.mapper.package(*eco, r))
            .collect();
        of_eco.sort();
        of_eco.dedup();
        names.extend(of_eco.into_iter().map(|name| (*eco, name)));
    }
    Ok(names)
}

/// The longest text every one of `prefixes` starts with.
fn common_prefix(prefixes: &[String]) -> &str {
    let Some(first) = prefixes.first() else {
        return "";
    };
    let mut len = first.len();
    for p in &prefixes[1..] {
        len = first
            .char_indices()
            .zip(p.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(len);
    }
    &first[..len]
}

/// An error and its causes on one line, for a warning.
fn causes(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// One package's versions, newest first.
async fn versions(
    out: &Output,
    target: &Target,
    eco: Ecosystem,
    name: &str,
    json: bool,
) -> anyhow::Result<()> {
    let pkgs = target.packages(out);
    let name = Mapper::normalize_package(eco, name)?;
    let mut versions = pkgs.versions(eco, &name).await?;
    if versions.is_empty() {
        return Err(target.not_stored(eco, &name, None).into());
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
            platforms: eco.contract().platforms.of(&r),
            version: r.version,
        })
        .collect();
    if json {
        out.json(&rows);
        return Ok(());
    }
    let with_platforms = eco.contract().platforms.shown();
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn the_common_prefix_is_what_every_prefix_starts_with() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&p(&["pypi/", "nuget/"])), "");
        assert_eq!(common_prefix(&p(&["acme/pypi/", "acme/nuget/"])), "acme/");
        assert_eq!(common_prefix(&p(&["acme/pypi/"])), "acme/pypi/");
        assert_eq!(common_prefix(&p(&["acme/x", "acme/x"])), "acme/x");
        assert_eq!(common_prefix(&p(&["é/a", "é/b"])), "é/");
        assert_eq!(common_prefix(&[]), "");
    }
}

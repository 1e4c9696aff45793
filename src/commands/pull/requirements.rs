//! `opp pull pypi REQUIREMENT... [-r FILE]...`: every requirement from the command line and
//! the requirements files, as `pip download` takes them; each is resolved to its newest
//! matching version and its files for the target are written, a few requirements at a time,
//! then one summary. A requirement that fails is named; the others are still written (each
//! file atomically), and the command exits non-zero.

use std::collections::HashMap;
use std::path::Path;

use super::parse_python_version;
use crate::artifact;
use crate::cli::PullPypiArgs;
use crate::config::Settings;
use crate::ecosystem::pypi::{self, Requirement, Target as PyTarget, requirements};
use crate::mapper::Mapper;
use crate::output::Output;
use crate::packages::select::Asked;
use crate::packages::{PackageError, Packages};
use crate::release::{DistFile, Ecosystem, Release};

/// One requirement and where it was given.
struct Wanted {
    /// `six==1.16.0` (command line) or `requirements.txt:3`, for messages.
    origin: String,
    text: String,
    requirement: Requirement,
    name: String,
    /// Allowed sha256 digests (`--hash`); empty: any.
    sha256: Vec<String>,
}

pub async fn pypi(settings: &Settings, out: &Output, args: PullPypiArgs) -> anyhow::Result<()> {
    let wanted = gather(&args)?;
    let py_target = PyTarget {
        python_version: args
            .python_version
            .as_deref()
            .map(parse_python_version)
            .transpose()?,
        platforms: args.platform.clone(),
        implementation: args.implementation.clone(),
        abis: args.abi.clone(),
    };
    let target = super::super::open(&settings.location, settings)?;
    let pkgs = target.packages(out);
    let origins: Vec<String> = wanted.iter().map(|w| w.origin.clone()).collect();
    let pulls: Vec<_> = wanted
        .iter()
        .map(|w| pull_one(&target, &pkgs, w, &py_target, args.pre, &args.output))
        .collect();
    super::pull_all(out, &origins, pulls, &args.output, args.json).await
}

/// The requirements of the command line, then of each file, each name once.
fn gather(args: &PullPypiArgs) -> anyhow::Result<Vec<Wanted>> {
    let mut wanted = Vec::new();
    for text in &args.requirements {
        let requirement = pypi::parse_requirement(text)?;
        wanted.push(Wanted {
            origin: format!("`{text}`"),
            text: text.clone(),
            name: Mapper::normalize_package(Ecosystem::Pypi, &requirement.name)?,
            requirement,
            sha256: Vec::new(),
        });
    }
    for path in &args.requirement_files {
        wanted.extend(read_file(path)?);
    }
    if wanted.is_empty() {
        anyhow::bail!(
            "no requirement to pull: name one (e.g. `opp pull pypi six==1.16.0`) or pass a \
             requirements file with -r FILE"
        );
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for w in &wanted {
        if let Some(before) = seen.insert(&w.name, &w.origin) {
            return Err(crate::error::Refusal::new(
                format!("`{}` is required twice ({before} and {})", w.name, w.origin),
                "give each package once",
            )
            .into());
        }
    }
    Ok(wanted)
}

fn read_file(path: &Path) -> anyhow::Result<Vec<Wanted>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read requirements file {shown}: {e}"))?;
    let parsed = requirements::parse(&text).map_err(|e| crate::error::Refusal {
        message: format!("requirements file {shown}, {e}"),
        kind: crate::error::Kind::Failure,
        hints: e.hint.map(str::to_owned).into_iter().collect(),
    })?;
    parsed
        .into_iter()
        .map(|r| {
            Ok(Wanted {
                origin: format!("{shown}:{}", r.line),
                text: format!(
                    "{}{}",
                    r.requirement.name,
                    r.requirement
                        .specifiers
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ),
                name: Mapper::normalize_package(Ecosystem::Pypi, &r.requirement.name)?,
                requirement: r.requirement,
                sha256: r.sha256,
            })
        })
        .collect()
}

/// Resolves one requirement, chooses its files for the target, writes them into `dir`.
async fn pull_one(
    target: &super::super::Target,
    pkgs: &Packages<'_>,
    w: &Wanted,
    py_target: &PyTarget,
    pre: bool,
    dir: &Path,
) -> anyhow::Result<(Release, Vec<DistFile>)> {
    let name = &w.name;
    let asked = Asked {
        noun: "package",
        matches: Some(&w.text),
        hint: if pre {
            ""
        } else {
            " (pre-releases need --pre)"
        },
    };
    let version = target
        .select_version(pkgs, Ecosystem::Pypi, name, &asked, |stored| {
            pypi::select_version(stored, &w.requirement, pre)
        })
        .await?;
    let release = pkgs
        .release(
            Ecosystem::Pypi,
            &artifact::PYPI,
            name,
            &version,
            &|(_, arch): &(String, String)| pypi::file_name_for(name, &version, arch),
        )
        .await?
        .ok_or_else(|| {
            PackageError::NotFound(format!("`{name}` {version} vanished while opp read it"))
        })?;
    let files: Vec<DistFile> = release
        .files
        .iter()
        .filter(|f| pypi::is_compatible(&f.name, py_target))
        .cloned()
        .collect();
    if files.is_empty() {
        let names: Vec<&str> = release.files.iter().map(|f| f.name.as_str()).collect();
        return Err(PackageError::NotFound(format!(
            "none of the files of `{name}` {version} installs on the chosen target; stored: {}",
            names.join(", ")
        ))
        .into());
    }
    if !w.sha256.is_empty()
        && let Some(f) = files
            .iter()
            .find(|f| !w.sha256.iter().any(|h| h == f.digest.hex()))
    {
        anyhow::bail!(
            "{} has sha256 {}, which none of the --hash values of {} allows; nothing was \
             written for it",
            f.name,
            f.digest.hex(),
            w.origin
        );
    }
    pkgs.refuse_duplicate_files(&format!("`{name}` {}", release.version), &files)?;
    pkgs.download(Ecosystem::Pypi, name, &files, dir).await?;
    Ok((release, files))
}

//! What to mirror of one provider request: the newest version the registry lists that meets
//! the constraint (Terraform's constraint syntax, opp's `select_version`), its platforms
//! (every one, unless narrowed), and the files: each platform's zip (with the sha256 the
//! registry states for it), and `SHA256SUMS` with its signature, fetched beside the zips and
//! checked by the sink before anything is pushed (`verify`); a dry run fetches and checks them
//! here, to report the signer. [`choose`] is pure; [`plan`] asks the registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::{StreamExt, TryStreamExt, stream};
use indicatif::ProgressBar;

use super::TerraformMirrorError as Error;
use super::lock::Locked;
use super::registry::{Download, Registry, VersionInfo};
use super::signature::Signer;
use super::verify::{self, Unverified};
use crate::ecosystem::terraform_provider::{
    self as tfp, Constraint, ProviderAddress, shasums_file_name, shasums_sig_file_name,
    zip_file_name,
};
use crate::mapper::Mapper;
use crate::mirror::{PlanFile, download};
use crate::packages::provider::Provenance;
use crate::release::Ecosystem;

/// Download documents fetched at once.
const FETCHES: usize = 8;

/// One `ADDRESS[@CONSTRAINT]` of the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// What is stored: the address as the mapper normalizes it (the default host dropped).
    pub name: String,
    pub address: ProviderAddress,
    pub constraint: Constraint,
    pub constraint_text: String,
    /// From a lock file: its `zh:` hashes (hex; the zips to mirror) and `h1:` hashes.
    pub locked: Option<(Vec<String>, Vec<String>)>,
}

/// The request for one provider block of a lock file: exactly its version, the platforms whose
/// zips its `zh:` hashes name.
pub fn from_lock(locked: &Locked) -> Result<Request, Error> {
    let mut request = parse_request(&format!("{}@{}", locked.address, locked.version))?;
    request.locked = Some((locked.zh.clone(), locked.h1.clone()));
    Ok(request)
}

/// Reads `hashicorp/aws`, `hashicorp/aws@~> 5.80`, `registry.opentofu.org/hashicorp/aws@5.1.0`.
pub fn parse_request(spec: &str) -> Result<Request, Error> {
    let (address, constraint_text) = match spec.split_once('@') {
        Some((a, c)) => (a.trim(), c.trim()),
        None => (spec.trim(), ""),
    };
    let bad = |reason: String| Error::BadSpec {
        spec: spec.to_owned(),
        reason,
    };
    let name = Mapper::normalize_package(Ecosystem::TerraformProvider, address)
        .map_err(|e| bad(e.to_string()))?;
    let address = ProviderAddress::parse(&name).map_err(|e| bad(e.to_string()))?;
    let constraint = tfp::parse_constraint(constraint_text).map_err(|e| bad(e.to_string()))?;
    Ok(Request {
        name,
        address,
        constraint,
        constraint_text: constraint_text.to_owned(),
        locked: None,
    })
}

/// What [`choose`] chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub version: VersionInfo,
    /// `(os, arch)` to mirror.
    pub platforms: Vec<(String, String)>,
    /// Wanted platforms (`os_arch`) the version lacks.
    pub missing: Vec<String>,
}

/// The chosen version and the platforms to mirror of it (`wanted` empty: all), and the wanted
/// platforms it lacks.
pub fn choose(
    request: &Request,
    versions: &[VersionInfo],
    wanted: &[(String, String)],
) -> Result<Choice, Error> {
    let listed: Vec<String> = versions.iter().map(|v| v.version.clone()).collect();
    let chosen = tfp::select_version(&listed, &request.constraint)
        .and_then(|v| versions.iter().find(|i| i.version == v))
        .ok_or_else(|| {
            let mut all = listed.clone();
            tfp::sort_newest_first(&mut all);
            Error::NoVersion {
                name: request.name.clone(),
                constraint: request.constraint_text.clone(),
                available: if all.is_empty() {
                    "none".to_owned()
                } else {
                    all.join(", ")
                },
            }
        })?;
    let show = |p: &[(String, String)]| {
        p.iter()
            .map(|(o, a)| format!("{o}_{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if wanted.is_empty() {
        return Ok(Choice {
            version: chosen.clone(),
            platforms: chosen.platforms.clone(),
            missing: Vec::new(),
        });
    }
    let platforms: Vec<(String, String)> = chosen
        .platforms
        .iter()
        .filter(|p| wanted.contains(p))
        .cloned()
        .collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !chosen.platforms.contains(w))
        .map(|(o, a)| format!("{o}_{a}"))
        .collect();
    if platforms.is_empty() {
        return Err(Error::NoPlatform {
            name: request.name.clone(),
            version: chosen.version.clone(),
            asked: show(wanted),
            available: show(&chosen.platforms),
        });
    }
    Ok(Choice {
        version: chosen.clone(),
        platforms,
        missing,
    })
}

/// One version to mirror: its files and what the sink needs to push it whole.
#[derive(Clone, Debug)]
pub struct Planned {
    pub files: Vec<PlanFile>,
    pub version: VersionMeta,
    /// Wanted platforms the version does not have.
    pub missing: Vec<String>,
}

/// What the sink needs to push one version.
#[derive(Clone, Debug)]
pub struct VersionMeta {
    pub name: String,
    pub provider_type: String,
    pub version: String,
    pub protocols: Vec<String>,
    /// zip file name -> (os, arch).
    pub zips: BTreeMap<String, (String, String)>,
    /// zip file name -> its sha256 (hex), where known before the download: a platform stored
    /// with it is not fetched again.
    pub zip_sha256: BTreeMap<String, String>,
    pub sums_name: String,
    pub sig_name: String,
    /// Where the version came from, and its signer once checked.
    pub provenance: Provenance,
    /// Known when `SHA256SUMS` was checked at planning (a dry run).
    pub signer: Option<Signer>,
    /// `SHA256SUMS` comes with the zips: what the sink checks before pushing.
    pub unverified: Option<Unverified>,
    /// `h1:` hashes of a lock file that some zip of the version must have.
    pub locked_h1: Vec<String>,
    /// From a network mirror: the hashes each zip must match (no SHA256SUMS came with it).
    pub mirror: Option<super::plan_mirror::MirrorChecks>,
}

/// Options of a run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `(os, arch)`; empty: every platform.
    pub platforms: Vec<(String, String)>,
    pub skip_signature: bool,
    /// Fetch and check `SHA256SUMS` and its signature while planning (a dry run, which
    /// reports the signer), not beside the zips.
    pub verify_first: bool,
}

/// Plans `request` from `registry`: versions, download documents, then the files; with
/// `verify_first`, `SHA256SUMS` and its signature fetched into `scratch` and checked.
pub async fn plan(
    client: &reqwest::Client,
    registry: &Registry,
    request: &Request,
    options: &Options,
    scratch: &Path,
) -> Result<Planned, Error> {
    let a = &request.address;
    let (versions_url, versions) = registry.versions(&a.namespace, &a.provider_type).await?;
    let Choice {
        version: chosen,
        platforms,
        missing,
    } = choose(request, &versions, &options.platforms)?;
    let what = format!("{} {}", request.name, chosen.version);
    tracing::debug!("{what}: chosen from {versions_url}");
    let docs: Vec<Download> = stream::iter(platforms.iter())
        .map(|(os, arch)| {
            registry.download(
                &a.namespace,
                &a.provider_type,
                &chosen.version,
                (os.as_str(), arch.as_str()),
            )
        })
        .buffered(FETCHES)
        .try_collect()
        .await?;
    tracing::debug!("{what}: {} download document(s)", docs.len());
    let Some(first) = docs.first() else {
        return Err(Error::NoPlatform {
            name: request.name.clone(),
            version: chosen.version.clone(),
            asked: String::new(),
            available: String::new(),
        });
    };
    for d in &docs {
        let expected = zip_file_name(&a.provider_type, &chosen.version, &d.os, &d.arch);
        if d.filename != expected {
            return Err(Error::OddFileName {
                what,
                found: d.filename.clone(),
                expected,
            });
        }
        if d.shasums_url != first.shasums_url {
            return Err(Error::SplitSums {
                what,
                first: first.shasums_url.to_string(),
                other: d.shasums_url.to_string(),
            });
        }
    }
    let sums_name = shasums_file_name(&a.provider_type, &chosen.version);
    let sig_name = shasums_sig_file_name(&a.provider_type, &chosen.version);
    let (locked_zh, locked_h1) = match &request.locked {
        // The h1: of platforms left out by --platform cannot be checked.
        Some((zh, h1)) if options.platforms.is_empty() => (zh.clone(), h1.clone()),
        Some((zh, _)) => (zh.clone(), Vec::new()),
        None => (Vec::new(), Vec::new()),
    };
    let docs: Vec<&Download> = docs
        .iter()
        .filter(|d| locked_zh.is_empty() || locked_zh.contains(&d.shasum))
        .collect();
    if docs.is_empty() {
        return Err(Error::NoPlatform {
            name: request.name.clone(),
            version: chosen.version.clone(),
            asked: "the platforms whose zips the lock file's zh: hashes name".to_owned(),
            available: platforms
                .iter()
                .map(|(o, a)| format!("{o}_{a}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut files = Vec::new();
    let mut zips = BTreeMap::new();
    let mut zip_sha256 = BTreeMap::new();
    for d in docs {
        zips.insert(d.filename.clone(), (d.os.clone(), d.arch.clone()));
        zip_sha256.insert(d.filename.clone(), d.shasum.clone());
        files.push(PlanFile {
            package: request.name.clone(),
            version: chosen.version.clone(),
            file_name: d.filename.clone(),
            url: d.download_url.clone(),
            sha256: Some(d.shasum.clone()),
            allowed: locked_zh.clone(),
            size: None,
            local: None,
        });
    }
    let unverified = Unverified {
        keys: first.keys.clone(),
        skip_signature: options.skip_signature,
        locked_zh,
    };
    let provenance = verify::source_provenance(versions_url.as_str());
    let (provenance, signer, unverified) = if options.verify_first {
        // SHA256SUMS and its signature now, checked before the plan is shown.
        let dir = scratch.join(format!(
            "{}-{}",
            request.name.replace('/', "_"),
            chosen.version
        ));
        let fetched = fetch_sums(client, first, &dir, &sums_name, &sig_name).await?;
        let verified = verify::verify_files(
            &what,
            &fetched[0].2,
            &fetched[1].2,
            &sig_name,
            &unverified.keys,
            unverified.skip_signature,
        )?;
        verify::check_zips(
            &what,
            &sums_name,
            &verified.sums,
            &zip_sha256,
            &unverified.locked_zh,
        )?;
        for (name, url, path, digest) in fetched {
            files.push(PlanFile {
                package: request.name.clone(),
                version: chosen.version.clone(),
                file_name: name,
                url,
                sha256: Some(digest),
                allowed: Vec::new(),
                size: None,
                local: Some(path),
            });
        }
        let signed = verify::signed_provenance(provenance, verified.signer.as_ref(), &sums_name);
        (signed, verified.signer, None)
    } else {
        // Fetched beside the zips; the sink checks them before anything is pushed.
        for (name, url) in [
            (&sums_name, &first.shasums_url),
            (&sig_name, &first.shasums_signature_url),
        ] {
            files.push(PlanFile {
                package: request.name.clone(),
                version: chosen.version.clone(),
                file_name: name.clone(),
                url: url.clone(),
                sha256: None,
                allowed: Vec::new(),
                size: None,
                local: None,
            });
        }
        (provenance, None, Some(unverified))
    };
    let protocols = if first.protocols.is_empty() {
        chosen.protocols.clone()
    } else {
        first.protocols.clone()
    };
    Ok(Planned {
        files,
        version: VersionMeta {
            name: request.name.clone(),
            provider_type: a.provider_type.clone(),
            version: chosen.version.clone(),
            protocols,
            zips,
            zip_sha256,
            sums_name,
            sig_name,
            provenance,
            signer,
            unverified,
            locked_h1,
            mirror: None,
        },
        missing,
    })
}

/// Downloads `SHA256SUMS` and its signature into `dir`, at once: (name, URL, path, sha256).
async fn fetch_sums(
    client: &reqwest::Client,
    doc: &Download,
    dir: &Path,
    sums_name: &str,
    sig_name: &str,
) -> Result<[(String, reqwest::Url, PathBuf, String); 2], Error> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| download::DownloadError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    let (sums_path, sig_path) = (dir.join(sums_name), dir.join(sig_name));
    let hidden = ProgressBar::hidden();
    let ((sums_digest, _), (sig_digest, _)) = tokio::try_join!(
        download::to_file(client, &doc.shasums_url, &sums_path, None, &hidden),
        download::to_file(client, &doc.shasums_signature_url, &sig_path, None, &hidden),
    )?;
    Ok([
        (
            sums_name.to_owned(),
            doc.shasums_url.clone(),
            sums_path,
            sums_digest.hex().to_owned(),
        ),
        (
            sig_name.to_owned(),
            doc.shasums_signature_url.clone(),
            sig_path,
            sig_digest.hex().to_owned(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: &str, platforms: &[(&str, &str)]) -> VersionInfo {
        VersionInfo {
            version: version.to_owned(),
            protocols: vec!["5.0".to_owned()],
            platforms: platforms
                .iter()
                .map(|(o, a)| ((*o).to_owned(), (*a).to_owned()))
                .collect(),
        }
    }

    fn p(o: &str, a: &str) -> (String, String) {
        (o.to_owned(), a.to_owned())
    }

    #[test]
    fn requests_keep_a_non_default_host_and_drop_the_default_one() {
        let r = parse_request("registry.terraform.io/HashiCorp/aws@~> 5.80").unwrap();
        assert_eq!(r.name, "hashicorp/aws");
        assert_eq!(r.constraint_text, "~> 5.80");
        let r = parse_request("registry.opentofu.org/hashicorp/aws").unwrap();
        assert_eq!(r.name, "registry.opentofu.org/hashicorp/aws");
        assert!(parse_request("aws").is_err());
        assert!(parse_request("acme/hello@>>1").is_err());
    }

    #[test]
    fn the_newest_matching_version_with_every_platform_unless_narrowed() {
        let versions = [
            info("1.2.3", &[("linux", "amd64"), ("darwin", "arm64")]),
            info(
                "1.3.0",
                &[
                    ("linux", "amd64"),
                    ("darwin", "arm64"),
                    ("windows", "amd64"),
                ],
            ),
            info("2.0.0", &[("linux", "amd64")]),
        ];
        let r = parse_request("acme/hello@~> 1.2").unwrap();
        let all = choose(&r, &versions, &[]).unwrap();
        assert_eq!(all.version.version, "1.3.0");
        assert_eq!(all.platforms.len(), 3);
        assert!(all.missing.is_empty());
        let wanted = [p("darwin", "arm64"), p("freebsd", "amd64")];
        let some = choose(&r, &versions, &wanted).unwrap();
        assert_eq!(some.platforms, [p("darwin", "arm64")]);
        assert_eq!(some.missing, ["freebsd_amd64"]);
    }

    #[test]
    fn no_matching_version_or_platform_says_what_there_is() {
        let versions = [info("1.2.3", &[("linux", "amd64")])];
        let r = parse_request("acme/hello@>= 2").unwrap();
        assert_eq!(
            choose(&r, &versions, &[]).unwrap_err().to_string(),
            "no version of acme/hello matches `>= 2`; the registry has: 1.2.3"
        );
        let r = parse_request("acme/hello").unwrap();
        assert_eq!(
            choose(&r, &versions, &[p("darwin", "arm64")])
                .unwrap_err()
                .to_string(),
            "acme/hello 1.2.3 has none of the platforms asked for (darwin_arm64); it has: \
             linux_amd64"
        );
    }
}

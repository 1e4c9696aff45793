//! What to mirror of each module request, and the run: a request names a module registry
//! address (`NAMESPACE/NAME/SYSTEM`, or `HOST/NAMESPACE/NAME/SYSTEM`; a `//subdir` is dropped,
//! as the whole package is mirrored) and constraints (all must hold); it is stored as
//! `NAMESPACE/NAME/SYSTEM` (the module mapper has no host), fetched from the address's host
//! (registry.terraform.io without one) or `--upstream`. [`resolve`] is pure;
//! [`mirror_modules`] asks the registries, then runs the shared pipeline.

use std::collections::BTreeMap;

use super::ModuleMirrorError as Error;
use super::registry::{ModuleRegistry, upstream_base};
use super::sink::{ModuleSink, Planned};
use super::source;
use crate::ecosystem::terraform_provider::{self as tfp, Constraint};
use crate::mapper::Mapper;
use crate::mirror::{FileResult, PlanFile, execute};
use crate::output::Output;
use crate::packages::Packages;
use crate::packages::module::zip_name;
use crate::release::Ecosystem;

/// The registry host of an address that names none.
pub const DEFAULT_HOST: &str = "registry.terraform.io";

/// One module to mirror: a registry address and the version constraints on it (Terraform's
/// syntax, e.g. `~> 5.16`; every one must hold; none: the newest version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleRequest {
    /// `NAMESPACE/NAME/SYSTEM` or `HOST/NAMESPACE/NAME/SYSTEM` (a `//subdir` is allowed and
    /// ignored).
    pub address: String,
    pub constraints: Vec<String>,
}

impl ModuleRequest {
    /// Reads `ADDRESS[@CONSTRAINT]` as the command line gives it.
    pub fn parse(spec: &str) -> ModuleRequest {
        let (address, constraint) = spec.split_once('@').unwrap_or((spec, ""));
        ModuleRequest {
            address: address.trim().to_owned(),
            constraints: vec![constraint.trim().to_owned()],
        }
    }
}

/// How a run goes.
#[derive(Clone, Debug)]
pub struct Options {
    /// The module registry to fetch from instead of each address's host.
    pub upstream: Option<String>,
    pub dry_run: bool,
    /// The most an archive or repository may unpack to.
    pub max_unpacked_bytes: u64,
}

impl Default for Options {
    /// From each address's host, for real, with `opp pull`'s bound on what a package unpacks to.
    fn default() -> Options {
        Options {
            upstream: None,
            dry_run: false,
            max_unpacked_bytes: crate::ecosystem::limits::DEFAULT_MAX_UNPACKED_BYTES,
        }
    }
}

/// What a run did: one result per module version, and how many requests failed before any
/// download (each already reported as a warning).
#[derive(Debug, Default)]
pub struct Outcome {
    pub results: Vec<FileResult>,
    pub failed_requests: usize,
}

/// A request as opp uses it.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// What is stored: `namespace/name/system`, lowercase.
    pub name: String,
    /// The address's host, when it names one.
    pub host: Option<String>,
    pub constraint: Constraint,
    /// The constraints joined, for messages (empty: any).
    pub constraint_text: String,
}

/// Checks a request: its address and constraints.
pub fn resolve(request: &ModuleRequest) -> Result<Resolved, Error> {
    let spec = match request.constraints.iter().find(|c| !c.is_empty()) {
        Some(_) => format!("{}@{}", request.address, request.constraints.join(", ")),
        None => request.address.clone(),
    };
    let bad = |reason: String| Error::BadSpec {
        spec: spec.clone(),
        reason,
    };
    let package = match request.address.find("//") {
        Some(i) => &request.address[..i],
        None => request.address.as_str(),
    };
    let parts: Vec<&str> = package.split('/').collect();
    let (host, module) = match parts[..] {
        [_, _, _] => (None, package.to_owned()),
        [host, ns, name, system] if !host.is_empty() => (
            Some(host.to_ascii_lowercase()),
            format!("{ns}/{name}/{system}"),
        ),
        _ => return Err(bad("a module address has three or four parts".to_owned())),
    };
    let name = Mapper::normalize_package(Ecosystem::TerraformModule, &module)
        .map_err(|e| bad(e.to_string()))?;
    let constraint_text = request
        .constraints
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let constraint = tfp::parse_constraint(&constraint_text).map_err(|e| bad(e.to_string()))?;
    Ok(Resolved {
        name,
        host: host.filter(|h| h != DEFAULT_HOST),
        constraint,
        constraint_text,
    })
}

/// Mirrors every request into the store behind `packages`: plans each (failures are warned
/// about and counted), then runs the plan through the shared pipeline. The caller reports the
/// results (`commands::mirror::report`) and decides the exit status.
pub async fn mirror_modules(
    packages: Packages<'_>,
    client: &reqwest::Client,
    out: &Output,
    requests: &[ModuleRequest],
    options: &Options,
) -> Outcome {
    let mut registries: BTreeMap<String, ModuleRegistry> = BTreeMap::new();
    let mut files: Vec<PlanFile> = Vec::new();
    let mut versions = BTreeMap::new();
    let mut failed_requests = 0;
    for request in requests {
        match plan_one(&packages, client, &mut registries, request, options).await {
            Ok((file, planned)) => {
                let from = planned.source.describe();
                let subdir = planned
                    .source
                    .subdir
                    .as_deref()
                    .map(|s| format!(" (the module is its subdirectory `{s}`)"))
                    .unwrap_or_default();
                out.status(format!(
                    "{} {}: from {from}{subdir}",
                    planned.name, planned.version
                ));
                let key = (planned.name.clone(), planned.version.clone());
                if versions.insert(key, planned).is_none() {
                    files.push(file);
                }
            }
            Err(e) => {
                failed_requests += 1;
                let message = crate::error::reason(&e);
                match e {
                    Error::NoVersion { .. } | Error::BadSource { .. } | Error::BadSpec { .. } => {
                        out.warn(message)
                    }
                    _ => out.warn(format!("{}: {message}", request.address)),
                }
            }
        }
    }
    let sink = ModuleSink {
        packages,
        versions,
        max_unpacked_bytes: options.max_unpacked_bytes,
    };
    let results = execute(files, &sink, client, out, options.dry_run).await;
    Outcome {
        results,
        failed_requests,
    }
}

/// Plans one request: the registry (discovered once per host), the version, its source
/// address, and whether the store already has it (then its zip's sha256, so the pipeline
/// skips it without a download).
async fn plan_one(
    packages: &Packages<'_>,
    client: &reqwest::Client,
    registries: &mut BTreeMap<String, ModuleRegistry>,
    request: &ModuleRequest,
    options: &Options,
) -> Result<(PlanFile, Planned), Error> {
    let resolved = resolve(request)?;
    let host = options
        .upstream
        .clone()
        .or_else(|| resolved.host.clone())
        .unwrap_or_else(|| DEFAULT_HOST.to_owned());
    let base = upstream_base(&host)?;
    if !registries.contains_key(base.as_str()) {
        let found = ModuleRegistry::discover(client, &base).await?;
        registries.insert(base.to_string(), found);
    }
    let registry = &registries[base.as_str()];
    let (versions_url, listed) = registry.versions(&resolved.name).await?;
    let chosen = tfp::select_version(&listed, &resolved.constraint).ok_or_else(|| {
        let mut all = listed.clone();
        tfp::sort_newest_first(&mut all);
        Error::NoVersion {
            name: resolved.name.clone(),
            constraint: resolved.constraint_text.clone(),
            available: if all.is_empty() {
                "none".to_owned()
            } else {
                all.join(", ")
            },
        }
    })?;
    let version = Mapper::normalize_version(Ecosystem::TerraformModule, &chosen).map_err(|e| {
        Error::BadDocument {
            url: versions_url.to_string(),
            reason: e.to_string(),
        }
    })?;
    let (download, location) = registry.location(&resolved.name, &chosen).await?;
    let what = format!("{} {version}", resolved.name);
    let source = source::parse(&location).map_err(|reason| Error::BadSource {
        what: what.clone(),
        reason,
    })?;
    let stored = packages
        .module_release(&resolved.name, &version)
        .await?
        .and_then(|r| r.files.into_iter().next())
        .map(|f| f.digest.hex().to_owned());
    let file = PlanFile {
        package: resolved.name.clone(),
        version: version.clone(),
        file_name: zip_name(&resolved.name, &version),
        url: download,
        sha256: stored,
        allowed: Vec::new(),
        size: None,
        local: None,
    };
    Ok((
        file,
        Planned {
            name: resolved.name,
            version,
            source,
            location,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(address: &str, constraints: &[&str]) -> ModuleRequest {
        ModuleRequest {
            address: address.to_owned(),
            constraints: constraints.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn an_address_may_name_its_host_and_a_subdirectory() {
        let r = resolve(&request("Terraform-AWS-Modules/VPC/AWS", &["5.16.0"])).unwrap();
        assert_eq!(
            (r.name.as_str(), r.host),
            ("terraform-aws-modules/vpc/aws", None)
        );
        let r = resolve(&request("tf.corp.example/acme/vpc/aws//modules/x", &[])).unwrap();
        assert_eq!(r.name, "acme/vpc/aws");
        assert_eq!(r.host.as_deref(), Some("tf.corp.example"));
        let r = resolve(&request("registry.terraform.io/acme/vpc/aws", &[])).unwrap();
        assert_eq!(r.host, None, "the default host is dropped");
    }

    #[test]
    fn every_constraint_must_hold() {
        let r = resolve(&request("acme/vpc/aws", &["~> 1.0", "", "!= 1.2.0"])).unwrap();
        let listed = ["1.1.0", "1.2.0", "2.0.0"].map(str::to_owned);
        assert_eq!(r.constraint_text, "~> 1.0, != 1.2.0");
        assert_eq!(
            tfp::select_version(&listed, &r.constraint).as_deref(),
            Some("1.1.0")
        );
    }

    #[test]
    fn a_bad_address_names_the_request() {
        let err = resolve(&ModuleRequest::parse("acme/vpc@1.0.0")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid module request `acme/vpc@1.0.0`: a module address has three or four \
             parts; expected [HOST/]NAMESPACE/NAME/SYSTEM[@CONSTRAINT]"
        );
    }
}

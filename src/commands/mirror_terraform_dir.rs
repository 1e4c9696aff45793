//! `opp mirror terraform --dir DIR`: read what the configuration requires
//! (`mirror::terraform::config`), turn each provider into a request of `opp mirror
//! terraform-provider` (the newest version meeting every constraint in the tree, or exactly the
//! version `DIR/.terraform.lock.hcl` locks), mirror them through that command's path, then
//! mirror the registry modules each call names through `opp mirror terraform-module`'s path.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{MirrorTerraformArgs, MirrorTerraformProviderArgs};
use crate::config::Settings;
use crate::ecosystem::terraform_provider::{self as tfp, ProviderAddress};
use crate::mirror::terraform::TerraformMirrorError as Error;
use crate::mirror::terraform::config::{self, ConfigError, ModuleRequirement, NotMirrored};
use crate::mirror::terraform::{lock, plan};
use crate::mirror::terraform_module as tfm;
use crate::output::Output;

/// The lock file Terraform keeps beside the root module.
const LOCK_FILE: &str = ".terraform.lock.hcl";

/// `--json`: what was found, and every file's result.
#[derive(Serialize)]
struct Report<'a> {
    providers: Vec<ProviderJson>,
    modules: &'a [ModuleRequirement],
    not_mirrored: &'a [NotMirrored],
    files: &'a [crate::mirror::FileResult],
}

#[derive(Serialize)]
struct ProviderJson {
    address: String,
    constraints: Vec<config::Constrained>,
    /// The version the lock file pins, when it does.
    locked: Option<String>,
}

pub async fn run(
    settings: &Settings,
    out: &Output,
    args: MirrorTerraformArgs,
) -> anyhow::Result<()> {
    let reqs = config::read_tree(&args.dir)?;
    for file in &reqs.json_files {
        out.warn(format!(
            "{file}: JSON configuration is not read; what it requires is not mirrored"
        ));
    }
    for n in &reqs.not_mirrored {
        out.warn(format!(
            "{}: module \"{}\": {} is {}, not a registry module; not mirrored",
            n.origin, n.module, n.source, n.kind
        ));
    }
    if let Some(at) = reqs.built_in.first() {
        out.status(format!(
            "terraform.io/builtin/terraform (used at {at}) is built into Terraform; nothing to \
             mirror"
        ));
    }
    let locked = read_lock(&args)?;
    let mut requests = Vec::new();
    let mut providers = Vec::new();
    let mut described = BTreeMap::new();
    let mut pinned_addresses = Vec::new();
    for (address, req) in &reqs.providers {
        let pinned = locked
            .iter()
            .find(|l| ProviderAddress::parse(&l.address).is_ok_and(|a| a == *address));
        let request = match pinned {
            Some(l) => {
                pinned_addresses.push(l.address.as_str());
                let combined = req.combined();
                if tfp::parse_constraint(&combined).is_ok_and(|c| !c.matches(&l.version)) {
                    out.warn(format!(
                        "{}: {address} is locked at {}, which does not meet {}; mirroring the \
                         locked version (run `terraform init -upgrade` to move the lock)",
                        args.dir.join(LOCK_FILE).display(),
                        l.version,
                        req.describe()
                    ));
                }
                plan::from_lock(l)?
            }
            None => plan::parse_request(&format!("{address}@{}", req.combined()))?,
        };
        out.status(format!(
            "{}: {}",
            request.name,
            match pinned {
                Some(l) => format!("{} (locked in {LOCK_FILE})", l.version),
                None if req.constraints.is_empty() => "newest version".to_owned(),
                None => format!("newest version meeting {}", req.describe()),
            }
        ));
        if pinned.is_none() && !req.constraints.is_empty() {
            described.insert(request.name.clone(), req.describe());
        }
        providers.push(ProviderJson {
            address: address.to_string(),
            constraints: req.constraints.clone(),
            locked: pinned.map(|l| l.version.clone()),
        });
        requests.push(request);
    }
    for l in &locked {
        if !pinned_addresses.contains(&l.address.as_str()) {
            out.status(format!(
                "{}: {} is locked but not required by the configuration; not mirrored",
                args.dir.join(LOCK_FILE).display(),
                l.address
            ));
        }
    }
    for m in &reqs.modules {
        out.status(format!("module {}: {}", m.address, describe_calls(m)));
    }
    // A provider without constraints that has no version keeps the provider mirror's line.
    let explain = |request: &plan::Request, e: &Error| match (e, described.get(&request.name)) {
        (Error::NoVersion { available, .. }, Some(constraints)) => Some(
            ConfigError::Unsatisfiable {
                name: request.name.clone(),
                constraints: constraints.clone(),
                available: available.clone(),
            }
            .to_string(),
        ),
        _ => None,
    };
    let provider_args = MirrorTerraformProviderArgs {
        providers: Vec::new(),
        lock: None,
        platforms: args.platforms.clone(),
        upstream: args.upstream.clone(),
        insecure_skip_signature: args.insecure_skip_signature,
        dry_run: args.dry_run,
        json: args.json,
    };
    let mirrored = if requests.is_empty() {
        out.status("no provider to mirror");
        super::mirror_terraform::Mirrored {
            results: Vec::new(),
            json: Vec::new(),
            failed_requests: 0,
        }
    } else {
        super::mirror_terraform::mirror_requests(settings, out, &requests, &provider_args, &explain)
            .await?
    };
    let modules = mirror_modules(settings, out, &reqs.modules, &args).await?;
    if args.json {
        let files: Vec<crate::mirror::FileResult> = mirrored
            .results
            .iter()
            .chain(&modules.results)
            .cloned()
            .collect();
        out.json(&Report {
            providers,
            modules: &reqs.modules,
            not_mirrored: &reqs.not_mirrored,
            files: &files,
        });
    }
    let (_, _, failed_modules, _) = crate::mirror::counts(&modules.results);
    mirrored.complete()?;
    if failed_modules > 0 || modules.failed_requests > 0 {
        anyhow::bail!(
            "the mirror is incomplete: {failed_modules} module version(s) failed and {} module \
             call(s) could not be planned (see above)",
            modules.failed_requests
        );
    }
    Ok(())
}

/// The lock file in the configuration's directory, if there is one.
fn read_lock(args: &MirrorTerraformArgs) -> anyhow::Result<Vec<lock::Locked>> {
    let path = args.dir.join(LOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(crate::mirror::MirrorError::Read {
                path: path.display().to_string(),
                source,
            }
            .into());
        }
    };
    Ok(lock::read(&text).map_err(|reason| Error::BadLock {
        path: path.display().to_string(),
        reason,
    })?)
}

/// `` `~> 5.0` (infra/main.tf:3), any version (infra/main.tf:9) ``.
fn describe_calls(m: &ModuleRequirement) -> String {
    m.calls
        .iter()
        .map(|c| match c.constraint.as_str() {
            "" => format!("any version ({})", c.origin),
            v => format!("`{v}` ({})", c.origin),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Mirrors the registry modules the configuration calls through `opp mirror
/// terraform-module`'s path: each call on its own (the newest version meeting its `version`),
/// from the host its address names, else from `--upstream` when given (a registry host serves
/// modules and providers alike).
async fn mirror_modules(
    settings: &Settings,
    out: &Output,
    modules: &[ModuleRequirement],
    args: &MirrorTerraformArgs,
) -> anyhow::Result<tfm::Outcome> {
    let mut requests: Vec<tfm::ModuleRequest> = Vec::new();
    for m in modules {
        for call in &m.calls {
            let constraints: Vec<String> = match call.constraint.as_str() {
                "" => Vec::new(),
                c => vec![c.to_owned()],
            };
            if !requests
                .iter()
                .any(|r| r.address == m.address && r.constraints == constraints)
            {
                requests.push(tfm::ModuleRequest {
                    address: m.address.clone(),
                    constraints,
                });
            }
        }
    }
    let mut outcome = tfm::Outcome {
        results: Vec::new(),
        failed_requests: 0,
    };
    if requests.is_empty() {
        return Ok(outcome);
    }
    let client = crate::mirror::download::client()?;
    let target = super::open(&settings.location, settings)?;
    // An address naming its host comes from that host; `--upstream` stands in for the
    // default one (registry.terraform.io), as it does for providers.
    let (hosted, unhosted): (Vec<_>, Vec<_>) = requests
        .into_iter()
        .partition(|r| r.address.split('/').count() == 4);
    // A network mirror (`--upstream https://...`) serves providers only.
    let registry_upstream = args.upstream.clone().filter(|u| !u.contains("://"));
    for (group, upstream) in [(hosted, None), (unhosted, registry_upstream)] {
        if group.is_empty() {
            continue;
        }
        let options = tfm::Options {
            upstream,
            dry_run: args.dry_run,
            ..tfm::Options::default()
        };
        let part = tfm::mirror_modules(target.packages(out), &client, out, &group, &options).await;
        outcome.results.extend(part.results);
        outcome.failed_requests += part.failed_requests;
    }
    super::mirror::report(
        out,
        &outcome.results,
        settings.location.describe(),
        args.dry_run,
    );
    Ok(outcome)
}

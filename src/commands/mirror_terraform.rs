//! `opp mirror terraform-provider ADDRESS[@CONSTRAINT]...`: plan each provider from its
//! registry (version, platforms, verified SHA256SUMS), run the plan into the configured store
//! through the shared pipeline, print what happened to each file and a summary.

use std::collections::BTreeMap;

use crate::cli::MirrorTerraformProviderArgs;
use crate::config::Settings;
use crate::ecosystem::terraform_provider as tfp;
use crate::mirror::terraform::TerraformMirrorError as Error;
use crate::mirror::terraform::lock;
use crate::mirror::terraform::network_mirror::{self, NetworkMirror, Upstream};
use crate::mirror::terraform::plan::VersionMeta;
use crate::mirror::terraform::plan::{self, Options};
use crate::mirror::terraform::plan_mirror;
use crate::mirror::terraform::provenance::Provenance;
use crate::mirror::terraform::registry::Registry;
use crate::mirror::terraform::sink::ProviderSink;
use crate::mirror::terraform::verify;
use crate::mirror::{self, download};
use crate::output::Output;

/// Whether the error's message already names the provider and version.
fn names_provider(e: &Error) -> bool {
    matches!(
        e,
        Error::NoVersion { .. }
            | Error::NoPlatform { .. }
            | Error::OddFileName { .. }
            | Error::SplitSums { .. }
            | Error::Signature { .. }
            | Error::ShasumMismatch { .. }
            | Error::NotInSums { .. }
            | Error::LockMismatch { .. }
            | Error::MirrorNoHashes { .. }
    )
}

pub async fn provider(
    settings: &Settings,
    out: &Output,
    args: MirrorTerraformProviderArgs,
) -> anyhow::Result<()> {
    let mut requests = args
        .providers
        .iter()
        .map(|s| plan::parse_request(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(path) = &args.lock {
        let text =
            std::fs::read_to_string(path).map_err(|source| crate::mirror::MirrorError::Read {
                path: path.display().to_string(),
                source,
            })?;
        let bad = |reason: String| Error::BadLock {
            path: path.display().to_string(),
            reason,
        };
        for locked in lock::read(&text).map_err(bad)? {
            requests.push(plan::from_lock(&locked)?);
        }
    }
    let mirrored = mirror_requests(settings, out, &requests, &args, &|_, _| None).await?;
    if args.json {
        out.json(&mirrored.json);
    }
    mirrored.complete()
}

/// What [`mirror_requests`] did: every file's result, and how many requests could not be
/// planned.
pub(crate) struct Mirrored {
    pub results: Vec<mirror::FileResult>,
    /// The results as `--json` prints them, each with its version's provenance.
    pub json: Vec<serde_json::Value>,
    pub failed_requests: usize,
}

impl Mirrored {
    /// An error when a file failed or a request could not be planned (said above).
    pub fn complete(&self) -> anyhow::Result<()> {
        let (_, _, failed, _) = mirror::counts(&self.results);
        let failed_requests = self.failed_requests;
        if failed > 0 || failed_requests > 0 {
            anyhow::bail!(
                "the mirror is incomplete: {failed} file(s) failed and {failed_requests} \
                 provider(s) could not be planned (see above)"
            );
        }
        Ok(())
    }
}

/// Plans `requests` (with `args`' platforms, upstream, signature and dry-run choices; its
/// providers and lock are not read here), runs the plan into the configured store and prints
/// what happened. `explain` may give the line printed for a request that cannot be planned.
pub(crate) async fn mirror_requests(
    settings: &Settings,
    out: &Output,
    requests: &[plan::Request],
    args: &MirrorTerraformProviderArgs,
    explain: &dyn Fn(&plan::Request, &Error) -> Option<String>,
) -> anyhow::Result<Mirrored> {
    let options = Options {
        platforms: args
            .platforms
            .iter()
            .map(|p| tfp::parse_platform(p))
            .collect::<Result<Vec<_>, _>>()?,
        skip_signature: args.insecure_skip_signature,
        verify_first: args.dry_run,
    };
    if options.skip_signature {
        out.warn(
            "--insecure-skip-signature: SHA256SUMS signatures are NOT checked; the zips are \
             checked only against an SHA256SUMS anyone between you and the registry could have \
             written, and the versions are stored marked unverified",
        );
    }
    let client = download::client()?;
    let scratch = tempfile::Builder::new()
        .prefix("opp-mirror-terraform.")
        .tempdir()?;
    let mut registries: BTreeMap<String, Registry> = BTreeMap::new();
    let mut files = Vec::new();
    let mut versions = BTreeMap::new();
    let mut failed_requests = 0;
    for request in requests {
        let host = args
            .upstream
            .clone()
            .unwrap_or_else(|| request.address.hostname.clone());
        let planned = async {
            match network_mirror::parse_upstream(&host)? {
                Upstream::Mirror(base) => {
                    let mirror = NetworkMirror::new(&client, base);
                    plan_mirror::plan(&mirror, request, &options).await
                }
                Upstream::Registry(base) => {
                    if !registries.contains_key(base.as_str()) {
                        let found = Registry::discover(&client, &base).await?;
                        registries.insert(base.to_string(), found);
                    }
                    let registry = &registries[base.as_str()];
                    plan::plan(&client, registry, request, &options, scratch.path()).await
                }
            }
        }
        .await;
        match planned {
            Ok(p) => {
                for m in &p.missing {
                    out.warn(format!(
                        "{} {} has no {m}",
                        p.version.name, p.version.version
                    ));
                }
                let signed = match &p.version.signer {
                    Some(s) => format!(
                        "SHA256SUMS signed by {}{}",
                        s.key_id,
                        s.user_id
                            .as_deref()
                            .map(|u| format!(" ({u})"))
                            .unwrap_or_default()
                    ),
                    None if p.version.mirror.is_some() => {
                        "unsigned (a network mirror signs nothing), checked against its hashes"
                            .to_owned()
                    }
                    None if p
                        .version
                        .unverified
                        .as_ref()
                        .is_some_and(|u| !u.skip_signature) =>
                    {
                        "SHA256SUMS signature checked before anything is stored".to_owned()
                    }
                    None => "signature NOT checked".to_owned(),
                };
                out.status(format!(
                    "{} {}: {} platform(s) from {host}, {signed}",
                    p.version.name,
                    p.version.version,
                    p.version.zips.len()
                ));
                files.extend(p.files);
                versions.insert(
                    (p.version.name.clone(), p.version.version.clone()),
                    p.version,
                );
            }
            Err(e) => {
                failed_requests += 1;
                let message = crate::error::reason(&e);
                if let Some(line) = explain(request, &e) {
                    out.warn(line);
                } else if names_provider(&e) {
                    out.warn(message);
                } else {
                    out.warn(format!("{}: {message}", request.name));
                }
            }
        }
    }
    let target = super::open(&settings.location, settings)?;
    let sink = ProviderSink::new(target.packages(out), versions);
    let results = mirror::execute(files, &sink, &client, out, args.dry_run).await;
    let signers = sink.signers.into_inner().unwrap_or_default();
    let mut versions = sink.versions;
    for (key, signer) in signers {
        out.status(format!(
            "{} {}: SHA256SUMS signed by {}{}",
            key.0,
            key.1,
            signer.key_id,
            signer
                .user_id
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        ));
        if let Some(meta) = versions.get_mut(&key) {
            meta.provenance =
                verify::signed_provenance(meta.provenance.clone(), Some(&signer), &meta.sums_name);
            meta.signer = Some(signer);
        }
    }
    super::mirror::report(out, &results, settings.location.describe(), args.dry_run);
    let json = with_provenance(&results, &versions);
    Ok(Mirrored {
        results,
        json,
        failed_requests,
    })
}

/// The results as `--json` prints them: each with the provenance of its version (what it was
/// verified with and where it came from), `null` for a version that was not planned.
fn with_provenance(
    results: &[mirror::FileResult],
    versions: &BTreeMap<(String, String), VersionMeta>,
) -> Vec<serde_json::Value> {
    results
        .iter()
        .map(|r| {
            let mut value = serde_json::to_value(r).unwrap_or_default();
            let provenance = versions
                .get(&(r.package.clone(), r.version.clone()))
                .and_then(|m| Provenance::of(&m.provenance.annotations));
            if let Some(object) = value.as_object_mut() {
                object.insert(
                    "provenance".to_owned(),
                    serde_json::to_value(provenance).unwrap_or_default(),
                );
            }
            value
        })
        .collect()
}

//! `opp mirror terraform-module ADDRESS[@CONSTRAINT]...`: plan each module from its registry,
//! fetch and repack each version into the configured store
//! (`mirror::terraform_module::mirror_modules`), print what happened and a summary.

use crate::cli::MirrorTerraformModuleArgs;
use crate::config::Settings;
use crate::mirror::terraform_module::{ModuleRequest, Options, mirror_modules};
use crate::mirror::{self, download};
use crate::output::Output;

pub async fn run(
    settings: &Settings,
    out: &Output,
    args: MirrorTerraformModuleArgs,
) -> anyhow::Result<()> {
    let requests: Vec<ModuleRequest> = args
        .modules
        .iter()
        .map(|s| ModuleRequest::parse(s))
        .collect();
    let options = Options {
        upstream: args.upstream.clone(),
        dry_run: args.dry_run,
        max_unpacked_bytes: args.max_unpacked_size.as_u64(),
    };
    let client = download::client()?;
    let target = super::open(&settings.location, settings)?;
    let outcome = mirror_modules(target.packages(out), &client, out, &requests, &options).await;
    super::mirror::report(
        out,
        &outcome.results,
        settings.location.describe(),
        args.dry_run,
    );
    if args.json {
        out.json(&outcome.results);
    }
    let (_, _, failed, _) = mirror::counts(&outcome.results);
    if failed > 0 || outcome.failed_requests > 0 {
        anyhow::bail!(
            "the mirror is incomplete: {failed} module version(s) failed and {} module(s) could \
             not be planned (see above)",
            outcome.failed_requests
        );
    }
    Ok(())
}

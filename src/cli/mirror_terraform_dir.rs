//! The arguments of `opp mirror terraform --dir DIR`.

use std::path::PathBuf;

use clap::Args;

pub const MIRROR_TERRAFORM_EXAMPLES: &str = "\
Examples:
  opp mirror terraform --dir ./infra                      # every provider and registry module it requires
  opp mirror terraform --dir . --platform linux_amd64 --platform darwin_arm64
  opp mirror terraform --dir ./infra --upstream tf.corp.example   # providers fetched there
  opp mirror terraform --dir ./infra --dry-run --json             # the plan, nothing written";

#[derive(Debug, Args)]
pub struct MirrorTerraformArgs {
    /// The configuration's root module: its .tf files and the local modules it calls (./x,
    /// ../x) are read for required_providers, provider blocks, resources' implied providers
    /// and registry module calls. Per provider, the newest version meeting every constraint in
    /// the tree is mirrored; a .terraform.lock.hcl there wins for the providers it locks.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every
    /// platform the registry lists for the version.
    #[arg(long = "platform", value_name = "OS_ARCH")]
    pub platforms: Vec<String>,
    /// The provider registry to fetch every provider from (its /.well-known/terraform.json),
    /// instead of each address's host (registry.terraform.io when it names none).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub upstream: Option<String>,
    /// DANGEROUS: do not check SHA256SUMS's OpenPGP signature against the registry's keys (the
    /// zips are still checked against SHA256SUMS); the stored versions say they are unverified.
    #[arg(long)]
    pub insecure_skip_signature: bool,
    /// Print the plan (providers, registry modules, what would be mirrored); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the requirements found and the result of every file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

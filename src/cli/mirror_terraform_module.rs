//! The arguments of `opp mirror terraform-module`.

use clap::Args;

use crate::ecosystem::limits::DEFAULT_MAX_UNPACKED;

pub const MIRROR_TERRAFORM_MODULE_EXAMPLES: &str = "\
Examples:
  opp mirror terraform-module terraform-aws-modules/vpc/aws@5.16.0
  opp mirror terraform-module acme/vpc/aws@'~> 1.2' tf.corp.example/acme/dns/aws
  opp mirror terraform-module acme/vpc/aws --upstream tf.corp.example   # fetched there, stored as acme/vpc/aws
  opp mirror terraform-module acme/vpc/aws --dry-run --json             # the plan, nothing written";

#[derive(Debug, Args)]
pub struct MirrorTerraformModuleArgs {
    /// Modules to mirror: NAMESPACE/NAME/SYSTEM or HOST/NAMESPACE/NAME/SYSTEM (stored as
    /// NAMESPACE/NAME/SYSTEM), with an optional @CONSTRAINT in Terraform's syntax (e.g.
    /// '~> 5.16'); the newest matching version is mirrored, its whole package (an https
    /// archive or a git repository at its ref) zipped as `opp push terraform-module` zips it.
    #[arg(value_name = "ADDRESS[@CONSTRAINT]", required = true)]
    pub modules: Vec<String>,
    /// The module registry to fetch from (its /.well-known/terraform.json), instead of the
    /// address's host (registry.terraform.io when it names none).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub upstream: Option<String>,
    /// The most one module package may unpack to, e.g. 4GiB; a larger one is refused and
    /// nothing is stored.
    #[arg(long, default_value = DEFAULT_MAX_UNPACKED, value_name = "SIZE")]
    pub max_unpacked_size: bytesize::ByteSize,
    /// Print the plan (what would be mirrored, what is already stored); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result of every module version as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

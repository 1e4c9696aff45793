//! The arguments of `opp mirror terraform-provider`.

use clap::Args;

pub const MIRROR_TERRAFORM_PROVIDER_EXAMPLES: &str = "\
Examples:
  opp mirror terraform-provider hashicorp/aws@'~> 5.80'       # every platform it has
  opp mirror terraform-provider hashicorp/aws hashicorp/random --platform linux_amd64 --platform darwin_arm64
  opp mirror terraform-provider acme/hello --upstream tf.corp.example   # fetched there, stored as acme/hello
  opp mirror terraform-provider hashicorp/aws --upstream https://mirror.example/providers/   # a network mirror
  opp mirror terraform-provider --lock .terraform.lock.hcl       # exactly the locked versions, hashes checked
  opp mirror terraform-provider hashicorp/aws --dry-run --json          # the plan, nothing written";

#[derive(Debug, Args)]
pub struct MirrorTerraformProviderArgs {
    /// Providers to mirror: NAMESPACE/TYPE or HOSTNAME/NAMESPACE/TYPE (stored under that
    /// address), with an optional @CONSTRAINT in Terraform's syntax (e.g. '~> 5.80'); the
    /// newest matching version is mirrored.
    #[arg(value_name = "ADDRESS[@CONSTRAINT]", required_unless_present = "lock")]
    pub providers: Vec<String>,
    /// A .terraform.lock.hcl: every provider it locks, at exactly the locked version, for the
    /// platforms whose zips its zh: hashes name (checked against them and, when every platform
    /// is mirrored, its h1: hashes).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<std::path::PathBuf>,
    /// Mirror only this platform (OS_ARCH, e.g. linux_amd64); repeatable. Default: every
    /// platform the registry lists for the version.
    #[arg(long = "platform", value_name = "OS_ARCH")]
    pub platforms: Vec<String>,
    /// Where to fetch from instead of the address's host (registry.terraform.io when it names
    /// none); what is stored is still named by the address. HOST[:PORT] is a provider registry
    /// (found through its /.well-known/terraform.json); an https:// URL is a provider network
    /// mirror (HOSTNAME/NAMESPACE/TYPE/index.json under it, what `terraform providers mirror`
    /// writes), as in Terraform's own CLI config. A network mirror signs nothing: each zip is
    /// checked against its h1:/zh: hashes (and --lock's), and the version is stored unsigned.
    #[arg(long, value_name = "HOST[:PORT]|URL")]
    pub upstream: Option<String>,
    /// DANGEROUS: do not check SHA256SUMS's OpenPGP signature against the registry's keys (the
    /// zips are still checked against SHA256SUMS); the stored versions say they are unverified.
    #[arg(long)]
    pub insecure_skip_signature: bool,
    /// Print the plan (what would be mirrored, what is already stored); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result of every file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

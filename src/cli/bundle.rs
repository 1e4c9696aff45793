//! The arguments of `opp export` and `opp import` (air-gap bundles, docs/bundles.md).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = EXPORT_EXAMPLES, after_long_help = EXPORT_EXAMPLES)]
pub struct ExportArgs {
    /// What to export: ECOSYSTEM:NAME[@SPEC], SPEC in the ecosystem's own syntax as `opp pull`
    /// takes it (a version, `>=5,<6`, `~> 5.80`, `[13.0,14.0)`); every stored version it admits
    /// (all of them without SPEC).
    #[arg(
        value_name = "ITEM",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub items: Vec<String>,
    /// Export every version of every package in the store.
    #[arg(long)]
    pub all: bool,
    /// The bundle to write: a tar, zstd-compressed when the name ends in .zst (deps.tar.zst).
    /// Its opp-bundle.json is also written beside it, as FILE.opp-bundle.json.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Leave out what this earlier bundle holds (a delta bundle).
    #[arg(long, value_name = "OLD.tar", conflicts_with = "since_index")]
    pub since: Option<PathBuf>,
    /// As --since, from the earlier bundle's opp-bundle.json (written beside it on export).
    #[arg(long, value_name = "OLD.opp-bundle.json")]
    pub since_index: Option<PathBuf>,
    /// Print what was exported as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

const EXPORT_EXAMPLES: &str = "\
Examples:
  opp export pypi:requests pypi:django@5.1.2 terraform-provider:hashicorp/aws@'~> 5.80' -o deps.tar
  opp export --all -o everything.tar.zst
  opp export --all --since everything.tar.zst -o delta.tar.zst
  opp export --all --since-index everything.tar.zst.opp-bundle.json -o delta.tar.zst";

#[derive(Debug, Args)]
#[command(after_help = IMPORT_EXAMPLES, after_long_help = IMPORT_EXAMPLES)]
pub struct ImportArgs {
    /// The bundle (`opp export`'s tar or .tar.zst).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Read and verify the whole bundle and report what would happen; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace files (and Terraform versions) the target holds with other bytes.
    #[arg(long)]
    pub force: bool,
    /// Print the per-version report as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

const IMPORT_EXAMPLES: &str = "\
Examples:
  opp import deps.tar
  OPP_REGISTRY=harbor.internal/acme opp import deps.tar --dry-run";

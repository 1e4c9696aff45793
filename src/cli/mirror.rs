//! The arguments of `opp mirror` (one subcommand per ecosystem).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[path = "mirror_nuget.rs"]
mod mirror_nuget;
pub use mirror_nuget::MirrorNugetArgs;

#[path = "mirror_terraform_dir.rs"]
mod mirror_terraform_dir;
pub use mirror_terraform_dir::MirrorTerraformArgs;

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Mirror Python packages, with their dependencies, from a simple index (PyPI by default).
    #[command(after_help = MIRROR_PYPI_EXAMPLES, after_long_help = MIRROR_PYPI_EXAMPLES)]
    Pypi(MirrorPypiArgs),
    /// Mirror Ruby gems, with their runtime dependencies, from a gem source (rubygems.org by
    /// default).
    #[command(after_help = MIRROR_RUBYGEMS_EXAMPLES, after_long_help = MIRROR_RUBYGEMS_EXAMPLES)]
    Rubygems(MirrorRubygemsArgs),
    /// Mirror NuGet packages, with their dependencies per target framework, from a v3 feed
    /// (nuget.org by default).
    #[command(after_help = mirror_nuget::MIRROR_NUGET_EXAMPLES, after_long_help = mirror_nuget::MIRROR_NUGET_EXAMPLES)]
    Nuget(MirrorNugetArgs),
    /// Mirror Terraform providers from a provider registry, signatures checked, every platform.
    #[command(
        after_help = super::MIRROR_TERRAFORM_PROVIDER_EXAMPLES,
        after_long_help = super::MIRROR_TERRAFORM_PROVIDER_EXAMPLES
    )]
    TerraformProvider(super::MirrorTerraformProviderArgs),
    /// Mirror Terraform modules from a module registry: the whole package its download names
    /// (an https archive or a git repository), zipped in OpenTofu's layout.
    #[command(
        after_help = mirror_terraform_module::MIRROR_TERRAFORM_MODULE_EXAMPLES,
        after_long_help = mirror_terraform_module::MIRROR_TERRAFORM_MODULE_EXAMPLES
    )]
    TerraformModule(MirrorTerraformModuleArgs),
    /// Mirror the providers and registry modules a Terraform configuration requires, read from
    /// its .tf files.
    #[command(
        after_help = mirror_terraform_dir::MIRROR_TERRAFORM_EXAMPLES,
        after_long_help = mirror_terraform_dir::MIRROR_TERRAFORM_EXAMPLES
    )]
    Terraform(MirrorTerraformArgs),
}

#[path = "mirror_terraform_module.rs"]
mod mirror_terraform_module;
pub use mirror_terraform_module::MirrorTerraformModuleArgs;

#[path = "mirror_rubygems.rs"]
mod mirror_rubygems;
pub use mirror_rubygems::{MIRROR_RUBYGEMS_EXAMPLES, MirrorRubygemsArgs};

const MIRROR_PYPI_EXAMPLES: &str = "\
Examples:
  opp mirror pypi requests 'django>=5,<6'        # newest match + its dependencies
  opp mirror pypi 'requests[socks]==2.32.3'      # with an extra's dependencies
  opp mirror pypi -r requirements.txt            # pins (and --hash lines) as given
  opp mirror pypi --lock pylock.toml             # exactly the files a lock lists (also uv.lock)
  opp mirror pypi numpy --python-version 3.12 --platform manylinux_2_17_x86_64 --platform win_amd64
  opp mirror pypi requests --dry-run --json      # the plan, nothing written";

#[derive(Debug, Args)]
pub struct MirrorPypiArgs {
    /// Packages to mirror with their dependencies, as PEP 508 requirements: NAME,
    /// NAME==VERSION, 'NAME>=1,<2', NAME[EXTRA].
    #[arg(value_name = "SPEC", required_unless_present_any = ["requirements", "lock"])]
    pub specs: Vec<String>,
    /// A requirements file: pinned lines (NAME==VERSION, with --hash=sha256:... lines) are
    /// mirrored exactly, unpinned ones with their dependencies; repeatable.
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirements: Vec<PathBuf>,
    /// A lock file mirrored exactly, no resolution: PEP 751 pylock.toml, or uv.lock (every
    /// file it lists from an index; with targets, the wheels some target can install);
    /// repeatable.
    #[arg(long, value_name = "FILE")]
    pub lock: Vec<PathBuf>,
    /// A constraints file (NAME<SPECIFIER> lines) applied to every package it names; repeatable.
    #[arg(short = 'c', long = "constraint", value_name = "FILE")]
    pub constraints: Vec<PathBuf>,
    /// The simple index to mirror from (PEP 503 HTML or PEP 691 JSON). Default: `upstream`
    /// of [mirror.pypi] in the config file, else https://pypi.org/simple/. Credentials as pip
    /// finds them: https://USER:PASSWORD@HOST/..., else the host's ~/.netrc (NETRC) entry,
    /// else, for https://USER@HOST/..., the keyring entry of service HOST and user USER; never
    /// printed.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Mirror for this Python version (e.g. 3.12): markers, Requires-Python and wheel tags
    /// are checked against it; repeatable. Default: any.
    #[arg(long = "python-version", value_name = "X.Y")]
    pub python_versions: Vec<String>,
    /// Mirror for this platform tag (e.g. manylinux_2_17_x86_64, macosx_11_0_arm64,
    /// win_amd64; Linux and macOS tags cover their older releases, as pip does); repeatable.
    /// Default: any.
    #[arg(long = "platform", value_name = "TAG")]
    pub platforms: Vec<String>,
    /// Wheels only, for :all: packages or the ones named (comma-separated), as pip's flag.
    #[arg(long, value_delimiter = ',', value_name = ":all:|NAME,...")]
    pub only_binary: Vec<String>,
    /// Source distributions only, for :all: packages or the ones named, as pip's flag.
    #[arg(long, value_delimiter = ',', value_name = ":all:|NAME,...")]
    pub no_binary: Vec<String>,
    /// Every file of each chosen version, not only those for the targets.
    #[arg(long)]
    pub all_files: bool,
    /// Allow pre-releases (a pinned pre-release is taken without it).
    #[arg(long)]
    pub pre: bool,
    /// Download every file into a temporary file before storing it. By default a wheel whose
    /// sha256, size and metadata the index states (PEP 691 JSON with PEP 658, as PyPI serves
    /// them) streams straight into the store.
    #[arg(long)]
    pub no_stream: bool,
    /// Print the plan (what would be mirrored, what is already stored); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result of every file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

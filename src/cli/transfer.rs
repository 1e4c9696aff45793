//! The arguments of the per-ecosystem subcommands that move packages: `opp push`, `opp pull`
//! and `opp lock` (one subcommand per ecosystem, each with its own arguments), and which
//! command in `commands/` each push and pull runs: an ecosystem's push and pull are
//! registered here, in one place.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::ecosystem::limits::DEFAULT_MAX_UNPACKED;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Push Python wheels and sdists (files, or directories holding them).
    Pypi(PushPypiArgs),
    /// Push a Terraform provider release directory (goreleaser layout) as one version.
    TerraformProvider(PushProviderArgs),
    /// Push a Terraform module (a directory, zipped reproducibly, or a zip) as one version.
    TerraformModule(PushModuleArgs),
    /// Push NuGet packages (.nupkg, and .snupkg symbols beside them; files or directories).
    Nuget(PushNugetArgs),
    /// Push Ruby gems (.gem files, or directories holding them).
    Rubygems(PushRubygemsArgs),
}

impl PushCommand {
    /// Runs the ecosystem's push (`commands/`).
    pub async fn run(self, settings: &Settings, out: &Output) -> anyhow::Result<()> {
        use crate::commands::{provider, push};
        match self {
            PushCommand::Pypi(args) => push::pypi(settings, out, args).await,
            PushCommand::TerraformProvider(args) => provider::push(settings, out, args).await,
            PushCommand::TerraformModule(args) => push::terraform_module(settings, out, args).await,
            PushCommand::Nuget(args) => push::nuget(settings, out, args).await,
            PushCommand::Rubygems(args) => push::rubygems(settings, out, args).await,
        }
    }
}

#[derive(Debug, Args)]
pub struct PushProviderArgs {
    /// The provider, NAMESPACE/TYPE (e.g. acme/hello).
    #[arg(value_name = "NAMESPACE/TYPE")]
    pub provider: String,
    /// The release directory: terraform-provider-TYPE_VERSION_OS_ARCH.zip per platform,
    /// terraform-provider-TYPE_VERSION_SHA256SUMS, optionally its .sig and _manifest.json.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub push: PushFlags,
}

#[derive(Debug, Args)]
pub struct PushModuleArgs {
    /// The module address, NAMESPACE/NAME/SYSTEM (e.g. acme/network/aws).
    #[arg(value_name = "NAMESPACE/NAME/SYSTEM")]
    pub module: String,
    /// The version to publish (semver, e.g. 1.2.0).
    pub version: String,
    /// The module's root directory, or a zip of it.
    #[arg(value_name = "DIR|ZIP")]
    pub path: PathBuf,
    #[command(flatten)]
    pub push: PushFlags,
}

#[derive(Debug, Args)]
pub struct PushPypiArgs {
    /// Wheels, sdists, or directories holding them (e.g. ./dist).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub push: PushFlags,
}

#[derive(Debug, Args)]
pub struct PushNugetArgs {
    /// .nupkg and .snupkg files, or directories holding them (e.g. ./bin/Release).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub push: PushFlags,
}

#[derive(Debug, Args)]
pub struct PushRubygemsArgs {
    /// Gems, or directories holding them (e.g. ./pkg).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub push: PushFlags,
}

#[derive(Debug, Args)]
pub struct PushFlags {
    /// Replace a stored file of the same name that has other bytes.
    #[arg(long)]
    pub force: bool,
    /// Print what was pushed as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Lock a Terraform provider version with the zh: and h1: hashes of all its platforms.
    TerraformProvider(LockProviderArgs),
}

#[derive(Debug, Args)]
pub struct LockProviderArgs {
    /// NAMESPACE/TYPE, optionally @VERSION or @CONSTRAINT; default: the newest release.
    #[arg(value_name = "NAMESPACE/TYPE[@CONSTRAINT]")]
    pub provider: String,
    /// The lock file to write or update.
    #[arg(long, default_value = ".terraform.lock.hcl", value_name = "FILE")]
    pub lock_file: PathBuf,
    /// Registry hostname of the provider address in the lock file (default: the address's
    /// own, registry.terraform.io when it names none).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Print the locked version and hashes as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PullCommand {
    /// Pull Python wheels and sdists.
    Pypi(PullPypiArgs),
    /// Write a Terraform provider version into a filesystem mirror directory.
    TerraformProvider(PullProviderArgs),
    /// Unpack a Terraform module version into a directory.
    TerraformModule(PullModuleArgs),
    /// Pull a NuGet package (.nupkg).
    Nuget(PullNugetArgs),
    /// Pull a Ruby gem (the plain `ruby` gem, or the one for --platform).
    Rubygems(PullRubygemsArgs),
}

impl PullCommand {
    /// Runs the ecosystem's pull (`commands/`).
    pub async fn run(self, settings: &Settings, out: &Output) -> anyhow::Result<()> {
        use crate::commands::{provider, pull};
        match self {
            PullCommand::Pypi(args) => pull::pypi(settings, out, args).await,
            PullCommand::TerraformProvider(args) => provider::pull(settings, out, args).await,
            PullCommand::TerraformModule(args) => pull::terraform_module(settings, out, args).await,
            PullCommand::Nuget(args) => pull::nuget(settings, out, args).await,
            PullCommand::Rubygems(args) => pull::rubygems(settings, out, args).await,
        }
    }
}

#[derive(Debug, Args)]
pub struct PullProviderArgs {
    /// NAMESPACE/TYPE, optionally @VERSION or @CONSTRAINT (Terraform syntax, e.g.
    /// 'acme/hello@~> 1.2'); default: the newest release.
    #[arg(value_name = "NAMESPACE/TYPE[@CONSTRAINT]")]
    pub provider: String,
    /// The mirror directory. The default, terraform.d/plugins, is one terraform searches by
    /// itself; otherwise pass it to `terraform init -plugin-dir DIR`.
    #[arg(long, short, default_value = "terraform.d/plugins", value_name = "DIR")]
    pub output: PathBuf,
    /// Platform to fetch, as OS_ARCH (e.g. linux_amd64); repeatable. Default: this machine's.
    #[arg(long, value_name = "OS_ARCH", conflicts_with = "all_platforms")]
    pub platform: Vec<String>,
    /// Fetch every stored platform.
    #[arg(long)]
    pub all_platforms: bool,
    /// Registry hostname of the provider address the mirror serves (default: the address's
    /// own, registry.terraform.io when it names none).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Write the unpacked layout (HOST/NS/TYPE/VERSION/OS_ARCH/) instead of zips.
    #[arg(long)]
    pub unpacked: bool,
    /// With --unpacked: the most one provider zip may unpack to, e.g. 4GiB; a zip that
    /// unpacks to more is refused and nothing is written.
    #[arg(long, default_value = DEFAULT_MAX_UNPACKED, value_name = "SIZE")]
    pub max_unpacked_size: bytesize::ByteSize,
    /// Print what was written as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PullModuleArgs {
    /// NAMESPACE/NAME/SYSTEM, optionally @VERSION (default: the newest release).
    #[arg(value_name = "NAMESPACE/NAME/SYSTEM[@VERSION]")]
    pub module: String,
    /// Directory to unpack the module into (created; must be empty unless --force).
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
    /// Replace the contents of a non-empty output directory.
    #[arg(long)]
    pub force: bool,
    /// The most the module zip may unpack to, e.g. 4GiB; a zip that unpacks to more is
    /// refused and nothing is written.
    #[arg(long, default_value = DEFAULT_MAX_UNPACKED, value_name = "SIZE")]
    pub max_unpacked_size: bytesize::ByteSize,
    /// Print what was written as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PullPypiArgs {
    /// NAME, NAME==VERSION or NAME with PEP 440 specifiers (e.g. 'attrs>=23,<24'); several
    /// are pulled together, a few at a time.
    #[arg(
        value_name = "REQUIREMENT",
        required_unless_present = "requirement_files"
    )]
    pub requirements: Vec<String>,
    /// Also pull every requirement in FILE (pip's format: one per line, `#` comments,
    /// `--hash=sha256:...`; editable, URL and path lines are refused); repeatable.
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirement_files: Vec<PathBuf>,
    /// Directory to write the files into.
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub output: PathBuf,
    /// Allow pre-release versions.
    #[arg(long)]
    pub pre: bool,
    /// Keep only files installable on this Python version (e.g. 3.11).
    #[arg(long, value_name = "X.Y")]
    pub python_version: Option<String>,
    /// Keep only files installable on this platform (e.g. manylinux_2_17_x86_64); repeatable.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Vec<String>,
    /// Python implementation for the filter (cp, pp ...; default cp).
    #[arg(long, value_name = "IMPL")]
    pub implementation: Option<String>,
    /// ABI for the filter (e.g. cp311, abi3); repeatable.
    #[arg(long, value_name = "ABI")]
    pub abi: Vec<String>,
    /// Print what was written as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PullNugetArgs {
    /// ID, ID@VERSION (exactly that version) or ID@RANGE in NuGet's notation (e.g.
    /// 'Newtonsoft.Json@[13.0,14.0)'); default: the newest stable version. Several are
    /// pulled together.
    #[arg(value_name = "ID[@VERSION|RANGE]", required = true)]
    pub packages: Vec<String>,
    /// Directory to write the .nupkg into.
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub output: PathBuf,
    /// Allow pre-release versions (also --pre).
    #[arg(long, visible_alias = "pre")]
    pub prerelease: bool,
    /// Print what was written as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PullRubygemsArgs {
    /// NAME, NAME@VERSION or NAME@REQUIREMENT (RubyGems syntax, e.g. 'rack@~> 3.0' or
    /// 'rack@>= 2, < 4'); default: the newest release. Several are pulled together.
    #[arg(value_name = "NAME[@REQUIREMENT]", required = true)]
    pub gems: Vec<String>,
    /// Directory to write the gem into.
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub output: PathBuf,
    /// The gem platform to pull (e.g. x86_64-linux, java); default: the plain `ruby` gem.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Allow pre-release versions (also --prerelease).
    #[arg(long, visible_alias = "prerelease")]
    pub pre: bool,
    /// Print what was written as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

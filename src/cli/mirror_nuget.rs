//! The arguments of `opp mirror nuget`.

use std::path::PathBuf;

use clap::Args;

pub const MIRROR_NUGET_EXAMPLES: &str = "\
Examples:
  opp mirror nuget Newtonsoft.Json --framework net8.0          # newest + what net8.0 needs
  opp mirror nuget 'Serilog@[3.0,4.0)' --framework net8.0 --framework netstandard2.0
  opp mirror nuget Serilog@3.1.1 --framework net48             # exactly that version
  opp mirror nuget --lock packages.lock.json                   # exact versions, contentHash checked
  opp mirror nuget --project src/App/App.csproj                # its PackageReference items
  opp mirror nuget Serilog --framework net8.0 --symbols        # with its .snupkg symbols
  opp mirror nuget Serilog --framework net8.0 --dry-run --json # the plan, nothing written";

#[derive(Debug, Args)]
pub struct MirrorNugetArgs {
    /// Packages to mirror with their dependencies: ID (newest stable), ID@VERSION (exactly
    /// that version) or ID@RANGE in NuGet's notation ('Serilog@[3.0,4.0)': its newest match).
    #[arg(value_name = "ID[@RANGE]", required_unless_present_any = ["lock", "project"])]
    pub packages: Vec<String>,
    /// Mirror the dependencies this target framework needs (net8.0, net6.0, netstandard2.0,
    /// netcoreapp3.1, net48 ...), each package's nearest dependency group as NuGet chooses
    /// it; repeatable. Default: every dependency group.
    #[arg(long = "framework", value_name = "TFM")]
    pub frameworks: Vec<String>,
    /// A packages.lock.json mirrored exactly, no resolution: every package version it names,
    /// checked against its contentHash (SHA-512); repeatable.
    #[arg(long, value_name = "FILE")]
    pub lock: Vec<PathBuf>,
    /// An SDK-style project (.csproj, .fsproj ...): its PackageReference items (versions from
    /// Directory.Packages.props for Central Package Management) with their dependencies, for
    /// its TargetFramework(s); repeatable.
    #[arg(long, value_name = "FILE")]
    pub project: Vec<PathBuf>,
    /// The NuGet v3 feed to mirror from: its service index URL, or the key of a package source
    /// in NuGet.Config. Default: `upstream` of [mirror.nuget] in opp's config file, else
    /// https://api.nuget.org/v3/index.json. Credentials are found as NuGet finds them
    /// (packageSourceCredentials of the source with that URL in NuGet.Config), else in
    /// https://USER:TOKEN@HOST/..., ~/.netrc or the keyring; never printed.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// The NuGet.Config to read package sources and credentials from, alone (as `nuget
    /// -ConfigFile` and `dotnet --configfile`); default: the NuGet.Config files NuGet reads
    /// (this directory and those above it, then the user's and the machine's).
    #[arg(long, value_name = "FILE")]
    pub configfile: Option<PathBuf>,
    /// A range on the command line mirrors its lowest match (as dependencies always do), not
    /// its newest.
    #[arg(long)]
    pub lowest: bool,
    /// Allow pre-release versions (a pinned pre-release, or a range naming one, is taken
    /// without it).
    #[arg(long)]
    pub prerelease: bool,
    /// Also mirror each version's .snupkg symbols package where the feed has one (nuget.org's
    /// https://www.nuget.org/api/v2/symbolpackage/ID/VERSION, beside the feed's
    /// SymbolPackagePublish resource, else its flat container), stored beside the .nupkg.
    #[arg(long)]
    pub symbols: bool,
    /// Print the plan (what would be mirrored, what is already stored); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result of every file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

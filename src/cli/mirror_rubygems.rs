//! The arguments of `opp mirror rubygems`.

use std::path::PathBuf;

use clap::Args;

pub const MIRROR_RUBYGEMS_EXAMPLES: &str = "\
Examples:
  opp mirror rubygems rails@'~> 7.1'              # newest match + its runtime dependencies
  opp mirror rubygems nokogiri --platform x86_64-linux --platform arm64-darwin --ruby-version 3.3
  opp mirror rubygems --lock Gemfile.lock         # exactly the gems and platforms it pins
  opp mirror rubygems rack --dry-run --json       # the plan, nothing written";

#[derive(Debug, Args)]
pub struct MirrorRubygemsArgs {
    /// Gems to mirror with their runtime dependencies: NAME, or NAME@REQUIREMENT as gem
    /// writes one (rails@'~> 7.1', rack@'>= 2, < 4', rake@13.0.6).
    #[arg(value_name = "NAME[@REQUIREMENT]", required_unless_present = "lock")]
    pub specs: Vec<String>,
    /// A Gemfile.lock mirrored exactly, no resolution: every gem of its GEM sections at the
    /// version and platform it pins, checked against its CHECKSUMS section where there is
    /// one; repeatable.
    #[arg(long, value_name = "FILE")]
    pub lock: Vec<PathBuf>,
    /// Mirror for this platform (x86_64-linux, arm64-darwin, x64-mingw-ucrt, java, ruby): a
    /// version's platform gem where one runs there, else its plain gem; repeatable. Default:
    /// every file of each chosen version.
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platforms: Vec<String>,
    /// Mirror for this Ruby (X.Y or X.Y.Z): versions whose required_ruby_version excludes it
    /// are not chosen. Default: any Ruby.
    #[arg(long = "ruby-version", value_name = "X.Y")]
    pub ruby_version: Option<String>,
    /// The gem source to mirror from (its compact index, /info/NAME, and /gems/). Default:
    /// `upstream` of [mirror.rubygems] in opp's config file, else https://rubygems.org/; with
    /// --lock the lock's own remote. Credentials are found as Bundler finds them
    /// (https://USER:PASSWORD@HOST/, `bundle config set HOST USER:PASSWORD`, BUNDLE_HOST),
    /// else in ~/.netrc or the keyring; never printed.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Allow pre-releases (a requirement naming one allows them without it).
    #[arg(long)]
    pub pre: bool,
    /// Print the plan (what would be mirrored, what is already stored); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result of every file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

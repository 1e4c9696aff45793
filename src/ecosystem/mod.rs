//! What a package is, per ecosystem: finding distribution files in a path, reading their
//! metadata, choosing files on pull. Parsing is pure; only reading the files touches disk.

pub mod contract;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod nuget;
pub mod pypi;
pub mod rubygems;
pub mod terraform_module;
pub mod terraform_provider;

use crate::release::Ecosystem;

pub use contract::{Contract, Platforms};

/// Sorts versions of an ecosystem newest first, in the ecosystem's order (its contract's
/// `sort_newest_first`: PEP 440 for PyPI, semver for Terraform, NuGet.Versioning's order for
/// NuGet, `Gem::Version`'s for gems); strings that do not parse go last.
pub fn sort_newest_first(eco: Ecosystem, versions: &mut [String]) {
    (eco.contract().sort_newest_first)(versions)
}

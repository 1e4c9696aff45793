//! What a package is, per ecosystem: finding distribution files in a path, reading their
//! metadata, choosing files on pull. Parsing is pure; only reading the files touches disk.

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

/// Sorts versions of an ecosystem newest first (PEP 440 for PyPI, semver for Terraform,
/// NuGet.Versioning's order for NuGet); strings that do not parse go last.
pub fn sort_newest_first(eco: Ecosystem, versions: &mut [String]) {
    match eco {
        Ecosystem::Pypi => pypi::sort_newest_first(versions),
        Ecosystem::Nuget => nuget::sort_newest_first(versions),
        Ecosystem::Rubygems => rubygems::sort_newest_first(versions),
        _ => terraform_provider::sort_newest_first(versions),
    }
}

//! Pushing and reading NuGet packages: lay each package out as docs/formats.md (NuGet) says
//! (the nupkg entry with its nuspec as second layer, a snupkg as a second entry), push each
//! version, read a version back. Shared by `opp push nuget` and the proxy's upload endpoint;
//! reading the packages themselves is `ecosystem::nuget`.

use super::{Packages, Result};
use crate::ecosystem::nuget::NugetPackage;
use crate::packages::pypi::Pushed;
use crate::release::Release;

impl Packages<'_> {
    /// Pushes described packages, grouped into one index per id and version. A snupkg needs
    /// a nupkg of the same id and version, in this push or already stored.
    pub async fn push_nuget(&self, pkgs: Vec<NugetPackage>, force: bool) -> Result<Vec<Pushed>> {
        let _ = (pkgs, force);
        todo!()
    }

    /// One version as stored (`id` in any case, `version` in any NuGet spelling), or `None`.
    pub async fn nuget_release(&self, id: &str, version: &str) -> Result<Option<Release>> {
        let _ = (id, version);
        todo!()
    }
}

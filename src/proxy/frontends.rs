//! The frontends `opp proxy` can serve, in the order their routes and instructions appear.
//! Selecting among them (`--ecosystems`) is `commands/proxy.rs`'s job.

use super::Frontend;

/// Every frontend, one per ecosystem name.
pub fn all() -> Vec<Box<dyn Frontend>> {
    vec![
        Box::new(super::pypi::PypiFrontend),
        Box::new(super::terraform::TerraformFrontend),
        Box::new(super::nuget::NugetFrontend),
        Box::new(super::rubygems::RubygemsFrontend),
    ]
}

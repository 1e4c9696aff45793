//! The frontends `opp proxy` can serve, in the order their routes and instructions appear:
//! each ecosystem's contract names its frontend (`ecosystem::Contract::frontend`), in the
//! order of `Ecosystem::ALL`. Selecting among them (`--ecosystems`) is `commands/proxy.rs`'s
//! job.

use super::Frontend;
use crate::release::Ecosystem;

/// Every frontend, one per ecosystem name.
pub fn all() -> Vec<Box<dyn Frontend>> {
    Ecosystem::ALL
        .iter()
        .filter_map(|eco| eco.contract().frontend)
        .map(|frontend| frontend())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_frontend_is_served_once_in_the_order_of_the_ecosystems() {
        let names: Vec<&str> = super::all().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["pypi", "terraform", "nuget", "rubygems"]);
    }
}

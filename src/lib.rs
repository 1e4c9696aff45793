//! opp: publish and fetch language packages directly to and from OCI registries.
//!
//! The binary (`main.rs`) is a thin shell around this library so that tests and benchmarks
//! run the same code as the command line. The flow of every command is
//! ecosystem (what a package is) -> mapper (where it lives) -> artifact (how it is laid out)
//! -> store (how bytes move); see `docs/architecture.md`.

pub mod artifact;
pub mod auth;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod config;
pub mod digest;
pub mod ecosystem;
pub mod error;
pub mod mapper;
pub mod mirror;
pub mod output;
pub mod packages;
pub mod proxy;
pub mod release;
pub mod store;
#[cfg(test)]
mod test_util;

//! What a package is, per ecosystem: finding distribution files in a path, reading their
//! metadata, choosing files on pull. Parsing is pure; only reading the files touches disk.

pub mod pypi;
pub mod terraform_module;
pub mod terraform_provider;

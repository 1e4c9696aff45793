//! Shared set-up for opp's end-to-end tests: real tools, a real registry, isolated homes.
#![allow(dead_code)]

pub mod cli;
pub mod fault_front;
pub mod fixtures;
pub mod gem_source;
pub mod gems;
pub mod nuget;
pub mod nuget_feed;
pub mod opentofu;
pub mod registry;
pub mod static_index;
pub mod terraform;
pub mod tf_module_registry;
pub mod tf_network_mirror;
pub mod tf_registry;
pub mod token_server;

use std::path::PathBuf;

/// The path of an external tool the tests need. Looks on PATH and in the test tools
/// directory that `scripts/install-test-deps.sh` fills; a missing tool fails the test with
/// the command that installs it.
pub fn tool(name: &str) -> PathBuf {
    let tools = std::env::var_os("OPP_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            dirs::cache_dir()
                .unwrap_or_else(|| PathBuf::from(".cache"))
                .join("opp-test-tools")
        });
    let mut dirs_to_search = vec![tools.join("bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs_to_search.extend(std::env::split_paths(&path));
    }
    for d in dirs_to_search {
        let p = d.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "test tool `{name}` not found on PATH or in {}: run `scripts/install-test-deps.sh` \
         (it installs docker-registry, skopeo, htpasswd, pip, uv, twine ...)",
        tools.join("bin").display()
    );
}

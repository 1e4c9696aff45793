//! The set-up of `proxy_nuget.rs`: the real NuGet.exe 5.8 (`nuget5`, under mono), test
//! packages it packs from a nuspec, `opp proxy [flags] -- nuget5 ...` with the test's
//! isolation, and what the store holds, read back through opp's library.

#![allow(dead_code)] // each test uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

use opp::mapper::Mapper;
use opp::output::Output;
use opp::packages::Packages;
use opp::release::DistFile;
use opp::store::layout::LayoutStore;

use crate::support::cli::{Env, run_ok};

/// The `nuget5` wrapper (NuGet.exe 5.8 under mono); fails the test, saying how to install
/// it, when it or mono is missing.
pub fn nuget5() -> PathBuf {
    let hint = "run `scripts/install-test-deps.sh nuget` (NuGet.exe 5.8 under mono)";
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
            .unwrap_or(false)
    };
    assert!(on_path("mono"), "mono is not installed: {hint}");
    let tools = std::env::var_os("OPP_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("opp-test-tools")))
        .unwrap_or_else(|| PathBuf::from(".cache/opp-test-tools"));
    let wrapper = tools.join("bin").join("nuget5");
    if wrapper.is_file() {
        return wrapper;
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nuget5"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("`nuget5` not found in {}: {hint}", wrapper.display()))
}

/// Packs `{id}.{version}.nupkg` in `dir` with the real `nuget pack`: content file
/// `content/{id}.txt` holding `content`, and `deps` as (id, version range) dependencies.
/// nuget runs with a home of its own, so nothing it writes lands in the test user's.
pub fn pack(
    env: &Env,
    dir: &Path,
    id: &str,
    version: &str,
    deps: &[(&str, &str)],
    content: &[u8],
) -> PathBuf {
    std::fs::create_dir_all(dir).expect("package directory");
    let dependencies: String = deps
        .iter()
        .map(|(d, v)| format!("      <dependency id=\"{d}\" version=\"{v}\" />\n"))
        .collect();
    let nuspec = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\">\n  \
           <metadata>\n    <id>{id}</id>\n    <version>{version}</version>\n    \
             <authors>opp tests</authors>\n    <description>{id}, made by opp's tests.</description>\n    \
             <dependencies>\n{dependencies}    </dependencies>\n  </metadata>\n  \
           <files>\n    <file src=\"{id}.txt\" target=\"content/{id}.txt\" />\n  </files>\n\
         </package>\n"
    );
    std::fs::write(dir.join(format!("{id}.nuspec")), nuspec).expect("nuspec");
    std::fs::write(dir.join(format!("{id}.txt")), content).expect("content file");
    let packer_home = env.root().join("packer-home");
    run_ok(
        Command::new(nuget5())
            .args(["pack", &format!("{id}.nuspec"), "-NonInteractive"])
            .current_dir(dir)
            .env("HOME", &packer_home)
            .env("XDG_CONFIG_HOME", packer_home.join(".config"))
            .env("XDG_DATA_HOME", packer_home.join(".local/share")),
    );
    let nupkg = dir.join(format!("{id}.{version}.nupkg"));
    assert!(nupkg.is_file(), "nuget pack made no {}", nupkg.display());
    nupkg
}

/// `opp proxy [flags] -- nuget5 ARGS... -NonInteractive`, run in the env's root with the
/// env's isolation and no outer NUGET_* variables.
pub fn proxy_nuget(env: &Env, flags: &[&str], args: &[&str]) -> Command {
    let mut cmd = env.opp();
    cmd.arg("proxy")
        .args(flags)
        .arg("--")
        .arg(nuget5())
        .args(args)
        .arg("-NonInteractive");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NUGET_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// The `.nupkg` file of `id` `version` in the env's store, if it holds that version.
pub fn stored_nupkg(env: &Env, id: &str, version: &str) -> Option<DistFile> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = LayoutStore::new(env.store());
    let mapper = Mapper::new("").expect("mapper");
    let out = Output::new(true);
    let packages = Packages {
        store: &store,
        mapper: &mapper,
        out: &out,
    };
    let release = rt
        .block_on(packages.nuget_release(id, version))
        .expect("the store answers")?;
    release
        .files
        .into_iter()
        .find(|f| f.name.ends_with(".nupkg"))
}

/// Every file under `dir` named NuGet.Config in any case.
pub fn nuget_configs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(nuget_configs(&path));
        } else if entry
            .file_name()
            .to_string_lossy()
            .eq_ignore_ascii_case("nuget.config")
        {
            found.push(path);
        }
    }
    found
}

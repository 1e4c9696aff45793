//! One file per subcommand: glue between the command line, the library and the output.
//! No logic of its own beyond choosing what to call and what to print.

use std::sync::Arc;

use crate::auth::{self, Credentials};
use crate::cli::{Cli, Command, LockCommand, MirrorCommand};
use crate::config::{self, Location, Settings};
use crate::mapper::Mapper;
use crate::output::Output;
use crate::store::Store;
use crate::store::layout::LayoutStore;
use crate::store::registry::RegistryStore;

pub mod completions;
pub mod copy;
pub mod export;
pub mod import;
pub mod list;
pub mod lock;
pub mod login;
pub mod mirror;
pub mod mirror_nuget;
pub mod mirror_rubygems;
pub mod mirror_terraform;
pub mod mirror_terraform_dir;
pub mod mirror_terraform_module;
pub mod provider;
pub mod proxy;
pub mod pull;
pub mod push;
pub mod show;

/// A store with the mapper that names repositories in it.
pub struct Target {
    pub store: Arc<dyn Store>,
    pub mapper: Mapper,
    pub location: Location,
}

impl Target {
    /// The library's view of this store, reporting through `out`.
    pub fn packages<'a>(&'a self, out: &'a Output) -> crate::packages::Packages<'a> {
        crate::packages::Packages {
            store: self.store.as_ref(),
            mapper: &self.mapper,
            out,
        }
    }
}

impl Target {
    /// The stored version of `name` a request picks ([`Packages::select_version`]); a package
    /// with nothing stored at all is [`crate::error::NotStored`], whose hint names the
    /// command that lists or mirrors it.
    ///
    /// [`Packages::select_version`]: crate::packages::Packages::select_version
    pub async fn select_version(
        &self,
        pkgs: &crate::packages::Packages<'_>,
        eco: crate::release::Ecosystem,
        name: &str,
        asked: &crate::packages::select::Asked<'_>,
        pick: impl FnOnce(&[String]) -> Option<String>,
    ) -> anyhow::Result<String> {
        match pkgs.select_version(eco, name, asked, pick).await {
            Ok(version) => Ok(version),
            Err(e) => match pkgs.versions(eco, name).await {
                Ok(stored) if stored.is_empty() => Err(self.not_stored(eco, name, None).into()),
                _ => Err(e.into()),
            },
        }
    }

    /// The error for a package (`version: None`) or a version of it that is not stored here.
    pub fn not_stored(
        &self,
        ecosystem: crate::release::Ecosystem,
        package: &str,
        version: Option<&str>,
    ) -> crate::error::NotStored {
        let location = match self.mapper.repository(ecosystem, package) {
            Ok(repo) => self.store.location(&repo),
            Err(_) => self.location.describe(),
        };
        crate::error::NotStored {
            ecosystem,
            package: package.to_owned(),
            version: version.map(str::to_owned),
            location,
            registry: match &self.location {
                Location::Registry { .. } => Some(self.location.describe()),
                Location::Local(_) => None,
            },
        }
    }
}

/// Opens a store or registry. Credentials for a registry come from OPP_REGISTRY_USERNAME /
/// OPP_REGISTRY_PASSWORD, then docker's config.json and helpers, else anonymous.
pub fn open(location: &Location, settings: &Settings) -> anyhow::Result<Target> {
    let (store, prefix): (Arc<dyn Store>, &str) = match location {
        Location::Local(dir) => (Arc::new(LayoutStore::new(dir.clone())), ""),
        Location::Registry {
            host,
            prefix,
            plain_http,
        } => {
            let explicit = match (
                std::env::var("OPP_REGISTRY_USERNAME")
                    .ok()
                    .filter(|s| !s.is_empty()),
                std::env::var("OPP_REGISTRY_PASSWORD").ok(),
            ) {
                (Some(u), Some(p)) => Some((u, p)),
                _ => None,
            };
            let creds: Credentials = auth::resolve(host, explicit)?;
            (
                Arc::new(
                    RegistryStore::new(host, *plain_http, creds)?
                        .with_retry_timeout(settings.retry_timeout),
                ),
                prefix.as_str(),
            )
        }
    };
    let mut mapper = Mapper::new(prefix)?;
    for (eco, template) in &settings.templates {
        mapper = mapper.with_template(*eco, template)?;
    }
    Ok(Target {
        store,
        mapper,
        location: location.clone(),
    })
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = config::load(&cli.global)?;
    if let Some(path) = &cli.global.registry_config {
        auth::set_registry_config(path)?;
    }
    let out = Output::new(settings.quiet);
    match cli.command {
        Command::Push(cmd) => cmd.run(&settings, &out).await,
        Command::Pull(cmd) => cmd.run(&settings, &out).await,
        Command::Lock(LockCommand::TerraformProvider(args)) => {
            lock::terraform_provider(&settings, &out, args).await
        }
        Command::List(args) => list::run(&settings, &out, args).await,
        Command::Show(args) => show::run(&settings, &out, args).await,
        Command::Copy(args) => copy::run(&settings, &out, args).await,
        Command::Export(args) => export::run(&settings, &out, args).await,
        Command::Import(args) => import::run(&settings, &out, args).await,
        Command::Mirror(MirrorCommand::Pypi(args)) => mirror::pypi(&settings, &out, args).await,
        Command::Mirror(MirrorCommand::Rubygems(args)) => {
            mirror_rubygems::run(&settings, &out, args).await
        }
        Command::Mirror(MirrorCommand::Nuget(args)) => {
            mirror_nuget::nuget(&settings, &out, args).await
        }
        Command::Mirror(MirrorCommand::TerraformProvider(args)) => {
            mirror_terraform::provider(&settings, &out, args).await
        }
        Command::Mirror(MirrorCommand::TerraformModule(args)) => {
            mirror_terraform_module::run(&settings, &out, args).await
        }
        Command::Mirror(MirrorCommand::Terraform(args)) => {
            mirror_terraform_dir::run(&settings, &out, args).await
        }
        Command::Proxy(args) => proxy::run(&settings, &out, args).await,
        Command::Login(args) => login::login(&settings, &out, args).await,
        Command::Logout(args) => login::logout(&settings, &out, args).await,
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    }
}

/// Splits `NAME==VERSION` (or `NAME@VERSION`) and normalizes both as the ecosystem does.
pub fn name_and_version(
    eco: crate::release::Ecosystem,
    spec: &str,
) -> anyhow::Result<(String, String)> {
    let (name, version) = spec
        .split_once("==")
        .or_else(|| spec.split_once('@'))
        .ok_or_else(|| {
            crate::error::Refusal::new(
                format!("`{spec}` names no version"),
                "write NAME==VERSION (or NAME@VERSION)",
            )
            .of_kind(crate::error::Kind::Usage)
        })?;
    Ok((
        Mapper::normalize_package(eco, name.trim())?,
        Mapper::normalize_version(eco, version.trim())?,
    ))
}

/// One stored version, read in its ecosystem's layout (the contract's `read_release`).
pub async fn load_release(
    pkgs: &crate::packages::Packages<'_>,
    eco: crate::release::Ecosystem,
    name: &str,
    version: &str,
) -> Result<Option<crate::release::Release>, crate::packages::PackageError> {
    (eco.contract().read_release)(pkgs, name, version).await
}

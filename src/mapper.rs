//! The mapper: `(ecosystem, package, version) <-> (repository, tag)`, as `docs/formats.md`
//! ("The mapper") lays it down. Push, pull, list and the proxy all go through it and never
//! spell a repository or tag themselves. It is pure: no I/O, no registry, no files.
//!
//! Each ecosystem's own rules (which names and versions are valid, how the ecosystem
//! normalizes them, how they are spelled in OCI) live in one submodule each, gathered in a
//! [`Naming`] that the ecosystem's contract hands in (`ecosystem::contract`); the OCI rules in
//! `oci`; repository templates in `template`. This module ties them together and makes
//! sure the mapping is one-to-one: [`Mapper::package`] and [`Mapper::version`] give back only
//! what [`Mapper::repository`] and [`Mapper::tag`] would produce, so two inputs never share a
//! repository or tag, and foreign tags (`latest`, `sha256-...`) are simply not versions.

#![deny(clippy::wildcard_enum_match_arm)]

mod error;
pub(crate) mod naming;
pub(crate) mod nuget;
mod oci;
pub(crate) mod pypi;
pub(crate) mod rubygems;
mod template;
pub(crate) mod terraform;
#[cfg(test)]
mod tests;

use crate::release::Ecosystem;
use error::Problem;
use naming::Values;
use template::Template;

pub use error::MapError;
pub use naming::Naming;

pub use terraform::DEFAULT_HOSTNAME as DEFAULT_TERRAFORM_HOSTNAME;

/// Maps packages to repositories and versions to tags for one registry (or the local store).
///
/// By default a package of ecosystem `eco` lives in `<prefix>/<eco>/<package path>`;
/// [`Mapper::with_template`] replaces that for one ecosystem.
#[derive(Debug, Clone)]
pub struct Mapper {
    /// One template per ecosystem, in the order of [`Ecosystem::ALL`].
    templates: Vec<Template>,
}

impl Mapper {
    /// `prefix` is "" or a repository path such as `acme/packages` (the part of
    /// `--registry HOST[:PORT][/PREFIX]` after the host).
    pub fn new(prefix: &str) -> Result<Mapper, MapError> {
        let refuse = |problem| MapError::prefix(prefix, problem);
        if !prefix.is_empty() {
            oci::check_repository(prefix).map_err(refuse)?;
        }
        let templates = Ecosystem::ALL
            .iter()
            .map(|&eco| {
                let naming = naming_of(eco);
                let path = naming.default_path;
                let source = match prefix {
                    "" => format!("{eco}/{path}"),
                    _ => format!("{prefix}/{eco}/{path}"),
                };
                Template::parse(&source, &naming.vocabulary).map_err(refuse)
            })
            .collect::<Result<_, _>>()?;
        Ok(Mapper { templates })
    }

    /// Replaces the repository of `eco`'s packages by a template: the whole repository path
    /// (no host, and the prefix is not added), e.g. `acme/providers/${namespace}/${type}`.
    /// Symbols are OpenTofu's `oci_mirror` ones for providers (`${hostname}`, `${namespace}`,
    /// `${type}`), `${namespace}`, `${name}`, `${system}` for modules, `${name}` otherwise.
    /// The template must use every symbol but `${hostname}`, and two symbols in one path
    /// component must be separated by text their values cannot contain, so that every
    /// repository still names exactly one package.
    pub fn with_template(mut self, eco: Ecosystem, template: &str) -> Result<Mapper, MapError> {
        let parsed = Template::parse(template, &naming_of(eco).vocabulary)
            .map_err(|problem| MapError::template(eco, template, problem))?;
        self.templates[eco.index()] = parsed;
        Ok(self)
    }

    /// The repository (no host) of `package`, normalized first as the ecosystem does.
    /// A provider from a registry other than `registry.terraform.io` is refused unless the
    /// template uses `${hostname}`: otherwise it would share a repository with its namesake.
    pub fn repository(&self, eco: Ecosystem, package: &str) -> Result<String, MapError> {
        let refuse = |problem| MapError::package(eco, package, problem);
        let normalized = Self::normalize_package(eco, package)?;
        let values = (naming_of(eco).values)(&normalized);
        let template = self.template(eco);
        if let Some(unused) = values
            .iter()
            .find(|v| !v.implied && !template.uses(v.symbol))
        {
            return Err(refuse(Problem::invalid(format!(
                "the repository template has no {}, so it only holds packages whose {} is `{}`",
                unused.symbol,
                unused.symbol,
                unused.default.unwrap_or_default()
            ))));
        }
        let repository = template.render(|symbol| {
            values
                .iter()
                .find(|v| v.symbol == symbol)
                .map(|v| v.text.as_str())
                .unwrap_or_default()
        });
        oci::check_repository(&repository).map_err(refuse)?;
        Ok(repository)
    }

    /// The normalized package id `repository` holds, or `None` when it is not one of `eco`'s
    /// repositories under this mapper (including repositories another tool named differently).
    pub fn package(&self, eco: Ecosystem, repository: &str) -> Option<String> {
        let naming = naming_of(eco);
        let values = self.template(eco).values(repository, &naming.vocabulary)?;
        let candidate = (naming.package)(&Values(&values))?;
        let normalized = Self::normalize_package(eco, &candidate).ok()?;
        let maps_back = self.repository(eco, &normalized).ok()? == repository;
        (normalized == candidate && maps_back).then_some(normalized)
    }

    /// The path every repository of `eco` starts with, e.g. `acme/pypi/` (for catalog listing);
    /// with a template, its literal text before the first `${...}`.
    pub fn repository_prefix(&self, eco: Ecosystem) -> String {
        self.template(eco).literal_prefix().to_owned()
    }

    /// The tag of `version`, normalized first as the ecosystem does.
    pub fn tag(&self, eco: Ecosystem, version: &str) -> Result<String, MapError> {
        let normalized = Self::normalize_version(eco, version)?;
        let tag = (naming_of(eco).tag_text)(&normalized);
        oci::check_tag(&tag).map_err(|problem| MapError::version(eco, version, problem))?;
        Ok(tag)
    }

    /// The normalized version `tag` stands for, or `None` for tags that are not versions of
    /// `eco` as this mapper writes them (`latest`, `sha256-...` helper tags, spellings that
    /// are not normalized): listing skips them.
    pub fn version(&self, eco: Ecosystem, tag: &str) -> Option<String> {
        let text = (naming_of(eco).version_text)(tag);
        let normalized = Self::normalize_version(eco, &text).ok()?;
        (self.tag(eco, &normalized).ok()? == tag).then_some(normalized)
    }

    /// The package id as the ecosystem normalizes it: PEP 503 for PyPI, lowercase for the
    /// others (and a provider's default hostname dropped).
    pub fn normalize_package(eco: Ecosystem, package: &str) -> Result<String, MapError> {
        (naming_of(eco).normalize_package)(package)
            .map_err(|problem| MapError::package(eco, package, problem))
    }

    /// The version as the ecosystem normalizes it: PEP 440, semver (without a leading `v`),
    /// NuGet's normalized form, the gem version as `Gem::Version` spells it.
    pub fn normalize_version(eco: Ecosystem, version: &str) -> Result<String, MapError> {
        (naming_of(eco).normalize_version)(version)
            .map_err(|problem| MapError::version(eco, version, problem))
    }

    fn template(&self, eco: Ecosystem) -> &Template {
        &self.templates[eco.index()]
    }
}

/// The ecosystem's naming rules, from its contract.
fn naming_of(eco: Ecosystem) -> &'static Naming {
    eco.contract().naming
}

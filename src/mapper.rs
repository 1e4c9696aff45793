//! The mapper: `(ecosystem, package, version) <-> (repository, tag)`, as `docs/formats.md`
//! ("The mapper") lays it down. Push, pull, list and the proxy all go through it and never
//! spell a repository or tag themselves. It is pure: no I/O, no registry, no files.
//!
//! Each ecosystem's own rules (which names and versions are valid, how the ecosystem
//! normalizes them, how they are spelled in OCI) live in one submodule each; the OCI rules in
//! `oci`; repository templates in `template`. This module ties them together and makes
//! sure the mapping is one-to-one: [`Mapper::package`] and [`Mapper::version`] give back only
//! what [`Mapper::repository`] and [`Mapper::tag`] would produce, so two inputs never share a
//! repository or tag, and foreign tags (`latest`, `sha256-...`) are simply not versions.

mod error;
mod nuget;
mod oci;
mod pypi;
mod rubygems;
mod template;
mod terraform;
#[cfg(test)]
mod tests;

use crate::release::Ecosystem;
use error::Problem;
use template::{Symbol, Template, Vocabulary};

pub use error::MapError;

pub use terraform::DEFAULT_HOSTNAME as DEFAULT_TERRAFORM_HOSTNAME;

/// Maps packages to repositories and versions to tags for one registry (or the local store).
///
/// By default a package of ecosystem `eco` lives in `<prefix>/<eco>/<package path>`;
/// [`Mapper::with_template`] replaces that for one ecosystem.
#[derive(Debug, Clone)]
pub struct Mapper {
    /// One template per ecosystem, in the order of [`Ecosystem::ALL`].
    templates: [Template; 5],
}

impl Mapper {
    /// `prefix` is "" or a repository path such as `acme/packages` (the part of
    /// `--registry HOST[:PORT][/PREFIX]` after the host).
    pub fn new(prefix: &str) -> Result<Mapper, MapError> {
        let refuse = |problem| MapError::prefix(prefix, problem);
        if !prefix.is_empty() {
            oci::check_repository(prefix).map_err(refuse)?;
        }
        let template = |eco: Ecosystem| {
            let path = default_path(eco);
            let source = match prefix {
                "" => format!("{eco}/{path}"),
                _ => format!("{prefix}/{eco}/{path}"),
            };
            Template::parse(&source, vocabulary(eco)).map_err(refuse)
        };
        Ok(Mapper {
            templates: [
                template(Ecosystem::Pypi)?,
                template(Ecosystem::TerraformProvider)?,
                template(Ecosystem::TerraformModule)?,
                template(Ecosystem::Nuget)?,
                template(Ecosystem::Rubygems)?,
            ],
        })
    }

    /// Replaces the repository of `eco`'s packages by a template: the whole repository path
    /// (no host, and the prefix is not added), e.g. `acme/providers/${namespace}/${type}`.
    /// Symbols are OpenTofu's `oci_mirror` ones for providers (`${hostname}`, `${namespace}`,
    /// `${type}`), `${namespace}`, `${name}`, `${system}` for modules, `${name}` otherwise.
    /// The template must use every symbol but `${hostname}`, and two symbols in one path
    /// component must be separated by text their values cannot contain, so that every
    /// repository still names exactly one package.
    pub fn with_template(mut self, eco: Ecosystem, template: &str) -> Result<Mapper, MapError> {
        let parsed = Template::parse(template, vocabulary(eco))
            .map_err(|problem| MapError::template(eco, template, problem))?;
        self.templates[slot(eco)] = parsed;
        Ok(self)
    }

    /// The repository (no host) of `package`, normalized first as the ecosystem does.
    /// A provider from a registry other than `registry.terraform.io` is refused unless the
    /// template uses `${hostname}`: otherwise it would share a repository with its namesake.
    pub fn repository(&self, eco: Ecosystem, package: &str) -> Result<String, MapError> {
        let refuse = |problem| MapError::package(eco, package, problem);
        let normalized = Self::normalize_package(eco, package)?;
        let values = values(eco, &normalized);
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
        let values = self.template(eco).values(repository, vocabulary(eco))?;
        let candidate = package_from_values(eco, &values)?;
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
        let tag = match eco {
            Ecosystem::Pypi => pypi::tag_text(&normalized),
            Ecosystem::TerraformProvider | Ecosystem::TerraformModule => {
                terraform::tag_text(&normalized)
            }
            Ecosystem::Nuget | Ecosystem::Rubygems => normalized,
        };
        oci::check_tag(&tag).map_err(|problem| MapError::version(eco, version, problem))?;
        Ok(tag)
    }

    /// The normalized version `tag` stands for, or `None` for tags that are not versions of
    /// `eco` as this mapper writes them (`latest`, `sha256-...` helper tags, spellings that
    /// are not normalized): listing skips them.
    pub fn version(&self, eco: Ecosystem, tag: &str) -> Option<String> {
        let text = match eco {
            Ecosystem::Pypi => pypi::version_text(tag),
            Ecosystem::TerraformProvider | Ecosystem::TerraformModule => {
                terraform::version_text(tag)
            }
            Ecosystem::Nuget | Ecosystem::Rubygems => tag.to_owned(),
        };
        let normalized = Self::normalize_version(eco, &text).ok()?;
        (self.tag(eco, &normalized).ok()? == tag).then_some(normalized)
    }

    /// The package id as the ecosystem normalizes it: PEP 503 for PyPI, lowercase for the
    /// others (and a provider's default hostname dropped).
    pub fn normalize_package(eco: Ecosystem, package: &str) -> Result<String, MapError> {
        match eco {
            Ecosystem::Pypi => pypi::normalize_package(package),
            Ecosystem::TerraformProvider => terraform::normalize_provider(package),
            Ecosystem::TerraformModule => terraform::normalize_module(package),
            Ecosystem::Nuget => nuget::normalize_package(package),
            Ecosystem::Rubygems => rubygems::normalize_package(package),
        }
        .map_err(|problem| MapError::package(eco, package, problem))
    }

    /// The version as the ecosystem normalizes it: PEP 440, semver (without a leading `v`),
    /// NuGet's normalized form, the gem version as `Gem::Version` spells it.
    pub fn normalize_version(eco: Ecosystem, version: &str) -> Result<String, MapError> {
        match eco {
            Ecosystem::Pypi => pypi::normalize_version(version),
            Ecosystem::TerraformProvider | Ecosystem::TerraformModule => {
                terraform::normalize_version(version)
            }
            Ecosystem::Nuget => nuget::normalize_version(version),
            Ecosystem::Rubygems => rubygems::normalize_version(version),
        }
        .map_err(|problem| MapError::version(eco, version, problem))
    }

    fn template(&self, eco: Ecosystem) -> &Template {
        &self.templates[slot(eco)]
    }
}

fn slot(eco: Ecosystem) -> usize {
    match eco {
        Ecosystem::Pypi => 0,
        Ecosystem::TerraformProvider => 1,
        Ecosystem::TerraformModule => 2,
        Ecosystem::Nuget => 3,
        Ecosystem::Rubygems => 4,
    }
}

/// The package path under `<prefix>/<ecosystem>/` by default.
fn default_path(eco: Ecosystem) -> &'static str {
    match eco {
        Ecosystem::TerraformProvider => "${namespace}/${type}",
        Ecosystem::TerraformModule => "${namespace}/${name}/${system}",
        Ecosystem::Pypi | Ecosystem::Nuget | Ecosystem::Rubygems => "${name}",
    }
}

fn vocabulary(eco: Ecosystem) -> &'static Vocabulary {
    const PYPI: Vocabulary = Vocabulary {
        allowed: &[Symbol::Name],
        required: &[Symbol::Name],
        value_char: |_, c| pypi::is_component_char(c),
    };
    const PROVIDER: Vocabulary = Vocabulary {
        allowed: &[Symbol::Hostname, Symbol::Namespace, Symbol::Type],
        required: &[Symbol::Namespace, Symbol::Type],
        value_char: |symbol, c| terraform::is_provider_value_char(symbol == Symbol::Hostname, c),
    };
    const MODULE: Vocabulary = Vocabulary {
        allowed: &[Symbol::Namespace, Symbol::Name, Symbol::System],
        required: &[Symbol::Namespace, Symbol::Name, Symbol::System],
        value_char: |symbol, c| terraform::is_module_value_char(symbol == Symbol::System, c),
    };
    const NUGET: Vocabulary = Vocabulary {
        allowed: &[Symbol::Name],
        required: &[Symbol::Name],
        value_char: |_, c| nuget::is_id_char(c),
    };
    const RUBYGEMS: Vocabulary = Vocabulary {
        allowed: &[Symbol::Name],
        required: &[Symbol::Name],
        value_char: |_, c| rubygems::is_repository_char(c),
    };
    match eco {
        Ecosystem::Pypi => &PYPI,
        Ecosystem::TerraformProvider => &PROVIDER,
        Ecosystem::TerraformModule => &MODULE,
        Ecosystem::Nuget => &NUGET,
        Ecosystem::Rubygems => &RUBYGEMS,
    }
}

/// One template symbol's text for a package.
struct Value {
    symbol: Symbol,
    text: String,
    /// The package id did not say it (a provider without hostname), so a template may leave
    /// it out.
    implied: bool,
    /// What the value is when the package id does not say it.
    default: Option<&'static str>,
}

impl Value {
    fn stated(symbol: Symbol, text: impl Into<String>) -> Value {
        Value {
            symbol,
            text: text.into(),
            implied: false,
            default: None,
        }
    }
}

/// The template values of a normalized package id.
fn values(eco: Ecosystem, normalized: &str) -> Vec<Value> {
    match eco {
        Ecosystem::Pypi => vec![Value::stated(
            Symbol::Name,
            pypi::repository_name(normalized),
        )],
        Ecosystem::TerraformProvider => {
            let (hostname, namespace, kind) = terraform::split_provider(normalized);
            vec![
                Value {
                    symbol: Symbol::Hostname,
                    text: hostname.unwrap_or(terraform::DEFAULT_HOSTNAME).to_owned(),
                    implied: hostname.is_none(),
                    default: Some(terraform::DEFAULT_HOSTNAME),
                },
                Value::stated(Symbol::Namespace, namespace),
                Value::stated(Symbol::Type, kind),
            ]
        }
        Ecosystem::TerraformModule => {
            let mut parts = normalized.splitn(3, '/');
            [Symbol::Namespace, Symbol::Name, Symbol::System]
                .into_iter()
                .map(|symbol| Value::stated(symbol, parts.next().unwrap_or_default()))
                .collect()
        }
        Ecosystem::Nuget | Ecosystem::Rubygems => vec![Value::stated(Symbol::Name, normalized)],
    }
}

/// The package id that template values stand for (checked by the caller).
fn package_from_values(eco: Ecosystem, values: &[(Symbol, String)]) -> Option<String> {
    let get = |symbol: Symbol| {
        values
            .iter()
            .find(|(s, _)| *s == symbol)
            .map(|(_, text)| text.as_str())
    };
    match eco {
        Ecosystem::Pypi => get(Symbol::Name).map(pypi::package_name),
        Ecosystem::TerraformProvider => {
            let (namespace, kind) = (get(Symbol::Namespace)?, get(Symbol::Type)?);
            Some(match get(Symbol::Hostname) {
                Some(hostname) if hostname != terraform::DEFAULT_HOSTNAME => {
                    format!("{hostname}/{namespace}/{kind}")
                }
                _ => format!("{namespace}/{kind}"),
            })
        }
        Ecosystem::TerraformModule => Some(format!(
            "{}/{}/{}",
            get(Symbol::Namespace)?,
            get(Symbol::Name)?,
            get(Symbol::System)?
        )),
        Ecosystem::Nuget | Ecosystem::Rubygems => get(Symbol::Name).map(str::to_owned),
    }
}

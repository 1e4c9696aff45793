//! One ecosystem's naming rules as the mapper needs them: a [`Naming`] value per ecosystem,
//! defined beside its rules (`pypi`, `terraform`, `nuget`, `rubygems`) and handed to the
//! mapper by the ecosystem contract (`ecosystem::contract`). The mapper's shared code asks the
//! `Naming` and never matches on the ecosystem.

use super::Problem;
use super::template::{Symbol, Vocabulary};

/// How one ecosystem's packages and versions are normalized and spelled in OCI.
pub struct Naming {
    /// The package id as the ecosystem normalizes it, or why it is not one.
    pub(super) normalize_package: fn(&str) -> Result<String, Problem>,
    /// The version as the ecosystem normalizes it, or why it is not one.
    pub(super) normalize_version: fn(&str) -> Result<String, Problem>,
    /// The tag text of a normalized version (checked against OCI's tag rules afterwards).
    pub(super) tag_text: fn(&str) -> String,
    /// The version text a tag stands for (normalized and mapped back by the caller).
    pub(super) version_text: fn(&str) -> String,
    /// The package path under `<prefix>/<ecosystem>/` by default, e.g. `${name}`.
    pub(super) default_path: &'static str,
    /// The template symbols the ecosystem's repositories use.
    pub(super) vocabulary: Vocabulary,
    /// The template values of a normalized package id.
    pub(super) values: fn(&str) -> Vec<Value>,
    /// The package id that template values stand for (checked by the caller).
    pub(super) package: fn(&Values) -> Option<String>,
}

/// One template symbol's text for a package.
pub(super) struct Value {
    pub(super) symbol: Symbol,
    pub(super) text: String,
    /// The package id did not say it (a provider without hostname), so a template may leave
    /// it out.
    pub(super) implied: bool,
    /// What the value is when the package id does not say it.
    pub(super) default: Option<&'static str>,
}

impl Value {
    pub(super) fn stated(symbol: Symbol, text: impl Into<String>) -> Value {
        Value {
            symbol,
            text: text.into(),
            implied: false,
            default: None,
        }
    }
}

/// The values a template read out of a repository path.
pub(super) struct Values<'a>(pub(super) &'a [(Symbol, String)]);

impl Values<'_> {
    pub(super) fn get(&self, symbol: Symbol) -> Option<&str> {
        self.0
            .iter()
            .find(|(s, _)| *s == symbol)
            .map(|(_, text)| text.as_str())
    }
}

/// The tag spelling of ecosystems whose normalized versions are valid tags as they are.
pub(super) fn same(text: &str) -> String {
    text.to_owned()
}

/// The values of ecosystems whose package id is one `${name}`.
pub(super) fn name_value(normalized: &str) -> Vec<Value> {
    vec![Value::stated(Symbol::Name, normalized)]
}

/// The package id of ecosystems whose package id is one `${name}`.
pub(super) fn name_package(values: &Values) -> Option<String> {
    values.get(Symbol::Name).map(str::to_owned)
}

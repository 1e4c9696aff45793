//! What `opp export` is asked for: items `ECOSYSTEM:NAME[@SPEC]`, read into an ecosystem, a
//! normalized package name and a version filter in the ecosystem's own syntax, as `opp pull`
//! takes it (PEP 440 specifiers, Terraform constraints, NuGet ranges, gem requirements; a bare
//! version means exactly that version). Export takes every stored version the filter admits,
//! pre-releases included. Pure.

use crate::ecosystem::contract::VersionFilter;
use crate::mapper::Mapper;
use crate::release::Ecosystem;

use super::format::parse_ecosystem;

/// One item of `opp export`.
#[derive(Debug)]
pub struct Item {
    /// As typed, for messages.
    pub text: String,
    pub ecosystem: Ecosystem,
    pub package: String,
    pub filter: Filter,
}

/// Which stored versions an item takes.
pub enum Filter {
    /// Every stored version.
    All,
    /// Those the ecosystem's contract admits for the spec ([`crate::ecosystem::Contract::version_filter`]).
    Spec(VersionFilter),
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Filter::All => "All",
            Filter::Spec(_) => "Spec",
        })
    }
}

impl Filter {
    /// Whether `version` (as stored, normalized) is taken.
    pub fn admits(&self, version: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Spec(admits) => admits(version),
        }
    }
}

/// Reads `ECOSYSTEM:NAME[@SPEC]`; the error says what is wrong with it.
pub fn parse_item(text: &str) -> Result<Item, String> {
    let (eco_name, rest) = text.split_once(':').ok_or_else(|| {
        "write ECOSYSTEM:NAME[@SPEC], e.g. pypi:six@1.16.0 or terraform-provider:hashicorp/aws"
            .to_owned()
    })?;
    let ecosystem = parse_ecosystem(eco_name).ok_or_else(|| {
        let names: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.as_str()).collect();
        format!(
            "`{eco_name}` is not an ecosystem (one of {})",
            names.join(", ")
        )
    })?;
    let (name, spec) = match rest.split_once('@') {
        Some((n, s)) => (n.trim(), Some(s.trim())),
        None => (rest.trim(), None),
    };
    // PyPI also takes pip's spelling, `six==1.16.0`, `django>=5,<6`.
    let operators = ecosystem.contract().request_operators;
    let (name, spec) = match spec {
        None if !operators.is_empty() => match name.find(operators) {
            Some(at) => (name[..at].trim(), Some(name[at..].trim())),
            None => (name, None),
        },
        spec => (name, spec),
    };
    let package = Mapper::normalize_package(ecosystem, name).map_err(|e| e.to_string())?;
    let filter = match spec {
        None => Filter::All,
        Some("") => return Err("the version after `@` is empty".to_owned()),
        Some(spec) => Filter::Spec((ecosystem.contract().version_filter)(name, spec)?),
    };
    Ok(Item {
        text: text.to_owned(),
        ecosystem,
        package,
        filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(item: &str, versions: &[&str]) -> Vec<String> {
        let item = parse_item(item).unwrap();
        versions
            .iter()
            .filter(|v| item.filter.admits(v))
            .map(|v| v.to_string())
            .collect()
    }

    #[test]
    fn each_ecosystem_reads_its_own_spec_and_takes_every_matching_version() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("pypi:django@5.1.2", &["5.1.1", "5.1.2", "5.2"], &["5.1.2"]),
            (
                "pypi:Django>=5,<6",
                &["4.2", "5.0", "5.2rc1", "6.0"],
                &["5.0", "5.2rc1"],
            ),
            ("pypi:six", &["1.15.0", "1.16.0"], &["1.15.0", "1.16.0"]),
            (
                "terraform-provider:hashicorp/aws@~> 5.80",
                &["5.79.0", "5.80.0", "5.99.1", "6.0.0"],
                &["5.80.0", "5.99.1"],
            ),
            (
                "terraform-module:a/b/c@1.0.0",
                &["1.0.0", "1.1.0"],
                &["1.0.0"],
            ),
            (
                "nuget:Newtonsoft.Json@[13.0,14.0)",
                &["12.0.3", "13.0.1"],
                &["13.0.1"],
            ),
            (
                "nuget:Newtonsoft.Json@13.0.1",
                &["13.0.1", "13.0.3"],
                &["13.0.1"],
            ),
            (
                "rubygems:rake@~> 13.0",
                &["12.3.3", "13.0.6", "13.2.1"],
                &["13.0.6", "13.2.1"],
            ),
        ];
        let mut failed = Vec::new();
        for (item, versions, want) in cases {
            let got = admitted(item, versions);
            if got != *want {
                failed.push(format!("{item}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn names_are_normalized_as_the_ecosystem_does() {
        let item = parse_item("pypi:Zope.Interface").unwrap();
        assert_eq!(item.package, "zope-interface");
    }

    #[test]
    fn malformed_items_say_what_is_wrong() {
        let cases = [
            (
                "six",
                "write ECOSYSTEM:NAME[@SPEC], e.g. pypi:six@1.16.0 or terraform-provider:hashicorp/aws",
            ),
            (
                "cargo:serde",
                "`cargo` is not an ecosystem (one of pypi, terraform-provider, terraform-module, nuget, rubygems)",
            ),
            ("pypi:six@", "the version after `@` is empty"),
        ];
        for (item, want) in cases {
            assert_eq!(parse_item(item).unwrap_err(), want, "{item}");
        }
    }
}

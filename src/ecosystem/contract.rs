//! The ecosystem contract: everything the shared code (mapper, list, show, pull, export and
//! import, the proxy's list of frontends, the CLI) needs to know about one ecosystem, as one static [`Contract`] per ecosystem, defined in the
//! ecosystem's own module (`ecosystem/<eco>.rs`). Shared code asks [`Ecosystem::contract`]
//! and never matches on the ecosystem itself; the one `match` that ties a variant to its
//! contract is here, and it has no wildcard arm, so a new variant does not compile until it
//! has a contract.
//!
//! What stays per ecosystem on purpose: the `push`/`pull` subcommands and their arguments
//! (each ecosystem's inputs differ; registered in `cli/transfer.rs`), what the proxy frontend
//! serves (the contract only names it), and the ecosystem's push (which describes its files
//! into `artifact::FileSpec`s).

#![deny(clippy::wildcard_enum_match_arm)]

use futures_util::future::BoxFuture;

use crate::artifact::Kinds;
use crate::error::Diagnostic;
use crate::mapper::Naming;
use crate::packages::{PackageError, Packages};
use crate::release::{Ecosystem, Release};

/// One ecosystem's answers to everything shared code asks.
pub struct Contract {
    /// The name on the command line, in config files and as the default repository segment
    /// (`pypi`, `terraform-provider`, ...).
    pub name: &'static str,
    /// One line for `--help` beside the name.
    pub summary: &'static str,
    /// Name and version rules, and their spelling as repositories and tags (`mapper`).
    pub naming: &'static Naming,
    /// Sorts versions newest first in the ecosystem's order; strings that do not parse go
    /// last.
    pub sort_newest_first: fn(&mut [String]),
    /// Reads one stored version in the ecosystem's layout (`None`: not stored).
    pub read_release: ReadRelease,
    /// What `opp list` shows as a version's platforms.
    pub platforms: Platforms,
    /// Where `opp mirror ECOSYSTEM NAME` brings a package from by default, for the hint of a
    /// package that is not stored (`None`: no `opp mirror` for this ecosystem yet).
    pub mirror_from: Option<&'static str>,
    /// How another copy of a stored version joins it (push's judgement, `opp import`).
    pub merge: Merge,
    /// Reads a version request in the ecosystem's own syntax (`opp export`'s `NAME@SPEC`: a
    /// PEP 440 specifier, a Terraform constraint, a NuGet range, a gem requirement; a bare
    /// version means exactly that version) into the stored versions it admits, pre-releases
    /// included: `(name, spec)`, the error says what is wrong with the spec.
    pub version_filter: fn(&str, &str) -> Result<VersionFilter, String>,
    /// Where a stored version came from, for `opp show` (a mirrored provider's upstream and
    /// signing key); `None` when the ecosystem records none.
    pub provenance: Option<ReadProvenance>,
    /// Its `opp proxy` frontend (`proxy::Frontend`), if it has one; one frontend may serve
    /// several ecosystems (Terraform's serves providers and modules, and sits on providers).
    pub frontend: Option<fn() -> Box<dyn crate::proxy::Frontend>>,
    /// Characters that start a version request written straight after the name, with no `@`
    /// (pip's `six==1.16.0`, `django>=5,<6`); empty when the ecosystem has no such spelling.
    pub request_operators: &'static [char],
    /// Its own error (finding and describing its files) as a [`Diagnostic`], when `cause` is
    /// one: what `error::report` asks for the error's kind and hints.
    pub diagnose: Diagnose,
}

/// `cause` as the ecosystem's own error type, if it is one: [`Contract::diagnose`].
pub type Diagnose = for<'a> fn(&'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Diagnostic>;

/// [`Contract::diagnose`] of an ecosystem whose own errors are `E`.
pub fn diagnose_as<'a, E: Diagnostic + std::error::Error + 'static>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a dyn Diagnostic> {
    cause.downcast_ref::<E>().map(|e| e as &dyn Diagnostic)
}

/// Which stored (normalized) versions a request admits: [`Contract::version_filter`].
pub type VersionFilter = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// How the files of a version join what is stored under its tag.
#[derive(Debug, Clone, Copy)]
pub enum Merge {
    /// File by file, in this layout (keyed by platform, artifactType and the layout's entry
    /// key): PyPI, NuGet, RubyGems.
    FileByFile(&'static Kinds),
    /// The version is judged whole: the same files are already there, other files are a
    /// conflict unless forced (Terraform providers, one signed SHA256SUMS per version;
    /// modules, one zip).
    Whole,
}

/// Reads a stored version: `(packages, normalized name, normalized version)`.
pub type ReadRelease = for<'a> fn(
    &'a Packages<'a>,
    &'a str,
    &'a str,
) -> BoxFuture<'a, Result<Option<Release>, PackageError>>;

/// Reads a stored version's provenance line: `(packages, normalized name, normalized
/// version)`.
pub type ReadProvenance = for<'a> fn(
    &'a Packages<'a>,
    &'a str,
    &'a str,
) -> BoxFuture<'a, Result<Option<String>, PackageError>>;

/// Where a version's files say which platform they are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platforms {
    /// The files are not per platform (or the platform is part of the file name only).
    None,
    /// Each index entry's OCI platform, shown as `os_arch` (Terraform providers).
    Oci,
    /// An index entry annotation names the platform (RubyGems' `io.opp.rubygems.platform`).
    Annotation(&'static str),
}

impl Platforms {
    /// Whether listing shows a platforms column at all.
    pub fn shown(self) -> bool {
        self != Platforms::None
    }

    /// The platform of every file of `release` that names one.
    pub fn of(self, release: &Release) -> Vec<String> {
        match self {
            Platforms::None => Vec::new(),
            Platforms::Oci => release
                .files
                .iter()
                .filter_map(|f| f.platform.as_ref())
                .map(|(os, arch)| format!("{os}_{arch}"))
                .collect(),
            Platforms::Annotation(key) => release
                .files
                .iter()
                .filter_map(|f| f.annotations.get(key).cloned())
                .collect(),
        }
    }
}

impl Ecosystem {
    /// The ecosystem's contract: the one place a variant is tied to its rules.
    pub fn contract(self) -> &'static Contract {
        match self {
            Ecosystem::Pypi => &super::pypi::CONTRACT,
            Ecosystem::TerraformProvider => &super::terraform_provider::CONTRACT,
            Ecosystem::TerraformModule => &super::terraform_module::CONTRACT,
            Ecosystem::Nuget => &super::nuget::CONTRACT,
            Ecosystem::Rubygems => &super::rubygems::CONTRACT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ecosystem_has_its_own_name_and_position() {
        for (i, eco) in Ecosystem::ALL.into_iter().enumerate() {
            assert_eq!(
                eco.index(),
                i,
                "{eco} is not at its place in Ecosystem::ALL"
            );
            assert_eq!(Ecosystem::parse(eco.contract().name), Some(eco));
        }
        let mut names: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            Ecosystem::ALL.len(),
            "two ecosystems share a name"
        );
    }

    #[test]
    fn platforms_come_from_the_oci_platform_or_an_annotation() {
        use std::collections::BTreeMap;

        let file = |platform: Option<(&str, &str)>, gem: Option<&str>| crate::release::DistFile {
            name: "f".into(),
            digest: crate::digest::Digest::of(b"f"),
            size: 1,
            platform: platform.map(|(os, arch)| (os.to_owned(), arch.to_owned())),
            manifest: crate::digest::Digest::of(b"m"),
            metadata: None,
            extra_layers: Vec::new(),
            annotations: gem
                .map(|g| BTreeMap::from([("gem.platform".to_owned(), g.to_owned())]))
                .unwrap_or_default(),
        };
        let release = Release {
            ecosystem: Ecosystem::Rubygems,
            package: "p".into(),
            version: "1".into(),
            created: None,
            files: vec![
                file(Some(("linux", "amd64")), None),
                file(None, Some("x86_64-linux")),
            ],
        };
        assert_eq!(Platforms::None.of(&release), Vec::<String>::new());
        assert_eq!(Platforms::Oci.of(&release), ["linux_amd64"]);
        assert_eq!(
            Platforms::Annotation("gem.platform").of(&release),
            ["x86_64-linux"]
        );
        let shown: Vec<bool> = Ecosystem::ALL
            .iter()
            .map(|e| e.contract().platforms.shown())
            .collect();
        // Providers and gems are per platform; the others' platforms are in their file names.
        assert_eq!(shown, [false, true, false, false, true]);
    }

    #[test]
    fn versions_sort_in_each_ecosystems_order() {
        // One case per ecosystem where its order differs from plain text order.
        let cases: [(Ecosystem, &[&str], &[&str]); 5] = [
            (
                Ecosystem::Pypi,
                &["1.0", "1.0rc1", "1.10"],
                &["1.10", "1.0", "1.0rc1"],
            ),
            (
                Ecosystem::TerraformProvider,
                &["1.2.0", "1.10.0", "1.10.0-beta"],
                &["1.10.0", "1.10.0-beta", "1.2.0"],
            ),
            (
                Ecosystem::TerraformModule,
                &["0.9.0", "0.10.0"],
                &["0.10.0", "0.9.0"],
            ),
            (
                Ecosystem::Nuget,
                &["1.0.0-beta", "1.0.0", "1.0.10"],
                &["1.0.10", "1.0.0", "1.0.0-beta"],
            ),
            (
                Ecosystem::Rubygems,
                &["1.0.pre.rc1", "1.0", "1.10"],
                &["1.10", "1.0", "1.0.pre.rc1"],
            ),
        ];
        let mut failures = Vec::new();
        for (eco, input, expected) in cases {
            let mut versions: Vec<String> = input.iter().map(|s| s.to_string()).collect();
            (eco.contract().sort_newest_first)(&mut versions);
            if versions != *expected {
                failures.push(format!("{eco}: {versions:?}, expected {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

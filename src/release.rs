//! The model every layer shares: an [`Ecosystem`], a [`Release`] (one version of one package)
//! and its [`DistFile`]s. Pure data; reading it from disk is `ecosystem/`, laying it out in
//! OCI is `artifact`, moving it is `store/`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::digest::Digest;

/// A package ecosystem opp knows how to store. What each one is (names, versions, tags,
/// order, layout) is its contract: [`Ecosystem::contract`] (`ecosystem::contract`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    /// Python wheels and sdists (PyOCI-compatible layout).
    Pypi,
    /// Terraform / OpenTofu providers (OpenTofu's OCI layout).
    TerraformProvider,
    /// Terraform / OpenTofu modules (OpenTofu's OCI layout).
    TerraformModule,
    /// NuGet packages.
    Nuget,
    /// Ruby gems.
    Rubygems,
}

impl Ecosystem {
    /// Every ecosystem, in declaration order (a unit test in `ecosystem::contract` checks it).
    pub const ALL: [Ecosystem; 5] = [
        Ecosystem::Pypi,
        Ecosystem::TerraformProvider,
        Ecosystem::TerraformModule,
        Ecosystem::Nuget,
        Ecosystem::Rubygems,
    ];

    /// The name used on the command line and as the default repository segment (the
    /// contract's `name`).
    pub fn as_str(self) -> &'static str {
        self.contract().name
    }

    /// The ecosystem named `name` (as [`Ecosystem::as_str`] spells it), if any.
    pub fn parse(name: &str) -> Option<Ecosystem> {
        Ecosystem::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The ecosystem's position in [`Ecosystem::ALL`], for tables with one slot per
    /// ecosystem.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of one package, as stored: what `list` and `show` print and `pull` chooses from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Release {
    pub ecosystem: Ecosystem,
    /// The package name as the ecosystem spells it (normalized where the ecosystem normalizes).
    pub package: String,
    /// The version as the ecosystem spells it (not the tag).
    pub version: String,
    /// `org.opencontainers.image.created` of the index, when present.
    pub created: Option<String>,
    pub files: Vec<DistFile>,
}

impl Release {
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// One distribution file of a release (a wheel, an sdist, a provider zip ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DistFile {
    /// The original file name (`org.opencontainers.image.title`, or rebuilt for PyOCI pushes).
    pub name: String,
    /// Digest of the file itself (the layer).
    pub digest: Digest,
    pub size: u64,
    /// The OCI platform of its index entry (`os`, `architecture`).
    pub platform: Option<(String, String)>,
    /// Digest of the manifest that holds this file.
    #[serde(skip)]
    pub manifest: Digest,
    /// The ecosystem's metadata blob stored beside the file (wheel METADATA), if any.
    #[serde(skip)]
    pub metadata: Option<Descriptor>,
    /// The manifest's layers after the file itself (a NuGet nuspec, a gem's info JSON).
    #[serde(skip)]
    pub extra_layers: Vec<Descriptor>,
    /// Index entry annotations (e.g. `io.opp.pypi.requires-python`).
    pub annotations: BTreeMap<String, String>,
}

/// A content reference: media type, digest and size, as in an OCI descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

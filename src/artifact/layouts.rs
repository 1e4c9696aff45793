//! Every ecosystem's layout constants in one place: the artifact and media types of its
//! indexes, manifests and layers ([`Kinds`]), the key that tells its entries apart when they
//! are merged, and the annotations it writes (docs/formats.md is the contract these spell).
//! Values only; what the shared code does with them is `artifact`, `artifact::entry` and
//! `packages`.

use super::Kinds;

/// PyPI, readable by PyOCI. PyOCI's `com.pyoci.sha256_digest` entry annotation holds each
/// file's digest, so opp's own `io.opp.file.digest` is left out of PyPI entries.
pub const PYPI: Kinds = Kinds {
    index_artifact_type: "application/pyoci.package.v1",
    file_artifact_type: "application/pyoci.package.v1",
    layer_media_type: "application/pyoci.package.v1",
    entry_key: None,
    digest_annotation: Some(PYOCI_SHA256),
};
pub const PYPI_METADATA: &str = "application/vnd.opp.pypi.metadata.v1";
pub const PYOCI_SHA256: &str = "com.pyoci.sha256_digest";
pub const PYPI_REQUIRES_PYTHON: &str = "io.opp.pypi.requires-python";

/// NuGet (opp's own layout): the `.nupkg` entries. Each entry repeats its manifest's
/// artifactType, which keeps a nupkg and its snupkg apart in the index.
pub const NUGET: Kinds = Kinds {
    index_artifact_type: "application/vnd.opp.nuget.package.v1",
    file_artifact_type: "application/vnd.opp.nuget.nupkg.v1",
    layer_media_type: "application/vnd.opp.nuget.nupkg.v1+zip",
    entry_key: None,
    digest_annotation: None,
};
/// The `.snupkg` symbols package of a version, beside its nupkg.
pub const NUGET_SNUPKG: Kinds = Kinds {
    index_artifact_type: NUGET.index_artifact_type,
    file_artifact_type: "application/vnd.opp.nuget.snupkg.v1",
    layer_media_type: "application/vnd.opp.nuget.snupkg.v1+zip",
    entry_key: None,
    digest_annotation: None,
};
/// The `.nuspec`, second layer of the nupkg manifest.
pub const NUGET_NUSPEC: &str = "application/vnd.opp.nuget.nuspec.v1+xml";

/// RubyGems (opp's own layout): one entry per platform gem, told apart by the
/// [`RUBYGEMS_PLATFORM`] entry annotation.
pub const RUBYGEMS: Kinds = Kinds {
    index_artifact_type: "application/vnd.opp.rubygems.gem.v1",
    file_artifact_type: "application/vnd.opp.rubygems.gem.v1",
    layer_media_type: "application/vnd.opp.rubygems.gem.v1+tar",
    entry_key: Some(RUBYGEMS_PLATFORM),
    digest_annotation: None,
};
/// The JSON layer beside each gem: what the compact index needs.
pub const RUBYGEMS_INFO: &str = "application/vnd.opp.rubygems.info.v1+json";
/// The annotation that tells platform-less entries of one version apart (RubyGems).
pub const RUBYGEMS_PLATFORM: &str = "io.opp.rubygems.platform";

/// Terraform providers, as OpenTofu's `oci_mirror` reads them: one entry per platform zip.
pub const PROVIDER: Kinds = Kinds {
    index_artifact_type: "application/vnd.opentofu.provider",
    file_artifact_type: "application/vnd.opentofu.provider-target",
    layer_media_type: "archive/zip",
    entry_key: None,
    digest_annotation: None,
};
/// The SHA256SUMS (and its signature) of a provider version, an entry beside the zips.
pub const CHECKSUMS_ARTIFACT_TYPE: &str = "application/vnd.opp.terraform.provider.checksums.v1";
/// A provider zip's `h1:` hash, on its entry.
pub const H1: &str = "io.opp.terraform.h1";
/// A provider version's plugin protocols, on its index.
pub const PROTOCOLS: &str = "io.opp.terraform.protocols";

/// Terraform modules, as OpenTofu's OCI module getter reads them: one image manifest per
/// version (no index), its single layer the module zip.
pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
pub const ZIP_MEDIA_TYPE: &str = "archive/zip";
/// The tag that follows a module's highest release.
pub const LATEST: &str = "latest";
/// On a mirrored module's manifest: the subdirectory of the package that is the module (the
/// `//subdir` of the registry's source address), which the proxy hands Terraform back.
pub const MODULE_SUBDIR: &str = "io.opp.terraform.module.subdir";
/// On a mirrored module's manifest: where the package came from (the registry's source
/// address without query or credentials).
pub const MODULE_SOURCE: &str = "io.opp.terraform.module.source";

//! The kind, hints and rendering of errors as the binary prints them.

use super::*;
use crate::artifact::ArtifactError;
use crate::digest::Digest;
use crate::packages::PackageError;
use crate::store::StoreError;

fn digest(byte: u8) -> Digest {
    Digest::from_hex(&format!("{byte:02x}").repeat(32)).unwrap()
}

#[test]
fn each_typed_error_gives_its_kind_and_hints() {
    let cases: Vec<(&str, anyhow::Error, Kind, Vec<&str>)> = vec![
        (
            "a version not stored",
            anyhow::Error::new(NotStored {
                ecosystem: Ecosystem::Pypi,
                package: "six".into(),
                version: Some("9.9".into()),
                location: "store/pypi/six".into(),
                registry: None,
            }),
            Kind::NotFound,
            vec!["`opp list pypi six` shows the stored versions of `six`"],
        ),
        (
            "credentials refused, under a context",
            anyhow::Error::new(StoreError::Unauthorized {
                registry: "r.example".into(),
                location: "r.example/pypi/six".into(),
                status: 401,
            })
            .context("cannot push six"),
            Kind::Auth,
            vec![
                "run `opp login r.example`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD; if you did (or logged in with docker, whose credentials opp reads too), the password or token is wrong or expired",
            ],
        ),
        (
            "a conflict inside a package error",
            anyhow::Error::new(PackageError::Artifact(ArtifactError::Conflict {
                file: "six-1.0.tar.gz".into(),
                stored: digest(1),
                new: digest(2),
            })),
            Kind::Failure,
            vec!["pass --force to replace it"],
        ),
        (
            "a missing blob",
            anyhow::Error::new(PackageError::Store(StoreError::NotFound {
                what: "blob".into(),
                location: "r.example/pypi/six".into(),
            })),
            Kind::NotFound,
            vec![],
        ),
        (
            "a race no merge could win",
            anyhow::Error::new(PackageError::Race {
                what: "r.example/pypi/six:1.0".into(),
            }),
            Kind::Failure,
            vec![
                "other writers kept rewriting it; run the command again (what it already uploaded is not sent twice)",
            ],
        ),
        (
            "credentials in a registry address",
            anyhow::Error::new(crate::config::ConfigError::CredentialsInAddress {
                address: "ghcr.io/acme".into(),
                host: "ghcr.io".into(),
                origin: None,
            }),
            Kind::Failure,
            vec!["run `opp login ghcr.io`, or set OPP_REGISTRY_USERNAME and OPP_REGISTRY_PASSWORD"],
        ),
        (
            "a module zip over the unpack limit, under a context",
            anyhow::Error::new(
                crate::ecosystem::terraform_module::ModuleError::UnpackLimit {
                    zip: "m.zip".into(),
                    entry: "big.bin".into(),
                    limit: "1 KiB".into(),
                },
            )
            .context("cannot pull module a/b/c 1.0.0"),
            Kind::Failure,
            vec!["if the module really is this large, raise the limit with --max-unpacked-size"],
        ),
        (
            "a command's own refusal, of a kind",
            anyhow::Error::new(
                Refusal::new(
                    "`a/b` 1.0.0 has no linux_arm64 build",
                    "pass --all-platforms",
                )
                .of_kind(Kind::NotFound),
            ),
            Kind::NotFound,
            vec!["pass --all-platforms"],
        ),
        (
            "a template with adjacent symbols, inside a package error",
            anyhow::Error::new(PackageError::Map(
                crate::mapper::Mapper::new("")
                    .unwrap()
                    .with_template(Ecosystem::TerraformProvider, "tf/${namespace}${type}")
                    .unwrap_err(),
            )),
            Kind::Failure,
            vec!["separate them with `/`"],
        ),
        (
            "half of the credentials in the environment",
            anyhow::Error::new(crate::auth::AuthError::Incomplete {
                set: "OPP_REGISTRY_USERNAME",
                missing: "OPP_REGISTRY_PASSWORD",
            }),
            Kind::Failure,
            vec!["set both, or neither"],
        ),
        (
            "an ecosystem's own error, through its contract",
            anyhow::Error::new(crate::ecosystem::pypi::PypiError::MissingField {
                path: "six-1.0.tar.gz".into(),
                member: "PKG-INFO".into(),
                field: "Name",
            }),
            Kind::Failure,
            vec!["rebuild the distribution"],
        ),
        (
            "a provider error inside a mirror error",
            anyhow::Error::new(crate::mirror::terraform::TerraformMirrorError::Provider(
                crate::ecosystem::terraform_provider::ProviderError::InvalidLockFile {
                    line: 3,
                    reason: "no closing brace".into(),
                },
            )),
            Kind::Failure,
            vec!["fix the file or delete it and lock again"],
        ),
        (
            "an error opp knows nothing about",
            anyhow::anyhow!("something else"),
            Kind::Failure,
            vec![],
        ),
    ];
    let mut failures = Vec::new();
    for (name, err, kind, hints) in cases {
        let got = report(&err);
        let want = Report {
            kind,
            hints: hints.into_iter().map(str::to_owned).collect(),
        };
        if got != want {
            failures.push(format!("{name}: got {got:?}, expected {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn exit_codes_come_from_the_kind() {
    assert_eq!(
        [Kind::Failure, Kind::Usage, Kind::NotFound, Kind::Auth].map(Kind::exit_code),
        [1, 2, 3, 4]
    );
}

#[test]
fn the_message_the_causes_and_every_hint_are_lines_of_their_own() {
    let err = anyhow::Error::new(PackageError::Artifact(ArtifactError::Conflict {
        file: "six-1.0.tar.gz".into(),
        stored: digest(1),
        new: digest(2),
    }))
    .context("cannot push six 1.0");
    let hints = vec!["one".to_owned(), "two".to_owned()];
    assert_eq!(
        render_with_hints(&err, &hints, false),
        format!(
            "error: cannot push six 1.0\n  caused by: six-1.0.tar.gz is already stored with other \
             content (stored {}, new {})\n  hint: one\n  hint: two",
            digest(1),
            digest(2)
        )
    );
}

#[test]
fn a_one_line_reason_ends_with_the_hints() {
    let e = crate::ecosystem::nuget::NugetError::InvalidVersion {
        path: "a.nupkg".into(),
        version: "1.0.0-beta_1".into(),
        source: crate::mapper::Mapper::normalize_version(Ecosystem::Nuget, "1.0.0-beta_1")
            .unwrap_err(),
    };
    assert_eq!(
        reason(&e),
        format!(
            "a.nupkg: the version `1.0.0-beta_1` is not a valid NuGet version: {}; fix <version> in the \
             nuspec",
            crate::mapper::Mapper::normalize_version(Ecosystem::Nuget, "1.0.0-beta_1").unwrap_err()
        )
    );
}

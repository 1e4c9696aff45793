//! The mapper's contract, checked through its public API: concrete examples from each
//! ecosystem, and properties (round trips, one-to-one, refusals naming the character).

use proptest::prelude::*;

use super::{MapError, Mapper};
use crate::release::Ecosystem::{self, *};

fn mapper() -> Mapper {
    Mapper::new("").unwrap()
}

fn acme() -> Mapper {
    Mapper::new("acme/packages").unwrap()
}

fn message(result: Result<String, MapError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn pypi_names_and_versions_map_as_pyoci_spells_them() {
    let m = mapper();
    assert_eq!(
        m.repository(Pypi, "Foo.Bar_baz").unwrap(),
        "pypi/foo_bar_baz"
    );
    assert_eq!(
        acme().repository(Pypi, "six").unwrap(),
        "acme/packages/pypi/six"
    );
    assert_eq!(m.package(Pypi, "pypi/foo_bar_baz").unwrap(), "foo-bar-baz");
    assert_eq!(m.tag(Pypi, "1.0+local.1").unwrap(), "1.0-local.1");
    assert_eq!(
        m.tag(Pypi, "1.0.0.dev4+g1664eb2.d20231017").unwrap(),
        "1.0.0.dev4-g1664eb2.d20231017"
    );
    assert_eq!(m.tag(Pypi, "2.0-RC1").unwrap(), "2.0rc1");
    assert_eq!(m.version(Pypi, "1.0-local.1").unwrap(), "1.0+local.1");
    assert_eq!(
        message(m.tag(Pypi, "1!2.0")),
        "cannot map pypi version `1!2.0` to a tag: `!` is not allowed in OCI tags"
    );
}

#[test]
fn terraform_providers_map_as_opentofu_reads_them() {
    let m = mapper();
    assert_eq!(
        m.repository(TerraformProvider, "hashicorp/aws").unwrap(),
        "terraform-provider/hashicorp/aws"
    );
    assert_eq!(
        m.repository(TerraformProvider, "registry.terraform.io/HashiCorp/AWS")
            .unwrap(),
        "terraform-provider/hashicorp/aws"
    );
    assert_eq!(
        m.tag(TerraformProvider, "5.31.0+ent").unwrap(),
        "5.31.0_ent"
    );
    assert_eq!(m.tag(TerraformProvider, "v5.31.0").unwrap(), "5.31.0");
    assert_eq!(
        m.version(TerraformProvider, "5.31.0_ent").unwrap(),
        "5.31.0+ent"
    );
    assert_eq!(
        m.package(TerraformProvider, "terraform-provider/hashicorp/aws")
            .unwrap(),
        "hashicorp/aws"
    );
    assert_eq!(m.version(TerraformProvider, "v5.31.0"), None);
    assert_eq!(m.version(TerraformProvider, "5.31"), None);
}

#[test]
fn a_hostname_with_a_port_keeps_it_as_an_underscore_in_the_repository() {
    let m = mapper()
        .with_template(TerraformProvider, "mirror/${hostname}/${namespace}/${type}")
        .unwrap();
    let repository = m
        .repository(TerraformProvider, "LocalHost:8443/acme/hello")
        .unwrap();
    assert_eq!(repository, "mirror/localhost_8443/acme/hello");
    assert_eq!(
        m.package(TerraformProvider, &repository).unwrap(),
        "localhost:8443/acme/hello"
    );
    // `_` is now a hostname's: a template cannot separate the hostname from the next symbol
    // with it.
    assert!(
        mapper()
            .with_template(TerraformProvider, "mirror/${hostname}_${namespace}/${type}")
            .is_err()
    );
}

#[test]
fn a_provider_from_another_registry_needs_a_hostname_in_the_template() {
    let error = mapper()
        .repository(TerraformProvider, "example.com/acme/widget")
        .unwrap_err();
    assert!(error.to_string().contains("${hostname}"), "{error}");

    let m = mapper()
        .with_template(
            TerraformProvider,
            "acme/mirror/${hostname}/${namespace}_${type}",
        )
        .unwrap();
    let repository = m
        .repository(TerraformProvider, "example.com/acme/widget")
        .unwrap();
    assert_eq!(repository, "acme/mirror/example.com/acme_widget");
    assert_eq!(
        m.package(TerraformProvider, &repository).unwrap(),
        "example.com/acme/widget"
    );
    let repository = m.repository(TerraformProvider, "hashicorp/aws").unwrap();
    assert_eq!(
        repository,
        "acme/mirror/registry.terraform.io/hashicorp_aws"
    );
    assert_eq!(
        m.package(TerraformProvider, &repository).unwrap(),
        "hashicorp/aws"
    );
    assert_eq!(m.repository_prefix(TerraformProvider), "acme/mirror/");
}

#[test]
fn terraform_modules_map_and_latest_is_not_a_version() {
    let m = acme();
    assert_eq!(
        m.repository(TerraformModule, "terraform-aws-modules/vpc/aws")
            .unwrap(),
        "acme/packages/terraform-module/terraform-aws-modules/vpc/aws"
    );
    assert_eq!(
        m.tag(TerraformModule, "1.2.3-rc.1+build.5").unwrap(),
        "1.2.3-rc.1_build.5"
    );
    assert_eq!(m.version(TerraformModule, "latest"), None);
    assert_eq!(
        m.version(TerraformModule, "1.2.3-rc.1_build.5").unwrap(),
        "1.2.3-rc.1+build.5"
    );
    assert_eq!(
        m.package(
            TerraformModule,
            "acme/packages/terraform-module/terraform-aws-modules/vpc/aws"
        )
        .unwrap(),
        "terraform-aws-modules/vpc/aws"
    );
}

#[test]
fn nuget_ids_and_versions_are_normalized_as_nuget_does() {
    let m = mapper();
    assert_eq!(
        m.repository(Nuget, "Newtonsoft.Json").unwrap(),
        "nuget/newtonsoft.json"
    );
    assert_eq!(m.tag(Nuget, "13.0.1.0").unwrap(), "13.0.1");
    assert_eq!(
        m.tag(Nuget, "1.0.0-Beta+sha.5114f85").unwrap(),
        "1.0.0-beta"
    );
    assert_eq!(m.version(Nuget, "13.0.1").unwrap(), "13.0.1");
    assert_eq!(m.version(Nuget, "13.0.1.0"), None);
    assert_eq!(
        m.package(Nuget, "nuget/newtonsoft.json").unwrap(),
        "newtonsoft.json"
    );
}

#[test]
fn gems_keep_their_version() {
    let m = mapper();
    assert_eq!(m.repository(Rubygems, "Rails").unwrap(), "rubygems/rails");
    assert_eq!(m.tag(Rubygems, "7.1.3.2").unwrap(), "7.1.3.2");
    assert_eq!(m.tag(Rubygems, "1.0.0.RC1").unwrap(), "1.0.0.RC1");
    assert_eq!(m.tag(Rubygems, "1.0-rc1").unwrap(), "1.0.pre.rc1");
    assert_eq!(m.version(Rubygems, "1.0.pre.rc1").unwrap(), "1.0.pre.rc1");
    assert_eq!(m.version(Rubygems, "1.0-rc1"), None);
}

#[test]
fn names_that_oci_cannot_hold_are_refused_not_rewritten() {
    let m = mapper();
    assert_eq!(
        message(m.repository(Rubygems, "foo._bar")),
        "cannot map rubygems package `foo._bar` to a repository: `_` cannot follow `.` in an OCI \
         repository path component"
    );
    assert_eq!(
        m.repository(Nuget, "_Private.Lib")
            .unwrap_err()
            .offending_char(),
        Some('_')
    );
    assert!(m.repository(Pypi, &"a".repeat(250)).is_ok());
    assert!(message(m.repository(Pypi, &"a".repeat(251))).contains("over the 255"));
}

#[test]
fn helper_tags_are_not_versions() {
    let m = mapper();
    let digest = format!("sha256-{}", "ab".repeat(32));
    for eco in Ecosystem::ALL {
        for tag in ["latest", digest.as_str(), "sha256-abc.sig", ""] {
            assert_eq!(m.version(eco, tag), None, "{eco} {tag}");
        }
    }
}

#[test]
fn repositories_of_other_ecosystems_or_tools_are_not_packages() {
    let m = acme();
    assert_eq!(m.package(Pypi, "acme/packages/nuget/six"), None);
    assert_eq!(m.package(Pypi, "pypi/six"), None);
    assert_eq!(m.package(Pypi, "acme/packages/pypi/zope.interface"), None);
    assert_eq!(m.package(Pypi, "acme/packages/pypi/six/extra"), None);
    assert_eq!(
        m.package(
            TerraformProvider,
            "acme/packages/terraform-provider/hashicorp"
        ),
        None
    );
    assert_eq!(m.repository_prefix(Pypi), "acme/packages/pypi/");
    assert_eq!(mapper().repository_prefix(Rubygems), "rubygems/");
}

#[test]
fn prefixes_and_templates_are_checked() {
    assert_eq!(Mapper::new("Acme").unwrap_err().offending_char(), Some('A'));
    assert!(Mapper::new("acme/").is_err());
    assert!(Mapper::new("acme//x").is_err());
    let bad = |eco, t: &str| mapper().with_template(eco, t).unwrap_err().to_string();
    assert!(bad(TerraformProvider, "acme/${namespace}-${type}").contains("share one repository"));
    let unknown = mapper().with_template(Pypi, "acme/${type}").unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "cannot use `acme/${type}` as pypi repository template: `${type}` is not a symbol of \
         this template"
    );
    assert_eq!(unknown.hint(), Some("use ${name}"));
    let adjacent = mapper()
        .with_template(TerraformProvider, "acme/${namespace}${type}")
        .unwrap_err();
    assert_eq!(adjacent.hint(), Some("separate them with `/`"));
    assert!(bad(TerraformModule, "acme/${namespace}/${name}").contains("${system}"));
    let m = mapper().with_template(Pypi, "acme/py-${name}").unwrap();
    assert_eq!(m.repository(Pypi, "Six").unwrap(), "acme/py-six");
    assert_eq!(m.package(Pypi, "acme/py-six").unwrap(), "six");
    assert_eq!(m.repository_prefix(Pypi), "acme/py-");
}

// Valid inputs, per ecosystem.
const PYPI_NAME: &str = "[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?";
const PYPI_VERSION: &str = "v?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}((a|b|c|rc|alpha|beta|pre|preview|RC)[-_.]?[0-9]{0,2})?\
                            (\\.post[0-9]{1,2}|-[0-9]{1,2}|\\.rev[0-9]{1,2})?(\\.dev[0-9]{0,2})?\
                            (\\+[a-zA-Z0-9]{1,5}([-_.][a-zA-Z0-9]{1,5}){0,2})?";
const PROVIDER: &str = "(([a-z0-9]{1,8}\\.){0,2}[a-z0-9]{1,8}(:[1-9][0-9]{0,3})?/)?\
                        [A-Za-z0-9](-?[A-Za-z0-9]){0,10}/[A-Za-z0-9](-?[A-Za-z0-9]){0,10}";
const MODULE: &str = "[A-Za-z0-9]([A-Za-z0-9_-]{0,10}[A-Za-z0-9])?/\
                      [A-Za-z0-9]([A-Za-z0-9_-]{0,10}[A-Za-z0-9])?/[A-Za-z0-9]{1,8}";
const SEMVER: &str = "v?(0|[1-9][0-9]{0,3})\\.(0|[1-9][0-9]{0,3})\\.(0|[1-9][0-9]{0,3})\
                      (-([A-Za-z-][0-9A-Za-z-]{0,5}|0|[1-9][0-9]{0,3})(\\.([A-Za-z-][0-9A-Za-z-]{0,5}|0|[1-9][0-9]{0,3})){0,2})?\
                      (\\+[0-9A-Za-z-]{1,5}(\\.[0-9A-Za-z-]{1,5}){0,2})?";
const NUGET_ID: &str = "[A-Za-z0-9_]{1,5}([.-][A-Za-z0-9_]{1,5}){0,3}";
const NUGET_VERSION: &str = "[0-9]{1,4}(\\.[0-9]{1,4}){0,3}\
                             (-[A-Za-z][0-9A-Za-z-]{0,5}(\\.([A-Za-z][0-9A-Za-z-]{0,5}|0|[1-9][0-9]{0,2})){0,2})?\
                             (\\+[0-9A-Za-z-]{1,5}(\\.[0-9A-Za-z-]{1,5}){0,2})?";
const GEM_NAME: &str = "[A-Za-z0-9][A-Za-z0-9._-]{0,15}";
const GEM_VERSION: &str =
    "[0-9]{1,3}(\\.[0-9a-zA-Z]{1,4}){0,3}(-[0-9A-Za-z]{1,4}(\\.[0-9A-Za-z]{1,4}){0,2})?";

fn package_strategy(eco: Ecosystem) -> &'static str {
    match eco {
        Pypi => PYPI_NAME,
        TerraformProvider => PROVIDER,
        TerraformModule => MODULE,
        Nuget => NUGET_ID,
        Rubygems => GEM_NAME,
    }
}

fn version_strategy(eco: Ecosystem) -> &'static str {
    match eco {
        Pypi => PYPI_VERSION,
        TerraformProvider | TerraformModule => SEMVER,
        Nuget => NUGET_VERSION,
        Rubygems => GEM_VERSION,
    }
}

/// Characters each ecosystem never allows in a package id, or in a version.
fn forbidden_in_package(eco: Ecosystem) -> &'static [char] {
    match eco {
        Pypi => &[' ', '/', ':', '@', '!', '+', '~', '$', 'é', '\n'],
        // `:` may start a hostname's port: tested by example in mapper/terraform.rs.
        TerraformProvider => &[' ', '@', '_', '+', '~', '$', 'é', '\t'],
        TerraformModule => &[' ', ':', '@', '.', '+', '~', '$', 'ü'],
        Nuget => &[' ', ':', '@', '+', '~', '$', 'é', '/', '!'],
        Rubygems => &[' ', ':', '@', '+', '~', '$', 'é', '/', '!'],
    }
}

fn forbidden_in_version(eco: Ecosystem) -> &'static [char] {
    match eco {
        Pypi => &[' ', '/', ':', '@', '~', '$', '*', 'é', ',', '='],
        TerraformProvider | TerraformModule => &[' ', '_', ':', '@', '~', '$', 'é', '/', '!'],
        Nuget => &[' ', '_', ':', '@', '~', '$', 'é', '/', '!'],
        Rubygems => &[' ', '_', ':', '@', '~', '$', 'é', '/', '!', '+'],
    }
}

fn any_ecosystem() -> impl Strategy<Value = Ecosystem> {
    proptest::sample::select(Ecosystem::ALL.to_vec())
}

fn with_package() -> impl Strategy<Value = (Ecosystem, String)> {
    any_ecosystem().prop_flat_map(|eco| (Just(eco), package_strategy(eco)))
}

fn with_version() -> impl Strategy<Value = (Ecosystem, String)> {
    any_ecosystem().prop_flat_map(|eco| (Just(eco), version_strategy(eco)))
}

/// Inserts one forbidden character at any place.
fn spoiled(
    valid: (Ecosystem, String),
    forbidden: fn(Ecosystem) -> &'static [char],
) -> impl Strategy<Value = (Ecosystem, String, char)> {
    let (eco, text) = valid;
    let places = text.chars().count() + 1;
    (0..places, proptest::sample::select(forbidden(eco))).prop_map(move |(at, ch)| {
        let mut chars: Vec<char> = text.chars().collect();
        chars.insert(at, ch);
        (eco, chars.into_iter().collect(), ch)
    })
}

fn names(error: &MapError, ch: char) -> bool {
    error.offending_char() == Some(ch)
        && error
            .to_string()
            .contains(&format!("`{}` ", ch.escape_debug()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn repositories_round_trip((eco, package) in with_package(), prefixed in any::<bool>()) {
        let m = if prefixed { acme() } else { mapper() };
        let normalized = Mapper::normalize_package(eco, &package).unwrap();
        match m.repository(eco, &package) {
            Ok(repository) => {
                prop_assert!(repository.starts_with(&m.repository_prefix(eco)));
                prop_assert_eq!(m.package(eco, &repository), Some(normalized.clone()));
                prop_assert_eq!(m.repository(eco, &normalized), Ok(repository));
            }
            // Only what OCI cannot hold (separators it does not allow side by side, or a
            // provider hostname the default template has no place for) may be refused.
            Err(error) => prop_assert!(
                error.offending_char().is_some() || package.matches('/').count() == 2 && eco == TerraformProvider,
                "{}", error
            ),
        }
    }

    #[test]
    fn provider_repositories_round_trip_with_a_hostname_template(package in PROVIDER) {
        let m = mapper().with_template(TerraformProvider, "mirror/${hostname}/${namespace}/${type}").unwrap();
        let repository = m.repository(TerraformProvider, &package).unwrap();
        prop_assert_eq!(
            m.package(TerraformProvider, &repository),
            Some(Mapper::normalize_package(TerraformProvider, &package).unwrap())
        );
    }

    #[test]
    fn tags_round_trip((eco, version) in with_version()) {
        let m = mapper();
        let normalized = Mapper::normalize_version(eco, &version).unwrap();
        let tag = m.tag(eco, &version).unwrap();
        prop_assert_eq!(m.version(eco, &tag), Some(normalized.clone()));
        prop_assert_eq!(m.tag(eco, &normalized), Ok(tag));
    }

    #[test]
    fn every_version_that_maps_round_trips(eco in any_ecosystem(), version in "[0-9a-zA-Z.+!_-]{1,12}") {
        let m = mapper();
        if let Ok(tag) = m.tag(eco, &version) {
            prop_assert_eq!(m.version(eco, &tag), Mapper::normalize_version(eco, &version).ok());
        }
    }

    #[test]
    fn a_tag_stands_for_at_most_one_version(eco in any_ecosystem(), tag in "[A-Za-z0-9_][A-Za-z0-9._-]{0,16}") {
        let m = mapper();
        if let Some(version) = m.version(eco, &tag) {
            prop_assert_eq!(m.tag(eco, &version), Ok(tag));
        }
    }

    #[test]
    fn a_repository_holds_at_most_one_package(eco in any_ecosystem(), tail in "[a-z0-9._/-]{1,24}") {
        let m = mapper();
        let repository = format!("{}{tail}", m.repository_prefix(eco));
        if let Some(package) = m.package(eco, &repository) {
            prop_assert_eq!(m.repository(eco, &package), Ok(repository));
        }
    }

    #[test]
    fn python_epochs_are_refused_naming_the_bang(epoch in 1u32..100, version in PYPI_VERSION) {
        let version = format!("{epoch}!{}", version.trim_start_matches('v'));
        let error = mapper().tag(Pypi, &version).unwrap_err();
        prop_assert!(names(&error, '!'), "{}", error);
    }

    #[test]
    fn forbidden_characters_in_packages_are_named(
        (eco, package, ch) in with_package().prop_flat_map(|valid| spoiled(valid, forbidden_in_package))
    ) {
        let error = mapper().repository(eco, &package).unwrap_err();
        prop_assert!(names(&error, ch), "{}", error);
        prop_assert_eq!(Mapper::normalize_package(eco, &package).unwrap_err(), error);
    }

    #[test]
    fn forbidden_characters_in_versions_are_named(
        (eco, version, ch) in with_version().prop_flat_map(|valid| spoiled(valid, forbidden_in_version))
    ) {
        let error = mapper().tag(eco, &version).unwrap_err();
        prop_assert!(names(&error, ch), "{}", error);
    }
}

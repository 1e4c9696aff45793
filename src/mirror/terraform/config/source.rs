//! The two kinds of address a configuration writes, read as Terraform reads them: a module
//! block's `source` (hashicorp/terraform `internal/getmodules/moduleaddrs`: a local path
//! `./x` or `../x`, else a module registry address if it parses as one
//! (terraform-registry-address `ParseModuleSource`), else anything go-getter fetches) and a
//! provider's `source` in `required_providers` (`TYPE`, `NAMESPACE/TYPE` or
//! `HOST/NAMESPACE/TYPE`; a bare type means `hashicorp/TYPE`, as `addrs.ParseProviderSourceString`
//! says). Pure string work; nothing is fetched.

use crate::ecosystem::terraform_provider::ProviderAddress;
use crate::mapper::DEFAULT_TERRAFORM_HOSTNAME;

/// Where a module block's `source` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    /// A directory of the caller's package, relative to the caller, with forward slashes
    /// (Terraform also takes `.\x` and `..\x` and reads `\` as `/`).
    Local(String),
    /// A module registry address without its `//SUBDIR`: `NAMESPACE/NAME/SYSTEM`, or
    /// `HOST/NAMESPACE/NAME/SYSTEM` for a host other than the default one (which is
    /// dropped, as the mapper drops it for providers; the host lowercased).
    Registry(String),
    /// Anything else (git, an HTTP archive, a bucket ...): what it is, for the message saying
    /// why it is not mirrored.
    Other(&'static str),
}

/// The kind of module source `raw` is.
pub fn module_source(raw: &str) -> ModuleSource {
    if ["./", "../", ".\\", "..\\"]
        .iter()
        .any(|p| raw.starts_with(p))
    {
        return ModuleSource::Local(raw.replace('\\', "/"));
    }
    if let Some(address) = registry_address(raw) {
        return ModuleSource::Registry(address);
    }
    ModuleSource::Other(what_remote_source_is(raw))
}

/// The package address of a module registry source (its `//SUBDIR` dropped), or `None` when
/// terraform-registry-address would not parse it as one.
fn registry_address(raw: &str) -> Option<String> {
    if raw.contains("://") || raw.contains("::") {
        return None;
    }
    let package = raw.split_once("//").map_or(raw, |(p, _)| p);
    let parts: Vec<&str> = package.split('/').collect();
    let (host, rest) = match parts.as_slice() {
        [ns, name, system] => (None, [*ns, *name, *system]),
        [host, ns, name, system] => (Some(host.to_ascii_lowercase()), [*ns, *name, *system]),
        _ => return None,
    };
    if let Some(host) = &host
        && (!is_hostname(host) || host == "github.com" || host == "bitbucket.org")
    {
        return None;
    }
    let [ns, name, system] = rest;
    if !is_registry_name(ns) || !is_registry_name(name) || !is_target_system(system) {
        return None;
    }
    Some(match host {
        Some(h) if h != DEFAULT_TERRAFORM_HOSTNAME => format!("{h}/{ns}/{name}/{system}"),
        _ => format!("{ns}/{name}/{system}"),
    })
}

/// A hostname with at least one dot and an optional port (svchost's rules, short of IDNA).
fn is_hostname(host: &str) -> bool {
    let (name, port) = host.split_once(':').unwrap_or((host, ""));
    name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && port.chars().all(|c| c.is_ascii_digit())
}

/// `^[0-9A-Za-z](?:[0-9A-Za-z-_]{0,62}[0-9A-Za-z])?$` (a namespace or module name).
fn is_registry_name(s: &str) -> bool {
    let ok_end = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (1..=64).contains(&s.len())
        && ok_end(s.chars().next())
        && ok_end(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `^[0-9a-z]{1,64}$` (a module's target system, e.g. `aws`).
fn is_target_system(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

/// What go-getter would fetch `raw` as, in words.
fn what_remote_source_is(raw: &str) -> &'static str {
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("git::")
        || lower.starts_with("git@")
        || lower.starts_with("github.com/")
        || lower.starts_with("bitbucket.org/")
        || lower.split(['?', '/']).any(|p| p.ends_with(".git"))
    {
        "a git repository"
    } else if lower.starts_with("hg::") {
        "a Mercurial repository"
    } else if lower.starts_with("s3::") || lower.contains(".amazonaws.com/") {
        "an S3 bucket"
    } else if lower.starts_with("gcs::") || lower.contains("storage.googleapis.com/") {
        "a Google Cloud Storage bucket"
    } else if lower.starts_with("oci://") {
        "an OCI artifact"
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        "an HTTP(S) archive"
    } else if raw.starts_with('/') || raw.get(1..3) == Some(":\\") || raw.get(1..3) == Some(":/") {
        "a directory outside the configuration"
    } else {
        "not a module registry address (NAMESPACE/NAME/SYSTEM or HOST/NAMESPACE/NAME/SYSTEM)"
    }
}

/// What a provider address resolves to: a provider to mirror, or Terraform's built-in one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    Registry(ProviderAddress),
    /// `terraform.io/builtin/terraform`: compiled into Terraform, nothing to mirror.
    BuiltIn,
}

/// A `required_providers` `source`: `TYPE` (meaning `hashicorp/TYPE`), `NAMESPACE/TYPE` or
/// `HOST/NAMESPACE/TYPE`, normalized by the mapper's rules.
pub fn provider_source(source: &str) -> Result<Provider, String> {
    let source = source.trim();
    let full = if source.contains('/') {
        source.to_owned()
    } else {
        format!("hashicorp/{source}")
    };
    let address = ProviderAddress::parse(&full).map_err(|e| e.to_string())?;
    if address.hostname == "terraform.io" && address.namespace == "builtin" {
        return Ok(Provider::BuiltIn);
    }
    Ok(Provider::Registry(address))
}

/// The provider a local name stands for when `required_providers` does not name it
/// (`addrs.ImpliedProviderForUnqualifiedType`): `terraform` is the built-in provider,
/// anything else `hashicorp/NAME`.
pub fn implied_provider(local_name: &str) -> Result<Provider, String> {
    if local_name == "terraform" {
        return Ok(Provider::BuiltIn);
    }
    provider_source(&format!("hashicorp/{local_name}"))
}

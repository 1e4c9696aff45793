//! Terraform's rules for the mapper: provider addresses (`[<hostname>[:<port>]/]<namespace>/<type>`,
//! the port kept in a repository path as `_<port>`),
//! module addresses (`<namespace>/<name>/<system>`), semantic versions, and OpenTofu's tag
//! spelling of a version (`+` -> `_`). Nothing about zips, checksums or protocols.

use super::Problem;
use super::naming::{Naming, Value, Values};
use super::template::{Symbol, Vocabulary};

/// Providers as OpenTofu's `oci_mirror` names them: `${hostname}`, `${namespace}`, `${type}`.
pub static PROVIDER: Naming = Naming {
    normalize_package: normalize_provider,
    normalize_version,
    tag_text,
    version_text,
    default_path: "${namespace}/${type}",
    vocabulary: Vocabulary {
        allowed: &[Symbol::Hostname, Symbol::Namespace, Symbol::Type],
        required: &[Symbol::Namespace, Symbol::Type],
        value_char: |symbol, c| is_provider_value_char(symbol == Symbol::Hostname, c),
    },
    values: provider_values,
    package: provider_package,
};

/// Modules: `${namespace}`, `${name}`, `${system}`.
pub static MODULE: Naming = Naming {
    normalize_package: normalize_module,
    normalize_version,
    tag_text,
    version_text,
    default_path: "${namespace}/${name}/${system}",
    vocabulary: Vocabulary {
        allowed: &[Symbol::Namespace, Symbol::Name, Symbol::System],
        required: &[Symbol::Namespace, Symbol::Name, Symbol::System],
        value_char: |symbol, c| is_module_value_char(symbol == Symbol::System, c),
    },
    values: module_values,
    package: module_package,
};

fn provider_values(normalized: &str) -> Vec<Value> {
    let (hostname, namespace, kind) = split_provider(normalized);
    vec![
        Value {
            symbol: Symbol::Hostname,
            text: hostname_value(hostname.unwrap_or(DEFAULT_HOSTNAME)),
            implied: hostname.is_none(),
            default: Some(DEFAULT_HOSTNAME),
        },
        Value::stated(Symbol::Namespace, namespace),
        Value::stated(Symbol::Type, kind),
    ]
}

fn provider_package(values: &Values) -> Option<String> {
    let (namespace, kind) = (values.get(Symbol::Namespace)?, values.get(Symbol::Type)?);
    Some(match values.get(Symbol::Hostname).map(hostname_of_value) {
        Some(hostname) if hostname != DEFAULT_HOSTNAME => format!("{hostname}/{namespace}/{kind}"),
        _ => format!("{namespace}/{kind}"),
    })
}

fn module_values(normalized: &str) -> Vec<Value> {
    let mut parts = normalized.splitn(3, '/');
    [Symbol::Namespace, Symbol::Name, Symbol::System]
        .into_iter()
        .map(|symbol| Value::stated(symbol, parts.next().unwrap_or_default()))
        .collect()
}

fn module_package(values: &Values) -> Option<String> {
    Some(format!(
        "{}/{}/{}",
        values.get(Symbol::Namespace)?,
        values.get(Symbol::Name)?,
        values.get(Symbol::System)?
    ))
}

/// The registry a provider address without hostname belongs to.
pub const DEFAULT_HOSTNAME: &str = "registry.terraform.io";

/// A provider address, lowercased; the hostname is dropped when it is [`DEFAULT_HOSTNAME`].
pub(super) fn normalize_provider(address: &str) -> Result<String, Problem> {
    let parts: Vec<&str> = address.split('/').collect();
    let (hostname, namespace, kind) = match parts[..] {
        [namespace, kind] => (None, namespace, kind),
        [hostname, namespace, kind] => (Some(hostname), namespace, kind),
        _ => {
            return Err(Problem::invalid(
                "a provider is `<namespace>/<type>` or `<hostname>/<namespace>/<type>`",
            ));
        }
    };
    let hostname = hostname.map(normalize_hostname).transpose()?;
    let namespace = normalize_provider_part(namespace, "namespace")?;
    let kind = normalize_provider_part(kind, "type")?;
    Ok(match hostname {
        Some(hostname) if hostname != DEFAULT_HOSTNAME => {
            format!("{hostname}/{namespace}/{kind}")
        }
        _ => format!("{namespace}/{kind}"),
    })
}

/// Splits a normalized provider address into hostname (if not the default), namespace, type.
pub(super) fn split_provider(normalized: &str) -> (Option<&str>, &str, &str) {
    let mut parts = normalized.rsplitn(3, '/');
    let kind = parts.next().unwrap_or_default();
    let namespace = parts.next().unwrap_or_default();
    (parts.next(), namespace, kind)
}

/// OpenTofu's rule for provider namespaces and types: letters, digits and single dashes,
/// no dash at either end; case-insensitive, so lowercased. Only ASCII maps to OCI.
fn normalize_provider_part(part: &str, what: &str) -> Result<String, Problem> {
    let (Some(first), Some(last)) = (part.chars().next(), part.chars().last()) else {
        return Err(Problem::invalid(format!("the provider {what} is empty")));
    };
    if let Some(ch) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(Problem::character(
            ch,
            format!("is not allowed in a provider {what}"),
        ));
    }
    for ch in [first, last] {
        if ch == '-' {
            return Err(Problem::character(
                ch,
                format!("cannot start or end a provider {what}"),
            ));
        }
    }
    if part.contains("--") {
        return Err(Problem::character(
            '-',
            format!("cannot be doubled in a provider {what}"),
        ));
    }
    Ok(part.to_ascii_lowercase())
}

/// A DNS name, lowercased, with an optional `:PORT` (1 to 65535, no leading zero; `:443`,
/// the https port, dropped as Terraform drops it), e.g. `localhost:8443`.
fn normalize_hostname(hostname: &str) -> Result<String, Problem> {
    let (name, port) = match hostname.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (hostname, None),
    };
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    {
        return Err(Problem::character(
            ch,
            "is not allowed in a provider hostname",
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(Problem::character(
                '.',
                "must separate non-empty labels in a provider hostname",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(Problem::character(
                '-',
                "cannot start or end a hostname label",
            ));
        }
    }
    let name = name.to_ascii_lowercase();
    if let Some(ch) = port.and_then(|p| p.chars().find(|c| !c.is_ascii_digit())) {
        return Err(Problem::character(
            ch,
            "is not allowed in a provider hostname's port",
        ));
    }
    match port {
        None | Some("443") => Ok(name),
        Some(port) if !port.starts_with('0') && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(format!("{name}:{port}"))
        }
        Some(_) => Err(Problem::character(
            ':',
            "must be followed by a port number (1 to 65535) in a provider hostname",
        )),
    }
}

/// A hostname as a repository path holds it: `:` (not allowed in OCI repositories) becomes
/// `_`, which a DNS name never contains, so the port is read back unambiguously.
fn hostname_value(hostname: &str) -> String {
    hostname.replace(':', "_")
}

/// The hostname a repository value stands for (the inverse of [`hostname_value`]).
fn hostname_of_value(value: &str) -> String {
    value.replace('_', ":")
}

/// Whether a provider's repository value for a template symbol can contain `c`.
pub(super) fn is_provider_value_char(hostname: bool, c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (hostname && matches!(c, '.' | '_'))
}

/// A module registry address `<namespace>/<name>/<system>`, lowercased.
pub(super) fn normalize_module(address: &str) -> Result<String, Problem> {
    let parts: Vec<&str> = address.split('/').collect();
    let [namespace, name, system] = parts[..] else {
        return Err(Problem::invalid(
            "a module is `<namespace>/<name>/<system>`",
        ));
    };
    let namespace = normalize_module_name(namespace, "namespace")?;
    let name = normalize_module_name(name, "name")?;
    let system = normalize_module_system(system)?;
    Ok(format!("{namespace}/{name}/{system}"))
}

/// The registry's rule for module namespaces and names:
/// `[0-9A-Za-z](?:[0-9A-Za-z-_]{0,62}[0-9A-Za-z])?`.
fn normalize_module_name(part: &str, what: &str) -> Result<String, Problem> {
    let (Some(first), Some(last)) = (part.chars().next(), part.chars().last()) else {
        return Err(Problem::invalid(format!("the module {what} is empty")));
    };
    if let Some(ch) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        return Err(Problem::character(
            ch,
            format!("is not allowed in a module {what}"),
        ));
    }
    for ch in [first, last] {
        if !ch.is_ascii_alphanumeric() {
            return Err(Problem::character(
                ch,
                format!("cannot start or end a module {what}"),
            ));
        }
    }
    if part.len() > 64 {
        return Err(Problem::invalid(format!(
            "a module {what} has at most 64 characters"
        )));
    }
    Ok(part.to_ascii_lowercase())
}

/// The registry's rule for the target system: `[0-9a-z]{1,64}`.
fn normalize_module_system(system: &str) -> Result<String, Problem> {
    if system.is_empty() || system.len() > 64 {
        return Err(Problem::invalid("a module system has 1 to 64 characters"));
    }
    if let Some(ch) = system.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(Problem::character(ch, "is not allowed in a module system"));
    }
    Ok(system.to_ascii_lowercase())
}

/// Whether a module's repository value can contain `c` (`system` never has `-` or `_`).
pub(super) fn is_module_value_char(system: bool, c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || (!system && matches!(c, '-' | '_'))
}

/// A semantic version, `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, as Terraform and OpenTofu accept it.
/// A leading `v` (as in git tags `v1.2.3`) is dropped: Terraform's registries read such tags
/// as the version without it.
pub(super) fn normalize_version(version: &str) -> Result<String, Problem> {
    if let Some(ch) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
    {
        return Err(Problem::character(
            ch,
            "is not allowed in semantic versions",
        ));
    }
    let bare = version.strip_prefix('v').unwrap_or(version);
    semver::Version::parse(bare)
        .map(|v| v.to_string())
        .map_err(|e| Problem::invalid(format!("not a semantic version: {e}")))
}

/// OpenTofu's tag for a version: `+` (not allowed in tags) becomes `_` (never in a semver).
pub(super) fn tag_text(normalized: &str) -> String {
    normalized.replace('+', "_")
}

/// The version text a tag stands for, as OpenTofu reads it.
pub(super) fn version_text(tag: &str) -> String {
    tag.replace('_', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_addresses_are_lowercased_and_lose_the_default_hostname() {
        assert_eq!(
            normalize_provider("hashicorp/aws").unwrap(),
            "hashicorp/aws"
        );
        assert_eq!(
            normalize_provider("HashiCorp/AWS").unwrap(),
            "hashicorp/aws"
        );
        assert_eq!(
            normalize_provider("registry.terraform.io/hashicorp/aws").unwrap(),
            "hashicorp/aws"
        );
        assert_eq!(
            normalize_provider("Registry.OpenTofu.org/hashicorp/aws").unwrap(),
            "registry.opentofu.org/hashicorp/aws"
        );
        assert_eq!(
            normalize_provider("LocalHost:8443/acme/hello").unwrap(),
            "localhost:8443/acme/hello"
        );
        assert_eq!(
            normalize_provider("tf.example:443/acme/hello").unwrap(),
            "tf.example/acme/hello"
        );
        assert_eq!(split_provider("hashicorp/aws"), (None, "hashicorp", "aws"));
        assert_eq!(
            split_provider("example.com/acme/x"),
            (Some("example.com"), "acme", "x")
        );
    }

    #[test]
    fn invalid_provider_addresses_name_the_character() {
        let offending = |a: &str| normalize_provider(a).unwrap_err().offending_char();
        assert_eq!(offending("hashi_corp/aws"), Some('_'));
        assert_eq!(offending("hashicorp/-aws"), Some('-'));
        assert_eq!(offending("hashicorp/a--ws"), Some('-'));
        assert_eq!(offending("example.com:/acme/x"), Some(':'));
        assert_eq!(offending("example.com:08443/acme/x"), Some(':'));
        assert_eq!(offending("example.com:65536/acme/x"), Some(':'));
        assert_eq!(offending("example.com:0/acme/x"), Some(':'));
        assert_eq!(offending("a:1:2/acme/x"), Some(':'));
        assert_eq!(offending("a:8x/acme/x"), Some('x'));
        assert_eq!(offending("example.com/ac:me/x"), Some(':'));
        assert_eq!(offending("hashicorp/aws.x"), Some('.'));
        assert!(normalize_provider("aws").is_err());
        assert!(normalize_provider("a/b/c/d").is_err());
        assert!(normalize_provider("/aws").is_err());
    }

    #[test]
    fn module_addresses_follow_the_registry_rules() {
        assert_eq!(
            normalize_module("Terraform-AWS-modules/vpc/AWS").unwrap(),
            "terraform-aws-modules/vpc/aws"
        );
        assert_eq!(
            normalize_module("acme/my_mod/azurerm").unwrap(),
            "acme/my_mod/azurerm"
        );
        let offending = |a: &str| normalize_module(a).unwrap_err().offending_char();
        assert_eq!(offending("acme/vpc/a-ws"), Some('-'));
        assert_eq!(offending("acme/_vpc/aws"), Some('_'));
        assert_eq!(offending("acme/v.pc/aws"), Some('.'));
        assert!(normalize_module("acme/vpc").is_err());
    }

    #[test]
    fn versions_are_semantic_versions() {
        assert_eq!(normalize_version("5.31.0+ent").unwrap(), "5.31.0+ent");
        assert_eq!(normalize_version("v1.2.3-beta.1").unwrap(), "1.2.3-beta.1");
        assert!(normalize_version("1.2").is_err());
        assert!(normalize_version("01.2.3").is_err());
        assert!(normalize_version("latest").is_err());
        assert_eq!(
            normalize_version("1.2.3_4").unwrap_err().offending_char(),
            Some('_')
        );
    }
}

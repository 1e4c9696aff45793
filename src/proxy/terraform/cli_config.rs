//! The Terraform / OpenTofu CLI configuration `opp proxy` hands its child
//! (`TF_CLI_CONFIG_FILE`): a `provider_installation` block sending the providers the store
//! holds to the proxy's network mirror and every other provider `direct`, and a `host` block
//! giving the module host a fixed `modules.v1` service (no DNS, no discovery).
//!
//! Setting `TF_CLI_CONFIG_FILE` hides the user's own CLI config (`TF_CLI_CONFIG_FILE`,
//! `TERRAFORM_CONFIG` or `~/.terraformrc`) from the child, so its content is carried over:
//! every top-level item is copied as written except its `provider_installation` block (only
//! one may exist; ours replaces it when the store has providers) and a `host` block for the
//! module host, and its `credentials` blocks for the proxy's hosts (ours carry the proxy's
//! secret as the token terraform sends to the mirror and the module registry). Only the text
//! is touched here: the file is read and written by the caller.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file written into the proxy's temporary directory.
pub const CONFIG_FILE_NAME: &str = "opp.tfrc";

/// The registries whose providers the mirror serves from the store under `namespace/type`.
const DEFAULT_HOSTS: [&str; 2] = ["registry.terraform.io", "registry.opentofu.org"];

/// The user's own CLI config, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConfig {
    pub path: PathBuf,
    pub text: String,
}

/// Everything the generated CLI config says.
pub struct CliConfig<'a> {
    /// The proxy's base URL, no trailing slash.
    pub base_url: &'a str,
    /// The hostname module sources use to reach the proxy.
    pub module_host: &'a str,
    /// The providers in the store, as the store lists them (`namespace/type`, or
    /// `hostname/namespace/type` for another registry's).
    pub providers: &'a [String],
    pub user: Option<&'a UserConfig>,
    /// The proxy's secret: the `credentials` token for the proxy's host (the mirror) and the
    /// module host (the module registry). `None` writes no credentials.
    pub token: Option<&'a str>,
}

impl CliConfig<'_> {
    /// The CLI config text (HCL, as Terraform 1.0 and later and OpenTofu read it).
    pub fn render(&self) -> String {
        let mirror_url = format!("{}/terraform/providers/", self.base_url);
        let modules_url = format!("{}/terraform/modules/v1/", self.base_url);
        let addresses = mirror_addresses(self.providers);
        // Terraform refuses a network mirror that is not https; and with no provider in
        // the store there is nothing to send there. Either way the user's own provider
        // installation (or Terraform's default) stays as it is.
        let mirror = !addresses.is_empty() && self.base_url.starts_with("https://");
        let mut text = String::from("# Written by `opp proxy` for this run only.\n");
        if mirror {
            let list = hcl_list(&addresses);
            text.push_str(&format!(
                "# The providers in the store come from the proxy's network mirror, every other\n\
                 # provider from its registry.\n\
                 provider_installation {{\n  network_mirror {{\n    url     = {}\n    \
                 include = {list}\n  }}\n  direct {{\n    exclude = {list}\n  }}\n}}\n\n",
                quote(&mirror_url),
            ));
        } else if !addresses.is_empty() {
            text.push_str(
                "# The proxy does not serve https, which Terraform requires of a network mirror:\n\
                 # providers are installed as without the proxy.\n\n",
            );
        }
        text.push_str(&format!(
            "# Module sources `{host}/NAMESPACE/NAME/SYSTEM` come from the proxy.\n\
             host {} {{\n  services = {{\n    \"modules.v1\" = {}\n  }}\n}}\n",
            quote(self.module_host),
            quote(&modules_url),
            host = self.module_host,
        ));
        let credential_hosts = self.credential_hosts();
        if let Some(token) = self.token {
            text.push_str(
                "\n# The proxy's secret for this run, sent as a Bearer token to the mirror and the\n\
                 # module registry.\n",
            );
            for host in &credential_hosts {
                text.push_str(&format!(
                    "credentials {} {{\n  token = {}\n}}\n",
                    quote(host),
                    quote(token)
                ));
            }
        }
        if let Some(user) = self.user {
            let replaced = if self.token.is_some() {
                credential_hosts.as_slice()
            } else {
                &[]
            };
            text.push('\n');
            text.push_str(&carry_over(user, self.module_host, mirror, replaced));
        }
        text
    }

    /// The hosts terraform sends the token to: the proxy's `host:port` (the mirror's URL)
    /// and the module host (module sources name it).
    pub fn credential_hosts(&self) -> Vec<String> {
        let authority = self
            .base_url
            .split_once("://")
            .map_or(self.base_url, |(_, rest)| rest);
        let authority = authority.split('/').next().unwrap_or(authority);
        let mut hosts = vec![authority.to_ascii_lowercase()];
        let module_host = self.module_host.to_ascii_lowercase();
        if !hosts.contains(&module_host) {
            hosts.push(module_host);
        }
        hosts
    }
}

/// What the user's config contributes: its items but the ones ours replaces.
fn carry_over(
    user: &UserConfig,
    module_host: &str,
    replace_installation: bool,
    credential_hosts: &[String],
) -> String {
    let path = user.path.display();
    if user.text.trim_start().starts_with('{') {
        return format!(
            "# {path} is in JSON syntax, which cannot be combined with this file; its \
             settings do not apply in this run.\n"
        );
    }
    let module_host = module_host.to_ascii_lowercase();
    let mut kept = String::new();
    let mut dropped = Vec::new();
    let mut last = 0;
    for item in top_level_items(&user.text) {
        let label = item.labels.first().map(|l| l.to_ascii_lowercase());
        let replaced = (replace_installation && item.name == "provider_installation")
            || (item.name == "host" && label.as_deref() == Some(module_host.as_str()))
            || (item.name == "credentials" && label.is_some_and(|l| credential_hosts.contains(&l)));
        if replaced {
            kept.push_str(&user.text[last..item.start]);
            last = item.end;
            let what = match item.labels.first() {
                Some(label) => format!("`{} \"{label}\"`", item.name),
                None => format!("`{}`", item.name),
            };
            dropped.push(what);
        }
    }
    kept.push_str(&user.text[last..]);
    let mut text = format!("# From {path}");
    if !dropped.is_empty() {
        text.push_str(&format!(
            " (its {} replaced by the above)",
            dropped.join(" and ")
        ));
    }
    text.push_str(":\n");
    text.push_str(&kept);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The provider addresses the network mirror serves: a provider stored as
/// `namespace/type` under both default registries, one of another registry under its own.
pub fn mirror_addresses(providers: &[String]) -> Vec<String> {
    let mut addresses = Vec::new();
    for p in providers {
        if p.split('/').count() == 3 {
            addresses.push(p.clone());
        } else {
            addresses.extend(DEFAULT_HOSTS.iter().map(|h| format!("{h}/{p}")));
        }
    }
    addresses.sort();
    addresses.dedup();
    addresses
}

/// The CLI config file the user's Terraform reads: `TF_CLI_CONFIG_FILE`, else
/// `TERRAFORM_CONFIG`, else `~/.terraformrc` (`%APPDATA%\terraform.rc` on Windows). Whether
/// it exists is the reader's question.
pub fn user_config_path(
    var: impl Fn(&str) -> Option<OsString>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    for key in ["TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG"] {
        if let Some(value) = var(key).filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(value));
        }
    }
    if cfg!(windows) {
        var("APPDATA").map(|d| PathBuf::from(d).join("terraform.rc"))
    } else {
        home.map(|h| h.join(".terraformrc"))
    }
}

/// Reads the user's config; `None` when there is none (Terraform ignores a missing file too).
pub(super) async fn read_user_config(path: &Path) -> anyhow::Result<Option<UserConfig>> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(Some(UserConfig {
            path: path.to_owned(),
            text,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot read the Terraform CLI config {} to carry it into the proxy's",
            path.display()
        ))),
    }
}

/// An HCL string literal (JSON's escaping is HCL's for these characters).
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn hcl_list(items: &[String]) -> String {
    let inner: Vec<String> = items
        .iter()
        .map(|i| format!("      {}", quote(i)))
        .collect();
    format!("[\n{}\n    ]", inner.join(",\n"))
}

/// One top-level item of an HCL text: a block (`name "label" { ... }`) or an attribute
/// (`name = value`), from its first character to the end of its closing brace or line.
#[derive(Debug, PartialEq, Eq)]
struct Item {
    start: usize,
    end: usize,
    name: String,
    labels: Vec<String>,
}

/// The top-level items of an HCL (1 or 2) text, skipping comments and strings. Heredocs
/// are not understood (CLI config files have no use for them).
fn top_level_items(text: &str) -> Vec<Item> {
    let b = text.as_bytes();
    let mut items = Vec::new();
    let mut depth = 0usize;
    // The item being read: its start, and once known whether it is a block and where its
    // head (name and labels) ends.
    let mut current: Option<(usize, Option<(bool, usize)>)> = None;
    let finish = |start: usize, head_end: usize, end: usize, items: &mut Vec<Item>| {
        let mut words = text[start..head_end]
            .split_whitespace()
            .map(|w| w.trim_matches('"').to_owned());
        if let Some(name) = words.next() {
            items.push(Item {
                start,
                end,
                name,
                labels: words.collect(),
            });
        }
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match (c, b.get(i + 1)) {
            (b'"', _) => {
                if current.is_none() && depth == 0 {
                    current = Some((i, None));
                }
                i = skip_string(b, i);
                continue;
            }
            (b'#', _) | (b'/', Some(b'/')) => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                continue;
            }
            (b'/', Some(b'*')) => {
                i = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            _ => {}
        }
        if depth == 0 && current.is_none() && !c.is_ascii_whitespace() {
            current = Some((i, None));
        }
        match c {
            b'{' | b'[' | b'(' => {
                if depth == 0
                    && let Some((_, kind @ None)) = &mut current
                {
                    *kind = Some((true, i));
                }
                depth += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some((start, Some((true, head_end)))) = current
                {
                    finish(start, head_end, i + 1, &mut items);
                    current = None;
                }
            }
            b'=' if depth == 0 => {
                if let Some((_, kind @ None)) = &mut current {
                    *kind = Some((false, i));
                }
            }
            b'\n' if depth == 0 => {
                if let Some((start, Some((false, head_end)))) = current {
                    finish(start, head_end, i, &mut items);
                    current = None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((start, Some((_, head_end)))) = current {
        finish(start, head_end, b.len(), &mut items);
    }
    items
}

/// The index just past the string literal starting at `start` (a `"`).
fn skip_string(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
#[path = "cli_config_tests.rs"]
mod tests;

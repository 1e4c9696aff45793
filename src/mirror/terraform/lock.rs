//! Reading `.terraform.lock.hcl` for `--lock`: one `provider "ADDRESS" { version = "...",
//! hashes = [...] }` block per provider, read with an HCL parser (hcl-rs), not patterns.
//! Pure: text in, the locked providers out (their exact version, `zh:` hashes as lowercase
//! hex, `h1:` hashes as written).

/// One provider block of a lock file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    /// The block's label, e.g. `registry.terraform.io/hashicorp/aws`.
    pub address: String,
    pub version: String,
    /// The `zh:` hashes (sha256 of the zips, and of other files SHA256SUMS lists), hex.
    pub zh: Vec<String>,
    /// The `h1:` hashes, with their prefix.
    pub h1: Vec<String>,
}

/// The provider blocks of a lock file's text.
pub fn read(text: &str) -> Result<Vec<Locked>, String> {
    let body = hcl::parse(text).map_err(|e| e.to_string().replace('\n', " "))?;
    let mut locked = Vec::new();
    for block in body.blocks().filter(|b| b.identifier() == "provider") {
        let [label] = block.labels() else {
            return Err("a `provider` block has not exactly one label (its address)".to_owned());
        };
        let address = label.as_str().to_owned();
        let mut version = None;
        let (mut zh, mut h1) = (Vec::new(), Vec::new());
        for attr in block.body().attributes() {
            match (attr.key(), attr.expr()) {
                ("version", hcl::Expression::String(v)) => version = Some(v.clone()),
                ("version", _) => {
                    return Err(format!("provider \"{address}\": `version` is not a string"));
                }
                ("hashes", hcl::Expression::Array(items)) => {
                    for item in items {
                        let hcl::Expression::String(h) = item else {
                            return Err(format!(
                                "provider \"{address}\": `hashes` holds something other than \
                                 strings"
                            ));
                        };
                        if let Some(hex) = h.strip_prefix("zh:") {
                            zh.push(hex.to_ascii_lowercase());
                        } else if h.starts_with("h1:") {
                            h1.push(h.clone());
                        }
                    }
                }
                ("hashes", _) => {
                    return Err(format!("provider \"{address}\": `hashes` is not a list"));
                }
                _ => {}
            }
        }
        let version = version.ok_or_else(|| format!("provider \"{address}\" has no `version`"))?;
        locked.push(Locked {
            address,
            version,
            zh,
            h1,
        });
    }
    Ok(locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.80.0"
  constraints = "~> 5.80"
  hashes = [
    "h1:q4pOVGxnRBPEbTiC6Wsy+vNHq9C7r6DcGwRPPA2qP6w=",
    "zh:0A6D0E8A6D0E8A6D0E8A6D0E8A6D0E8A6D0E8A6D0E8A6D0E8A6D0E8A6D0E8A6D",
    "zh:1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b",
  ]
}

provider "registry.opentofu.org/hashicorp/random" {
  version = "3.6.3"
}
"#;

    #[test]
    fn provider_blocks_give_versions_and_hashes() {
        let locked = read(LOCK).unwrap();
        assert_eq!(locked.len(), 2);
        assert_eq!(locked[0].address, "registry.terraform.io/hashicorp/aws");
        assert_eq!(locked[0].version, "5.80.0");
        assert_eq!(
            locked[0].zh,
            [
                "0a6d0e8a6d0e8a6d0e8a6d0e8a6d0e8a6d0e8a6d0e8a6d0e8a6d0e8a6d0e8a6d",
                "1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b"
            ]
        );
        assert_eq!(
            locked[0].h1,
            ["h1:q4pOVGxnRBPEbTiC6Wsy+vNHq9C7r6DcGwRPPA2qP6w="]
        );
        assert_eq!(locked[1].version, "3.6.3");
        assert!(locked[1].zh.is_empty());
    }

    #[test]
    fn malformed_lock_files_say_what_is_wrong() {
        assert!(read("provider \"a/b\" {\n  version = \n}").is_err());
        assert_eq!(
            read("provider \"a/b\" {\n  hashes = []\n}").unwrap_err(),
            "provider \"a/b\" has no `version`"
        );
        assert_eq!(
            read("provider \"a/b\" {\n  version = \"1.0.0\"\n  hashes = \"zh:00\"\n}").unwrap_err(),
            "provider \"a/b\": `hashes` is not a list"
        );
    }
}

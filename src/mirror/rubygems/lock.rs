//! Reading a `Gemfile.lock` as Bundler writes it: the gems of each `GEM` section (its
//! `remote:` and `specs:`, `NAME (VERSION[-PLATFORM])` at four spaces), and the `CHECKSUMS`
//! section of Bundler 2.5+ (`NAME (VERSION[-PLATFORM]) sha256=HEX`, as `Bundler::Checksum`
//! writes it). Gems from `GIT` and `PATH` sources are listed as not mirrored. Pure: text in,
//! values out.

use std::collections::BTreeMap;

/// One gem file a lock pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedGem {
    pub name: String,
    pub version: String,
    /// `ruby` for a plain gem.
    pub platform: String,
    /// The `remote:` of its `GEM` section.
    pub remote: Option<String>,
    /// From `CHECKSUMS`, lowercase hex.
    pub sha256: Option<String>,
}

impl LockedGem {
    /// `NAME-VERSION[-PLATFORM].gem`.
    pub fn file_name(&self) -> String {
        if self.platform == "ruby" {
            format!("{}-{}.gem", self.name, self.version)
        } else {
            format!("{}-{}-{}.gem", self.name, self.version, self.platform)
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Locked {
    pub gems: Vec<LockedGem>,
    /// What is not mirrored, and why.
    pub skipped: Vec<String>,
}

/// `NAME (VERSION[-PLATFORM])` -> (name, version, platform).
fn spec_line(text: &str) -> Option<(String, String, String)> {
    let (name, rest) = text.split_once(" (")?;
    let inside = rest.strip_suffix(')')?;
    let (version, platform) = inside.split_once('-').unwrap_or((inside, "ruby"));
    (!name.is_empty() && !version.is_empty() && !name.contains(' '))
        .then(|| (name.to_owned(), version.to_owned(), platform.to_owned()))
}

/// Reads a lock file; the error says what is wrong with it.
pub fn read(text: &str) -> Result<Locked, String> {
    let mut locked = Locked::default();
    let mut checksums: BTreeMap<(String, String, String), String> = BTreeMap::new();
    let mut section = String::new();
    let mut remote: Option<String> = None;
    let mut in_specs = false;
    let mut saw_gem = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = line.to_owned();
            remote = None;
            in_specs = false;
            saw_gem |= section == "GEM";
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        match section.as_str() {
            "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" => {
                if indent == 2 {
                    in_specs = body == "specs:";
                    if let Some(r) = body.strip_prefix("remote: ") {
                        remote = Some(r.trim().to_owned());
                    }
                } else if indent == 4 && in_specs {
                    let (name, version, platform) = spec_line(body)
                        .ok_or_else(|| format!("line {}: `{body}` is not NAME (VERSION)", n + 1))?;
                    super::info::check_name(&name)
                        .and_then(|()| super::info::check_file_parts(&version, &platform))
                        .map_err(|why| format!("line {}: `{body}`: {why}", n + 1))?;
                    if section == "GEM" {
                        locked.gems.push(LockedGem {
                            name,
                            version,
                            platform,
                            remote: remote.clone(),
                            sha256: None,
                        });
                    } else {
                        locked.skipped.push(format!(
                            "{name} {version} comes from a {section} source ({}), not a gem \
                             source",
                            remote.as_deref().unwrap_or("no remote")
                        ));
                    }
                }
            }
            "CHECKSUMS" if indent == 2 => {
                let (spec, sums) = match body.rsplit_once(") ") {
                    Some((spec, sums)) => (format!("{spec})"), sums),
                    None => continue,
                };
                let Some(key) = spec_line(&spec) else {
                    continue;
                };
                for sum in sums.split(',') {
                    // `sha256=HEX` as Bundler 2.5 writes it; `sha256-HEX` as its previews did.
                    let sum = sum.trim();
                    if let Some(hex) = sum
                        .strip_prefix("sha256=")
                        .or_else(|| sum.strip_prefix("sha256-"))
                    {
                        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return Err(format!(
                                "line {}: `{hex}` is not a sha256 in CHECKSUMS",
                                n + 1
                            ));
                        }
                        checksums.insert(key.clone(), hex.to_ascii_lowercase());
                    }
                }
            }
            _ => {}
        }
    }
    if !saw_gem && locked.skipped.is_empty() {
        return Err("it has no GEM section (is it a Gemfile.lock?)".into());
    }
    for gem in &mut locked.gems {
        let key = (gem.name.clone(), gem.version.clone(), gem.platform.clone());
        gem.sha256 = checksums.get(&key).cloned();
    }
    Ok(locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gems_platforms_remotes_and_checksums_are_read() {
        let sum = "AB".repeat(32);
        let text = format!(
            "GIT\n  remote: https://github.com/x/y.git\n  revision: abc\n  specs:\n    y (0.1.0)\n\n\
             GEM\n  remote: http://127.0.0.1:9/\n  specs:\n    a (1.0.0)\n      b (~> 1.2)\n    \
             c (1.5.0-x86_64-linux)\n\n\
             PLATFORMS\n  x86_64-linux\n\n\
             DEPENDENCIES\n  a\n\n\
             CHECKSUMS\n  a (1.0.0) sha256={sum}\n  c (1.5.0-x86_64-linux)\n\n\
             BUNDLED WITH\n   2.5.3\n"
        );
        let locked = read(&text).unwrap();
        assert_eq!(
            locked.gems,
            [
                LockedGem {
                    name: "a".into(),
                    version: "1.0.0".into(),
                    platform: "ruby".into(),
                    remote: Some("http://127.0.0.1:9/".into()),
                    sha256: Some(sum.to_ascii_lowercase()),
                },
                LockedGem {
                    name: "c".into(),
                    version: "1.5.0".into(),
                    platform: "x86_64-linux".into(),
                    remote: Some("http://127.0.0.1:9/".into()),
                    sha256: None,
                }
            ]
        );
        assert_eq!(locked.gems[1].file_name(), "c-1.5.0-x86_64-linux.gem");
        assert_eq!(
            locked.skipped,
            ["y 0.1.0 comes from a GIT source (https://github.com/x/y.git), not a gem source"]
        );
    }

    #[test]
    fn checksums_with_a_dash_as_bundler_previews_wrote_them_are_read() {
        let sum = "0f".repeat(32);
        let text = format!(
            "GEM\n  remote: x\n  specs:\n    a (1.0)\n\nCHECKSUMS\n  a (1.0) sha256-{sum}\n"
        );
        assert_eq!(
            read(&text).unwrap().gems[0].sha256.as_deref(),
            Some(sum.as_str())
        );
    }

    #[test]
    fn what_is_not_a_lock_is_refused() {
        assert!(read("source 'https://rubygems.org'\ngem 'rails'\n").is_err());
        assert!(read("GEM\n  remote: x\n  specs:\n    bad\n").is_err());
        assert!(read("GEM\n  remote: x\n  specs:\n    a (1.0-x/../../y)\n").is_err());
        assert!(read("GEM\n  remote: x\n  specs:\n    ../a (1.0)\n").is_err());
        let bad_sum = "GEM\n  remote: x\n  specs:\n    a (1)\n\nCHECKSUMS\n  a (1) sha256=zz\n";
        assert_eq!(
            read(bad_sum).unwrap_err(),
            "line 7: `zz` is not a sha256 in CHECKSUMS"
        );
    }
}

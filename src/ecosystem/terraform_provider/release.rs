//! A provider release directory, as goreleaser and the Terraform publishing guide lay it out:
//! `terraform-provider-<type>_<version>_<os>_<arch>.zip` per platform,
//! `terraform-provider-<type>_<version>_SHA256SUMS`, optionally `..._SHA256SUMS.sig` and
//! `..._manifest.json`. [`read_release`] finds those files (others, such as goreleaser's
//! `artifacts.json` or build directories, are ignored), refuses a directory that mixes types
//! or versions, checks every zip against SHA256SUMS and computes its `h1:` hash. It reads
//! files; it uploads nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::ecosystem::limits;
use crate::mapper::Mapper;
use crate::release::Ecosystem;

use super::ProviderError;
use super::hash::{h1_of_zip, sha256_of};

/// One version of one provider, read from its release directory and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRelease {
    /// The provider type as the file names spell it (`aws` of `terraform-provider-aws_...`).
    pub provider_type: String,
    /// The semantic version the file names carry (already normalized: no `v`).
    pub version: String,
    /// One zip per platform, ordered by `os`, then `arch`.
    pub platforms: Vec<PlatformZip>,
    pub shasums: PathBuf,
    pub shasums_sig: Option<PathBuf>,
    pub manifest_json: Option<PathBuf>,
    /// Plugin protocol versions from `manifest.json` (`metadata.protocol_versions`, e.g.
    /// `["5.0", "6.0"]`); empty without a manifest.
    pub protocols: Vec<String>,
}

/// One platform's zip of a release, checked against SHA256SUMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformZip {
    pub path: PathBuf,
    pub file_name: String,
    /// GOOS, e.g. `linux`.
    pub os: String,
    /// GOARCH, e.g. `amd64`.
    pub arch: String,
    /// sha256 of the zip file, lowercase hex (the SHA256SUMS line; `zh:` in lock files).
    pub sha256_hex: String,
    /// Terraform's `h1:` hash of the zip's contents, with its `h1:` prefix.
    pub h1: String,
    pub size: u64,
}

impl PlatformZip {
    /// The lock file's `zh:` hash of this zip.
    pub fn zh(&self) -> String {
        format!("zh:{}", self.sha256_hex)
    }

    /// `<os>_<arch>`, as Terraform names platforms.
    pub fn platform(&self) -> String {
        format!("{}_{}", self.os, self.arch)
    }
}

impl ProviderRelease {
    /// Every `h1:` and `zh:` hash of the release, sorted, as a lock file lists them.
    pub fn lock_hashes(&self) -> Vec<String> {
        let mut hashes: Vec<String> = self
            .platforms
            .iter()
            .flat_map(|p| [p.h1.clone(), p.zh()])
            .collect();
        hashes.sort();
        hashes.dedup();
        hashes
    }
}

/// `terraform-provider-<type>_<version>_<os>_<arch>.zip`.
pub fn zip_file_name(provider_type: &str, version: &str, os: &str, arch: &str) -> String {
    format!("terraform-provider-{provider_type}_{version}_{os}_{arch}.zip")
}

/// `terraform-provider-<type>_<version>_SHA256SUMS`.
pub fn shasums_file_name(provider_type: &str, version: &str) -> String {
    format!("terraform-provider-{provider_type}_{version}_SHA256SUMS")
}

/// `terraform-provider-<type>_<version>_SHA256SUMS.sig`.
pub fn shasums_sig_file_name(provider_type: &str, version: &str) -> String {
    format!("{}.sig", shasums_file_name(provider_type, version))
}

/// `terraform-provider-<type>_<version>_manifest.json`.
pub fn manifest_file_name(provider_type: &str, version: &str) -> String {
    format!("terraform-provider-{provider_type}_{version}_manifest.json")
}

/// What a file of a release directory is, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Zip,
    Shasums,
    Signature,
    Manifest,
}

/// A release file's name, taken apart.
#[derive(Debug)]
struct Named {
    path: PathBuf,
    file_name: String,
    role: Role,
    provider_type: String,
    version: String,
    os: String,
    arch: String,
}

const PREFIX: &str = "terraform-provider-";

/// Takes a release file name apart: `None` for files that are not part of a release
/// (`artifacts.json`, `..._SHA256SUMS.<key id>.sig` copies), `Err` for a `.zip` that
/// looks like a provider zip but does not have all four parts.
fn parse_name(path: &Path, file_name: &str) -> Result<Option<Named>, ProviderError> {
    let Some(rest) = file_name.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let suffixes = [
        ("_SHA256SUMS", Role::Shasums),
        ("_SHA256SUMS.sig", Role::Signature),
        ("_manifest.json", Role::Manifest),
        (".zip", Role::Zip),
    ];
    let Some((stem, role)) = suffixes
        .iter()
        .find_map(|(suffix, role)| rest.strip_suffix(suffix).map(|stem| (stem, *role)))
    else {
        return Ok(None);
    };
    let invalid = |reason: &str| ProviderError::InvalidFileName {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let parts: Vec<&str> = match role {
        Role::Zip => stem.rsplitn(4, '_').collect(),
        _ => stem.rsplitn(2, '_').collect(),
    };
    let named = |provider_type: &str, version: &str, os: &str, arch: &str| Named {
        path: path.to_path_buf(),
        file_name: file_name.to_string(),
        role,
        provider_type: provider_type.to_string(),
        version: version.to_string(),
        os: os.to_string(),
        arch: arch.to_string(),
    };
    let named = match (role, &parts[..]) {
        (Role::Zip, &[arch, os, version, provider_type]) => {
            let is_word = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            };
            if !is_word(os) || !is_word(arch) {
                return Err(invalid(
                    "the platform (<os>_<arch>) must be lowercase letters and digits",
                ));
            }
            named(provider_type, version, os, arch)
        }
        (Role::Zip, _) => {
            return Err(invalid(
                "a provider zip name has four parts separated by `_`",
            ));
        }
        (_, &[version, provider_type]) => named(provider_type, version, "", ""),
        _ => return Ok(None),
    };
    if named.provider_type.is_empty() || named.version.is_empty() {
        return Err(invalid("the provider type or version is empty"));
    }
    Ok(Some(named))
}

/// Reads and checks the release in `dir` of the provider type `expected_type` (the TYPE of
/// `NAMESPACE/TYPE`, compared case-insensitively). Blocking: reads every zip twice (sha256 of
/// the file, then `h1:` of its entries).
///
/// Refused, each with an error naming the file: no zips; zips, sums, signature or manifest of
/// two types or two versions; another type than `expected_type`; a version that is not
/// semver; no SHA256SUMS; a zip missing from SHA256SUMS or named there but absent; a zip (or
/// listed manifest) whose sha256 differs from SHA256SUMS; a zip that cannot be read.
pub fn read_release(dir: &Path, expected_type: &str) -> Result<ProviderRelease, ProviderError> {
    let meta = std::fs::metadata(dir).map_err(ProviderError::io(dir))?;
    if !meta.is_dir() {
        return Err(ProviderError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let files = release_files(dir)?;
    let Some(first) = files.first() else {
        return Err(ProviderError::NoZips {
            dir: dir.to_path_buf(),
            provider_type: expected_type.to_string(),
        });
    };
    let types: BTreeSet<&str> = files.iter().map(|f| f.provider_type.as_str()).collect();
    if types.len() > 1 {
        return Err(ProviderError::MixedTypes {
            dir: dir.to_path_buf(),
            types: types.into_iter().map(str::to_string).collect(),
        });
    }
    if !first.provider_type.eq_ignore_ascii_case(expected_type) {
        return Err(ProviderError::TypeMismatch {
            path: first.path.clone(),
            found: first.provider_type.clone(),
            expected: expected_type.to_string(),
        });
    }
    for file in &files {
        check_version(file)?;
    }
    let versions: BTreeSet<&str> = files.iter().map(|f| f.version.as_str()).collect();
    if versions.len() > 1 {
        return Err(ProviderError::MixedVersions {
            dir: dir.to_path_buf(),
            versions: versions.into_iter().map(str::to_string).collect(),
        });
    }
    let (provider_type, version) = (first.provider_type.clone(), first.version.clone());
    let with_role = |role| files.iter().find(|f| f.role == role);
    let zips: Vec<&Named> = files.iter().filter(|f| f.role == Role::Zip).collect();
    if zips.is_empty() {
        return Err(ProviderError::NoZips {
            dir: dir.to_path_buf(),
            provider_type,
        });
    }
    let shasums = with_role(Role::Shasums)
        .ok_or_else(|| ProviderError::MissingShasums {
            dir: dir.to_path_buf(),
            file_name: shasums_file_name(&provider_type, &version),
        })?
        .path
        .clone();
    let sums = read_shasums(&shasums)?;
    check_listing(dir, &shasums, &sums, &files)?;

    let manifest = with_role(Role::Manifest);
    let protocols = match manifest {
        Some(named) => {
            if let Some(expected) = sums.get(&named.file_name) {
                check_sha256(&named.path, &shasums, expected)?;
            }
            read_protocols(&named.path)?
        }
        None => Vec::new(),
    };
    let mut platforms = Vec::with_capacity(zips.len());
    for zip in zips {
        let expected = sums.get(&zip.file_name).map(String::as_str).unwrap_or("");
        let size = check_sha256(&zip.path, &shasums, expected)?;
        let file = File::open(&zip.path).map_err(ProviderError::io(&zip.path))?;
        let h1 = h1_of_zip(std::io::BufReader::new(file), &zip.path)?;
        platforms.push(PlatformZip {
            path: zip.path.clone(),
            file_name: zip.file_name.clone(),
            os: zip.os.clone(),
            arch: zip.arch.clone(),
            sha256_hex: expected.to_string(),
            h1,
            size,
        });
    }
    platforms.sort_by(|a, b| (&a.os, &a.arch).cmp(&(&b.os, &b.arch)));
    Ok(ProviderRelease {
        provider_type,
        version,
        platforms,
        shasums,
        shasums_sig: with_role(Role::Signature).map(|f| f.path.clone()),
        manifest_json: manifest.map(|f| f.path.clone()),
        protocols,
    })
}

/// The release files of `dir` (regular files, or links to them), in name order.
fn release_files(dir: &Path) -> Result<Vec<Named>, ProviderError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(ProviderError::io(dir))? {
        let entry = entry.map_err(ProviderError::io(dir))?;
        let path = entry.path();
        let Some(file_name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(named) = parse_name(&path, &file_name)? else {
            continue;
        };
        if path.is_file() {
            files.push(named);
        }
    }
    files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(files)
}

/// The version must be semver exactly as Terraform reads it: normalized, no leading `v`.
fn check_version(file: &Named) -> Result<(), ProviderError> {
    let invalid = |reason: String| ProviderError::InvalidVersion {
        path: file.path.clone(),
        version: file.version.clone(),
        reason,
    };
    match Mapper::normalize_version(Ecosystem::TerraformProvider, &file.version) {
        Ok(normalized) if normalized == file.version => Ok(()),
        Ok(normalized) => Err(invalid(format!(
            "Terraform reads it only as `{normalized}`; rename the files"
        ))),
        Err(e) => Err(invalid(e.to_string())),
    }
}

/// SHA256SUMS as Terraform reads it: per line, whitespace-separated hex sha256 and file
/// name. Returns file name -> lowercase hex.
fn read_shasums(path: &Path) -> Result<BTreeMap<String, String>, ProviderError> {
    parse_shasums(path, &read_small(path, "a SHA256SUMS file")?)
}

/// [`read_shasums`] of bytes already read; `path` names the file in errors.
pub(crate) fn parse_shasums(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<String, String>, ProviderError> {
    let invalid = |line: usize, reason: &str| ProviderError::InvalidShasums {
        path: path.to_path_buf(),
        line,
        reason: reason.to_string(),
        hint: None,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid(1, "the file is not UTF-8 text"))?;
    let mut sums = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (hex, name) = match fields[..] {
            [] => continue,
            [hex, name] => (hex, name),
            _ => return Err(invalid(number, "a line has a hash and one file name")),
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(number, "the hash is not 64 hex digits"));
        }
        if name.starts_with('*') {
            return Err(ProviderError::InvalidShasums {
                path: path.to_path_buf(),
                line: number,
                reason: "the file name starts with `*` (sha256sum's binary mode), which \
                         Terraform does not read"
                    .into(),
                hint: Some("regenerate it with plain `sha256sum` (not `sha256sum -b`)"),
            });
        }
        let hex = hex.to_ascii_lowercase();
        if let Some(previous) = sums.insert(name.to_string(), hex.clone())
            && previous != hex
        {
            return Err(invalid(
                number,
                "the file is listed twice with different hashes",
            ));
        }
    }
    Ok(sums)
}

/// Every provider zip of `dir` is in SHA256SUMS, and every zip SHA256SUMS names is in `dir`.
fn check_listing(
    dir: &Path,
    shasums: &Path,
    sums: &BTreeMap<String, String>,
    files: &[Named],
) -> Result<(), ProviderError> {
    for name in sums.keys().filter(|name| name.ends_with(".zip")) {
        if !files
            .iter()
            .any(|f| f.role == Role::Zip && &f.file_name == name)
        {
            return Err(ProviderError::MissingZip {
                shasums: shasums.to_path_buf(),
                dir: dir.to_path_buf(),
                file_name: name.clone(),
            });
        }
    }
    for zip in files.iter().filter(|f| f.role == Role::Zip) {
        if !sums.contains_key(&zip.file_name) {
            return Err(ProviderError::Unlisted {
                path: zip.path.clone(),
                shasums: shasums.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Streams `path` through sha256 and compares with `expected` (lowercase hex); its size.
fn check_sha256(path: &Path, shasums: &Path, expected: &str) -> Result<u64, ProviderError> {
    let mut file = File::open(path).map_err(ProviderError::io(path))?;
    let size = file.metadata().map_err(ProviderError::io(path))?.len();
    let actual = hex::encode(sha256_of(&mut file).map_err(ProviderError::io(path))?);
    if actual != expected {
        return Err(ProviderError::ChecksumMismatch {
            path: path.to_path_buf(),
            shasums: shasums.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(size)
}

/// `metadata.protocol_versions` of a release manifest; none when it does not say.
fn read_protocols(path: &Path) -> Result<Vec<String>, ProviderError> {
    parse_protocols(path, &read_small(path, "a release manifest")?)
}

/// [`read_protocols`] of bytes already read; `path` names the file in errors.
pub(crate) fn parse_protocols(path: &Path, bytes: &[u8]) -> Result<Vec<String>, ProviderError> {
    let invalid = |reason: String| ProviderError::InvalidManifest {
        path: path.to_path_buf(),
        reason,
    };
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not valid JSON ({e})")))?;
    if !json.is_object() {
        return Err(invalid("not a JSON object".to_string()));
    }
    let Some(listed) = json.pointer("/metadata/protocol_versions") else {
        return Ok(Vec::new());
    };
    let is_protocol = |s: &str| {
        s.split_once('.').is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    let protocols: Option<Vec<String>> = listed.as_array().and_then(|items| {
        items
            .iter()
            .map(|item| item.as_str().filter(|s| is_protocol(s)).map(str::to_string))
            .collect()
    });
    protocols.ok_or_else(|| {
        invalid("`metadata.protocol_versions` is not a list of MAJOR.MINOR strings".to_string())
    })
}

/// A release's text file, at most [`limits::MAX_RELEASE_TEXT_BYTES`]; `what` names it in the
/// error.
fn read_small(path: &Path, what: &'static str) -> Result<Vec<u8>, ProviderError> {
    let file = File::open(path).map_err(ProviderError::io(path))?;
    limits::read_at_most(file, limits::MAX_RELEASE_TEXT_BYTES)
        .map_err(ProviderError::io(path))?
        .ok_or_else(|| ProviderError::TooLarge {
            path: path.to_path_buf(),
            what,
            limit: limits::show(limits::MAX_RELEASE_TEXT_BYTES),
        })
}

#[cfg(test)]
#[path = "release_tests.rs"]
mod tests;

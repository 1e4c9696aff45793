//! Platforms and Terraform's filesystem mirror: which platform this machine is
//! ([`current_platform`], GOOS/GOARCH names), reading `--platform os_arch`
//! ([`parse_platform`]), where a provider package goes in a mirror directory
//! ([`mirror_path`], packed or unpacked layout) and unpacking a zip into the unpacked layout
//! without letting it write outside its directory ([`unpack_zip_safely`]). Knows nothing
//! about registries; reading the zip and writing the directory are its only I/O.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::release::zip_file_name;
use super::{ProviderAddress, ProviderError};
use crate::ecosystem::limits::{self, CopyError, UnpackBudget};

/// The two layouts Terraform reads from a filesystem mirror (`-plugin-dir`,
/// `filesystem_mirror`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MirrorLayout {
    /// `<hostname>/<namespace>/<type>/terraform-provider-<type>_<version>_<os>_<arch>.zip`
    Packed,
    /// `<hostname>/<namespace>/<type>/<version>/<os>_<arch>/` holding the zip's files.
    Unpacked,
}

/// This machine's platform as Go (and so Terraform) names it: (`linux`, `amd64`),
/// (`darwin`, `arm64`), (`windows`, `386`) ...
pub fn current_platform() -> (String, String) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    };
    (os.to_string(), arch.to_string())
}

/// `<os>_<arch>` (`linux_amd64`), as `--platform` and Terraform's `-platform` take it.
pub fn parse_platform(s: &str) -> Result<(String, String), ProviderError> {
    let invalid = |reason: &str| ProviderError::InvalidPlatform {
        platform: s.to_string(),
        reason: reason.to_string(),
    };
    let Some((os, arch)) = s.split_once('_') else {
        return Err(invalid("there is no `_` between os and arch"));
    };
    let is_word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if !is_word(os) || !is_word(arch) {
        return Err(invalid(
            "os and arch are lowercase letters and digits, one `_` between them",
        ));
    }
    Ok((os.to_string(), arch.to_string()))
}

/// Where one platform's package of `address` at `version` goes in the mirror `dir`: the zip's
/// path ([`MirrorLayout::Packed`]) or the directory to unpack it into
/// ([`MirrorLayout::Unpacked`]). The hostname is the provider address's, not the mirror's.
/// `version`, `os` and `arch` must already be checked (a semver, [`parse_platform`]).
pub fn mirror_path(
    dir: &Path,
    address: &ProviderAddress,
    version: &str,
    os: &str,
    arch: &str,
    layout: MirrorLayout,
) -> PathBuf {
    let provider_dir = dir
        .join(&address.hostname)
        .join(&address.namespace)
        .join(&address.provider_type);
    match layout {
        MirrorLayout::Packed => {
            provider_dir.join(zip_file_name(&address.provider_type, version, os, arch))
        }
        MirrorLayout::Unpacked => provider_dir.join(version).join(format!("{os}_{arch}")),
    }
}

/// Unpacks the provider zip at `zip` into the directory `dest` (replacing it if it exists),
/// as Terraform installs a package: regular files and directories only, each file keeping the
/// permission bits the zip records (0644 when it records none), so the provider stays
/// executable. An entry with an absolute path, a `..` component or a `\`, a symbolic link,
/// two entries of one name or an empty archive refuse the whole zip before anything is
/// written. Files are written into a temporary directory beside `dest`, which then takes
/// `dest`'s place; on error nothing is left behind. At most `max_bytes` of file contents are
/// written (see [`stage_unpack`]).
pub fn unpack_zip_safely(zip: &Path, dest: &Path, max_bytes: u64) -> Result<(), ProviderError> {
    stage_unpack(zip, dest, max_bytes)?.commit()
}

/// A provider zip unpacked into a temporary directory beside its destination, not yet in
/// place: [`StagedUnpack::commit`] moves it there; dropping it removes it. Lets a pull of
/// several platforms put none in place unless all unpacked.
#[derive(Debug)]
pub struct StagedUnpack {
    staging: tempfile::TempDir,
    dest: PathBuf,
}

impl StagedUnpack {
    /// Moves the unpacked directory to its destination (replacing what is there).
    pub fn commit(self) -> Result<(), ProviderError> {
        replace_dir(self.staging, &self.dest)
    }
}

/// The checks and the writing of [`unpack_zip_safely`], into a temporary directory beside
/// `dest`. A zip whose declared sizes add up to more than `max_bytes` is refused before
/// anything is written; one whose entries turn out larger than declared is stopped when the
/// bytes actually written reach the limit. More than [`limits::MAX_ZIP_ENTRIES`] entries
/// refuse it too.
pub fn stage_unpack(
    zip: &Path,
    dest: &Path,
    max_bytes: u64,
) -> Result<StagedUnpack, ProviderError> {
    let file = File::open(zip).map_err(ProviderError::io(zip))?;
    let not_zip = |source| ProviderError::NotZip {
        path: zip.to_path_buf(),
        source,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(not_zip)?;
    let refuse = |entry: &str, reason| ProviderError::UnsafeEntry {
        path: zip.to_path_buf(),
        entry: entry.escape_debug().to_string(),
        reason,
    };
    if archive.is_empty() {
        return Err(refuse("(none)", "the archive is empty"));
    }
    // The reason below spells the limit out (it must be a constant string).
    const _: () = assert!(limits::MAX_ZIP_ENTRIES == 100_000);
    if archive.len() > limits::MAX_ZIP_ENTRIES {
        return Err(refuse(
            "(all)",
            "it lists more than 100000 entries, more than opp unpacks",
        ));
    }
    let over_limit = |entry: &str| ProviderError::UnpackLimit {
        path: zip
            .file_name()
            .map_or_else(|| zip.to_path_buf(), PathBuf::from),
        entry: entry.escape_debug().to_string(),
        limit: limits::show(max_bytes),
    };
    let mut budget = UnpackBudget::new(max_bytes);
    let mut declared = 0u64;
    if archive.has_duplicate_names() {
        return Err(refuse("(several)", "two entries have the same name"));
    }
    let mut plan = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(not_zip)?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_symlink() {
            return Err(refuse(&name, "it is a symbolic link"));
        }
        let Some(parts) = safe_components(&name) else {
            return Err(refuse(
                &name,
                "an absolute path, a `..` component or a `\\` could write outside the directory",
            ));
        };
        if !entry.is_dir() {
            declared = declared.saturating_add(entry.size());
            if budget.would_exceed(declared) {
                return Err(over_limit(&name));
            }
        }
        plan.push((parts, entry.is_dir(), entry.unix_mode()));
    }

    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(ProviderError::io(parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".opp-unpack-")
        .tempdir_in(parent)
        .map_err(ProviderError::io(parent))?;
    for (index, (parts, is_dir, mode)) in plan.into_iter().enumerate() {
        let target = parts
            .iter()
            .fold(staging.path().to_path_buf(), |p, c| p.join(c));
        if is_dir {
            std::fs::create_dir_all(&target).map_err(ProviderError::io(&target))?;
            continue;
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(ProviderError::io(dir))?;
        }
        let mut entry = archive.by_index(index).map_err(not_zip)?;
        let mut out = File::create(&target).map_err(ProviderError::io(&target))?;
        budget.copy(&mut entry, &mut out).map_err(|e| match e {
            CopyError::Read(source) => ProviderError::CorruptEntry {
                path: zip.to_path_buf(),
                entry: parts.join("/"),
                source,
            },
            CopyError::Write(source) => ProviderError::io(&target)(source),
            CopyError::Exceeded => over_limit(&parts.join("/")),
        })?;
        set_mode(&target, mode)?;
    }
    Ok(StagedUnpack {
        staging,
        dest: dest.to_path_buf(),
    })
}

/// The path components of a zip entry name, or `None` when it could leave its directory.
fn safe_components(name: &str) -> Option<Vec<String>> {
    let drive = name.as_bytes().get(1) == Some(&b':');
    if name.starts_with('/') || name.contains(['\\', '\0']) || drive {
        return None;
    }
    let parts: Vec<String> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .map(str::to_string)
        .collect();
    (!parts.is_empty() && parts.iter().all(|part| part != "..")).then_some(parts)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: Option<u32>) -> Result<(), ProviderError> {
    use std::os::unix::fs::PermissionsExt;
    let bits = mode.map_or(0o644, |m| m & 0o777);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
        .map_err(ProviderError::io(path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: Option<u32>) -> Result<(), ProviderError> {
    Ok(())
}

/// Moves `staging` to `dest`; an existing `dest` is moved aside first and removed after.
fn replace_dir(staging: tempfile::TempDir, dest: &Path) -> Result<(), ProviderError> {
    let parent = staging.path().parent().unwrap_or(Path::new("."));
    let old = match std::fs::symlink_metadata(dest) {
        Ok(_) => {
            let aside = tempfile::Builder::new()
                .prefix(".opp-replaced-")
                .tempdir_in(parent)
                .map_err(ProviderError::io(parent))?;
            let aside_path = aside.path().join("old");
            std::fs::rename(dest, &aside_path).map_err(ProviderError::io(dest))?;
            Some((aside, aside_path))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ProviderError::io(dest)(e)),
    };
    if let Err(e) = std::fs::rename(staging.path(), dest) {
        if let Some((_, aside_path)) = &old {
            // Put the previous directory back; the staging directory is removed on drop.
            let _ = std::fs::rename(aside_path, dest);
        }
        return Err(ProviderError::io(dest)(e));
    }
    // The staging directory now is `dest`: keep it from being cleaned up.
    let _ = staging.keep();
    // `old` (the previous `dest`, inside its temporary directory) is removed on drop.
    drop(old);
    Ok(())
}

#[cfg(test)]
#[path = "mirror_tests.rs"]
mod tests;

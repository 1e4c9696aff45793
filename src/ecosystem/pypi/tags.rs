//! Which wheels a target Python can install: the PEP 425 tags of a wheel file name checked
//! against the tags a target supports, built the way pip builds them for
//! `pip download --python-version X.Y --platform P` (pip's `utils/compatibility_tags.py` over
//! `packaging.tags`: `cpython_tags`, `generic_tags`, `compatible_tags`, `mac_platforms`).
//! Pure; choosing among versions is `version.rs`.
//!
//! One deliberate difference: pip passes a `manylinux_2_X`/`musllinux_1_X` `--platform`
//! through literally (only the legacy `manylinux2014`/`manylinux2010` names get older aliases,
//! and no `manylinux_2_*` ones), so pip 23.2.1's `pip download --platform
//! manylinux_2_17_x86_64` skips a wheel tagged only `manylinux2014_x86_64` or
//! `manylinux1_x86_64`. opp instead expands a Linux platform the way `packaging` does for a
//! real system with that libc (`_manylinux.platform_tags`, `_musllinux.platform_tags`): every
//! older glibc/musl minor, and the legacy alias at glibc 2.17, 2.12 and 2.5, so it keeps
//! exactly what pip would install on such a machine.

use std::collections::HashSet;

use super::filename::{Extension, WheelName};

/// The Python a file is meant for. An empty list or `None` constrains nothing, except that
/// a missing `implementation` with a `python_version` means CPython, as pip (itself running
/// on CPython) assumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// `(3, 11)` for `--python-version 3.11`.
    pub python_version: Option<(u8, u8)>,
    /// Platform tags as pip's `--platform` takes them (`manylinux_2_17_x86_64`,
    /// `macosx_11_0_arm64`, `win_amd64`, ...).
    pub platforms: Vec<String>,
    /// Interpreter abbreviation (`cp`, `pp`, ...).
    pub implementation: Option<String>,
    /// ABI tags (`cp311`, ...); empty means the default ABI of the Python version.
    pub abis: Vec<String>,
}

/// Whether pip would consider the file installable on `target`. Source distributions always
/// are (pip would build them); a name that is neither a valid wheel nor an sdist is not.
pub fn is_compatible(file_name: &str, target: &Target) -> bool {
    match Extension::of(file_name) {
        Some(Extension::TarGz | Extension::Zip) => true,
        Some(Extension::Wheel) => match WheelName::parse(file_name) {
            Ok(wheel) => {
                let supported = Supported::new(target);
                wheel
                    .tags()
                    .any(|(py, abi, plat)| supported.allows(&py, &abi, &plat))
            }
            Err(_) => false,
        },
        None => false,
    }
}

/// A target's supported tags, as a predicate rather than pip's ordered list.
struct Supported {
    /// `None`: every platform.
    platforms: Option<HashSet<String>>,
    python: Option<PythonTags>,
    implementation: Option<String>,
    abis: Vec<String>,
}

/// The interpreter and ABI side of the supported tags for one Python version.
struct PythonTags {
    is_cpython: bool,
    /// `cp311`, `pp310`, ...
    interpreter: String,
    /// Explicit ABIs without `abi3`/`none` (for CPython, the default `cp311` when none given).
    abis: Vec<String>,
    /// `cp3k-abi3` for `k` from the version down to 2 (empty when abi3 does not apply).
    abi3_interpreters: Vec<String>,
    /// `py311`, `py3`, `py310`, ... `py30`.
    py_range: Vec<String>,
}

impl Supported {
    fn new(target: &Target) -> Self {
        let platforms = (!target.platforms.is_empty()).then(|| {
            target
                .platforms
                .iter()
                .flat_map(|p| expand_platform(&p.to_ascii_lowercase()))
                .collect()
        });
        let implementation = target
            .implementation
            .as_deref()
            .map(str::to_ascii_lowercase);
        let abis: Vec<String> = target.abis.iter().map(|a| a.to_ascii_lowercase()).collect();
        let python = target.python_version.map(|(major, minor)| {
            let implementation = implementation.as_deref().unwrap_or("cp");
            PythonTags::new(implementation, major, minor, &abis)
        });
        Supported {
            platforms,
            python,
            implementation,
            abis,
        }
    }

    fn allows(&self, py: &str, abi: &str, plat: &str) -> bool {
        let on_platform = self.platforms.as_ref().is_none_or(|set| set.contains(plat));
        match &self.python {
            Some(tags) => {
                (plat == "any" && tags.allows_any_platform(py, abi))
                    || (on_platform && tags.allows_on_platform(py, abi))
            }
            None => (plat == "any" || on_platform) && self.allows_any_version(py, abi),
        }
    }

    /// With no Python version: only the implementation and the explicit ABIs constrain.
    fn allows_any_version(&self, py: &str, abi: &str) -> bool {
        let interpreter_ok = self
            .implementation
            .as_deref()
            .is_none_or(|imp| py.starts_with(imp) || py.starts_with("py"));
        let abi_ok = self.abis.is_empty()
            || abi == "none"
            || abi == "abi3"
            || self.abis.iter().any(|a| a == abi);
        interpreter_ok && abi_ok
    }
}

impl PythonTags {
    fn new(implementation: &str, major: u8, minor: u8, explicit_abis: &[String]) -> Self {
        let nodot = format!("{major}{minor}");
        let is_cpython = implementation == "cp";
        let mut abis: Vec<String> = explicit_abis
            .iter()
            .filter(|a| *a != "abi3" && *a != "none")
            .cloned()
            .collect();
        if is_cpython && explicit_abis.is_empty() {
            // `_cpython_abis` for a release build: pymalloc's `m` before 3.8.
            let pymalloc = if (major, minor) < (3, 8) { "m" } else { "" };
            abis.push(format!("cp{nodot}{pymalloc}"));
        }
        // Free-threaded builds (`cp313t`) cannot load abi3 extensions.
        let threaded = abis.first().is_some_and(|abi| {
            abi.strip_prefix("cp")
                .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
                .is_some_and(|flags| flags.contains('t'))
        });
        let abi3_applies = is_cpython && (major, minor) >= (3, 2) && !threaded;
        let abi3_interpreters = if abi3_applies {
            (2..=minor).rev().map(|k| format!("cp{major}{k}")).collect()
        } else {
            Vec::new()
        };
        let mut py_range = vec![format!("py{nodot}"), format!("py{major}")];
        py_range.extend((0..minor).rev().map(|k| format!("py{major}{k}")));
        PythonTags {
            is_cpython,
            interpreter: format!("{implementation}{nodot}"),
            abis,
            abi3_interpreters,
            py_range,
        }
    }

    /// `cpython_tags`/`generic_tags` and the first half of `compatible_tags`, for a tag on a
    /// supported platform.
    fn allows_on_platform(&self, py: &str, abi: &str) -> bool {
        let own_interpreter = py == self.interpreter
            && (abi == "none"
                || self.abis.iter().any(|a| a == abi)
                || (!self.is_cpython && self.abis.is_empty()));
        let abi3 = abi == "abi3" && self.abi3_interpreters.iter().any(|i| i == py);
        let pure = abi == "none" && self.py_range.iter().any(|p| p == py);
        own_interpreter || abi3 || pure
    }

    /// The second half of `compatible_tags`: `<interpreter>-none-any` and `py*-none-any`.
    fn allows_any_platform(&self, py: &str, abi: &str) -> bool {
        abi == "none" && (py == self.interpreter || self.py_range.iter().any(|p| p == py))
    }
}

/// The platform tags one `--platform` value stands for, itself first.
pub(super) fn expand_platform(platform: &str) -> Vec<String> {
    let mut out = vec![platform.to_string()];
    let expanded = if let Some((major, minor, arch)) = split_versioned(platform, "manylinux_") {
        manylinux_platforms(major, minor, arch)
    } else if let Some((minor, arch)) = legacy_manylinux(platform) {
        manylinux_platforms(2, minor, arch)
    } else if let Some((major, minor, arch)) = split_versioned(platform, "musllinux_") {
        (0..=minor)
            .rev()
            .map(|m| format!("musllinux_{major}_{m}_{arch}"))
            .collect()
    } else if let Some((major, minor, arch)) = split_versioned(platform, "macosx_") {
        mac_platforms(major, minor, arch)
    } else {
        Vec::new()
    };
    for tag in expanded {
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// `<prefix><major>_<minor>_<arch>` -> `(major, minor, arch)`.
fn split_versioned<'a>(platform: &'a str, prefix: &str) -> Option<(u32, u32, &'a str)> {
    let rest = platform.strip_prefix(prefix)?;
    let (major, rest) = rest.split_once('_')?;
    let (minor, arch) = rest.split_once('_')?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    (!arch.is_empty()).then_some(())?;
    Some((number(major)?, number(minor)?, arch))
}

/// The legacy manylinux names and the glibc 2 minor each stands for (PEP 513, 571, 599).
const LEGACY_MANYLINUX: [(&str, u32); 3] = [
    ("manylinux2014", 17),
    ("manylinux2010", 12),
    ("manylinux1", 5),
];

fn legacy_manylinux(platform: &str) -> Option<(u32, &str)> {
    LEGACY_MANYLINUX.iter().find_map(|(name, minor)| {
        let arch = platform.strip_prefix(name)?.strip_prefix('_')?;
        (!arch.is_empty()).then_some((*minor, arch))
    })
}

/// `packaging._manylinux.platform_tags` for a system with glibc `major.minor` on `arch`.
fn manylinux_platforms(major: u32, minor: u32, arch: &str) -> Vec<String> {
    // The oldest glibc packaging considers: 2.5 on x86, 2.17 everywhere else.
    let oldest_minor = if matches!(arch, "x86_64" | "i686") {
        5
    } else {
        17
    };
    // Newer glibc majors run binaries of every older one (glibc 2 goes up to 2.50 there).
    let mut maxima = vec![(major, minor)];
    maxima.extend((2..major).rev().map(|m| (m, 50)));
    let mut out = Vec::new();
    for (glibc_major, glibc_max_minor) in maxima {
        let low = if glibc_major == 2 { oldest_minor } else { 0 };
        for m in (low..=glibc_max_minor).rev() {
            out.push(format!("manylinux_{glibc_major}_{m}_{arch}"));
            if glibc_major == 2
                && let Some((legacy, _)) = LEGACY_MANYLINUX.iter().find(|(_, lm)| *lm == m)
            {
                out.push(format!("{legacy}_{arch}"));
            }
        }
    }
    out
}

/// `packaging.tags._mac_binary_formats`.
fn mac_binary_formats(version: (u32, u32), arch: &str) -> Vec<String> {
    let mut formats = vec![arch.to_string()];
    let mut extend = |more: &[&str]| formats.extend(more.iter().map(|s| s.to_string()));
    match arch {
        "x86_64" | "i386" if version < (10, 4) => return Vec::new(),
        "x86_64" => extend(&["intel", "fat64", "fat32"]),
        "i386" => extend(&["intel", "fat32", "fat"]),
        "ppc64" if !((10, 4)..=(10, 5)).contains(&version) => return Vec::new(),
        "ppc64" => extend(&["fat64"]),
        "ppc" if version > (10, 6) => return Vec::new(),
        "ppc" => extend(&["fat32", "fat"]),
        _ => {}
    }
    if matches!(arch, "arm64" | "x86_64") {
        extend(&["universal2"]);
    }
    if matches!(arch, "x86_64" | "i386" | "ppc64" | "ppc" | "intel") {
        extend(&["universal"]);
    }
    formats
}

/// `packaging.tags.mac_platforms((major, minor), arch)`.
fn mac_platforms(major: u32, minor: u32, arch: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push_all = |version: (u32, u32), formats: Vec<String>| {
        out.extend(
            formats
                .into_iter()
                .map(|f| format!("macosx_{}_{}_{f}", version.0, version.1)),
        );
    };
    if major == 10 {
        // Before macOS 11 every yearly release bumped the minor version.
        for m in (0..=minor).rev() {
            push_all((10, m), mac_binary_formats((10, m), arch));
        }
    }
    if major >= 11 {
        // From macOS 11 on the major is the release; wheels are tagged `X_0`.
        for maj in (11..=major).rev() {
            push_all((maj, 0), mac_binary_formats((maj, 0), arch));
        }
        // x86_64 runs everything from 10.16 down to 10.4; arm64 only universal2 builds
        // whose x86_64 half targets those releases.
        for m in (4..=16).rev() {
            let formats = if arch == "x86_64" {
                mac_binary_formats((10, m), arch)
            } else {
                vec!["universal2".to_string()]
            };
            push_all((10, m), formats);
        }
    }
    out
}

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;

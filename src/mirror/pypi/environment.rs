//! The environments a mirror is made for, and which dependencies each needs. A target is a
//! Python version and/or a platform tag (`--python-version 3.11 --platform win_amd64`); from
//! them follow the marker variables a dependency's environment marker can test
//! (`python_full_version`, `sys_platform`, `os_name`, `platform_system`, `platform_machine`,
//! the implementation). What a target does not fix (no platform given, `platform_release`)
//! is unknown, and a marker is followed when *some* value of the unknowns makes it true: the
//! mirror errs on the side of bringing a file too many. Pure.

use std::ops::Bound;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{
    ExtraName, MarkerTree, MarkerTreeKind, MarkerValueExtra, MarkerValueString, MarkerValueVersion,
};
use version_ranges::Ranges;

use crate::ecosystem::pypi::Target;

/// One environment to mirror for: a Python version, a platform tag, both or neither.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Environment {
    /// `(3, 11)`.
    pub python: Option<(u8, u8)>,
    /// A platform tag as `--platform` takes it (`manylinux_2_17_x86_64`, `win_amd64`).
    pub platform: Option<String>,
}

/// Marker variables a platform tag fixes.
#[derive(Debug, Default)]
struct PlatformFacts {
    sys_platform: Option<&'static str>,
    os_name: Option<&'static str>,
    platform_system: Option<&'static str>,
    platform_machine: Option<String>,
}

impl Environment {
    /// Every combination of the given Python versions and platforms; one unconstrained
    /// environment when neither is given.
    pub fn all(pythons: &[(u8, u8)], platforms: &[String]) -> Vec<Environment> {
        let pythons: Vec<Option<(u8, u8)>> = if pythons.is_empty() {
            vec![None]
        } else {
            pythons.iter().copied().map(Some).collect()
        };
        let platforms: Vec<Option<String>> = if platforms.is_empty() {
            vec![None]
        } else {
            platforms.iter().cloned().map(Some).collect()
        };
        let mut out = Vec::new();
        for python in &pythons {
            for platform in &platforms {
                out.push(Environment {
                    python: *python,
                    platform: platform.clone(),
                });
            }
        }
        out
    }

    /// Whether this environment constrains nothing (no targets were given).
    pub fn is_unconstrained(&self) -> bool {
        self.python.is_none() && self.platform.is_none()
    }

    /// The wheel-tag target pip would use for this environment.
    pub fn tags(&self) -> Target {
        Target {
            python_version: self.python,
            platforms: self.platform.iter().cloned().collect(),
            implementation: None,
            abis: Vec::new(),
        }
    }

    /// For messages: `python 3.11 on win_amd64`, `any python on linux_x86_64`, `any target`.
    pub fn describe(&self) -> String {
        match (&self.python, &self.platform) {
            (None, None) => "any target".to_owned(),
            (Some((a, b)), None) => format!("python {a}.{b}"),
            (None, Some(p)) => format!("any python on {p}"),
            (Some((a, b)), Some(p)) => format!("python {a}.{b} on {p}"),
        }
    }

    /// Whether a `Requires-Python` value admits this environment's Python (always, when the
    /// environment has no Python version or the value does not parse).
    pub fn admits_python(&self, requires_python: Option<&str>) -> bool {
        let (Some((major, minor)), Some(spec)) = (self.python, requires_python) else {
            return true;
        };
        let Ok(specifiers) = pep440_rs::VersionSpecifiers::from_str(spec) else {
            return true;
        };
        // `>=3.8` admits 3.11; `>=3.11.4` is taken to admit 3.11 (some 3.11 patch release
        // satisfies it), as pip's `--python-version 3.11` means 3.11.0 only when strict.
        let lowest = Version::new([u64::from(major), u64::from(minor)]);
        let highest = Version::new([u64::from(major), u64::from(minor), 999]);
        specifiers.contains(&lowest) || specifiers.contains(&highest)
    }

    /// Whether a dependency with this marker is needed here when `extras` were asked for:
    /// true when some value of the variables this environment leaves open makes it true.
    pub fn needs(&self, marker: &MarkerTree, extras: &[ExtraName]) -> bool {
        let facts = self
            .platform
            .as_deref()
            .map(platform_facts)
            .unwrap_or_default();
        let python = self.python.map(|(major, minor)| {
            let low = Version::new([u64::from(major), u64::from(minor)]);
            let high = Version::new([u64::from(major), u64::from(minor) + 1]);
            Ranges::from_range_bounds((Bound::Included(low), Bound::Excluded(high)))
        });
        let known = Known {
            facts,
            python,
            cpython: self.python.is_some() || self.platform.is_some(),
        };
        satisfiable(marker, &known, extras)
    }
}

struct Known {
    facts: PlatformFacts,
    /// The Python versions the environment stands for (`[3.11, 3.12)`).
    python: Option<Ranges<Version>>,
    /// Targets are CPython, as pip assumes for `--python-version`.
    cpython: bool,
}

impl Known {
    fn string(&self, key: &MarkerValueString) -> Option<String> {
        use MarkerValueString as K;
        match key {
            K::SysPlatform | K::SysPlatformDeprecated => self.facts.sys_platform.map(str::to_owned),
            K::OsName | K::OsNameDeprecated => self.facts.os_name.map(str::to_owned),
            K::PlatformSystem => self.facts.platform_system.map(str::to_owned),
            K::PlatformMachine | K::PlatformMachineDeprecated => {
                self.facts.platform_machine.clone()
            }
            K::ImplementationName => self.cpython.then(|| "cpython".to_owned()),
            K::PlatformPythonImplementation
            | K::PlatformPythonImplementationDeprecated
            | K::PythonImplementationDeprecated => self.cpython.then(|| "CPython".to_owned()),
            K::PlatformRelease | K::PlatformVersion | K::PlatformVersionDeprecated => None,
        }
    }
}

/// Walks the marker's decision diagram: a known variable takes the branch its value selects,
/// an unknown one every branch; true when any path ends in `True`.
fn satisfiable(marker: &MarkerTree, known: &Known, extras: &[ExtraName]) -> bool {
    match marker.kind() {
        MarkerTreeKind::True => true,
        MarkerTreeKind::False => false,
        MarkerTreeKind::Version(node) => {
            let python = match node.key() {
                MarkerValueVersion::PythonFullVersion
                | MarkerValueVersion::PythonVersion
                | MarkerValueVersion::ImplementationVersion => known.python.as_ref(),
            };
            node.edges().any(|(range, child)| {
                python.is_none_or(|p| !range.intersection(p).is_empty())
                    && satisfiable(&child, known, extras)
            })
        }
        MarkerTreeKind::String(node) => {
            let value = known.string(node.key());
            node.children().any(|(range, child)| {
                value.as_ref().is_none_or(|v| range.contains(v))
                    && satisfiable(&child, known, extras)
            })
        }
        MarkerTreeKind::In(node) => match known.string(node.key()) {
            Some(v) => satisfiable(&node.edge(node.value().contains(v.as_str())), known, extras),
            None => node
                .children()
                .any(|(_, child)| satisfiable(&child, known, extras)),
        },
        MarkerTreeKind::Contains(node) => match known.string(node.key()) {
            Some(v) => satisfiable(&node.edge(v.contains(node.value())), known, extras),
            None => node
                .children()
                .any(|(_, child)| satisfiable(&child, known, extras)),
        },
        MarkerTreeKind::Extra(node) => {
            let asked = match node.name() {
                MarkerValueExtra::Extra(name) => extras.contains(name),
                MarkerValueExtra::Arbitrary(_) => false,
            };
            satisfiable(&node.edge(asked), known, extras)
        }
    }
}

/// What a platform tag says about the machine (the values CPython reports there).
fn platform_facts(platform: &str) -> PlatformFacts {
    let p = platform.to_ascii_lowercase();
    let linux_arch = |rest: &str| -> String {
        // manylinux_2_17_x86_64 -> x86_64, manylinux2014_aarch64 -> aarch64, linux_armv7l.
        let parts: Vec<&str> = rest.split('_').collect();
        let arch_start = parts
            .iter()
            .position(|s| !s.chars().all(|c| c.is_ascii_digit()))
            .unwrap_or(parts.len());
        parts[arch_start..].join("_")
    };
    if let Some(rest) = p
        .strip_prefix("manylinux")
        .or_else(|| p.strip_prefix("musllinux"))
        .or_else(|| p.strip_prefix("linux"))
    {
        let rest = rest.trim_start_matches('_');
        // manylinux2014_x86_64: the legacy year is a number component too.
        return PlatformFacts {
            sys_platform: Some("linux"),
            os_name: Some("posix"),
            platform_system: Some("Linux"),
            platform_machine: Some(linux_arch(rest)),
        };
    }
    if let Some(rest) = p.strip_prefix("macosx_") {
        let arch = linux_arch(rest);
        let machine = match arch.as_str() {
            "arm64" | "x86_64" => Some(arch),
            _ => None, // universal2, intel, fat: either
        };
        return PlatformFacts {
            sys_platform: Some("darwin"),
            os_name: Some("posix"),
            platform_system: Some("Darwin"),
            platform_machine: machine,
        };
    }
    if let Some(arch) = p.strip_prefix("win") {
        let machine = match arch {
            "_amd64" => Some("AMD64".to_owned()),
            "32" => Some("x86".to_owned()),
            "_arm64" => Some("ARM64".to_owned()),
            _ => None,
        };
        return PlatformFacts {
            sys_platform: Some("win32"),
            os_name: Some("nt"),
            platform_system: Some("Windows"),
            platform_machine: machine,
        };
    }
    PlatformFacts::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(python: Option<(u8, u8)>, platform: Option<&str>) -> Environment {
        Environment {
            python,
            platform: platform.map(str::to_owned),
        }
    }

    fn needs(e: &Environment, marker: &str, extras: &[&str]) -> bool {
        let marker = MarkerTree::from_str(marker).unwrap();
        let extras: Vec<ExtraName> = extras.iter().map(|e| e.parse().unwrap()).collect();
        e.needs(&marker, &extras)
    }

    #[test]
    fn markers_follow_each_target_and_every_branch_of_what_it_leaves_open() {
        let py38_win = env(Some((3, 8)), Some("win_amd64"));
        let py312_linux = env(Some((3, 12)), Some("manylinux_2_17_x86_64"));
        let py312 = env(Some((3, 12)), None);
        let mac = env(None, Some("macosx_11_0_arm64"));
        let any = Environment::default();
        let mut failures = Vec::new();
        for (e, marker, extras, want) in [
            (&py38_win, "python_version < '3.10'", &[][..], true),
            (&py312_linux, "python_version < '3.10'", &[], false),
            (&py312, "python_full_version >= '3.12.4'", &[], true),
            (&py38_win, "sys_platform == 'win32'", &[], true),
            (&py312_linux, "sys_platform == 'win32'", &[], false),
            (&py312, "sys_platform == 'win32'", &[], true),
            (
                &mac,
                "sys_platform == 'darwin' and platform_machine == 'arm64'",
                &[],
                true,
            ),
            (&mac, "platform_machine == 'x86_64'", &[], false),
            (
                &py312_linux,
                "platform_python_implementation == 'PyPy'",
                &[],
                false,
            ),
            (
                &py38_win,
                "os_name == 'nt' and python_version >= '3.8'",
                &[],
                true,
            ),
            (
                &any,
                "sys_platform == 'win32' and python_version < '3'",
                &[],
                true,
            ),
            (
                &any,
                "sys_platform == 'win32' and sys_platform == 'linux'",
                &[],
                false,
            ),
            (&any, "extra == 'socks'", &[], false),
            (&any, "extra == 'socks'", &["socks"], true),
            (
                &py312_linux,
                "extra == 'socks' and sys_platform == 'win32'",
                &["socks"],
                false,
            ),
            (&py312_linux, "'linux' in sys_platform", &[], true),
        ] {
            if needs(e, marker, extras) != want {
                failures.push(format!(
                    "{} / {marker} / {extras:?}: want {want}",
                    e.describe()
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn requires_python_is_checked_against_the_target_minor() {
        let e = env(Some((3, 8)), None);
        assert!(e.admits_python(Some(">=3.7")));
        assert!(!e.admits_python(Some(">=3.9")));
        assert!(e.admits_python(Some(">=3.8.1")));
        assert!(!e.admits_python(Some("!=3.8.*")));
        assert!(Environment::default().admits_python(Some(">=3.99")));
    }

    #[test]
    fn targets_combine_every_python_with_every_platform() {
        let all = Environment::all(&[(3, 11), (3, 12)], &["a".into(), "b".into()]);
        assert_eq!(all.len(), 4);
        assert_eq!(Environment::all(&[], &[]), vec![Environment::default()]);
    }
}

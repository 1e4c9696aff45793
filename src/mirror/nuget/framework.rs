//! NuGet target frameworks (TFMs) and NuGet's choice of the nearest compatible one, ported from
//! NuGet.Frameworks (`NuGetFrameworkFactory`, `CompatibilityProvider`, `DefaultFrameworkMappings`,
//! `FrameworkReducer.GetNearest`) for the families packages target today: .NETFramework
//! (`net48`, `net472`, `.NETFramework4.8`), .NETStandard (`netstandard2.0`), .NETCoreApp
//! (`netcoreapp3.1`, and `net5.0` onwards, which NuGet files under .NETCoreApp), with
//! portable (PCL) groups read by the frameworks they list. Written here because no crate
//! implements NuGet's rules. Pure: strings in, choices out.
//!
//! Left out: platform-specific targets (`net8.0-windows`) and portable profiles as targets are
//! refused; a group for an identifier outside these families (Xamarin, UWP, Tizen ...) or a
//! numbered profile (`portable-Profile259`) is "unsupported" and never chosen, as NuGet's
//! `UnsupportedFramework` is.

use std::fmt;

/// A framework identifier opp knows the rules of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    NetFramework,
    NetCoreApp,
    NetStandard,
}

impl Family {
    /// NuGet's `IsPackageBased`: the families whose libraries come as packages.
    fn package_based(self) -> bool {
        matches!(self, Family::NetCoreApp | Family::NetStandard)
    }
}

/// Four version numbers, as `System.Version` (missing parts are 0).
pub type Version = [u32; 4];

const EMPTY: Version = [0; 4];

/// One specific framework: a family, a version and (net5.0 onwards) a platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tfm {
    pub family: Family,
    pub version: Version,
    /// `windows`, `android` ... lowercase, with its version.
    pub platform: Option<(String, Version)>,
}

/// A dependency group's framework.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Framework {
    /// No `targetFramework`: the group applies to every framework, chosen last.
    Any,
    Specific(Tfm),
    /// `portable-net45+win8+...`: the frameworks it lists; those opp does not know are `None`
    /// (they count, as in NuGet, but are never compatible).
    Portable(Vec<Option<Tfm>>),
    /// An identifier opp has no rules for, as written.
    Unsupported(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameworkError {
    #[error("`{0}` is not a target framework opp knows")]
    Unknown(String),
    #[error(
        "`{0}` is a platform-specific target framework; opp does not choose dependencies for \
         those yet"
    )]
    Platform(String),
    #[error("`{0}` is a portable profile")]
    Portable(String),
}

/// What to give instead of a framework opp cannot target.
impl crate::error::Diagnostic for FrameworkError {
    fn hints(&self) -> Vec<String> {
        let hint = match self {
            FrameworkError::Unknown(_) => {
                "give one like net8.0, net6.0, netstandard2.0, netcoreapp3.1 or net48"
            }
            FrameworkError::Platform(_) => "give the framework without the platform (e.g. net8.0)",
            FrameworkError::Portable(_) => {
                "give the specific target framework a project builds for (e.g. netstandard2.0)"
            }
        };
        vec![hint.to_owned()]
    }
}

impl Tfm {
    /// A framework a user targets (`--framework`, `<TargetFramework>`): one of the families,
    /// without a platform.
    pub fn parse_target(s: &str) -> Result<Tfm, FrameworkError> {
        match Framework::parse(s) {
            Framework::Specific(t) if t.platform.is_some() => {
                Err(FrameworkError::Platform(s.trim().to_owned()))
            }
            Framework::Specific(t) => Ok(t),
            Framework::Portable(_) => Err(FrameworkError::Portable(s.trim().to_owned())),
            Framework::Any | Framework::Unsupported(_) => {
                Err(FrameworkError::Unknown(s.trim().to_owned()))
            }
        }
    }

    /// This framework and the .NETStandard it can consume (`DefaultFrameworkMappings`'
    /// one-way mappings, what `FrameworkExpander` adds).
    fn expanded(&self) -> Vec<Tfm> {
        let mut all = vec![self.clone()];
        let v = self.version;
        let standard = match self.family {
            Family::NetCoreApp if v >= [3, 0, 0, 0] => Some([2, 1, 0, 0]),
            Family::NetCoreApp if v >= [2, 0, 0, 0] => Some([2, 0, 0, 0]),
            Family::NetCoreApp if v >= [1, 1, 0, 0] => Some([1, 7, 0, 0]),
            Family::NetCoreApp if v >= [1, 0, 0, 0] => Some([1, 6, 0, 0]),
            Family::NetFramework if v >= [4, 6, 1, 0] => Some([2, 0, 0, 0]),
            Family::NetFramework if v >= [4, 6, 0, 0] => Some([1, 3, 0, 0]),
            Family::NetFramework if v >= [4, 5, 1, 0] => Some([1, 2, 0, 0]),
            Family::NetFramework if v >= [4, 5, 0, 0] => Some([1, 1, 0, 0]),
            _ => None,
        };
        if let Some(version) = standard {
            all.push(Tfm {
                family: Family::NetStandard,
                version,
                platform: None,
            });
        }
        all
    }

    /// `CompatibilityProvider.IsCompatible(self, candidate)` for two specific frameworks: a
    /// project targeting `self` can use what was built for `candidate`.
    pub fn supports(&self, candidate: &Tfm) -> bool {
        if let Some((platform, version)) = &candidate.platform {
            match &self.platform {
                Some((mine, my_version))
                    if mine == platform && version_compatible(*my_version, *version) => {}
                _ => return false,
            }
        }
        self.expanded().iter().any(|t| {
            t.family == candidate.family && version_compatible(t.version, candidate.version)
        })
    }
}

/// `IsVersionCompatible`: an empty version goes with any.
fn version_compatible(target: Version, candidate: Version) -> bool {
    candidate == EMPTY || candidate <= target
}

/// `[4, 7, 2, 0]` as `4.7.2`, at least `min` parts.
fn version_parts(v: Version, min: usize) -> Vec<String> {
    let keep = (0..4).rev().find(|&i| v[i] != 0).map_or(0, |i| i + 1);
    v[..keep.max(min)].iter().map(ToString::to_string).collect()
}

impl fmt::Display for Tfm {
    /// NuGet's short folder name: `net48`, `net472`, `netstandard2.0`, `net8.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.version;
        match self.family {
            Family::NetFramework if v.iter().all(|n| *n < 10) => {
                write!(f, "net{}", version_parts(v, 2).concat())?
            }
            Family::NetFramework => write!(f, "net{}", version_parts(v, 2).join("."))?,
            Family::NetCoreApp if v[0] >= 5 => write!(f, "net{}", version_parts(v, 2).join("."))?,
            Family::NetCoreApp => write!(f, "netcoreapp{}", version_parts(v, 2).join("."))?,
            Family::NetStandard => write!(f, "netstandard{}", version_parts(v, 2).join("."))?,
        }
        if let Some((platform, version)) = &self.platform {
            write!(f, "-{platform}")?;
            if *version != EMPTY {
                write!(f, "{}", version_parts(*version, 2).join("."))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Framework::Any => f.write_str("any"),
            Framework::Specific(t) => t.fmt(f),
            Framework::Portable(members) => {
                let names: Vec<String> = members
                    .iter()
                    .map(|m| m.as_ref().map_or("?".into(), ToString::to_string))
                    .collect();
                write!(f, "portable-{}", names.join("+"))
            }
            Framework::Unsupported(s) => f.write_str(s),
        }
    }
}

impl Framework {
    /// A group's `targetFramework` as NuGet reads it: short folder names (`net48`,
    /// `netstandard2.0`, `net8.0`), long names (`.NETFramework4.8`,
    /// `.NETStandard,Version=v2.0`), `portable-...`; empty is [`Framework::Any`]. What opp has
    /// no rules for is [`Framework::Unsupported`].
    pub fn parse(s: &str) -> Framework {
        let text = s.trim();
        let lower = text.to_ascii_lowercase();
        if lower.is_empty() || lower == "any" || lower == "agnostic" {
            return Framework::Any;
        }
        if let Some(rest) = lower.strip_prefix("portable-") {
            if rest.starts_with("profile") {
                return Framework::Unsupported(text.to_owned());
            }
            let members = rest
                .split('+')
                .map(|m| parse_specific(m).filter(|t| t.platform.is_none()))
                .collect();
            return Framework::Portable(members);
        }
        match parse_specific(&lower) {
            Some(t) => Framework::Specific(t),
            None => Framework::Unsupported(text.to_owned()),
        }
    }

    fn is_pcl(&self) -> bool {
        matches!(self, Framework::Portable(_))
    }

    fn family(&self) -> Option<Family> {
        match self {
            Framework::Specific(t) => Some(t.family),
            _ => None,
        }
    }

    /// `CompatibilityProvider.IsCompatible(self, candidate)` for any two frameworks.
    fn supports(&self, candidate: &Framework) -> bool {
        use Framework::{Any, Portable, Specific, Unsupported};
        match (self, candidate) {
            (a, b) if a == b => true,
            (Any, _) | (_, Any) => true,
            (Unsupported(_), _) | (_, Unsupported(_)) => false,
            (Specific(t), Specific(c)) => t.supports(c),
            // A PCL target against a non-PCL candidate is compared by name: never equal.
            (Portable(_), Specific(_)) => false,
            (Specific(t), Portable(members)) => members.iter().flatten().any(|m| t.supports(m)),
            (Portable(targets), Portable(candidates)) => {
                targets.len() <= candidates.len()
                    && targets.iter().all(|t| {
                        t.as_ref()
                            .is_some_and(|t| candidates.iter().flatten().any(|c| t.supports(c)))
                    })
            }
        }
    }
}

/// Parses `net48`, `net4.8`, `netstandard2.0`, `netcoreapp3.1`, `net8.0`, `net8.0-windows10.0`,
/// `net40-client`, and the long forms, lowercase.
fn parse_specific(lower: &str) -> Option<Tfm> {
    if let Some((identifier, rest)) = lower.split_once(',') {
        // `.NETFramework,Version=v4.8[,Profile=Client]`
        let family = family_of(identifier.trim())?;
        let mut version = None;
        for part in rest.split(',') {
            let (key, value) = part.split_once('=')?;
            match (key.trim(), value.trim()) {
                ("version", v) => version = Some(parse_version(v.trim_start_matches('v'))?),
                ("profile", "client" | "full" | "") if family == Family::NetFramework => {}
                _ => return None,
            }
        }
        return Some(finish(family, version?, None));
    }
    const PREFIXES: [(&str, Option<Family>); 9] = [
        (".netframework", Some(Family::NetFramework)),
        ("netframework", Some(Family::NetFramework)),
        (".netstandard", Some(Family::NetStandard)),
        ("netstandard", Some(Family::NetStandard)),
        (".netcoreapp", Some(Family::NetCoreApp)),
        ("netcoreapp", Some(Family::NetCoreApp)),
        // .NETCore (Windows Store, `netcore45`) is another identifier: unsupported.
        ("netcore", None),
        (".net", Some(Family::NetFramework)),
        ("net", Some(Family::NetFramework)),
    ];
    let (prefix, family) = PREFIXES.iter().find(|(p, _)| lower.starts_with(p))?;
    let family = (*family)?;
    let rest = &lower[prefix.len()..];
    let (version_text, suffix) = match rest.split_once('-') {
        Some((v, s)) => (v, Some(s)),
        None => (rest, None),
    };
    let version = if version_text.contains('.') {
        parse_version(version_text)?
    } else if version_text.is_empty() {
        EMPTY
    } else {
        // Short folder names: one digit per part (`net472` is 4.7.2).
        if !version_text.bytes().all(|b| b.is_ascii_digit()) || version_text.len() > 4 {
            return None;
        }
        let mut v = EMPTY;
        for (slot, b) in v.iter_mut().zip(version_text.bytes()) {
            *slot = u32::from(b - b'0');
        }
        v
    };
    if family == Family::NetFramework && version >= [5, 0, 0, 0] {
        // net5.0 onwards is .NETCoreApp; a suffix is its platform.
        let platform = match suffix {
            None => None,
            Some(s) => {
                let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
                let (name, v) = s.split_at(split);
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return None;
                }
                let v = if v.is_empty() {
                    EMPTY
                } else {
                    parse_version(v)?
                };
                Some((name.to_owned(), v))
            }
        };
        return Some(finish(Family::NetCoreApp, version, platform));
    }
    match suffix {
        None => {}
        // The client profile is the full framework for NuGet.
        Some("client" | "full") if family == Family::NetFramework => {}
        Some(_) => return None,
    }
    Some(finish(family, version, None))
}

fn finish(family: Family, version: Version, platform: Option<(String, Version)>) -> Tfm {
    let family = if family == Family::NetFramework && version >= [5, 0, 0, 0] {
        Family::NetCoreApp
    } else {
        family
    };
    Tfm {
        family,
        version,
        platform,
    }
}

fn family_of(identifier: &str) -> Option<Family> {
    match identifier {
        ".netframework" | "netframework" | ".net" | "net" => Some(Family::NetFramework),
        ".netstandard" | "netstandard" => Some(Family::NetStandard),
        ".netcoreapp" | "netcoreapp" => Some(Family::NetCoreApp),
        _ => None,
    }
}

/// `4.7.2` -> [4, 7, 2, 0]; one to four numeric parts.
fn parse_version(s: &str) -> Option<Version> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut v = EMPTY;
    for (slot, part) in v.iter_mut().zip(parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    Some(v)
}

/// `FrameworkReducer.GetNearest`: the index of the framework in `candidates` that a project
/// targeting `target` uses, or `None` when none is compatible.
pub fn nearest(target: &Tfm, candidates: &[Framework]) -> Option<usize> {
    let target_fw = Framework::Specific(target.clone());
    let mut pool: Vec<usize> = (0..candidates.len()).collect();
    let unsupported = |i: &usize| matches!(candidates[*i], Framework::Unsupported(_));
    // Unsupported frameworks always lose.
    if !pool.iter().all(unsupported) {
        pool.retain(|i| !unsupported(i));
    }
    // An exact match first.
    if let Some(&i) = pool.iter().find(|&&i| candidates[i] == target_fw) {
        return Some(i);
    }
    pool.retain(|&i| target_fw.supports(&candidates[i]));
    let mut reduced = reduce_upwards(candidates, pool);
    // The same framework name as the target, if any has it.
    let same_name = |i: &usize| candidates[*i].family() == Some(target.family);
    if reduced.len() > 1 && reduced.iter().any(same_name) {
        reduced.retain(same_name);
    }
    // A mix of PCLs and others: the others; only PCLs: the one listing fewest frameworks
    // (NuGet's `GetBestPCL` when it cannot tell them apart otherwise).
    if reduced.len() > 1 {
        let pcl = |i: &usize| candidates[*i].is_pcl();
        if reduced.iter().all(pcl) {
            let size = |i: &usize| match &candidates[*i] {
                Framework::Portable(m) => m.len(),
                _ => usize::MAX,
            };
            if let Some(best) = reduced.iter().copied().min_by_key(size) {
                reduced = vec![best];
            }
        } else if reduced.iter().any(pcl) {
            reduced.retain(|i| !pcl(i));
        }
    }
    // A project that is not package-based prefers frameworks that are not either.
    let package_based = |i: &usize| candidates[*i].family().is_some_and(Family::package_based);
    if reduced.len() > 1
        && !target.family.package_based()
        && reduced.iter().any(package_based)
        && !reduced.iter().all(package_based)
    {
        reduced.retain(|i| !package_based(i));
    }
    // Still a tie (rare): NuGet's precedence (.NETFramework, .NETCoreApp, .NETStandard), then
    // the highest version.
    reduced.into_iter().min_by_key(|&i| match &candidates[i] {
        Framework::Specific(t) => (t.family, std::cmp::Reverse(t.version)),
        _ => (Family::NetStandard, std::cmp::Reverse(EMPTY)),
    })
}

/// `ReduceUpwards`: without `Any` (unless it is all there is), then without every framework
/// that another one in the list supports but not the other way round.
fn reduce_upwards(candidates: &[Framework], mut pool: Vec<usize>) -> Vec<usize> {
    if pool.iter().any(|&i| candidates[i] != Framework::Any) {
        pool.retain(|&i| candidates[i] != Framework::Any);
    }
    // Of equal frameworks, the first.
    let mut distinct: Vec<usize> = Vec::new();
    for i in pool {
        if !distinct.iter().any(|&j| candidates[j] == candidates[i]) {
            distinct.push(i);
        }
    }
    let dropped = |x: usize| {
        distinct.iter().any(|&y| {
            if x == y || !candidates[y].supports(&candidates[x]) {
                return false;
            }
            if !candidates[x].supports(&candidates[y]) {
                return true;
            }
            // Equivalent with the same name: the empty version goes.
            match (&candidates[x], &candidates[y]) {
                (Framework::Specific(a), Framework::Specific(b)) if a.family == b.family => {
                    a.version == EMPTY && b.version != EMPTY
                }
                _ => false,
            }
        })
    };
    distinct.iter().copied().filter(|&x| !dropped(x)).collect()
}

#[cfg(test)]
#[path = "framework_tests.rs"]
mod tests;

//! NuGet version ranges (NuGet.Versioning's `VersionRange.Parse`): `1.0` means `>= 1.0`,
//! `[1.0]` exactly 1.0, `(1.0,)`, `[1.0,2.0)`, `(,2.0]` intervals with inclusive `[]` and
//! exclusive `()` ends. Floating ranges (`1.*`) are not supported. Pure.

use super::{NugetError, NugetVersion};

/// A parsed range: optional lower and upper bounds, each inclusive or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRange {
    pub min: Option<NugetVersion>,
    pub min_inclusive: bool,
    pub max: Option<NugetVersion>,
    pub max_inclusive: bool,
}

impl VersionRange {
    /// Parses NuGet's range notation.
    pub fn parse(s: &str) -> Result<VersionRange, NugetError> {
        let _ = s;
        todo!()
    }

    /// Exactly one version (`[v]`).
    pub fn exact(v: NugetVersion) -> VersionRange {
        VersionRange {
            min: Some(v.clone()),
            min_inclusive: true,
            max: Some(v),
            max_inclusive: true,
        }
    }

    /// Whether `v` lies inside the range.
    pub fn contains(&self, v: &NugetVersion) -> bool {
        let _ = v;
        todo!()
    }
}

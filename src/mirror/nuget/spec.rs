//! What a user asks for on the command line: `ID`, `ID@VERSION` (exactly that version, as
//! `nuget install -Version` takes it) or `ID@RANGE` in NuGet's interval notation
//! (`'Serilog@[3.0,4.0)'`). Pure.

use super::resolve::Request;
use crate::ecosystem::nuget::{NugetVersion, VersionRange};
use crate::error::{Diagnostic, Refusal};
use crate::mapper::Mapper;
use crate::release::Ecosystem;

/// Parses one `ID[@VERSION|@RANGE]`.
pub fn parse(spec: &str) -> Result<Request, Refusal> {
    let refused = |message: String, hints: Vec<String>| Refusal {
        message,
        kind: crate::error::Kind::Usage,
        hints,
    };
    let (id, range) = match spec.split_once('@') {
        Some((id, range)) => (id.trim(), Some(range.trim())),
        None => (spec.trim(), None),
    };
    Mapper::normalize_package(Ecosystem::Nuget, id).map_err(|e| {
        refused(
            format!("`{spec}`: `{id}` is not a NuGet package id ({e})"),
            e.hints(),
        )
    })?;
    let range = match range {
        None => None,
        Some(r) if r.starts_with(['[', '(']) => {
            Some(VersionRange::parse(r).map_err(|e| refused(format!("`{spec}`: {e}"), e.hints()))?)
        }
        Some(v) => {
            let version = NugetVersion::parse(v).ok_or_else(|| {
                refused(
                    format!("`{spec}`: `{v}` is not a NuGet version"),
                    vec!["give ID@VERSION or a range such as ID@[1.0,2.0)".into()],
                )
            })?;
            Some(VersionRange::exact(version))
        }
    };
    Ok(Request {
        id: id.to_owned(),
        range,
        lowest: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_versions_and_ranges_are_read() {
        assert_eq!(parse("Newtonsoft.Json").unwrap().range, None);
        let pinned = parse("Newtonsoft.Json@13.0.3").unwrap();
        assert_eq!(pinned.id, "Newtonsoft.Json");
        assert_eq!(
            pinned.range,
            Some(VersionRange::exact(NugetVersion::parse("13.0.3").unwrap()))
        );
        let range = parse("Serilog@[3.0,4.0)").unwrap().range.unwrap();
        assert!(range.contains(&NugetVersion::parse("3.1").unwrap()));
        assert!(!range.contains(&NugetVersion::parse("4.0").unwrap()));
    }

    #[test]
    fn bad_specs_name_themselves() {
        for (bad, says) in [
            (
                "Serilog@three",
                "`Serilog@three`: `three` is not a NuGet version",
            ),
            (
                "Serilog@[4.0,3.0]",
                "`Serilog@[4.0,3.0]`: `[4.0,3.0]` is not a NuGet version range",
            ),
            (
                "bad id@1.0",
                "`bad id@1.0`: `bad id` is not a NuGet package id",
            ),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.message.starts_with(says), "{bad}: {err}");
        }
    }

    #[test]
    fn the_remedy_is_a_hint_apart_from_the_message() {
        let err = parse("Serilog@three").unwrap_err();
        assert_eq!(
            err.message,
            "`Serilog@three`: `three` is not a NuGet version"
        );
        assert_eq!(
            err.hints,
            ["give ID@VERSION or a range such as ID@[1.0,2.0)"]
        );
        let err = parse("Serilog@[1.*,2.0)").unwrap_err();
        assert_eq!(
            err.message,
            "`Serilog@[1.*,2.0)`: `[1.*,2.0)` is not a NuGet version range: floating versions \
             (`*`) are not supported"
        );
        assert_eq!(err.hints, ["give a version or an interval, e.g. [1.0,2.0)"]);
    }
}

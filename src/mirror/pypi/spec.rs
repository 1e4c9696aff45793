//! A requested package as the user types it (`requests`, `requests==2.32.3`,
//! `'django>=5,<6'`, `requests[socks]`, with an optional `; marker`), read as PEP 508 into a
//! closure [`Request`]. URL and path requirements are refused: a mirror takes packages from
//! the index. Pure.

use std::str::FromStr;

use pep440_rs::VersionSpecifiers;
use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};

use super::resolve::Request;
use crate::ecosystem::pypi::normalize_name;
use crate::mirror::MirrorError;

/// What to do about a URL requirement.
pub const NAME_A_VERSION: &str = "name a version from the index instead";

/// Reads one requirement; `origin` names where it came from in messages. The error is the
/// reason, and what to do about it when there is one thing to do.
pub fn parse(spec: &str, origin: &str) -> Result<Request, (String, Option<&'static str>)> {
    let r = Requirement::<VerbatimUrl>::from_str(spec.trim())
        .map_err(|e| (e.message.to_string(), None))?;
    let specifiers = match r.version_or_url {
        None => VersionSpecifiers::empty(),
        Some(VersionOrUrl::VersionSpecifier(s)) => s,
        Some(VersionOrUrl::Url(_)) => {
            return Err((
                "URL requirements cannot be mirrored".to_owned(),
                Some(NAME_A_VERSION),
            ));
        }
    };
    Ok(Request {
        name: normalize_name(r.name.as_ref()),
        extras: r.extras,
        specifiers,
        marker: r.marker,
        hashes: Vec::new(),
        follow: true,
        origin: origin.to_owned(),
    })
}

/// Reads a command-line spec.
pub fn from_command_line(spec: &str) -> Result<Request, MirrorError> {
    parse(spec, "the command line").map_err(|(reason, hint)| MirrorError::BadSpec {
        spec: spec.to_owned(),
        reason,
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_read_names_versions_and_extras() {
        let r = from_command_line("Requests[socks]==2.32.3").unwrap();
        assert_eq!(r.name, "requests");
        assert_eq!(r.specifiers.to_string(), "==2.32.3");
        assert_eq!(r.extras.len(), 1);
        let r = from_command_line("django>=5,<6").unwrap();
        assert_eq!(r.specifiers.len(), 2);
    }

    #[test]
    fn url_specs_and_garbage_are_refused_with_the_spec_named() {
        use crate::error::Diagnostic;
        let e = from_command_line("pkg @ https://example.test/pkg.whl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid requirement `pkg @ https://example.test/pkg.whl`: URL requirements cannot \
             be mirrored"
        );
        assert_eq!(e.hints(), ["name a version from the index instead"]);
        assert!(from_command_line("==1.0").is_err());
    }
}

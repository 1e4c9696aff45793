//! The dependency half of a distribution's core metadata (`METADATA`, served by an index as
//! `<file>.metadata`, or `PKG-INFO`): every `Requires-Dist`, `Requires-Python`, and whether an
//! sdist's values can be trusted (Metadata-Version 2.2+ and not `Dynamic`). Pure.
//!
//! The header block is read the way `ecosystem::pypi`'s `CoreMetadata` reads it (keys are
//! case-insensitive, indented lines continue a value); that reader keeps the first value of
//! three keys, this one keeps every `Requires-Dist`.

use std::str::FromStr;

use pep508_rs::Requirement;

/// What a core metadata file says about dependencies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dependencies {
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<String>,
    /// `Requires-Dist` lines that are not valid PEP 508, kept to report.
    pub invalid: Vec<String>,
    /// PEP 643: the metadata is 2.2+ and does not mark `Requires-Dist` dynamic (always true
    /// for a wheel's METADATA, whose values are final).
    pub static_requires_dist: bool,
    /// `Metadata-Version`, as written.
    pub metadata_version: Option<String>,
}

impl Dependencies {
    /// Why an sdist's `Requires-Dist` cannot be taken as its dependencies (PEP 643: only
    /// Metadata-Version 2.2+ values not marked `Dynamic` are final), or `None` when they can.
    pub fn not_static(&self) -> Option<String> {
        if self.static_requires_dist {
            return None;
        }
        Some(match &self.metadata_version {
            Some(v)
                if pep440_rs::Version::from_str(v)
                    .is_ok_and(|v| v >= pep440_rs::Version::new([2, 2])) =>
            {
                "its PKG-INFO marks Requires-Dist as Dynamic (computed at build time)".to_owned()
            }
            Some(v) => format!(
                "its PKG-INFO is Metadata-Version {v}, older than 2.2, whose Requires-Dist may \
                 differ from what a build states"
            ),
            None => "its PKG-INFO has no Metadata-Version".to_owned(),
        })
    }
}

/// Reads the header block of a core metadata file.
pub fn parse(bytes: &[u8]) -> Dependencies {
    let text = String::from_utf8_lossy(bytes);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                let more = line.trim();
                if !more.is_empty() {
                    value.push(' ');
                    value.push_str(more);
                }
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut deps = Dependencies::default();
    let mut metadata_version = None;
    let mut dynamic = false;
    for (key, value) in headers {
        match key.as_str() {
            "requires-dist" => match Requirement::from_str(&value) {
                Ok(r) => deps.requires_dist.push(r),
                Err(_) => deps.invalid.push(value),
            },
            "requires-python" if deps.requires_python.is_none() && !value.is_empty() => {
                deps.requires_python = Some(value);
            }
            "metadata-version" => metadata_version = Some(value),
            "dynamic" if value.eq_ignore_ascii_case("requires-dist") => dynamic = true,
            _ => {}
        }
    }
    let at_least_2_2 = metadata_version
        .as_deref()
        .and_then(|v| pep440_rs::Version::from_str(v).ok())
        .is_some_and(|v| v >= pep440_rs::Version::new([2, 2]));
    deps.static_requires_dist = at_least_2_2 && !dynamic;
    deps.metadata_version = metadata_version;
    deps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requires_dist_is_read_with_its_marker() {
        let deps = parse(
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\n\
              Requires-Python: >=3.8\nRequires-Dist: charset-normalizer <4,>=2\n\
              Requires-Dist: idna <4,>=2.5\nRequires-Dist: PySocks !=1.5.7,>=1.5.6 ; \n \
              extra == 'socks'\nRequires-Dist: not a requirement !!\n\n\
              Requires-Dist: body-is-not-read\n",
        );
        let names: Vec<String> = deps
            .requires_dist
            .iter()
            .map(|r| r.name.to_string())
            .collect();
        assert_eq!(names, ["charset-normalizer", "idna", "pysocks"]);
        assert_eq!(
            deps.requires_dist[2].marker.try_to_string().as_deref(),
            Some("extra == 'socks'")
        );
        assert_eq!(deps.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(deps.invalid, ["not a requirement !!"]);
        assert!(!deps.static_requires_dist, "2.1 is before PEP 643");
    }

    #[test]
    fn sdist_metadata_is_static_from_2_2_unless_marked_dynamic() {
        assert!(parse(b"Metadata-Version: 2.2\nName: x\n").static_requires_dist);
        assert!(!parse(b"Metadata-Version: 2.3\nDynamic: Requires-Dist\n").static_requires_dist);
    }

    #[test]
    fn an_sdist_says_why_its_dependencies_are_not_final() {
        let cases = [
            ("Metadata-Version: 2.4\nRequires-Dist: six\n", None),
            (
                "Metadata-Version: 2.2\nDynamic: requires-dist\n",
                Some("its PKG-INFO marks Requires-Dist as Dynamic (computed at build time)"),
            ),
            (
                "Metadata-Version: 2.1\nRequires-Dist: six\n",
                Some(
                    "its PKG-INFO is Metadata-Version 2.1, older than 2.2, whose Requires-Dist \
                     may differ from what a build states",
                ),
            ),
            ("Name: x\n", Some("its PKG-INFO has no Metadata-Version")),
        ];
        let mut failures = Vec::new();
        for (text, want) in cases {
            let got = parse(text.as_bytes()).not_static();
            if got.as_deref() != want {
                failures.push(format!("{text:?}: {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

//! pip requirements files (`-r requirements.txt`) and constraints files (`-c`), read into
//! closure requests. A pinned line (`NAME==VERSION`, with its `--hash=sha256:` options) is
//! mirrored exactly, its dependencies not followed: a pinned file (pip-compile's, uv's export)
//! already lists them. An unpinned line is a specifier whose dependencies are followed.
//! Comments and `\` continuations are handled, `-r`/`-c` lines nest; `-e`, VCS, URL and path
//! lines are refused (a mirror takes packages from the index). Pure: the caller reads files.
//! Lines, comments and `--hash` options are read by `ecosystem::pypi::requirements` (shared
//! with `opp pull pypi -r`); this module applies the mirror's rules to them.

use std::path::{Path, PathBuf};

use pep440_rs::{Operator, VersionSpecifiers};

use super::resolve::Request;
use super::spec;
use crate::ecosystem::pypi::requirements::{logical_lines, split_hashes, strip_comment};
use crate::mirror::MirrorError;

/// How deep `-r`/`-c` lines may nest.
const MAX_DEPTH: usize = 8;

/// What requirements and constraints files ask for.
#[derive(Debug, Default)]
pub struct Parsed {
    pub requests: Vec<Request>,
    /// `(normalized name, specifiers)` from constraints files.
    pub constraints: Vec<(String, VersionSpecifiers)>,
    /// Options opp does not act on (`--index-url` ...), to warn about.
    pub ignored: Vec<String>,
}

/// Reads a requirements file (`constraint` false) or a constraints file into `parsed`, with
/// `read` giving the text of a path (also of nested `-r`/`-c` files, relative to this one).
pub fn read(
    path: &Path,
    constraint: bool,
    read: &dyn Fn(&Path) -> Result<String, MirrorError>,
    parsed: &mut Parsed,
) -> Result<(), MirrorError> {
    read_at(path, constraint, read, parsed, 0)
}

fn read_at(
    path: &Path,
    constraint: bool,
    read: &dyn Fn(&Path) -> Result<String, MirrorError>,
    parsed: &mut Parsed,
    depth: usize,
) -> Result<(), MirrorError> {
    let text = read(path)?;
    let shown = path.display().to_string();
    for (line_no, line) in logical_lines(&text) {
        let line = strip_comment(&line);
        let bad_because = |reason: String, hint: Option<&'static str>| MirrorError::BadLine {
            path: shown.clone(),
            line: line_no,
            reason,
            hint,
        };
        let bad = |reason: String| bad_because(reason, None);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some((option, value)) = option(line) {
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    if depth >= MAX_DEPTH {
                        return Err(bad(format!("`{line}` nests more than {MAX_DEPTH} deep")));
                    }
                    let nested = nested_path(path, value);
                    let nested_constraint =
                        constraint || option.starts_with("-c") || option == "--constraint";
                    read_at(&nested, nested_constraint, read, parsed, depth + 1)?;
                }
                "-e" | "--editable" => {
                    return Err(bad_because(
                        format!("`{line}`: editable requirements cannot be mirrored"),
                        Some("build the project and `opp push pypi` its files instead"),
                    ));
                }
                _ => parsed.ignored.push(format!("{shown}:{line_no}: {line}")),
            }
            continue;
        }
        let (requirement, hashes, _other_options) = split_hashes(line).map_err(&bad)?;
        if requirement.contains("://") || requirement.starts_with(['.', '/']) {
            return Err(bad_because(
                format!("`{requirement}`: URL, VCS and path requirements cannot be mirrored"),
                Some(spec::NAME_A_VERSION),
            ));
        }
        let mut request = spec::parse(requirement, &format!("{shown}:{line_no}"))
            .map_err(|(reason, hint)| bad_because(format!("`{requirement}`: {reason}"), hint))?;
        if constraint {
            parsed.constraints.push((request.name, request.specifiers));
            continue;
        }
        request.follow = !is_pin(&request.specifiers);
        if !hashes.is_empty() && request.follow {
            return Err(bad_because(
                format!("`{requirement}` has --hash options but no `==` pin"),
                Some("pin the version the hashes belong to"),
            ));
        }
        request.hashes = hashes;
        parsed.requests.push(request);
    }
    Ok(())
}

/// `==V` or `===V` alone, without a wildcard.
fn is_pin(specifiers: &VersionSpecifiers) -> bool {
    specifiers.len() == 1
        && specifiers
            .iter()
            .all(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual))
}

/// `-r file`, `--requirement=file`, `--index-url URL` ... as `(option, value)`.
fn option(line: &str) -> Option<(&str, &str)> {
    if !line.starts_with('-') {
        return None;
    }
    let (opt, value) = match line.split_once(['=', ' ', '\t']) {
        Some((o, v)) => (o, v.trim()),
        None => (line, ""),
    };
    // `-rfile` is pip's short form too.
    for short in ["-r", "-c", "-e"] {
        if opt.len() > 2 && opt.starts_with(short) && !opt.starts_with("--") {
            return Some((short, line[2..].trim()));
        }
    }
    Some((opt, value))
}

/// A nested file's path, relative to the file naming it.
fn nested_path(parent: &Path, value: &str) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        return p.to_owned();
    }
    parent.parent().unwrap_or(Path::new(".")).join(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(files: &[(&str, &str)]) -> Result<Parsed, MirrorError> {
        let files: Vec<(PathBuf, String)> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        let reader = |p: &Path| {
            files
                .iter()
                .find(|(f, _)| f == p)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| MirrorError::Read {
                    path: p.display().to_string(),
                    source: std::io::ErrorKind::NotFound.into(),
                })
        };
        let mut parsed = Parsed::default();
        read(&files[0].0, false, &reader, &mut parsed)?;
        Ok(parsed)
    }

    const H1: &str = "2c2bb0a0c1f0e9b2fe8c0b1ab8dd6c9e4ed9f6b34ec4ed6bfba63c2d1f1fa6d1";

    #[test]
    fn pins_hashes_specifiers_comments_continuations_and_nested_files_are_read() {
        let text = format!(
            "# a comment\nidna==3.7 \\\n    --hash=sha256:{H1} \\\n    --hash sha256:{}\n\
             requests[socks]>=2.31  # a trailing comment\n--index-url https://example.test/simple\n\
             -c constraints.txt\n",
            H1.to_uppercase()
        );
        let parsed = parse(&[
            ("dir/req.txt", &text),
            ("dir/constraints.txt", "urllib3<2\n"),
        ])
        .unwrap();
        let idna = &parsed.requests[0];
        assert_eq!((idna.name.as_str(), idna.follow), ("idna", false));
        assert_eq!(idna.hashes, [H1, H1]);
        assert_eq!(idna.origin, "dir/req.txt:2");
        let requests = &parsed.requests[1];
        assert_eq!(
            (requests.name.as_str(), requests.follow),
            ("requests", true)
        );
        assert_eq!(requests.extras.len(), 1);
        assert_eq!(parsed.constraints[0].0, "urllib3");
        assert_eq!(
            parsed.ignored,
            ["dir/req.txt:6: --index-url https://example.test/simple"]
        );
    }

    #[test]
    fn editable_vcs_url_and_path_lines_are_refused_naming_the_line() {
        let mut failures = Vec::new();
        for (line, needle) in [
            (
                "-e .",
                "req.txt:2: `-e .`: editable requirements cannot be mirrored",
            ),
            (
                "git+https://github.com/psf/requests",
                "req.txt:2: `git+https://github.com/psf/requests`: URL, VCS and path",
            ),
            (
                "requests @ https://example.test/r.whl",
                "req.txt:2: `requests @ https://example.test/r.whl`: URL, VCS and path",
            ),
            ("./local/pkg", "req.txt:2: `./local/pkg`: URL, VCS and path"),
            ("idna==3.7 --hash=md5:abc", "only sha256 hashes"),
            (
                "idna>=3 --hash=sha256:{H1}",
                "has --hash options but no `==` pin",
            ),
        ] {
            let line = line.replace("{H1}", H1);
            let message = match parse(&[("req.txt", &format!("six\n{line}\n"))]) {
                Ok(_) => "accepted".to_owned(),
                Err(e) => e.to_string(),
            };
            if !message.contains(needle) {
                failures.push(format!("{line}: {message}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

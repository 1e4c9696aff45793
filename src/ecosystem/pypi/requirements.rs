//! Reading a requirements file (`opp pull pypi -r requirements.txt`) the way pip reads one, as
//! far as pulling by name goes: one requirement per line (`name`, `name==1.0`, specifiers),
//! `#` comments, `\` continuations, and pip's per-requirement `--hash=sha256:...` options
//! (then every pulled file must have one of them, as in pip's hash-checking mode).
//!
//! What cannot name a package in a store is refused with the line and what to do: editable
//! installs (`-e`), URLs and paths, nested files (`-r`, `-c`) and other options. Each kept line
//! is then checked by [`super::parse_requirement`]. Pure: text in, values out.
//!
//! The reading of lines (continuations, comments, `--hash` options) is shared with
//! `opp mirror pypi -r` (`mirror::pypi::requirements`), which applies its own rules to them.

use super::PypiError;
use super::version::{Requirement, parse_requirement};

/// One requirement of a file, with where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Line number (1-based) of its first physical line.
    pub line: usize,
    pub requirement: Requirement,
    /// `--hash=sha256:HEX` digests (lowercase hex); empty when the line has none.
    pub sha256: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RequirementsError {
    pub line: usize,
    pub reason: String,
    /// What to do, when the reason has one remedy.
    pub hint: Option<&'static str>,
}

/// The requirements in `text`, in file order.
pub fn parse(text: &str) -> Result<Vec<Wanted>, RequirementsError> {
    let mut out = Vec::new();
    for (line, logical) in logical_lines(text) {
        let fail = |reason: String| RequirementsError {
            line,
            reason,
            hint: None,
        };
        let content = strip_comment(&logical).trim();
        if content.is_empty() {
            continue;
        }
        let mut words = content.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((reason, hint)) = refused(first, content) {
            return Err(RequirementsError {
                hint: Some(hint),
                ..fail(reason)
            });
        }
        let (text, sha256, others) = split_hashes(content).map_err(fail)?;
        if let Some(option) = others.first() {
            return Err(fail(format!(
                "option `{option}` is not supported by opp pull (only --hash=sha256:...)"
            )));
        }
        let requirement = parse_requirement(text.trim()).map_err(|e| match e {
            PypiError::InvalidRequirement {
                requirement,
                reason,
            } => fail(format!("invalid requirement `{requirement}`: {reason}")),
            other => fail(other.to_string()),
        })?;
        out.push(Wanted {
            line,
            requirement,
            sha256,
        });
    }
    Ok(out)
}

/// Why a line that starts with `first` cannot be pulled, if it cannot.
fn refused(first: &str, content: &str) -> Option<(String, &'static str)> {
    if first == "-e" || first.starts_with("--editable") {
        return Some((
            format!(
                "`{content}` is an editable install: opp pulls packages from its store by name"
            ),
            "remove the line, or replace it by the package's name",
        ));
    }
    if matches!(first, "-r" | "-c")
        || first.starts_with("--requirement")
        || first.starts_with("--constraint")
    {
        return Some((
            format!("`{content}` includes another file"),
            "pass it to opp pull as another -r instead",
        ));
    }
    if first.starts_with('-') {
        return Some((
            format!(
                "option `{first}` is not supported by opp pull (it reads only requirements by \
                 name)"
            ),
            "remove the option from the file",
        ));
    }
    if content.contains("://") || first.starts_with(['.', '/', '~']) || content.contains(" @ ") {
        return Some((
            format!("`{content}` is a URL or a path: opp pulls packages from its store by name"),
            "replace it by NAME==VERSION",
        ));
    }
    if content.contains(';') {
        return Some((
            format!(
                "`{content}` has environment markers (`; ...`), which opp pull does not \
                 evaluate"
            ),
            "remove the marker, or the line where it does not apply",
        ));
    }
    None
}

/// Splits `name==1.0 --hash=sha256:ab --hash sha256:cd --no-binary x` into the requirement,
/// its sha256 digests (lowercase) and its other options (pip's per-requirement options).
/// A hash that is not `sha256:<64 hex digits>` is refused.
pub fn split_hashes(line: &str) -> Result<(&str, Vec<String>, Vec<String>), String> {
    let at = line
        .find(" --")
        .or_else(|| line.find("\t--"))
        .unwrap_or(line.len());
    let (requirement, options) = (line[..at].trim(), &line[at..]);
    let mut hashes = Vec::new();
    let mut others = Vec::new();
    let mut tokens = options.split_whitespace();
    while let Some(token) = tokens.next() {
        let value = match token.strip_prefix("--hash") {
            Some("") => tokens.next().unwrap_or_default(),
            Some(rest) if rest.starts_with('=') => &rest[1..],
            _ => {
                others.push(token.to_owned());
                continue;
            }
        };
        let hex = value
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                format!(
                    "`--hash={value}`: only sha256 hashes are supported, as \
                     --hash=sha256:<64 hex digits>"
                )
            })?;
        hashes.push(hex.to_ascii_lowercase());
    }
    Ok((requirement, hashes, others))
}

/// Physical lines joined where one ends in `\`, each with the number of its first line.
pub fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                current = Some((start, acc));
            }
            None => {
                acc.push_str(raw);
                out.push((start, acc));
            }
        }
    }
    if let Some(last) = current {
        out.push(last);
    }
    out
}

/// The line without its comment: `#` at its start or after whitespace, as pip reads it.
pub fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(usize, String, Option<String>)> {
        parse(text)
            .expect("parses")
            .into_iter()
            .map(|w| {
                (
                    w.line,
                    w.requirement.name,
                    w.requirement.specifiers.map(|s| s.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn pins_specifiers_comments_and_blank_lines() {
        let text = "# pinned\nsix==1.16.0\n\n  attrs>=23,<24   # newest 23\nMarkupSafe\n";
        assert_eq!(
            names(text),
            vec![
                (2, "six".to_owned(), Some("==1.16.0".to_owned())),
                (4, "attrs".to_owned(), Some(">=23, <24".to_owned())),
                (5, "MarkupSafe".to_owned(), None),
            ]
        );
    }

    #[test]
    fn hashes_on_continuation_lines_are_kept() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let text = format!(
            "six==1.16.0 \\\n    --hash=sha256:{a} \\\n    --hash sha256:{b}\n    # via foo\nattrs\n"
        );
        let wanted = parse(&text).expect("parses");
        assert_eq!(wanted.len(), 2);
        assert_eq!(wanted[0].line, 1);
        assert_eq!(wanted[0].sha256, vec![a, "b".repeat(64)]);
        assert_eq!(wanted[1].line, 5);
        assert!(wanted[1].sha256.is_empty());
    }

    #[test]
    fn what_cannot_be_pulled_by_name_is_refused_with_its_line() {
        // (text, line, words of the message, whether a hint says what to write instead)
        let cases = [
            ("six\n-e ./mypkg\n", 2, "editable install", true),
            (
                "--editable=git+https://x/y.git\n",
                1,
                "editable install",
                true,
            ),
            (
                "https://example.com/six-1.16.0-py2.py3-none-any.whl\n",
                1,
                "URL or a path",
                true,
            ),
            (
                "six @ https://example.com/six.whl\n",
                1,
                "URL or a path",
                true,
            ),
            (
                "./dist/six-1.16.0-py2.py3-none-any.whl\n",
                1,
                "URL or a path",
                true,
            ),
            ("-r other.txt\n", 1, "includes another file", true),
            (
                "--index-url https://pypi.org/simple\n",
                1,
                "not supported",
                true,
            ),
            ("six==1.16.0 --hash=md5:abc\n", 1, "sha256", false),
            ("six==1.16.0 --no-binary :all:\n", 1, "not supported", false),
            ("\n\nsix[socks]==1.0\n", 3, "extras", false),
            (
                "six==1.0; python_version<'3'\n",
                1,
                "environment markers",
                true,
            ),
            ("==1.0\n", 1, "project name", false),
        ];
        let mut failed = Vec::new();
        for (text, line, words, hinted) in cases {
            match parse(text) {
                Err(e)
                    if e.line == line
                        && e.to_string().contains(words)
                        && e.hint.is_some() == hinted => {}
                other => failed.push(format!("{text:?}: {other:?}")),
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn a_hash_sign_inside_a_word_is_not_a_comment() {
        assert_eq!(strip_comment("a#b # c"), "a#b ");
        assert_eq!(strip_comment("# all"), "");
    }
}

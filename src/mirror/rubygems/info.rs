//! A compact index `/info/NAME` body as gem sources serve it (rubygems.org, gemstash, opp's
//! own proxy): after a `---` line, one line per gem file, `VERSION[-PLATFORM] DEPS|META`,
//! where DEPS is `name:REQ&REQ,...` (runtime dependencies) and META is
//! `checksum:SHA256,ruby:REQ,rubygems:REQ`. Read as Bundler's `CompactIndexClient::GemParser`
//! reads it (the version ends at the first `-`). Pure: text in, values out.

use crate::ecosystem::rubygems::{GemVersion, Requirement, parse_requirement};
use crate::mapper::Mapper;
use crate::release::Ecosystem;

/// One gem file the index lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoLine {
    /// As the index spells it (`1.2.0`, `2.0.0.rc1`).
    pub version: String,
    /// `ruby` for a plain gem.
    pub platform: String,
    /// Runtime dependencies: name and requirement.
    pub dependencies: Vec<(String, Requirement)>,
    /// Lowercase hex, when the line carries one.
    pub sha256: Option<String>,
    pub ruby: Requirement,
    pub rubygems: Requirement,
}

impl InfoLine {
    /// `NAME-VERSION[-PLATFORM].gem`, the file's name under `/gems/`.
    pub fn file_name(&self, name: &str) -> String {
        if self.platform == "ruby" {
            format!("{name}-{}.gem", self.version)
        } else {
            format!("{name}-{}-{}.gem", self.version, self.platform)
        }
    }
}

/// The lines of an `/info` body, and the lines that could not be read (with why).
pub fn parse(body: &str) -> (Vec<InfoLine>, Vec<String>) {
    let mut lines = Vec::new();
    let mut invalid = Vec::new();
    let mut started = !body.lines().any(|l| l.trim_end() == "---");
    for raw in body.lines() {
        let line = raw.trim_end();
        if !started {
            started = line == "---";
            continue;
        }
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(l) => lines.push(l),
            Err(why) => invalid.push(format!("`{line}`: {why}")),
        }
    }
    (lines, invalid)
}

/// A gem name as RubyGems allows it (it becomes part of a URL and a file name).
pub fn check_name(name: &str) -> Result<(), String> {
    Mapper::normalize_package(Ecosystem::Rubygems, name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A version and a platform that can be part of a file name: a gem version, and a platform
/// of letters, digits, `_`, `.` and `-` starting with a letter or digit.
pub fn check_file_parts(version: &str, platform: &str) -> Result<(), String> {
    GemVersion::parse(version).map_err(|e| e.to_string())?;
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    if !platform
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        || !platform.bytes().all(plain)
    {
        return Err(format!("`{platform}` is not a gem platform"));
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<InfoLine, String> {
    let (version_and_platform, rest) = line.split_once(' ').unwrap_or((line, ""));
    let (version, platform) = version_and_platform
        .split_once('-')
        .unwrap_or((version_and_platform, "ruby"));
    check_file_parts(version, platform)?;
    let (deps, meta) = rest.split_once('|').unwrap_or((rest, ""));
    let requirement = |text: &str| parse_requirement(text).map_err(|e| e.to_string());
    let mut dependencies = Vec::new();
    for dep in deps.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (name, req) = dep
            .split_once(':')
            .ok_or_else(|| format!("the dependency `{dep}` has no requirement"))?;
        check_name(name)?;
        dependencies.push((name.to_owned(), requirement(req)?));
    }
    let mut out = InfoLine {
        version: version.to_owned(),
        platform: platform.to_owned(),
        dependencies,
        sha256: None,
        ruby: Requirement::default(),
        rubygems: Requirement::default(),
    };
    for field in meta.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let Some((key, value)) = field.split_once(':') else {
            continue;
        };
        match key {
            "checksum" => {
                if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("the checksum `{value}` is not a sha256"));
                }
                out.sha256 = Some(value.to_ascii_lowercase());
            }
            "ruby" => out.ruby = requirement(value)?,
            "rubygems" => out.rubygems = requirement(value)?,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_bundler_reads_them() {
        let sum = "ab".repeat(32);
        let body = format!(
            "---\n\
             1.0.0 |checksum:{sum}\n\
             1.3.0 oppchain-c:>= 1&< 2,rack:>= 0|checksum:{sum},ruby:>= 2.5&< 4,rubygems:> 1.3.1\n\
             1.5.0-x86_64-linux |checksum:{sum}\n\
             2.0.0.rc1 json:~> 2.0\n\
             bad line:x|checksum:{sum}\n\
             3.0 |checksum:nothex\n\
             1.0-x86_64/../../x |checksum:{sum}\n\
             ../1.0 |checksum:{sum}\n\
             1.1 ../../evil:>= 0|checksum:{sum}\n"
        );
        let (lines, invalid) = parse(&body);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert_eq!(lines[0].file_name("c"), "c-1.0.0.gem");
        assert_eq!(lines[0].sha256.as_deref(), Some(sum.as_str()));
        assert_eq!(lines[1].dependencies.len(), 2);
        assert_eq!(lines[1].dependencies[0].0, "oppchain-c");
        assert_eq!(lines[1].dependencies[0].1.to_string(), ">= 1, < 2");
        assert_eq!(lines[1].ruby.to_string(), ">= 2.5, < 4");
        assert_eq!(lines[1].rubygems.to_string(), "> 1.3.1");
        assert_eq!(lines[2].platform, "x86_64-linux");
        assert_eq!(lines[2].file_name("c"), "c-1.5.0-x86_64-linux.gem");
        assert_eq!(lines[3].sha256, None);
        assert_eq!(invalid.len(), 5, "{invalid:?}");
        assert!(invalid[1].contains("is not a sha256"), "{invalid:?}");
    }
}

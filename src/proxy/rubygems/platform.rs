//! `Gem::Platform.new(string)` in Rust: how RubyGems 3.x splits a platform name such as
//! `x86_64-linux` or `arm64-darwin-21` into cpu, os and version, so that a native gem's
//! specification can carry the `Gem::Platform` object RubyGems itself would. Pure; what
//! the parts are written as is `marshal.rs`'s business.

/// `Gem::Platform.new(text)`'s `[cpu, os, version]`, as RubyGems 3.x parses a platform string.
pub fn platform_parts(text: &str) -> (Option<String>, String, Option<String>) {
    let mut parts: Vec<String> = text.split('-').map(str::to_owned).collect();
    // Reassemble x86-linux-gnu.
    if parts.len() > 2
        && !parts
            .last()
            .is_some_and(|p| p.bytes().any(|c| c.is_ascii_digit()))
        && let Some(extra) = parts.pop()
        && let Some(last) = parts.last_mut()
    {
        last.push('-');
        last.push_str(&extra);
    }
    let first = if parts.is_empty() {
        String::new()
    } else {
        parts.remove(0)
    };
    let is_i86 = first.len() == 4
        && first.starts_with('i')
        && first.ends_with("86")
        && first.as_bytes()[1].is_ascii_digit();
    let mut cpu = Some(if is_i86 {
        "x86".to_owned()
    } else {
        first.clone()
    });
    let is_number = |s: &str| {
        let mut pieces = s.splitn(2, '.');
        let whole = pieces.next().unwrap_or_default();
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
        digits(whole) && pieces.next().is_none_or(digits)
    };
    if parts.len() == 2 && is_number(&parts[1]) {
        return (cpu, parts[0].clone(), Some(parts[1].clone()));
    }
    let os = match parts.first() {
        Some(os) => os.clone(),
        // Legacy jruby: `java`.
        None => {
            cpu = None;
            first
        }
    };
    let (os, version) = os_and_version(&os, &mut cpu);
    (cpu, os, version)
}

/// The `case os` of `Gem::Platform#initialize` (first match wins, as there).
fn os_and_version(os: &str, cpu: &mut Option<String>) -> (String, Option<String>) {
    let digits_after = |prefix: &str| -> Option<Option<String>> {
        let at = os.find(prefix)?;
        let rest = &os[at + prefix.len()..];
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((!n.is_empty()).then_some(n))
    };
    let dotted_after = |prefix: &str| -> Option<Option<String>> {
        let at = os.find(prefix)?;
        let rest = &os[at + prefix.len()..];
        let (major, tail) = rest.split_at(
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len()),
        );
        let minor: String = tail
            .strip_prefix('.')
            .map(|t| t.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        Some((!major.is_empty() && !minor.is_empty()).then(|| format!("{major}.{minor}")))
    };
    let named = |name: &str, version: Option<String>| (name.to_owned(), version);
    for (prefix, name) in [("aix", "aix")] {
        if let Some(v) = digits_after(prefix) {
            return named(name, v);
        }
    }
    if os.contains("cygwin") {
        return named("cygwin", None);
    }
    if let Some(v) = digits_after("darwin") {
        return named("darwin", v);
    }
    if os == "macruby" {
        return named("macruby", None);
    }
    for prefix in ["freebsd", "hpux"] {
        if let Some(v) = digits_after(prefix) {
            return named(prefix, v);
        }
    }
    if os == "java" || os == "jruby" {
        return named("java", None);
    }
    if let Some(rest) = os.strip_prefix("java") {
        let v: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        return named("java", Some(v));
    }
    if let Some(rest) = os.strip_prefix("dalvik")
        && rest.bytes().all(|c| c.is_ascii_digit())
    {
        return named("dalvik", (!rest.is_empty()).then(|| rest.to_owned()));
    }
    if os == "dotnet" {
        return named("dotnet", None);
    }
    if let Some(rest) = os.strip_prefix("dotnet") {
        let v: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        return named("dotnet", Some(v));
    }
    if let Some(at) = os.find("linux") {
        let rest = os[at + 5..].strip_prefix('-').unwrap_or(&os[at + 5..]);
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let version = (!word.is_empty() && !word.starts_with("gnu")).then_some(word);
        return named("linux", version);
    }
    if os.contains("mingw32") {
        return named("mingw32", None);
    }
    if let Some(at) = os.find("mingw") {
        let rest = os[at + 5..].strip_prefix('-').unwrap_or(&os[at + 5..]);
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        return named("mingw", (!word.is_empty()).then_some(word));
    }
    if let Some(at) = os.find("mswin") {
        let rest = &os[at + 5..];
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !n.is_empty() {
            let name = format!("mswin{n}");
            let after = &rest[n.len()..];
            let version = after
                .strip_prefix('_')
                .map(|v| {
                    v.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                })
                .filter(|v| !v.is_empty());
            if cpu.is_none() && name.ends_with("32") {
                *cpu = Some("x86".to_owned());
            }
            return (name, version);
        }
    }
    if os.contains("netbsdelf") {
        return named("netbsdelf", None);
    }
    for prefix in ["openbsd", "bitrig", "solaris"] {
        if let Some(v) = dotted_after(prefix) {
            return named(prefix, v);
        }
    }
    named("unknown", None)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    #[test]
    fn platforms_are_parsed_as_gem_platform_new_parses_them() {
        let cases = [
            "x86_64-linux",
            "x86_64-linux-gnu",
            "x86_64-linux-musl",
            "aarch64-linux",
            "arm64-darwin-21",
            "arm64-darwin",
            "x86-mingw32",
            "x64-mingw-ucrt",
            "i686-linux",
            "java",
            "universal-java-11",
            "x86-mswin32_60",
            "sparc-solaris2.8",
            "x86_64-openbsd3.9",
            "wasm32-wasi",
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let list = dir.path().join("platforms");
        std::fs::write(&list, cases.join("\n")).expect("write");
        let out = Command::new("ruby")
            .args([
                "-e",
                "File.read(ARGV[0]).split(\"\\n\").each { |t| p Gem::Platform.new(t).to_a }",
            ])
            .arg(&list)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run ruby ({e}): run `scripts/install-test-deps.sh ruby`")
            });
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = String::from_utf8_lossy(&out.stdout);
        let ours: String = cases
            .iter()
            .map(|t| {
                let (cpu, os, version) = platform_parts(t);
                let show = |v: Option<String>| v.map_or("nil".to_owned(), |v| format!("{v:?}"));
                format!("[{}, {os:?}, {}]\n", show(cpu), show(version))
            })
            .collect();
        assert_eq!(ours, expected);
    }
}

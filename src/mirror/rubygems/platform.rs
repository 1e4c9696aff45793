//! Which gem files serve a target platform, as RubyGems' `Gem::Platform#===` decides (the
//! RubyGems 3.3 rules: cpu equal, or either side `universal` or absent, or `arm` for any
//! `arm*`; os equal; version equal or either side absent), with platform names split as
//! `Gem::Platform.new` splits them (`crate::proxy::rubygems::platform`). Pure.

use crate::proxy::rubygems::platform::platform_parts;

/// Whether a gem built for `gem` runs on `target` (both platform names, `ruby` never
/// matching a native target).
pub fn matches(target: &str, gem: &str) -> bool {
    if target == gem {
        return true;
    }
    if target == "ruby" || gem == "ruby" {
        return false;
    }
    let (t_cpu, t_os, t_version) = platform_parts(target);
    let (g_cpu, g_os, g_version) = platform_parts(gem);
    let loose = |c: &Option<String>| c.as_deref().is_none_or(|c| c == "universal");
    if (loose(&t_cpu) || loose(&g_cpu)) && t_os.starts_with("mingw") && g_os.starts_with("mingw") {
        return true;
    }
    let cpu = loose(&t_cpu)
        || loose(&g_cpu)
        || t_cpu == g_cpu
        || (g_cpu.as_deref() == Some("arm")
            && t_cpu.as_deref().is_some_and(|c| c.starts_with("arm")));
    let version = t_version.is_none() || g_version.is_none() || t_version == g_version;
    cpu && t_os == g_os && version
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_gems_match_the_platforms_rubygems_installs_them_on() {
        let cases = [
            ("x86_64-linux", "x86_64-linux", true),
            ("x86_64-linux", "x86_64-linux-gnu", true),
            ("x86_64-linux", "universal-linux", true),
            ("x86_64-linux", "aarch64-linux", false),
            ("x86_64-linux", "x86_64-darwin", false),
            ("x86_64-linux", "ruby", false),
            ("arm64-darwin-23", "arm64-darwin", true),
            ("arm64-darwin", "arm64-darwin-21", true),
            ("arm64-darwin-22", "arm64-darwin-21", false),
            ("x64-mingw-ucrt", "x64-mingw-ucrt", true),
            ("x64-mingw-ucrt", "x64-mingw32", false),
            ("java", "universal-java-11", true),
            ("ruby", "ruby", true),
        ];
        let wrong: Vec<_> = cases
            .iter()
            .filter(|(t, g, want)| matches(t, g) != *want)
            .collect();
        assert!(wrong.is_empty(), "{wrong:?}");
    }
}

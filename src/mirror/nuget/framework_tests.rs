//! Tables of NuGet.Frameworks' answers (its `FrameworkReducerTests`, `CompatibilityTests` and
//! `NuGetFrameworkParseTests` cases for these families), each table reporting every failing
//! row at once.

use super::*;

fn tfm(s: &str) -> Tfm {
    match Framework::parse(s) {
        Framework::Specific(t) => t,
        other => panic!("{s} parsed as {other:?}"),
    }
}

/// Runs `check` on every row; fails listing every row that did not hold.
fn table<T: fmt::Debug>(rows: &[T], check: impl Fn(&T) -> Result<(), String>) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| check(row).err().map(|why| format!("{row:?}: {why}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// (text, family, version, platform, short name).
type ParseRow = (
    &'static str,
    Family,
    Version,
    Option<(&'static str, Version)>,
    &'static str,
);

#[test]
fn framework_names_parse_as_nuget_reads_them() {
    use Family::*;
    let rows: &[ParseRow] = &[
        ("net48", NetFramework, [4, 8, 0, 0], None, "net48"),
        ("net472", NetFramework, [4, 7, 2, 0], None, "net472"),
        ("net4.8", NetFramework, [4, 8, 0, 0], None, "net48"),
        ("NET461", NetFramework, [4, 6, 1, 0], None, "net461"),
        (
            ".NETFramework4.8",
            NetFramework,
            [4, 8, 0, 0],
            None,
            "net48",
        ),
        (
            ".NETFramework4.7.2",
            NetFramework,
            [4, 7, 2, 0],
            None,
            "net472",
        ),
        (
            ".NETFramework,Version=v4.7.2",
            NetFramework,
            [4, 7, 2, 0],
            None,
            "net472",
        ),
        (
            ".NETFramework,Version=v4.0,Profile=Client",
            NetFramework,
            [4, 0, 0, 0],
            None,
            "net40",
        ),
        ("net40-client", NetFramework, [4, 0, 0, 0], None, "net40"),
        ("net8.0", NetCoreApp, [8, 0, 0, 0], None, "net8.0"),
        ("net5.0", NetCoreApp, [5, 0, 0, 0], None, "net5.0"),
        ("net10.0", NetCoreApp, [10, 0, 0, 0], None, "net10.0"),
        (
            "netcoreapp3.1",
            NetCoreApp,
            [3, 1, 0, 0],
            None,
            "netcoreapp3.1",
        ),
        (
            ".NETCoreApp3.1",
            NetCoreApp,
            [3, 1, 0, 0],
            None,
            "netcoreapp3.1",
        ),
        (
            ".NETCoreApp,Version=v2.1",
            NetCoreApp,
            [2, 1, 0, 0],
            None,
            "netcoreapp2.1",
        ),
        (
            "netstandard2.0",
            NetStandard,
            [2, 0, 0, 0],
            None,
            "netstandard2.0",
        ),
        (
            ".NETStandard2.1",
            NetStandard,
            [2, 1, 0, 0],
            None,
            "netstandard2.1",
        ),
        (
            "netstandard1.3",
            NetStandard,
            [1, 3, 0, 0],
            None,
            "netstandard1.3",
        ),
        (
            "netstandard20",
            NetStandard,
            [2, 0, 0, 0],
            None,
            "netstandard2.0",
        ),
        (
            "net6.0-windows7.0",
            NetCoreApp,
            [6, 0, 0, 0],
            Some(("windows", [7, 0, 0, 0])),
            "net6.0-windows7.0",
        ),
        (
            "net8.0-android",
            NetCoreApp,
            [8, 0, 0, 0],
            Some(("android", EMPTY)),
            "net8.0-android",
        ),
    ];
    table(rows, |(text, family, version, platform, shown)| {
        let got = match Framework::parse(text) {
            Framework::Specific(t) => t,
            other => return Err(format!("parsed as {other:?}")),
        };
        let want = Tfm {
            family: *family,
            version: *version,
            platform: platform.map(|(p, v)| (p.to_owned(), v)),
        };
        if got != want {
            return Err(format!("got {got:?}"));
        }
        if got.to_string() != *shown {
            return Err(format!("shown as {got}"));
        }
        Ok(())
    });
}

#[test]
fn groups_without_a_framework_or_with_unknown_ones_parse_as_any_or_unsupported() {
    let rows: &[(&str, Framework)] = &[
        ("", Framework::Any),
        ("  ", Framework::Any),
        ("any", Framework::Any),
        (
            "xamarinios10",
            Framework::Unsupported("xamarinios10".into()),
        ),
        ("uap10.0", Framework::Unsupported("uap10.0".into())),
        ("netcore45", Framework::Unsupported("netcore45".into())),
        ("net4x", Framework::Unsupported("net4x".into())),
        (
            "net4.8.0.0.1",
            Framework::Unsupported("net4.8.0.0.1".into()),
        ),
        ("net48-cf", Framework::Unsupported("net48-cf".into())),
        (
            "portable-Profile259",
            Framework::Unsupported("portable-Profile259".into()),
        ),
        (
            "portable-net45+win8",
            Framework::Portable(vec![Some(tfm("net45")), None]),
        ),
    ];
    table(rows, |(text, want)| {
        let got = Framework::parse(text);
        if &got == want {
            Ok(())
        } else {
            Err(format!("got {got:?}"))
        }
    });
}

#[test]
fn targets_a_user_gives_are_refused_when_opp_has_no_rules_for_them() {
    let rows: &[(&str, &str)] = &[
        ("net8.0-windows", "platform-specific"),
        ("portable-net45+win8", "portable profile"),
        ("xamarinios10", "not a target framework opp knows"),
        ("", "not a target framework opp knows"),
    ];
    table(rows, |(text, says)| match Tfm::parse_target(text) {
        Ok(t) => Err(format!("accepted as {t}")),
        Err(e)
            if e.to_string().contains(says)
                && e.to_string().contains(&format!("`{}`", text.trim())) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("said {e}")),
    });
}

#[test]
fn compatibility_follows_nugets_mappings() {
    // (project, package framework, compatible)
    let rows: &[(&str, &str, bool)] = &[
        ("net48", "net45", true),
        ("net48", "net48", true),
        ("net45", "net48", false),
        ("net48", "netstandard2.0", true),
        ("net461", "netstandard2.0", true),
        ("net46", "netstandard2.0", false),
        ("net46", "netstandard1.3", true),
        ("net451", "netstandard1.2", true),
        ("net451", "netstandard1.3", false),
        ("net45", "netstandard1.1", true),
        ("net40", "netstandard1.0", false),
        ("net48", "netstandard2.1", false),
        ("net8.0", "netstandard2.1", true),
        ("net8.0", "net6.0", true),
        ("net6.0", "net8.0", false),
        ("net8.0", "netcoreapp3.1", true),
        ("net8.0", "net48", false),
        ("netcoreapp3.1", "netstandard2.1", true),
        ("netcoreapp2.1", "netstandard2.1", false),
        ("netcoreapp2.1", "netstandard2.0", true),
        ("netcoreapp1.1", "netstandard1.7", true),
        ("netcoreapp1.0", "netstandard1.6", true),
        ("netcoreapp1.0", "netstandard2.0", false),
        ("netstandard2.0", "netstandard1.6", true),
        ("netstandard2.0", "netstandard2.1", false),
        ("netstandard2.1", "net48", false),
        ("net8.0", "net6.0-windows", false),
        ("net8.0-windows7.0", "net6.0-windows", true),
        ("net8.0-windows7.0", "net6.0-windows10.0", false),
        ("net8.0-windows7.0", "net8.0", true),
        ("net48", "net", true),
    ];
    table(rows, |(project, package, want)| {
        let got = tfm(project).supports(&tfm(package));
        if got == *want {
            Ok(())
        } else {
            Err(format!("got {got}"))
        }
    });
}

#[test]
fn the_nearest_group_is_the_one_nuget_chooses() {
    // (project, the package's groups, the group NuGet picks, or "" for none)
    let rows: &[(&str, &[&str], &str)] = &[
        ("net48", &["net45", "netstandard2.0"], "net45"),
        (
            "net48",
            &["netstandard2.0", "netstandard1.3"],
            "netstandard2.0",
        ),
        ("net461", &["netstandard2.0", ""], "netstandard2.0"),
        (
            "net46",
            &["netstandard2.0", "netstandard1.3"],
            "netstandard1.3",
        ),
        ("net45", &["netstandard2.0"], ""),
        ("net45", &["netstandard2.0", ""], "any"),
        ("net48", &[""], "any"),
        ("net8.0", &["net6.0", "netstandard2.0", "net48"], "net6.0"),
        (
            "net8.0",
            &["netcoreapp3.1", "netstandard2.1"],
            "netcoreapp3.1",
        ),
        (
            "net8.0",
            &["netcoreapp2.0", "netstandard2.1"],
            "netcoreapp2.0",
        ),
        ("net8.0", &["net8.0", "net6.0", ""], "net8.0"),
        ("net6.0", &["net8.0", "netstandard2.0"], "netstandard2.0"),
        (
            "netcoreapp3.1",
            &["net5.0", "netstandard2.1"],
            "netstandard2.1",
        ),
        (
            "netcoreapp2.1",
            &["netstandard2.1", "netstandard2.0"],
            "netstandard2.0",
        ),
        ("netstandard2.0", &["netstandard2.1", "net48"], ""),
        ("netstandard2.0", &[".NETStandard2.0", ""], "netstandard2.0"),
        ("net472", &[".NETFramework4.7.2", "net471"], "net472"),
        ("net48", &["net40-client", "net35"], "net40"),
        ("net40", &["net45"], ""),
        ("net8.0", &["net8.0-windows7.0", "net6.0"], "net6.0"),
        (
            "net48",
            &["portable-net45+win8", "netstandard2.0"],
            "netstandard2.0",
        ),
        (
            "net48",
            &["portable-net45+win8+wpa81"],
            "portable-net45+?+?",
        ),
        ("net40", &["portable-net45+win8+wpa81"], ""),
        ("net8.0", &["xamarinios10", "monoandroid10"], ""),
        ("net8.0", &["xamarinios10", ""], "any"),
        ("net8.0", &[], ""),
    ];
    table(rows, |(project, groups, want)| {
        let candidates: Vec<Framework> = groups.iter().map(|g| Framework::parse(g)).collect();
        let got = nearest(&tfm(project), &candidates)
            .map(|i| candidates[i].to_string())
            .unwrap_or_default();
        if got == *want {
            Ok(())
        } else {
            Err(format!("got `{got}`"))
        }
    });
}

//! Reading and completing the child's command line for nuget.exe. mono's nuget.exe has no
//! variable naming a config file, and merges every `NuGet.Config` from the working directory
//! upward above the user config the proxy hands it: only `-ConfigFile` makes the proxy its
//! only source. So for the commands that take it, and when the user did not pass one, the
//! proxy appends `-ConfigFile <its NuGet.Config>`. dotnet needs none of this (MSBuild's
//! `RestoreConfigFile` variable does the same).

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// nuget.exe commands that take `-ConfigFile` (`nuget help COMMAND`, NuGet.exe 5.8); others
/// (`search`, `pack`, `spec`, `help` ...) refuse unknown options, so they are left alone and
/// read the user config the proxy hands them.
const TAKE_CONFIG_FILE: [&str; 11] = [
    "install",
    "restore",
    "update",
    "push",
    "delete",
    "list",
    "sources",
    "locals",
    "config",
    "setapikey",
    "add",
];

fn named_nuget(arg: &OsStr) -> bool {
    Path::new(arg).file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .starts_with("nuget")
    })
}

/// Where nuget.exe's own arguments start in `command`: after the program when it is named
/// `nuget…` (`nuget`, `nuget.exe`, `NuGet.exe`, a `nuget5` wrapper), or after mono's first
/// non-option argument when that is. `None` when the command does not run nuget.exe.
fn nuget_args_start(command: &[OsString]) -> Option<usize> {
    let (program, args) = command.split_first()?;
    if named_nuget(program) {
        return Some(1);
    }
    let is_mono = Path::new(program)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("mono"));
    if !is_mono {
        return None;
    }
    let (i, exe) = args
        .iter()
        .enumerate()
        .find(|(_, a)| !a.to_string_lossy().starts_with('-'))?;
    named_nuget(exe).then_some(i + 2)
}

/// Whether `command` runs nuget.exe (under mono).
pub fn runs_nuget_exe(command: &[OsString]) -> bool {
    nuget_args_start(command).is_some()
}

/// `command` with `-ConfigFile config` appended, when it runs a nuget.exe command that takes
/// it and names no config file of its own; `None` otherwise.
pub fn with_config_file(command: &[OsString], config: &Path) -> Option<Vec<OsString>> {
    let start = nuget_args_start(command)?;
    let args = &command[start..];
    let subcommand = args.first()?.to_string_lossy().to_ascii_lowercase();
    if !TAKE_CONFIG_FILE.contains(&subcommand.as_str()) {
        return None;
    }
    let has_own = args.iter().any(|a| {
        let a = a.to_string_lossy().to_ascii_lowercase();
        matches!(a.as_str(), "-configfile" | "--configfile" | "/configfile")
    });
    if has_own {
        return None;
    }
    let mut completed = command.to_vec();
    completed.push("-ConfigFile".into());
    completed.push(config.as_os_str().to_owned());
    Some(completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn nuget_exe_is_recognised_directly_or_under_mono() {
        for yes in [
            &["nuget5", "install", "X"][..],
            &["/usr/bin/nuget", "push"],
            &["NuGet.exe", "search"],
            &["mono", "/opt/nuget/nuget-5.8.0.exe", "install"],
            &["/usr/bin/mono", "--debug", "NuGet.exe"],
        ] {
            assert!(runs_nuget_exe(&argv(yes)), "{yes:?}");
        }
        for no in [
            &[][..],
            &["dotnet", "restore"],
            &["sh", "-c", "nuget install X"],
            &["mono", "other.exe", "nuget.exe"],
        ] {
            assert!(!runs_nuget_exe(&argv(no)), "{no:?}");
        }
    }

    #[test]
    fn config_file_is_appended_to_commands_that_take_it_and_name_none() {
        let config = Path::new("/tmp/p/NuGet.Config");
        let with = |args: &[&str]| with_config_file(&argv(args), config);
        assert_eq!(
            with(&["nuget5", "install", "X", "-Version", "1.0"]),
            Some(argv(&[
                "nuget5",
                "install",
                "X",
                "-Version",
                "1.0",
                "-ConfigFile",
                "/tmp/p/NuGet.Config"
            ]))
        );
        assert_eq!(
            with(&["mono", "--debug", "nuget.exe", "Install", "x"]).map(|a| a.len()),
            Some(7)
        );
        for left_alone in [
            &["nuget5", "install", "X", "-configfile", "mine.config"][..],
            &["nuget5", "pack", "x.nuspec"],
            &["nuget5", "search", "x"],
            &["nuget5", "help"],
            &["nuget5"],
            &["dotnet", "restore"],
            &["sh", "-c", "nuget install X"],
        ] {
            assert_eq!(with(left_alone), None, "{left_alone:?}");
        }
    }
}

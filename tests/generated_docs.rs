//! The shell completions in `completions/` and the man pages in `man/` are generated from
//! the CLI; these tests fail when they drift. Regenerate with `scripts/generate-docs.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

use std::path::Path;
use std::process::Command;

const SHELLS: [(&str, &str); 5] = [
    ("bash", "opp.bash"),
    ("zsh", "_opp"),
    ("fish", "opp.fish"),
    ("powershell", "_opp.ps1"),
    ("elvish", "opp.elv"),
];

fn opp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_opp"))
}

#[test]
fn committed_completions_match_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, file) in SHELLS {
        let out = opp()
            .args(["completions", shell])
            .output()
            .expect("run opp completions");
        assert!(out.status.success(), "opp completions {shell} failed");
        let committed = std::fs::read(root.join("completions").join(file))
            .unwrap_or_else(|e| panic!("completions/{file}: {e}; run scripts/generate-docs.sh"));
        assert!(
            committed == out.stdout,
            "completions/{file} differs from `opp completions {shell}`: run scripts/generate-docs.sh"
        );
    }
}

#[test]
fn committed_man_pages_match_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = opp()
        .arg("man")
        .arg(tmp.path())
        .output()
        .expect("run opp man");
    assert!(
        out.status.success(),
        "opp man failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut generated: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    let mut committed: Vec<String> = std::fs::read_dir(root.join("man"))
        .expect("man/ exists; run scripts/generate-docs.sh")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    assert_eq!(
        committed, generated,
        "man/ holds other pages than `opp man` writes: run scripts/generate-docs.sh"
    );
    for page in generated {
        let a = std::fs::read(tmp.path().join(&page)).unwrap();
        let b = std::fs::read(root.join("man").join(&page)).unwrap();
        assert!(
            a == b,
            "man/{page} is out of date: run scripts/generate-docs.sh"
        );
    }
}

#[test]
fn bash_completion_is_valid_bash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("bash")
        .arg("-n")
        .arg(root.join("completions/opp.bash"))
        .status()
        .expect("run bash -n");
    assert!(status.success(), "completions/opp.bash does not parse");
}

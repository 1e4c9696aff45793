//! Running the built `opp` binary and the real clients (pip, python) the way a user would, but
//! sealed off from the machine: each [`Env`] has its own HOME, XDG directories, Docker config
//! and opp store in a temporary directory, and none of the outer OPP_*, REGISTRY_*, PIP_* or CA
//! variables. It does not start registries (`registry.rs`) or make package files
//! (`fixtures.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// CA settings the machine may point at the system bundle; a test that needs one sets it.
const CA_VARS: [&str; 4] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
];

/// An isolated user: a temporary directory, removed on drop, holding
/// `home/`, `config/` (XDG_CONFIG_HOME), `data/` (XDG_DATA_HOME), `cache/` (XDG_CACHE_HOME),
/// `docker/` (DOCKER_CONFIG, empty) and the opp store path `store/` (OPP_STORE, not created:
/// opp makes it).
pub struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("opp-test-env.")
            .tempdir()
            .expect("temp dir for a test environment");
        for sub in ["home", "config", "data", "cache", "docker"] {
            std::fs::create_dir(dir.path().join(sub)).expect("create a test environment directory");
        }
        Env { dir }
    }

    /// The temporary directory; commands run here unless told otherwise.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    pub fn config_home(&self) -> PathBuf {
        self.root().join("config")
    }

    pub fn data_home(&self) -> PathBuf {
        self.root().join("data")
    }

    pub fn cache_home(&self) -> PathBuf {
        self.root().join("cache")
    }

    pub fn docker_config(&self) -> PathBuf {
        self.root().join("docker")
    }

    /// What OPP_STORE points at.
    pub fn store(&self) -> PathBuf {
        self.root().join("store")
    }

    /// The built `opp` binary with this environment, `NO_COLOR=1`, and no outer OPP_* or
    /// REGISTRY_* variables.
    pub fn opp(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_opp"));
        self.isolate(&mut cmd, &["OPP_", "REGISTRY_"]);
        cmd.env("OPP_STORE", self.store()).env("NO_COLOR", "1");
        cmd
    }

    /// The test venv's pip with this environment, no outer PIP_* variables, no pip config
    /// files, no version check and no prompts.
    pub fn pip(&self) -> Command {
        let mut cmd = Command::new(super::tool("pip"));
        self.isolate(&mut cmd, &["PIP_", "PYTHON"]);
        cmd.env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1");
        cmd
    }

    /// Installs `project` with the real pip from the files in `dir` alone (`--no-index
    /// --find-links`) into a fresh target, then imports `module` there and returns its
    /// `__version__`.
    pub fn pip_install_and_import(&self, dir: &Path, project: &str, module: &str) -> String {
        let site = self.root().join(format!("site-{project}"));
        run_ok(
            self.pip()
                .args(["install", "--no-index", "--find-links"])
                .arg(dir)
                .arg("--target")
                .arg(&site)
                .arg(project),
        );
        let imported = run_ok(
            self.python()
                .arg("-c")
                .arg(format!("import {module}; print({module}.__version__)"))
                .env("PYTHONPATH", &site),
        );
        stdout(&imported).trim().to_owned()
    }

    /// The test venv's python with this environment and no outer PYTHON* variables.
    pub fn python(&self) -> Command {
        let mut cmd = Command::new(super::tool("python"));
        self.isolate(&mut cmd, &["PYTHON"]);
        cmd
    }

    /// Points the user directories into this environment, removes the CA variables and every
    /// outer variable starting with one of `prefixes`, keeps loopback off any proxy, and runs
    /// in [`Env::root`].
    pub fn isolate(&self, cmd: &mut Command, prefixes: &[&str]) {
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if prefixes.iter().any(|p| name.starts_with(p)) || CA_VARS.contains(&&*name) {
                cmd.env_remove(&key);
            }
        }
        for key in ["NO_PROXY", "no_proxy"] {
            let mut value = OsString::from("127.0.0.1,localhost,::1");
            if let Some(outer) = std::env::var_os(key).filter(|v| !v.is_empty()) {
                value.push(",");
                value.push(outer);
            }
            cmd.env(key, value);
        }
        cmd.current_dir(self.root())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("XDG_DATA_HOME", self.data_home())
            .env("XDG_CACHE_HOME", self.cache_home())
            .env("DOCKER_CONFIG", self.docker_config());
    }
}

impl Default for Env {
    fn default() -> Env {
        Env::new()
    }
}

/// Runs `cmd` and returns its output; panics with the command, exit status, stdout and stderr
/// when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    if !out.status.success() {
        panic!("command failed: {}", describe(cmd, &out));
    }
    out
}

/// Runs `cmd` and returns its output; panics with the command and its output when it
/// succeeds.
pub fn run_fail(cmd: &mut Command) -> Output {
    let out = run(cmd);
    if out.status.success() {
        panic!(
            "command succeeded but should have failed: {}",
            describe(cmd, &out)
        );
    }
    out
}

/// One result of `opp mirror --json`: the file, its status (`added`, `skipped`, `failed`,
/// `planned`) and the reason given ("" when none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MirrorRow {
    pub file: String,
    pub status: String,
    pub reason: String,
}

/// The results of `opp mirror --json` on stdout, sorted by file.
pub fn mirror_rows(out: &Output) -> Vec<MirrorRow> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--json output is not JSON ({e}): {}", stdout(out)));
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut rows: Vec<MirrorRow> = json
        .as_array()
        .unwrap_or_else(|| panic!("--json output is not a list: {}", stdout(out)))
        .iter()
        .map(|r| MirrorRow {
            file: text(&r["file"]),
            status: text(&r["status"]),
            reason: text(&r["reason"]),
        })
        .collect();
    rows.sort();
    rows
}

/// The files of `opp mirror --json` results with `status`, sorted.
pub fn files_with_status(out: &Output, status: &str) -> Vec<String> {
    mirror_rows(out)
        .into_iter()
        .filter(|r| r.status == status)
        .map(|r| r.file)
        .collect()
}

/// Waits for `child` at most `limit`: `Ok` with its output when it ended by itself, `Err` with
/// what it wrote before it was killed when it did not (a test's watchdog on a command that
/// must not hang).
pub fn wait_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> Result<Output, Output> {
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().expect("poll the child").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err(child.wait_with_output().expect("reap the child"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(child.wait_with_output().expect("read the child's output"))
}

/// Runs `cmd` (program, arguments, environment, directory) with its stdin, stdout and stderr
/// on a pseudo-terminal, as a person at a terminal runs it (Python's `pty` module), and returns
/// its output: everything it wrote to the terminal, in `stdout`.
pub fn on_a_terminal(cmd: &Command) -> Output {
    const SPAWN: &str = "import os, pty, sys\n\
                         sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";
    let mut py = Command::new(super::tool("python3"));
    py.arg("-c").arg(SPAWN);
    let mut py = wrapped(py, cmd);
    py.stdin(std::process::Stdio::null());
    run(&mut py)
}

/// `launcher` (a program and its own arguments) running `cmd`: `cmd`'s program and arguments
/// follow the launcher's, with `cmd`'s environment and directory.
pub fn wrapped(mut launcher: Command, cmd: &Command) -> Command {
    launcher.arg(cmd.get_program()).args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => launcher.env(key, v),
            None => launcher.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        launcher.current_dir(dir);
    }
    launcher
}

/// Stdout as text (lossy), for assertions.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as text (lossy), for assertions.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))
}

fn describe(cmd: &Command, out: &Output) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    format!(
        "{line}\n  in: {}\n  {}\n--- stdout ---\n{}--- stderr ---\n{}",
        cmd.get_current_dir()
            .map_or_else(|| ".".into(), |d| d.display().to_string()),
        out.status,
        stdout(out),
        stderr(out)
    )
}

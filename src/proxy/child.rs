//! Running the command given after `opp proxy --`: start it with the proxy's environment and
//! the terminal's stdin, stdout and stderr, pass on the signals meant for it, and report its
//! exit status the way a shell does (its code, or 128 + the signal that killed it).
//!
//! SIGTERM and SIGHUP are always forwarded. SIGINT is forwarded unless it came from the
//! terminal: Ctrl-C reaches the whole foreground process group, the child included, and a
//! second copy would make tools such as terraform abandon their graceful stop. It is not this
//! module's job to build the environment (`commands/proxy.rs` and the frontends do) or to
//! clean up the temporary directory (its owner does, after [`run`] returns).
//!
//! On Windows there are no signals to forward: Ctrl-C and Ctrl-Break reach every process of
//! the console, the child included, so opp only holds them (to clean up after the child) and
//! reports the child's exit code as it is.

use std::ffi::OsString;
use std::process::{Command, ExitStatus};

/// Exit status of a command that could not be found, as shells report it.
pub const NOT_FOUND: u8 = 127;
/// Exit status of a command that was found but could not be executed.
pub const NOT_EXECUTABLE: u8 = 126;

#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("no command to run")]
    Empty,
    #[error("cannot run `{program}`: not found on PATH")]
    NotOnPath { program: String },
    #[error("cannot run `{program}`: no such file")]
    NoSuchFile { program: String },
    #[error("cannot run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("lost track of `{program}`")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen for signals")]
    Signals(#[source] std::io::Error),
}

impl ChildError {
    /// The status `opp` exits with: 127 for a missing command, 126 for one that cannot be
    /// executed, 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            ChildError::NotOnPath { .. } | ChildError::NoSuchFile { .. } => NOT_FOUND,
            ChildError::Spawn { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                NOT_EXECUTABLE
            }
            _ => 1,
        }
    }
}

/// The signals `opp proxy` handles itself instead of dying from them. Make these first thing,
/// so a signal that arrives while the proxy starts is held rather than lost or fatal.
#[cfg(unix)]
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

/// The console events `opp proxy` holds instead of dying from them (Windows).
#[cfg(windows)]
pub struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
}

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Interrupt,
    Terminate,
    Hangup,
}

#[cfg(unix)]
impl Signals {
    pub fn new() -> Result<Signals, ChildError> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind| signal(kind).map_err(ChildError::Signals);
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    /// The next signal.
    pub async fn recv(&mut self) -> Received {
        tokio::select! {
            _ = self.interrupt.recv() => Received::Interrupt,
            _ = self.terminate.recv() => Received::Terminate,
            _ = self.hangup.recv() => Received::Hangup,
        }
    }
}

#[cfg(windows)]
impl Signals {
    pub fn new() -> Result<Signals, ChildError> {
        use tokio::signal::windows;
        Ok(Signals {
            ctrl_c: windows::ctrl_c().map_err(ChildError::Signals)?,
            ctrl_break: windows::ctrl_break().map_err(ChildError::Signals)?,
            close: windows::ctrl_close().map_err(ChildError::Signals)?,
        })
    }

    /// The next console event.
    pub async fn recv(&mut self) -> Received {
        tokio::select! {
            _ = self.ctrl_c.recv() => Received::Interrupt,
            _ = self.ctrl_break.recv() => Received::Terminate,
            _ = self.close.recv() => Received::Hangup,
        }
    }
}

/// Runs `command` (program, then arguments) with `env` added to opp's environment, and
/// returns the status to exit with.
pub async fn run(
    command: &[OsString],
    env: &[(String, String)],
    signals: &mut Signals,
) -> Result<u8, ChildError> {
    let (program, args) = command.split_first().ok_or(ChildError::Empty)?;
    let name = program.to_string_lossy().into_owned();
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().map_err(|source| spawn_error(&name, source))?;
    let pid = child.id();
    tracing::debug!("started `{name}` as process {pid}");

    let mut waiting = tokio::task::spawn_blocking(move || child.wait());
    let status = loop {
        tokio::select! {
            waited = &mut waiting => {
                let waited = waited.map_err(|e| ChildError::Wait {
                    program: name.clone(),
                    source: std::io::Error::other(e),
                })?;
                break waited.map_err(|source| ChildError::Wait { program: name.clone(), source })?;
            }
            received = signals.recv() => forward(pid, received),
        }
    };
    Ok(exit_status(status))
}

fn spawn_error(program: &str, source: std::io::Error) -> ChildError {
    let program = program.to_owned();
    match source.kind() {
        std::io::ErrorKind::NotFound if program.contains('/') => ChildError::NoSuchFile { program },
        std::io::ErrorKind::NotFound => ChildError::NotOnPath { program },
        _ => ChildError::Spawn { program, source },
    }
}

/// Passes `received` on to the child, except a Ctrl-C the terminal already delivered to it.
#[cfg(unix)]
fn forward(pid: u32, received: Received) {
    use rustix::process::{Pid, Signal};
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    let sig = match received {
        Received::Interrupt if interrupt_came_from_terminal() => {
            tracing::debug!("SIGINT from the terminal: the child has it already");
            return;
        }
        Received::Interrupt => Signal::INT,
        Received::Terminate => Signal::TERM,
        Received::Hangup => Signal::HUP,
    };
    tracing::debug!("forwarding {sig:?} to process {}", pid.as_raw_nonzero());
    if let Err(e) = rustix::process::kill_process(pid, sig) {
        // The child has just exited: its status is on its way.
        tracing::debug!("cannot forward {sig:?}: {e}");
    }
}

/// Console events already reached the child: every process attached to the console gets them.
#[cfg(windows)]
fn forward(pid: u32, received: Received) {
    tracing::debug!("{received:?}: process {pid} has it from the console already");
}

/// Whether opp runs in its terminal's foreground process group: then a SIGINT is the
/// terminal's Ctrl-C, sent to the child (same group) as well.
#[cfg(unix)]
fn interrupt_came_from_terminal() -> bool {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    matches!(rustix::termios::tcgetpgrp(&tty), Ok(fg) if fg == rustix::process::getpgrp())
}

/// The child's code, or 128 + the signal that ended it, as shells report it.
#[cfg(unix)]
pub fn exit_status(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        // Codes are 0..=255 on Unix; the mask keeps the conversion total.
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(sig)) => (128 + (sig & 0x7f)) as u8,
        (None, None) => 1,
    }
}

/// The child's exit code (Windows has no signals); codes beyond 255 read as failure.
#[cfg(windows)]
pub fn exit_status(status: ExitStatus) -> u8 {
    match status.code() {
        Some(code) => u8::try_from(code).unwrap_or(1),
        None => 1,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn statuses_read_as_a_shell_reads_them() {
        assert_eq!(exit_status(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_status(ExitStatus::from_raw(15)), 143);
        assert_eq!(exit_status(ExitStatus::from_raw(2)), 130);
    }

    #[test]
    fn a_missing_command_is_127_and_named() {
        let err = spawn_error("nope-xyz", std::io::ErrorKind::NotFound.into());
        assert_eq!(err.exit_status(), 127);
        assert_eq!(err.to_string(), "cannot run `nope-xyz`: not found on PATH");
        let err = spawn_error("./script", std::io::ErrorKind::PermissionDenied.into());
        assert_eq!(err.exit_status(), 126);
    }
}

//! A real OCI registry (Debian's `docker-registry`, the distribution project) on a free
//! 127.0.0.1 port, in a temporary directory, stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`
    pub host: String,
}

/// Credentials for [`Registry::start_with_password`].
pub struct Basic<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

impl Registry {
    /// An anonymous registry.
    pub fn start() -> Registry {
        Registry::spawn(None)
    }

    /// A registry that requires HTTP basic auth (htpasswd, bcrypt).
    pub fn start_with_password(creds: Basic<'_>) -> Registry {
        Registry::spawn(Some(creds))
    }

    fn spawn(creds: Option<Basic<'_>>) -> Registry {
        let bin = super::tool("docker-registry");
        let dir = tempfile::tempdir().expect("temp dir for the registry");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {data}}}\n  delete: {{enabled: true}}\nhttp:\n  addr: {host}\n  secret: opp-test-secret\n",
            data = dir.path().join("data").display()
        );
        if let Some(c) = creds {
            let htpasswd = super::tool("htpasswd");
            let out = Command::new(htpasswd)
                .args(["-Bbn", c.user, c.password])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd: {{realm: opp-test, path: {}}}\n",
                file.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        let mut cmd = Command::new(bin);
        cmd.arg("serve").arg(&config_path);
        for (k, _) in std::env::vars() {
            if k.starts_with("REGISTRY_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut reg = Registry { child, dir, host };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "docker-registry exited during start ({status}); log:\n{}",
                    self.log()
                );
            }
            if std::net::TcpStream::connect(&self.host).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} within 15 s; log:\n{}",
            self.host,
            self.log()
        );
    }

    /// The registry's log so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Every request the registry answered so far, oldest first, as `METHOD PATH` (e.g.
    /// `GET /v2/pypi/six/tags/list`): the access log docker-registry writes beside its log.
    /// Waits until the log has stopped growing for a moment, as a line is written just after
    /// its response.
    pub fn requests(&self) -> Vec<String> {
        let mut last = usize::MAX;
        loop {
            let log = self.log();
            if log.len() == last {
                return log.lines().filter_map(access_line).collect();
            }
            last = log.len();
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Where the registry keeps its data.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `METHOD PATH` of an access log line (`127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 ...`).
fn access_line(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("] \"")?;
    let mut words = rest.split(' ');
    let method = words.next()?;
    let path = words.next()?;
    Some(format!("{method} {path}"))
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}

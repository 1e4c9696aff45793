//! `opp proxy --upstream URL` in front of an index whose pages link their files relatively,
//! as static PEP 503 trees, devpi and Artifactory do: the real pip, through the proxy,
//! installs a package the store does not have from such an index (python's http.server over
//! a directory this test writes).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest as _;
use support::cli::{Env, run_ok, stdout};
use support::fixtures::{SIX_WHEEL, pypi_fixture};
use support::registry::free_port;

/// `python -m http.server` over `root` on a free loopback port, killed when dropped.
struct StaticIndex {
    child: Child,
    port: u16,
}

impl StaticIndex {
    fn serve(env: &Env, root: &Path) -> StaticIndex {
        let port = free_port();
        let child = env
            .python()
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(root)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python -m http.server");
        let index = StaticIndex { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "python -m http.server did not listen on {port} within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        index
    }
}

impl Drop for StaticIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A static PEP 503 tree: `simple/six/index.html` linking `../../packages/<wheel>` (with its
/// sha256, as pip checks it), and the real six wheel under `packages/`.
fn static_tree(root: &Path) {
    let wheel = std::fs::read(pypi_fixture(SIX_WHEEL)).expect("read the six wheel fixture");
    let hex = hex::encode(sha2::Sha256::digest(&wheel));
    std::fs::create_dir_all(root.join("packages")).expect("packages dir");
    std::fs::write(root.join("packages").join(SIX_WHEEL), &wheel).expect("write the wheel");
    std::fs::create_dir_all(root.join("simple/six")).expect("project dir");
    std::fs::write(
        root.join("simple/six/index.html"),
        format!(
            "<!DOCTYPE html>\n<html><body>\n<a href=\"../../packages/{SIX_WHEEL}#sha256={hex}\" \
             data-requires-python=\"&gt;=2.7, !=3.0.*\">{SIX_WHEEL}</a><br/>\n</body></html>\n"
        ),
    )
    .expect("write the project page");
}

#[test]
fn pip_installs_through_opp_proxy_from_an_upstream_index_with_relative_links() {
    let env = Env::new();
    let root = env.root().join("index");
    static_tree(&root);
    let index = StaticIndex::serve(&env, &root);
    let site = env.root().join("site");
    let mut cmd: Command = env.opp();
    cmd.args([
        "proxy",
        "--upstream",
        &format!("http://127.0.0.1:{}/simple", index.port),
        "--",
    ])
    .arg(support::tool("pip"))
    .args(["install", "--no-cache-dir", "--target"])
    .arg(&site)
    .arg("six==1.16.0")
    .env("PIP_CONFIG_FILE", "/dev/null")
    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .env_remove("PIP_INDEX_URL")
    .env_remove("PIP_FIND_LINKS");
    run_ok(&mut cmd);
    let imported = run_ok(
        env.python()
            .args(["-c", "import six; print(six.__version__)"])
            .env("PYTHONPATH", &site),
    );
    assert_eq!(stdout(&imported).trim(), "1.16.0");
}

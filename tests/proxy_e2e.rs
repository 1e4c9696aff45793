//! `opp proxy -- CLIENT ...` end to end, the way a user runs it: the proxy points the real
//! client at itself through the child's environment (plain HTTP on loopback to the clients
//! that accept it, HTTPS with a throwaway CA to those that do not, one scheme for all with
//! `--http` / `--https`), the client installs or uploads, and the exit status is the client's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

#[path = "proxy_pypi/harness.rs"]
mod harness;
mod support;

use std::path::Path;
use std::process::Command;

use support::cli::{Env, run_fail, run_ok, stderr, stdout};
use support::terraform::{self, Terraform};

/// `opp proxy [flags] -- PROGRAM ARGS...` with the env's isolation; pip and twine config from
/// the machine (/etc/pip.conf, CA variables) is kept out so only what opp exports counts.
fn proxy(env: &Env, flags: &[&str], program: &Path, args: &[&str]) -> Command {
    let mut cmd = env.opp();
    cmd.arg("proxy")
        .args(flags)
        .arg("--")
        .arg(program)
        .args(args);
    for var in [
        "PIP_INDEX_URL",
        "PIP_CERT",
        "PIP_FIND_LINKS",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "TWINE_CERT",
        "TF_CLI_CONFIG_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    cmd
}

fn push_app_and_lib(env: &Env) {
    let dir = env.root().join("dist");
    harness::wheel(&dir, "opp-demo-lib", "2.0", &[], "");
    harness::wheel(
        &dir,
        "opp-demo-app",
        "1.0",
        &["opp-demo-lib>=2"],
        "import opp_demo_lib",
    );
    run_ok(env.opp().args(["push", "pypi"]).arg(&dir));
}

fn imports(env: &Env, site: &Path) {
    let out = run_ok(
        env.python()
            .arg("-c")
            .arg("import opp_demo_app, opp_demo_lib; print(opp_demo_app.VERSION, opp_demo_lib.VERSION)")
            .env("PYTHONPATH", site),
    );
    assert_eq!(stdout(&out).trim(), "1.0 2.0");
}

/// The index pip says it looks in (`Looking in indexes: URL`, credentials masked).
fn pip_index(pip_output: &str) -> &str {
    pip_output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Looking in indexes: "))
        .unwrap_or_else(|| panic!("pip named no index:\n{pip_output}"))
}

#[test]
fn https_forces_pip_onto_the_https_listener_and_it_installs() {
    let env = Env::new();
    push_app_and_lib(&env);
    let site = env.root().join("site");
    let site_s = site.to_str().unwrap();
    let out = run_ok(&mut proxy(
        &env,
        &["--https"],
        &support::tool("pip"),
        &[
            "install",
            "--no-cache-dir",
            "--target",
            site_s,
            "opp-demo-app",
        ],
    ));
    let index = pip_index(&stdout(&out)).to_owned();
    assert!(
        index.starts_with("https://opp:****@localhost:") && index.ends_with("/pypi/simple/"),
        "{index}"
    );
    imports(&env, &site);
}

#[test]
fn one_proxy_run_gives_pip_plain_http_and_terraform_https() {
    let env = Env::new();
    push_app_and_lib(&env);
    let platforms = [("linux", "amd64"), ("darwin", "arm64")];
    let rel = terraform::provider_release(&env.root().join("rel"), "demo", "1.2.3", &platforms);
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    let h1 =
        terraform::h1_of_zip(&rel.join(terraform::zip_name("demo", "1.2.3", "linux", "amd64")));
    let work = env.root().join("work");
    terraform::config_for_provider(&work, "registry.terraform.io", "opp", "demo", "1.2.3");
    let tf = Terraform::new(&env);
    let tf_bin = std::path::PathBuf::from(tf.command(&work).get_program());
    let site = env.root().join("site");
    // Both clients in one command, as a CI step would run them.
    let script = r#"
        set -e
        "$1" install --no-cache-dir --target "$2" opp-demo-app
        echo "pip_url=$OPP_PROXY_PYPI_URL"
        echo "terraform_url=$OPP_PROXY_TERRAFORM_URL"
        echo "http=$OPP_PROXY_HTTP_URL"
        echo "https=$OPP_PROXY_HTTPS_URL"
        echo "main=$OPP_PROXY_URL"
        cd "$4" && "$3" init -input=false -no-color
        "#;
    let mut cmd = proxy(&env, &[], Path::new("/bin/sh"), &["-c", script, "sh"]);
    cmd.arg(support::tool("pip"))
        .arg(&site)
        .arg(&tf_bin)
        .arg(&work)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1");
    let out = cmd.output().unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "pip and terraform through one proxy failed:\n{text}\n{}",
        stderr(&out)
    );
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in:\n{text}"))
            .to_owned()
    };
    let (http, https) = (field("http"), field("https"));
    assert!(http.starts_with("http://127.0.0.1:"), "{http}");
    assert!(https.starts_with("https://localhost:"), "{https}");
    assert_eq!(
        field("main"),
        https,
        "OPP_PROXY_URL names the HTTPS listener"
    );
    assert_eq!(field("pip_url"), format!("{http}/pypi/"));
    assert_eq!(field("terraform_url"), format!("{https}/terraform/"));
    let index = pip_index(&text).to_owned();
    let port = http.rsplit(':').next().unwrap();
    assert_eq!(
        index,
        format!("http://opp:****@127.0.0.1:{port}/pypi/simple/"),
        "pip's index"
    );
    imports(&env, &site);
    // registry.terraform.io is out of reach here: the provider came from the HTTPS mirror.
    let hashes = terraform::lock_hashes(&terraform::lock_file(&work), "opp/demo");
    assert!(
        hashes.contains(&h1),
        "terraform locked {hashes:?}, opp computed {h1}"
    );
}

#[test]
fn http_with_terraform_warns_that_providers_need_https() {
    let env = Env::new();
    let tf = Terraform::new(&env);
    let tf_bin = std::path::PathBuf::from(tf.command(env.root()).get_program());
    let out = run_ok(&mut proxy(&env, &["--http"], &tf_bin, &["version"]));
    assert!(
        stderr(&out).lines().any(|l| l
            == "warning: --http: Terraform and OpenTofu accept a provider mirror only over \
                https, so the store's providers are not offered to them in this run (they \
                install providers from their registries; modules still come from the proxy); \
                drop --http to serve providers"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn http_with_another_command_has_no_terraform_warning() {
    let env = Env::new();
    let out = run_ok(&mut proxy(
        &env,
        &["--http"],
        Path::new("/bin/sh"),
        &["-c", "true"],
    ));
    assert_eq!(
        stderr(&out),
        "",
        "a warning for a command that is not terraform"
    );
}

#[test]
fn uv_installs_through_opp_proxy_over_plain_http_and_https() {
    let env = Env::new();
    push_app_and_lib(&env);
    for (flags, dir) in [
        (&["--http"][..], "site-http"),
        (&["--https"][..], "site-https"),
    ] {
        let site = env.root().join(dir);
        let mut cmd = proxy(
            &env,
            flags,
            &support::tool("uv"),
            &[
                "pip",
                "install",
                "--no-cache",
                "--target",
                site.to_str().unwrap(),
                "opp-demo-app",
            ],
        );
        cmd.env("UV_PYTHON_DOWNLOADS", "never");
        run_ok(&mut cmd);
        imports(&env, &site);
    }
}

#[test]
fn twine_uploads_through_opp_proxy_and_other_bytes_get_a_conflict() {
    let env = Env::new();
    let first = harness::wheel(&env.root().join("a"), "opp-upload", "1.0", &[], "");
    let second = harness::wheel(&env.root().join("b"), "opp-upload", "1.0", &[], "X = 1");
    let twine = support::tool("twine");
    run_ok(&mut proxy(
        &env,
        &[],
        &twine,
        &["upload", "--non-interactive", first.to_str().unwrap()],
    ));
    let dest = env.root().join("pulled");
    run_ok(
        env.opp()
            .args(["pull", "pypi", "opp-upload", "-o"])
            .arg(&dest),
    );
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(dest.join("opp_upload-1.0-py3-none-any.whl")).unwrap()
    );
    let conflict = run_fail(&mut proxy(
        &env,
        &[],
        &twine,
        &["upload", "--non-interactive", second.to_str().unwrap()],
    ));
    let text = format!("{}{}", stdout(&conflict), stderr(&conflict));
    assert!(text.contains("409"), "{text}");
}

#[test]
fn an_upload_over_max_upload_size_gets_413_and_stores_nothing() {
    let env = Env::new();
    // Hex of a hash chain: deflate cannot shrink it below the 16 KiB limit.
    let mut noise = String::new();
    let mut seed = b"opp".to_vec();
    while noise.len() < 64 * 1024 {
        let d = opp::digest::Digest::of(&seed);
        noise.push_str(d.hex());
        seed = d.hex().as_bytes().to_vec();
    }
    let big = format!("X = '{noise}'");
    let wheel = harness::wheel(&env.root().join("a"), "opp-big", "1.0", &[], &big);
    assert!(std::fs::metadata(&wheel).unwrap().len() > 16 * 1024);
    let refused = run_fail(&mut proxy(
        &env,
        &["--max-upload-size", "16KiB"],
        &support::tool("twine"),
        &["upload", "--non-interactive", wheel.to_str().unwrap()],
    ));
    let text = format!("{}{}", stdout(&refused), stderr(&refused));
    assert!(text.contains("413"), "{text}");
    let listed = run_fail(env.opp().args(["list", "pypi", "opp-big"]));
    assert!(stderr(&listed).contains("opp-big"), "{}", stderr(&listed));
}

#[test]
fn the_proxy_exits_with_the_childs_status() {
    let env = Env::new();
    let out = run_fail(&mut proxy(
        &env,
        &[],
        Path::new("/bin/sh"),
        &["-c", "exit 5"],
    ));
    assert_eq!(out.status.code(), Some(5));
}

fn terraform_init_through_the_proxy(tf: &Terraform<'_>, env: &Env, work: &Path) -> String {
    let program = std::path::PathBuf::from(tf.command(work).get_program());
    let mut cmd = proxy(env, &[], &program, &["init", "-input=false"]);
    cmd.current_dir(work)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "terraform init through the proxy failed:\n{}",
        terraform::explain(&out)
    );
    terraform::lock_file(work)
}

#[test]
fn terraform_init_installs_a_pushed_provider_and_module_through_opp_proxy() {
    let env = Env::new();
    let platforms = [("linux", "amd64"), ("darwin", "arm64")];
    let rel = terraform::provider_release(&env.root().join("rel"), "demo", "1.2.3", &platforms);
    run_ok(
        env.opp()
            .args(["push", "terraform-provider", "opp/demo"])
            .arg(&rel),
    );
    run_ok(
        env.opp()
            .args(["push", "terraform-module", "acme/greet/null", "1.0.0"])
            .arg(terraform::module_dir(&env.root().join("m"))),
    );
    let zip = rel.join(terraform::zip_name("demo", "1.2.3", "linux", "amd64"));
    let h1 = terraform::h1_of_zip(&zip);
    for (which, tf) in [
        ("1.0.3", Terraform::new(&env)),
        ("1.15", Terraform::latest(&env)),
    ] {
        let work = env.root().join(format!("work-{which}"));
        terraform::config_for_provider(&work, "registry.terraform.io", "opp", "demo", "1.2.3");
        let mut main = std::fs::read_to_string(work.join("main.tf")).unwrap();
        main.push_str("\nmodule \"greet\" {\n  source  = \"opp.localhost/acme/greet/null\"\n  version = \"1.0.0\"\n}\n");
        std::fs::write(work.join("main.tf"), main).unwrap();
        let lock = terraform_init_through_the_proxy(&tf, &env, &work);
        let hashes = terraform::lock_hashes(&lock, "opp/demo");
        assert!(
            hashes.contains(&h1),
            "terraform {which} locked {hashes:?}, opp computed {h1}"
        );
        assert!(
            work.join(".terraform/modules/greet/main.tf").is_file(),
            "module not installed by terraform {which}"
        );
    }
}

/// Starts `opp proxy --http --port P` in serve mode and waits until it answers; returns it
/// with the secret it printed.
fn serve(env: &Env, port: u16) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut cmd = env.opp();
    cmd.args(["proxy", "--http", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let token = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.trim()
                .strip_prefix("export OPP_PROXY_TOKEN=")
                .map(str::to_owned)
        })
        .expect("serve mode prints the secret");
    // Keep reading so opp never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the proxy did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child, token)
}

fn http_get(port: u16, token: &str, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer")
        + 4;
    let status: u16 = String::from_utf8_lossy(&buf[9..12]).parse().unwrap();
    (status, buf[head_end..].to_vec())
}

#[test]
fn a_client_that_hangs_up_mid_download_leaves_the_proxy_serving_others() {
    use std::io::{Read, Write};
    let env = Env::new();
    let dir = env.root().join("big");
    std::fs::create_dir_all(&dir).unwrap();
    let wheel = support::fixtures::make_wheel(&dir, "bigwheel", "1.0", 24 * 1024 * 1024);
    run_ok(env.opp().args(["push", "pypi"]).arg(&wheel));
    let port = support::registry::free_port();
    let (mut proxy, token) = serve(&env, port);
    let name = wheel.file_name().unwrap().to_str().unwrap().to_owned();
    let path = format!("/pypi/files/bigwheel/1.0/{name}");
    // Five clients read a little of the big file and hang up.
    for _ in 0..5 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .unwrap();
        let mut some = [0u8; 64 * 1024];
        s.read_exact(&mut some).unwrap();
        drop(s);
    }
    let (status, page) = http_get(port, &token, "/pypi/simple/bigwheel/");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&page));
    let (status, body) = http_get(port, &token, &path);
    assert_eq!(status, 200);
    assert!(
        body == std::fs::read(&wheel).unwrap(),
        "the full download differs from the pushed file"
    );
    let (status, _) = http_get(port, &token, "/pypi/simple/no-such-project/");
    assert_eq!(status, 404);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(proxy.id() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    assert!(
        proxy.wait().unwrap().success(),
        "serve mode ends with status 0 on Ctrl-C"
    );
}

#[test]
fn plain_http_makes_the_proxy_serve_http() {
    let env = Env::new();
    for flag in ["--plain-http", "--http"] {
        let out = run_ok(&mut proxy(
            &env,
            &[flag],
            Path::new("/bin/sh"),
            &["-c", "echo $OPP_PROXY_URL"],
        ));
        assert!(
            stdout(&out).trim().starts_with("http://127.0.0.1:"),
            "{flag}: {}",
            stdout(&out)
        );
    }
    let out = run_ok(&mut proxy(
        &env,
        &[],
        Path::new("/bin/sh"),
        &["-c", "echo $OPP_PROXY_URL"],
    ));
    assert!(
        stdout(&out).trim().starts_with("https://localhost:"),
        "{}",
        stdout(&out)
    );
}

//! Bearer-token auth against the real registry (Debian's docker-registry with `auth: token`)
//! behind the test token server: username/password, docker identity tokens (OAuth2 POST and
//! the GET fallback), anonymous pulls, one token per repository and operation however many
//! requests use it, clear 401s, and no secret in any output, even with `-v` and
//! `OPP_LOG=trace`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's unwrap or expect is its assertion

mod support;

use std::io;
use std::process::Output;

use opp::auth::{Credentials, Origin};
use opp::digest::Digest;
use opp::store::registry::RegistryStore;
use opp::store::{BlobReader, OCI_IMAGE_MANIFEST, RawManifest, Store, StoreError};
use support::cli::{Env, run_fail, run_ok};
use support::fixtures;
use support::token_server::{PASSWORD, REFRESH_TOKEN, RefreshBy, TokenRegistry, USER};
use tokio::io::AsyncReadExt;

const REPO: &str = "opp-test/pypi/six";
const SIX_WHEEL: &str = "six-1.16.0-py2.py3-none-any.whl";
const EMPTY_CONFIG: &[u8] = b"{}";

fn reader(bytes: &[u8]) -> BlobReader {
    Box::pin(io::Cursor::new(bytes.to_vec()))
}

fn identity() -> Credentials {
    Credentials::IdentityToken {
        token: REFRESH_TOKEN.to_owned(),
        origin: Origin::Explicit,
    }
}

fn manifest_for(layer: &[u8]) -> RawManifest {
    let json = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MANIFEST,
        "artifactType": "application/vnd.opp.test.v1",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": Digest::of(EMPTY_CONFIG).to_string(),
            "size": EMPTY_CONFIG.len(),
        },
        "layers": [{
            "mediaType": "application/octet-stream",
            "digest": Digest::of(layer).to_string(),
            "size": layer.len(),
        }],
    });
    RawManifest::new(
        OCI_IMAGE_MANIFEST.to_owned(),
        serde_json::to_vec_pretty(&json).unwrap(),
    )
}

/// Pushes a layer, the empty config and a manifest tagged `tag`, then reads all of it back
/// several times: many requests, one repository.
async fn round_trip(store: &RegistryStore, layer: &[u8], tag: &str) -> RawManifest {
    for bytes in [layer, EMPTY_CONFIG] {
        let digest = Digest::of(bytes);
        store
            .push_blob(REPO, &digest, bytes.len() as u64, reader(bytes))
            .await
            .expect("push blob");
    }
    let manifest = manifest_for(layer);
    store
        .push_manifest(REPO, &manifest, Some(tag))
        .await
        .expect("push manifest");
    for _ in 0..3 {
        assert_eq!(
            store.resolve(REPO, tag).await.expect("resolve"),
            Some(manifest.clone())
        );
        let mut got = Vec::new();
        store
            .fetch_blob(REPO, &Digest::of(layer), layer.len() as u64)
            .await
            .expect("fetch blob")
            .read_to_end(&mut got)
            .await
            .unwrap();
        assert_eq!(got, layer);
    }
    assert!(
        store
            .list_tags(REPO)
            .await
            .expect("list tags")
            .contains(&tag.to_owned())
    );
    manifest
}

#[tokio::test]
async fn username_and_password_get_one_token_per_repository_and_operation() {
    let reg = TokenRegistry::start();
    let store = RegistryStore::new(&reg.host, false, Credentials::basic(USER, PASSWORD)).unwrap();
    round_trip(&store, b"layer one", "1.0").await;
    round_trip(&store, b"layer two", "2.0").await;
    let requests = reg.token_requests();
    // One pull token and one pull,push token for the repository, reused by ~30 requests.
    assert_eq!(
        requests,
        vec![
            format!("GET basic repository:{REPO}:pull"),
            format!("GET basic repository:{REPO}:pull,push"),
        ],
        "{}",
        reg.logs()
    );

    let repos = store.list_repositories("opp-test/").await.expect("catalog");
    assert_eq!(repos, vec![REPO.to_owned()]);
    assert!(
        reg.token_requests()
            .contains(&"GET basic registry:catalog:*".to_owned())
    );
}

#[tokio::test]
async fn identity_tokens_are_exchanged_by_oauth2_post_per_scope() {
    let reg = TokenRegistry::start();
    let store = RegistryStore::new(&reg.host, false, identity()).unwrap();
    round_trip(&store, b"layer one", "1.0").await;
    round_trip(&store, b"layer two", "2.0").await;
    let repos = store.list_repositories("").await.expect("catalog");
    assert_eq!(repos, vec![REPO.to_owned()]);
    assert_eq!(
        reg.token_requests(),
        vec![
            format!("POST refresh repository:{REPO}:pull client_id=opp"),
            format!("POST refresh repository:{REPO}:pull,push client_id=opp"),
            "POST refresh registry:catalog:* client_id=opp".to_owned(),
        ],
        "{}",
        reg.logs()
    );
}

#[tokio::test]
async fn identity_tokens_fall_back_to_get_where_post_is_not_supported() {
    let reg = TokenRegistry::start_with(RefreshBy::GetOnly);
    let store = RegistryStore::new(&reg.host, false, identity()).unwrap();
    round_trip(&store, b"layer", "1.0").await;
    let requests = reg.token_requests();
    assert!(
        requests
            .iter()
            .any(|l| l == &format!("GET refresh-basic repository:{REPO}:pull,push")),
        "{requests:?}"
    );
    assert!(
        requests.iter().all(|l| !l.contains("refused")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn anonymous_callers_pull_public_repositories_but_cannot_push() {
    let reg = TokenRegistry::start();
    let owner = RegistryStore::new(&reg.host, false, Credentials::basic(USER, PASSWORD)).unwrap();
    let manifest = round_trip(&owner, b"public layer", "1.0").await;

    let anonymous = RegistryStore::new(&reg.host, false, Credentials::Anonymous).unwrap();
    assert_eq!(
        anonymous.resolve(REPO, "1.0").await.unwrap(),
        Some(manifest.clone())
    );
    let err = anonymous
        .push_manifest(REPO, &manifest, Some("2.0"))
        .await
        .expect_err("anonymous push");
    assert!(
        matches!(err, StoreError::Unauthorized { .. }),
        "{err:?}: {err}"
    );
    assert!(err.to_string().contains(REPO), "{err}");
    assert!(
        reg.token_requests()
            .contains(&format!("GET anonymous repository:{REPO}:pull")),
        "{:?}",
        reg.token_requests()
    );
}

#[tokio::test]
async fn a_refused_identity_token_is_an_authentication_error_naming_the_repository() {
    let reg = TokenRegistry::start();
    let store = RegistryStore::new(
        &reg.host,
        false,
        Credentials::IdentityToken {
            token: "not-the-token-SECRET".to_owned(),
            origin: Origin::Explicit,
        },
    )
    .unwrap();
    let err = store.resolve(REPO, "1.0").await.expect_err("refused");
    let msg = err.to_string();
    assert!(
        matches!(err, StoreError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(msg.contains(&format!("{}/{REPO}", reg.host)), "{msg}");
    assert!(!msg.contains("SECRET") && !format!("{err:?}").contains("SECRET"));
}

/// Everything a command printed.
fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails if `out` shows a secret or any bearer token (the server's JWTs start with `eyJ`).
fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let all = all_output(out);
    for s in secrets {
        assert!(!all.contains(s), "a secret was printed:\n{all}");
    }
    assert!(!all.contains("eyJ"), "a token was printed:\n{all}");
    use base64::Engine as _;
    for basic in [
        format!("{USER}:{PASSWORD}"),
        format!("<token>:{REFRESH_TOKEN}"),
    ] {
        let header = base64::engine::general_purpose::STANDARD.encode(basic);
        assert!(
            !all.contains(&header),
            "an Authorization header was printed:\n{all}"
        );
    }
    assert!(!all.contains("Bearer ey"), "a token was printed:\n{all}");
}

#[test]
fn the_cli_pushes_and_pulls_through_a_token_server_without_printing_a_secret() {
    let reg = TokenRegistry::start();
    let env = Env::new();
    let wheel = fixtures::pypi_fixture(SIX_WHEEL);
    let secrets = [PASSWORD, REFRESH_TOKEN];
    let opp = || {
        let mut cmd = env.opp();
        cmd.env("OPP_LOG", "trace")
            .args(["-v", "--registry", &reg.host]);
        cmd
    };

    let push = run_ok(
        opp()
            .env("OPP_REGISTRY_USERNAME", USER)
            .env("OPP_REGISTRY_PASSWORD", PASSWORD)
            .args(["push", "pypi"])
            .arg(&wheel),
    );
    assert_no_secret(&push, &secrets);
    assert!(
        all_output(&push).contains("DEBUG"),
        "-v logs nothing:\n{}",
        all_output(&push)
    );

    // docker's config.json with an identity token, as `docker login` writes it for ACR.
    std::fs::write(
        env.docker_config().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"","identitytoken":"{REFRESH_TOKEN}"}}}}}}"#,
            reg.host
        ),
    )
    .unwrap();
    let dest = env.root().join("out");
    let pull = run_ok(opp().args(["pull", "pypi", "six", "-o"]).arg(&dest));
    assert_no_secret(&pull, &secrets);
    assert_eq!(
        std::fs::read(dest.join(SIX_WHEEL)).unwrap(),
        std::fs::read(&wheel).unwrap()
    );
    let list = run_ok(opp().args(["list", "pypi"]));
    assert_no_secret(&list, &secrets);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("six"),
        "{}",
        all_output(&list)
    );
    assert!(
        reg.token_requests()
            .iter()
            .any(|l| l.starts_with("POST refresh")),
        "{:?}",
        reg.token_requests()
    );

    // A wrong password: exit 4, a message naming the registry and repository, no secret.
    std::fs::remove_file(env.docker_config().join("config.json")).unwrap();
    let wrong = run_fail(
        opp()
            .env("OPP_REGISTRY_USERNAME", USER)
            .env("OPP_REGISTRY_PASSWORD", "wrong-Secret-9")
            .args(["push", "pypi"])
            .arg(&wheel),
    );
    assert_eq!(wrong.status.code(), Some(4), "{}", all_output(&wrong));
    assert_no_secret(&wrong, &["wrong-Secret-9"]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains(&reg.host), "{stderr}");
    assert!(stderr.contains("pypi/six"), "{stderr}");
    assert!(stderr.contains("OPP_REGISTRY_USERNAME"), "{stderr}");
}

/// `opp login` with `--password-stdin`, as CI runs it.
fn login(env: &Env, host: &str, password: &str) -> Output {
    use std::io::Write;
    let mut child = env
        .opp()
        .env("XDG_RUNTIME_DIR", env.root())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .args(["login", host, "--username", USER, "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn login_checks_credentials_with_the_token_server_and_push_then_works() {
    let reg = TokenRegistry::start();
    let env = Env::new();
    let refused = login(&env, &reg.host, "not-the-password");
    assert_eq!(
        refused.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !env.docker_config().join("config.json").exists(),
        "a refused login saved something"
    );
    let ok = login(&env, &reg.host, PASSWORD);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password was printed: {all}");
    run_ok(
        env.opp()
            .env("XDG_RUNTIME_DIR", env.root())
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .args(["--registry", &reg.host, "push", "pypi"])
            .arg(fixtures::pypi_fixture(SIX_WHEEL)),
    );
}

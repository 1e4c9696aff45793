//! Tests of credential lookup against real docker/podman files and a real helper process.

use super::*;
use std::process::Command;

/// base64 of `opp-user:s3cret-pass`.
const OPP_AUTH: &str = "b3BwLXVzZXI6czNjcmV0LXBhc3M=";
/// base64 of `hub-user:hub-pass`.
const HUB_AUTH: &str = "aHViLXVzZXI6aHViLXBhc3M=";
/// base64 of `pod-user:pod-pass`.
const POD_AUTH: &str = "cG9kLXVzZXI6cG9kLXBhc3M=";

fn write_config(dir: &Path, json: &str) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, json).expect("write config.json");
    path
}

fn docker_only(path: PathBuf) -> CredentialFiles {
    CredentialFiles {
        docker_config: Some(path),
        podman_auth: None,
    }
}

fn basic(c: &Credentials) -> (&str, &str) {
    match c {
        Credentials::Basic {
            username, password, ..
        } => (username, password),
        other => panic!("expected basic credentials, got {other:?}"),
    }
}

#[test]
fn env_vars_need_both_or_neither() {
    assert_eq!(Credentials::from_env_vars(None, None).unwrap(), None);
    assert_eq!(
        Credentials::from_env_vars(Some("u".into()), Some("p".into())).unwrap(),
        Some(("u".into(), "p".into()))
    );
    let err = Credentials::from_env_vars(Some("u".into()), None).unwrap_err();
    assert!(err.to_string().contains(PASSWORD_VAR), "{err}");
    let err = Credentials::from_env_vars(Some(String::new()), Some("secret".into())).unwrap_err();
    assert!(err.to_string().contains(USERNAME_VAR), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[test]
fn explicit_credentials_win_over_docker_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &format!(r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{OPP_AUTH}"}}}}}}"#),
    );
    let c = resolve_with(
        "127.0.0.1:5000",
        Some(("me".into(), "pw".into())),
        &docker_only(path),
    )
    .unwrap();
    assert_eq!(basic(&c), ("me", "pw"));
    assert_eq!(c.describe(), "OPP_REGISTRY_USERNAME/OPP_REGISTRY_PASSWORD");
}

#[test]
fn docker_config_auths_entry_gives_basic_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &format!(r#"{{"auths":{{"https://127.0.0.1:5000":{{"auth":"{OPP_AUTH}"}}}}}}"#),
    );
    let c = resolve_with("127.0.0.1:5000", None, &docker_only(path.clone())).unwrap();
    assert_eq!(basic(&c), ("opp-user", "s3cret-pass"));
    assert_eq!(
        c.describe(),
        format!("docker config.json ({})", path.display())
    );
    let other = resolve_with("ghcr.io", None, &docker_only(path)).unwrap();
    assert_eq!(other, Credentials::Anonymous);
}

#[test]
fn docker_hub_is_found_under_any_of_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = write_config(
        dir.path(),
        &format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{HUB_AUTH}"}}}}}}"#),
    );
    for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
        let c = resolve_with(host, None, &docker_only(legacy.clone())).unwrap();
        assert_eq!(basic(&c), ("hub-user", "hub-pass"), "{host}");
    }
    let short = write_config(
        dir.path(),
        &format!(r#"{{"auths":{{"docker.io":{{"auth":"{HUB_AUTH}"}}}}}}"#),
    );
    let c = resolve_with("registry-1.docker.io", None, &docker_only(short)).unwrap();
    assert_eq!(basic(&c), ("hub-user", "hub-pass"));
}

#[test]
fn no_config_file_or_no_entry_means_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let missing = docker_only(dir.path().join("nope/config.json"));
    assert_eq!(
        resolve_with("ghcr.io", None, &missing).unwrap(),
        Credentials::Anonymous
    );
    let empty = write_config(dir.path(), r#"{"auths":{}}"#);
    let c = resolve_with("ghcr.io", None, &docker_only(empty)).unwrap();
    assert_eq!(c, Credentials::Anonymous);
    assert_eq!(c.describe(), "anonymous");
}

#[test]
fn a_broken_config_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "{ not json");
    let err = resolve_with("ghcr.io", None, &docker_only(path.clone())).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("ghcr.io"), "{msg}");
}

#[test]
fn an_identity_token_is_returned_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        r#"{"auths":{"example.azurecr.io":{"identitytoken":"tok-SECRET-123"}}}"#,
    );
    let c = resolve_with("example.azurecr.io", None, &docker_only(path)).unwrap();
    assert!(
        matches!(&c, Credentials::IdentityToken { token, .. } if token == "tok-SECRET-123"),
        "{c:?}"
    );
    assert!(!format!("{c:?}").contains("tok-SECRET-123"));
    assert!(!c.describe().contains("tok-SECRET-123"));
}

#[test]
fn podman_auth_file_is_used_when_docker_has_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let docker = write_config(dir.path(), r#"{"auths":{}}"#);
    let podman = dir.path().join("auth.json");
    std::fs::write(
        &podman,
        format!(r#"{{"auths":{{"quay.io":{{"auth":"{POD_AUTH}"}}}}}}"#),
    )
    .unwrap();
    let files = CredentialFiles {
        docker_config: Some(docker),
        podman_auth: Some(podman.clone()),
    };
    let c = resolve_with("quay.io", None, &files).unwrap();
    assert_eq!(basic(&c), ("pod-user", "pod-pass"));
    assert_eq!(
        c.describe(),
        format!("podman auth.json ({})", podman.display())
    );
}

#[test]
fn debug_never_shows_the_password() {
    let c = Credentials::basic("someone", "hunter2-very-secret");
    let shown = format!("{c:?}");
    assert!(shown.contains("someone"), "{shown}");
    assert!(!shown.contains("hunter2-very-secret"), "{shown}");
}

/// The environment variable that makes [`credential_helper_child`] run for real.
const CHILD_VAR: &str = "OPP_AUTH_TEST_HELPER_CONFIG";

/// Runs [`credential_helper_child`] in a child process whose PATH starts with a directory
/// holding `docker-credential-opptest`, so this process's environment is never mutated.
#[test]
fn credential_helper_on_path_is_run() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helper = bin.join("docker-credential-opptest");
    std::fs::write(
        &helper,
        "#!/bin/sh\n\
         read -r server\n\
         case \"$server\" in\n\
         helped.example:5000) printf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}' \"$server\" ;;\n\
         token.example) printf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"refresh-SECRET\"}' \"$server\" ;;\n\
         broken.example) echo 'keychain is locked' >&2; exit 1 ;;\n\
         *) echo 'credentials not found in native keychain'; exit 1 ;;\n\
         esac\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = write_config(
        dir.path(),
        r#"{"credHelpers":{"helped.example:5000":"opptest","unknown.example":"opptest",
            "token.example":"opptest","broken.example":"opptest","missing.example":"absent"}}"#,
    );
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "auth::tests::credential_helper_child",
            "--exact",
            "--nocapture",
        ])
        .env("PATH", path)
        .env(CHILD_VAR, &config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

/// The half of [`credential_helper_on_path_is_run`] that runs in the child; a no-op otherwise.
#[test]
fn credential_helper_child() {
    let Some(config) = std::env::var_os(CHILD_VAR).map(PathBuf::from) else {
        return;
    };
    let files = docker_only(config.clone());

    let c = resolve_with("helped.example:5000", None, &files).unwrap();
    assert_eq!(basic(&c), ("helper-user", "helper-secret"));
    assert_eq!(
        c.describe(),
        format!(
            "docker config.json ({}), credential helper docker-credential-opptest",
            config.display()
        )
    );

    // What docker's helpers answer for a host they do not know: anonymous, not an error.
    let c = resolve_with("unknown.example", None, &files).unwrap();
    assert_eq!(c, Credentials::Anonymous);

    let c = resolve_with("token.example", None, &files).unwrap();
    assert!(matches!(c, Credentials::IdentityToken { .. }), "{c:?}");
    assert!(!format!("{c:?}").contains("refresh-SECRET"), "{c:?}");

    let err = resolve_with("broken.example", None, &files).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("docker-credential-opptest"), "{msg}");
    assert!(msg.contains("keychain is locked"), "{msg}");

    let err = resolve_with("missing.example", None, &files).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("docker-credential-absent"), "{msg}");
    assert!(msg.contains("PATH"), "{msg}");
}

//! What `opp mirror terraform-module` refuses: an archive with a `..` entry, one that
//! unpacks past the bound, a damaged or missing archive, a git ref the repository lacks. Each
//! exits 1, says why in one line, and stores nothing. Part of the `mirror_terraform_module`
//! test crate (its helpers are `super::*`).

use super::*;

/// Serves `acme/bad/null` 1.0.0 from `location`, mirrors it, and checks: exit 1, the line
/// `expected` (with `{archive}` standing for the archive URL) on stderr, nothing stored.
fn fails_storing_nothing(env: &Env, up: &Upstream, location: &str, expected: &str) {
    up.registry.add_version("acme/bad/null", VERSION, location);
    let out = run_fail(&mut mirror(env, &up.registry, &["acme/bad/null"]));
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    let expected = expected.replace("{archive}", location);
    assert!(
        said.lines().any(|l| l == expected),
        "expected the line\n{expected}\nin\n{said}"
    );
    let show = env
        .opp()
        .args(["show", "terraform-module", "acme/bad/null==1.0.0"])
        .output()
        .unwrap();
    assert!(!show.status.success(), "something was stored");
}

#[test]
fn an_archive_with_a_parent_path_stores_nothing_and_says_why() {
    let env = Env::new();
    let up = upstream(&env);
    modreg::hostile_tar_gz(&up.registry.archives.join("evil.tar.gz"));
    fails_storing_nothing(
        &env,
        &up,
        &up.registry.archive_url("evil.tar.gz"),
        "warning: acme-bad-null-1.0.0.zip: {archive} has the entry `../evil.tf`: a `..` \
         component in its path; refusing the whole archive, nothing was written (unpacked, it \
         could write outside its directory)",
    );
}

#[test]
fn a_damaged_archive_stores_nothing_and_says_why() {
    let env = Env::new();
    let up = upstream(&env);
    std::fs::write(
        up.registry.archives.join("bad.tar.gz"),
        b"not a gzip stream",
    )
    .unwrap();
    fails_storing_nothing(
        &env,
        &up,
        &up.registry.archive_url("bad.tar.gz"),
        "warning: acme-bad-null-1.0.0.zip: {archive} is not a readable tar.gz archive (invalid \
         gzip header); nothing was stored",
    );
}

#[test]
fn a_missing_archive_stores_nothing_and_says_why() {
    let env = Env::new();
    let up = upstream(&env);
    fails_storing_nothing(
        &env,
        &up,
        &up.registry.archive_url("gone.tar.gz"),
        "warning: acme-bad-null-1.0.0.zip: {archive} answered 404 Not Found",
    );
}

#[test]
fn a_git_source_without_its_ref_stores_nothing_and_says_why() {
    let env = Env::new();
    let up = upstream(&env);
    let location = format!("git::file://{}?ref=v9.9.9", up.repo.display());
    fails_storing_nothing(
        &env,
        &up,
        &location,
        &format!(
            "warning: acme-bad-null-1.0.0.zip: file://{} has no tag, branch or commit `v9.9.9`; \
             nothing was stored",
            up.repo.display()
        ),
    );
}

#[test]
fn an_archive_unpacking_past_the_bound_stores_nothing_and_says_why() {
    let env = Env::new();
    let up = upstream(&env);
    let big = env.root().join("big");
    std::fs::create_dir_all(&big).unwrap();
    // 1 MiB of zeros: a few KiB compressed.
    std::fs::write(big.join("main.tf"), vec![b'\n'; 1024 * 1024]).unwrap();
    modreg::tar_gz_of(&big, &up.registry.archives.join("big.tar.gz"));
    let location = up.registry.archive_url("big.tar.gz");
    up.registry.add_version("acme/bad/null", VERSION, &location);
    let out = run_fail(
        mirror(&env, &up.registry, &["acme/bad/null"]).args(["--max-unpacked-size", "64KiB"]),
    );
    let expected = format!(
        "warning: acme-bad-null-1.0.0.zip: {location} unpacks to more than 64 KiB (`main.tf` \
         reached it); refusing it, nothing was stored; if the module really is this large, \
         raise the limit with --max-unpacked-size"
    );
    let said = stderr(&out);
    assert!(said.lines().any(|l| l == expected), "{expected}\n{said}");
    assert!(!env.store().join("terraform-module").exists());
}

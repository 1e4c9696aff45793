//! Lock file updates, compared byte for byte with what real Terraform wrote.

use super::*;

/// Written by terraform 1.0.3 and 1.15.5 (`terraform init -plugin-dir`) for `acme/bar`
/// pinned to `0.1.0-beta.1` and `acme/foo` without a version constraint.
const TERRAFORM_WROTE: &str = r#"# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/acme/bar" {
  version     = "0.1.0-beta.1"
  constraints = "0.1.0-beta.1"
  hashes = [
    "h1:j2FE7gqF8xFpF/KJZixUMWBVWdtDy+xFPtnQoOnpw7Q=",
  ]
}

provider "registry.terraform.io/acme/foo" {
  version = "1.2.3"
  hashes = [
    "h1:iGaCH/DTQSu9YEqAqecpcVosgIckv1J7OtektpIDWMA=",
  ]
}
"#;

fn entry(address: &str, version: &str, constraints: Option<&str>, hashes: &[&str]) -> LockEntry {
    LockEntry {
        address: address.to_string(),
        version: version.to_string(),
        constraints: constraints.map(str::to_string),
        hashes: hashes.iter().map(|h| h.to_string()).collect(),
    }
}

fn bar() -> LockEntry {
    entry(
        "registry.terraform.io/acme/bar",
        "0.1.0-beta.1",
        Some("0.1.0-beta.1"),
        &["h1:j2FE7gqF8xFpF/KJZixUMWBVWdtDy+xFPtnQoOnpw7Q="],
    )
}

fn foo() -> LockEntry {
    entry(
        "registry.terraform.io/acme/foo",
        "1.2.3",
        None,
        &["h1:iGaCH/DTQSu9YEqAqecpcVosgIckv1J7OtektpIDWMA="],
    )
}

#[test]
fn blocks_are_written_exactly_as_terraform_writes_them() {
    let one = update_lock_file(None, &foo()).unwrap();
    let both = update_lock_file(Some(&one), &bar()).unwrap();
    assert_eq!(both, TERRAFORM_WROTE);
    let other_order = update_lock_file(Some(&update_lock_file(None, &bar()).unwrap()), &foo());
    assert_eq!(other_order.unwrap(), TERRAFORM_WROTE);
}

#[test]
fn hashes_are_sorted_deduplicated_one_per_line_with_trailing_commas() {
    let e = entry(
        "registry.terraform.io/acme/foo",
        "1.2.3",
        Some("~> 1.2"),
        &["zh:bb", "h1:b=", "zh:aa", "h1:a=", "zh:aa"],
    );
    let text = update_lock_file(None, &e).unwrap();
    assert!(text.ends_with(
        "  version     = \"1.2.3\"\n  constraints = \"~> 1.2\"\n  hashes = [\n    \"h1:a=\",\n    \
         \"h1:b=\",\n    \"zh:aa\",\n    \"zh:bb\",\n  ]\n}\n"
    ), "{text}");
}

#[test]
fn replacing_a_block_leaves_every_other_byte_alone() {
    let mut newer = foo();
    newer.version = "1.3.0".to_string();
    newer.hashes = vec!["zh:00".to_string()];
    let text = update_lock_file(Some(TERRAFORM_WROTE), &newer).unwrap();
    let (before, after) = TERRAFORM_WROTE.split_at(
        TERRAFORM_WROTE
            .find("provider \"registry.terraform.io/acme/foo\"")
            .unwrap(),
    );
    assert!(text.starts_with(before));
    assert!(after.contains("1.2.3"));
    assert_eq!(
        &text[before.len()..],
        "provider \"registry.terraform.io/acme/foo\" {\n  version = \"1.3.0\"\n  hashes = [\n    \"zh:00\",\n  ]\n}\n"
    );
}

#[test]
fn the_same_version_keeps_its_hashes_and_an_existing_constraint_is_kept() {
    let mut more = bar();
    more.constraints = None;
    more.hashes = vec!["zh:ff".to_string()];
    let text = update_lock_file(Some(TERRAFORM_WROTE), &more).unwrap();
    assert!(text.contains(
        "  constraints = \"0.1.0-beta.1\"\n  hashes = [\n    \"h1:j2FE7gqF8xFpF/KJZixUMWBVWdtDy+xFPtnQoOnpw7Q=\",\n    \"zh:ff\",\n  ]\n"
    ), "{text}");

    let mut replaced = bar();
    replaced.constraints = Some(">= 0.1.0".to_string());
    let text = update_lock_file(Some(TERRAFORM_WROTE), &replaced).unwrap();
    assert!(text.contains("constraints = \">= 0.1.0\""), "{text}");
}

#[test]
fn new_providers_go_where_terraform_orders_them() {
    let first = entry("registry.terraform.io/acme/abc", "1.0.0", None, &["h1:x="]);
    let text = update_lock_file(Some(TERRAFORM_WROTE), &first).unwrap();
    let position = |needle: &str| text.find(needle).unwrap();
    assert!(position("acme/abc") < position("acme/bar"));
    assert!(text.contains("}\n\nprovider \"registry.terraform.io/acme/bar\""));
    assert!(text.contains("h1:x=\",\n  ]\n}\n\nprovider"), "{text}");

    // Component order, not string order: "zz" < "zz.b" although "zz.b/" < "zz/".
    let dotted = entry("zz.b/x/y", "1.0.0", None, &[]);
    let text = update_lock_file(Some(TERRAFORM_WROTE), &dotted).unwrap();
    assert!(
        text.ends_with("}\n\nprovider \"zz.b/x/y\" {\n  version = \"1.0.0\"\n}\n"),
        "{text}"
    );
    let short = entry("zz/x/y", "1.0.0", None, &[]);
    let text = update_lock_file(Some(&text), &short).unwrap();
    let position = |needle: &str| text.find(needle).unwrap();
    assert!(position("acme/foo") < position("\"zz/x/y\""));
    assert!(position("\"zz/x/y\"") < position("\"zz.b/x/y\""));
    assert!(text.starts_with("# This file is maintained"));
}

#[test]
fn comments_and_other_blocks_are_kept() {
    let existing = "# my notes\n\nmodule \"x\" {\n  # provider \"registry.terraform.io/acme/foo\" {\n}\n\n\
                    provider \"registry.terraform.io/acme/foo\" { # old\n  version = \"1.0.0\" /* } */\n}\n\
                    // trailing\n";
    let text = update_lock_file(Some(existing), &foo()).unwrap();
    assert!(
        text.starts_with("# my notes\n\nmodule \"x\" {\n  # provider"),
        "{text}"
    );
    assert!(text.ends_with("  ]\n}\n// trailing\n"), "{text}");
    assert!(!text.contains("1.0.0"), "{text}");
}

#[test]
fn a_file_without_provider_blocks_gets_one_appended() {
    let text = update_lock_file(Some("# just a comment"), &foo()).unwrap();
    assert!(text.starts_with("# just a comment\n\nprovider "), "{text}");
    let text = update_lock_file(Some("  \n"), &foo()).unwrap();
    assert!(
        text.starts_with("# This file is maintained automatically"),
        "{text}"
    );
}

#[test]
fn a_malformed_lock_file_is_refused_with_its_line() {
    for (text, line) in [
        (
            "# ok\nprovider \"registry.terraform.io/acme/foo\" {\n  version = \"1\"\n",
            2,
        ),
        ("\n\nprovider \"x {\n", 3),
        ("}\n", 1),
        ("/* never closed", 1),
    ] {
        let err = update_lock_file(Some(text), &foo()).unwrap_err();
        assert!(
            matches!(err, ProviderError::InvalidLockFile { line: l, .. } if l == line),
            "{text:?}: {err}"
        );
        assert!(err.to_string().contains(".terraform.lock.hcl"), "{err}");
    }
}

#[test]
fn strings_are_escaped_as_hcl_requires() {
    assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(quote("${x} %{y} $z"), r#""$${x} %%{y} $z""#);
    let parsed = string(r#""a\"b\\c\n""#, 0).unwrap();
    assert_eq!(parsed, ("a\"b\\c\n".to_string(), 11));
}

#[test]
fn entries_are_built_from_addresses() {
    let address = ProviderAddress::parse("acme/foo").unwrap();
    let e = LockEntry::new(&address, "1.2.3", vec!["h1:x".to_string()]);
    assert_eq!(e.address, "registry.terraform.io/acme/foo");
    assert_eq!(e.constraints, None);
}

//! Reading `X-Terraform-Get` values as Terraform does.

use super::*;

fn archive(url: &str, kind: ArchiveKind, subdir: Option<&str>) -> Source {
    Source {
        fetch: Fetch::Archive {
            url: Url::parse(url).unwrap(),
            kind,
        },
        subdir: subdir.map(str::to_owned),
    }
}

fn git_source(repository: &str, reference: Option<&str>, subdir: Option<&str>) -> Source {
    Source {
        fetch: Fetch::Git {
            repository: repository.to_owned(),
            reference: reference.map(str::to_owned),
        },
        subdir: subdir.map(str::to_owned),
    }
}

#[test]
fn relative_locations_resolve_against_the_download_url_as_terraform_does() {
    let download = Url::parse("https://r.example/v1/modules/acme/vpc/aws/1.0.0/download").unwrap();
    for (location, expected) in [
        ("/files/vpc.tar.gz", "https://r.example/files/vpc.tar.gz"),
        (
            "./vpc.zip",
            "https://r.example/v1/modules/acme/vpc/aws/1.0.0/vpc.zip",
        ),
        (
            "../x.tgz",
            "https://r.example/v1/modules/acme/vpc/aws/x.tgz",
        ),
        // Anything else is a go-getter address, left as it is.
        (
            "git::https://g.example/vpc?ref=v1",
            "git::https://g.example/vpc?ref=v1",
        ),
        ("vpc.zip", "vpc.zip"),
    ] {
        assert_eq!(
            resolve_location(location, &download).unwrap(),
            expected,
            "{location}"
        );
    }
}

#[test]
fn archives_are_known_by_their_longest_extension_or_the_archive_parameter() {
    let cases = [
        (
            "https://h.example/m.tar.gz",
            archive("https://h.example/m.tar.gz", ArchiveKind::TarGz, None),
        ),
        (
            "https://h.example/m.tgz//modules/a",
            archive(
                "https://h.example/m.tgz",
                ArchiveKind::TarGz,
                Some("modules/a"),
            ),
        ),
        (
            "https://h.example/m.zip?token=x",
            archive("https://h.example/m.zip?token=x", ArchiveKind::Zip, None),
        ),
        (
            "https://h.example/tarball/v1//*?archive=tar.gz",
            archive(
                "https://h.example/tarball/v1",
                ArchiveKind::TarGz,
                Some("*"),
            ),
        ),
        (
            "https://h.example/get?archive=zip&x=1",
            archive("https://h.example/get?x=1", ArchiveKind::Zip, None),
        ),
        (
            "https://h.example/m.tar.bz2",
            archive("https://h.example/m.tar.bz2", ArchiveKind::TarBz2, None),
        ),
        (
            "https://h.example/m.txz",
            archive("https://h.example/m.txz", ArchiveKind::TarXz, None),
        ),
    ];
    let mut failed = Vec::new();
    for (address, expected) in cases {
        match parse(address) {
            Ok(got) if got == expected => {}
            other => failed.push(format!("{address}: {other:?}")),
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn git_sources_keep_their_ref_and_subdirectory() {
    let cases = [
        (
            "git::https://g.example/vpc.git//modules/x?ref=v1.2.0",
            git_source(
                "https://g.example/vpc.git",
                Some("v1.2.0"),
                Some("modules/x"),
            ),
        ),
        (
            "git::file:///tmp/repo?ref=v1.0.0",
            git_source("file:///tmp/repo", Some("v1.0.0"), None),
        ),
        (
            "github.com/acme/terraform-aws-vpc?ref=v5.16.0",
            git_source(
                "https://github.com/acme/terraform-aws-vpc.git",
                Some("v5.16.0"),
                None,
            ),
        ),
        (
            "git::git@g.example:acme/vpc.git?ref=main&depth=1",
            git_source("git@g.example:acme/vpc.git", Some("main"), None),
        ),
    ];
    let mut failed = Vec::new();
    for (address, expected) in cases {
        match parse(address) {
            Ok(got) if got == expected => {}
            other => failed.push(format!("{address}: {other:?}")),
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn sources_opp_cannot_mirror_say_why() {
    let cases = [
        (
            "https://h.example/module",
            "`https://h.example/module` is not an archive; opp mirrors modules from archives \
             (zip, tar.gz, tgz, tar.bz2, tar.xz) and git:: sources",
        ),
        (
            "https://h.example/main.tf.gz",
            "`https://h.example/main.tf.gz` is a single gz-compressed file, not a module \
             package; opp mirrors modules from archives (zip, tar.gz, tgz, tar.bz2, tar.xz) and \
             git:: sources",
        ),
        (
            "s3::https://s3.amazonaws.com/b/m.zip",
            "`s3::https://s3.amazonaws.com/b/m.zip` is a s3:: source; opp mirrors archives over \
             https and git:: sources",
        ),
        (
            "https://h.example/m.zip//../../etc",
            "the subdirectory `../../etc` leaves the module package",
        ),
        (
            "git::https://g.example/vpc?ref=--upload-pack=evil",
            "`--upload-pack=evil` is not a git reference",
        ),
        (
            "git::-c/x",
            "`-c/x` is not a git repository URL opp clones (https, ssh, git, file or \
             git@HOST:PATH)",
        ),
    ];
    let mut failed = Vec::new();
    for (address, expected) in cases {
        match parse(address) {
            Err(why) if why == expected => {}
            other => failed.push(format!("{address}: {other:?}")),
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn provenance_keeps_no_query_or_password() {
    let archived = parse("https://u:secret@h.example/m.zip?token=abc//sub").unwrap();
    assert_eq!(archived.provenance(), "https://h.example/m.zip");
    let git = parse("git::https://u:secret@g.example/vpc.git?ref=v1").unwrap();
    assert_eq!(
        git.provenance(),
        "git::https://u:***@g.example/vpc.git?ref=v1"
    );
}

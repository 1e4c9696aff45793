//! Configuration trees written into temporary directories, read back: what each case must
//! yield, every failing case reported.

use std::path::Path;

use super::*;

/// Writes `files` (`relative path`, text) under a new temporary directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The providers of a tree as `address: constraint@file:line; ...`, files relative to the
/// root, sorted by address.
fn providers(root: &Path, reqs: &Requirements) -> Vec<String> {
    let prefix = format!("{}/", root.display());
    reqs.providers
        .iter()
        .map(|(a, r)| {
            let cs: Vec<String> = r
                .constraints
                .iter()
                .map(|c| format!("{}@{}", c.constraint, c.origin).replace(&prefix, ""))
                .collect();
            format!("{a}: {}", cs.join("; "))
        })
        .collect()
}

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    providers: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "object form with source and version, and the legacy string form",
        files: &[(
            "main.tf",
            r#"terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = "~> 3.6"
  }
}
"#,
        )],
        providers: &[
            "registry.terraform.io/hashicorp/aws: ~> 5.80@main.tf:3",
            "registry.terraform.io/hashicorp/random: ~> 3.6@main.tf:7",
        ],
    },
    Case {
        name: "a source with a host, and a bare type meaning hashicorp/TYPE",
        files: &[(
            "versions.tf",
            r#"terraform {
  required_providers {
    hello = { source = "Registry.OpenTofu.org/Acme/Hello", version = ">= 1.0" }
    null  = { source = "null" }
  }
}
"#,
        )],
        providers: &[
            "registry.opentofu.org/acme/hello: >= 1.0@versions.tf:3",
            "registry.terraform.io/hashicorp/null: ",
        ],
    },
    Case {
        name: "resources and data sources imply hashicorp/PREFIX, or the local name's source",
        files: &[
            (
                "main.tf",
                r#"terraform {
  required_providers {
    google = { source = "acme/google", version = "1.2.3" }
  }
}
resource "aws_instance" "web" {}
data "google_project" "p" {}
ephemeral "random_password" "pw" {}
check "health" {
  data "http" "ping" {}
}
"#,
            ),
            ("other.tf", "resource \"tls_private_key\" \"k\" {}\n"),
        ],
        providers: &[
            "registry.terraform.io/acme/google: 1.2.3@main.tf:3",
            "registry.terraform.io/hashicorp/aws: ",
            "registry.terraform.io/hashicorp/http: ",
            "registry.terraform.io/hashicorp/random: ",
            "registry.terraform.io/hashicorp/tls: ",
        ],
    },
    Case {
        name: "provider meta-arguments with an alias resolve through the local name",
        files: &[(
            "main.tf",
            r#"terraform {
  required_providers {
    cloud = { source = "acme/cloud" }
  }
}
provider "cloud" {
  alias = "west"
}
resource "aws_s3_bucket" "b" {
  provider = cloud.west
}
data "aws_region" "r" {
  provider = cloud
}
"#,
        )],
        providers: &["registry.terraform.io/acme/cloud: "],
    },
    Case {
        name: "a provider block's legacy version is a constraint too",
        files: &[(
            "main.tf",
            "provider \"aws\" {\n  version = \">= 4.0\"\n  region  = \"eu-west-1\"\n}\n",
        )],
        providers: &["registry.terraform.io/hashicorp/aws: >= 4.0@main.tf:1"],
    },
    Case {
        name: "the built-in terraform provider is not mirrored",
        files: &[(
            "main.tf",
            "resource \"terraform_data\" \"d\" {}\ndata \"terraform_remote_state\" \"s\" {}\n",
        )],
        providers: &[],
    },
    Case {
        name: "local modules are followed, each with its own local names",
        files: &[
            (
                "main.tf",
                r#"terraform {
  required_providers {
    alpha = { source = "acme/alpha", version = ">= 1.0" }
  }
}
module "child" {
  source = "./modules/child"
}
module "again" {
  source = "./modules/child/"
}
"#,
            ),
            (
                "modules/child/main.tf",
                r#"terraform {
  required_providers {
    alpha = { source = "acme/alpha", version = "< 2.0" }
  }
}
resource "beta_thing" "x" {}
module "grandchild" {
  source = "../grandchild"
}
"#,
            ),
            (
                "modules/grandchild/main.tf",
                "resource \"alpha_thing\" \"y\" {}\n",
            ),
        ],
        providers: &[
            "registry.terraform.io/acme/alpha: >= 1.0@main.tf:3; < 2.0@modules/child/main.tf:3",
            "registry.terraform.io/hashicorp/alpha: ",
            "registry.terraform.io/hashicorp/beta: ",
        ],
    },
    Case {
        name: "files Terraform ignores are ignored",
        files: &[
            ("main.tf", "resource \"aws_vpc\" \"v\" {}\n"),
            (".hidden.tf", "resource \"hidden_x\" \"h\" {}\n"),
            ("main.tf~", "resource \"backup_x\" \"b\" {}\n"),
            ("#main.tf#", "resource \"emacs_x\" \"e\" {}\n"),
            ("notes.txt", "resource \"text_x\" \"t\" {}\n"),
            ("sub/main.tf", "resource \"sub_x\" \"s\" {}\n"),
        ],
        providers: &["registry.terraform.io/hashicorp/aws: "],
    },
];

#[test]
fn trees_yield_the_providers_terraform_would_install() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = tree(case.files);
        match read_tree(dir.path()) {
            Ok(reqs) => {
                let got = providers(dir.path(), &reqs);
                if got != case.providers {
                    failures.push(format!(
                        "{}:\n  expected {:#?}\n  got {got:#?}",
                        case.name, case.providers
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn registry_modules_are_collected_with_each_calls_constraint_and_others_are_reported() {
    let dir = tree(&[(
        "main.tf",
        r#"module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.0"
}
module "vpc_again" {
  source = "registry.terraform.io/terraform-aws-modules/vpc/aws//modules/vpc-endpoints"
}
module "private" {
  source  = "Tf.Corp.Example/acme/net/aws"
  version = "1.2.0"
}
module "git" {
  source = "git::https://example.com/net.git?ref=v1.0"
}
module "archive" {
  source = "https://example.com/net.zip"
}
module "bucket" {
  source = "s3::https://s3-eu-west-1.amazonaws.com/bucket/net.zip"
}
module "gh" {
  source = "github.com/acme/net"
}
"#,
    )]);
    let reqs = read_tree(dir.path()).unwrap();
    let main = format!("{}/main.tf", dir.path().display());
    let at = |line| Origin {
        file: main.clone(),
        line,
    };
    assert_eq!(
        reqs.modules,
        [
            ModuleRequirement {
                address: "terraform-aws-modules/vpc/aws".to_owned(),
                calls: vec![
                    Constrained {
                        constraint: "~> 5.0".to_owned(),
                        origin: at(1)
                    },
                    Constrained {
                        constraint: String::new(),
                        origin: at(5)
                    },
                ],
            },
            ModuleRequirement {
                address: "tf.corp.example/acme/net/aws".to_owned(),
                calls: vec![Constrained {
                    constraint: "1.2.0".to_owned(),
                    origin: at(8)
                }],
            },
        ]
    );
    let others: Vec<(&str, &str, usize)> = reqs
        .not_mirrored
        .iter()
        .map(|n| (n.module.as_str(), n.kind.as_str(), n.origin.line))
        .collect();
    assert_eq!(
        others,
        [
            ("git", "a git repository", 12),
            ("archive", "an HTTP(S) archive", 15),
            ("bucket", "an S3 bucket", 18),
            ("gh", "a git repository", 21),
        ]
    );
}

#[test]
fn modules_calling_each_other_in_a_loop_are_refused_naming_the_call() {
    let dir = tree(&[
        ("main.tf", "module \"a\" {\n  source = \"./a\"\n}\n"),
        ("a/main.tf", "module \"b\" {\n  source = \"../b\"\n}\n"),
        (
            "b/main.tf",
            "resource \"aws_vpc\" \"v\" {}\n\nmodule \"back\" {\n  source = \"../a\"\n}\n",
        ),
    ]);
    let root = dir.path().display();
    assert_eq!(
        read_tree(dir.path()).unwrap_err().to_string(),
        format!(
            "{root}/b/main.tf:3: module \"back\" calls ../a, which leads back to {root}/a: the \
             local modules call each other in a loop, which Terraform cannot load"
        )
    );
}

#[test]
fn a_module_calling_its_own_directory_is_a_loop() {
    let dir = tree(&[("main.tf", "module \"me\" {\n  source = \"./\"\n}\n")]);
    let err = read_tree(dir.path()).unwrap_err().to_string();
    assert!(
        err.ends_with("the local modules call each other in a loop, which Terraform cannot load"),
        "{err}"
    );
}

#[test]
fn broken_configurations_say_where() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "missing local module",
            "module \"m\" {\n  source = \"./nowhere\"\n}\n",
            "main.tf:1: module \"m\" calls ./nowhere, but ROOT/nowhere is not a directory",
        ),
        (
            "bad constraint",
            "terraform {\n  required_providers {\n    aws = \"=> 5.0\"\n  }\n}\n",
            "main.tf:3: `=> 5.0` is not a version constraint: invalid operator `=>`; did you \
             mean `>=`?",
        ),
        (
            "not HCL",
            "terraform {\n  required_providers {\n    aws = \n",
            "main.tf:3: not HCL opp can read:",
        ),
        (
            "source not a string",
            "module \"m\" {\n  source = var.where\n}\n",
            "main.tf:2: module \"m\": `source` is not a literal string",
        ),
        (
            "bad provider source",
            "terraform {\n  required_providers {\n    x = { source = \"a/b/c/d\" }\n  }\n}\n",
            "main.tf:3: required_providers entry `x`:",
        ),
    ];
    let mut failures = Vec::new();
    for (name, text, expected) in cases {
        let dir = tree(&[("main.tf", text)]);
        let root = dir.path().display().to_string();
        let expected = format!("{root}/{}", expected.replace("ROOT", &root));
        match read_tree(dir.path()) {
            Ok(r) => failures.push(format!("{name}: no error, read {r:?}")),
            Err(e) if e.to_string().starts_with(&expected) => {}
            Err(e) => failures.push(format!("{name}:\n  expected {expected}\n  got      {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_directory_without_tf_files_is_not_a_configuration() {
    let dir = tree(&[("main.tf.json", "{}")]);
    assert_eq!(
        read_tree(dir.path()).unwrap_err().to_string(),
        format!("{} holds no .tf files", dir.path().display())
    );
}

#[test]
fn constraints_combine_and_describe_where_they_are() {
    let at = |file: &str, line| Origin {
        file: file.to_owned(),
        line,
    };
    let r = ProviderRequirement {
        constraints: vec![
            Constrained {
                constraint: ">= 1.0".to_owned(),
                origin: at("infra/main.tf", 4),
            },
            Constrained {
                constraint: "< 2.0".to_owned(),
                origin: at("infra/child/main.tf", 3),
            },
            Constrained {
                constraint: ">= 1.0".to_owned(),
                origin: at("infra/other.tf", 9),
            },
        ],
        first: at("infra/main.tf", 4),
    };
    assert_eq!(r.combined(), ">= 1.0, < 2.0");
    assert_eq!(
        r.describe(),
        "`>= 1.0` (infra/main.tf:4), `< 2.0` (infra/child/main.tf:3), `>= 1.0` \
         (infra/other.tf:9)"
    );
}

#[test]
fn module_sources_are_classified_as_terraform_does() {
    use source::{ModuleSource as M, module_source};
    let cases: &[(&str, M)] = &[
        ("./x", M::Local("./x".to_owned())),
        ("..\\x", M::Local("../x".to_owned())),
        (
            "hashicorp/consul/aws",
            M::Registry("hashicorp/consul/aws".to_owned()),
        ),
        (
            "hashicorp/consul/aws//modules/agent",
            M::Registry("hashicorp/consul/aws".to_owned()),
        ),
        (
            "app.terraform.io/acme/net/aws",
            M::Registry("app.terraform.io/acme/net/aws".to_owned()),
        ),
        ("github.com/hashicorp/example", M::Other("a git repository")),
        ("bitbucket.org/a/b/c", M::Other("a git repository")),
        (
            "localhost/a/b/c",
            M::Other(
                "not a module registry address (NAMESPACE/NAME/SYSTEM or HOST/NAMESPACE/NAME/SYSTEM)",
            ),
        ),
        (
            "hashicorp/consul/AWS",
            M::Other(
                "not a module registry address (NAMESPACE/NAME/SYSTEM or HOST/NAMESPACE/NAME/SYSTEM)",
            ),
        ),
        ("oci://r.example/m", M::Other("an OCI artifact")),
        (
            "/abs/path",
            M::Other("a directory outside the configuration"),
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter(|(raw, want)| module_source(raw) != *want)
        .map(|(raw, want)| format!("{raw}: expected {want:?}, got {:?}", module_source(raw)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_tf_file_over_the_limit_is_refused_unread() {
    let dir = tree(&[("main.tf", "resource \"aws_vpc\" \"v\" {}\n")]);
    let big = dir.path().join("big.tf");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(MAX_TF_FILE_BYTES + 1).unwrap();
    assert_eq!(
        read_tree(dir.path()).unwrap_err().to_string(),
        format!(
            "{} is larger than 16 MiB, the most opp reads of a .tf file",
            big.display()
        )
    );
}

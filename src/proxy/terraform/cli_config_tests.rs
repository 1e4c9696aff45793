use super::*;

const BASE: &str = "https://localhost:8443";

fn config(providers: &[String], user: Option<&UserConfig>) -> String {
    CliConfig {
        base_url: BASE,
        module_host: "opp.localhost",
        providers,
        user,
        token: Some("s3cret"),
    }
    .render()
}

fn user(text: &str) -> UserConfig {
    UserConfig {
        path: PathBuf::from("/home/me/.terraformrc"),
        text: text.to_owned(),
    }
}

#[test]
fn stored_providers_go_to_the_mirror_and_are_excluded_from_direct() {
    let text = config(&["acme/hello".to_owned()], None);
    let expected_list = "[\n      \"registry.opentofu.org/acme/hello\",\n      \
                         \"registry.terraform.io/acme/hello\"\n    ]";
    assert!(
        text.contains(&format!(
            "  network_mirror {{\n    url     = \"https://localhost:8443/terraform/providers/\"\n    include = {expected_list}\n  }}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("  direct {{\n    exclude = {expected_list}\n  }}")),
        "{text}"
    );
    assert!(
        text.contains(
            "host \"opp.localhost\" {\n  services = {\n    \"modules.v1\" = \
             \"https://localhost:8443/terraform/modules/v1/\"\n  }\n}\n"
        ),
        "{text}"
    );
}

#[test]
fn with_no_stored_provider_provider_installation_is_left_alone() {
    let text = config(&[], None);
    assert!(!text.contains("provider_installation"), "{text}");
    assert!(text.contains("host \"opp.localhost\""), "{text}");
}

#[test]
fn a_plain_http_proxy_gets_no_network_mirror() {
    let text = CliConfig {
        base_url: "http://127.0.0.1:8080",
        module_host: "opp.localhost",
        providers: &["acme/hello".to_owned()],
        user: None,
        token: None,
    }
    .render();
    assert!(!text.contains("network_mirror"), "{text}");
    assert!(!text.contains("credentials"), "{text}");
    assert!(
        text.contains("\"modules.v1\" = \"http://127.0.0.1:8080/terraform/modules/v1/\""),
        "{text}"
    );
}

#[test]
fn providers_of_another_registry_keep_their_hostname() {
    let addresses = mirror_addresses(&["example.com/acme/foo".to_owned(), "acme/bar".to_owned()]);
    assert_eq!(
        addresses,
        [
            "example.com/acme/foo",
            "registry.opentofu.org/acme/bar",
            "registry.terraform.io/acme/bar"
        ]
    );
}

#[test]
fn the_users_config_is_carried_over_without_what_ours_replaces() {
    let mine = user(
        "# my settings\nplugin_cache_dir = \"/home/me/.cache/tf\" # shared\n\
         credentials \"app.terraform.io\" {\n  token = \"abc{}\"\n}\n\
         provider_installation {\n  filesystem_mirror {\n    path = \"/srv/tf\"\n  }\n  direct {}\n}\n\
         host \"OPP.localhost\" {\n  services = { \"modules.v1\" = \"https://x/\" }\n}\n\
         host \"other.example\" {\n  services = { \"modules.v1\" = \"https://y/\" }\n}\n",
    );
    let text = config(&["acme/hello".to_owned()], Some(&mine));
    assert!(
        text.contains("plugin_cache_dir = \"/home/me/.cache/tf\" # shared"),
        "{text}"
    );
    assert!(
        text.contains("credentials \"app.terraform.io\" {\n  token = \"abc{}\"\n}"),
        "{text}"
    );
    assert!(text.contains("host \"other.example\""), "{text}");
    assert!(!text.contains("filesystem_mirror"), "{text}");
    assert!(!text.contains("https://x/"), "{text}");
    assert_eq!(text.matches("provider_installation {").count(), 1, "{text}");
    assert!(
        text.contains(
            "# From /home/me/.terraformrc (its `provider_installation` and \
             `host \"OPP.localhost\"` replaced by the above):\n# my settings\n"
        ),
        "{text}"
    );
}

#[test]
fn the_users_provider_installation_stays_when_the_store_has_no_provider() {
    let mine = user("provider_installation {\n  direct {}\n}\n");
    let text = config(&[], Some(&mine));
    assert_eq!(text.matches("provider_installation {").count(), 1, "{text}");
    assert!(
        text.ends_with("provider_installation {\n  direct {}\n}\n"),
        "{text}"
    );
}

#[test]
fn a_json_user_config_is_named_not_mixed_in() {
    let mine = user("{\"plugin_cache_dir\": \"/tmp/x\"}");
    let text = config(&[], Some(&mine));
    assert!(!text.contains("/tmp/x"), "{text}");
    assert!(
        text.contains("/home/me/.terraformrc is in JSON syntax"),
        "{text}"
    );
}

#[test]
fn top_level_items_skip_comments_strings_and_nested_braces() {
    let text = "/* a { block */ a = { x = \"}\" }\n// b {\nb \"l1\" \"l2\" {\n  c {\n  }\n}\nd = [\n 1,\n]\n";
    let items = top_level_items(text);
    let names: Vec<(&str, Vec<String>)> = items
        .iter()
        .map(|i| (i.name.as_str(), i.labels.clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("a", vec![]),
            ("b", vec!["l1".to_owned(), "l2".to_owned()]),
            ("d", vec![])
        ]
    );
    assert_eq!(
        &text[items[1].start..items[1].end],
        "b \"l1\" \"l2\" {\n  c {\n  }\n}"
    );
    assert_eq!(&text[items[2].start..items[2].end], "d = [\n 1,\n]");
}

#[test]
fn the_users_config_file_is_found_as_terraform_finds_it() {
    let home = Some(PathBuf::from("/home/me"));
    let none = |_: &str| None;
    let with = |key: &'static str, value: &'static str| {
        move |k: &str| (k == key).then(|| OsString::from(value))
    };
    assert_eq!(
        user_config_path(with("TF_CLI_CONFIG_FILE", "/etc/tf.rc"), home.clone()),
        Some(PathBuf::from("/etc/tf.rc"))
    );
    assert_eq!(
        user_config_path(with("TERRAFORM_CONFIG", "/etc/old.rc"), home.clone()),
        Some(PathBuf::from("/etc/old.rc"))
    );
    if !cfg!(windows) {
        assert_eq!(
            user_config_path(none, home),
            Some(PathBuf::from("/home/me/.terraformrc"))
        );
    }
}

#[test]
fn the_token_goes_to_the_proxy_host_and_the_module_host_replacing_the_users() {
    let mine = user(
        "credentials \"opp.localhost\" {\n  token = \"old\"\n}\n\
         credentials \"app.terraform.io\" {\n  token = \"cloud\"\n}\n",
    );
    let text = config(&[], Some(&mine));
    for host in ["localhost:8443", "opp.localhost"] {
        assert!(
            text.contains(&format!(
                "credentials \"{host}\" {{\n  token = \"s3cret\"\n}}\n"
            )),
            "{text}"
        );
    }
    assert!(!text.contains("\"old\""), "{text}");
    assert!(text.contains("credentials \"app.terraform.io\""), "{text}");
}

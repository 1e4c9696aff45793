//! NuGet.Config reading: merge order, `<clear/>`, encoded element names, `%ENV%`, and the
//! errors (which never quote a value).

use super::*;

const URL: &str = "https://feed.example/v3/index.json";

fn file(path: &str, text: &str) -> ConfigFile {
    parse(path, text).unwrap()
}

fn config(sources: &str, credentials: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n{sources}  \
         </packageSources>\n  <packageSourceCredentials>\n{credentials}  </packageSourceCredentials>\n\
         </configuration>\n"
    )
}

fn creds(element: &str, user: &str, password_key: &str, password: &str) -> String {
    format!(
        "    <{element}>\n      <add key=\"Username\" value=\"{user}\" />\n      \
         <add key=\"{password_key}\" value=\"{password}\" />\n    </{element}>\n"
    )
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn found(files: &[ConfigFile], env: &dyn Fn(&str) -> Option<String>) -> Option<(String, String)> {
    credentials_for(&Url::parse(URL).unwrap(), files, env)
        .unwrap()
        .map(|f| (f.username, f.password))
}

fn pair(u: &str, p: &str) -> Option<(String, String)> {
    Some((u.to_owned(), p.to_owned()))
}

#[test]
fn the_source_whose_url_is_the_upstream_gives_its_credentials() {
    let text = config(
        &format!(
            "    <add key=\"other\" value=\"https://other.example/v3/index.json\" />\n    \
             <add key=\"Contoso Feed\" value=\"{URL}\" />\n"
        ),
        &(creds("other", "no", "ClearTextPassword", "no")
            + &creds("Contoso_x0020_Feed", "me", "ClearTextPassword", "s3cret")),
    );
    let f = file("/p/NuGet.Config", &text);
    assert_eq!(
        found(std::slice::from_ref(&f), &no_env),
        pair("me", "s3cret")
    );
    let origin = credentials_for(&Url::parse(URL).unwrap(), &[f], &no_env)
        .unwrap()
        .unwrap()
        .origin;
    assert_eq!(
        origin,
        "packageSourceCredentials of `Contoso Feed` in /p/NuGet.Config"
    );
}

#[test]
fn a_trailing_slash_or_credentials_in_the_upstream_do_not_change_the_source() {
    let text = config(
        "    <add key=\"feed\" value=\"https://feed.example/v3/index.json/\" />\n",
        &creds("feed", "me", "cleartextpassword", "s3cret"),
    );
    let files = [file("/p/NuGet.Config", &text)];
    let upstream = Url::parse("https://x:y@feed.example/v3/index.json").unwrap();
    let got = credentials_for(&upstream, &files, &no_env)
        .unwrap()
        .unwrap();
    assert_eq!((got.username, got.password), ("me".into(), "s3cret".into()));
}

#[test]
fn the_closest_file_wins_and_clear_hides_the_files_further_away() {
    let source = format!("    <add key=\"feed\" value=\"{URL}\" />\n");
    let far = file(
        "/home/me/.nuget/NuGet/NuGet.Config",
        &config(
            &source,
            &creds("feed", "far", "ClearTextPassword", "far-pw"),
        ),
    );
    let near = file(
        "/work/NuGet.Config",
        &config("", &creds("feed", "near", "ClearTextPassword", "near-pw")),
    );
    let cleared = file("/work/app/NuGet.Config", &config("    <clear />\n", ""));
    let cases = [
        ("far only", vec![far.clone()], pair("far", "far-pw")),
        (
            "near wins",
            vec![near.clone(), far.clone()],
            pair("near", "near-pw"),
        ),
        ("sources cleared", vec![cleared, near, far], None),
    ];
    let mut failures = Vec::new();
    for (name, files, want) in cases {
        let got = found(&files, &no_env);
        if got != want {
            failures.push(format!("{name}: {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn environment_variables_are_expanded_as_dotnet_expands_them() {
    let env = |name: &str| match name {
        "FEED_TOKEN" => Some("t0ken".to_owned()),
        "USER_NAME" => Some("me".to_owned()),
        _ => None,
    };
    let cases = [
        ("%FEED_TOKEN%", "t0ken"),
        ("a%FEED_TOKEN%b", "at0kenb"),
        ("%UNSET%", "%UNSET%"),
        ("%UNSET%FEED_TOKEN%", "%UNSETt0ken"),
        ("100%", "100%"),
        ("%%", "%%"),
        ("%USER_NAME%:%FEED_TOKEN%", "me:t0ken"),
    ];
    let mut failures = Vec::new();
    for (given, want) in cases {
        let got = expand(given, &env);
        if got != want {
            failures.push(format!("{given}: {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let text = config(
        &format!("    <add key=\"feed\" value=\"{URL}\" />\n"),
        &creds("feed", "%USER_NAME%", "ClearTextPassword", "%FEED_TOKEN%"),
    );
    assert_eq!(
        found(&[file("/p/NuGet.Config", &text)], &env),
        pair("me", "t0ken")
    );
}

#[test]
fn the_environment_variable_of_a_source_wins_over_the_files() {
    let text = config(
        &format!("    <add key=\"feed\" value=\"{URL}\" />\n"),
        &creds("feed", "file", "ClearTextPassword", "file-pw"),
    );
    let env = |name: &str| {
        (name == "NuGetPackageSourceCredentials_feed")
            .then(|| "Username=env;Password=env-pw;ValidAuthenticationTypes=basic".to_owned())
    };
    assert_eq!(
        found(&[file("/p/NuGet.Config", &text)], &env),
        pair("env", "env-pw")
    );
}

#[test]
fn element_names_are_decoded_as_xmlconvert_decodes_them() {
    let cases = [
        ("Contoso_x0020_Feed", "Contoso Feed"),
        ("_x0031_23", "123"),
        ("a_x00000041_b", "aAb"),
        ("plain_name", "plain_name"),
        ("bad_x00G0_", "bad_x00G0_"),
        ("short_x20_", "short_x20_"),
    ];
    let mut failures = Vec::new();
    for (given, want) in cases {
        let got = decode_name(given);
        if got != want {
            failures.push(format!("{given}: {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn an_encrypted_password_is_an_error_saying_what_to_write_instead() {
    let text = config(
        &format!("    <add key=\"feed\" value=\"{URL}\" />\n"),
        &creds("feed", "me", "Password", "AQAAANCMnd8BFdERjHoAwE/Cl+s="),
    );
    let err = credentials_for(
        &Url::parse(URL).unwrap(),
        &[file("/p/NuGet.Config", &text)],
        &no_env,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(!message.contains("AQAAANC"), "{message}");
    assert_eq!(
        message,
        "/p/NuGet.Config gives the package source `feed` an encrypted Password, which only \
         NuGet on Windows can decrypt and opp does not read"
    );
    assert_eq!(
        crate::error::Diagnostic::hints(&err),
        [
            "write a ClearTextPassword there (it may name an environment variable: %FEED_TOKEN%), \
          or put the credentials in opp's config ([mirror.nuget] upstream = \
          \"https://USER:TOKEN@HOST/...\")"
        ]
    );
}

#[test]
fn credentials_of_other_sources_and_no_sources_give_nothing() {
    let text = config(
        "    <add key=\"other\" value=\"https://other.example/v3/index.json\" />\n",
        &creds("other", "me", "Password", "encrypted"),
    );
    assert_eq!(found(&[file("/p/NuGet.Config", &text)], &no_env), None);
    assert_eq!(found(&[], &no_env), None);
}

#[test]
fn a_file_that_is_not_xml_is_named_without_quoting_it() {
    let err = parse("/p/NuGet.Config", "<configuration><s3cret").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "/p/NuGet.Config is not a NuGet.Config opp can read: not well-formed XML at line 1"
        ),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[test]
fn a_source_key_names_its_url() {
    let text = config(&format!("    <add key=\"Feed\" value=\"{URL}\" />\n"), "");
    let files = [file("/p/NuGet.Config", &text)];
    assert_eq!(source_url("feed", &files, &no_env).as_deref(), Some(URL));
    assert_eq!(source_url("other", &files, &no_env), None);
}

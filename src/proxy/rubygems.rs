//! The RubyGems frontend of `opp proxy`: a gem source under `/rubygems/` over the store, as
//! `gem` and Bundler read one (docs/protocols.md §5): the compact index (`/versions`,
//! `/info/NAME`, `/names`), the full index (`specs.4.8.gz` and friends), the Marshal
//! gemspecs `gem install` needs (`/quick/Marshal.4.8/*.gemspec.rz`), the `.gem` files, and
//! `gem push` (`POST /rubygems/api/v1/gems`). The environment it hands a child makes the
//! proxy gem's and Bundler's only source and `gem push`'s host, leaving nothing behind in
//! the user's home or project.
//!
//! It does not bind sockets, make certificates or run the child (`server.rs`, `tls.rs`,
//! `child.rs`), and knows nothing of the OCI layout: gems are read and pushed through
//! [`crate::packages::Packages`], parsed by [`crate::ecosystem::rubygems`].
//!
//! Submodules: `catalog` (the store's gems, cached per version), `compact` (compact index
//! bodies, pure), `marshal` (Ruby Marshal of specs, pure), `platform` (platform names), `index` and `files` (the read
//! routes), `upload` (`gem push`), `error` (what a failed request answers).

mod catalog;
mod compact;
mod error;
mod files;
mod index;
mod marshal;
pub(crate) mod platform;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::access::url_with_password;
use super::not_stored::Notices;
use super::{ChildContext, Frontend, ProxyState, SharedState};

/// The path every route of this frontend starts with.
const PREFIX: &str = "/rubygems";
/// The gemrc written for a child.
pub const GEMRC_NAME: &str = "gemrc";
/// Bundler's mirror setting for every gem source (`Bundler::Settings::MirrorConfig`): the
/// proxy stands in for rubygems.org and for any private gem server a Gemfile names.
const MIRROR_ALL: &str = "mirror.all";

/// The RubyGems frontend.
pub struct RubygemsFrontend;

impl RubygemsFrontend {
    /// The source URL gem and Bundler install from (with a trailing slash).
    pub fn source_url(base_url: &str) -> String {
        format!("{base_url}{PREFIX}/")
    }

    /// The host `gem push` posts to (`{host}/api/v1/gems`).
    pub fn push_host(base_url: &str) -> String {
        format!("{base_url}{PREFIX}")
    }
}

#[async_trait::async_trait]
impl Frontend for RubygemsFrontend {
    fn name(&self) -> &'static str {
        "rubygems"
    }

    fn router(&self) -> Router<SharedState> {
        let catalog = Arc::new(catalog::Catalog::default());
        // Pushes stream to a temporary file and count against `--max-upload-size` themselves.
        let push = post(upload::push).layer(DefaultBodyLimit::disable());
        Router::new()
            .route("/rubygems", get(index::root))
            .route("/rubygems/", get(index::root))
            .route("/rubygems/versions", get(index::versions))
            .route("/rubygems/info/{name}", get(index::info))
            .route("/rubygems/names", get(index::names))
            .route("/rubygems/specs.4.8.gz", get(index::specs))
            .route("/rubygems/latest_specs.4.8.gz", get(index::latest_specs))
            .route(
                "/rubygems/prerelease_specs.4.8.gz",
                get(index::prerelease_specs),
            )
            .route("/rubygems/quick/Marshal.4.8/{file}", get(files::quick_spec))
            .route("/rubygems/gems/{file}", get(files::gem))
            .route("/rubygems/api/v1/gems", push)
            .layer(axum::Extension(catalog))
            .layer(axum::Extension(Arc::new(Notices::default())))
    }

    async fn child_env(
        &self,
        state: &ProxyState,
        ctx: &ChildContext,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let source = state
            .access
            .url_with_credentials(&Self::source_url(&state.base_url));
        let gemrc = ctx.temp_dir.join(GEMRC_NAME);
        let text = gemrc_text(&source, ctx.ca_bundle.as_deref());
        write_private(&gemrc, &text).await?;
        let user_gemrc = user_gemrc(|k| std::env::var_os(k), dirs::home_dir());
        let secret = state.access.secret().to_owned();
        let host = url_host(&state.base_url);
        let mut env = vec![
            // RubyGems merges every file of GEMRC over the user's; its :sources: wins.
            (
                "GEMRC".to_owned(),
                gemrc_list(user_gemrc.as_deref(), &gemrc),
            ),
            // gem caches the specs it fetched per source; keep them out of the home directory.
            (
                "GEM_SPEC_CACHE".to_owned(),
                path_text(&ctx.temp_dir.join("gem-specs")),
            ),
            ("RUBYGEMS_HOST".to_owned(), Self::push_host(&state.base_url)),
            ("GEM_HOST_API_KEY".to_owned(), secret.clone()),
            // Bundler: every source of a Gemfile goes to the proxy (credentials in the URL),
            // a Gemfile naming the proxy itself finds its credentials by host.
            (bundle_key(MIRROR_ALL), source),
            (
                bundle_key(&host),
                format!("{}:{secret}", super::access::USER),
            ),
            (
                "BUNDLE_USER_CACHE".to_owned(),
                path_text(&ctx.temp_dir.join("bundle-cache")),
            ),
        ];
        if let Some(bundle) = &ctx.ca_bundle {
            env.push(("BUNDLE_SSL_CA_CERT".to_owned(), path_text(bundle)));
            env.push(("SSL_CERT_FILE".to_owned(), path_text(bundle)));
        }
        Ok(env)
    }

    /// Refers to the secret as `$OPP_PROXY_TOKEN` (exported just above), so that it is
    /// printed once.
    fn instructions(&self, state: &ProxyState, ctx: &ChildContext) -> String {
        let source = url_with_password(&Self::source_url(&state.base_url), "$OPP_PROXY_TOKEN");
        let host = Self::push_host(&state.base_url);
        let ssl = match &ctx.ca_bundle {
            Some(ca) => format!("SSL_CERT_FILE={} ", ca.display()),
            None => String::new(),
        };
        format!(
            "gem:        {ssl}gem install --clear-sources --source \"{source}\" GEM\n\
             bundler:    {ssl}BUNDLE_MIRROR__ALL=\"{source}\" bundle install\n\
             gem push:   {ssl}GEM_HOST_API_KEY=\"$OPP_PROXY_TOKEN\" gem push --host {host} GEM.gem\n"
        )
    }
}

/// The gemrc a child reads: the proxy as the only source, and the CA bundle to trust.
fn gemrc_text(source: &str, ca_bundle: Option<&Path>) -> String {
    let mut text = format!("---\n:sources:\n- \"{source}\"\n");
    if let Some(ca) = ca_bundle {
        text.push_str(&format!(":ssl_ca_cert: \"{}\"\n", ca.display()));
    }
    text
}

/// The user's own gemrc, as RubyGems finds it: `$GEMRC` (a list), else `~/.gemrc`, else
/// `$XDG_CONFIG_HOME/gem/gemrc` (`~/.config/gem/gemrc`); `None` when there is none.
pub fn user_gemrc(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
    home: Option<PathBuf>,
) -> Option<String> {
    if let Some(list) = var("GEMRC").filter(|v| !v.is_empty()) {
        return Some(list.to_string_lossy().into_owned());
    }
    let home = home?;
    let dot = home.join(".gemrc");
    if dot.is_file() {
        return Some(path_text(&dot));
    }
    let config = var("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(".config"), PathBuf::from)
        .join("gem/gemrc");
    config.is_file().then(|| path_text(&config))
}

/// `GEMRC` for the child: the user's files first, the proxy's last (later files win).
fn gemrc_list(user: Option<&str>, ours: &Path) -> String {
    match user {
        Some(user) => format!("{user}:{}", ours.display()),
        None => path_text(ours),
    }
}

/// The environment variable Bundler reads a setting from (`Bundler::Settings.key_for`):
/// `.` becomes `__`, `-` becomes `___`, all upper case.
fn bundle_key(setting: &str) -> String {
    format!(
        "BUNDLE_{}",
        setting
            .replace('.', "__")
            .replace('-', "___")
            .to_uppercase()
    )
}

/// The host of a base URL (`http://127.0.0.1:1234` -> `127.0.0.1`).
fn url_host(base_url: &str) -> String {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6).to_owned(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_owned(),
    }
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// Writes a file only its owner may read (it holds the proxy's secret).
async fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let (path, text) = (path.to_owned(), text.to_owned());
    tokio::task::spawn_blocking(move || super::workdir::write_private(&path, text.as_bytes()))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| anyhow::Error::new(e).context("cannot write the gemrc for the child"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundler_keys_are_spelled_as_bundler_settings_spells_them() {
        assert_eq!(
            bundle_key("mirror.https://rubygems.org/"),
            "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/"
        );
        assert_eq!(bundle_key(MIRROR_ALL), "BUNDLE_MIRROR__ALL");
        assert_eq!(bundle_key("127.0.0.1"), "BUNDLE_127__0__0__1");
        assert_eq!(bundle_key("my-host.test"), "BUNDLE_MY___HOST__TEST");
    }

    #[test]
    fn hosts_come_out_of_base_urls() {
        assert_eq!(url_host("http://127.0.0.1:1234"), "127.0.0.1");
        assert_eq!(url_host("https://localhost:99"), "localhost");
        assert_eq!(url_host("https://[::1]:99"), "::1");
    }

    #[test]
    fn the_gemrc_names_only_the_proxy_and_the_users_own_files_come_first() {
        let text = gemrc_text(
            "http://opp:s@127.0.0.1:1/rubygems/",
            Some(Path::new("/t/ca.pem")),
        );
        assert_eq!(
            text,
            "---\n:sources:\n- \"http://opp:s@127.0.0.1:1/rubygems/\"\n:ssl_ca_cert: \"/t/ca.pem\"\n"
        );
        assert_eq!(
            gemrc_list(Some("/h/.gemrc"), Path::new("/t/gemrc")),
            "/h/.gemrc:/t/gemrc"
        );
        assert_eq!(gemrc_list(None, Path::new("/t/gemrc")), "/t/gemrc");
        let home = tempfile::tempdir().expect("home");
        let none = |_: &str| None;
        assert_eq!(user_gemrc(none, Some(home.path().to_owned())), None);
        std::fs::write(home.path().join(".gemrc"), "---\n").expect("write");
        assert_eq!(
            user_gemrc(none, Some(home.path().to_owned())),
            Some(path_text(&home.path().join(".gemrc")))
        );
        let set = |k: &str| (k == "GEMRC").then(|| "/a:/b".into());
        assert_eq!(user_gemrc(set, None), Some("/a:/b".into()));
    }
}

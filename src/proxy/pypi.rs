//! The PyPI frontend of `opp proxy`: the Simple Repository API (PEP 503 HTML and PEP 691/700
//! JSON, with PEP 658/714 core metadata) over the store, the files themselves (with `HEAD` and
//! `Range`), and the legacy upload API that twine and `uv publish` speak. Every route is under
//! `/pypi/`; the environment it hands a child points pip, uv and twine at them.
//!
//! It does not bind sockets, make certificates or run the child (`server.rs`, `tls.rs`,
//! `child.rs`), and it knows nothing of the OCI layout: releases are read and pushed through
//! [`crate::packages::Packages`], wheels are described by [`crate::ecosystem::pypi`].
//!
//! Submodules: `negotiate` (which format an `Accept` header asks for), `page` (rendering the
//! pages, pure), `project` (reading a project from the store, with a small cache),
//! `upstream` (the `--upstream` fallback) and `links` (its relative links made absolute,
//! pure), `files` (file and `.metadata` bodies, ranges), `upload` (the
//! legacy upload), `error` (what a failed request answers), `detached` (running library
//! futures that rustc cannot prove `Send`).

mod error;
mod files;
mod links;
mod negotiate;
mod page;
mod project;
mod upload;
mod upstream;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::access::url_with_password;
use super::{ChildContext, Frontend, ProxyState, SharedState};

/// The path every route of this frontend starts with.
const PREFIX: &str = "/pypi";
/// The user name handed to pip, uv and twine beside the proxy's secret.
const USER: &str = super::access::USER;

/// The PyPI frontend: `/pypi/simple/` to install from, `/pypi/` to upload to.
pub struct PypiFrontend;

impl PypiFrontend {
    /// The index URL clients install from.
    pub fn index_url(base_url: &str) -> String {
        format!("{base_url}{PREFIX}/simple/")
    }

    /// The legacy upload URL twine and `uv publish` post to.
    pub fn upload_url(base_url: &str) -> String {
        format!("{base_url}{PREFIX}/")
    }
}

#[async_trait::async_trait]
impl Frontend for PypiFrontend {
    fn name(&self) -> &'static str {
        "pypi"
    }

    fn router(&self) -> Router<SharedState> {
        let shared = Arc::new(project::Shared::new());
        // Uploads stream to a temporary file, so they need no body limit.
        let upload = post(upload::upload).layer(DefaultBodyLimit::disable());
        Router::new()
            .route("/pypi/simple", get(project::redirect_root))
            .route("/pypi/simple/", get(project::root))
            .route("/pypi/simple/{project}", get(project::redirect_project))
            .route("/pypi/simple/{project}/", get(project::project))
            .route("/pypi/files/{project}/{version}/{file}", get(files::file))
            .route("/pypi/", upload.clone())
            .route("/pypi/legacy", upload.clone())
            .route("/pypi/legacy/", upload)
            .layer(axum::Extension(shared))
            .layer(axum::Extension(Arc::new(
                super::not_stored::Notices::default(),
            )))
    }

    async fn child_env(
        &self,
        state: &ProxyState,
        ctx: &ChildContext,
    ) -> anyhow::Result<Vec<(String, String)>> {
        // pip and uv send the index URL's credentials to every URL of the same host, the
        // files included; twine and uv publish take them apart.
        let index = state
            .access
            .url_with_credentials(&Self::index_url(&state.base_url));
        let upload = Self::upload_url(&state.base_url);
        let secret = state.access.secret().to_owned();
        let mut env: Vec<(&str, String)> = vec![
            ("PIP_INDEX_URL", index.clone()),
            ("PIP_DISABLE_PIP_VERSION_CHECK", "1".into()),
            ("UV_DEFAULT_INDEX", index.clone()),
            // uv before 0.4.23 knows only the older name.
            ("UV_INDEX_URL", index),
            ("TWINE_REPOSITORY_URL", upload.clone()),
            ("TWINE_USERNAME", USER.into()),
            ("TWINE_PASSWORD", secret.clone()),
            ("TWINE_NON_INTERACTIVE", "1".into()),
            ("UV_PUBLISH_URL", upload),
            ("UV_PUBLISH_USERNAME", USER.into()),
            ("UV_PUBLISH_PASSWORD", secret),
        ];
        if let Some(ca) = &ctx.ca_bundle {
            let ca = ca.display().to_string();
            // pip and twine go through requests, where REQUESTS_CA_BUNDLE wins over their own
            // settings; uv reads SSL_CERT_FILE, which replaces its roots (the bundle holds the
            // system roots too).
            env.extend([
                ("PIP_CERT", ca.clone()),
                ("REQUESTS_CA_BUNDLE", ca.clone()),
                ("TWINE_CERT", ca.clone()),
                ("SSL_CERT_FILE", ca),
            ]);
        }
        Ok(env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Refers to the secret as `$OPP_PROXY_TOKEN` (exported just above), so that it is
    /// printed once.
    fn instructions(&self, state: &ProxyState, ctx: &ChildContext) -> String {
        let index = format!(
            "\"{}\"",
            url_with_password(&Self::index_url(&state.base_url), "$OPP_PROXY_TOKEN")
        );
        let upload = Self::upload_url(&state.base_url);
        let (cert, ssl) = match &ctx.ca_bundle {
            Some(ca) => (
                format!(" --cert {}", ca.display()),
                format!("SSL_CERT_FILE={} ", ca.display()),
            ),
            None => (String::new(), String::new()),
        };
        format!(
            "pip:        pip install --index-url {index}{cert} PACKAGE\n\
             uv:         {ssl}uv pip install --default-index {index} PACKAGE\n\
             twine:      twine upload --repository-url {upload}{cert} -u {USER} -p \"$OPP_PROXY_TOKEN\" dist/*\n\
             uv publish: {ssl}uv publish --publish-url {upload} -u {USER} -p \"$OPP_PROXY_TOKEN\" dist/*\n"
        )
    }
}

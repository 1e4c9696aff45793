//! The Terraform / OpenTofu frontend of `opp proxy`: the provider network mirror protocol
//! (`/terraform/providers/`) and the module registry protocol (`/terraform/modules/v1/`) over
//! the store, and the CLI configuration that points `terraform` and `tofu` at them, with the
//! proxy's secret as their `credentials` token. The archives (provider and module zips) are
//! handed out as signed short-lived URLs, as terraform fetches them without its token.
//!
//! Submodules: `mirror` (provider index, version and zip routes), `modules` (module
//! versions, download and zip routes), `cli_config` (the generated CLI config file and how a
//! user's own config is carried into it). What a provider or module is in OCI is
//! `packages::provider` and `packages::module`; binding, TLS and the child process are the
//! proxy's server, not this module.

mod cli_config;
mod mirror;
mod modules;

use std::path::{Path, PathBuf};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::failure::{Dialect, Failed, Failure};
use super::{ChildContext, Frontend, ProxyState, Scheme, SharedState};
use crate::release::Ecosystem;

pub use cli_config::{CONFIG_FILE_NAME, CliConfig, user_config_path};

/// The path prefix of every route of this frontend.
const PREFIX: &str = "/terraform";

/// Serves providers and modules of the store to Terraform and OpenTofu.
pub struct TerraformFrontend;

#[async_trait::async_trait]
impl Frontend for TerraformFrontend {
    fn name(&self) -> &'static str {
        "terraform"
    }

    fn router(&self) -> axum::Router<SharedState> {
        mirror::routes().merge(modules::routes())
    }

    async fn child_env(
        &self,
        state: &ProxyState,
        ctx: &ChildContext,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let user = user_config_path(|k| std::env::var_os(k), dirs::home_dir());
        let path = write_cli_config(state, ctx, user.as_deref()).await?;
        let mut env = vec![("TF_CLI_CONFIG_FILE".to_owned(), path_text(&path))];
        if let Some(bundle) = &ctx.ca_bundle {
            env.push(("SSL_CERT_FILE".to_owned(), path_text(bundle)));
        }
        Ok(env)
    }

    /// Terraform and OpenTofu accept a provider network mirror only over https.
    fn scheme(&self, _ctx: &ChildContext) -> Scheme {
        Scheme::Https
    }

    fn plain_http_warning(&self, ctx: &ChildContext) -> Option<String> {
        let ours = ctx
            .program()
            .is_none_or(|p| p.starts_with("terraform") || p.starts_with("tofu"));
        ours.then(|| {
            "--http: Terraform and OpenTofu accept a provider mirror only over https, so the \
             store's providers are not offered to them in this run (they install providers \
             from their registries; modules still come from the proxy); drop --http to serve \
             providers"
                .to_owned()
        })
    }

    fn instructions(&self, state: &ProxyState, ctx: &ChildContext) -> String {
        let path = ctx.temp_dir.join(CONFIG_FILE_NAME);
        // The file lists the providers the store holds; it exists once `child_env` ran.
        let config = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            CliConfig {
                base_url: &state.base_url,
                module_host: &state.module_host,
                providers: &[],
                user: None,
                token: Some(state.access.secret()),
            }
            .render()
        });
        // The secret is printed once, as OPP_PROXY_TOKEN, by the caller.
        let config = config.replace(state.access.secret(), "$OPP_PROXY_TOKEN");
        let mut text = format!(
            "Terraform / OpenTofu: export TF_CLI_CONFIG_FILE={}\n",
            path.display()
        );
        if let Some(bundle) = &ctx.ca_bundle {
            text.push_str(&format!("  and SSL_CERT_FILE={}\n", bundle.display()));
        }
        text.push_str(&format!(
            "  modules: source = \"{}/NAMESPACE/NAME/SYSTEM\"\n  \
             the CLI configuration (the file holds the token itself):\n",
            state.module_host
        ));
        for line in config.lines() {
            text.push_str("    ");
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// Writes the CLI configuration for a child into `ctx.temp_dir` (`opp.tfrc`): the providers
/// the store holds through the network mirror, every other provider `direct`, the module
/// host, and what `user_config` (the user's own CLI config file, when any) holds besides
/// those. Returns the file's path.
pub async fn write_cli_config(
    state: &ProxyState,
    ctx: &ChildContext,
    user_config: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let providers = state
        .packages()
        .packages(Ecosystem::TerraformProvider)
        .await
        .map_err(|e| anyhow::Error::new(e).context("cannot list the providers in the store"))?;
    let user = match user_config {
        Some(path) => cli_config::read_user_config(path).await?,
        None => None,
    };
    let text = CliConfig {
        base_url: &state.base_url,
        module_host: &state.module_host,
        providers: &providers,
        user: user.as_ref(),
        token: Some(state.access.secret()),
    }
    .render();
    let path = ctx.temp_dir.join(CONFIG_FILE_NAME);
    // Owner-only: it holds the secret.
    super::workdir::write_private(&path, text.as_bytes())
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())))?;
    Ok(path)
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// How Terraform and OpenTofu read a failed request: the status and `{"errors": [...]}`.
/// What failed and which status that is are shared by every frontend (`proxy::failure`).
struct TerraformJson;

impl Dialect for TerraformJson {
    const NAME: &'static str = "terraform";

    fn render(status: StatusCode, reason: &str) -> Response {
        let body = serde_json::json!({ "errors": [reason] });
        (status, Json(body)).into_response()
    }
}

/// What a Terraform handler answers when it fails.
type ApiError = Failed<TerraformJson>;

/// A 200 reply streaming one blob of the store, with its size as `Content-Length`.
async fn blob_response(
    state: &ProxyState,
    repository: &str,
    file: &crate::release::DistFile,
) -> Result<Response, Failure> {
    use axum::http::header;
    let body = super::blob::body(state, repository, &file.digest, file.size).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, file.size.to_string()),
        ],
        body,
    )
        .into_response())
}

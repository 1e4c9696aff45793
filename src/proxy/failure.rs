//! Why a request to any frontend failed, once for all of them: [`Failure`] (what went wrong),
//! its HTTP status (one table, [`Failure::status`], so a package the store does not have is a
//! `404` for pip, nuget, gem and terraform alike) and the one-line reason with its causes and
//! hints ([`crate::error::reason`], the same text opp's own report lines use). A
//! frontend only says how its client reads a failure ([`Dialect`]: plain text for pip, twine
//! and gem, a reason phrase for nuget.exe, Terraform's `{"errors": [...]}`); its handlers
//! answer `Result<_, Failed<TheirDialect>>`. Server errors are logged here, once, as they
//! leave a frontend.

use std::marker::PhantomData;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::artifact::ArtifactError;
use crate::error::Diagnostic;
use crate::mapper::MapError;
use crate::packages::PackageError;
use crate::store::StoreError;

pub use crate::error::chain;

/// Why a request failed, whatever the client.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The package, version or file is not in the store (or cannot be: the name is not one
    /// the mapper accepts).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is malformed: a form, a field, a file that is not a package.
    #[error("{0}")]
    BadRequest(String),
    /// A package received whole that cannot be read (RubyGems' answer to a bad `.gem`).
    #[error("{0}")]
    Unprocessable(String),
    /// The file is stored with other bytes.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than `--max-upload-size`.
    #[error("{0}")]
    TooLarge(String),
    #[error("none of the formats in the Accept header is served here: {0}")]
    NotAcceptable(String),
    /// An upstream index (`--upstream`) failed.
    #[error("the upstream index {url}: {detail}")]
    Upstream { url: String, detail: String },
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Something on the proxy's side: a temporary file, a response that cannot be built.
    #[error("{action}: {source}")]
    Internal {
        action: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Package(PackageError::Store(e))
    }
}

impl From<MapError> for Failure {
    fn from(e: MapError) -> Failure {
        Failure::Package(PackageError::Map(e))
    }
}

impl Failure {
    /// `map_err` for an I/O step: the failure says `action` and the cause.
    pub fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Failure {
        let action = action.into();
        move |source| Failure::Internal {
            action,
            source: Box::new(source),
        }
    }

    /// A failure on the proxy's side, with its cause.
    pub fn internal(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Failure {
        Failure::Internal {
            action: action.into(),
            source: source.into(),
        }
    }

    /// The HTTP status every frontend answers.
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::Conflict(_) => StatusCode::CONFLICT,
            Failure::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Failure::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Failure::Package(e) => package_status(e),
            Failure::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The one line a client prints: the failure, its causes and what to do about it.
    pub fn reason(&self) -> String {
        crate::error::reason(self)
    }
}

/// A failure of the store's asks the store's error, which the transparent variant hides from
/// the chain of causes; the proxy's own failures have no advice beyond their message.
impl Diagnostic for Failure {
    fn kind(&self) -> Option<crate::error::Kind> {
        match self {
            Failure::Package(e) => e.kind(),
            _ => None,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            Failure::Package(e) => e.hints(),
            _ => Vec::new(),
        }
    }
}

/// A name or version the mapper refuses is not in the store, nor is what the store does not
/// have; a conflicting file is the client's to resolve; a store that cannot be reached, or
/// that gives a blob failing its digest, is a bad gateway; a lost race is worth a retry.
pub fn package_status(e: &PackageError) -> StatusCode {
    match e {
        PackageError::Map(_) | PackageError::NotFound(_) | PackageError::SymbolsAlone { .. } => {
            StatusCode::NOT_FOUND
        }
        PackageError::Artifact(ArtifactError::Conflict { .. }) => StatusCode::CONFLICT,
        PackageError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
        PackageError::Store(StoreError::Unreachable { .. } | StoreError::Unauthorized { .. })
        | PackageError::Store(StoreError::Registry { .. } | StoreError::Corrupt { .. }) => {
            StatusCode::BAD_GATEWAY
        }
        PackageError::Race { .. } | PackageError::Store(StoreError::Transient { .. }) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// How one frontend's clients read a failed request.
pub trait Dialect {
    /// The frontend's name in log lines (`pypi`, `terraform`).
    const NAME: &'static str;
    /// The response carrying `reason` with `status`.
    fn render(status: StatusCode, reason: &str) -> Response;
}

/// A failure as one frontend answers it: what handlers of that frontend return.
pub struct Failed<D>(pub Failure, PhantomData<D>);

impl<D> Failed<D> {
    pub fn new(failure: Failure) -> Failed<D> {
        Failed(failure, PhantomData)
    }
}

impl<D> std::fmt::Debug for Failed<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<D> From<Failure> for Failed<D> {
    fn from(e: Failure) -> Failed<D> {
        Failed::new(e)
    }
}

impl<D> From<PackageError> for Failed<D> {
    fn from(e: PackageError) -> Failed<D> {
        Failed::new(e.into())
    }
}

impl<D> From<StoreError> for Failed<D> {
    fn from(e: StoreError) -> Failed<D> {
        Failed::new(e.into())
    }
}

impl<D> From<MapError> for Failed<D> {
    fn from(e: MapError) -> Failed<D> {
        Failed::new(e.into())
    }
}

impl<D: Dialect> IntoResponse for Failed<D> {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let reason = self.0.reason();
        if status.is_server_error() {
            tracing::warn!("{} proxy: {reason}", D::NAME);
        } else {
            tracing::debug!("{} proxy: {status}: {reason}", D::NAME);
        }
        D::render(status, &reason)
    }
}

/// `reason` as a `text/plain` body on one line: what pip, twine, uv, gem and Bundler print.
pub fn plain_text(status: StatusCode, reason: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{reason}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_are_joined_once() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(chain(&e), "outer: disk full");
        let internal = Failure::io("cannot write x")(std::io::Error::other("disk full"));
        assert_eq!(internal.reason(), "cannot write x: disk full");
    }

    #[test]
    fn the_reason_carries_the_hints_of_a_store_error() {
        let unreachable: Failure = StoreError::Unreachable {
            registry: "r.example".into(),
            source: "connection refused".into(),
        }
        .into();
        assert_eq!(
            unreachable.reason(),
            "cannot reach r.example: connection refused; check that r.example is the right \
             address and the registry is running (--registry / OPP_REGISTRY)"
        );
    }

    fn not_found() -> StoreError {
        StoreError::NotFound {
            what: "repository pypi/x".into(),
            location: "127.0.0.1:5000/pypi/x".into(),
        }
    }

    /// Every failure and the status every frontend answers it with, each case reported.
    #[test]
    fn every_failure_maps_to_one_status() {
        let conflict = PackageError::Artifact(ArtifactError::Conflict {
            file: "a".into(),
            stored: crate::digest::Digest::of(b"a"),
            new: crate::digest::Digest::of(b"b"),
        });
        let cases: Vec<(&str, Failure, StatusCode)> = vec![
            (
                "not found",
                Failure::NotFound("x".into()),
                StatusCode::NOT_FOUND,
            ),
            (
                "store: no such repository",
                not_found().into(),
                StatusCode::NOT_FOUND,
            ),
            (
                "a name the mapper refuses",
                crate::mapper::Mapper::normalize_package(
                    crate::release::Ecosystem::TerraformProvider,
                    "a/b/c/d/e",
                )
                .map(|_| ())
                .map_err(Failure::from)
                .expect_err("not a provider address"),
                StatusCode::NOT_FOUND,
            ),
            (
                "a library not-found",
                PackageError::NotFound("x".into()).into(),
                StatusCode::NOT_FOUND,
            ),
            (
                "bad request",
                Failure::BadRequest("x".into()),
                StatusCode::BAD_REQUEST,
            ),
            (
                "unprocessable",
                Failure::Unprocessable("x".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "conflict",
                Failure::Conflict("x".into()),
                StatusCode::CONFLICT,
            ),
            ("stored conflict", conflict.into(), StatusCode::CONFLICT),
            (
                "too large",
                Failure::TooLarge("x".into()),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                "not acceptable",
                Failure::NotAcceptable("x".into()),
                StatusCode::NOT_ACCEPTABLE,
            ),
            (
                "upstream",
                Failure::Upstream {
                    url: "u".into(),
                    detail: "d".into(),
                },
                StatusCode::BAD_GATEWAY,
            ),
            (
                "unreachable store",
                StoreError::Unreachable {
                    registry: "r".into(),
                    source: "refused".into(),
                }
                .into(),
                StatusCode::BAD_GATEWAY,
            ),
            (
                "a lost race",
                PackageError::Race { what: "x".into() }.into(),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                "internal",
                Failure::internal("cannot build", "no"),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(_, f, want)| f.status() != *want)
            .map(|(name, f, want)| format!("{name}: {} instead of {want}", f.status()))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    struct Json;
    impl Dialect for Json {
        const NAME: &'static str = "test";
        fn render(status: StatusCode, reason: &str) -> Response {
            (
                status,
                axum::Json(serde_json::json!({ "errors": [reason] })),
            )
                .into_response()
        }
    }

    #[test]
    fn a_frontend_renders_the_shared_status_in_its_dialect() {
        let response = Failed::<Json>::from(not_found()).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let text = plain_text(StatusCode::CONFLICT, "x.whl exists");
        assert_eq!(text.status(), StatusCode::CONFLICT);
        assert_eq!(
            text.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }
}

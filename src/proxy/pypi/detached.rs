//! Runs a library future that rustc cannot prove `Send`, so that a handler calling it still
//! is. `Packages::release` and `Packages::push` drive `stream::iter(..).map(closure)` over
//! borrowed items; proving such a future `Send` needs the closure to hold for every lifetime,
//! which rustc cannot show (rust-lang/rust#102211), and axum requires `Send` handlers. The
//! future is built and driven on a blocking-pool thread of its own, where it never moves;
//! its I/O still runs on the runtime.

use std::future::Future;

use super::error::ProxyError;

pub async fn run<T, F, Fut>(what: String, make: F) -> Result<T, ProxyError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, ProxyError>>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(make()))
        .await
        .map_err(|e| ProxyError::Io {
            action: what,
            source: std::io::Error::other(e),
        })?
}

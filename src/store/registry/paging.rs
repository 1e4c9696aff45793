//! Collects a paginated name list (`/tags/list`, `/_catalog`) by asking for pages of `n`
//! names after `last`, as the distribution spec allows, without the `Link` header that
//! oci-client does not expose.
//!
//! Registries that ignore `n` or `last` must not make this loop forever: Debian's
//! docker-registry 2.8 returns every tag, unsorted, whatever is asked. So collection stops
//! when a page is shorter than `n` (the end), larger than `n` (`n` ignored: it was the whole
//! list), or brings no name not seen yet (`last` ignored). This module does no I/O itself.

use std::collections::HashSet;
use std::future::Future;

/// Calls `fetch(last)` for successive pages of at most `page_size` names and returns every
/// distinct name, in the order first seen.
pub(super) async fn collect<F, Fut, E>(page_size: usize, mut fetch: F) -> Result<Vec<String>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Vec<String>, E>>,
{
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let mut last = None;
    loop {
        let page = fetch(last.take()).await?;
        let len = page.len();
        let next_last = page.last().cloned();
        let before = names.len();
        for name in page {
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
        let progressed = names.len() > before;
        if len != page_size || !progressed {
            if len > page_size {
                tracing::debug!(len, page_size, "the registry ignored the page size");
            }
            return Ok(names);
        }
        last = next_last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn all() -> Vec<String> {
        (0..25).map(|i| format!("t{i:02}")).collect()
    }

    /// Serves `all()` honouring `n` and, when `honour_last`, `last`.
    fn spec_page(n: usize, last: Option<String>, honour_last: bool) -> Vec<String> {
        let all = all();
        let start = match last {
            Some(l) if honour_last => all.iter().position(|t| *t == l).map_or(0, |i| i + 1),
            _ => 0,
        };
        all.into_iter().skip(start).take(n).collect()
    }

    async fn run(n: usize, f: impl Fn(Option<String>) -> Vec<String>) -> (Vec<String>, usize) {
        let calls = Cell::new(0);
        let names = collect::<_, _, ()>(n, |last| {
            calls.set(calls.get() + 1);
            assert!(calls.get() < 100, "pagination did not stop");
            let page = f(last);
            async move { Ok(page) }
        })
        .await
        .unwrap();
        (names, calls.get())
    }

    #[tokio::test]
    async fn follows_a_registry_that_honours_n_and_last() {
        let (names, calls) = run(10, |last| spec_page(10, last, true)).await;
        assert_eq!(names, all());
        assert_eq!(calls, 3);
        // An exact multiple ends with an empty page.
        let (names, calls) = run(5, |last| spec_page(5, last, true)).await;
        assert_eq!(names, all());
        assert_eq!(calls, 6);
    }

    #[tokio::test]
    async fn stops_when_the_registry_ignores_n() {
        let (mut names, calls) = run(10, |_| {
            let mut a = all();
            a.reverse();
            a
        })
        .await;
        names.sort();
        assert_eq!(names, all());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn stops_when_the_registry_ignores_last() {
        let (names, calls) = run(10, |last| spec_page(10, last, false)).await;
        assert_eq!(names.len(), 10);
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn an_empty_list_is_one_call() {
        let (names, calls) = run(10, |_| Vec::new()).await;
        assert!(names.is_empty());
        assert_eq!(calls, 1);
    }
}

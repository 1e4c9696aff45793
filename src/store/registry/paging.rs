//! Collects a paginated name list (`/tags/list`, `/_catalog`). A page's `Link: <...>;
//! rel="next"` header is followed wherever it points on the registry (distribution 3, ghcr.io
//! and Harbor paginate so, and their pages may be shorter than asked: only a page without a
//! next link is the last). Without a `Link`, pages of `n` names after `last` are asked for,
//! as the distribution spec allows.
//!
//! Registries that ignore `n` or `last` must not make this loop forever: Debian's
//! docker-registry 2.8 returns every tag, unsorted, whatever is asked. So, without a `Link`,
//! collection stops when a page is shorter than `n` (the end), larger than `n` (`n` ignored:
//! it was the whole list), or brings no name not seen yet (`last` ignored); with one, it stops
//! when a page brings nothing new. This module does no I/O itself.

use std::collections::HashSet;
use std::future::Future;

/// One page of names, and the path and query its `Link` header names as the next page.
pub(super) struct Page {
    pub names: Vec<String>,
    pub next: Option<String>,
}

/// Which page to ask for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ask {
    /// The first page: `?n=<page size>`.
    First,
    /// `?n=<page size>&last=<name>`.
    After(String),
    /// The path and query a `Link` header gave.
    Link(String),
}

/// Calls `fetch` for successive pages and returns every distinct name, in the order first seen.
pub(super) async fn collect<F, Fut, E>(page_size: usize, mut fetch: F) -> Result<Vec<String>, E>
where
    F: FnMut(Ask) -> Fut,
    Fut: Future<Output = Result<Page, E>>,
{
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let mut ask = Ask::First;
    loop {
        let page = fetch(ask).await?;
        let len = page.names.len();
        let last = page.names.last().cloned();
        let before = names.len();
        for name in page.names {
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
        let progressed = names.len() > before;
        ask = match (page.next, last) {
            (Some(link), _) if progressed => Ask::Link(link),
            (None, Some(last)) if len == page_size && progressed => Ask::After(last),
            _ => {
                if len > page_size {
                    tracing::debug!(len, page_size, "the registry ignored the page size");
                }
                return Ok(names);
            }
        };
    }
}

/// The path and query of the `rel="next"` target among `Link` header values, resolved
/// against `base` (`http://host`). Only its path and query are kept: the next page is asked
/// from the same registry, with the same credentials, whatever host the link names.
pub(super) fn next_link<'a>(
    values: impl IntoIterator<Item = &'a str>,
    base: &str,
) -> Option<String> {
    let base = reqwest::Url::parse(base).ok()?;
    for value in values {
        for link in value.split(',') {
            let mut parts = link.split(';');
            let Some(target) = parts
                .next()
                .map(str::trim)
                .and_then(|t| t.strip_prefix('<'))
                .and_then(|t| t.strip_suffix('>'))
            else {
                continue;
            };
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("rel")
                        && v.trim()
                            .trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            if !is_next {
                continue;
            }
            let url = base.join(target).ok()?;
            return Some(match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn all() -> Vec<String> {
        (0..25).map(|i| format!("t{i:02}")).collect()
    }

    /// Serves `all()` honouring `n` and, when `honour_last`, `last`; no `Link`.
    fn spec_page(n: usize, ask: Ask, honour_last: bool) -> Page {
        let all = all();
        let start = match ask {
            Ask::After(l) if honour_last => all.iter().position(|t| *t == l).map_or(0, |i| i + 1),
            _ => 0,
        };
        Page {
            names: all.into_iter().skip(start).take(n).collect(),
            next: None,
        }
    }

    async fn run(n: usize, f: impl Fn(Ask) -> Page) -> (Vec<String>, usize) {
        let calls = Cell::new(0);
        let names = collect::<_, _, ()>(n, |ask| {
            calls.set(calls.get() + 1);
            assert!(calls.get() < 100, "pagination did not stop");
            let page = f(ask);
            async move { Ok(page) }
        })
        .await
        .unwrap();
        (names, calls.get())
    }

    #[tokio::test]
    async fn follows_a_registry_that_honours_n_and_last() {
        let (names, calls) = run(10, |ask| spec_page(10, ask, true)).await;
        assert_eq!(names, all());
        assert_eq!(calls, 3);
        // An exact multiple ends with an empty page.
        let (names, calls) = run(5, |ask| spec_page(5, ask, true)).await;
        assert_eq!(names, all());
        assert_eq!(calls, 6);
    }

    #[tokio::test]
    async fn follows_link_headers_even_past_short_pages() {
        // Pages of 3 names though 10 were asked, each naming the next by `Link`.
        let (names, calls) = run(10, |ask| {
            let start = match ask {
                Ask::First => 0,
                Ask::Link(l) => l
                    .trim_start_matches("/v2/x/tags/list?from=")
                    .parse()
                    .unwrap(),
                Ask::After(l) => panic!("asked after {l} though a link was given"),
            };
            let names: Vec<String> = all().into_iter().skip(start).take(3).collect();
            let next = (start + 3 < 25).then(|| format!("/v2/x/tags/list?from={}", start + 3));
            Page { names, next }
        })
        .await;
        assert_eq!(names, all());
        assert_eq!(calls, 9);
    }

    #[tokio::test]
    async fn a_link_that_brings_nothing_new_ends_the_list() {
        let (names, calls) = run(10, |_| Page {
            names: vec!["a".into()],
            next: Some("/v2/x/tags/list?again".into()),
        })
        .await;
        assert_eq!(names, vec!["a".to_owned()]);
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn stops_when_the_registry_ignores_n() {
        let (mut names, calls) = run(10, |_| {
            let mut a = all();
            a.reverse();
            Page {
                names: a,
                next: None,
            }
        })
        .await;
        names.sort();
        assert_eq!(names, all());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn stops_when_the_registry_ignores_last() {
        let (names, calls) = run(10, |ask| spec_page(10, ask, false)).await;
        assert_eq!(names.len(), 10);
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn an_empty_list_is_one_call() {
        let (names, calls) = run(10, |_| Page {
            names: Vec::new(),
            next: None,
        })
        .await;
        assert!(names.is_empty());
        assert_eq!(calls, 1);
    }

    #[test]
    fn next_links_are_read_relative_or_absolute_and_kept_on_the_registry() {
        let base = "http://127.0.0.1:5000";
        assert_eq!(
            next_link([r#"</v2/a/tags/list?last=b&n=2>; rel="next""#], base).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(
                [r#"<https://elsewhere.example/v2/_catalog?last=x&n=100>; rel=next"#],
                base
            )
            .as_deref(),
            Some("/v2/_catalog?last=x&n=100")
        );
        assert_eq!(
            next_link(
                [r#"</v2/a/tags/list?p=1>; rel="prev", </v2/a/tags/list?p=3>; rel="next""#],
                base
            )
            .as_deref(),
            Some("/v2/a/tags/list?p=3")
        );
        assert_eq!(
            next_link([r#"</v2/a/tags/list?p=1>; rel="prev""#], base),
            None
        );
        assert_eq!(next_link(["garbage"], base), None);
        assert_eq!(next_link([], base), None);
    }
}

//! PEP 691 content negotiation: which of the three served formats (v1 JSON, v1 HTML, plain
//! `text/html`) an `Accept` header (or a `?format=` override) prefers. Pure; the pages
//! themselves are `page`.

/// The PEP 691 JSON media type.
pub const JSON: &str = "application/vnd.pypi.simple.v1+json";
/// The PEP 691 HTML media type.
pub const HTML: &str = "application/vnd.pypi.simple.v1+html";
/// What a browser gets.
const TEXT_HTML: &str = "text/html; charset=utf-8";

/// A served format and the `Content-Type` it goes out with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html { content_type: &'static str },
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Html { content_type } => content_type,
        }
    }
}

/// The served formats, in the order that breaks ties, with the media ranges naming each
/// (most specific first).
const CANDIDATES: [(Format, [&str; 4]); 3] = [
    (
        Format::Json,
        [
            JSON,
            "application/vnd.pypi.simple.latest+json",
            "application/*",
            "*/*",
        ],
    ),
    (
        Format::Html { content_type: HTML },
        [
            HTML,
            "application/vnd.pypi.simple.latest+html",
            "application/*",
            "*/*",
        ],
    ),
    (
        Format::Html {
            content_type: TEXT_HTML,
        },
        ["text/html", "text/html", "text/*", "*/*"],
    ),
];

/// The format to answer with. `format` is the `?format=` query value, which wins over the
/// header; no header means `*/*`. `None` when nothing acceptable is served (406).
pub fn choose(accept: Option<&str>, format: Option<&str>) -> Option<Format> {
    let accept = format.or(accept).unwrap_or("*/*");
    let ranges = parse(accept);
    let mut best: Option<(Format, f32)> = None;
    for (format, names) in CANDIDATES {
        // The most specific range that names this format decides its quality.
        let q = names
            .iter()
            .find_map(|name| {
                ranges
                    .iter()
                    .filter(|(r, _)| r == name)
                    .map(|(_, q)| *q)
                    .reduce(f32::max)
            })
            .unwrap_or(0.0);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((format, q));
        }
    }
    best.map(|(f, _)| f)
}

/// `(media range in lower case, q)` for each element of an Accept header.
fn parse(accept: &str) -> Vec<(String, f32)> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let q = pieces
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())?;
            Some((range, q.clamp(0.0, 1.0)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML_V1: Format = Format::Html { content_type: HTML };
    const BROWSER: Format = Format::Html {
        content_type: TEXT_HTML,
    };

    #[test]
    fn pip_and_uv_get_json() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        let uv = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
        assert_eq!(choose(Some(pip), None), Some(Format::Json));
        assert_eq!(choose(Some(uv), None), Some(Format::Json));
    }

    #[test]
    fn html_clients_and_browsers_get_html() {
        assert_eq!(choose(Some("text/html"), None), Some(BROWSER));
        assert_eq!(choose(Some(HTML), None), Some(HTML_V1));
        assert_eq!(
            choose(
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                None
            ),
            Some(BROWSER)
        );
        assert_eq!(
            choose(Some("application/vnd.pypi.simple.latest+html"), None),
            Some(HTML_V1)
        );
    }

    #[test]
    fn no_header_or_anything_gets_json() {
        assert_eq!(choose(None, None), Some(Format::Json));
        assert_eq!(choose(Some("*/*"), None), Some(Format::Json));
    }

    #[test]
    fn the_query_overrides_the_header_and_nothing_acceptable_is_none() {
        assert_eq!(choose(Some(JSON), Some("text/html")), Some(BROWSER));
        assert_eq!(choose(Some("image/png"), None), None);
        assert_eq!(
            choose(Some("application/vnd.pypi.simple.v1+json;q=0"), None),
            None
        );
    }
}

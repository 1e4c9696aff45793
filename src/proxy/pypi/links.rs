//! Making the file links of an upstream index page absolute, so that they still point at the
//! upstream index once the proxy serves the page from its own URL. Static PEP 503 trees,
//! devpi and Artifactory write relative links (`../../packages/x.whl#sha256=...`); passed on
//! unchanged, a client would resolve them against the proxy and get 404s. Pure: text and the
//! page's URL in, text out; a page with nothing relative comes back as it was.
//!
//! HTML (PEP 503): the `href` of every `<a>` is resolved against the page's URL, or against
//! its `<base href>` when it has one, as a browser and pip do. The scanner is written here
//! (opp has no HTML parser, and a rewriting one such as lol_html brings a CSS selector engine
//! for what is one attribute of one element): it knows tags, quoted and unquoted attribute
//! values and the character references a URL may carry, and leaves everything else alone.
//! JSON (PEP 691): the `url` of every entry of `files`.

use std::borrow::Cow;

use reqwest::Url;

/// `page` (PEP 503 HTML) with the `href` of every `<a>` absolute.
pub fn absolute_html<'a>(page: &'a str, url: &Url) -> Cow<'a, str> {
    let tags = tags(page);
    let base = tags
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case("base"))
        .and_then(|t| t.href.as_ref())
        .and_then(|h| url.join(&decode(&page[h.clone()])).ok())
        .unwrap_or_else(|| url.clone());
    let mut out = String::new();
    let mut copied = 0;
    for tag in &tags {
        let Some(href) = tag.href.clone() else {
            continue;
        };
        if !tag.name.eq_ignore_ascii_case("a") {
            continue;
        }
        let value = decode(&page[href.clone()]);
        if Url::parse(&value).is_ok() {
            continue; // already absolute
        }
        let Ok(absolute) = base.join(&value) else {
            continue;
        };
        out.push_str(&page[copied..tag.value_start]);
        out.push('"');
        out.push_str(&crate::proxy::escape(absolute.as_str()));
        out.push('"');
        copied = tag.value_end;
    }
    if copied == 0 {
        return Cow::Borrowed(page);
    }
    out.push_str(&page[copied..]);
    Cow::Owned(out)
}

/// `page` (PEP 691 JSON) with the `url` of every file absolute; `None` when nothing changed
/// (or the page is not the JSON it should be: it is then passed on as it is).
pub fn absolute_json(page: &[u8], url: &Url) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(page).ok()?;
    let mut changed = false;
    for file in value.get_mut("files")?.as_array_mut()? {
        let Some(link) = file.get_mut("url") else {
            continue;
        };
        let Some(text) = link.as_str() else {
            continue;
        };
        if Url::parse(text).is_ok() {
            continue;
        }
        if let Ok(absolute) = url.join(text) {
            *link = serde_json::Value::String(absolute.into());
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    serde_json::to_vec(&value).ok()
}

/// An element's start tag: its name, and where its `href` value is (without quotes), and
/// where that value starts and ends with its quotes.
struct Tag<'a> {
    name: &'a str,
    href: Option<std::ops::Range<usize>>,
    value_start: usize,
    value_end: usize,
}

/// The start tags of `page`, comments skipped.
fn tags(page: &str) -> Vec<Tag<'_>> {
    let bytes = page.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(offset) = page[i..].find('<') {
        i += offset + 1;
        if page[i..].starts_with("!--") {
            i = page[i..].find("-->").map_or(page.len(), |end| i + end + 3);
            continue;
        }
        let name_end = i + page[i..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(page.len() - i);
        if name_end == i {
            continue; // `</x>`, `<!DOCTYPE>`, a stray `<`
        }
        let mut tag = Tag {
            name: &page[i..name_end],
            href: None,
            value_start: 0,
            value_end: 0,
        };
        i = name_end;
        // Attributes, up to the `>` that ends the tag.
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                break;
            }
            let attr_start = i;
            while i < bytes.len() && !b" \t\r\n\x0c/>=".contains(&bytes[i]) {
                i += 1;
            }
            let attr = &page[attr_start..i];
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let value_start = i;
            let value = match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = page[i + 1..]
                        .find(q as char)
                        .map_or(page.len(), |e| i + 1 + e);
                    i = (end + 1).min(page.len());
                    (value_start + 1)..end
                }
                _ => {
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                    value_start..i
                }
            };
            if attr.eq_ignore_ascii_case("href") && tag.href.is_none() {
                tag.href = Some(value);
                tag.value_start = value_start;
                tag.value_end = i;
            }
        }
        found.push(tag);
    }
    found
}

/// An attribute value with its character references (`&amp;`, `&#38;`, `&#x26;`, ...)
/// decoded; an unknown one stays as written.
fn decode(value: &str) -> Cow<'_, str> {
    if !value.contains('&') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&s| s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("http://127.0.0.1:8000/simple/six/").expect("url")
    }

    #[test]
    fn relative_links_resolve_against_the_page_and_absolute_ones_stay() {
        let page = "<!DOCTYPE html><html><body>\n\
            <a href=\"../../packages/six-1.16.0-py2.py3-none-any.whl#sha256=8a\" \
            data-requires-python=\">=2.7\">six-1.16.0-py2.py3-none-any.whl</a><br/>\n\
            <A HREF='six-1.15.0.tar.gz?a=1&amp;b=2'>six-1.15.0.tar.gz</A>\n\
            <a href=https://files.example/six-1.0.tar.gz>abs</a>\n\
            <!-- <a href=\"ignored\"> -->\n</body></html>";
        let out = absolute_html(page, &page_url());
        assert_eq!(
            out,
            "<!DOCTYPE html><html><body>\n\
            <a href=\"http://127.0.0.1:8000/packages/six-1.16.0-py2.py3-none-any.whl#sha256=8a\" \
            data-requires-python=\">=2.7\">six-1.16.0-py2.py3-none-any.whl</a><br/>\n\
            <A HREF=\"http://127.0.0.1:8000/simple/six/six-1.15.0.tar.gz?a=1&amp;b=2\">six-1.15.0.tar.gz</A>\n\
            <a href=https://files.example/six-1.0.tar.gz>abs</a>\n\
            <!-- <a href=\"ignored\"> -->\n</body></html>"
        );
    }

    #[test]
    fn a_base_element_is_what_links_resolve_against() {
        let page = "<html><head><base href=\"/mirror/\"></head>\
                    <a href=\"six-1.16.0.tar.gz\">x</a></html>";
        let out = absolute_html(page, &page_url());
        assert!(
            out.contains("href=\"http://127.0.0.1:8000/mirror/six-1.16.0.tar.gz\""),
            "{out}"
        );
    }

    #[test]
    fn a_page_with_only_absolute_links_is_returned_as_it_is() {
        let page = "<a href=\"https://files.example/six.whl\">six.whl</a>";
        assert!(matches!(absolute_html(page, &page_url()), Cow::Borrowed(_)));
        assert!(matches!(absolute_html("<a", &page_url()), Cow::Borrowed(_)));
        assert!(matches!(
            absolute_html("<a href='x", &page_url()),
            Cow::Owned(_)
        ));
    }

    #[test]
    fn json_file_urls_are_made_absolute() {
        let page = br#"{"meta":{"api-version":"1.0"},"name":"six","files":[
            {"filename":"six.whl","url":"../../packages/six.whl","hashes":{}},
            {"filename":"six.tar.gz","url":"https://files.example/six.tar.gz","hashes":{}}]}"#;
        let out = absolute_json(page, &page_url()).expect("changed");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            value["files"][0]["url"],
            "http://127.0.0.1:8000/packages/six.whl"
        );
        assert_eq!(value["files"][1]["url"], "https://files.example/six.tar.gz");
        let absolute = br#"{"files":[{"url":"https://files.example/six.whl"}]}"#;
        assert_eq!(absolute_json(absolute, &page_url()), None);
    }

    #[test]
    fn character_references_are_decoded() {
        assert_eq!(decode("a&amp;b&#38;c&#x26;d&bogus;e&"), "a&b&c&d&bogus;e&");
    }
}

//! `.terraform.lock.hcl`: writing or updating one provider's block as `opp lock` does.
//! [`update_lock_file`] replaces that provider's `provider "<address>" { ... }` block, or
//! inserts it where Terraform's ordering puts it, and leaves every other byte of the file as
//! it was (header comment, other providers, `module` blocks). The block is formatted exactly
//! as Terraform's `depsfile` writes it (checked against terraform 1.0.3 and 1.15.5). It
//! reads only what it needs of HCL: top-level blocks, and `version`, `constraints` and
//! `hashes` inside the block it replaces. Pure: text in, text out.

use super::{ProviderAddress, ProviderError};

/// What `opp lock` records for one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockEntry {
    /// The fully qualified address, `registry.terraform.io/<namespace>/<type>`.
    pub address: String,
    /// The selected version, semver.
    pub version: String,
    /// Terraform's canonical constraint string (a `Constraint`'s `Display`), if any.
    pub constraints: Option<String>,
    /// `h1:...` and `zh:...` hashes, in any order (written sorted and without duplicates).
    pub hashes: Vec<String>,
}

impl LockEntry {
    pub fn new(address: &ProviderAddress, version: &str, hashes: Vec<String>) -> LockEntry {
        LockEntry {
            address: address.to_string(),
            version: version.to_string(),
            constraints: None,
            hashes,
        }
    }
}

const HEADER: &str = "# This file is maintained automatically by \"terraform init\".\n\
                      # Manual edits may be lost in future updates.\n";

/// The new text of `.terraform.lock.hcl` (`existing` is its current text, `None` when there
/// is no file yet) with `entry`'s block written in. An existing block of the same provider
/// is replaced: its `constraints` are kept when `entry` has none, and when it locks the same
/// version its hashes are kept too (as `terraform providers lock` does). A new block goes
/// before the first provider whose address sorts after it (Terraform's order), else after
/// the last provider block.
pub fn update_lock_file(
    existing: Option<&str>,
    entry: &LockEntry,
) -> Result<String, ProviderError> {
    let text = existing.unwrap_or("");
    let blocks = provider_blocks(text)?;
    let mut hashes = entry.hashes.clone();
    let mut constraints = entry.constraints.clone();
    if let Some(old) = blocks.iter().find(|b| b.address == entry.address) {
        if constraints.is_none() {
            constraints = old.constraints.clone();
        }
        if old.version.as_deref() == Some(entry.version.as_str()) {
            hashes.extend(old.hashes.iter().cloned());
        }
        let block = render(entry, constraints.as_deref(), hashes);
        return Ok(format!("{}{block}{}", &text[..old.start], &text[old.end..]));
    }
    let block = render(entry, constraints.as_deref(), hashes);
    let key = address_key(&entry.address);
    if let Some(next) = blocks.iter().find(|b| address_key(&b.address) > key) {
        return Ok(format!(
            "{}{block}\n{}",
            &text[..next.start],
            &text[next.start..]
        ));
    }
    if let Some(last) = blocks.last() {
        return Ok(format!(
            "{}\n{block}{}",
            &text[..last.end],
            &text[last.end..]
        ));
    }
    if text.trim().is_empty() {
        return Ok(format!("{HEADER}\n{block}"));
    }
    let separator = if text.ends_with('\n') { "" } else { "\n" };
    Ok(format!("{text}{separator}\n{block}"))
}

/// Terraform sorts providers by hostname, then namespace, then type.
fn address_key(address: &str) -> Vec<&str> {
    address.split('/').collect()
}

/// A provider block as Terraform's `SaveLocksToFile` writes it (hclwrite alignment: `=`
/// aligned across `version` and `constraints`, not across the multi-line `hashes`).
fn render(entry: &LockEntry, constraints: Option<&str>, mut hashes: Vec<String>) -> String {
    hashes.sort();
    hashes.dedup();
    let mut out = format!("provider {} {{\n", quote(&entry.address));
    match constraints {
        Some(c) => {
            out += &format!("  version     = {}\n", quote(&entry.version));
            out += &format!("  constraints = {}\n", quote(c));
        }
        None => out += &format!("  version = {}\n", quote(&entry.version)),
    }
    if !hashes.is_empty() {
        out += "  hashes = [\n";
        for hash in &hashes {
            out += &format!("    {},\n", quote(hash));
        }
        out += "  ]\n";
    }
    out += "}\n";
    out
}

/// An HCL quoted string (as hclwrite writes a cty string).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out += "\\\\",
            '"' => out += "\\\"",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One top-level `provider "<address>" { ... }` block of an existing lock file.
#[derive(Debug)]
struct ProviderBlock {
    address: String,
    /// From the start of its line to the end of the line holding its closing brace.
    start: usize,
    end: usize,
    version: Option<String>,
    constraints: Option<String>,
    hashes: Vec<String>,
}

#[derive(Debug, PartialEq)]
enum Kind {
    Word(String),
    Str(String),
    Punct(char),
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn provider_blocks(text: &str) -> Result<Vec<ProviderBlock>, ProviderError> {
    let tokens = tokenize(text)?;
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        if depth == 0
            && token.kind == Kind::Word("provider".to_string())
            && let (Some(Kind::Str(address)), Some(Kind::Punct('{'))) = (
                tokens.get(i + 1).map(|t| &t.kind),
                tokens.get(i + 2).map(|t| &t.kind),
            )
        {
            let close = matching_brace(text, &tokens, i + 2)?;
            let mut block = ProviderBlock {
                address: address.clone(),
                start: line_start(text, token.start),
                end: line_end(text, tokens[close].end),
                version: None,
                constraints: None,
                hashes: Vec::new(),
            };
            read_attributes(&tokens[i + 3..close], &mut block);
            blocks.push(block);
            i = close + 1;
            continue;
        }
        match token.kind {
            Kind::Punct('{' | '[' | '(') => depth += 1,
            Kind::Punct('}' | ']' | ')') => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    invalid(text, token.start, "a closing bracket has no opening one")
                })?;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(blocks)
}

/// The index of the token closing the brace at `open`.
fn matching_brace(text: &str, tokens: &[Token], open: usize) -> Result<usize, ProviderError> {
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().skip(open) {
        match token.kind {
            Kind::Punct('{' | '[' | '(') => depth += 1,
            Kind::Punct('}' | ']' | ')') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(index);
                }
            }
            _ => {}
        }
    }
    Err(invalid(
        text,
        tokens[open].start,
        "this block is never closed",
    ))
}

/// `version = "..."`, `constraints = "..."` and `hashes = ["...", ...]` at the top of a block
/// body.
fn read_attributes(body: &[Token], block: &mut ProviderBlock) {
    let mut depth = 0usize;
    for (i, token) in body.iter().enumerate() {
        match &token.kind {
            Kind::Punct('{' | '[' | '(') => depth += 1,
            Kind::Punct('}' | ']' | ')') => depth = depth.saturating_sub(1),
            Kind::Word(name) if depth == 0 => {
                let value = |offset: usize| body.get(i + offset).map(|t| &t.kind);
                if value(1) != Some(&Kind::Punct('=')) {
                    continue;
                }
                match (name.as_str(), value(2)) {
                    ("version", Some(Kind::Str(v))) => block.version = Some(v.clone()),
                    ("constraints", Some(Kind::Str(c))) => block.constraints = Some(c.clone()),
                    ("hashes", Some(Kind::Punct('['))) => {
                        block.hashes = body[i + 3..]
                            .iter()
                            .take_while(|t| t.kind != Kind::Punct(']'))
                            .filter_map(|t| match &t.kind {
                                Kind::Str(hash) => Some(hash.clone()),
                                _ => None,
                            })
                            .collect();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Words, quoted strings and punctuation; whitespace and `#`, `//`, `/* */` comments skipped.
fn tokenize(text: &str) -> Result<Vec<Token>, ProviderError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' || bytes[i..].starts_with(b"//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
        } else if bytes[i..].starts_with(b"/*") {
            let close = text[i + 2..]
                .find("*/")
                .ok_or_else(|| invalid(text, start, "a /* comment is never closed"))?;
            i += 2 + close + 2;
        } else if c == b'"' {
            let (value, end) = string(text, i)?;
            tokens.push(Token {
                kind: Kind::Str(value),
                start,
                end,
            });
            i = end;
        } else if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'-' | b'.'))
            {
                i += 1;
            }
            tokens.push(Token {
                kind: Kind::Word(text[start..i].to_string()),
                start,
                end: i,
            });
        } else {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            i += ch.len_utf8();
            tokens.push(Token {
                kind: Kind::Punct(ch),
                start,
                end: i,
            });
        }
    }
    Ok(tokens)
}

/// The quoted string opening at `open`: its value (escapes resolved) and the offset after
/// its closing quote.
fn string(text: &str, open: usize) -> Result<(String, usize), ProviderError> {
    let mut value = String::new();
    let mut chars = text[open + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => return Ok((value, open + 1 + offset + 1)),
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, other)) => value.push(other),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(invalid(text, open, "a quoted string is never closed"))
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |n| n + 1)
}

/// After the newline ending the line at `offset`, if only blanks follow on that line.
fn line_end(text: &str, offset: usize) -> usize {
    let rest = &text[offset..];
    match rest.find('\n') {
        Some(n) if rest[..n].trim().is_empty() => offset + n + 1,
        None if rest.trim().is_empty() => text.len(),
        _ => offset,
    }
}

fn invalid(text: &str, offset: usize, reason: &str) -> ProviderError {
    ProviderError::InvalidLockFile {
        line: text[..offset].matches('\n').count() + 1,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;

//! Everything opp shows a person: status lines and progress bars on stderr, tables and JSON
//! on stdout. Progress bars appear only when stderr is a terminal and `--quiet` is not given;
//! colours only when the terminal takes them and `NO_COLOR` is unset.
//!
//! Text that reaches the terminal goes through [`escape`] first (status lines, warnings,
//! table cells, progress labels, and error messages in `error::render`), because much of it
//! comes from packages and registries: a name, title or annotation could otherwise move the
//! cursor, rewrite the window title or hide a line. JSON output is left exact; serde escapes
//! control characters there itself.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use comfy_table::{Cell, ContentArrangement, Table, presets};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::{AsyncRead, ReadBuf};

#[derive(Clone)]
pub struct Output {
    quiet: bool,
    progress: bool,
    color: bool,
    multi: MultiProgress,
}

impl Output {
    pub fn new(quiet: bool) -> Output {
        let stderr_tty = std::io::stderr().is_terminal();
        let color = stderr_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let progress = stderr_tty && !quiet;
        let multi = MultiProgress::with_draw_target(if progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Output {
            quiet,
            progress,
            color,
            multi,
        }
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// A status line on stderr (not with `--quiet`).
    pub fn status(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            self.eprintln(&escape(msg.as_ref()));
        }
    }

    /// A warning on stderr, shown even with `--quiet`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        let prefix = if self.color {
            "\x1b[33mwarning\x1b[0m"
        } else {
            "warning"
        };
        self.eprintln(&format!("{prefix}: {}", escape(msg.as_ref())));
    }

    fn eprintln(&self, line: &str) {
        if self.progress {
            let _ = self.multi.println(line);
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// A byte-counting progress bar for one transfer (hidden when progress is off).
    #[expect(
        clippy::expect_used,
        reason = "the progress template is a constant that indicatif accepts"
    )]
    pub fn bar(&self, label: &str, total: u64) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:30!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}",
            )
            .expect("progress template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(escape(label).into_owned());
        bar
    }

    /// Prints a table on stdout.
    pub fn table(&self, headers: &[&str], rows: Vec<Vec<String>>) {
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(headers.iter().map(|h| Cell::new(h.to_uppercase())));
        if !self.color {
            table.force_no_tty();
        }
        for row in rows {
            table.add_row(row.iter().map(|cell| escape(cell).into_owned()));
        }
        let text = table.to_string();
        let mut out = std::io::stdout().lock();
        for line in text.lines() {
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }

    /// Prints a value as pretty JSON on stdout.
    #[expect(
        clippy::expect_used,
        reason = "what opp prints as JSON is its own Serialize types, with string keys: serializing cannot fail"
    )]
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).expect("output serializes");
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
}

/// `text` as a terminal may show it: every control character (C0 such as ESC, BEL, CR and
/// line feed; DEL; C1 such as CSI) written as `\x1b`, `\n`, `\u{9b}`, and every Unicode
/// bidirectional control (`\u{202e}` ...) likewise, so it can neither drive the terminal nor
/// reorder what is read. Other text, backslashes included, is left as it is.
///
/// Hand-written: what exists either strips escape sequences (`strip-ansi-escapes`, losing
/// what a person should see) or escapes more than this (`str::escape_debug` also escapes
/// quotes, backslashes and every non-printable Unicode character).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Control characters (Unicode category Cc) and the bidirectional formatting characters
/// ("Trojan Source", CVE-2021-42574).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Human-readable byte count (`1.5 MiB`).
pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// An [`AsyncRead`] that advances a progress bar by the bytes passing through.
pub struct ProgressReader<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R> ProgressReader<R> {
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        ProgressReader { inner, bar }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ProgressReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            this.bar.inc((buf.filled().len() - before) as u64);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_the_rest_is_kept() {
        for (raw, shown) in [
            ("six", "six"),
            ("a\x1b[31mred", "a\\x1b[31mred"),
            ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
            ("line\nerror: fake", "line\\nerror: fake"),
            ("cr\rtab\t", "cr\\rtab\\t"),
            ("del\x7f", "del\\x7f"),
            ("csi\u{9b}2J", "csi\\u{9b}2J"),
            ("abc\u{202e}cba", "abc\\u{202e}cba"),
            (
                "C:\\path caf\u{e9} \u{1f600}",
                "C:\\path caf\u{e9} \u{1f600}",
            ),
        ] {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
    }
}

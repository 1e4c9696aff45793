//! Everything opp shows a person: status lines and progress bars on stderr, tables and JSON
//! on stdout. Progress bars appear only when stderr is a terminal and `--quiet` is not given;
//! colours only when the terminal takes them and `NO_COLOR` is unset.

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
            self.eprintln(msg.as_ref());
        }
    }

    /// A warning on stderr, shown even with `--quiet`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        let prefix = if self.color {
            "\x1b[33mwarning\x1b[0m"
        } else {
            "warning"
        };
        self.eprintln(&format!("{prefix}: {}", msg.as_ref()));
    }

    fn eprintln(&self, line: &str) {
        if self.progress {
            let _ = self.multi.println(line);
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// A byte-counting progress bar for one transfer (hidden when progress is off).
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
        bar.set_message(label.to_owned());
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
            table.add_row(row);
        }
        let text = table.to_string();
        let mut out = std::io::stdout().lock();
        for line in text.lines() {
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }

    /// Prints a value as pretty JSON on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).expect("output serializes");
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
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

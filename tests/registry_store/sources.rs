//! Blob sources for the registry store tests: made on the fly, slow, stalled, or refusing
//! to be read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};

/// A source that fails if anything reads it.
pub struct MustNotBeRead;

impl AsyncRead for MustNotBeRead {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::other(
            "the source of a blob already there was read",
        )))
    }
}

/// `len` pseudo-random bytes made on the fly (xorshift), never held whole in memory.
pub struct Generated {
    left: u64,
    state: u64,
}

impl Generated {
    pub fn new(len: u64) -> Generated {
        Generated {
            left: len,
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }

    pub fn fill(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.left.try_into().unwrap_or(usize::MAX));
        for chunk in out[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        n
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// The process's peak resident memory so far, in bytes (Linux).
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A source that hands out `chunks` chunks of 64 KiB, one every `every`.
pub struct Slow {
    chunks: usize,
    every: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Slow {
    pub fn new(chunks: usize, every: Duration) -> Slow {
        Slow {
            chunks,
            every,
            sleep: Box::pin(tokio::time::sleep(every)),
        }
    }

    pub fn bytes(chunks: usize) -> Vec<u8> {
        let chunk: Vec<u8> = (0..65536).map(|i| (i % 251) as u8).collect();
        chunk.repeat(chunks)
    }
}

impl AsyncRead for Slow {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.chunks == 0 {
            return Poll::Ready(Ok(()));
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let every = self.every;
        self.sleep
            .as_mut()
            .reset(tokio::time::Instant::now() + every);
        let total = Slow::bytes(1);
        let n = total.len().min(buf.remaining());
        buf.put_slice(&total[..n]);
        if n == total.len() {
            self.chunks -= 1;
        } else {
            return Poll::Ready(Err(io::Error::other("read buffer smaller than a chunk")));
        }
        Poll::Ready(Ok(()))
    }
}

/// A source that never yields a byte.
pub struct Stalled;
impl AsyncRead for Stalled {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Pending
    }
}

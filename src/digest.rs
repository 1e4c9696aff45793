//! Content digests (`sha256:<hex>`) and a reader that checks one while bytes stream through.
//!
//! Every blob opp reads, from disk or from a registry, goes through [`VerifyingReader`]: a
//! reader that hashes what passes and fails at the end of the stream when the size or the
//! digest is not the one the descriptor promised. Callers write to a temporary file and keep
//! it only when the reader reached its end without error.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

/// A validated `sha256:<64 lowercase hex>` digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a sha256 digest (expected sha256: and 64 lowercase hex digits)")]
pub struct DigestParseError(String);

impl Digest {
    /// The digest of a byte slice.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(h: Sha256) -> Digest {
        Digest(format!("sha256:{}", hex::encode(h.finalize())))
    }

    /// The hex part, as used for `blobs/sha256/<hex>` and pip's `#sha256=`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Builds a digest from 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Digest, DigestParseError> {
        format!("sha256:{hex}").parse()
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(Digest(s.to_owned()))
        } else {
            Err(DigestParseError(s.to_owned()))
        }
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Incremental sha256 over streamed bytes.
#[derive(Default, Clone)]
pub struct Hasher {
    inner: Sha256,
    len: u64,
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.len += bytes.len() as u64;
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn finish(self) -> Digest {
        Digest::from_hasher(self.inner)
    }
}

/// An [`AsyncRead`] that checks size and digest of what it passes through. Reading past the
/// promised size, or reaching the end with another digest, is an `InvalidData` error whose
/// message names both digests.
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    expected_size: u64,
    /// Bytes seen so far.
    seen: u64,
    /// `None` once the end was checked; hashing is skipped in size-only mode.
    state: Option<Option<Hasher>>,
}

impl<R> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, expected_size: u64) -> Self {
        VerifyingReader {
            inner,
            expected,
            expected_size,
            seen: 0,
            state: Some(Some(Hasher::new())),
        }
    }

    /// Checks only the size, for a stream whose digest another layer already verifies (a
    /// registry checks what is uploaded; oci-client checks what is downloaded), so the bytes
    /// are not hashed twice.
    pub fn size_only(inner: R, expected: Digest, expected_size: u64) -> Self {
        VerifyingReader {
            inner,
            expected,
            expected_size,
            seen: 0,
            state: Some(None),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifyingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                let Some(hasher) = this.state.as_mut() else {
                    return Poll::Ready(Ok(())); // already verified; stay at EOF
                };
                if new.is_empty() {
                    let Some(hasher) = this.state.take() else {
                        return Poll::Ready(Ok(()));
                    };
                    if this.seen != this.expected_size {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "size mismatch for {}: expected {} bytes, got {}",
                                this.expected, this.expected_size, this.seen
                            ),
                        )));
                    }
                    if let Some(got) = hasher.map(Hasher::finish)
                        && got != this.expected
                    {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("digest mismatch: expected {}, got {}", this.expected, got),
                        )));
                    }
                    return Poll::Ready(Ok(()));
                }
                this.seen += new.len() as u64;
                if let Some(h) = hasher.as_mut() {
                    h.update(new);
                }
                if this.seen > this.expected_size {
                    // An error must not report bytes as read.
                    buf.set_filled(before);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "size mismatch for {}: more than the expected {} bytes",
                            this.expected, this.expected_size
                        ),
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn empty_config_digest_is_the_well_known_one() {
        assert_eq!(
            Digest::of(b"{}").as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn parse_rejects_other_algorithms_and_uppercase() {
        assert!("sha512:abcd".parse::<Digest>().is_err());
        assert!(
            format!("sha256:{}", "A".repeat(64))
                .parse::<Digest>()
                .is_err()
        );
        assert!(
            format!("sha256:{}", "a".repeat(63))
                .parse::<Digest>()
                .is_err()
        );
    }

    #[tokio::test]
    async fn verifying_reader_passes_matching_bytes_and_rejects_others() {
        let data = b"hello world".to_vec();
        let d = Digest::of(&data);
        let mut out = Vec::new();
        VerifyingReader::new(&data[..], d.clone(), data.len() as u64)
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(out, data);

        let err = VerifyingReader::new(&b"hello worle"[..], d.clone(), 11)
            .read_to_end(&mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");

        let err = VerifyingReader::new(&b"hello world!"[..], d, 11)
            .read_to_end(&mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");
    }

    #[tokio::test]
    async fn size_only_mode_checks_the_size_but_not_the_digest() {
        let d = Digest::of(b"hello world");
        let mut out = Vec::new();
        VerifyingReader::size_only(&b"hello worle"[..], d.clone(), 11)
            .read_to_end(&mut out)
            .await
            .unwrap();
        let err = VerifyingReader::size_only(&b"hello"[..], d, 11)
            .read_to_end(&mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");
    }
}

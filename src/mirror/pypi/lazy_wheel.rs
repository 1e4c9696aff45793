//! A wheel's METADATA read with HTTP range requests, without downloading the wheel (pip's
//! `lazy_wheel`, uv's range reader): for an index that serves no PEP 658 metadata. The tail of
//! the file is fetched first (it holds the zip's central directory, as a rule), then the zip
//! is read by the same reader `opp push` uses (`ecosystem::pypi::describe_reader`) over a
//! [`Sparse`] view of the parts fetched so far; a read outside them names the missing range,
//! which is fetched, and the read starts again. Typically two requests of a few KiB.
//!
//! What it reads is used to know dependencies only: the file is not verified (its sha256 needs
//! every byte), so nothing read here is stored; the wheel itself is checked when mirrored.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use reqwest::Url;

use crate::mirror::download::{self, Ranged, redacted};

/// The tail fetched first: the end-of-central-directory record (with a comment of at most
/// 64 KiB) and, for most wheels, the whole central directory.
const TAIL: u64 = 64 * 1024;
/// The least fetched for a missing range: a local header and a METADATA member in one go.
const MIN_PART: u64 = 32 * 1024;
/// Range requests per wheel before giving up (the caller then downloads it whole).
const MAX_PARTS: usize = 8;
/// The most any one range request may bring.
const MAX_PART: u64 = 16 * 1024 * 1024;

/// The parts of a file fetched so far, read as if it were the whole file: a read outside them
/// fails and records what was missing.
#[derive(Debug, Default)]
pub struct Sparse {
    len: u64,
    pos: u64,
    /// (start, bytes), not overlapping.
    parts: Vec<(u64, Vec<u8>)>,
    /// The first range a read wanted and could not have: (start, end).
    pub missing: Option<(u64, u64)>,
}

impl Sparse {
    pub fn new(len: u64) -> Sparse {
        Sparse {
            len,
            ..Sparse::default()
        }
    }

    /// Adds a fetched part; bytes already held are kept as they are.
    pub fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        let end = start + bytes.len() as u64;
        // Keep only what no part holds yet: cut the new part around the old ones.
        let mut pieces = vec![(start, end)];
        for (s, b) in &self.parts {
            let (s, e) = (*s, *s + b.len() as u64);
            pieces = pieces
                .into_iter()
                .flat_map(|(a, z)| {
                    let mut out = Vec::new();
                    if a < s.min(z) {
                        out.push((a, s.min(z)));
                    }
                    if e.max(a) < z {
                        out.push((e.max(a), z));
                    }
                    out
                })
                .collect();
        }
        for (a, z) in pieces {
            let from = (a - start) as usize;
            let to = (z - start) as usize;
            self.parts.push((a, bytes[from..to].to_vec()));
        }
    }

    fn part_at(&self, at: u64) -> Option<&[u8]> {
        self.parts.iter().find_map(|(s, b)| {
            let end = s + b.len() as u64;
            (at >= *s && at < end).then(|| &b[(at - s) as usize..])
        })
    }

    /// The start of the next part after `at`, or the end of the file.
    fn next_start(&self, at: u64) -> u64 {
        self.parts
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| *s > at)
            .min()
            .unwrap_or(self.len)
    }
}

impl Read for Sparse {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        match self.part_at(self.pos) {
            Some(held) => {
                let n = held.len().min(buf.len());
                buf[..n].copy_from_slice(&held[..n]);
                self.pos += n as u64;
                Ok(n)
            }
            None => {
                let end = (self.pos + buf.len() as u64)
                    .min(self.next_start(self.pos))
                    .min(self.len);
                self.missing.get_or_insert((self.pos, end));
                Err(io::Error::other("not fetched yet"))
            }
        }
    }
}

impl Seek for Sparse {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}

/// The range to fetch for a missing `(start, end)`: at least [`MIN_PART`], within the file.
pub fn widen(missing: (u64, u64), len: u64) -> (u64, u64) {
    let (start, end) = missing;
    (start, end.max(start + MIN_PART).min(len))
}

/// What reading a wheel's METADATA through ranges came to.
pub enum Lazy {
    /// The METADATA member's bytes.
    Metadata(Vec<u8>),
    /// The server ignored the range: here is the whole file coming (200), to keep.
    Whole(reqwest::Response),
    /// Ranges did not work out (or the zip wanted too many): download it whole.
    Unavailable(String),
}

/// The METADATA of the wheel `file_name` at `url`, read with range requests.
pub async fn metadata(client: &reqwest::Client, url: &Url, file_name: &str) -> Lazy {
    match read(client, url, file_name).await {
        Ok(lazy) => lazy,
        Err(why) => Lazy::Unavailable(why),
    }
}

async fn read(client: &reqwest::Client, url: &Url, file_name: &str) -> Result<Lazy, String> {
    let fetch = |range: String| async move {
        download::get_range(client, url, &range, MAX_PART)
            .await
            .map_err(|e| e.to_string())
    };
    let tail = match fetch(format!("bytes=-{TAIL}")).await? {
        Ranged::Part(part) => part,
        Ranged::Whole(response) => return Ok(Lazy::Whole(response)),
        Ranged::Unusable => {
            return Ok(Lazy::Unavailable(format!(
                "{} answered a range request with no usable range",
                redacted(url)
            )));
        }
    };
    let mut sparse = Sparse::new(tail.total);
    sparse.insert(tail.start, tail.bytes);
    for _ in 0..MAX_PARTS {
        let (start, end) = match step(&mut sparse, file_name) {
            Step::Metadata(m) => return Ok(Lazy::Metadata(m)),
            Step::Failed(why) => return Err(why),
            Step::Fetch(start, end) => (start, end),
        };
        tracing::debug!(
            "reading bytes {start}-{end} of {} for its METADATA",
            redacted(url)
        );
        match fetch(format!("bytes={start}-{}", end - 1)).await? {
            Ranged::Part(part) if part.total == tail.total => sparse.insert(part.start, part.bytes),
            _ => {
                return Ok(Lazy::Unavailable(format!(
                    "{} did not answer the range {start}-{end}",
                    redacted(url)
                )));
            }
        }
    }
    Ok(Lazy::Unavailable(format!(
        "reading {file_name}'s METADATA took more than {MAX_PARTS} range requests"
    )))
}

/// One try at reading the METADATA from what is held.
#[derive(Debug)]
pub enum Step {
    Metadata(Vec<u8>),
    /// Fetch this range (start, end) and try again.
    Fetch(u64, u64),
    /// The wheel cannot be read (not a zip, no METADATA, ...).
    Failed(String),
}

/// Reads the wheel's METADATA from what `sparse` holds, or says which range it needs first.
pub fn step(sparse: &mut Sparse, file_name: &str) -> Step {
    sparse.missing = None;
    sparse.pos = 0;
    let len = sparse.len;
    let outcome = crate::ecosystem::pypi::describe_reader(Path::new(file_name), &mut *sparse, len);
    match (outcome, sparse.missing.take()) {
        (_, Some(missing)) => {
            let (start, end) = widen(missing, len);
            Step::Fetch(start, end)
        }
        (Ok(dist), None) => match dist.metadata {
            Some(m) => Step::Metadata(m),
            None => Step::Failed(format!("{file_name} has no METADATA")),
        },
        (Err(e), None) => Step::Failed(crate::error::chain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wheel built in memory: `demo-1.0.dist-info/METADATA` and a filler member.
    fn wheel(filler: usize) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("demo/__init__.py", opts).unwrap();
        let noise: Vec<u8> = (0..filler).map(|i| (i * 7919 % 251) as u8).collect();
        zip.write_all(&noise).unwrap();
        zip.start_file("demo-1.0.dist-info/METADATA", opts).unwrap();
        zip.write_all(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six\n")
            .unwrap();
        zip.finish().unwrap().into_inner()
    }

    /// Reads the METADATA of `bytes` as [`read`] does, serving ranges from memory; returns it
    /// and the ranges asked for.
    fn read_from(bytes: &[u8], tail: u64) -> (Option<Vec<u8>>, Vec<(u64, u64)>) {
        let len = bytes.len() as u64;
        let start = len.saturating_sub(tail);
        let mut asked = vec![(start, len)];
        let mut sparse = Sparse::new(len);
        sparse.insert(start, bytes[start as usize..].to_vec());
        for _ in 0..MAX_PARTS {
            match step(&mut sparse, "demo-1.0-py3-none-any.whl") {
                Step::Fetch(a, z) => {
                    asked.push((a, z));
                    sparse.insert(a, bytes[a as usize..z as usize].to_vec());
                }
                Step::Metadata(m) => return (Some(m), asked),
                Step::Failed(why) => panic!("{why}"),
            }
        }
        (None, asked)
    }

    #[test]
    fn a_small_wheel_is_read_from_its_tail_alone() {
        let bytes = wheel(1000);
        let (metadata, asked) = read_from(&bytes, TAIL);
        assert!(metadata.unwrap().ends_with(b"Requires-Dist: six\n"));
        assert_eq!(asked.len(), 1, "{asked:?}");
    }

    #[test]
    fn a_large_wheel_costs_one_more_range_for_the_member() {
        // Incompressible filler pushes METADATA's local header out of a small tail.
        let bytes = wheel(200_000);
        let (metadata, asked) = read_from(&bytes, 4096);
        assert!(metadata.unwrap().ends_with(b"Requires-Dist: six\n"));
        assert!(asked.len() <= 3, "{asked:?}");
        let fetched: u64 = asked.iter().map(|(a, z)| z - a).sum();
        assert!(fetched < 100_000, "read {fetched} of {} bytes", bytes.len());
    }

    #[test]
    fn overlapping_parts_keep_what_was_held() {
        let mut s = Sparse::new(10);
        s.insert(2, vec![2, 3, 4]);
        s.insert(0, vec![0, 1, 9, 9, 9, 5, 6]);
        let mut all = vec![0; 7];
        s.read_exact(&mut all).unwrap();
        assert_eq!(all, [0, 1, 2, 3, 4, 5, 6]);
        let mut more = [0; 1];
        assert!(s.read(&mut more).is_err());
        assert_eq!(s.missing, Some((7, 8)));
    }
}

//! The one write semantics of every push: write the version under its tag, wait a short
//! randomized while, read it back, and write again (merged with what another writer stored)
//! until the tag holds everything this push carries, or give up after a bounded number of
//! rounds. Registries offer no compare-and-swap: a writer that read the old index before our
//! write can overwrite it afterwards, so "it was ours right after the write" proves nothing;
//! "it is still ours after longer than any writer's read-to-write gap" does (docs/architecture.md,
//! "Concurrent writers"). What "everything this push carries" means, and what to write, is the
//! [`Candidate`]'s: one merge per file (PyPI, NuGet, RubyGems) or the whole version (Terraform
//! providers and modules, and a module's `latest`).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use ring::rand::{SecureRandom, SystemRandom};

use super::{PackageError, Packages, Result};
use crate::store::{RawManifest, StoreError};

/// Rounds of write-and-verify before a push gives up.
const ROUNDS: usize = 24;
/// Registry errors on a read or the tag write tolerated in a row (a registry may answer 500
/// to a read while another writer rewrites the tag).
const TRANSIENT: usize = 6;
/// The shortest wait before verifying a write on a registry.
const MIN_SETTLE: Duration = Duration::from_millis(150);
/// The wait is at least this many times our own read-and-write time, as others' is likely alike.
const LATENCY_FACTOR: u32 = 4;

/// What one round decides from what the tag points at now.
pub(crate) enum Step {
    /// The tag holds everything this push carries.
    Present,
    /// It does not: point the tag at this manifest or index (already merged with what is
    /// there; its blobs and children are stored).
    Write(RawManifest),
}

/// One push's idea of the version: given the tag's current manifest, is it there, or what to
/// write. May fail, e.g. when another writer stored other bytes under the same file.
#[async_trait]
pub(crate) trait Candidate: Send + Sync {
    async fn judge(&self, pkgs: &Packages<'_>, current: Option<&RawManifest>) -> Result<Step>;
}

/// How a settled push ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The tag already held everything; nothing was written.
    Untouched,
    /// This push wrote the tag at least once, and the tag holds everything it carries.
    Written,
}

impl Packages<'_> {
    /// Writes `candidate` under `repo:tag` and verifies it as the module documentation says.
    /// `what` names the tag in messages.
    pub(crate) async fn settle(
        &self,
        repo: &str,
        tag: &str,
        what: &str,
        candidate: &dyn Candidate,
    ) -> Result<Settled> {
        // A store whose conditional write is a true compare-and-swap (the local layout, under
        // its lock) needs no waiting: a write that succeeded cannot be lost.
        let atomic = self.store.atomic_tag_writes();
        let mut pace = Pace::new();
        let mut transient = 0;
        let mut wrote = false;
        // Whether the last read came long enough after our last write to trust it.
        let mut settled = true;
        let mut current = self.read_tag(repo, tag, &mut transient, &pace).await?;
        for _ in 0..ROUNDS {
            match candidate.judge(self, current.as_ref()).await? {
                Step::Present if settled || atomic => {
                    return Ok(if wrote {
                        Settled::Written
                    } else {
                        Settled::Untouched
                    });
                }
                Step::Present => {
                    pace.settle().await;
                    settled = true;
                }
                Step::Write(manifest) => {
                    if wrote {
                        // Our earlier write is gone: another writer is at this tag.
                        pace.contend();
                    }
                    let expected = current.as_ref().map(|m| m.digest.clone());
                    let started = Instant::now();
                    match self
                        .store
                        .push_manifest_if(repo, &manifest, tag, expected.as_ref())
                        .await
                    {
                        Ok(true) => {
                            transient = 0;
                            wrote = true;
                            pace.observe(started.elapsed());
                            if atomic {
                                return Ok(Settled::Written);
                            }
                            pace.settle().await;
                            settled = true;
                        }
                        // Another writer moved the tag since we read it: merge with theirs.
                        Ok(false) => {
                            pace.observe(started.elapsed());
                            pace.contend();
                            pace.jitter().await;
                            settled = false;
                        }
                        // The write may or may not have landed: the read after the wait tells.
                        Err(e) if is_transient(&e) && transient < TRANSIENT => {
                            transient += 1;
                            wrote = true;
                            pace.contend();
                            pace.settle().await;
                            settled = true;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            current = self.read_tag(repo, tag, &mut transient, &pace).await?;
        }
        Err(PackageError::Race {
            what: what.to_owned(),
        })
    }

    /// What a tag points at, tolerating a few registry errors in a row (distribution answers
    /// 500 to a read that meets another writer's tag write).
    pub(crate) async fn read_tag_patiently(
        &self,
        repo: &str,
        tag: &str,
    ) -> Result<Option<RawManifest>> {
        self.read_tag(repo, tag, &mut 0, &Pace::new()).await
    }

    /// What the tag points at, tolerating a few registry errors in a row.
    async fn read_tag(
        &self,
        repo: &str,
        tag: &str,
        transient: &mut usize,
        pace: &Pace,
    ) -> Result<Option<RawManifest>> {
        loop {
            match self.store.resolve(repo, tag).await {
                Ok(m) => {
                    *transient = 0;
                    return Ok(m);
                }
                Err(e) if is_transient(&e) && *transient < TRANSIENT => {
                    *transient += 1;
                    pace.jitter().await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Errors a later attempt may not see: [`StoreError::Transient`]. Refusals (authentication, a
/// corrupt answer, a missing object) and steps whose retry budget is spent are final.
pub(crate) fn is_transient(e: &StoreError) -> bool {
    // Busy answers and broken connections were already retried by the store, within
    // --retry-timeout: what reaches here of them is final.
    matches!(e, StoreError::Transient { .. })
}

/// A random wait of up to 200 ms, before trying an upload again.
pub(crate) async fn short_wait() {
    let pace = Pace {
        latency: Duration::from_millis(100),
        ..Pace::new()
    };
    pace.jitter().await;
}

/// The waits of one push: long enough to outlast another writer's read-to-write gap,
/// randomized so that writers that collided once do not collide again in step.
struct Pace {
    rng: SystemRandom,
    latency: Duration,
    /// Another writer showed itself: it moved the tag under us, overwrote our write, or the
    /// registry failed a write. The waits then spread wider.
    contended: bool,
}

/// How far above its base a wait may go: a little while no other writer has shown itself
/// (safety comes from the base; the spread only keeps colliding writers out of step), up to
/// twice the base once one has.
const SPREAD_ALONE: f64 = 0.25;
const SPREAD_CONTENDED: f64 = 1.0;

impl Pace {
    fn new() -> Pace {
        Pace {
            rng: SystemRandom::new(),
            latency: Duration::ZERO,
            contended: false,
        }
    }

    /// Remembers the slowest read-and-write seen.
    fn observe(&mut self, took: Duration) {
        self.latency = self.latency.max(took);
    }

    /// Another writer is at this tag: spread the waits from now on.
    fn contend(&mut self) {
        self.contended = true;
    }

    /// The wait before verifying a write: the larger of [`MIN_SETTLE`] and
    /// [`LATENCY_FACTOR`] times the write latency, plus a random part of it (up to a quarter,
    /// or up to all of it once another writer has shown itself).
    fn settle_delay(&self) -> Duration {
        let base = MIN_SETTLE.max(self.latency * LATENCY_FACTOR);
        let spread = if self.contended {
            SPREAD_CONTENDED
        } else {
            SPREAD_ALONE
        };
        base + base.mul_f64(spread * self.unit())
    }

    async fn settle(&self) {
        tokio::time::sleep(self.settle_delay()).await;
    }

    /// A short random wait (up to twice the write latency, at least a few milliseconds).
    async fn jitter(&self) {
        let base = (self.latency * 2).max(Duration::from_millis(10));
        tokio::time::sleep(base.mul_f64(self.unit())).await;
    }

    /// A random number in [0, 1).
    fn unit(&self) -> f64 {
        let mut b = [0u8; 4];
        // The OS generator does not fail on supported systems; without it, waits are not random.
        let _ = self.rng.fill(&mut b);
        f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_outlasts_the_write_latency_and_is_randomized() {
        let mut pace = Pace::new();
        let d = pace.settle_delay();
        assert!(d >= MIN_SETTLE && d < MIN_SETTLE.mul_f64(1.25), "{d:?}");
        pace.observe(Duration::from_millis(400));
        let within = |pace: &Pace, low: u64, high: u64| {
            let waits: Vec<Duration> = (0..16).map(|_| pace.settle_delay()).collect();
            for w in &waits {
                assert!(
                    *w >= Duration::from_millis(low) && *w < Duration::from_millis(high),
                    "{w:?} not in {low}..{high} ms"
                );
            }
            assert!(waits.iter().any(|w| *w != waits[0]), "{waits:?}");
            waits.into_iter().max().unwrap_or_default()
        };
        // Alone: four times the latency, and up to a quarter more.
        within(&pace, 1600, 2000);
        // Once another writer has shown itself: up to twice that.
        pace.contend();
        let longest = within(&pace, 1600, 3200);
        assert!(longest >= Duration::from_millis(2000), "{longest:?}");
    }
}

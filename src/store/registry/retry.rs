//! When to try a registry request again, and how long to wait first: the pure half of opp's
//! retry policy, with no I/O (the loop that sleeps and resends is [`super::session`]).
//!
//! Retried: 429, 502, 503 and 504 on any step, 500 on a manifest or tag write (distribution
//! answers 500 to concurrent tag writes), and a connection reset or closed mid-request.
//! Not retried: everything else (401, 403, 404, a 400 digest error, a refused connection, a
//! timeout), which fails at once with its own message. The wait is capped exponential backoff
//! with jitter, or what the registry asked for when it said so: a `Retry-After` header
//! (seconds or an HTTP date) or ghcr.io's `retry-after: 10.3ms` inside the error body. All
//! tries of one step share a budget (`--retry-timeout`, a minute by default): a wait that
//! would end past it is not started.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

/// The default budget of one step, tries and waits together.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The first backoff; each further one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// What a request does, which decides what may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A read (GET, HEAD) or a blob upload started over from a fresh session.
    Read,
    /// A manifest or tag write (PUT): a 500 is retried too.
    ManifestWrite,
}

/// Whether an answer with `status` is worth another try.
pub(crate) fn retryable_status(status: StatusCode, step: Step) -> bool {
    match status.as_u16() {
        429 | 502 | 503 | 504 => true,
        500 => step == Step::ManifestWrite,
        _ => false,
    }
}

/// The wait before try number `tries + 1` (`tries` >= 1 done so far): the registry's own
/// delay when it gave one, else capped exponential backoff. `jitter` in [0, 1) picks a point
/// in the upper half of the backoff, so that many clients do not come back together.
pub(crate) fn delay(tries: u32, asked: Option<Duration>, jitter: f64) -> Duration {
    if let Some(asked) = asked {
        return asked;
    }
    let exp = FIRST_BACKOFF.saturating_mul(1u32 << tries.saturating_sub(1).min(16));
    let capped = exp.min(MAX_BACKOFF);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A `Retry-After` header value: delay-seconds or an HTTP date (RFC 9110 10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay an error body asks for, as ghcr.io writes it into its message:
/// `retry-after: 10.3ms, allowed: 44000/minute`. Units: ns, us, µs, ms, s, m.
pub(super) fn body_retry_after(body: &str) -> Option<Duration> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("retry-after")? + "retry-after".len();
    let rest = lower[start..].trim_start_matches([':', '"', ' ']);
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let number: f64 = rest[..number_end].parse().ok()?;
    let unit = rest[number_end..].trim_start();
    let seconds = if unit.starts_with("ms") {
        number / 1e3
    } else if unit.starts_with("us") || unit.starts_with("µs") {
        number / 1e6
    } else if unit.starts_with("ns") {
        number / 1e9
    } else if unit.starts_with("m") {
        number * 60.0
    } else {
        // `s`, or a bare number as in the header.
        number
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// Whether an I/O failure below a request means the connection broke (reset, closed, a
/// broken pipe, a message cut short): worth a fresh connection. A refused connection and a
/// timeout are not: the registry is not there, or not answering.
pub(super) fn broken_connection(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
            ) {
                return true;
            }
            // Our own source failing (a size or digest mismatch) is not the connection's fault.
            if io.kind() == K::InvalidData {
                return false;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// `1.5 s`, `250 ms`: a delay for a log line or a message.
pub(super) fn show(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        for s in [429, 502, 503, 504] {
            let s = StatusCode::from_u16(s).unwrap();
            assert!(retryable_status(s, Step::Read), "{s}");
            assert!(retryable_status(s, Step::ManifestWrite), "{s}");
        }
        for s in [200, 201, 400, 401, 403, 404, 405, 409, 416] {
            let s = StatusCode::from_u16(s).unwrap();
            assert!(!retryable_status(s, Step::Read), "{s}");
            assert!(!retryable_status(s, Step::ManifestWrite), "{s}");
        }
        let s500 = StatusCode::INTERNAL_SERVER_ERROR;
        assert!(retryable_status(s500, Step::ManifestWrite));
        assert!(!retryable_status(s500, Step::Read));
    }

    #[test]
    fn backoff_doubles_up_to_a_cap_and_jitters_in_its_upper_half() {
        assert_eq!(delay(1, None, 1.0), Duration::from_millis(250));
        assert_eq!(delay(1, None, 0.0), Duration::from_millis(125));
        assert_eq!(delay(2, None, 1.0), Duration::from_millis(500));
        assert_eq!(delay(3, None, 1.0), Duration::from_secs(1));
        assert_eq!(delay(10, None, 1.0), MAX_BACKOFF);
        assert_eq!(delay(200, None, 1.0), MAX_BACKOFF);
        assert_eq!(delay(200, None, 0.0), MAX_BACKOFF / 2);
    }

    #[test]
    fn the_registrys_delay_wins() {
        assert_eq!(
            delay(1, Some(Duration::from_secs(3)), 0.0),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        // A date in the past: go now.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn ghcr_writes_the_delay_into_the_error_body() {
        let body = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 10.3ms, allowed: 44000/minute"}]}"#;
        assert_eq!(body_retry_after(body), Some(Duration::from_micros(10_300)));
        assert_eq!(
            body_retry_after("Retry-After: 2s"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            body_retry_after("retry-after: 1.5"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            body_retry_after("retry-after: 2m"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(body_retry_after(r#"{"errors":[{"code":"DENIED"}]}"#), None);
        assert_eq!(body_retry_after("retry-after: soon"), None);
    }

    #[test]
    fn resets_are_broken_connections_but_refusals_and_bad_sources_are_not() {
        use std::io::{Error, ErrorKind};
        let reset = Error::new(ErrorKind::ConnectionReset, "reset by peer");
        assert!(broken_connection(&reset));
        let pipe = Error::new(ErrorKind::BrokenPipe, "broken pipe");
        assert!(broken_connection(&pipe));
        let refused = Error::new(ErrorKind::ConnectionRefused, "refused");
        assert!(!broken_connection(&refused));
        let bad = Error::new(ErrorKind::InvalidData, "size mismatch");
        assert!(!broken_connection(&bad));
        let timeout = Error::new(ErrorKind::TimedOut, "timed out");
        assert!(!broken_connection(&timeout));
    }
}

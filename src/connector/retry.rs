//! When to try a request again, and how long to wait: Graph's throttling guidance (honour
//! `Retry-After`, else exponential backoff), bounded in attempts and in total time per resource.
//!
//! Pure arithmetic: no clock reads and no sleeping here, so it is easy to test (the current time
//! a `Retry-After` date is measured from is passed in).

use std::time::{Duration, SystemTime};

/// Limits for one resource's reads. The defaults suit a scheduled job; tests use small values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay when the server gave no `Retry-After`.
    pub base_delay: Duration,
    /// No single wait is longer than this; a larger `Retry-After` ends the retries.
    pub max_delay: Duration,
    /// All requests and waits for one resource (every page, every fan-out id) fit in this.
    pub max_total: Duration,
    /// Each HTTP request, connect to last byte.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(120),
            max_total: Duration::from_secs(600),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Statuses that say "try again later": too many requests, and the server errors Graph's
/// guidance treats as transient (internal error, bad gateway, unavailable, gateway timeout).
/// Always within the attempt and time caps of a [`RetryPolicy`].
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// How long a `Retry-After` header asks to wait (RFC 9110 §10.2.3): a number of seconds, or an
/// HTTP date, measured from `now` (a date already past asks for no wait). `None` for a value
/// that is neither, which then counts as no header at all (exponential backoff).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: a number too large for u64 is still "longer than any wait allowed".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1` (attempt counts from 1), or `None` when the
    /// wait would exceed `max_delay`. `jitter` is a number in [0, 1).
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if let Some(wait) = retry_after {
            return (wait <= self.max_delay).then_some(wait);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        // "Equal jitter": half fixed, half random, so parallel readers spread out.
        let half = full / 2;
        Some(half + half.mul_f64(jitter.clamp(0.0, 1.0)))
    }
}

/// A number in [0, 1) that differs between calls, without a random-number crate.
pub fn jitter() -> f64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    f64::from(n) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn retry_after_is_honoured_as_given() {
        let wait = policy().delay(1, Some(Duration::from_secs(1)), 0.5);
        assert_eq!(wait, Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_beyond_the_cap_ends_the_retries() {
        assert_eq!(policy().delay(1, Some(Duration::from_secs(3)), 0.5), None);
    }

    #[test]
    fn backoff_doubles_and_stays_within_the_cap() {
        let p = policy();
        assert_eq!(p.delay(1, None, 0.0), Some(Duration::from_millis(50)));
        assert_eq!(p.delay(2, None, 0.0), Some(Duration::from_millis(100)));
        assert_eq!(p.delay(3, None, 0.5), Some(Duration::from_millis(300)));
        assert!(p.delay(30, None, 0.999).is_some_and(|d| d <= p.max_delay));
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 501, 505] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_747); // 1994-11-06 08:49:07
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        // The three date forms RFC 9110 says a recipient must accept, 30 s after `now`.
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(30)),
                "{date}"
            );
        }
        // A date already past: retry at once.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        // Beyond u64 seconds is still a number: longer than any allowed wait.
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for junk in ["", "soon", "-5", "1.5", "Sun, 06 Nov 1994"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk}");
        }
    }

    #[test]
    fn jitter_is_in_the_unit_interval() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}

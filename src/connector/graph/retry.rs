//! When to try a request again, and how long to wait: Graph's throttling guidance (honour
//! `Retry-After`, else exponential backoff), bounded in attempts and in total time per resource.
//!
//! Pure arithmetic: no clock reads and no sleeping here, so it is easy to test.

use std::time::Duration;

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

/// Statuses that say "try again later": too many requests, service unavailable, gateway timeout.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
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
    fn only_throttling_and_unavailable_statuses_are_retried() {
        for status in [429, 503, 504] {
            assert!(is_retryable_status(status));
        }
        for status in [400, 401, 403, 404, 500, 502] {
            assert!(!is_retryable_status(status));
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

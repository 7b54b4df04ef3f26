//! One request, made until it gets an answer worth keeping: retries of throttling and
//! unavailability (honouring `Retry-After`), one new token after a 401, a time budget per
//! resource. The same loop serves every service; what a service's error bodies say, and what a
//! 403 means there, comes from its [`ServiceErrors`].

use super::Secret;
use super::auth::TokenSource;
use super::retry::{RetryPolicy, is_retryable_status, jitter, parse_retry_after};
use super::transport::{Response, TransportError, content_length};
use reqwest::header::{LOCATION, RETRY_AFTER};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// A response as the connectors need it: the body read whole, under the size cap.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` (seconds or an HTTP date), when the server sent one.
    pub retry_after: Option<Duration>,
    /// `Location`, when the server sent one (a redirect).
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads `response`'s body, refusing it once it is longer than `limit` bytes.
    pub(crate) async fn read(response: Response, limit: u64) -> Result<Answer, TransportError> {
        let header = |name| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after =
            header(RETRY_AFTER).and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let location = header(LOCATION);
        let length = content_length(&response.headers);
        let body = response.body.read_to_end(limit, length).await?;
        Ok(Answer {
            status: response.status,
            retry_after,
            location,
            body,
        })
    }

    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

/// A resource that could not be read: what goes into the snapshot's `error` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    pub http_status: Option<u16>,
    pub error: String,
    /// The tenant does not have the service at all (no licence: the token endpoint knows no
    /// such resource), so nothing failed: the resource is recorded as not read, and a
    /// declaration may stand in for it as for a 403.
    pub unavailable: bool,
}

impl ReadFailure {
    pub fn new(http_status: Option<u16>, error: impl Into<String>) -> Self {
        ReadFailure {
            http_status,
            error: error.into(),
            unavailable: false,
        }
    }
}

/// What a successful read gives: the body as the snapshot stores it, and how many pages made it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBody {
    pub body: serde_json::Value,
    pub pages: u32,
    /// The SHA-256 of the file `body` makes, when the reader hashed it page by page.
    pub file_sha256: Option<crate::snapshot::FileSha256>,
    /// Its items keep only the members the scan's rules read (see `Collected::Read`).
    pub projected: bool,
}

impl ReadBody {
    /// A body kept whole and hashed when it is encoded: what every reader gives but Graph's
    /// paging of one collection ([`super::graph::paging`]), which hashes and may project as it
    /// reads.
    pub fn whole(body: serde_json::Value, pages: u32) -> Self {
        ReadBody {
            body,
            pages,
            file_sha256: None,
            projected: false,
        }
    }
}

/// How a service words its errors.
pub trait ServiceErrors {
    /// Why the service said 403, naming what to grant. `body` is whatever it sent (Exchange sends
    /// NUL bytes), `token` what the request carried (to be redacted, should the body repeat it).
    fn forbidden(&self, body: &[u8], token: &Secret) -> String;

    /// The service's error body as one line, the token redacted.
    fn describe(&self, body: &[u8], token: &Secret) -> String;

    /// Why the service still said 401 after a new token.
    fn unauthorized(&self, body: &[u8], token: &Secret) -> String {
        format!(
            "unauthorized even with a new token: {}",
            self.describe(body, token)
        )
    }

    /// Whether a redirect goes back to the caller to judge (the admin APIs' regional hosts);
    /// otherwise it ends the read with an error. No redirect is ever followed here.
    fn returns_redirects(&self) -> bool {
        false
    }
}

/// Sends the requests for one resource, within its retry policy and time budget.
pub struct Fetcher<'a> {
    pub tokens: &'a TokenSource,
    pub policy: &'a RetryPolicy,
    pub errors: &'a dyn ServiceErrors,
    /// The whole resource must be read before this instant.
    pub deadline: Instant,
}

impl Fetcher<'_> {
    /// Makes one request with `send` (given the current token) until it answers with a success
    /// (or a redirect, where the service returns them): retrying throttling, unavailability,
    /// timeouts and dropped connections, renewing the token once after a 401.
    pub async fn fetch<F, Fut>(&self, mut send: F) -> Result<Answer, ReadFailure>
    where
        F: FnMut(Secret) -> Fut,
        Fut: Future<Output = Result<Answer, TransportError>>,
    {
        let mut renewed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let token = self.tokens.token().await.map_err(|err| {
                // Named by audience: one service's token can be refused while the others are
                // issued (a service the tenant does not have: AADSTS500011).
                let unavailable =
                    matches!(err, crate::connector::auth::TokenError::NoSuchResource(_));
                ReadFailure {
                    unavailable,
                    ..ReadFailure::new(None, format!("for {}: {err}", self.tokens.scope()))
                }
            })?;
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ReadFailure::new(
                    None,
                    "gave up: the time budget for this resource ran out",
                ));
            }
            // Each request (to its last byte) within the request timeout and the budget.
            let limit = remaining.min(self.policy.request_timeout);
            let sent = tokio::time::timeout(limit, send(token.clone())).await;
            let (status, retry_after, answer) = match sent {
                Err(_) => (None, None, None),
                Ok(Err(err)) if !err.is_retryable() => {
                    return Err(ReadFailure::new(None, err.to_string()));
                }
                Ok(Err(_)) => (None, None, None),
                Ok(Ok(answer)) => (Some(answer.status), answer.retry_after, Some(answer)),
            };
            if let Some(answer) = answer {
                match answer.status {
                    200..=299 => return Ok(answer),
                    _ if answer.is_redirect() && self.errors.returns_redirects() => {
                        return Ok(answer);
                    }
                    401 => {
                        if renewed {
                            return Err(ReadFailure::new(
                                Some(401),
                                self.errors.unauthorized(&answer.body, &token),
                            ));
                        }
                        renewed = true;
                        self.tokens.invalidate(&token).await;
                        attempt -= 1;
                        continue;
                    }
                    403 => {
                        return Err(ReadFailure::new(
                            Some(403),
                            self.errors.forbidden(&answer.body, &token),
                        ));
                    }
                    code if !is_retryable_status(code) => {
                        return Err(ReadFailure::new(
                            Some(code),
                            self.errors.describe(&answer.body, &token),
                        ));
                    }
                    _ => {}
                }
            }
            // Retryable: a throttled or unavailable answer, a timeout, a dropped connection.
            let what = match status {
                Some(code) => format!("HTTP {code}"),
                None => "request timed out or connection failed".to_owned(),
            };
            if attempt >= self.policy.max_attempts {
                return Err(ReadFailure::new(
                    status,
                    format!("gave up after {attempt} attempts: {what}"),
                ));
            }
            let Some(wait) = self.policy.delay(attempt, retry_after, jitter()) else {
                return Err(ReadFailure::new(
                    status,
                    format!(
                        "gave up: {what} with Retry-After {} s, longer than the longest wait allowed",
                        retry_after.map_or(0, |d| d.as_secs())
                    ),
                ));
            };
            if Instant::now() + wait >= self.deadline {
                return Err(ReadFailure::new(
                    status,
                    format!(
                        "gave up after {attempt} attempts: {what}; the time budget for this resource ran out"
                    ),
                ));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

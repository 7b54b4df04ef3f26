//! Reads one resource: requests with retries ([`Fetcher::page`]) and collections page by page
//! ([`read_collection`]), following `@odata.nextLink` exactly as given, refusing a link to another
//! host and stopping at a link that repeats.

use super::auth::TokenSource;
use super::http::{GraphReader, TransportError, one_line, origin_text};
use super::retry::{RetryPolicy, is_retryable_status, jitter};
use reqwest::Url;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::time::Instant;

/// A collection longer than this many pages is treated as a runaway.
const MAX_PAGES: u32 = 10_000;

/// A resource that could not be read: what goes into the snapshot's `error` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    pub http_status: Option<u16>,
    pub error: String,
}

impl ReadFailure {
    fn new(http_status: Option<u16>, error: impl Into<String>) -> Self {
        ReadFailure {
            http_status,
            error: error.into(),
        }
    }
}

/// What a successful read gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBody {
    pub body: Value,
    pub pages: u32,
}

/// Sends the requests for one resource, within its retry policy and time budget.
pub struct Fetcher<'a> {
    pub reader: &'a GraphReader,
    pub tokens: &'a TokenSource,
    pub policy: &'a RetryPolicy,
    /// The least-privileged permission for this resource, named when Graph says 403.
    pub permission: &'a str,
    /// The whole resource must be read before this instant.
    pub deadline: Instant,
}

impl Fetcher<'_> {
    /// GET one page as JSON, retrying throttling and unavailability, renewing the token once
    /// after a 401.
    pub async fn page(&self, url: &Url) -> Result<Value, ReadFailure> {
        let mut renewed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let token = self
                .tokens
                .token()
                .await
                .map_err(|err| ReadFailure::new(None, err.to_string()))?;
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ReadFailure::new(
                    None,
                    "gave up: the time budget for this resource ran out",
                ));
            }
            let sent = tokio::time::timeout(remaining, self.reader.get(url, &token)).await;
            let (status, retry_after, body) = match sent {
                Err(_) => (None, None, None),
                Ok(Err(TransportError::ForeignOrigin(host))) => {
                    return Err(ReadFailure::new(
                        None,
                        format!("refused a link to {host}: not the configured Graph host"),
                    ));
                }
                Ok(Err(err)) => (None, None, Some(Err(err))),
                Ok(Ok(response)) => (
                    Some(response.status),
                    response.retry_after,
                    Some(Ok(response.body)),
                ),
            };
            match (status, body) {
                (Some(200..=299), Some(Ok(bytes))) => {
                    return serde_json::from_slice(&bytes).map_err(|err| {
                        ReadFailure::new(
                            status,
                            format!(
                                "the response is not valid JSON (line {}, column {}): {}",
                                err.line(),
                                err.column(),
                                one_line(&err.to_string())
                            ),
                        )
                    });
                }
                (Some(401), Some(Ok(bytes))) => {
                    if renewed {
                        return Err(ReadFailure::new(
                            Some(401),
                            format!(
                                "unauthorized even with a new token: {}",
                                graph_error(&bytes)
                            ),
                        ));
                    }
                    renewed = true;
                    self.tokens.invalidate(&token).await;
                    attempt -= 1;
                    continue;
                }
                (Some(403), Some(Ok(bytes))) => {
                    return Err(ReadFailure::new(
                        Some(403),
                        format!(
                            "missing permission {} (grant it as an application permission with admin consent): {}",
                            self.permission,
                            graph_error(&bytes)
                        ),
                    ));
                }
                (Some(code), Some(Ok(bytes))) if !is_retryable_status(code) => {
                    return Err(ReadFailure::new(Some(code), graph_error(&bytes)));
                }
                _ => {}
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

/// Reads every page of a collection into `{"value": [all items]}`.
pub async fn read_collection(
    fetcher: &Fetcher<'_>,
    first: Url,
    first_page_only: bool,
) -> Result<ReadBody, ReadFailure> {
    let mut items = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut next = Some(first);
    let mut pages = 0u32;
    while let Some(url) = next.take() {
        seen.insert(url.as_str().to_owned());
        let body = fetcher.page(&url).await?;
        pages += 1;
        let Value::Object(mut page) = body else {
            return Err(ReadFailure::new(
                Some(200),
                format!("page {pages} is not a JSON object"),
            ));
        };
        match page.remove("value") {
            Some(Value::Array(values)) => items.extend(values),
            _ => {
                return Err(ReadFailure::new(
                    Some(200),
                    format!("page {pages} has no `value` array"),
                ));
            }
        }
        if first_page_only {
            break;
        }
        match page.get("@odata.nextLink") {
            None | Some(Value::Null) => {}
            Some(Value::String(link)) => {
                let link_url = Url::parse(link).map_err(|_| {
                    ReadFailure::new(
                        Some(200),
                        format!("page {pages}: @odata.nextLink is not a URL"),
                    )
                })?;
                if !super::http::same_origin(&link_url, fetcher.reader.origin()) {
                    return Err(ReadFailure::new(
                        Some(200),
                        format!(
                            "page {pages}: refused an @odata.nextLink to {}: not the configured Graph host",
                            origin_text(&link_url)
                        ),
                    ));
                }
                if seen.contains(link_url.as_str()) {
                    return Err(ReadFailure::new(
                        Some(200),
                        format!(
                            "page {pages}: @odata.nextLink points back to an earlier page (a paging loop)"
                        ),
                    ));
                }
                if pages >= MAX_PAGES {
                    return Err(ReadFailure::new(
                        Some(200),
                        format!("more than {MAX_PAGES} pages; stopped"),
                    ));
                }
                next = Some(link_url);
            }
            Some(_) => {
                return Err(ReadFailure::new(
                    Some(200),
                    format!("page {pages}: @odata.nextLink is not a string"),
                ));
            }
        }
    }
    let mut merged = Map::new();
    merged.insert("value".into(), Value::Array(items));
    Ok(ReadBody {
        body: Value::Object(merged),
        pages,
    })
}

/// Graph's `{"error": {"code", "message"}}` as one line, or the status text.
fn graph_error(bytes: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
    match (code, message) {
        (Some(code), Some(message)) => one_line(&format!("{code}: {message}")),
        (Some(code), None) => code.to_owned(),
        _ => "no error details in the response".to_owned(),
    }
}

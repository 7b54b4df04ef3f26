//! Reads one resource: requests with retries ([`Fetcher::body`]) and collections page by page
//! ([`read_collection`]), following `@odata.nextLink` exactly as given, refusing a link to another
//! host and stopping at a link that repeats.
//!
//! The next page is asked for as soon as the current one's `@odata.nextLink` is known, and the
//! current one's items are parsed on the blocking pool while that request is out
//! ([`super::page`]): parsing is off the chain of requests that must follow one another.

use super::super::transport::origin::{has_user_info, origin_text, same_origin};
use super::super::{Secret, one_line, redact};
use super::auth::TokenSource;
use super::page::{self, Envelope, PageError};
use super::reader::GraphReader;
use super::retry::{RetryPolicy, is_retryable_status, jitter};
use reqwest::Url;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::task::Poll;
use tokio::time::Instant;

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

    /// A success status whose body is not what Graph sends.
    fn bad_page(status: u16, err: &PageError) -> Self {
        ReadFailure::new(Some(status), err.to_string())
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
    /// GET one page as JSON (a single object's body, or one page of a collection).
    pub async fn page(&self, url: &Url) -> Result<Value, ReadFailure> {
        let (status, body) = self.body(url).await?;
        serde_json::from_slice(&body)
            .map_err(|err| ReadFailure::bad_page(status, &page::not_json(&err)))
    }

    /// GET one page: its success status and body, retrying throttling and unavailability,
    /// renewing the token once after a 401.
    pub async fn body(&self, url: &Url) -> Result<(u16, Vec<u8>), ReadFailure> {
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
            // Each request (to its last byte) within the request timeout and the budget.
            let limit = remaining.min(self.policy.request_timeout);
            let sent = tokio::time::timeout(limit, self.reader.get(url, &token)).await;
            let (status, retry_after, body) = match sent {
                Err(_) => (None, None, None),
                Ok(Err(err)) if !err.is_retryable() => {
                    return Err(ReadFailure::new(None, err.to_string()));
                }
                Ok(Err(err)) => (None, None, Some(Err(err))),
                Ok(Ok(response)) => (
                    Some(response.status),
                    response.retry_after,
                    Some(Ok(response.body)),
                ),
            };
            match (status, body) {
                (Some(code @ 200..=299), Some(Ok(bytes))) => return Ok((code, bytes)),
                (Some(401), Some(Ok(bytes))) => {
                    if renewed {
                        return Err(ReadFailure::new(
                            Some(401),
                            format!(
                                "unauthorized even with a new token: {}",
                                graph_error(&bytes, &token)
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
                            graph_error(&bytes, &token)
                        ),
                    ));
                }
                (Some(code), Some(Ok(bytes))) if !is_retryable_status(code) => {
                    return Err(ReadFailure::new(Some(code), graph_error(&bytes, &token)));
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
///
/// A page's items are parsed while the request for the next page is out (see [`overlap`]);
/// problems are still reported for the first page that has one, and within a page in the order
/// a page-by-page read checks them (JSON, object, `value` array, then `@odata.nextLink`).
pub async fn read_collection(
    fetcher: &Fetcher<'_>,
    first: Url,
    first_page_only: bool,
) -> Result<ReadBody, ReadFailure> {
    let mut items = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut next = Some(first);
    let mut pages = 0u32;
    // The last page read, not parsed yet.
    let mut unparsed: Option<Unparsed> = None;
    while let Some(url) = next.take() {
        seen.insert(url.as_str().to_owned());
        let ((status, body), parsed) = overlap(fetcher.body(&url), unparsed.take()).await?;
        items.extend(parsed);
        pages += 1;
        let followed = next_page(fetcher, &seen, (pages, status, &body), first_page_only);
        unparsed = Some(Unparsed {
            page: pages,
            status,
            body,
        });
        match followed {
            Ok(url) => next = url,
            Err(err) => {
                if let Some(page) = unparsed.take() {
                    page.parse()?;
                }
                return Err(err);
            }
        }
    }
    if let Some(page) = unparsed {
        items.extend(page.parse()?);
    }
    let mut merged = Map::new();
    merged.insert("value".into(), Value::Array(items));
    Ok(ReadBody {
        body: Value::Object(merged),
        pages,
    })
}

/// A page that was read and not parsed yet.
struct Unparsed {
    page: u32,
    status: u16,
    body: Vec<u8>,
}

impl Unparsed {
    fn parse(self) -> Result<Vec<Value>, ReadFailure> {
        page::items(&self.body, self.page).map_err(|err| ReadFailure::bad_page(self.status, &err))
    }
}

/// Sends `fetch`'s request, parses `previous` on the blocking pool while the answer is on its
/// way, and returns both. The previous page's problem, if any, is returned first (and without
/// waiting for the answer): pages fail in order.
///
/// `fetch` is polled once, which hands its request to the connection, and the task yields so
/// the connection task sends it before a parsing thread is woken: started earlier, the parse
/// competes for the CPU with sending the request (on the benchmark's 2 shared cores, also with
/// the simulated server receiving it), which put its ~0.5 ms back on the chain of requests.
async fn overlap<T>(
    fetch: impl Future<Output = Result<T, ReadFailure>>,
    previous: Option<Unparsed>,
) -> Result<(T, Vec<Value>), ReadFailure> {
    let mut fetch = std::pin::pin!(fetch);
    let early = std::future::poll_fn(|cx| match fetch.as_mut().poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => Poll::Ready(None),
    })
    .await;
    let Some(previous) = previous else {
        let out = match early {
            Some(out) => out,
            None => fetch.await,
        };
        return out.map(|out| (out, Vec::new()));
    };
    tokio::task::yield_now().await;
    let mut parsing = tokio::task::spawn_blocking(move || previous.parse());
    let stopped = || ReadFailure::new(None, "parsing a page stopped unexpectedly");
    if let Some(out) = early {
        let items = parsing.await.map_err(|_| stopped())??;
        return out.map(|out| (out, items));
    }
    tokio::select! {
        biased;
        parsed = &mut parsing => {
            let items = parsed.map_err(|_| stopped())??;
            Ok((fetch.await?, items))
        }
        out = &mut fetch => {
            let items = parsing.await.map_err(|_| stopped())??;
            Ok((out?, items))
        }
    }
}

/// The next page's URL after page `page` (number, status, body), or `None` at the last page.
fn next_page(
    fetcher: &Fetcher<'_>,
    seen: &HashSet<String>,
    (page, status, body): (u32, u16, &[u8]),
    first_page_only: bool,
) -> Result<Option<Url>, ReadFailure> {
    let link = match Envelope::scan(body, page) {
        // Only the first page is wanted: its link, whatever it holds, is not followed.
        Ok(_) | Err(PageError::NextLinkNotAString(_)) if first_page_only => return Ok(None),
        Err(err) => return Err(ReadFailure::bad_page(status, &err)),
        Ok(Envelope { next_link: None }) => return Ok(None),
        Ok(Envelope {
            next_link: Some(link),
        }) => link,
    };
    checked_next_link(fetcher, seen, &link, page).map(Some)
}

/// `link` as the URL of the next page, if it may be followed: on the Graph host, without user
/// info, not seen before, and not beyond [`MAX_PAGES`].
fn checked_next_link(
    fetcher: &Fetcher<'_>,
    seen: &HashSet<String>,
    link: &str,
    pages: u32,
) -> Result<Url, ReadFailure> {
    let link_url = Url::parse(link).map_err(|_| {
        ReadFailure::new(
            Some(200),
            format!("page {pages}: @odata.nextLink is not a URL"),
        )
    })?;
    if !same_origin(&link_url, fetcher.reader.origin()) {
        return Err(ReadFailure::new(
            Some(200),
            format!(
                "page {pages}: refused an @odata.nextLink to {}: not the configured Graph host",
                origin_text(&link_url)
            ),
        ));
    }
    if has_user_info(&link_url) {
        // An HTTP client sends user info as Basic credentials, instead of the bearer token.
        return Err(ReadFailure::new(
            Some(200),
            format!(
                "page {pages}: refused an @odata.nextLink carrying user info (user:password@) to {}",
                origin_text(&link_url)
            ),
        ));
    }
    if seen.contains(link_url.as_str()) {
        return Err(ReadFailure::new(
            Some(200),
            format!("page {pages}: @odata.nextLink points back to an earlier page (a paging loop)"),
        ));
    }
    if pages >= MAX_PAGES {
        return Err(ReadFailure::new(
            Some(200),
            format!("more than {MAX_PAGES} pages; stopped"),
        ));
    }
    Ok(link_url)
}

/// Graph's `{"error": {"code", "message"}}` as one line, or the status text; the access token
/// the request carried is redacted, should the message repeat it.
fn graph_error(bytes: &[u8], token: &Secret) -> String {
    let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
    match (code, message) {
        (Some(code), Some(message)) => one_line(&redact(&format!("{code}: {message}"), &[token])),
        (Some(code), None) => one_line(&redact(code, &[token])),
        _ => "no error details in the response".to_owned(),
    }
}

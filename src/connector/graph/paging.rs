//! Reads one Graph resource: requests with retries ([`GraphFetcher::body`]) and collections page by page
//! ([`read_collection`]), following `@odata.nextLink` exactly as given, refusing a link to another
//! host and stopping at a link that repeats.
//!
//! The next page is asked for as soon as the current one's `@odata.nextLink` is known, and the
//! current one's items are parsed on the blocking pool while that request is out
//! ([`super::page`]): parsing is off the chain of requests that must follow one another.

use super::super::Secret;
use super::super::fetch::{Fetcher, ReadBody, ReadFailure, ServiceErrors};
use super::super::next_link::checked_next_link;
use super::super::reader::Reader;
use super::super::{one_line, redact};
use super::page::{self, Envelope, PageError};
use crate::snapshot::{CollectionHasher, Members, project_item};
use reqwest::Url;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::task::Poll;

/// A success status whose body is not what Graph sends.
fn bad_page(status: u16, err: &PageError) -> ReadFailure {
    ReadFailure::new(Some(status), err.to_string())
}

/// GETs for one Graph resource: the reader, and the fetcher's retries and budget.
pub struct GraphFetcher<'a> {
    pub reader: &'a Reader,
    pub fetcher: Fetcher<'a>,
}

impl GraphFetcher<'_> {
    /// GET one page as JSON (a single object's body, or one page of a collection).
    pub async fn page(&self, url: &Url) -> Result<Value, ReadFailure> {
        let (status, body) = self.body(url).await?;
        serde_json::from_slice(&body).map_err(|err| bad_page(status, &page::not_json(&err)))
    }

    /// GET one page: its success status and body.
    pub async fn body(&self, url: &Url) -> Result<(u16, Vec<u8>), ReadFailure> {
        let answer = self
            .fetcher
            .fetch(|token| async move { self.reader.get(url, &token).await })
            .await?;
        Ok((answer.status, answer.body))
    }
}

/// How Graph words its errors, and what its 403 means: an application permission is missing.
pub struct GraphErrors<'a> {
    /// The least-privileged permission for the resource, named when Graph says 403.
    pub permission: &'a str,
}

impl ServiceErrors for GraphErrors<'_> {
    fn forbidden(&self, body: &[u8], token: &Secret) -> String {
        format!(
            "missing permission {} (grant it as an application permission with admin consent): {}",
            self.permission,
            graph_error(body, token)
        )
    }

    fn describe(&self, body: &[u8], token: &Secret) -> String {
        graph_error(body, token)
    }
}

/// Reads every page of a collection into `{"value": [all items]}`.
///
/// A page's items are parsed while the request for the next page is out (see [`overlap`]);
/// problems are still reported for the first page that has one, and within a page in the order
/// a page-by-page read checks them (JSON, object, `value` array, then `@odata.nextLink`).
pub async fn read_collection(
    fetcher: &GraphFetcher<'_>,
    first: Url,
    first_page_only: bool,
    keep: Option<Members>,
) -> Result<ReadBody, ReadFailure> {
    let projected = keep.is_some();
    let mut gathered = Gathered {
        keep,
        ..Gathered::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut next = Some(first);
    let mut pages = 0u32;
    // The last page read, not parsed yet.
    let mut unparsed: Option<Unparsed> = None;
    while let Some(url) = next.take() {
        seen.insert(url.as_str().to_owned());
        let ((status, body), now) = overlap(fetcher.body(&url), gathered, unparsed.take()).await?;
        gathered = now;
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
        gathered = tokio::task::spawn_blocking(move || gathered.add(page))
            .await
            .map_err(|_| parsing_stopped())??;
    }
    let Gathered { items, hasher, .. } = gathered;
    let mut merged = Map::new();
    merged.insert("value".into(), Value::Array(items));
    Ok(ReadBody {
        body: Value::Object(merged),
        pages,
        file_sha256: Some(hasher.finish()),
        projected,
    })
}

/// The items of the pages parsed so far, and the hash of the file they make
/// (`{"value": [items]}`), fed page by page so that no body is left to hash after the last
/// answer.
#[derive(Default)]
struct Gathered {
    items: Vec<Value>,
    hasher: CollectionHasher,
    /// The members the scan's rules read of each item, when the items are kept only in part:
    /// projected here, after they were hashed whole, so that nothing is left to project after
    /// the last answer either.
    keep: Option<Members>,
}

impl Gathered {
    /// `page`'s items parsed and added (on the blocking pool: parsing and hashing take about a
    /// millisecond per 100 items).
    fn add(mut self, page: Unparsed) -> Result<Gathered, ReadFailure> {
        let items = page.parse()?;
        self.hasher.push(&items);
        match &self.keep {
            Some(members) => self
                .items
                .extend(items.into_iter().map(|item| project_item(item, members))),
            None => self.items.extend(items),
        }
        Ok(self)
    }
}

fn parsing_stopped() -> ReadFailure {
    ReadFailure::new(None, "parsing a page stopped unexpectedly")
}

/// A page that was read and not parsed yet.
struct Unparsed {
    page: u32,
    status: u16,
    body: Vec<u8>,
}

impl Unparsed {
    fn parse(self) -> Result<Vec<Value>, ReadFailure> {
        page::items(&self.body, self.page).map_err(|err| bad_page(self.status, &err))
    }
}

/// Sends `fetch`'s request, parses `previous` on the blocking pool while the answer is on its
/// way (adding its items to `gathered`), and returns both. The previous page's problem, if any, is returned first (and without
/// waiting for the answer): pages fail in order.
///
/// `fetch` is polled once, which hands its request to the connection, and the task yields so
/// the connection task sends it before a parsing thread is woken: started earlier, the parse
/// competes for the CPU with sending the request (on the benchmark's 2 shared cores, also with
/// the simulated server receiving it), which put its ~0.5 ms back on the chain of requests.
async fn overlap<T>(
    fetch: impl Future<Output = Result<T, ReadFailure>>,
    gathered: Gathered,
    previous: Option<Unparsed>,
) -> Result<(T, Gathered), ReadFailure> {
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
        return out.map(|out| (out, gathered));
    };
    tokio::task::yield_now().await;
    let mut parsing = tokio::task::spawn_blocking(move || gathered.add(previous));
    if let Some(out) = early {
        let items = parsing.await.map_err(|_| parsing_stopped())??;
        return out.map(|out| (out, items));
    }
    tokio::select! {
        biased;
        parsed = &mut parsing => {
            let items = parsed.map_err(|_| parsing_stopped())??;
            Ok((fetch.await?, items))
        }
        out = &mut fetch => {
            let items = parsing.await.map_err(|_| parsing_stopped())??;
            Ok((out?, items))
        }
    }
}

/// The next page's URL after page `page` (number, status, body), or `None` at the last page.
fn next_page(
    fetcher: &GraphFetcher<'_>,
    seen: &HashSet<String>,
    (page, status, body): (u32, u16, &[u8]),
    first_page_only: bool,
) -> Result<Option<Url>, ReadFailure> {
    let link = match Envelope::scan(body, page) {
        // Only the first page is wanted: its link, whatever it holds, is not followed.
        Ok(_) | Err(PageError::NextLinkNotAString(_)) if first_page_only => return Ok(None),
        Err(err) => return Err(bad_page(status, &err)),
        Ok(Envelope { next_link: None }) => return Ok(None),
        Ok(Envelope {
            next_link: Some(link),
        }) => link,
    };
    checked_next_link(fetcher.reader.origin(), "Graph", seen, &link, page).map(Some)
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

//! The Microsoft Graph connector: which resources to read, in what order, how many at once.
//!
//! Resources are read concurrently (at most `concurrency` reads at a time), the pages of one
//! resource one after another; reads that may page start before reads of a single request. A
//! fan-out resource (`for_each`) starts as soon as the resource that lists its ids has been read,
//! and reads its ids concurrently too (each id one read), so a scan takes about as long as its
//! longest chain of pages. A conditional resource (`read_if`) likewise waits only for the
//! resource that decides whether it is needed (`plan.rs`); one not needed is recorded as such. A
//! resource that fails is recorded with its reason; it never stops the others and never becomes
//! an empty body. A read the service answers with 400 is made once more without the query keys
//! the registry lists in `fallback_on_400`, and the snapshot says so.

pub mod auth;
pub mod page;
pub mod paging;
mod plan;
pub mod reader;
pub mod retry;

use super::ConnectorError;
use super::transport::Transport;
use super::transport::http::HttpTransport;
use crate::registry::{Registry, ResourceKind, ResourceSpec};
use crate::snapshot::{Collected, Collection};
use auth::{Credential, TokenSource};
use jsonpath_rust::JsonPath;
use paging::{Fetcher, ReadBody, ReadFailure, read_collection};
use plan::Needed;
use reader::GraphReader;
use reqwest::Url;
use retry::RetryPolicy;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The default cap on one response body (`--max-response-bytes`): far above any Graph page
/// (a page of 999 users with a `$select` is well under 1 MiB), far below what would exhaust the
/// memory of the small machine a scheduled scan runs on.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// Everything a live scan needs, resolved once by the command layer.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub tenant: String,
    pub client_id: String,
    pub credential: Credential,
    /// Checked with [`super::check_base_url`].
    pub graph_url: Url,
    pub authority_url: Url,
    /// Resources read at the same time (at least 1).
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// A response body longer than this is refused while it streams (the resource is then
    /// unreadable, its policies give `error`).
    pub max_response_bytes: u64,
}

/// Told about progress; the command layer draws a bar with it on a terminal.
pub trait Progress: Send + Sync {
    fn start(&self, _resources: usize) {}
    fn finished(&self, _resource: &str, _ok: bool) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The shared state of one scan's tasks.
struct Session {
    reader: GraphReader,
    tokens: TokenSource,
    policy: RetryPolicy,
    permits: Semaphore,
    progress: Arc<dyn Progress>,
}

/// Reads the `wanted` resources and the ones their fan-outs depend on, over the network (to
/// the Graph and authority origins of `config`, and nowhere else).
pub async fn collect(
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let transport = HttpTransport::new(
        &[&config.graph_url, &config.authority_url],
        config.retry.request_timeout,
    )?;
    collect_with(Arc::new(transport), config, registry, wanted, progress).await
}

/// [`collect`] through the given transport (tests: an in-process simulator on tokio's paused
/// clock).
pub async fn collect_with(
    transport: Arc<dyn Transport>,
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let plan = plan::plan(registry, wanted)?;
    let tokens = TokenSource::new(Arc::clone(&transport), config, &config.graph_url)?;
    // One token first: a wrong credential is a setup error of the whole scan (exit 2), not
    // one error per resource.
    tokens.token().await.map_err(|err| ConnectorError::Auth {
        message: err.to_string(),
        hint: err.hint(tokens.hint()).to_owned(),
    })?;
    let session = Arc::new(Session {
        reader: GraphReader::new(
            transport,
            config.graph_url.clone(),
            config.max_response_bytes,
        ),
        tokens,
        policy: config.retry.clone(),
        permits: Semaphore::new(config.concurrency.max(1)),
        progress,
    });
    session.progress.start(plan.len());
    // Tasks run on this thread (the oauth2 futures are not `Send`); they interleave while they
    // wait on the network, which is all the concurrency reading needs.
    let local = tokio::task::LocalSet::new();
    let results = local.run_until(read_all(session, plan)).await;

    let tenant_name = match results.get("organization") {
        Some(Collected::Read { body, .. }) => body
            .pointer("/value/0/displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    Ok(Collection {
        tenant_id: config.tenant.clone(),
        tenant_name,
        source: format!("graph {}", config.graph_url.as_str().trim_end_matches('/')),
        collected_at: String::new(),
        resources: results,
    })
}

/// Reads every resource of the plan: those that wait for nothing at once, and each that waits
/// (a fan-out for its parent's ids, a `read_if` for the resource that decides) as soon as what
/// it waits for is recorded, so a dependency never holds up the rest of the scan.
async fn read_all(
    session: Arc<Session>,
    plan: BTreeMap<String, ResourceSpec>,
) -> BTreeMap<String, Collected> {
    let mut results: BTreeMap<String, Collected> = BTreeMap::new();
    let mut waiting: Vec<(String, ResourceSpec)> = plan.into_iter().collect();
    let mut tasks = JoinSet::new();
    loop {
        // Start everything whose dependencies are recorded (or, once nothing else runs, whose
        // dependencies never will be: the read then says why). Reads that may take many pages
        // ask for a permit first (the sort is stable: registry order within each group). A read
        // of one request takes one round trip whenever it starts; a paged read that waits for
        // a permit pushes its whole chain of pages back, and the longest chain is what a scan
        // takes.
        let (mut ready, still): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|(_, spec)| spec.depends_on().all(|dep| results.contains_key(dep)));
        waiting = still;
        if ready.is_empty() && tasks.is_empty() {
            ready = std::mem::take(&mut waiting);
        }
        ready.sort_by_key(|(_, spec)| !may_page(spec));
        let mut decided = false;
        for (name, spec) in ready {
            match plan::needed(&results, &spec) {
                Needed::No(reason) => {
                    session.progress.finished(&name, true);
                    let request = spec.request_line();
                    results.insert(name, Collected::NotNeeded { request, reason });
                    decided = true;
                }
                Needed::Yes(note) => spawn_read(&mut tasks, &session, &results, name, spec, note),
            }
        }
        if decided {
            // A skipped read may be what another resource waits for.
            continue;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        // A task that panicked has no name to record; the resource stays missing, which
        // evaluation treats as an error too.
        if let Ok((name, collected)) = joined {
            session
                .progress
                .finished(&name, matches!(collected, Collected::Read { .. }));
            results.insert(name, collected);
        }
    }
    results
}

/// A collection read in full: as many requests as it has pages.
fn may_page(spec: &ResourceSpec) -> bool {
    spec.kind == ResourceKind::Collection && !spec.first_page_only
}

type TaskOutput = (String, Collected);

/// Starts the read of `spec`: a fan-out over its parent's ids, or a direct read.
fn spawn_read(
    tasks: &mut JoinSet<TaskOutput>,
    session: &Arc<Session>,
    results: &BTreeMap<String, Collected>,
    name: String,
    spec: ResourceSpec,
    note: Option<String>,
) {
    let ids = spec
        .for_each
        .as_ref()
        .map(|fan_out| parent_ids(results, &fan_out.resource, &fan_out.ids));
    let session = Arc::clone(session);
    tasks.spawn_local(async move {
        let read = match ids {
            Some(Ok(ids)) => Read::plain(&spec, read_fan_out(&session, &spec, ids).await),
            Some(Err(failure)) => Read::plain(&spec, Err(failure)),
            None => read_direct(&session, &spec).await,
        };
        (name, read.collected(note))
    });
}

/// How one read went: the request as finally sent, what happened on the way, the outcome.
struct Read {
    request: String,
    note: Option<String>,
    outcome: Result<ReadBody, ReadFailure>,
}

impl Read {
    fn plain(spec: &ResourceSpec, outcome: Result<ReadBody, ReadFailure>) -> Self {
        Read {
            request: spec.request_line(),
            note: None,
            outcome,
        }
    }

    /// As the snapshot records it, with `decided` (why it was read at all, when that needs
    /// saying) before the read's own note.
    fn collected(self, decided: Option<String>) -> Collected {
        let note = match (decided, self.note) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        match self.outcome {
            Ok(read) => Collected::Read {
                request: self.request,
                http_status: 200,
                pages: read.pages,
                body: read.body,
                note,
            },
            Err(failure) => Collected::Failed {
                request: self.request,
                http_status: failure.http_status,
                error: failure.error,
                note,
            },
        }
    }
}

/// The names of the resources a live scan reads for `wanted`: those plus every resource they
/// wait for (a fan-out's parent, a `read_if`'s deciding resource).
pub fn resources_to_read(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<BTreeSet<String>, ConnectorError> {
    Ok(plan::plan(registry, wanted)?.into_keys().collect())
}

fn fetcher<'a>(session: &'a Session, spec: &'a ResourceSpec, started: Instant) -> Fetcher<'a> {
    Fetcher {
        reader: &session.reader,
        tokens: &session.tokens,
        policy: &session.policy,
        permission: &spec.permission,
        deadline: started + session.policy.max_total,
    }
}

/// Reads a resource that is not a fan-out; when the service answers 400 and the registry lists
/// query keys to drop on a 400 (`fallback_on_400`), reads it once more without them.
async fn read_direct(session: &Session, spec: &ResourceSpec) -> Read {
    let first = read_with_query(session, spec, &spec.query).await;
    let refused = match &first {
        Err(failure) if failure.http_status == Some(400) && !spec.fallback_on_400.is_empty() => {
            failure.error.clone()
        }
        _ => return Read::plain(spec, first),
    };
    let mut query = spec.query.clone();
    let dropped: Vec<String> = spec
        .fallback_on_400
        .iter()
        .filter_map(|key| query.remove_entry(key))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let note = format!(
        "the service answered 400 to {} ({}); read again without it, at the service's default page size",
        dropped.join("&"),
        refused
    );
    Read {
        request: crate::registry::request_line(&spec.path, &query),
        note: Some(note),
        outcome: read_with_query(session, spec, &query).await,
    }
}

async fn read_with_query(
    session: &Session,
    spec: &ResourceSpec,
    query: &BTreeMap<String, String>,
) -> Result<ReadBody, ReadFailure> {
    let _permit = session.permits.acquire().await.map_err(|_| ReadFailure {
        http_status: None,
        error: "the scan was stopped".into(),
    })?;
    let url = resource_url(session.reader.origin(), &spec.path, query)?;
    let fetcher = fetcher(session, spec, Instant::now());
    match spec.kind {
        ResourceKind::Object => fetcher
            .page(&url)
            .await
            .map(|body| ReadBody { body, pages: 1 }),
        ResourceKind::Collection => read_collection(&fetcher, url, spec.first_page_only).await,
    }
}

/// Reads the collection once per id, into `{"<id>": {"value": [...]}}` in id order. The ids
/// are read concurrently, each within the scan's concurrency limit; the first id (in order)
/// that fails makes the whole resource fail.
async fn read_fan_out(
    session: &Arc<Session>,
    spec: &ResourceSpec,
    ids: Vec<String>,
) -> Result<ReadBody, ReadFailure> {
    let started = Instant::now();
    let mut reads = JoinSet::new();
    for (index, id) in ids.into_iter().enumerate() {
        let session = Arc::clone(session);
        let spec = spec.clone();
        reads.spawn_local(async move {
            let read = read_one_id(&session, &spec, &id, started).await;
            (index, id, read)
        });
    }
    let mut done = BTreeMap::new();
    while let Some(joined) = reads.join_next().await {
        let (index, id, read) = joined.map_err(|_| ReadFailure {
            http_status: None,
            error: "a read stopped unexpectedly".into(),
        })?;
        done.insert(index, (id, read));
    }
    let mut merged = Map::new();
    let mut pages = 0;
    for (id, read) in done.into_values() {
        let read = read?;
        pages += read.pages;
        merged.insert(id, read.body);
    }
    Ok(ReadBody {
        body: Value::Object(merged),
        pages,
    })
}

async fn read_one_id(
    session: &Session,
    spec: &ResourceSpec,
    id: &str,
    started: Instant,
) -> Result<ReadBody, ReadFailure> {
    let _permit = session.permits.acquire().await.map_err(|_| ReadFailure {
        http_status: None,
        error: "the scan was stopped".into(),
    })?;
    // The id goes into the path or a query value (`$filter=groupId eq '{id}'`); `parent_ids`
    // admits only plain identifiers, so it cannot change the request's shape.
    let path = spec.path.replace("{id}", id);
    let query: BTreeMap<String, String> = spec
        .query
        .iter()
        .map(|(key, value)| (key.clone(), value.replace("{id}", id)))
        .collect();
    let url = resource_url(session.reader.origin(), &path, &query)?;
    read_collection(&fetcher(session, spec, started), url, spec.first_page_only)
        .await
        .map_err(|failure| ReadFailure {
            error: format!("for id {id}: {}", failure.error),
            ..failure
        })
}

/// The ids a fan-out reads, selected from its parent's body. Graph's directory ids are GUIDs,
/// and only GUID-shaped strings are used, so data from the tenant can never change the shape
/// of a request (`..`, `/`, `?`, `%2e` and the like are refused). A fan-out over ids of another
/// shape would first need that shape declared for it in the registry.
fn parent_ids(
    results: &BTreeMap<String, Collected>,
    parent: &str,
    ids_path: &str,
) -> Result<Vec<String>, ReadFailure> {
    let body = match results.get(parent) {
        Some(Collected::Read { body, .. }) => body,
        _ => {
            return Err(ReadFailure {
                http_status: None,
                error: format!("not read because {parent}, which lists its ids, could not be read"),
            });
        }
    };
    let selected = body.query(ids_path).map_err(|err| ReadFailure {
        http_status: None,
        error: format!("cannot select ids from {parent}: {err}"),
    })?;
    let mut ids = BTreeSet::new();
    for value in selected {
        match value.as_str() {
            Some(id) if is_guid(id) => ids.insert(id.to_owned()),
            _ => {
                return Err(ReadFailure {
                    http_status: None,
                    error: format!(
                        "{parent} lists an id that is not a GUID: {}",
                        super::one_line(&value.to_string())
                    ),
                });
            }
        };
    }
    Ok(ids.into_iter().collect())
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hexadecimal digits in either case.
fn is_guid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `origin + path + ?query`, the query percent-encoded the way Graph's examples are sent.
fn resource_url(
    origin: &Url,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Result<Url, ReadFailure> {
    let mut text = format!("{}{path}", origin.as_str().trim_end_matches('/'));
    for (i, (key, value)) in query.iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.push_str(&encode_query_part(key));
        text.push('=');
        text.push_str(&encode_query_part(value));
    }
    Url::parse(&text).map_err(|err| ReadFailure {
        http_status: None,
        error: format!("cannot build the request URL: {err}"),
    })
}

/// Percent-encodes everything but unreserved characters and the few OData uses literally
/// (the URL parser then encodes `'` as `%27` in a query, which Graph decodes as usual).
fn encode_query_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~$'(),*:@/".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_encoded_like_graphs_examples() {
        let origin = Url::parse("https://graph.microsoft.com").unwrap();
        let mut query = BTreeMap::new();
        query.insert("$filter".to_owned(), "roleDefinitionId eq 'x'".to_owned());
        query.insert("$select".to_owned(), "id,userType".to_owned());
        let url = resource_url(
            &origin,
            "/v1.0/roleManagement/directory/roleAssignments",
            &query,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20%27x%27&$select=id,userType"
        );
    }

    #[test]
    fn fan_out_ids_must_be_guids() {
        let parent = |id: Value| {
            let mut results = BTreeMap::new();
            results.insert(
                "parent".to_owned(),
                Collected::Read {
                    request: String::new(),
                    http_status: 200,
                    pages: 1,
                    body: serde_json::json!({"value": [{"id": id}]}),
                    note: None,
                },
            );
            parent_ids(&results, "parent", "$.value[*].id")
        };
        for bad in [
            serde_json::json!(".."),
            serde_json::json!("."),
            serde_json::json!("../../admin"),
            serde_json::json!("%2e%2e"),
            serde_json::json!("group.name"),
            serde_json::json!("755adf71-9fd6-5248-b53e-b677544ec819/../x"),
            serde_json::json!("755adf71-9fd6-5248-b53e-b677544ec81"),
            serde_json::json!("755adf71x9fd6-5248-b53e-b677544ec819"),
            serde_json::json!("755adf71-9fd6-5248-b53e-b677544ec81g"),
            serde_json::json!(""),
            serde_json::json!(7),
            serde_json::json!(null),
        ] {
            assert!(parent(bad.clone()).is_err(), "{bad}");
        }
        for good in [
            "755adf71-9fd6-5248-b53e-b677544ec819",
            "755ADF71-9FD6-5248-B53E-B677544EC819",
        ] {
            assert_eq!(parent(serde_json::json!(good)).unwrap(), vec![good]);
        }
    }
}

//! The Microsoft Graph connector: which resources to read, in what order, how many at once.
//!
//! Resources are read concurrently (at most `concurrency` reads at a time), the pages of one
//! resource one after another; reads that may page start before reads of a single request. A
//! fan-out resource (`for_each`) starts as soon as the resource that lists its ids has been read,
//! and reads its ids concurrently too (each id one read), so a scan takes about as long as its
//! longest chain of pages. A resource that fails is recorded with its reason; it never stops the
//! others and never becomes an empty body.

pub mod auth;
pub mod http;
pub mod page;
pub mod paging;
pub mod retry;

use super::ConnectorError;
use crate::registry::{Registry, ResourceKind, ResourceSpec};
use crate::snapshot::{Collected, Collection};
use auth::{Credential, TokenSource};
use http::GraphReader;
use jsonpath_rust::JsonPath;
use paging::{Fetcher, ReadBody, ReadFailure, read_collection};
use reqwest::Url;
use retry::RetryPolicy;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Everything a live scan needs, resolved once by the command layer.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub tenant: String,
    pub client_id: String,
    pub credential: Credential,
    /// Checked with [`http::check_base_url`].
    pub graph_url: Url,
    pub authority_url: Url,
    /// Resources read at the same time (at least 1).
    pub concurrency: usize,
    pub retry: RetryPolicy,
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

/// Reads the `wanted` resources and the ones their fan-outs depend on.
pub async fn collect(
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let plan = plan(registry, wanted)?;
    let tokens = TokenSource::new(
        &config.authority_url,
        &config.tenant,
        &config.client_id,
        &config.graph_url,
        config.credential.clone(),
        config.retry.request_timeout,
    )?;
    // One token first: a wrong credential is a setup error of the whole scan (exit 2), not
    // one error per resource.
    tokens.token().await.map_err(|err| ConnectorError::Auth {
        message: err.to_string(),
        hint: err.hint(tokens.hint()).to_owned(),
    })?;
    let session = Arc::new(Session {
        reader: GraphReader::new(config.graph_url.clone(), config.retry.request_timeout)?,
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

/// Reads the direct resources, and each fan-out as soon as the resource with its ids is done.
async fn read_all(
    session: Arc<Session>,
    plan: BTreeMap<String, ResourceSpec>,
) -> BTreeMap<String, Collected> {
    let mut results: BTreeMap<String, Collected> = BTreeMap::new();
    let (mut direct, mut waiting): (Vec<_>, Vec<_>) = plan
        .into_iter()
        .partition(|(_, spec)| spec.for_each.is_none());
    // Reads that may take many pages ask for a permit first (the sort is stable: registry
    // order within each group). A read of one request (an object, a first page) takes one
    // round trip whenever it starts; a paged read that waits for a permit pushes its whole
    // chain of pages back, and the longest chain is what a scan takes.
    direct.sort_by_key(|(_, spec)| !may_page(spec));
    let mut tasks = JoinSet::new();
    for (name, spec) in direct {
        let session = Arc::clone(&session);
        tasks.spawn_local(async move {
            let outcome = read_direct(&session, &spec).await;
            (name, spec, outcome)
        });
    }
    loop {
        // Start every fan-out whose parent is recorded (or, once nothing else runs, whose
        // parent never will be: `parent_ids` then gives the reason).
        let idle = tasks.is_empty();
        let (ready, still): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(_, spec)| {
            idle || spec
                .for_each
                .as_ref()
                .is_none_or(|f| results.contains_key(&f.resource))
        });
        waiting = still;
        for (name, spec) in ready {
            spawn_fan_out(&mut tasks, &session, &results, name, spec);
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        record(joined, &session, &mut results);
    }
    results
}

/// A collection read in full: as many requests as it has pages.
fn may_page(spec: &ResourceSpec) -> bool {
    spec.kind == ResourceKind::Collection && !spec.first_page_only
}

fn spawn_fan_out(
    tasks: &mut JoinSet<TaskOutput>,
    session: &Arc<Session>,
    results: &BTreeMap<String, Collected>,
    name: String,
    spec: ResourceSpec,
) {
    let ids = spec
        .for_each
        .as_ref()
        .map(|fan_out| parent_ids(results, &fan_out.resource, &fan_out.ids));
    let session = Arc::clone(session);
    tasks.spawn_local(async move {
        let outcome = match ids {
            Some(Ok(ids)) => read_fan_out(&session, &spec, ids).await,
            Some(Err(failure)) => Err(failure),
            None => Err(ReadFailure {
                http_status: None,
                error: "not a fan-out resource".into(),
            }),
        };
        (name, spec, outcome)
    });
}

type TaskOutput = (String, ResourceSpec, Result<ReadBody, ReadFailure>);

fn record(
    joined: Result<TaskOutput, tokio::task::JoinError>,
    session: &Session,
    results: &mut BTreeMap<String, Collected>,
) {
    // A task that panicked has no name to record; the resource stays missing, which
    // evaluation treats as an error too.
    let Ok((name, spec, outcome)) = joined else {
        return;
    };
    session.progress.finished(&name, outcome.is_ok());
    let request = spec.request_line();
    let collected = match outcome {
        Ok(read) => Collected::Read {
            request,
            http_status: 200,
            pages: read.pages,
            body: read.body,
        },
        Err(failure) => Collected::Failed {
            request,
            http_status: failure.http_status,
            error: failure.error,
        },
    };
    results.insert(name, collected);
}

/// The names of the resources a live scan reads for `wanted`: those plus every resource a
/// fan-out reads its ids from.
pub fn resources_to_read(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<BTreeSet<String>, ConnectorError> {
    Ok(plan(registry, wanted)?.into_keys().collect())
}

/// The wanted resources plus every resource a fan-out reads its ids from.
fn plan(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<BTreeMap<String, ResourceSpec>, ConnectorError> {
    let mut plan = BTreeMap::new();
    let mut todo: Vec<String> = wanted.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        if plan.contains_key(&name) {
            continue;
        }
        let spec = registry
            .get(&name)
            .ok_or_else(|| ConnectorError::UnknownResource(name.clone()))?;
        if let Some(fan_out) = &spec.for_each {
            todo.push(fan_out.resource.clone());
        }
        plan.insert(name, spec.clone());
    }
    Ok(plan)
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

async fn read_direct(session: &Session, spec: &ResourceSpec) -> Result<ReadBody, ReadFailure> {
    let _permit = session.permits.acquire().await.map_err(|_| ReadFailure {
        http_status: None,
        error: "the scan was stopped".into(),
    })?;
    let url = resource_url(session.reader.origin(), &spec.path, &spec.query)?;
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

/// The ids a fan-out reads, selected from its parent's body. Only id-like strings are used, so
/// data from the tenant can never change the shape of a request path.
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
        let id = value.as_str().unwrap_or_default();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(ReadFailure {
                http_status: None,
                error: format!("{parent} lists an id that is not a plain identifier: {value}"),
            });
        }
        ids.insert(id.to_owned());
    }
    Ok(ids.into_iter().collect())
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
    fn fan_out_ids_must_be_plain_identifiers() {
        let mut results = BTreeMap::new();
        results.insert(
            "parent".to_owned(),
            Collected::Read {
                request: String::new(),
                http_status: 200,
                pages: 1,
                body: serde_json::json!({"value": [{"id": "../../admin"}]}),
            },
        );
        assert!(parent_ids(&results, "parent", "$.value[*].id").is_err());
    }
}

//! The Microsoft Graph connector: `GET` reads of the Graph origin, paged by `@odata.nextLink`.
//!
//! A fan-out resource (`for_each`) reads its parent's ids concurrently (each id one read, within
//! the scan's concurrency limit) and merges them by id. A read the service answers with 400 is made
//! once more without the query keys the registry lists in `fallback_on_400`, and the snapshot says
//! so. Graph's own shapes stop here: what a page, an error body and a 403 look like, and that the
//! tenant's name is `organization`'s `displayName`.

pub mod page;
pub mod paging;

use super::auth::TokenSource;
use super::engine::{Job, LocalFuture, Read, ServiceConnector};
use super::fetch::{Fetcher, ReadBody, ReadFailure};
use super::permits::{Permit, Permits};
use super::reader::Reader;
use super::retry::RetryPolicy;
use super::transport::Transport;
use super::{ConnectorError, check_token};
use crate::registry::{ResourceKind, ResourceSpec, Service};
use crate::snapshot::{Collected, Members};
use jsonpath_rust::JsonPath;
use paging::{GraphErrors, GraphFetcher, read_collection};
use reqwest::Url;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The resource whose first item's `displayName` is the tenant's name.
const TENANT_NAME_RESOURCE: &str = "organization";

/// Reads Microsoft Graph.
pub struct GraphConnector {
    session: Arc<Session>,
}

/// What every read of one scan shares.
struct Session {
    reader: Reader,
    tokens: Arc<TokenSource>,
    policy: RetryPolicy,
}

impl GraphConnector {
    pub fn new(
        transport: Arc<dyn Transport>,
        origin: Url,
        tokens: Arc<TokenSource>,
        policy: RetryPolicy,
        max_response_bytes: u64,
    ) -> Self {
        GraphConnector {
            session: Arc::new(Session {
                reader: Reader::new(transport, origin, "Graph", max_response_bytes),
                tokens,
                policy,
            }),
        }
    }
}

impl ServiceConnector for GraphConnector {
    fn service(&self) -> Service {
        Service::Graph
    }

    fn origin(&self) -> &Url {
        self.session.reader.origin()
    }

    fn check_credential(&self) -> LocalFuture<'_, Result<(), ConnectorError>> {
        Box::pin(check_token(&self.session.tokens))
    }

    fn read(&self, job: Job<'_>) -> LocalFuture<'static, Read> {
        let ids = job
            .spec
            .for_each
            .as_ref()
            .map(|fan_out| parent_ids(job.results, &fan_out.resource, &fan_out.ids));
        let session = Arc::clone(&self.session);
        let permits = job.permits.clone();
        let spec = job.spec.clone();
        let keep = job.keep.cloned();
        Box::pin(async move {
            let reads = Reads {
                session: &session,
                permits: &permits,
            };
            match ids {
                Some(Ok(ids)) => Read::plain(&spec, reads.fan_out(&spec, ids).await),
                Some(Err(failure)) => Read::plain(&spec, Err(failure)),
                None => reads.direct(&spec, keep).await,
            }
        })
    }

    fn needs_whole(&self, name: &str) -> bool {
        name == TENANT_NAME_RESOURCE
    }

    /// `organization`'s `displayName`.
    fn tenant_name(&self, results: &BTreeMap<String, Collected>) -> Option<String> {
        match results.get(TENANT_NAME_RESOURCE) {
            Some(Collected::Read { body, .. }) => body
                .pointer("/value/0/displayName")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
    }
}

/// One resource's reads: the scan's session and its concurrency limit.
#[derive(Clone, Copy)]
struct Reads<'a> {
    session: &'a Arc<Session>,
    permits: &'a Permits,
}

fn fetcher<'a>(
    session: &'a Session,
    errors: &'a GraphErrors<'a>,
    started: Instant,
) -> GraphFetcher<'a> {
    GraphFetcher {
        reader: &session.reader,
        fetcher: Fetcher {
            tokens: &session.tokens,
            policy: &session.policy,
            errors,
            deadline: started + session.policy.max_total,
        },
    }
}

impl Reads<'_> {
    async fn permit(&self) -> Result<Permit, ReadFailure> {
        self.permits
            .acquire()
            .await
            .map_err(|stopped| ReadFailure::new(None, stopped.to_string()))
    }

    /// Reads a resource that is not a fan-out; when the service answers 400 and the registry
    /// lists query keys to drop on a 400 (`fallback_on_400`), reads it once more without them.
    /// `keep`: the members its items keep, when they may be projected as they are read.
    async fn direct(&self, spec: &ResourceSpec, keep: Option<Members>) -> Read {
        let first = self.with_query(spec, &spec.query, keep.clone()).await;
        let refused = match &first {
            Err(failure)
                if failure.http_status == Some(400) && !spec.fallback_on_400.is_empty() =>
            {
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
            outcome: self.with_query(spec, &query, keep).await,
        }
    }

    async fn with_query(
        &self,
        spec: &ResourceSpec,
        query: &BTreeMap<String, String>,
        keep: Option<Members>,
    ) -> Result<ReadBody, ReadFailure> {
        let _permit = self.permit().await?;
        let url = resource_url(self.session.reader.origin(), &spec.path, query)?;
        let errors = GraphErrors {
            permission: &spec.permission,
        };
        let fetcher = fetcher(self.session, &errors, Instant::now());
        match spec.kind {
            ResourceKind::Object => fetcher
                .page(&url)
                .await
                .map(|body| ReadBody::whole(body, 1)),
            ResourceKind::Collection => {
                read_collection(&fetcher, url, spec.first_page_only, keep).await
            }
        }
    }

    /// Reads the collection once per id, into `{"<id>": {"value": [...]}}` in id order. The ids
    /// are read concurrently, each within the scan's concurrency limit; the first id (in order)
    /// that fails makes the whole resource fail.
    async fn fan_out(
        &self,
        spec: &ResourceSpec,
        ids: Vec<String>,
    ) -> Result<ReadBody, ReadFailure> {
        let started = Instant::now();
        let mut reads = JoinSet::new();
        for (index, id) in ids.into_iter().enumerate() {
            let session = Arc::clone(self.session);
            let permits = self.permits.clone();
            let spec = spec.clone();
            reads.spawn_local(async move {
                let reads = Reads {
                    session: &session,
                    permits: &permits,
                };
                let read = reads.one_id(&spec, &id, started).await;
                (index, id, read)
            });
        }
        let mut done = BTreeMap::new();
        while let Some(joined) = reads.join_next().await {
            let (index, id, read) =
                joined.map_err(|_| ReadFailure::new(None, "a read stopped unexpectedly"))?;
            done.insert(index, (id, read));
        }
        let mut merged = Map::new();
        let mut pages = 0;
        for (id, read) in done.into_values() {
            let read = read?;
            pages += read.pages;
            merged.insert(id, read.body);
        }
        // Each id's items were hashed as that id's own file; the merged body is hashed whole.
        Ok(ReadBody::whole(Value::Object(merged), pages))
    }

    async fn one_id(
        &self,
        spec: &ResourceSpec,
        id: &str,
        started: Instant,
    ) -> Result<ReadBody, ReadFailure> {
        let _permit = self.permit().await?;
        // The id goes into the path or a query value (`$filter=groupId eq '{id}'`); `parent_ids`
        // admits only plain identifiers, so it cannot change the request's shape.
        let path = spec.path.replace("{id}", id);
        let query: BTreeMap<String, String> = spec
            .query
            .iter()
            .map(|(key, value)| (key.clone(), value.replace("{id}", id)))
            .collect();
        let url = resource_url(self.session.reader.origin(), &path, &query)?;
        let errors = GraphErrors {
            permission: &spec.permission,
        };
        // Each id's items are hashed and kept whole: the file is the merged body's.
        read_collection(
            &fetcher(self.session, &errors, started),
            url,
            spec.first_page_only,
            None,
        )
        .await
        .map_err(|failure| ReadFailure {
            error: format!("for id {id}: {}", failure.error),
            ..failure
        })
    }
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
            return Err(ReadFailure::new(
                None,
                format!("not read because {parent}, which lists its ids, could not be read"),
            ));
        }
    };
    let selected = body
        .query(ids_path)
        .map_err(|err| ReadFailure::new(None, format!("cannot select ids from {parent}: {err}")))?;
    let mut ids = BTreeSet::new();
    for value in selected {
        match value.as_str() {
            Some(id) if is_guid(id) => ids.insert(id.to_owned()),
            _ => {
                return Err(ReadFailure::new(
                    None,
                    format!(
                        "{parent} lists an id that is not a GUID: {}",
                        super::one_line(&value.to_string())
                    ),
                ));
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
    Url::parse(&text)
        .map_err(|err| ReadFailure::new(None, format!("cannot build the request URL: {err}")))
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
                    file_sha256: None,
                    projected: false,
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

//! The Teams admin API connector: `GET {origin}/Skype.Policy/configurations/{type}` with a token
//! for the "Skype and Teams Tenant Admin API" (`48ac35b8-9aa8-4d74-927d-1f4a14a0b239`).
//!
//! Microsoft does not document this API; it is what the Teams PowerShell module's `*-Cs*` cmdlets
//! and the Teams admin center speak, and what ScubaGear's Teams provider calls. It answers a bare
//! JSON array of configuration objects (`[{"Identity": "Global", …}, {"Identity": "Tag:…"}]`),
//! which is stored as `{"value": [...]}` like every collection. An object with a `value` array is
//! read the same way; anything else (an object without it, items that are not objects, a
//! `@odata.nextLink`, which this API is not known to send) is an error, never an empty list.

use super::auth::TokenSource;
use super::engine::{Job, LocalFuture, Read, ServiceConnector};
use super::fetch::{Fetcher, ReadBody, ReadFailure, ServiceErrors};
use super::permits::Permits;
use super::reader::Reader;
use super::retry::RetryPolicy;
use super::transport::Transport;
use super::{ConnectorError, Secret, check_token, one_line, redact};
use crate::registry::{ResourceKind, ResourceSpec, Service};
use reqwest::Url;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::time::Instant;

/// Reads the Teams admin API.
pub struct TeamsConnector {
    session: Arc<Session>,
}

struct Session {
    reader: Reader,
    tokens: Arc<TokenSource>,
    policy: RetryPolicy,
}

impl TeamsConnector {
    pub fn new(
        transport: Arc<dyn Transport>,
        origin: Url,
        tokens: Arc<TokenSource>,
        policy: RetryPolicy,
        max_response_bytes: u64,
    ) -> Self {
        TeamsConnector {
            session: Arc::new(Session {
                reader: Reader::new(transport, origin, "Teams admin API", max_response_bytes),
                tokens,
                policy,
            }),
        }
    }
}

impl ServiceConnector for TeamsConnector {
    fn service(&self) -> Service {
        Service::Teams
    }

    fn origin(&self) -> &Url {
        self.session.reader.origin()
    }

    fn check_credential(&self) -> LocalFuture<'_, Result<(), ConnectorError>> {
        Box::pin(check_token(&self.session.tokens))
    }

    fn read(&self, job: Job<'_>) -> LocalFuture<'static, Read> {
        let session = Arc::clone(&self.session);
        let permits = job.permits.clone();
        let spec = job.spec.clone();
        Box::pin(async move {
            let outcome = read(&session, &spec, &permits).await;
            Read::plain(&spec, outcome)
        })
    }
}

async fn read(
    session: &Session,
    spec: &ResourceSpec,
    permits: &Permits,
) -> Result<ReadBody, ReadFailure> {
    if spec.kind != ResourceKind::Collection || spec.for_each.is_some() {
        return Err(ReadFailure::new(
            None,
            "a Teams admin API resource is a collection read directly (no for_each)",
        ));
    }
    let _permit = permits
        .acquire()
        .await
        .map_err(|stopped| ReadFailure::new(None, stopped.to_string()))?;
    let mut url = Url::parse(&format!(
        "{}{}",
        session.reader.origin().as_str().trim_end_matches('/'),
        spec.path
    ))
    .map_err(|err| ReadFailure::new(None, format!("cannot build the request URL: {err}")))?;
    if !spec.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&spec.query);
    }
    let errors = TeamsErrors;
    let fetcher = Fetcher {
        tokens: &session.tokens,
        policy: &session.policy,
        errors: &errors,
        deadline: Instant::now() + session.policy.max_total,
    };
    let url = &url;
    let answer = fetcher
        .fetch(|token| async move { session.reader.get(url, &token).await })
        .await?;
    let items = items(&answer.body).map_err(|e| ReadFailure::new(Some(answer.status), e))?;
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(items));
    Ok(ReadBody::whole(Value::Object(body), 1))
}

/// The configuration objects of an answer: a bare array, or an object's `value` array.
fn items(body: &[u8]) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| format!("the response is not JSON ({})", one_line(&err.to_string())))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => {
            if map.get("@odata.nextLink").is_some_and(|v| !v.is_null()) {
                return Err(
                    "the response has an @odata.nextLink; paging is not known for this API, so the result may be incomplete".into(),
                );
            }
            match map.remove("value") {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(
                        "the response is neither a JSON array nor an object with a `value` array"
                            .into(),
                    );
                }
            }
        }
        other => {
            return Err(format!(
                "the response is {}, not a JSON array",
                crate::snapshot::kind_of(&other)
            ));
        }
    };
    if let Some((index, item)) = items.iter().enumerate().find(|(_, i)| !i.is_object()) {
        return Err(format!(
            "item {index} is {}, not an object",
            crate::snapshot::kind_of(item)
        ));
    }
    Ok(items)
}

/// How the Teams admin API's errors read, and what its 403 means.
struct TeamsErrors;

impl ServiceErrors for TeamsErrors {
    fn forbidden(&self, body: &[u8], token: &Secret) -> String {
        format!(
            "forbidden: the Teams admin API needs the app to hold an Entra role that may read Teams policies (Global Reader is the least); {}",
            teams_error(body, token)
        )
    }

    fn describe(&self, body: &[u8], token: &Secret) -> String {
        teams_error(body, token)
    }
}

/// What the API said, as one line: `code: message` of an `error` object, or the start of a text
/// body; the token redacted.
fn teams_error(body: &[u8], token: &Secret) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error").or(Some(v)));
    let text = |key: &str| error.and_then(|e| e.get(key)).and_then(Value::as_str);
    let said = match (text("code").or(text("errorCode")), text("message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(only), None) | (None, Some(only)) => only.to_owned(),
        (None, None) => return "no error details in the response".to_owned(),
    };
    one_line(&redact(&said, &[token]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bare_array_or_a_value_array_is_read_and_anything_else_refused() {
        let policies = json!([{"Identity": "Global", "AllowAnonymousUsersToJoinMeeting": false}, {"Identity": "Tag:AllOn"}]);
        assert_eq!(
            items(&serde_json::to_vec(&policies).unwrap()).unwrap(),
            policies.as_array().unwrap().clone()
        );
        let wrapped = json!({"value": policies});
        assert_eq!(
            items(&serde_json::to_vec(&wrapped).unwrap()).unwrap().len(),
            2
        );
        for (body, problem) in [
            (&b"{}"[..], "neither"),
            (&b"null"[..], "is null"),
            (&b"[1]"[..], "item 0 is a number"),
            (&b"<html>"[..], "not JSON"),
            (
                &br#"{"value":[],"@odata.nextLink":"https://x/y"}"#[..],
                "may be incomplete",
            ),
        ] {
            let err = items(body).unwrap_err();
            assert!(err.contains(problem), "{err}");
        }
    }

    #[test]
    fn a_403_names_the_role() {
        let text = TeamsErrors.forbidden(b"", &Secret::new("t"));
        assert!(text.contains("Global Reader"), "{text}");
        assert_eq!(
            teams_error(
                br#"{"error":{"code":"Forbidden","message":"no s3cr3t here"}}"#,
                &Secret::new("s3cr3t")
            ),
            "Forbidden: no [redacted] here"
        );
    }
}

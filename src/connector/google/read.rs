//! Reads one Google resource: `GET`s to the configured API origins only, through the transport
//! seam, following `nextPageToken`, retrying what Google asks to retry, and recording anything
//! else as the resource's failure (its policies then give `error`, never `pass`).
//!
//! - Pages: the items are in the member the registry names (`users`, `items`, `policies`, …); a
//!   page without it is a blank page (the Policy API sends some), and a missing or empty
//!   `nextPageToken` ends the list ("If this field is empty, there are no subsequent pages").
//!   A token that comes back twice is an error, not a loop.
//! - Retries: 429 and 500, 502, 503, 504, timeouts and dropped connections, with `Retry-After`
//!   or exponential backoff; and 403 when it is the Directory API's rate limit
//!   (`userRateLimitExceeded`, `rateLimitExceeded`, `quotaExceeded`,
//!   <https://developers.google.com/workspace/admin/directory/v1/limits>). Any other 403 — a
//!   scope not granted, an administrator who is not a super administrator, an API not enabled —
//!   is the resource's error at once, naming the scope to grant.
//! - 401: the token is renewed once.
//! - The Policy API's pages are asked at most one a second (ScubaGoggles saw faster requests
//!   refused).

use super::super::transport::origin::{origin_text, same_origin};
use super::super::transport::{Request, Transport, TransportError, content_length};
use super::super::{RetryPolicy, Secret, one_line, redact};
use super::token::GoogleTokens;
use crate::connector::retry::{is_retryable_status, jitter, parse_retry_after};
use crate::registry::{ResourceKind, ResourceSpec, Service};
use crate::snapshot::Collected;
use jsonpath_rust::JsonPath;
use reqwest::Url;
use reqwest::header::RETRY_AFTER;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// More pages than this is a runaway answer, not a customer.
const MAX_PAGES: u32 = 100_000;
/// Policy API pages are asked no faster than this.
const POLICY_PAGE_INTERVAL: Duration = Duration::from_secs(1);

/// Why a resource was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub http_status: Option<u16>,
    pub error: String,
}

/// Reads resources for one customer. Shared by the connectors of both Google services (one
/// token source: one set of scopes, one impersonated administrator).
pub(super) struct Reader {
    pub transport: Arc<dyn Transport>,
    pub tokens: Arc<GoogleTokens>,
    pub directory: Url,
    pub policy: Url,
    pub customer: String,
    pub retry: RetryPolicy,
    pub max_response_bytes: u64,
}

impl Reader {
    /// The origin a service's requests go to.
    pub fn origin(&self, service: Service) -> Option<&Url> {
        match service {
            Service::GoogleDirectory => Some(&self.directory),
            Service::GooglePolicy => Some(&self.policy),
            _ => None,
        }
    }

    /// The request line the snapshot records, `{customer}` filled in.
    pub fn request_line(&self, spec: &ResourceSpec) -> String {
        spec.request_line().replace("{customer}", &self.customer)
    }

    /// Reads a resource that is not a fan-out.
    pub async fn read(&self, name: &str, spec: &ResourceSpec) -> Collected {
        let request = self.request_line(spec);
        let started = Instant::now();
        match self.pages(name, spec, None, started).await {
            Ok((body, pages)) => Collected::Read {
                request,
                http_status: 200,
                pages,
                body,
                note: None,
                file_sha256: None,
                projected: false,
            },
            Err(failure) => Collected::Failed {
                request,
                http_status: failure.http_status,
                error: failure.error,
                note: None,
            },
        }
    }

    /// Reads a fan-out: once per id its parent's body selects (with the registry's prefix
    /// removed), stored as `{"<id>": {"value": [...]}}`. Any id that fails fails the resource:
    /// a group whose members were not read must not look like a group without members.
    pub async fn read_fan_out(
        &self,
        name: &str,
        spec: &ResourceSpec,
        parent: Option<&Collected>,
    ) -> Collected {
        let request = self.request_line(spec);
        let failed = |http_status, error: String| Collected::Failed {
            request: request.clone(),
            http_status,
            error,
            note: None,
        };
        let Some(fan_out) = &spec.for_each else {
            return failed(None, format!("{name} is not a fan-out"));
        };
        let body = match parent {
            Some(Collected::Read { body, .. }) => body,
            _ => {
                return failed(
                    None,
                    format!(
                        "not read: {}, which lists its ids, could not be read",
                        fan_out.resource
                    ),
                );
            }
        };
        let selected = match body.query(&fan_out.ids) {
            Ok(found) => found,
            Err(err) => return failed(None, format!("for_each.ids cannot select ids: {err}")),
        };
        let ids: BTreeSet<&str> = selected
            .iter()
            .filter_map(|v| v.as_str())
            .filter_map(|v| fan_out.id_of(v))
            .collect();
        if let Some(bad) = ids.iter().find(|id| !is_plain_id(id)) {
            return failed(
                None,
                format!(
                    "{} lists an id that is not a plain Google id: {}",
                    fan_out.resource,
                    one_line(bad)
                ),
            );
        }
        let started = Instant::now();
        let mut out = Map::new();
        let mut pages = 0;
        for id in ids {
            match self.pages(name, spec, Some(id), started).await {
                Ok((body, n)) => {
                    pages += n;
                    out.insert(id.to_owned(), body);
                }
                Err(failure) => {
                    return failed(failure.http_status, format!("{id}: {}", failure.error));
                }
            }
        }
        Collected::Read {
            request,
            http_status: 200,
            pages,
            body: Value::Object(out),
            note: None,
            file_sha256: None,
            projected: false,
        }
    }

    /// Every page of one list (or the one object), as the snapshot stores it.
    async fn pages(
        &self,
        name: &str,
        spec: &ResourceSpec,
        id: Option<&str>,
        started: Instant,
    ) -> Result<(Value, u32), Failure> {
        let first = self.url(spec, id, None)?;
        if spec.kind == ResourceKind::Object {
            return Ok((self.get(spec, &first, started).await?, 1));
        }
        let member = spec.items.as_deref().unwrap_or("items");
        let mut items: Vec<Value> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut url = first;
        let mut pages = 0;
        loop {
            if pages > 0 && spec.service == Service::GooglePolicy {
                tokio::time::sleep(POLICY_PAGE_INTERVAL).await;
            }
            let mut page = self.get(spec, &url, started).await?;
            pages += 1;
            match page.get_mut(member).map(Value::take) {
                None | Some(Value::Null) => {} // a blank page
                Some(Value::Array(list)) => items.extend(list),
                Some(other) => {
                    return Err(Failure {
                        http_status: Some(200),
                        error: format!(
                            "{name}: `{member}` in page {pages} is {}, not a list",
                            crate::snapshot::kind_of(&other)
                        ),
                    });
                }
            }
            let next = match page.get("nextPageToken") {
                None | Some(Value::Null) => None,
                Some(Value::String(token)) if token.is_empty() => None,
                Some(Value::String(token)) => Some(token.clone()),
                Some(_) => {
                    return Err(Failure {
                        http_status: Some(200),
                        error: format!("{name}: nextPageToken in page {pages} is not a string"),
                    });
                }
            };
            let Some(token) = next else {
                break;
            };
            if !seen.insert(token.clone()) || pages >= MAX_PAGES {
                return Err(Failure {
                    http_status: Some(200),
                    error: format!(
                        "{name}: the page token repeats after {pages} pages (or the list does not end)"
                    ),
                });
            }
            url = self.url(spec, id, Some(&token))?;
        }
        let mut body = Map::new();
        body.insert("value".into(), Value::Array(items));
        Ok((Value::Object(body), pages))
    }

    /// The URL of a page: the service's origin, the registry's path and query with the customer
    /// (and the fan-out id) filled in, and the page token.
    fn url(
        &self,
        spec: &ResourceSpec,
        id: Option<&str>,
        token: Option<&str>,
    ) -> Result<Url, Failure> {
        let refuse = |error: String| Failure {
            http_status: None,
            error,
        };
        let origin = self
            .origin(spec.service)
            .ok_or_else(|| refuse(format!("service {} is not a Google API", spec.service)))?;
        let mut path = spec.path.replace("{customer}", &self.customer);
        if let Some(id) = id {
            path = path.replace("{id}", id);
        }
        let mut url = origin
            .join(&path)
            .map_err(|err| refuse(format!("cannot build the URL: {err}")))?;
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in &spec.query {
                query.append_pair(key, &value.replace("{customer}", &self.customer));
            }
            if let Some(token) = token {
                query.append_pair("pageToken", token);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// One `GET`, retried as the module says, within the resource's time budget.
    async fn get(
        &self,
        spec: &ResourceSpec,
        url: &Url,
        started: Instant,
    ) -> Result<Value, Failure> {
        let origin = self.origin(spec.service).ok_or_else(|| Failure {
            http_status: None,
            error: "not a Google API".into(),
        })?;
        if !same_origin(url, origin) {
            return Err(Failure {
                http_status: None,
                error: format!("refused to send a request to {}", origin_text(url)),
            });
        }
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let token = self.tokens.token().await.map_err(|err| Failure {
                http_status: None,
                error: err.to_string(),
            })?;
            let answer = self.send(url, &token).await;
            let (retry_after, last) = match answer {
                Ok((200, _, body)) => {
                    return match serde_json::from_slice::<Value>(&body) {
                        Ok(value @ Value::Object(_)) => Ok(value),
                        Ok(_) => Err(Failure {
                            http_status: Some(200),
                            error: "the response is JSON but not an object".into(),
                        }),
                        Err(err) => Err(Failure {
                            http_status: Some(200),
                            error: format!("the response is not valid JSON ({err})"),
                        }),
                    };
                }
                Ok((401, _, _)) if !renewed => {
                    renewed = true;
                    self.tokens.invalidate(&token).await;
                    continue;
                }
                Ok((status, retry_after, body)) => {
                    let error = GoogleError::parse(&body, &[&token]);
                    let failure = Failure {
                        http_status: Some(status),
                        error: error.describe(status, spec),
                    };
                    let retry =
                        is_retryable_status(status) || (status == 403 && error.is_rate_limit());
                    if !retry {
                        return Err(failure);
                    }
                    (retry_after, failure)
                }
                Err(err) if err.is_retryable() => (
                    None,
                    Failure {
                        http_status: None,
                        error: err.to_string(),
                    },
                ),
                Err(err) => {
                    return Err(Failure {
                        http_status: None,
                        error: err.to_string(),
                    });
                }
            };
            let delay = self
                .retry
                .delay(attempt, retry_after, jitter())
                .filter(|d| {
                    attempt < self.retry.max_attempts
                        && started.elapsed() + *d < self.retry.max_total
                });
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    return Err(Failure {
                        http_status: last.http_status,
                        error: format!("{} (gave up after {attempt} attempts)", last.error),
                    });
                }
            }
        }
    }

    async fn send(
        &self,
        url: &Url,
        token: &Secret,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), TransportError> {
        let request = Request::Read {
            url: url.clone(),
            bearer: token.clone(),
        };
        tokio::time::timeout(self.retry.request_timeout, async {
            let response = self.transport.send(request).await?;
            let retry_after = response
                .headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let length = content_length(&response.headers);
            let body = response
                .body
                .read_to_end(self.max_response_bytes, length)
                .await?;
            Ok((response.status, retry_after, body))
        })
        .await
        .unwrap_or(Err(TransportError::Timeout))
    }
}

/// A Google id as it may stand in a path: letters, digits, `-` and `_`.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An error body in Google's two dialects: `{"error": {"code", "message", "status",
/// "details": [{"reason"}]}}` (Cloud APIs) and the Directory API's legacy
/// `{"error": {..., "errors": [{"reason", "message"}]}}`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct GoogleError {
    pub message: String,
    pub status: String,
    pub reasons: Vec<String>,
}

impl GoogleError {
    pub fn parse(body: &[u8], secrets: &[&Secret]) -> GoogleError {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let error = parsed.get("error").cloned().unwrap_or(Value::Null);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let reasons_in = |list: Option<&Value>| -> Vec<String> {
            list.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| d.get("reason").and_then(Value::as_str).map(str::to_owned))
                .collect()
        };
        let mut reasons = reasons_in(error.get("errors"));
        reasons.extend(reasons_in(error.get("details")));
        GoogleError {
            message: one_line(&redact(&text(error.get("message")), secrets)),
            status: text(error.get("status")),
            reasons,
        }
    }

    /// The Directory API's rate limits answer 403; the Policy API's 429 `RESOURCE_EXHAUSTED`.
    pub fn is_rate_limit(&self) -> bool {
        self.status == "RESOURCE_EXHAUSTED"
            || self.reasons.iter().any(|r| {
                matches!(
                    r.as_str(),
                    "userRateLimitExceeded"
                        | "rateLimitExceeded"
                        | "quotaExceeded"
                        | "RATE_LIMIT_EXCEEDED"
                )
            })
    }

    /// One line for the snapshot: what Google said, and for a refusal, what to grant.
    pub fn describe(&self, status: u16, spec: &ResourceSpec) -> String {
        let said = match (self.status.is_empty(), self.message.is_empty()) {
            (_, false) if !self.status.is_empty() => format!("{} {}", self.status, self.message),
            (_, false) => self.message.clone(),
            (false, true) => self.status.clone(),
            (true, true) => "no error message".to_owned(),
        };
        let reasons = if self.reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.reasons.join(", "))
        };
        let hint = match status {
            403 if self.is_rate_limit() => String::new(),
            401 | 403 => format!(
                "; grant {} to the service account on the domain-wide delegation page, and impersonate a super administrator",
                spec.permission
            ),
            _ => String::new(),
        };
        format!("{said}{reasons}{hint}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_dialects_are_read_and_rate_limits_told_from_refusals() {
        let legacy = br#"{"error": {"code": 403, "message": "User Rate Limit Exceeded", "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "User Rate Limit Exceeded"}]}}"#;
        assert!(GoogleError::parse(legacy, &[]).is_rate_limit());
        let scope = br#"{"error": {"code": 403, "message": "Request had insufficient authentication scopes.", "status": "PERMISSION_DENIED", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}]}}"#;
        let error = GoogleError::parse(scope, &[]);
        assert!(!error.is_rate_limit());
        let spec: ResourceSpec = serde_json::from_value(serde_json::json!({
            "title": "t", "service": "google_policy", "path": "/v1/policies", "kind": "collection",
            "items": "policies", "permission": "https://www.googleapis.com/auth/cloud-identity.policies.readonly"
        }))
        .unwrap();
        let text = error.describe(403, &spec);
        assert!(text.starts_with("PERMISSION_DENIED Request had insufficient authentication scopes. (ACCESS_TOKEN_SCOPE_INSUFFICIENT)"), "{text}");
        assert!(
            text.contains("grant https://www.googleapis.com/auth/cloud-identity.policies.readonly"),
            "{text}"
        );
        let quota = br#"{"error": {"code": 429, "message": "Quota exceeded for quota metric 'Read requests'", "status": "RESOURCE_EXHAUSTED"}}"#;
        assert!(GoogleError::parse(quota, &[]).is_rate_limit());
        let echo = br#"{"error": {"message": "bad token ya29.canary"}}"#;
        let error = GoogleError::parse(echo, &[&Secret::new("ya29.canary")]);
        assert!(!error.message.contains("canary"), "{}", error.message);
        assert_eq!(GoogleError::parse(b"<html>", &[]), GoogleError::default());
    }

    #[test]
    fn only_plain_ids_go_into_a_path() {
        assert!(is_plain_id("02xcytpi2smgulh"));
        for bad in ["", "../users", "a/b", "a?b", "a b", "%2e%2e"] {
            assert!(!is_plain_id(bad), "{bad}");
        }
    }
}

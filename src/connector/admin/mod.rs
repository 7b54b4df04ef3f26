//! The admin API connector of Exchange Online and Security & Compliance (Purview): each resource
//! is one read-only cmdlet, sent as `POST {origin}/adminapi/beta/{tenant}/InvokeCommand` with its
//! token audience (`https://outlook.office365.com/.default`,
//! `https://ps.compliance.protection.outlook.com/.default`).
//!
//! Microsoft does not document this API; it is what the Exchange Online PowerShell module speaks,
//! and what ScubaGear, Monkey365 and CIPP call. So everything about it is read defensively:
//! - the request names a [`Cmdlet`](crate::registry::Cmdlet) from the compiled-in list and nothing
//!   else ([`Invocation`]); it asks for pages of 1000 (`Prefer: odata.maxpagesize=1000`);
//! - every `@odata.nextLink` is POSTed again with the same body, on the host the page came from;
//!   a failure on any later page makes the whole resource an error, never a shorter result;
//! - a 200 with an `error` inside, a body that is not JSON (a 403 comes as NUL bytes), a missing
//!   `value` array, or an item that is not an object: an error;
//! - a redirect is judged by [`redirect::regional_origin`] and sent again once, to the region's
//!   host under the configured one; the host learned is used for the rest of the scan;
//! - a warning on the last page that the result was cut short (`ResultSize`) is an error.
//!
//! The resource is stored as `{"value": [every object the cmdlet returned, all pages]}`, the
//! objects as sent (PascalCase members, enums and TimeSpans as strings, `@odata.type`
//! annotations in place).

pub mod page;
pub mod redirect;

use super::auth::TokenSource;
use super::engine::{Job, LocalFuture, Read, ServiceConnector};
use super::fetch::{Answer, Fetcher, ReadBody, ReadFailure, ServiceErrors};
use super::next_link::checked_next_link;
use super::permits::Permits;
use super::retry::RetryPolicy;
use super::transport::origin::{has_user_info, origin_text, same_origin};
use super::transport::{Anchor, Invocation, Request, Transport, TransportError};
use super::{ConnectorError, Secret, check_token, one_line, redact};
use crate::registry::{ResourceSpec, Service};
use reqwest::Url;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// Reads one admin API: Exchange Online or Security & Compliance.
pub struct AdminConnector {
    session: Arc<Session>,
}

struct Session {
    service: Service,
    sender: Sender,
    tenant: String,
    tokens: Arc<TokenSource>,
    policy: RetryPolicy,
}

impl AdminConnector {
    /// The connector of `service` (Exchange or Compliance) at `origin`, for `tenant` (the tenant
    /// id or domain the user gave: it is part of the request path).
    pub fn new(
        service: Service,
        transport: Arc<dyn Transport>,
        origin: Url,
        tenant: &str,
        tokens: Arc<TokenSource>,
        policy: RetryPolicy,
        max_response_bytes: u64,
    ) -> Result<Self, ConnectorError> {
        let plain = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !plain || !service.invokes_cmdlets() {
            return Err(ConnectorError::Credential(
                "--tenant (AZURE_TENANT_ID) must be a tenant id (GUID) or a domain name such as gemeente.onmicrosoft.com".into(),
            ));
        }
        // Exchange routes an app's request by the tenant's system mailbox, as Microsoft's own
        // module does; Security & Compliance is sent none (as ScubaGear sends none).
        let anchor = match service {
            Service::Exchange => Anchor::system_mailbox(tenant),
            _ => None,
        };
        Ok(AdminConnector {
            session: Arc::new(Session {
                service,
                sender: Sender {
                    transport,
                    configured: origin,
                    regional: Mutex::new(None),
                    anchor,
                    max_response_bytes,
                },
                tenant: tenant.to_owned(),
                tokens,
                policy,
            }),
        })
    }
}

impl ServiceConnector for AdminConnector {
    fn service(&self) -> Service {
        self.session.service
    }

    fn origin(&self) -> &Url {
        &self.session.sender.configured
    }

    fn check_credential(&self) -> LocalFuture<'_, Result<(), ConnectorError>> {
        Box::pin(check_token(&self.session.tokens))
    }

    fn read(&self, job: Job<'_>) -> LocalFuture<'static, Read> {
        let session = Arc::clone(&self.session);
        let permits = job.permits.clone();
        let spec = job.spec.clone();
        Box::pin(async move {
            let (outcome, note) = match read(&session, &spec, &permits).await {
                Ok((body, note)) => (Ok(body), note),
                Err(failure) => (Err(failure), None),
            };
            Read {
                request: spec.request_line(),
                note,
                outcome,
            }
        })
    }
}

/// Reads every page of one cmdlet's output; the note says where a redirect sent it, or what
/// the service warned.
async fn read(
    session: &Session,
    spec: &ResourceSpec,
    permits: &Permits,
) -> Result<(ReadBody, Option<String>), ReadFailure> {
    let cmdlet = spec
        .cmdlet
        .ok_or_else(|| ReadFailure::new(None, "the registry names no cmdlet for this resource"))?;
    if cmdlet.service() != session.service {
        return Err(ReadFailure::new(
            None,
            format!(
                "{cmdlet} runs on {}, not {}",
                cmdlet.service(),
                session.service
            ),
        ));
    }
    let invocation = Invocation::new(cmdlet, &spec.parameters)
        .map_err(|problem| ReadFailure::new(None, problem))?;
    let _permit = permits
        .acquire()
        .await
        .map_err(|stopped| ReadFailure::new(None, stopped.to_string()))?;
    let errors = AdminErrors {
        service: session.service,
        cmdlet: cmdlet.as_str(),
    };
    let fetcher = Fetcher {
        tokens: &session.tokens,
        policy: &session.policy,
        errors: &errors,
        deadline: Instant::now() + session.policy.max_total,
    };
    let sender = &session.sender;
    let mut url = invoke_url(&sender.base(), &session.tenant)?;
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut pages = 0u32;
    let mut notes = Vec::new();
    let mut redirected = false;
    let last_warnings = loop {
        seen.insert(url.as_str().to_owned());
        let answer = fetcher
            .fetch(|token| sender.post(&url, token, &invocation))
            .await
            .map_err(|failure| on_page(pages + 1, failure))?;
        if answer.is_redirect() {
            if pages > 0 || redirected {
                return Err(ReadFailure::new(
                    Some(answer.status),
                    format!(
                        "page {}: redirected again; a redirect is followed once, for the first page",
                        pages + 1
                    ),
                ));
            }
            let regional = redirect::regional_origin(
                session.service,
                &sender.configured,
                answer.location.as_deref(),
            )
            .map_err(|problem| ReadFailure::new(Some(answer.status), problem))?;
            notes.push(format!(
                "the service sent this tenant to its regional host {}",
                origin_text(&regional)
            ));
            sender.remember(regional.clone());
            url = invoke_url(&regional, &session.tenant)?;
            redirected = true;
            continue;
        }
        pages += 1;
        let page = page::decode(&answer.body, pages)
            .map_err(|e| ReadFailure::new(Some(answer.status), e))?;
        items.extend(page.items);
        match page.next_link {
            None => break page.warnings,
            Some(link) => {
                // The next page comes from the host this one came from.
                let origin = origin_of(&url);
                url = checked_next_link(&origin, session.service.title(), &seen, &link, pages)?;
            }
        }
    };
    if let Some(cut) = last_warnings
        .iter()
        .find(|w| w.to_ascii_lowercase().contains("resultsize"))
    {
        return Err(ReadFailure::new(
            Some(200),
            format!("the service cut the result short: {cut}"),
        ));
    }
    if !last_warnings.is_empty() {
        notes.push(format!("the service warned: {}", last_warnings.join("; ")));
    }
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(items));
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((ReadBody::whole(Value::Object(body), pages), note))
}

/// A failure of page `page`, saying so when it was not the first: the pages before it are not
/// a result.
fn on_page(page: u32, failure: ReadFailure) -> ReadFailure {
    if page <= 1 {
        return failure;
    }
    ReadFailure {
        error: format!(
            "page {page} could not be read, so the result is incomplete: {}",
            failure.error
        ),
        ..failure
    }
}

/// `{base}/adminapi/beta/{tenant}/InvokeCommand`.
fn invoke_url(base: &Url, tenant: &str) -> Result<Url, ReadFailure> {
    let text = format!(
        "{}/adminapi/beta/{tenant}/InvokeCommand",
        base.as_str().trim_end_matches('/')
    );
    Url::parse(&text)
        .map_err(|err| ReadFailure::new(None, format!("cannot build the request URL: {err}")))
}

/// `scheme://host:port/` of `url`.
fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// Sends `InvokeCommand` POSTs to the configured origin, or to the regional host a redirect
/// named, and nothing else.
struct Sender {
    transport: Arc<dyn Transport>,
    configured: Url,
    /// The regional host this tenant was sent to, once known (checked by `redirect`).
    regional: Mutex<Option<Url>>,
    anchor: Option<Anchor>,
    max_response_bytes: u64,
}

impl Sender {
    /// Where the first page of a cmdlet goes: the regional host once known, else the
    /// configured origin.
    fn base(&self) -> Url {
        self.regional
            .lock()
            .ok()
            .and_then(|regional| regional.clone())
            .unwrap_or_else(|| self.configured.clone())
    }

    fn remember(&self, regional: Url) {
        if let Ok(mut known) = self.regional.lock() {
            *known = Some(regional);
        }
    }

    /// `POST url` of `invocation`. A URL on any origin but the configured one or the regional
    /// one learned, or with user info, is refused before anything is sent.
    async fn post(
        &self,
        url: &Url,
        token: Secret,
        invocation: &Invocation,
    ) -> Result<Answer, TransportError> {
        let regional = self.regional.lock().ok().and_then(|r| r.clone());
        let known = same_origin(url, &self.configured)
            || regional.is_some_and(|regional| same_origin(url, &regional));
        if !known {
            return Err(TransportError::Refused(format!(
                "{}: not the configured host",
                origin_text(url)
            )));
        }
        if has_user_info(url) {
            return Err(TransportError::Refused(format!(
                "{}: the URL carries user info",
                origin_text(url)
            )));
        }
        let request = Request::Invoke {
            url: url.clone(),
            bearer: token,
            invocation: invocation.clone(),
            anchor: self.anchor.clone(),
        };
        let response = self.transport.send(request).await?;
        Answer::read(response, self.max_response_bytes).await
    }
}

/// How the admin APIs word their errors, and what a 401 or 403 means there.
struct AdminErrors<'a> {
    service: Service,
    cmdlet: &'a str,
}

impl ServiceErrors for AdminErrors<'_> {
    /// The service answers 403 (with a body of NUL bytes) when the app holds
    /// `Exchange.ManageAsApp` but no Entra role that may run the cmdlet.
    fn forbidden(&self, body: &[u8], token: &Secret) -> String {
        format!(
            "forbidden: {} refused {}: the app needs an Entra role that may run it (Global Reader is the least role that covers every cmdlet cloudkeur sends), besides the application permission Exchange.ManageAsApp; {}",
            self.service.title(),
            self.cmdlet,
            admin_error(body, token)
        )
    }

    fn describe(&self, body: &[u8], token: &Secret) -> String {
        admin_error(body, token)
    }

    /// Without the application permission the service answers 401 to every token.
    fn unauthorized(&self, body: &[u8], token: &Secret) -> String {
        format!(
            "unauthorized even with a new token: the app needs the application permission Exchange.ManageAsApp (Office 365 Exchange Online) with admin consent; {}",
            admin_error(body, token)
        )
    }

    fn returns_redirects(&self) -> bool {
        true
    }
}

/// An admin API error body as one line, the token redacted; a body that is not JSON (NUL
/// bytes, HTML) has no details.
fn admin_error(body: &[u8], token: &Secret) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    match parsed.as_ref().and_then(|v| v.get("error")) {
        Some(error) => one_line(&redact(&page::error_text(error), &[token])),
        None => "no error details in the response".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoke_url_names_the_tenant_the_user_gave() {
        let base = Url::parse("https://outlook.office365.com").unwrap();
        assert_eq!(
            invoke_url(&base, "zonnedorp.onmicrosoft.com")
                .unwrap()
                .as_str(),
            "https://outlook.office365.com/adminapi/beta/zonnedorp.onmicrosoft.com/InvokeCommand"
        );
    }

    #[test]
    fn a_403_of_nul_bytes_names_the_role_and_the_permission() {
        let errors = AdminErrors {
            service: Service::Exchange,
            cmdlet: "Get-AdminAuditLogConfig",
        };
        let text = errors.forbidden(&[0u8; 32], &Secret::new("t"));
        assert!(text.contains("Global Reader"), "{text}");
        assert!(text.contains("Exchange.ManageAsApp"), "{text}");
        assert!(text.contains("no error details"), "{text}");
        let unauthorized = errors.unauthorized(b"", &Secret::new("t"));
        assert!(
            unauthorized.contains("Exchange.ManageAsApp"),
            "{unauthorized}"
        );
    }
}

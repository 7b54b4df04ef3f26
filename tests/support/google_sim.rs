//! A simulated Google: the OAuth 2.0 token endpoint (JWT bearer grant with domain-wide
//! delegation), the Security Token Service, IAM Credentials' `signJwt`, and the Directory and
//! Cloud Identity Policy APIs serving a fixture customer, with Google's paging, error bodies and
//! faults. In process: it is a [`Transport`], so the connector runs on tokio's paused clock.
//!
//! It checks what Google checks and what cloudkeur promises: assertions signed by the service
//! account's key (or by the simulator's own key for `signJwt`), `aud` Google's token endpoint,
//! at most an hour long, `sub` a user of the customer, every scope delegated and read-only; API
//! requests carry a token whose scopes cover the resource. Every request is logged.
//!
//! [`SimGoogle::serve`] also serves it over TCP on 127.0.0.1, for the end-to-end tests of the
//! `cloudkeur` binary: the same answers, and any method but GET and POST logged and refused.
#![allow(dead_code)]

use bytes::Bytes;
use cloudkeur::connector::Secret;
use cloudkeur::connector::transport::{
    Body, BoxFuture, Request, Response, Transport, TransportError,
};
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::registry::{ResourceKind, ResourceSpec};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ORIGIN: &str = "https://google.sim.test";
pub const SERVICE_ACCOUNT: &str = "cloudkeur-scan@schoolbestuur-scan.iam.gserviceaccount.com";
pub const AUDIENCE: &str = "//iam.googleapis.com/projects/481516/locations/global/workloadIdentityPools/ci/providers/gitlab";
pub const SUBJECT_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.federated-canary-7c1.sig";
const REAL_TOKEN_AUDIENCE: &str = "https://oauth2.googleapis.com/token";

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `GET` or `POST`.
    pub method: &'static str,
    pub path: String,
    pub query: Option<String>,
    /// The body's content type, for a POST.
    pub content_type: Option<&'static str>,
    /// For a token request: the scopes the assertion asked for.
    pub scopes: Vec<String>,
    /// For a token request: the administrator impersonated.
    pub subject: Option<String>,
}

/// What a request to a path gets instead of its answer, once per entry.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A status with Google's error body for it (and `Retry-After` seconds, if given).
    Status(u16, Option<u64>),
    /// The Directory API's rate limit: 403 `userRateLimitExceeded`.
    DirectoryRateLimit,
    /// 403 `ACCESS_TOKEN_SCOPE_INSUFFICIENT`.
    ScopeMissing,
    /// 200 with a body that is not JSON.
    NotJson,
    /// No answer within an hour.
    Stall,
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The fixture customer served (a snapshot directory).
    pub fixture: String,
    /// The service account's public key (PEM), for assertions signed with its key file.
    pub key_pem: Option<String>,
    /// Scopes granted on the domain-wide delegation page.
    pub delegated: BTreeSet<String>,
    /// Users `sub` may name; super administrators may use the Policy API.
    pub super_admins: BTreeSet<String>,
    pub users: BTreeSet<String>,
    /// Items per page the simulator gives at most (below Google's limits, so paging happens).
    pub page_size: usize,
    /// `expires_in` of the access tokens it issues.
    pub token_lifetime: u64,
    /// A refused token or STS request's `error_description` repeats the form as received
    /// (assertion, subject token), as a careless or hostile endpoint might.
    pub echo_refused: bool,
}

pub fn all_read_only_scopes() -> BTreeSet<String> {
    [
        "admin.directory.domain.readonly",
        "admin.directory.group.readonly",
        "admin.directory.orgunit.readonly",
        "admin.directory.rolemanagement.readonly",
        "admin.directory.user.readonly",
        "cloud-identity.policies.readonly",
    ]
    .iter()
    .map(|s| format!("https://www.googleapis.com/auth/{s}"))
    .collect()
}

struct Issued {
    scopes: BTreeSet<String>,
    subject: String,
}

#[derive(Default)]
struct State {
    log: Vec<Logged>,
    faults: BTreeMap<String, VecDeque<Fault>>,
    tokens: BTreeMap<String, Issued>,
    federated: BTreeSet<String>,
    issued: u32,
}

/// A served resource: its registry entry and its fixture body.
struct Served {
    spec: ResourceSpec,
    body: Value,
}

pub struct SimGoogle {
    options: SimOptions,
    resources: BTreeMap<String, Served>,
    sign_key: jsonwebtoken::EncodingKey,
    verify_own: jsonwebtoken::DecodingKey,
    state: Mutex<State>,
}

impl SimGoogle {
    pub fn new(options: SimOptions) -> Arc<SimGoogle> {
        let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(&options.fixture);
        let mut resources = BTreeMap::new();
        for (name, spec) in pack.registry.iter() {
            if spec.service.vendor() != cloudkeur::vendor::Vendor::Google || spec.is_derived() {
                continue;
            }
            let file = dir.join(format!("{name}.json"));
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let body: Value = serde_json::from_str(&text).expect("fixture JSON");
            resources.insert(
                name.clone(),
                Served {
                    spec: spec.clone(),
                    body,
                },
            );
        }
        let own = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
        Arc::new(SimGoogle {
            options,
            resources,
            sign_key: jsonwebtoken::EncodingKey::from_rsa_pem(own.serialize_pem().as_bytes())
                .expect("sim key"),
            verify_own: jsonwebtoken::DecodingKey::from_rsa_pem(own.public_key_pem().as_bytes())
                .expect("sim public key"),
            state: Mutex::new(State::default()),
        })
    }

    pub fn fault(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(path.to_owned())
            .or_default()
            .push_back(fault);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// The fixture body of a resource, as the snapshot stores it.
    pub fn fixture_body(&self, name: &str) -> Value {
        self.resources[name].body.clone()
    }

    fn answer(&self, request: Request) -> Answer {
        match request {
            Request::Read { url, bearer } => self.get(&url, &bearer),
            Request::Token { url, form } => self.token(&url, &form),
            Request::SignJwt(sign) => self.sign_jwt(sign.url(), sign.bearer(), sign.body()),
            // A Microsoft admin API request never comes here; answer as Google would a POST.
            Request::Invoke { .. } => json_answer(
                405,
                json!({"error": {"code": 405, "message": "Method Not Allowed", "status": "UNAVAILABLE"}}),
            ),
        }
    }

    fn log_request(&self, entry: Logged) {
        self.state.lock().unwrap().log.push(entry);
    }

    fn take_fault(&self, path: &str) -> Option<Fault> {
        self.state
            .lock()
            .unwrap()
            .faults
            .get_mut(path)
            .and_then(VecDeque::pop_front)
    }

    // ------------------------------------------------------------ OAuth, STS, IAM Credentials

    fn token(&self, url: &reqwest::Url, form: &Secret) -> Answer {
        let fields: BTreeMap<String, String> =
            url::form_urlencoded::parse(form.expose().as_bytes())
                .into_owned()
                .collect();
        let path = url.path().to_owned();
        if path == "/v1/token" {
            self.log_request(Logged {
                method: "POST",
                path,
                query: url.query().map(str::to_owned),
                content_type: Some("application/x-www-form-urlencoded"),
                scopes: fields
                    .get("scope")
                    .map(|s| s.split(' ').map(str::to_owned).collect())
                    .unwrap_or_default(),
                subject: None,
            });
            return self.sts(&fields, form);
        }
        let assertion = fields.get("assertion").cloned().unwrap_or_default();
        let claims = self.verify(&assertion);
        let scopes: Vec<String> = claims
            .as_ref()
            .ok()
            .and_then(|c| c.get("scope").and_then(Value::as_str))
            .map(|s| s.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        let subject = claims
            .as_ref()
            .ok()
            .and_then(|c| c.get("sub").and_then(Value::as_str))
            .map(str::to_owned);
        self.log_request(Logged {
            method: "POST",
            path: path.clone(),
            query: url.query().map(str::to_owned),
            content_type: Some("application/x-www-form-urlencoded"),
            scopes: scopes.clone(),
            subject: subject.clone(),
        });
        if let Some(fault) = self.take_fault(&path) {
            return fault_answer(&fault);
        }
        if path != "/token"
            || fields.get("grant_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return self.refuse(form, 400, "unsupported_grant_type", "Invalid grant_type");
        }
        let claims = match claims {
            Ok(claims) => claims,
            Err(why) => return self.refuse(form, 400, "invalid_grant", &why),
        };
        let subject = subject.unwrap_or_default();
        if !self.options.users.contains(&subject) {
            return self.refuse(form, 400, "invalid_grant", "Invalid email or User ID");
        }
        if scopes.iter().any(|s| !self.options.delegated.contains(s)) {
            return self.refuse(form,
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
            );
        }
        let _ = claims;
        let token = {
            let mut state = self.state.lock().unwrap();
            state.issued += 1;
            let token = format!("ya29.sim-{}-canary", state.issued);
            state.tokens.insert(
                token.clone(),
                Issued {
                    scopes: scopes.into_iter().collect(),
                    subject,
                },
            );
            token
        };
        json_answer(
            200,
            json!({"access_token": token, "expires_in": self.options.token_lifetime, "token_type": "Bearer"}),
        )
    }

    /// Checks an assertion as Google does; the claims, or why it is refused.
    fn verify(&self, assertion: &str) -> Result<Value, String> {
        let header =
            jsonwebtoken::decode_header(assertion).map_err(|_| "Invalid JWT".to_owned())?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return Err("Invalid JWT: not RS256".into());
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[REAL_TOKEN_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
        let own = header.kid.as_deref() == Some("sim-signjwt-key");
        let key = if own {
            self.verify_own.clone()
        } else {
            let pem = self
                .options
                .key_pem
                .as_deref()
                .ok_or("Invalid JWT Signature.")?;
            jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|_| "no key".to_owned())?
        };
        let data = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            .map_err(|err| format!("Invalid JWT Signature. ({err})"))?;
        let claims = data.claims;
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap_or(0),
            claims["exp"].as_u64().unwrap_or(u64::MAX),
        );
        if exp.saturating_sub(iat) > 3600 {
            return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.".into());
        }
        if claims["iss"] != SERVICE_ACCOUNT {
            return Err("Invalid JWT: No valid verifier found for issuer.".into());
        }
        Ok(claims)
    }

    fn sts(&self, fields: &BTreeMap<String, String>, form: &Secret) -> Answer {
        if let Some(fault) = self.take_fault("/v1/token") {
            return fault_answer(&fault);
        }
        let ok = fields.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:token-exchange")
            && fields.get("audience").map(String::as_str) == Some(AUDIENCE)
            && fields.get("subject_token").map(String::as_str) == Some(SUBJECT_TOKEN)
            && fields.get("subject_token_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:token-type:jwt")
            && fields.get("requested_token_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:token-type:access_token");
        if !ok {
            return self.refuse(
                form,
                400,
                "invalid_grant",
                "The audience or subject token is not valid.",
            );
        }
        let token = {
            let mut state = self.state.lock().unwrap();
            state.issued += 1;
            let token = format!("sts.sim-{}-canary", state.issued);
            state.federated.insert(token.clone());
            token
        };
        json_answer(
            200,
            json!({"access_token": token, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3600}),
        )
    }

    /// An OAuth error answer, repeating the request when `echo_refused` says so.
    fn refuse(&self, form: &Secret, status: u16, code: &str, description: &str) -> Answer {
        if self.options.echo_refused {
            oauth_error(
                status,
                code,
                &format!("{description} (received: {})", form.expose()),
            )
        } else {
            oauth_error(status, code, description)
        }
    }

    fn sign_jwt(&self, url: &reqwest::Url, bearer: &Secret, body: &Secret) -> Answer {
        let path = url.path().to_owned();
        self.log_request(Logged {
            method: "POST",
            path: path.clone(),
            query: None,
            content_type: Some("application/json"),
            scopes: Vec::new(),
            subject: None,
        });
        if let Some(fault) = self.take_fault(&path) {
            return fault_answer(&fault);
        }
        if !self
            .state
            .lock()
            .unwrap()
            .federated
            .contains(bearer.expose())
        {
            return google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                None,
            );
        }
        if path != format!("/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:signJwt") {
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist).",
                None,
            );
        }
        let request: Value = serde_json::from_str(body.expose()).unwrap_or(Value::Null);
        let Some(payload) = request["payload"]
            .as_str()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
        else {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "payload is not a JSON object",
                None,
            );
        };
        if request["delegates"] != json!([]) || payload["iss"] != SERVICE_ACCOUNT {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "unexpected delegates or issuer",
                None,
            );
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some("sim-signjwt-key".into());
        let signed = jsonwebtoken::encode(&header, &payload, &self.sign_key).expect("sign");
        json_answer(
            200,
            json!({"keyId": "sim-signjwt-key", "signedJwt": signed}),
        )
    }

    // ------------------------------------------------------------ the APIs

    fn get(&self, url: &reqwest::Url, bearer: &Secret) -> Answer {
        let path = url.path().to_owned();
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        self.log_request(Logged {
            method: "GET",
            path: path.clone(),
            query: url.query().map(str::to_owned),
            content_type: None,
            scopes: Vec::new(),
            subject: None,
        });
        if let Some(fault) = self.take_fault(&path) {
            return fault_answer(&fault);
        }
        let (scopes, subject) = {
            let state = self.state.lock().unwrap();
            match state.tokens.get(bearer.expose()) {
                Some(issued) => (issued.scopes.clone(), issued.subject.clone()),
                None => {
                    return google_error(
                        401,
                        "UNAUTHENTICATED",
                        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                        None,
                    );
                }
            }
        };
        let Some((served, id)) = self.resource_at(&path) else {
            return google_error(404, "NOT_FOUND", "Requested entity was not found.", None);
        };
        if !scopes.contains(&served.spec.permission) {
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Request had insufficient authentication scopes.",
                Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
            );
        }
        if path == "/v1/policies" && !self.options.super_admins.contains(&subject) {
            return google_error(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
                None,
            );
        }
        let body = match id {
            // One group's members, wherever a fixture recorded them (the same Directory path
            // serves the groups that carry policies and those that hold roles).
            Some(id) => self
                .resources
                .values()
                .filter(|other| other.spec.path == served.spec.path)
                .find_map(|other| other.body.get(&id).cloned())
                .unwrap_or(json!({"value": []})),
            None => served.body.clone(),
        };
        if served.spec.kind == ResourceKind::Object {
            return json_answer(200, body);
        }
        let items = body["value"].as_array().cloned().unwrap_or_default();
        self.page(&served.spec, &items, &query)
    }

    /// The registry resource at a path (`{customer}` is `my_customer`; `{id}` any id).
    fn resource_at(&self, path: &str) -> Option<(&Served, Option<String>)> {
        for served in self.resources.values() {
            let pattern = served.spec.path.replace("{customer}", "my_customer");
            match pattern.split_once("{id}") {
                None if pattern == path => return Some((served, None)),
                Some((before, after)) => {
                    if let Some(id) = path
                        .strip_prefix(before)
                        .and_then(|rest| rest.strip_suffix(after))
                    {
                        if !id.is_empty() && !id.contains('/') {
                            return Some((served, Some(id.to_owned())));
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// One page of a list, as Google pages it: `pageToken` is the offset here. The Policy API
    /// sends a blank page (only a token) after each page with items, and ends with an empty
    /// `nextPageToken`; the Directory API leaves `nextPageToken` out at the end. Lists Google
    /// does not page (org units, domains) come whole.
    fn page(
        &self,
        spec: &ResourceSpec,
        items: &[Value],
        query: &BTreeMap<String, String>,
    ) -> Answer {
        let member = spec.items.clone().unwrap_or_else(|| "items".into());
        let paged = !spec.path.ends_with("/orgunits") && !spec.path.ends_with("/domains");
        let with_items = |list: &[Value]| {
            let mut body = serde_json::Map::new();
            body.insert(member.clone(), Value::Array(list.to_vec()));
            Value::Object(body)
        };
        if !paged {
            return json_answer(200, with_items(items));
        }
        let policy_api = spec.path == "/v1/policies";
        let size_key = if policy_api { "pageSize" } else { "maxResults" };
        let asked: usize = query
            .get(size_key)
            .and_then(|s| s.parse().ok())
            .unwrap_or(100);
        let size = asked.min(self.options.page_size).max(1);
        let token = query.get("pageToken").cloned().unwrap_or_default();
        let (offset, blank) = match token.strip_prefix("blank-") {
            Some(rest) => (rest.parse().unwrap_or(0), true),
            None => (token.parse().unwrap_or(0), false),
        };
        if blank {
            return json_answer(200, json!({"nextPageToken": offset.to_string()}));
        }
        let end = (offset + size).min(items.len());
        let mut body = with_items(&items[offset.min(items.len())..end]);
        if end < items.len() {
            body["nextPageToken"] = if policy_api {
                json!(format!("blank-{end}"))
            } else {
                json!(end.to_string())
            };
        } else if policy_api {
            body["nextPageToken"] = json!("");
        }
        json_answer(200, body)
    }
}

/// An answer, or a stall.
enum Answer {
    Now(u16, Vec<(&'static str, String)>, Vec<u8>),
    Stall,
}

fn json_answer(status: u16, body: Value) -> Answer {
    Answer::Now(
        status,
        vec![("content-type", "application/json".into())],
        body.to_string().into_bytes(),
    )
}

fn oauth_error(status: u16, code: &str, description: &str) -> Answer {
    json_answer(
        status,
        json!({"error": code, "error_description": description}),
    )
}

fn google_error(status: u16, code: &str, message: &str, reason: Option<&str>) -> Answer {
    let mut error = json!({"code": status, "message": message, "status": code});
    if let Some(reason) = reason {
        error["details"] = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}]);
    }
    json_answer(status, json!({ "error": error }))
}

fn fault_answer(fault: &Fault) -> Answer {
    match fault {
        Fault::Status(status, retry_after) => {
            let (code, message) = match status {
                429 => (
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'",
                ),
                500 => ("INTERNAL", "Internal error encountered."),
                503 => ("UNAVAILABLE", "The service is currently unavailable."),
                _ => ("UNKNOWN", "error"),
            };
            let Answer::Now(status, mut headers, body) = google_error(*status, code, message, None)
            else {
                unreachable!()
            };
            if let Some(seconds) = retry_after {
                headers.push(("retry-after", seconds.to_string()));
            }
            Answer::Now(status, headers, body)
        }
        Fault::DirectoryRateLimit => json_answer(
            403,
            json!({"error": {"code": 403, "message": "User Rate Limit Exceeded", "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "User Rate Limit Exceeded"}]}}),
        ),
        Fault::ScopeMissing => google_error(
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
        ),
        Fault::NotJson => Answer::Now(200, vec![], b"<html>Service error</html>".to_vec()),
        Fault::Stall => Answer::Stall,
    }
}

impl SimGoogle {
    /// Serves the simulator over HTTP on 127.0.0.1 (a port of its own) until the test process
    /// ends; returns its origin, `http://127.0.0.1:PORT`. Every path of real Google is served
    /// there: the APIs, `/token`, STS's `/v1/token` and IAM Credentials' `…:signJwt`.
    pub fn serve(self: &Arc<Self>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let sim = Arc::clone(self);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(handle_http).with_state(sim);
                let _ = axum::serve(listener, app).await;
            });
        });
        format!("http://127.0.0.1:{port}")
    }
}

/// One HTTP request to the served simulator: the request shapes cloudkeur's transport sends
/// (a GET with a bearer token, the token form POST, the signJwt JSON POST), answered as in
/// process; anything else is logged and refused.
async fn handle_http(
    axum::extract::State(sim): axum::extract::State<Arc<SimGoogle>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let url = reqwest::Url::parse(&format!("http://127.0.0.1{uri}")).expect("a URL");
    let bearer = Secret::new(
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default(),
    );
    let text = Secret::new(String::from_utf8_lossy(&body).into_owned());
    let answer = match method.as_str() {
        "GET" => sim.get(&url, &bearer),
        "POST" if url.path().ends_with(":signJwt") => sim.sign_jwt(&url, &bearer, &text),
        "POST" => sim.token(&url, &text),
        other => {
            sim.log_request(Logged {
                method: match other {
                    "PUT" => "PUT",
                    "PATCH" => "PATCH",
                    "DELETE" => "DELETE",
                    _ => "OTHER",
                },
                path: url.path().to_owned(),
                query: url.query().map(str::to_owned),
                content_type: None,
                scopes: Vec::new(),
                subject: None,
            });
            json_answer(
                405,
                json!({"error": {"code": 405, "message": "Method Not Allowed", "status": "UNAVAILABLE"}}),
            )
        }
    };
    let (status, headers, body) = match answer {
        Answer::Now(status, headers, body) => (status, headers, body),
        Answer::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            (504, Vec::new(), Vec::new())
        }
    };
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl Transport for SimGoogle {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        let answer = self.answer(request);
        Box::pin(async move {
            match answer {
                Answer::Stall => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Err(TransportError::Timeout)
                }
                Answer::Now(status, headers, body) => {
                    let mut map = http::HeaderMap::new();
                    for (name, value) in headers {
                        if let (Ok(name), Ok(value)) = (
                            http::HeaderName::from_bytes(name.as_bytes()),
                            http::HeaderValue::from_str(&value),
                        ) {
                            map.insert(name, value);
                        }
                    }
                    Ok(Response {
                        status,
                        headers: map,
                        body: Body::from_bytes(Bytes::from(body)),
                    })
                }
            }
        })
    }
}

//! A simulated Microsoft 365 for tests only: Microsoft Graph and the Entra ID token endpoint,
//! the Exchange Online and Security & Compliance admin APIs (`admin_sim.rs`) and the Teams admin
//! API (`teams_sim.rs`), each on its own loopback origin.
//!
//! It serves a fixture tenant (`fixtures/tenants/zonnedorp` by default) by resource name, as the
//! registry describes each resource: Graph at the registry's paths (collections paged through
//! `@odata.nextLink`; `$select`, `$expand` and `$filter` honoured as Graph does, see `odata.rs`),
//! the admin APIs by the cmdlet an `InvokeCommand` POST names (checked against the compiled-in
//! allowlist, paged by POSTing the `@odata.nextLink` again), Teams as a bare JSON array. It issues
//! tokens for a client secret, a certificate-signed client assertion (signature checked with
//! jsonwebtoken against the test certificate) or a federated token, each for one audience, and
//! every service refuses a token for another audience. It injects faults per path (Graph, Teams)
//! or per cmdlet (admin APIs), and logs every request it receives.
//!
//! It answers over TCP (`SimGraph::url` and the other `*_url`s, for end-to-end tests of the
//! binary) and in process (`SimGraph::transport`, the connector's transport seam): the same
//! answers, without a socket, on the caller's runtime, so tests of retries, `Retry-After` and
//! timeouts run on tokio's paused clock.
#![allow(dead_code)]

#[path = "admin_sim.rs"]
mod admin_sim;
#[path = "odata.rs"]
pub mod odata;
#[path = "teams_sim.rs"]
mod teams_sim;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cloudkeur::connector::transport::{
    Body, BodySource, BoxFuture, Request, Response as SeamResponse, Transport, TransportError,
};
use cloudkeur::connector::{Credential, LiveConfig, check_base_url, token_scope};
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::registry::{Registry, ResourceKind, ResourceSpec, Service};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TENANT: &str = "d7d7dac8-82b8-56b6-bbc0-ccde9b326c63";
pub const CLIENT_ID: &str = "3f1c2b9a-0000-4000-8000-00000000c1e7";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A fault the simulator injects for one request path (any page of it).
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 this many times, with `Retry-After: secs` when given.
    Throttle {
        times: u32,
        retry_after: Option<u64>,
    },
    /// 503 this many times, with `Retry-After` as an HTTP date this long after the answer.
    UnavailableUntil { times: u32, wait: Duration },
    /// This status (e.g. 503, 504, 500) this many times.
    Status { code: u16, times: u32 },
    /// 403 Authorization_RequestDenied, always.
    Forbidden,
    /// 401 this many times, as if the token had been revoked.
    Unauthorized { times: u32 },
    /// Wait this long before answering.
    Slow(Duration),
    /// Every page after the first links back to itself.
    NextLinkCycle,
    /// The first page links to another host.
    ForeignNextLink,
    /// The first page links to this host with `user:password@` in the URL.
    UserInfoNextLink,
    /// The body is cut in half.
    Truncated,
    /// An empty page comes first, then the items.
    EmptyFirstPage,
    /// The connection drops halfway through the body, this many times.
    ConnectionReset { times: u32 },
    /// Page `n` (from 1) holds an item with bytes that are not UTF-8; its nextLink is intact.
    BadItemOnPage(usize),
    /// 200 with an empty collection, `{"value": []}`: as if the tenant had nothing there.
    EmptyCollection,
    /// 400 to a request that carries this query key (as Graph answers a parameter a resource
    /// does not support), always.
    RefuseQueryKey(&'static str),
    /// A 200 whose body streams this many bytes (a JSON object padded with spaces), made as it
    /// is sent, without a `Content-Length`: a body of gigabytes costs the simulator nothing.
    HugeBody(u64),
    /// Admin APIs: 200 with an `error` member inside, always.
    EmbeddedError,
    /// Admin APIs: page `n` (from 2) is answered 400 "Expired or Invalid pagination request",
    /// as one peer measured when a continuation lands on another backend.
    ExpiredPage(usize),
    /// Admin APIs: the last page carries this warning in `@adminapi.warnings`.
    Warning(&'static str),
    /// Admin APIs: the first request is answered with a redirect to this `Location`.
    Redirect(&'static str),
}

/// What the simulator saw of one request (never a credential's value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `graph` (Graph and the token endpoint), `exchange`, `compliance` or `teams`: the origin
    /// the request reached.
    pub service: &'static str,
    /// The host it was sent to (`eur02b.localhost` for the regional compliance host).
    pub host: String,
    pub method: String,
    pub path: String,
    pub query: String,
    /// For an `InvokeCommand` POST: the cmdlet its body names (whatever it is) and its
    /// parameters, as JSON.
    pub cmdlet: Option<String>,
    pub parameters: Option<String>,
    /// `X-AnchorMailbox` and `Prefer`, as sent.
    pub anchor: Option<String>,
    pub prefer: Option<String>,
    pub has_auth: bool,
    /// The `Authorization` scheme (`Bearer`, `Basic`, …), when there was one.
    pub auth_scheme: Option<String>,
    /// For token requests: which form fields were sent.
    pub form_fields: Vec<String>,
}

/// When the simulator received one request and when its handler had the answer ready (after
/// the added latency), for the benchmark's per-page breakdown of the critical chain.
#[derive(Debug, Clone)]
pub struct RequestTiming {
    pub path: String,
    pub arrived: Instant,
    /// When the added latency had passed.
    pub woke: Instant,
    pub answered: Instant,
}

pub struct SimOptions {
    pub page_size: usize,
    pub token_lifetime_secs: u64,
    pub client_secret: String,
    /// PEM of the certificate whose key signs client assertions.
    pub certificate_pem: Option<String>,
    pub federated_token: Option<String>,
    /// Serve this snapshot directory (e.g. one written by `tenant_gen.rs`) instead of the
    /// Zonnedorp fixture.
    pub tenant_dir: Option<PathBuf>,
    /// Added before answering every request, token requests included (network round trip).
    pub latency: Duration,
    /// Page by the request's `$top` where it has one (as Graph does), else by `page_size`.
    pub honour_top: bool,
    /// A refused token request's `error_description` echoes the request (the form as sent, and
    /// each credential decoded), as a careless or hostile endpoint might.
    pub echo_refused_token_form: bool,
    /// The registry whose resources are served (default: the built-in pack's).
    pub registry: Option<Registry>,
    /// The region the compliance front door sends the tenant to (`eur02b`): it answers every
    /// `InvokeCommand` with a redirect, and `<region>.localhost` answers it. `None`: the front
    /// door answers itself.
    pub compliance_region: Option<&'static str>,
    /// Services whose audience the token endpoint does not know in this tenant (not licensed,
    /// never provisioned): a token for them is refused with AADSTS500011.
    pub unprovisioned: Vec<Service>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            page_size: 2,
            token_lifetime_secs: 3599,
            client_secret: "sim-secret".into(),
            certificate_pem: None,
            federated_token: None,
            tenant_dir: None,
            latency: Duration::ZERO,
            honour_top: false,
            echo_refused_token_form: false,
            registry: None,
            compliance_region: Some("eur02b"),
            unprovisioned: Vec::new(),
        }
    }
}

struct Resource {
    spec: ResourceSpec,
    body: Value,
    /// A collection's items as Graph returns them for one request's query options (`$filter`,
    /// `$select`, `$expand`), each already encoded as JSON, per fan-out id (`None` for a
    /// collection read directly) and options. Graph builds its pages on its own machines;
    /// built once per query here (the registry's own at start), a page costs the benchmark's
    /// shared CPUs a copy instead of a clone and an encode.
    views: Mutex<HashMap<ViewKey, Arc<Vec<String>>>>,
}

/// A fan-out id (or `None`) and the query options' text.
type ViewKey = (Option<String>, String);

impl Resource {
    fn new(spec: ResourceSpec, body: Value) -> Self {
        let resource = Resource {
            spec,
            body,
            views: Mutex::new(HashMap::new()),
        };
        if resource.spec.kind == ResourceKind::Collection {
            let ids: Vec<Option<String>> = if resource.spec.for_each.is_some() {
                resource
                    .body
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(id, _)| Some(id.clone()))
                    .collect()
            } else {
                vec![None]
            };
            for id in ids {
                let params: Vec<(String, String)> = resource
                    .spec
                    .query
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{id}", id.as_deref().unwrap_or(""))))
                    .collect();
                if let Ok(options) = odata::Options::parse(&params) {
                    let _ = resource.view(&id, &options);
                }
            }
        }
        resource
    }

    /// The items of the collection (of fan-out id `id`), as stored in the tenant's snapshot.
    fn items(&self, id: &Option<String>) -> Option<&[Value]> {
        let collection = match id {
            Some(id) => self.body.get(id)?,
            None => &self.body,
        };
        collection
            .get("value")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
    }

    /// The encoded items a request with `options` gets (all pages), or `None` for an unknown id.
    fn view(
        &self,
        id: &Option<String>,
        options: &odata::Options,
    ) -> Result<Option<Arc<Vec<String>>>, odata::BadQuery> {
        let key = (id.clone(), options.key().to_owned());
        if let Some(view) = self.views.lock().expect("lock").get(&key) {
            return Ok(Some(Arc::clone(view)));
        }
        let Some(items) = self.items(id) else {
            return Ok(None);
        };
        let rows: Vec<String> = options
            .apply_items(items)?
            .iter()
            .map(Value::to_string)
            .collect();
        let rows = Arc::new(rows);
        self.views
            .lock()
            .expect("lock")
            .insert(key, Arc::clone(&rows));
        Ok(Some(rows))
    }
}

/// The simulated services, each on its own loopback origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Graph and the token endpoint.
    Graph,
    Exchange,
    /// The compliance front door, and its regional host.
    Compliance,
    Teams,
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::Graph => "graph",
            Origin::Exchange => "exchange",
            Origin::Compliance => "compliance",
            Origin::Teams => "teams",
        }
    }
}

struct Sim {
    /// The Graph (and token endpoint) origin, `http://127.0.0.1:PORT`.
    base: String,
    /// The other origins: Exchange (`http://127.0.0.1:PORT`), the compliance front door
    /// (`http://localhost:PORT`: its regional host is `http://<region>.localhost:PORT`), Teams.
    exchange_base: String,
    compliance_base: String,
    teams_base: String,
    /// The port of each origin, to route a request that arrives in process.
    ports: Vec<(u16, Origin)>,
    options: SimOptions,
    resources: BTreeMap<String, Resource>,
    faults: Mutex<HashMap<String, Fault>>,
    log: Mutex<Vec<LoggedRequest>>,
    timings: Mutex<Vec<RequestTiming>>,
    /// Every token valid now, with the scope (audience) it was issued for.
    tokens: Mutex<HashMap<String, String>>,
    scopes_issued: Mutex<Vec<String>>,
    issued: Mutex<u32>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Counts a Graph request as in flight until dropped.
struct InFlight<'a>(&'a Sim);

impl<'a> InFlight<'a> {
    fn new(sim: &'a Sim) -> Self {
        let now = sim.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sim.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(sim)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct SimGraph {
    /// Graph and the token endpoint.
    pub url: String,
    pub exchange_url: String,
    /// The compliance front door (`http://localhost:PORT`).
    pub compliance_url: String,
    pub teams_url: String,
    sim: Arc<Sim>,
}

/// See [`SimGraph::assert_only_reads`].
pub fn assert_only_reads(requests: &[LoggedRequest]) {
    use cloudkeur::registry::Cmdlet;
    for request in requests {
        let token = request.service == "graph"
            && request.method == "POST"
            && request.path.ends_with("/oauth2/v2.0/token");
        let get = matches!(request.service, "graph" | "teams")
            && request.method == "GET"
            && request.has_auth;
        let invoke = matches!(request.service, "exchange" | "compliance")
            && request.method == "POST"
            && request.has_auth
            && request.path == format!("/adminapi/beta/{TENANT}/InvokeCommand")
            && request.cmdlet.as_deref().is_some_and(|name| {
                Cmdlet::ALL
                    .iter()
                    .any(|c| c.as_str() == name && c.service().as_str() == request.service)
            });
        assert!(token || get || invoke, "unexpected request {request:?}");
    }
}

/// What a fault is keyed by: the cmdlet's name for an admin API resource, else its path.
pub fn fault_key(spec: &ResourceSpec) -> String {
    match spec.cmdlet {
        Some(cmdlet) => cmdlet.as_str().to_owned(),
        None => spec.path.clone(),
    }
}

/// Fan-outs that read the same Graph path (e.g. `/v1.0/groups/{id}/transitiveMembers` for
/// several kinds of group) must agree on who is in a group: Graph has one answer per group, and
/// a fixture that gives two lets the simulator serve whichever resource it finds first.
fn assert_one_world(resources: &BTreeMap<String, Resource>) {
    let member_ids = |resource: &Resource, id: &str| -> Option<BTreeSet<String>> {
        let items = resource.body.get(id)?.get("value")?.as_array()?;
        Some(
            items
                .iter()
                .filter_map(|item| item.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect(),
        )
    };
    let fan_outs: Vec<(&String, &Resource)> = resources
        .iter()
        .filter(|(_, r)| r.spec.for_each.is_some() && r.spec.path.contains("{id}"))
        .collect();
    for (i, (a_name, a)) in fan_outs.iter().enumerate() {
        for (b_name, b) in &fan_outs[i + 1..] {
            if a.spec.path != b.spec.path {
                continue;
            }
            for id in a.body.as_object().into_iter().flatten().map(|(id, _)| id) {
                if let (Some(left), Some(right)) = (member_ids(a, id), member_ids(b, id)) {
                    assert_eq!(
                        left, right,
                        "fixture inconsistency: {a_name} and {b_name} disagree on the members of {id} at {}",
                        a.spec.path
                    );
                }
            }
        }
    }
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenants/zonnedorp")
}

fn bind() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

impl SimGraph {
    pub fn start(options: SimOptions) -> SimGraph {
        let (graph_listener, graph_port) = bind();
        let (exchange_listener, exchange_port) = bind();
        let (compliance_listener, compliance_port) = bind();
        let (teams_listener, teams_port) = bind();
        let url = format!("http://127.0.0.1:{graph_port}");
        let registry = options.registry.clone().unwrap_or_else(|| {
            PolicyPack::load(&PackSource::BuiltIn)
                .expect("built-in pack")
                .registry
        });
        let mut resources = BTreeMap::new();
        let tenant_dir = options.tenant_dir.clone().unwrap_or_else(fixture_dir);
        for (name, spec) in registry.iter() {
            let file = tenant_dir.join(format!("{name}.json"));
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let body: Value = serde_json::from_slice(&bytes).expect("fixture is JSON");
            resources.insert(name.clone(), Resource::new(spec.clone(), body));
        }
        assert_one_world(&resources);
        let sim = Arc::new(Sim {
            base: url.clone(),
            exchange_base: format!("http://127.0.0.1:{exchange_port}"),
            compliance_base: format!("http://localhost:{compliance_port}"),
            teams_base: format!("http://127.0.0.1:{teams_port}"),
            ports: vec![
                (graph_port, Origin::Graph),
                (exchange_port, Origin::Exchange),
                (compliance_port, Origin::Compliance),
                (teams_port, Origin::Teams),
            ],
            options,
            resources,
            faults: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            timings: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            scopes_issued: Mutex::new(Vec::new()),
            issued: Mutex::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let state = Arc::clone(&sim);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut servers = Vec::new();
                for (listener, origin) in [
                    (graph_listener, Origin::Graph),
                    (exchange_listener, Origin::Exchange),
                    (compliance_listener, Origin::Compliance),
                    (teams_listener, Origin::Teams),
                ] {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let app = Router::new()
                        .fallback(handle)
                        .with_state((Arc::clone(&state), origin));
                    servers.push(tokio::spawn(async move {
                        let _ = axum::serve(listener, app).await;
                    }));
                }
                for server in servers {
                    let _ = server.await;
                }
            });
        });
        let graph = SimGraph {
            url,
            exchange_url: sim.exchange_base.clone(),
            compliance_url: sim.compliance_base.clone(),
            teams_url: sim.teams_base.clone(),
            sim,
        };
        // What the tenant's own snapshot records as refused is refused here too.
        let manifest: Value = std::fs::read(tenant_dir.join("manifest.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null);
        for (name, entry) in manifest["resources"].as_object().into_iter().flatten() {
            if let Some(spec) = registry.get(name)
                && entry["status"] == "error"
                && !spec.path.contains("{id}")
            {
                let fault = match entry["http_status"].as_u64() {
                    Some(403) => Fault::Forbidden,
                    code => Fault::Status {
                        code: code.and_then(|c| u16::try_from(c).ok()).unwrap_or(503),
                        times: u32::MAX,
                    },
                };
                graph.fault(&fault_key(spec), fault);
            }
        }
        graph
    }

    /// A live configuration reaching this simulator for every service (and its token
    /// endpoint), with `credential`.
    pub fn live_config(&self, credential: Credential) -> LiveConfig {
        let url = |flag, url: &str| check_base_url(flag, url).expect("a loopback URL");
        LiveConfig {
            graph_url: url("--graph-url", &self.url),
            exchange_url: url("--exchange-url", &self.exchange_url),
            compliance_url: url("--compliance-url", &self.compliance_url),
            teams_url: url("--teams-url", &self.teams_url),
            authority_url: url("--authority-url", &self.url),
            ..LiveConfig::new(TENANT, CLIENT_ID, credential)
        }
    }

    /// The flags that send every request of a live scan of the binary to this simulator.
    pub fn url_args(&self) -> Vec<String> {
        [
            ("--graph-url", &self.url),
            ("--exchange-url", &self.exchange_url),
            ("--compliance-url", &self.compliance_url),
            ("--teams-url", &self.teams_url),
            ("--authority-url", &self.url),
        ]
        .into_iter()
        .flat_map(|(flag, url)| [flag.to_owned(), url.clone()])
        .collect()
    }

    /// Injects `fault` for requests to `path` (the registry path, ids filled in), or for an
    /// admin API's cmdlet (its name, e.g. `Get-AdminAuditLogConfig`).
    pub fn fault(&self, path: &str, fault: Fault) {
        self.sim
            .faults
            .lock()
            .expect("lock")
            .insert(path.to_owned(), fault);
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.sim.log.lock().expect("lock").clone()
    }

    /// Arrival and answer times of every request, in the order they were answered.
    pub fn timings(&self) -> Vec<RequestTiming> {
        self.sim.timings.lock().expect("lock").clone()
    }

    pub fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
            .count()
    }

    /// The scopes of the tokens issued so far, in order.
    pub fn issued_scopes(&self) -> Vec<String> {
        self.sim.scopes_issued.lock().expect("lock").clone()
    }

    /// The scope a token must have to be accepted by `service` here.
    pub fn scope(&self, service: Service) -> String {
        self.sim.scope_of(match service {
            Service::Graph => Origin::Graph,
            Service::Exchange => Origin::Exchange,
            Service::Compliance => Origin::Compliance,
            Service::Teams => Origin::Teams,
            Service::GoogleDirectory | Service::GooglePolicy => {
                panic!("the simulated Microsoft 365 has no {service}")
            }
        })
    }

    /// Asserts that only reads reached the simulator: token POSTs, authorised GETs to Graph and
    /// Teams, and authorised `InvokeCommand` POSTs of an allowlisted cmdlet of that very service.
    pub fn assert_only_reads(&self) {
        assert_only_reads(&self.requests());
    }

    /// Requests to this path (GETs of every page).
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// The most Graph reads that were in flight at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.sim.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn token_url(&self) -> String {
        format!("{}/{TENANT}/oauth2/v2.0/token", self.url)
    }

    /// The simulator as the connector's transport, in process: every request is answered by the
    /// same code as over TCP, on the caller's runtime and clock (`Fault::Slow` and the latency
    /// are then tokio sleeps, which a paused clock skips).
    pub fn transport(&self) -> Arc<dyn Transport> {
        Arc::new(InProcess(Arc::clone(&self.sim)))
    }
}

struct InProcess(Arc<Sim>);

impl Transport for InProcess {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<SeamResponse, TransportError>> {
        Box::pin(async move {
            // Exactly the HTTP request the network transport would send.
            let http = request.into_http()?;
            let url = http.url;
            let target = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            let uri: Uri = target.parse().expect("a path and query");
            let sim = &self.0;
            let port = url.port_or_known_default().unwrap_or(0);
            let Some(origin) = sim.origin_of(port) else {
                return Err(TransportError::Connect(format!(
                    "nothing listens at {}",
                    url.origin().ascii_serialization()
                )));
            };
            let host = url.host_str().unwrap_or_default().to_owned();
            if !sim.options.latency.is_zero() {
                tokio::time::sleep(sim.options.latency).await;
            }
            let (parts, body) = answer(
                sim,
                origin,
                &host,
                http.method,
                &uri,
                &http.headers,
                &http.body,
            )
            .await
            .into_parts();
            Ok(SeamResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: Body::new(AxumBody(body.into_data_stream())),
            })
        })
    }
}

/// An answer's body as the seam reads it: chunk by chunk, a failing stream (the injected
/// connection reset) as a connection failure.
struct AxumBody(axum::body::BodyDataStream);

impl BodySource for AxumBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, TransportError>> {
        Box::pin(async move {
            use futures_util::StreamExt;
            self.0
                .next()
                .await
                .transpose()
                .map_err(|err| TransportError::Connect(err.to_string()))
        })
    }
}

async fn handle(
    State((sim, origin)): State<(Arc<Sim>, Origin)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    if !sim.options.latency.is_zero() {
        wait_until(arrived + sim.options.latency).await;
    }
    let woke = Instant::now();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(host, _)| host).to_owned())
        .unwrap_or_default();
    let response = answer(&sim, origin, &host, method, &uri, &headers, &body).await;
    sim.timings.lock().expect("lock").push(RequestTiming {
        path: uri.path().to_owned(),
        arrived,
        woke,
        answered: Instant::now(),
    });
    response
}

/// Waits until `deadline`, never less. tokio's timer counts whole milliseconds and wakes up to a
/// millisecond or more after the deadline; that lateness is the simulator's, not the network
/// latency it stands for, so the wait is a thread sleep (the kernel's high-resolution timer) on
/// the blocking pool, which wakes within tens of microseconds.
async fn wait_until(deadline: Instant) {
    let slept = tokio::task::spawn_blocking(move || {
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep(deadline - now);
        }
    })
    .await;
    if slept.is_err() {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

impl Sim {
    fn origin_of(&self, port: u16) -> Option<Origin> {
        self.ports
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, origin)| *origin)
    }

    /// The scope a token must have been issued for to be accepted at `origin`.
    fn scope_of(&self, origin: Origin) -> String {
        let (service, base) = match origin {
            Origin::Graph => (Service::Graph, &self.base),
            Origin::Exchange => (Service::Exchange, &self.exchange_base),
            Origin::Compliance => (Service::Compliance, &self.compliance_base),
            Origin::Teams => (Service::Teams, &self.teams_base),
        };
        token_scope(service, &reqwest::Url::parse(base).expect("a URL"))
    }

    /// Whether the request's bearer token was issued here, for `origin`'s audience.
    fn authorised(&self, origin: Origin, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let scope = self.scope_of(origin);
        self.tokens.lock().expect("lock").get(bearer) == Some(&scope)
    }

    /// The fault for `key` (a path or a cmdlet), counted down where it has a count.
    fn take_fault(&self, key: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().expect("lock");
        let fault = faults.get(key).cloned();
        match faults.get_mut(key) {
            Some(
                Fault::Throttle { times, .. }
                | Fault::UnavailableUntil { times, .. }
                | Fault::Status { times, .. }
                | Fault::Unauthorized { times }
                | Fault::ConnectionReset { times },
            ) => {
                if *times == 0 {
                    None
                } else {
                    *times -= 1;
                    fault
                }
            }
            _ => fault,
        }
    }
}

async fn answer(
    sim: &Sim,
    origin: Origin,
    host: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let command: Option<Value> = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|json| json["CmdletInput"].clone())
        .filter(Value::is_object);
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    sim.log.lock().expect("lock").push(LoggedRequest {
        service: origin.name(),
        host: host.to_owned(),
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        cmdlet: command
            .as_ref()
            .map(|c| c["CmdletName"].as_str().unwrap_or("").to_owned()),
        parameters: command.as_ref().map(|c| c["Parameters"].to_string()),
        anchor: header_text("x-anchormailbox"),
        prefer: header_text("prefer"),
        has_auth: headers.contains_key(header::AUTHORIZATION),
        auth_scheme: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(' ').next())
            .map(str::to_owned),
        form_fields: if method == Method::POST && command.is_none() {
            form.iter().map(|(k, _)| k.clone()).collect()
        } else {
            Vec::new()
        },
    });
    match origin {
        Origin::Exchange | Origin::Compliance => {
            return admin_sim::answer(sim, origin, host, &method, uri, headers, body).await;
        }
        Origin::Teams => return teams_sim::answer(sim, &method, uri, headers).await,
        Origin::Graph => {}
    }
    if method == Method::POST && path == format!("/{TENANT}/oauth2/v2.0/token") {
        return token(sim, &form, body);
    }
    if method != Method::GET {
        return graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "read-only simulator",
        );
    }
    let _in_flight = InFlight::new(sim);
    if !sim.authorised(Origin::Graph, headers) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid, or not for Microsoft Graph.",
        );
    }
    let fault = sim.take_fault(&path);
    match &fault {
        Some(Fault::Throttle { retry_after, .. }) => {
            let mut response = graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests.",
            );
            if let Some(secs) = retry_after {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("header"),
                );
            }
            return response;
        }
        Some(Fault::UnavailableUntil { wait, .. }) => {
            let mut response = graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
            );
            let date = httpdate::fmt_http_date(std::time::SystemTime::now() + *wait);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, date.parse().expect("header"));
            return response;
        }
        Some(Fault::Status { code, .. }) => {
            let status = StatusCode::from_u16(*code).expect("status");
            return graph_error(status, "ServiceUnavailable", "Injected fault.");
        }
        Some(Fault::Forbidden) => {
            return graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        Some(Fault::Unauthorized { .. }) => {
            sim.tokens.lock().expect("lock").clear();
            return graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            );
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        _ => {}
    }
    if let Some(Fault::HugeBody(total)) = fault {
        return huge_body(total);
    }
    if let Some(Fault::EmptyCollection) = fault {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"value":[]}"#,
        )
            .into_response();
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let Some((resource, id)) = find(sim, &path, &params) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "No such resource in the simulator.",
        );
    };
    if let Some(Fault::RefuseQueryKey(refused)) = &fault
        && params.iter().any(|(k, _)| k == refused)
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            &format!("Unsupported query parameter '{refused}'."),
        );
    }
    let options = match odata::Options::parse(&params) {
        Ok(options) => options,
        Err(bad) => return graph_error(StatusCode::BAD_REQUEST, bad.code, &bad.message),
    };
    let mut bytes = match resource.spec.kind {
        ResourceKind::Object => match options.apply_object(&resource.body) {
            Ok(object) => serde_json::to_vec(&object).expect("json"),
            Err(bad) => return graph_error(StatusCode::BAD_REQUEST, bad.code, &bad.message),
        },
        ResourceKind::Collection => {
            let rows = match resource.view(&id, &options) {
                Ok(Some(rows)) => rows,
                Ok(None) => {
                    return graph_error(
                        StatusCode::NOT_FOUND,
                        "Request_ResourceNotFound",
                        "No such id in the simulator.",
                    );
                }
                Err(bad) => return graph_error(StatusCode::BAD_REQUEST, bad.code, &bad.message),
            };
            page(sim, &path, &params, &rows, fault.as_ref())
        }
    };
    if matches!(fault, Some(Fault::Truncated)) {
        bytes.truncate(bytes.len() / 2);
    }
    if matches!(fault, Some(Fault::ConnectionReset { .. })) {
        // Half the body, then the stream fails: the server aborts the connection mid-response.
        bytes.truncate(bytes.len() / 2);
        let parts: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(bytes),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected connection reset",
            )),
        ];
        return (
            [(header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from_stream(futures_util::stream::iter(parts)),
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// `{"value":[]` followed by spaces up to `total` bytes, streamed in 1 MiB chunks.
fn huge_body(total: u64) -> Response {
    const CHUNK: u64 = 1 << 20;
    let head = Bytes::from_static(br#"{"value":[]"#);
    let spaces = Bytes::from(vec![b' '; CHUNK as usize]);
    let rest = total.saturating_sub(head.len() as u64);
    let chunks = std::iter::once(head).chain((0..rest.div_ceil(CHUNK)).map(move |i| {
        let len = (rest - i * CHUNK).min(CHUNK);
        spaces.slice(..len as usize)
    }));
    let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>));
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// One page of `rows` as Graph sends it: `@odata.nextLink` (when there is a next page) before
/// `value`, as in Graph's paging examples (https://learn.microsoft.com/en-us/graph/paging).
fn page(
    sim: &Sim,
    path: &str,
    params: &[(String, String)],
    rows: &[String],
    fault: Option<&Fault>,
) -> Vec<u8> {
    let skip: Option<usize> = params
        .iter()
        .find(|(k, _)| k == "$skiptoken")
        .and_then(|(_, v)| v.parse().ok());
    let rest: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "$skiptoken")
        .cloned()
        .collect();
    let link = |skip: usize| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &rest {
            query.append_pair(k, v);
        }
        query.append_pair("$skiptoken", &skip.to_string());
        format!("{}{path}?{}", sim.base, query.finish())
    };
    if matches!(fault, Some(Fault::EmptyFirstPage)) && skip.is_none() {
        return encode_page(Some(&link(0)), &[]);
    }
    let start = skip.unwrap_or(0).min(rows.len());
    let top = params
        .iter()
        .find(|(k, _)| k == "$top")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|_| sim.options.honour_top);
    let size = top.unwrap_or(sim.options.page_size).max(1);
    let end = (start + size).min(rows.len());
    let next = match fault {
        Some(Fault::NextLinkCycle) if skip.is_some() => Some(link(start)),
        Some(Fault::NextLinkCycle) => Some(link(end)),
        Some(Fault::ForeignNextLink) => {
            Some(format!("https://graph.evil.example{path}?$skiptoken={end}"))
        }
        Some(Fault::UserInfoNextLink) => Some(link(end).replacen("://", "://reader:hunter2@", 1)),
        _ if end < rows.len() => Some(link(end)),
        _ => None,
    };
    let mut body = encode_page(next.as_deref(), &rows[start..end]);
    if let Some(Fault::BadItemOnPage(n)) = fault
        && start / size + 1 == *n
        && let Some(at) = body.windows(9).position(|w| w == br#""value":["#)
    {
        let bad: &[u8] = b"{\"id\":\"\xff\"},";
        body.splice(at + 9..at + 9, bad.iter().copied());
    }
    body
}

/// `{"@odata.nextLink": next, "value": [rows]}`, the rows copied as they were encoded.
fn encode_page(next: Option<&str>, rows: &[String]) -> Vec<u8> {
    let size = rows.iter().map(|r| r.len() + 1).sum::<usize>() + 256;
    let mut out = Vec::with_capacity(size);
    out.push(b'{');
    if let Some(next) = next {
        out.extend_from_slice(br#""@odata.nextLink":"#);
        serde_json::to_writer(&mut out, next).expect("a string encodes");
        out.push(b',');
    }
    out.extend_from_slice(br#""value":["#);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(row.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// The resource served at `path`, and the id when it is a fan-out path (the id in the path, or
/// in a query value such as `$filter=groupId eq '{id}'`).
fn find<'a>(
    sim: &'a Sim,
    path: &str,
    params: &[(String, String)],
) -> Option<(&'a Resource, Option<String>)> {
    // The path arrives percent-encoded where the client encoded it.
    let decoded = percent_decode(path);
    let graph = sim
        .resources
        .values()
        .filter(|resource| resource.spec.service == Service::Graph);
    for resource in graph {
        match resource.spec.path.split_once("{id}") {
            None if resource.spec.path == decoded && resource.spec.for_each.is_some() => {
                let id = resource.spec.query.iter().find_map(|(key, template)| {
                    let (prefix, suffix) = template.split_once("{id}")?;
                    let (_, value) = params.iter().find(|(k, _)| k == key)?;
                    value
                        .strip_prefix(prefix)?
                        .strip_suffix(suffix)
                        .map(str::to_owned)
                });
                if let Some(id) = id.filter(|id| resource.body.get(id).is_some()) {
                    return Some((resource, Some(id)));
                }
            }
            None if resource.spec.path == decoded => return Some((resource, None)),
            Some((prefix, suffix)) => {
                if let Some(id) = decoded
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix(suffix))
                    && !id.is_empty()
                    && !id.contains('/')
                    && resource.body.get(id).is_some()
                {
                    return Some((resource, Some(id.to_owned())));
                }
            }
            None => {}
        }
    }
    None
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn token(sim: &Sim, form: &[(String, String)], raw: &[u8]) -> Response {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // A token is for one audience: the scope of one of the simulated services.
    let scope = [
        Origin::Graph,
        Origin::Exchange,
        Origin::Compliance,
        Origin::Teams,
    ]
    .into_iter()
    .map(|origin| sim.scope_of(origin))
    .find(|scope| field("scope") == Some(scope.as_str()));
    let Some(scope) = scope else {
        return token_error(
            "invalid_scope",
            "AADSTS70011: The provided request must include a 'scope' input parameter of a known resource.",
        );
    };
    let unprovisioned = sim.options.unprovisioned.iter().any(|service| {
        let origin = match service {
            Service::Graph => Origin::Graph,
            Service::Exchange => Origin::Exchange,
            Service::Compliance => Origin::Compliance,
            Service::Teams => Origin::Teams,
            Service::GoogleDirectory | Service::GooglePolicy => return false,
        };
        sim.scope_of(origin) == scope
    });
    if unprovisioned {
        let description = format!(
            "AADSTS500011: The resource principal named {} was not found in the tenant named Gemeente Zonnedorp.",
            scope.trim_end_matches("/.default")
        );
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_resource", "error_description": description})),
        )
            .into_response();
    }
    if field("grant_type") != Some("client_credentials") || field("client_id") != Some(CLIENT_ID) {
        return token_error(
            "invalid_request",
            "AADSTS900144: The request body is not as expected.",
        );
    }
    let accepted = if let Some(secret) = field("client_secret") {
        secret == sim.options.client_secret
    } else if field("client_assertion_type") == Some(ASSERTION_TYPE) {
        let assertion = field("client_assertion").unwrap_or("");
        if sim.options.federated_token.as_deref() == Some(assertion) {
            true
        } else {
            verify_assertion(sim, assertion)
        }
    } else {
        false
    };
    if !accepted {
        let mut description =
            "AADSTS7000215: Invalid client secret or client assertion provided.".to_owned();
        if sim.options.echo_refused_token_form {
            description.push_str(&format!(
                " Secret: {} assertion: {} request body: {}",
                field("client_secret").unwrap_or(""),
                field("client_assertion").unwrap_or(""),
                String::from_utf8_lossy(raw)
            ));
        }
        return token_error("invalid_client", &description);
    }
    let token = {
        let mut issued = sim.issued.lock().expect("lock");
        *issued += 1;
        format!("sim-access-token-{}", *issued)
    };
    sim.scopes_issued.lock().expect("lock").push(scope.clone());
    sim.tokens
        .lock()
        .expect("lock")
        .insert(token.clone(), scope);
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": sim.options.token_lifetime_secs,
        "ext_expires_in": sim.options.token_lifetime_secs,
        "access_token": token,
    }))
    .into_response()
}

/// Checks a client assertion the way Entra ID does: signature against the uploaded certificate,
/// `x5t#S256` naming that certificate, audience the token endpoint, issuer and subject the client.
fn verify_assertion(sim: &Sim, assertion: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    let Some(cert_pem) = &sim.options.certificate_pem else {
        return false;
    };
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return false;
    };
    let Ok(block) = pem::parse(cert_pem) else {
        return false;
    };
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(block.contents()));
    if header.x5t_s256.as_deref() != Some(thumbprint.as_str()) {
        return false;
    }
    if !matches!(
        header.alg,
        jsonwebtoken::Algorithm::PS256 | jsonwebtoken::Algorithm::RS256
    ) {
        return false;
    }
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(cert_pem.as_bytes()) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[format!("{}/{TENANT}/oauth2/v2.0/token", sim.base)]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let Ok(data) = jsonwebtoken::decode::<Value>(assertion, &key, &validation) else {
        return false;
    };
    data.claims["sub"] == CLIENT_ID && data.claims["jti"].is_string()
}

fn token_error(code: &str, description: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// A self-signed RSA test certificate: (PEM with key and certificate, certificate PEM).
pub fn test_certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let cert = rcgen::CertificateParams::new(vec!["cloudkeur-test".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let cert_pem = cert.pem();
    (format!("{}{}", key.serialize_pem(), cert_pem), cert_pem)
}

//! The engine: one scan over several services. It decides what to read and when; a connector per
//! service ([`ServiceConnector`]) decides how.
//!
//! Resources are read concurrently (at most `concurrency` request chains at a time, across every
//! service). A free permit goes first to the tenant-sized lists, then to reads that others wait
//! for (the longest chain of waiting resources behind them first), then to reads that may page,
//! then to reads of a single request ([`rank`], [`super::permits`]). A resource that waits for
//! another (a fan-out for its parent's ids, a `read_if` for the resource that decides whether it is
//! needed) starts as soon as what it waits for is recorded, so a dependency never holds up the rest
//! of the scan and a scan takes about as long as its longest chain of pages. A resource of a
//! service the scan may not read (`--services`) is recorded unreadable with a reason naming the
//! service; one that fails is recorded with its reason. Neither ever stops the others, and neither
//! ever becomes an empty body.
//!
//! The engine knows no service's wire format: a new service, or another vendor's, is a new
//! [`ServiceConnector`] handed to [`run`].

use super::ConnectorError;
use super::Progress;
use super::fetch::{ReadBody, ReadFailure};
use super::permits::{PermitPool, Permits, Rank};
use super::plan::{self, Needed};
use crate::registry::{ResourceKind, ResourceSpec, Service};
use crate::snapshot::{Collected, Layout, Members, Projection, Wanted};
use reqwest::Url;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::task::JoinSet;

/// A future a connector returns; connectors run on one thread (a `LocalSet`), so it need not be
/// `Send`.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One service's connector: how a resource of that service is read. The small interface every
/// service (Graph, Exchange Online, Security & Compliance, Teams, and any later one) implements.
pub trait ServiceConnector {
    /// The service whose resources it reads.
    fn service(&self) -> Service;

    /// Where its requests go, for the snapshot's `source`.
    fn origin(&self) -> &Url;

    /// Gets a first token: a credential the token endpoint refuses is a setup error of the whole
    /// scan (exit 2), found before anything is read.
    fn check_credential(&self) -> LocalFuture<'_, Result<(), ConnectorError>>;

    /// Starts reading one resource. `job.results` holds what was recorded so far (a fan-out's
    /// parent is among it); the future owns what it needs. Every request chain it makes holds a
    /// permit of `job.permits` while it runs.
    fn read(&self, job: Job<'_>) -> LocalFuture<'static, Read>;

    /// The tenant's display name, when this service's resources tell it.
    fn tenant_name(&self, _results: &BTreeMap<String, Collected>) -> Option<String> {
        None
    }

    /// Whether the connector reads resource `name` itself after it was read (for
    /// [`Self::tenant_name`]), so that its items must be kept whole.
    fn needs_whole(&self, _name: &str) -> bool {
        false
    }
}

/// What a connector is given to read one resource.
pub struct Job<'a> {
    pub name: &'a str,
    pub spec: &'a ResourceSpec,
    pub results: &'a BTreeMap<String, Collected>,
    pub permits: &'a Permits,
    /// The members the scan's rules read of each item, when the connector may keep only those
    /// as the pages come (after hashing them whole): see [`projectable`].
    pub keep: Option<&'a Members>,
}

/// How one read went: the request as finally sent, what happened on the way, the outcome.
pub struct Read {
    pub request: String,
    pub note: Option<String>,
    pub outcome: Result<ReadBody, ReadFailure>,
}

impl Read {
    /// The outcome of the request the registry describes, without a note.
    pub fn plain(spec: &ResourceSpec, outcome: Result<ReadBody, ReadFailure>) -> Self {
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
                file_sha256: read.file_sha256,
                projected: read.projected,
            },
            // A service the tenant does not have: nothing failed, it was not there to read.
            Err(failure) if failure.unavailable => Collected::NotNeeded {
                request: self.request,
                reason: match note {
                    Some(note) => format!("{}; {note}", failure.error),
                    None => failure.error,
                },
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

/// The connectors of one scan, by service, and why a service without one is not read.
pub struct Connectors {
    pub by_service: BTreeMap<Service, Arc<dyn ServiceConnector>>,
    /// How the services were chosen, for the reason of a resource left out (e.g.
    /// "--services graph,teams").
    pub selection: String,
}

impl Connectors {
    fn reason_left_out(&self, service: Service) -> String {
        format!(
            "service {service} was not selected ({}); add it to --services to read this resource",
            self.selection
        )
    }
}

/// Reads every resource of `plan` (built by [`plan::plan`]) with the connector of its service, at
/// most `concurrency` request chains at a time. The credential is checked first, with the first
/// connector the plan needs.
pub async fn run(
    connectors: &Connectors,
    plan: BTreeMap<String, ResourceSpec>,
    concurrency: usize,
    keep: Option<&Wanted>,
    progress: Arc<dyn Progress>,
) -> Result<BTreeMap<String, Collected>, ConnectorError> {
    let keep = keep.map_or_else(BTreeMap::new, |wanted| {
        projectable(connectors, &plan, wanted)
    });
    let first = plan
        .values()
        .map(|spec| spec.service)
        .filter(|service| connectors.by_service.contains_key(service))
        .min();
    if let Some(connector) = first.and_then(|service| connectors.by_service.get(&service)) {
        connector.check_credential().await?;
    }
    progress.start(plan.len());
    let permits = PermitPool::new(concurrency);
    // Tasks run on this thread (the oauth2 futures are not `Send`); they interleave while they
    // wait on the network, which is all the concurrency reading needs.
    let local = tokio::task::LocalSet::new();
    // Every other service's first token is asked for now, beside the first reads, so that its
    // first read finds it ready instead of waiting a round trip to the authority while it holds
    // a permit. What comes of it is the read's business: a refusal is asked again and reported
    // by the reads of that service, as without this.
    for (service, connector) in &connectors.by_service {
        if Some(*service) != first {
            let connector = Arc::clone(connector);
            local.spawn_local(async move {
                let _ = connector.check_credential().await;
            });
        }
    }
    Ok(local
        .run_until(read_all(connectors, plan, &keep, permits, progress))
        .await)
}

/// The resources whose items a connector may project as they are read (`keep` of a scan that
/// writes no snapshot: the members its rules read, [`Wanted`]): collections of one request
/// chain (not fan-outs, whose file is the merged body) that no other resource of the plan
/// waits for (a fan-out reads its parent's ids, a `read_if` its deciding resource, after the
/// read) and that no connector reads again itself (the tenant's name).
fn projectable(
    connectors: &Connectors,
    plan: &BTreeMap<String, ResourceSpec>,
    keep: &Wanted,
) -> BTreeMap<String, Members> {
    let waited_for: BTreeSet<&str> = plan.values().flat_map(ResourceSpec::depends_on).collect();
    plan.iter()
        .filter(|(name, spec)| {
            Layout::of(spec) == Some(Layout::Collection)
                && !waited_for.contains(name.as_str())
                && !connectors
                    .by_service
                    .values()
                    .any(|connector| connector.needs_whole(name))
        })
        .filter_map(|(name, _)| match keep.get(name)? {
            Projection::Members(members) => Some((name.clone(), members.clone())),
            Projection::Whole => None,
        })
        .collect()
}

/// Reads every resource of the plan: those that wait for nothing at once, and each that waits
/// as soon as what it waits for is recorded.
async fn read_all(
    connectors: &Connectors,
    plan: BTreeMap<String, ResourceSpec>,
    keep: &BTreeMap<String, Members>,
    permits: Arc<PermitPool>,
    progress: Arc<dyn Progress>,
) -> BTreeMap<String, Collected> {
    let ranks = rank(&plan);
    let mut results: BTreeMap<String, Collected> = BTreeMap::new();
    let mut waiting: Vec<(String, ResourceSpec)> = plan.into_iter().collect();
    let mut tasks = JoinSet::new();
    loop {
        // Start everything whose dependencies are recorded (or, once nothing else runs, whose
        // dependencies never will be: the read then says why). Each asks for its permits at
        // its rank; the sort only orders reads of the same rank (stable: registry order).
        let (mut ready, still): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|(_, spec)| spec.depends_on().all(|dep| results.contains_key(dep)));
        waiting = still;
        if ready.is_empty() && tasks.is_empty() {
            ready = std::mem::take(&mut waiting);
        }
        ready.sort_by_key(|(name, _)| ranks.get(name).copied().unwrap_or_default());
        let mut decided = false;
        for (name, spec) in ready {
            let request = spec.request_line();
            let Some(connector) = connectors.by_service.get(&spec.service) else {
                progress.finished(&name, false);
                // Left out on purpose (what the municipality licenses and has consented): not
                // a failed read, so a declaration may stand in for it.
                let reason = connectors.reason_left_out(spec.service);
                results.insert(name, Collected::NotNeeded { request, reason });
                decided = true;
                continue;
            };
            match plan::needed(&results, &spec) {
                Needed::No(reason) => {
                    progress.finished(&name, true);
                    results.insert(name, Collected::NotNeeded { request, reason });
                    decided = true;
                }
                Needed::Yes(note) => {
                    let permits = permits.at(ranks.get(&name).copied().unwrap_or_default());
                    let job = Job {
                        name: &name,
                        spec: &spec,
                        results: &results,
                        permits: &permits,
                        keep: keep.get(&name),
                    };
                    let read = connector.read(job);
                    tasks.spawn_local(async move { (name, read.await.collected(note)) });
                }
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
            progress.finished(&name, matches!(collected, Collected::Read { .. }));
            results.insert(name, collected);
        }
    }
    results
}

/// A collection read in full: as many requests as it has pages.
fn may_page(spec: &ResourceSpec) -> bool {
    spec.kind == ResourceKind::Collection && !spec.first_page_only
}

/// Graph's page size where a request sets no `$top`.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// Where each read of the plan stands in the queue for a permit (lowest first):
///
/// 1. collections whose request asks for pages larger than the default (`$top` above 100: the
///    lists as long as the tenant, users and their MFA registration, which make the longest
///    chains of pages). With 45 resources and 8 permits, the users read otherwise waited for a
///    dozen small collections before its first page;
/// 2. reads in a chain of resources that wait for one another (a fan-out and its parent, a
///    `read_if` and its deciding resource), the longest chain first: the chain parent →
///    fan-out is two reads long, and started last it ended after the users chain (at 10 000
///    accounts roleEligibilitySchedules got its permit at 176 ms, and its fan-outs theirs
///    behind every small read still waiting). A fan-out asks once its parent is read, and
///    then goes before the reads of no chain still waiting;
/// 3. then collections read in full, then reads of one request.
///
/// A read of one request takes one round trip whenever it starts; a chain that waits for a
/// permit is pushed back whole, and the longest chain is what a scan takes.
fn rank(plan: &BTreeMap<String, ResourceSpec>) -> BTreeMap<String, Rank> {
    let mut waited_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut waits_for: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, spec) in plan {
        for dep in spec.depends_on().filter(|dep| plan.contains_key(*dep)) {
            waited_by.entry(dep).or_default().push(name);
            waits_for.entry(name).or_default().push(dep);
        }
    }
    let (mut behind, mut before) = (BTreeMap::new(), BTreeMap::new());
    plan.iter()
        .map(|(name, spec)| {
            let group = if tenant_sized(spec) { 0 } else { 1 };
            let chain =
                longest(name, &waited_by, &mut behind) + longest(name, &waits_for, &mut before);
            let kind = if may_page(spec) { 0 } else { 1 };
            // The longer the chain a read is part of, the earlier: u32::MAX - chain.
            let rank = Rank([group, u32::MAX - chain, kind]);
            (name.clone(), rank)
        })
        .collect()
}

/// How many resources follow `name` one after another along `next` at most (0: none). The
/// registry refuses cycles; a walk in progress counts as 0 all the same, so none could recurse
/// for ever.
fn longest<'a>(
    name: &'a str,
    next: &BTreeMap<&'a str, Vec<&'a str>>,
    known: &mut BTreeMap<&'a str, u32>,
) -> u32 {
    if let Some(depth) = known.get(name) {
        return *depth;
    }
    known.insert(name, 0);
    let depth = next.get(name).map_or(0, |following| {
        following
            .iter()
            .map(|after| 1 + longest(after, next, known))
            .max()
            .unwrap_or(0)
    });
    known.insert(name, depth);
    depth
}

/// A list as long as the tenant: a collection read in full with pages larger than the default.
fn tenant_sized(spec: &ResourceSpec) -> bool {
    may_page(spec)
        && spec
            .query
            .get("$top")
            .and_then(|top| top.parse::<u32>().ok())
            .is_some_and(|top| top > DEFAULT_PAGE_SIZE)
}

//! Fault injection: live scans of the compliant Zonnedorp and the non-compliant Kleinwaarde
//! tenants through the simulated Graph (tests/support/graph_sim.rs) while it throttles, fails,
//! resets, stalls, truncates, loops, expires the token or refuses a permission. For each fault:
//! the verdicts expected (the same as the tenant read cleanly when the connector can recover,
//! `error` for every policy that needs a resource it could not read), no false pass, and a
//! bounded time.
//!
//! A false pass is a `pass` that the same tenant read cleanly does not give, or a `pass` of a
//! policy that reads a resource this scan could not read. The check compares with the clean
//! read of the same tenant, so it can fail: `the_false_pass_check_catches_an_injected_false_pass`
//! shows it does.
//!
//! The scans run in process (the simulator as the connector's transport) on tokio's paused
//! clock: waits, backoffs and timeouts take no real time, and the times asserted are exact.

use crate::graph_sim::{CLIENT_ID, Fault, SimGraph, SimOptions, TENANT};
use crate::support;
use crate::support::{cloudkeur, repo_path};
use crate::tenant_gen;
use crate::tenant_gen::TenantSpec;
use cloudkeur::connector::{Credential, LiveConfig, NoProgress, RetryPolicy, Secret, collect_with};
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::Verdict;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Collected, Collection, encode};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

const SECRET: &str = "fault-suite-secret";

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(6),
        request_timeout: Duration::from_millis(500),
    }
}

/// What the connector should make of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Retried or renewed: every verdict as without the fault.
    Recovers,
    /// The named resource is recorded as unreadable: its policies give `error`.
    Unreadable(&'static str),
}

struct Case {
    name: &'static str,
    faults: Vec<(&'static str, Fault)>,
    expect: Expect,
    /// The scan takes at least this long (a `Retry-After` honoured, a timeout waited out)…
    at_least: Duration,
    /// …and at most this long.
    budget: Duration,
}

const URD: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";
const USERS: &str = "/v1.0/users";
const CA: &str = "/v1.0/identity/conditionalAccess/policies";
const AUTHZ: &str = "/v1.0/policies/authorizationPolicy";
const ROLES: &str = "/v1.0/roleManagement/directory/roleEligibilitySchedules";

fn cases() -> Vec<Case> {
    let storm = |retry_after| Fault::Throttle {
        times: 2,
        retry_after: Some(retry_after),
    };
    vec![
        Case {
            name: "429 storm with Retry-After on four resources",
            faults: vec![
                (URD, storm(1)),
                (USERS, storm(1)),
                (ROLES, storm(1)),
                (CA, storm(1)),
            ],
            expect: Expect::Recovers,
            // Two waits of 1 s on each resource, side by side.
            at_least: Duration::from_secs(2),
            budget: Duration::from_millis(2100),
        },
        Case {
            name: "429 storm longer than the retry budget",
            faults: vec![(
                URD,
                Fault::Throttle {
                    times: 100,
                    retry_after: Some(1),
                },
            )],
            expect: Expect::Unreadable("user_registration_details"),
            // Three attempts, two waits of 1 s.
            at_least: Duration::from_secs(2),
            budget: Duration::from_millis(2100),
        },
        Case {
            name: "5xx burst (500, 502, 503, 504)",
            faults: vec![
                (
                    URD,
                    Fault::Status {
                        code: 503,
                        times: 2,
                    },
                ),
                (
                    ROLES,
                    Fault::Status {
                        code: 504,
                        times: 2,
                    },
                ),
                (
                    USERS,
                    Fault::Status {
                        code: 500,
                        times: 1,
                    },
                ),
                (
                    CA,
                    Fault::Status {
                        code: 502,
                        times: 2,
                    },
                ),
            ],
            expect: Expect::Recovers,
            at_least: Duration::ZERO,
            budget: Duration::from_millis(100),
        },
        Case {
            name: "connection reset mid-body",
            faults: vec![
                (URD, Fault::ConnectionReset { times: 2 }),
                (USERS, Fault::ConnectionReset { times: 1 }),
            ],
            expect: Expect::Recovers,
            at_least: Duration::ZERO,
            budget: Duration::from_millis(100),
        },
        Case {
            name: "stalled response",
            // Not sites: a single-geo tenant may not need them read at all (read_if).
            faults: vec![(USERS, Fault::Slow(Duration::from_secs(3)))],
            expect: Expect::Unreadable("users"),
            // Three attempts timed out after 500 ms each.
            at_least: Duration::from_millis(1500),
            budget: Duration::from_millis(1600),
        },
        Case {
            name: "truncated JSON",
            faults: vec![(CA, Fault::Truncated)],
            expect: Expect::Unreadable("conditional_access_policies"),
            at_least: Duration::ZERO,
            budget: Duration::from_millis(100),
        },
        Case {
            name: "nextLink cycle",
            faults: vec![(URD, Fault::NextLinkCycle)],
            expect: Expect::Unreadable("user_registration_details"),
            at_least: Duration::ZERO,
            budget: Duration::from_millis(100),
        },
        Case {
            name: "token expired mid-scan",
            faults: vec![(URD, Fault::Unauthorized { times: 1 })],
            expect: Expect::Recovers,
            at_least: Duration::ZERO,
            budget: Duration::from_millis(100),
        },
        Case {
            name: "403 on one resource",
            faults: vec![(AUTHZ, Fault::Forbidden)],
            expect: Expect::Unreadable("authorization_policy"),
            at_least: Duration::ZERO,
            budget: Duration::from_millis(100),
        },
    ]
}

/// A scan's outcome: what was read, and each policy's verdict with the resources it reads.
struct Scanned {
    collection: Collection,
    verdicts: BTreeMap<String, (Verdict, Vec<String>)>,
    elapsed: Duration,
    token_requests: usize,
}

impl Scanned {
    fn unread(&self) -> BTreeSet<String> {
        unread(&self.collection)
    }
}

fn unread(collection: &Collection) -> BTreeSet<String> {
    collection
        .resources
        .iter()
        .filter(|(_, c)| !matches!(c, Collected::Read { .. }))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The false passes of `scanned`, measured against `clean`, the same tenant read without
/// faults: a policy that passes although it does not pass on the clean read, or although it
/// reads a resource this scan could not read (and the clean read could).
fn false_passes(scanned: &Scanned, clean: &Scanned) -> Vec<String> {
    let newly_unread: BTreeSet<String> = scanned
        .unread()
        .difference(&clean.unread())
        .cloned()
        .collect();
    scanned
        .verdicts
        .iter()
        .filter(|(policy, (verdict, resources))| {
            *verdict == Verdict::Pass
                && (clean.verdicts.get(*policy).map(|(v, _)| *v) != Some(Verdict::Pass)
                    || resources.iter().any(|r| newly_unread.contains(r)))
        })
        .map(|(policy, _)| policy.clone())
        .collect()
}

/// The connector's settings for a scan of `sim` with the test app's secret.
fn live_config(sim: &SimGraph, concurrency: usize) -> LiveConfig {
    LiveConfig {
        concurrency,
        retry: retry(),
        ..sim.live_config(Credential::ClientSecret(Secret::new(SECRET)))
    }
}

/// `resource` and every fan-out the pack needs that reads its ids from it: those cannot be read
/// without it.
fn with_fan_outs(resource: &str) -> BTreeSet<String> {
    let pack = pack();
    let needed = pack.needed_resources();
    pack.registry
        .iter()
        .filter(|(name, spec)| {
            name.as_str() == resource
                || spec
                    .for_each
                    .as_ref()
                    .is_some_and(|fan_out| fan_out.resource == resource)
        })
        .filter(|(name, _)| needed.contains(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect()
}

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("pack"))
}

/// Scans the simulator in process with the whole built-in pack and evaluates it with
/// Zonnedorp's settings and evidence, as of a day on which Zonnedorp is compliant.
async fn scan(sim: &SimGraph) -> Scanned {
    let pack = pack();
    let started = Instant::now();
    let collection = collect_with(
        sim.transport(),
        &live_config(sim, 8),
        &pack.registry,
        &pack.needed_resources(),
        Arc::new(NoProgress),
    )
    .await
    .expect("starts");
    let elapsed = started.elapsed();
    Scanned {
        verdicts: verdicts(&collection),
        collection,
        elapsed,
        token_requests: sim.token_requests(),
    }
}

/// Each policy's verdict, and the resources it reads, on what `collection` holds.
fn verdicts(collection: &Collection) -> BTreeMap<String, (Verdict, Vec<String>)> {
    let pack = pack();
    let snapshot = encode(collection).to_snapshot(&pack.registry, &pack.projections());
    let (settings, _) =
        Settings::load(&repo_path("fixtures/config/zonnedorp.yaml"), &pack.catalog).unwrap();
    let evidence = Evidence::load(
        &repo_path("fixtures/evidence/zonnedorp.yaml"),
        &pack.catalog,
    )
    .unwrap();
    evaluate(
        pack,
        Inputs {
            snapshot: &snapshot,
            settings: &settings,
            evidence: &evidence,
            today: time::macros::date!(2026 - 11 - 23),
        },
    )
    .into_iter()
    .map(|f| (f.policy, (f.verdict, f.resources)))
    .collect()
}

/// A tenant the faults are injected into.
#[derive(Debug, Clone, Copy)]
enum Tenant {
    /// Compliant: every policy passes (or is not applicable) when read cleanly.
    Zonnedorp,
    /// Not compliant: many policies fail, one resource is refused (403) in its snapshot.
    Kleinwaarde,
}

impl Tenant {
    fn dir(self) -> PathBuf {
        match self {
            Tenant::Zonnedorp => repo_path("fixtures/tenants/zonnedorp"),
            Tenant::Kleinwaarde => repo_path("fixtures/tenants/kleinwaarde"),
        }
    }

    fn sim(self) -> SimGraph {
        SimGraph::start(SimOptions {
            client_secret: SECRET.into(),
            tenant_dir: Some(self.dir()),
            ..SimOptions::default()
        })
    }

    /// The tenant read without faults, and the requests per faulted path then.
    async fn clean(self) -> &'static Clean {
        static ZONNEDORP: OnceCell<Clean> = OnceCell::const_new();
        static KLEINWAARDE: OnceCell<Clean> = OnceCell::const_new();
        let cell = match self {
            Tenant::Zonnedorp => &ZONNEDORP,
            Tenant::Kleinwaarde => &KLEINWAARDE,
        };
        cell.get_or_init(|| async move {
            let sim = self.sim();
            let scanned = scan(&sim).await;
            let hits = [URD, USERS, CA, AUTHZ, ROLES]
                .into_iter()
                .map(|path| (path, sim.hits(path)))
                .collect();
            Clean { scanned, hits }
        })
        .await
    }
}

struct Clean {
    scanned: Scanned,
    hits: BTreeMap<&'static str, usize>,
}

/// Runs one case against one tenant and checks what it expects; returns its false passes.
async fn run(case: &Case, tenant: Tenant) -> Vec<String> {
    let clean = tenant.clean().await;
    let sim = tenant.sim();
    for (path, fault) in &case.faults {
        sim.fault(path, fault.clone());
    }
    let scanned = scan(&sim).await;
    let what = format!("{} ({tenant:?})", case.name);
    if case.expect == Expect::Recovers {
        for (path, _) in &case.faults {
            assert!(
                sim.hits(path) > clean.hits[*path],
                "{what}: the fault on {path} was met (more requests than without it)"
            );
        }
    }
    assert!(
        (case.at_least..=case.budget).contains(&scanned.elapsed),
        "{what}: took {:?}, expected {:?} to {:?}",
        scanned.elapsed,
        case.at_least,
        case.budget
    );
    let newly_unread: BTreeSet<String> = scanned
        .unread()
        .difference(&clean.scanned.unread())
        .cloned()
        .collect();
    let baseline = &clean.scanned.verdicts;
    match case.expect {
        Expect::Recovers => {
            assert!(
                newly_unread.is_empty(),
                "{what}: not read: {newly_unread:?}"
            );
            assert_eq!(&scanned.verdicts, baseline, "{what}");
        }
        Expect::Unreadable(resource) => {
            assert_eq!(
                newly_unread,
                with_fan_outs(resource),
                "{what}: exactly the faulty resource (and the reads that take their ids from it) is unreadable"
            );
            let mut affected = 0;
            for (policy, (verdict, resources)) in &scanned.verdicts {
                if resources.iter().any(|r| r == resource) {
                    affected += 1;
                    // What passed cleanly is an error now; what failed may still fail on the
                    // data that was read (Kleene: fail and error is fail), but never passes.
                    let clean_verdict = baseline.get(policy).map(|(v, _)| *v);
                    match clean_verdict {
                        Some(Verdict::Pass) => {
                            assert_eq!(*verdict, Verdict::Error, "{what}: {policy}");
                        }
                        _ => assert!(
                            matches!(verdict, Verdict::Error | Verdict::Fail),
                            "{what}: {policy} gives {verdict:?}, cleanly {clean_verdict:?}"
                        ),
                    }
                } else {
                    assert_eq!(
                        Some(&(*verdict, resources.clone())),
                        baseline.get(policy),
                        "{what}: {policy} does not read {resource}"
                    );
                }
            }
            assert!(affected > 0, "{what}: no policy reads {resource}");
        }
    }
    if case.name.starts_with("token expired") {
        assert!(scanned.token_requests >= 2, "{what}: the token was renewed");
    }
    false_passes(&scanned, &clean.scanned)
}

/// Runs the case named `prefix` against both tenants; it must give no false pass.
async fn run_named(prefix: &str) {
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with(prefix))
        .expect("case");
    for tenant in [Tenant::Zonnedorp, Tenant::Kleinwaarde] {
        let false_passes = run(&case, tenant).await;
        assert!(
            false_passes.is_empty(),
            "{} ({tenant:?}): false passes {false_passes:?}",
            case.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_clean_reads_are_what_the_tenants_are() {
    let zonnedorp = Tenant::Zonnedorp.clean().await;
    // Everything read, but what the registry says this tenant does not need (read_if).
    for name in zonnedorp.scanned.unread() {
        assert!(
            matches!(
                zonnedorp.scanned.collection.resources.get(&name),
                Some(Collected::NotNeeded { .. })
            ),
            "{name} could not be read"
        );
    }
    for (policy, (verdict, _)) in &zonnedorp.scanned.verdicts {
        assert!(
            matches!(verdict, Verdict::Pass | Verdict::NotApplicable),
            "Zonnedorp is compliant without faults, but {policy} gives {verdict:?}"
        );
    }
    let kleinwaarde = Tenant::Kleinwaarde.clean().await;
    // Not counting what this connector does not read (the admin APIs' resources, until their
    // connectors land: issue 12).
    let failed: BTreeSet<String> = kleinwaarde
        .scanned
        .unread()
        .into_iter()
        .filter(|name| {
            !matches!(
                kleinwaarde.scanned.collection.resources.get(name),
                Some(Collected::NotNeeded { .. })
            )
        })
        .collect();
    assert_eq!(
        failed,
        BTreeSet::from(["sensitivity_labels".to_owned()]),
        "as its snapshot records"
    );
    let failing = kleinwaarde
        .scanned
        .verdicts
        .values()
        .filter(|(verdict, _)| *verdict == Verdict::Fail)
        .count();
    assert!(failing >= 5, "Kleinwaarde fails much: {failing}");
}

#[tokio::test(start_paused = true)]
async fn throttling_with_retry_after_is_waited_out() {
    run_named("429 storm with").await;
}

#[tokio::test(start_paused = true)]
async fn throttling_beyond_the_budget_gives_error_not_pass() {
    run_named("429 storm longer").await;
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_server_errors_is_retried() {
    run_named("5xx burst").await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_reset_mid_body_is_retried() {
    run_named("connection reset").await;
}

#[tokio::test(start_paused = true)]
async fn a_stalled_response_times_out_and_gives_error() {
    run_named("stalled response").await;
}

#[tokio::test(start_paused = true)]
async fn truncated_json_gives_error() {
    run_named("truncated JSON").await;
}

#[tokio::test(start_paused = true)]
async fn a_next_link_cycle_gives_error() {
    run_named("nextLink cycle").await;
}

#[tokio::test(start_paused = true)]
async fn a_token_expired_mid_scan_is_renewed() {
    run_named("token expired").await;
}

#[tokio::test(start_paused = true)]
async fn forbidden_on_one_resource_gives_error_for_its_policies_only() {
    run_named("403 on one").await;
}

/// Every case against both tenants: the number of false passes, counted against the clean
/// reads, is zero.
#[tokio::test(start_paused = true)]
async fn summary_no_fault_gives_a_false_pass() {
    let cases = cases();
    let faults: usize = cases.iter().map(|c| c.faults.len()).sum::<usize>() * 2;
    let mut false_passes = Vec::new();
    for case in &cases {
        for tenant in [Tenant::Zonnedorp, Tenant::Kleinwaarde] {
            for policy in run(case, tenant).await {
                false_passes.push(format!("{} ({tenant:?}): {policy}", case.name));
            }
        }
    }
    println!(
        "{faults} faults injected, {} false passes",
        false_passes.len()
    );
    assert!(false_passes.is_empty(), "{false_passes:?}");
}

/// The check above can fail: the simulator answers a collection with nothing in it, as a
/// connector that failed open (an unread list taken for an empty one) would see it, and the
/// policy that then passes on Kleinwaarde, where the clean read fails it, is counted. (Of the
/// collections read directly, only an empty list of active role assignments makes a policy
/// pass there: the others' policies ask for at least one item.)
#[tokio::test(start_paused = true)]
async fn the_false_pass_check_catches_an_injected_false_pass() {
    let clean = Tenant::Kleinwaarde.clean().await;
    let sim = Tenant::Kleinwaarde.sim();
    sim.fault(
        "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances",
        Fault::EmptyCollection,
    );
    let scanned = scan(&sim).await;
    let caught = false_passes(&scanned, &clean.scanned);
    assert_eq!(caught, ["rba-02-no-standing-privileged-roles"]);
    for policy in &caught {
        assert_eq!(scanned.verdicts[policy].0, Verdict::Pass);
        assert_ne!(clean.scanned.verdicts[policy].0, Verdict::Pass, "{policy}");
    }
    // And a pass on a resource this scan could not read is one too, whatever the clean read
    // says: take a clean read (Zonnedorp's: Kleinwaarde passes nothing) and mark what a policy
    // passing on it reads as unreadable.
    let clean = Tenant::Zonnedorp.clean().await;
    let clean_unread = clean.scanned.unread();
    let (policy, resource) = clean
        .scanned
        .verdicts
        .iter()
        .filter(|(_, (verdict, _))| *verdict == Verdict::Pass)
        .find_map(|(policy, (_, resources))| {
            let read = resources.iter().find(|r| !clean_unread.contains(*r))?;
            Some((policy, read.clone()))
        })
        .expect("Zonnedorp passes something that reads a resource it read");
    let mut collection = clean.scanned.collection.clone();
    collection.resources.insert(
        resource.clone(),
        Collected::Failed {
            request: String::new(),
            http_status: Some(503),
            error: "injected".into(),
            note: None,
        },
    );
    let fail_open = Scanned {
        collection,
        verdicts: clean.scanned.verdicts.clone(),
        elapsed: Duration::ZERO,
        token_requests: 0,
    };
    assert!(
        false_passes(&fail_open, &clean.scanned).contains(policy),
        "{policy} passes on unread {resource}"
    );
}

/// A live scan of a generated tenant whose one member without MFA is listed on page 3 of
/// userRegistrationDetails (5 rows a page): VTC-MFA-04 fails naming exactly that account.
#[test]
fn a_user_without_mfa_only_on_the_third_page_is_found() {
    let probe = TenantSpec {
        not_mfa_capable: Some(Vec::new()),
        ..TenantSpec::new(30)
    };
    let accounts = tenant_gen::accounts(&probe);
    let index = (10..15)
        .find(|&i| !accounts[i].guest)
        .expect("a member on page 3");
    let spec = TenantSpec {
        not_mfa_capable: Some(vec![index]),
        ..probe
    };
    let expected = tenant_gen::accounts(&spec)[index].upn.clone();
    assert_eq!(expected, accounts[index].upn, "same tenant, one gap");

    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("tenant");
    tenant_gen::write_snapshot(&spec, &snap);
    let sim = SimGraph::start(SimOptions {
        client_secret: SECRET.into(),
        page_size: 5,
        tenant_dir: Some(snap),
        ..SimOptions::default()
    });
    let output = cloudkeur()
        .arg("scan")
        .args(sim.url_args())
        .args([
            "--only",
            "VTC-MFA-04",
            "--reveal-identities",
            "--format",
            "json",
        ])
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let finding = support::finding(&report, "mfa-04-members-registered-for-mfa");
    assert_eq!(finding["verdict"], "fail");
    let labels: Vec<&str> = finding["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["label"].as_str())
        .collect();
    assert_eq!(labels, [expected.as_str()]);
    assert_eq!(sim.hits(URD), 6, "30 rows read as 6 pages of 5");
}

/// A fan-out starts as soon as the resource listing its ids is read, and reads its groups
/// concurrently: group members are read while userRegistrationDetails is still paging. With
/// `--concurrency 1` the same scan still completes.
#[tokio::test(start_paused = true)]
async fn fan_out_groups_are_read_while_other_resources_still_page() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("tenant");
    tenant_gen::write_snapshot(&TenantSpec::new(500), &snap);
    let wanted: BTreeSet<String> = [
        "user_registration_details",
        "eligible_group_transitive_members",
    ]
    .map(String::from)
    .into();
    for concurrency in [4, 1] {
        let sim = SimGraph::start(SimOptions {
            client_secret: SECRET.into(),
            page_size: 5,
            latency: Duration::from_millis(2),
            tenant_dir: Some(snap.clone()),
            ..SimOptions::default()
        });
        let collection = collect_with(
            sim.transport(),
            &live_config(&sim, concurrency),
            &pack().registry,
            &wanted,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
        assert!(unread(&collection).is_empty(), "{collection:?}");
        let Some(Collected::Read { body, .. }) = collection
            .resources
            .get("eligible_group_transitive_members")
        else {
            panic!("fan-out read");
        };
        assert_eq!(body.as_object().map(|groups| groups.len()), Some(2));
        let log = sim.requests();
        let last_urd = log.iter().rposition(|r| r.path == URD).expect("urd read");
        let first_group = log
            .iter()
            .position(|r| r.path.ends_with("/transitiveMembers"))
            .expect("groups read");
        if concurrency > 1 {
            assert!(
                first_group < last_urd,
                "groups were read only after userRegistrationDetails was done"
            );
        }
    }
}

//! Fault injection: a live scan of the compliant Zonnedorp tenant through the simulated Graph
//! (tests/support/graph_sim.rs) while it throttles, fails, resets, stalls, truncates, loops,
//! expires the token or refuses a permission. For each fault: the verdicts expected (the same
//! as without the fault when the connector can recover, `error` for every policy that needs a
//! resource it could not read), no `pass` on data that was not read, and a bounded wall time.

#[path = "support/graph_sim.rs"]
mod graph_sim;
mod support;
#[path = "support/tenant_gen.rs"]
mod tenant_gen;

use cloudkeur::connector::{
    Credential, LiveConfig, NoProgress, RetryPolicy, Secret, check_base_url, collect_blocking,
};
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::Verdict;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Collected, Collection, encode};
use graph_sim::{CLIENT_ID, Fault, SimGraph, SimOptions, TENANT};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use support::{cloudkeur, repo_path};
use tenant_gen::TenantSpec;

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
    /// The scan must finish within this.
    budget: Duration,
}

const URD: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";
const USERS: &str = "/v1.0/users";
const SITES: &str = "/v1.0/sites/getAllSites";
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
                (SITES, storm(1)),
                (CA, storm(1)),
            ],
            expect: Expect::Recovers,
            budget: Duration::from_secs(6),
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
            budget: Duration::from_secs(6),
        },
        Case {
            name: "5xx burst (503, 504)",
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
            ],
            expect: Expect::Recovers,
            budget: Duration::from_secs(4),
        },
        Case {
            name: "connection reset mid-body",
            faults: vec![
                (URD, Fault::ConnectionReset { times: 2 }),
                (USERS, Fault::ConnectionReset { times: 1 }),
            ],
            expect: Expect::Recovers,
            budget: Duration::from_secs(4),
        },
        Case {
            name: "stalled response",
            // Not `sites`: a single-geo tenant (as the simulated one) does not need the sites
            // read, and VTC-LOC-02 rightly passes without it.
            faults: vec![(USERS, Fault::Slow(Duration::from_secs(3)))],
            expect: Expect::Unreadable("users"),
            budget: Duration::from_secs(5),
        },
        Case {
            name: "truncated JSON",
            faults: vec![(CA, Fault::Truncated)],
            expect: Expect::Unreadable("conditional_access_policies"),
            budget: Duration::from_secs(3),
        },
        Case {
            name: "nextLink cycle",
            faults: vec![(URD, Fault::NextLinkCycle)],
            expect: Expect::Unreadable("user_registration_details"),
            budget: Duration::from_secs(3),
        },
        Case {
            name: "token expired mid-scan",
            faults: vec![(URD, Fault::Unauthorized { times: 1 })],
            expect: Expect::Recovers,
            budget: Duration::from_secs(3),
        },
        Case {
            name: "403 on one resource",
            faults: vec![(AUTHZ, Fault::Forbidden)],
            expect: Expect::Unreadable("authorization_policy"),
            budget: Duration::from_secs(3),
        },
    ]
}

struct Scanned {
    collection: Collection,
    verdicts: BTreeMap<String, (Verdict, Vec<String>)>,
    elapsed: Duration,
    token_requests: usize,
}

/// The connector's settings for a scan of `sim` with the test app's secret.
fn live_config(sim: &SimGraph, concurrency: usize) -> LiveConfig {
    LiveConfig {
        tenant: TENANT.into(),
        client_id: CLIENT_ID.into(),
        credential: Credential::ClientSecret(Secret::new(SECRET)),
        graph_url: check_base_url("--graph-url", &sim.url).expect("loopback"),
        authority_url: check_base_url("--authority-url", &sim.url).expect("loopback"),
        concurrency,
        retry: retry(),
    }
}

/// Scans the simulator with the whole built-in pack and evaluates it with Zonnedorp's settings
/// and evidence, as of a day on which Zonnedorp is compliant.
fn scan(sim: &SimGraph) -> Scanned {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    let pack = PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("pack"));
    let wanted = pack.needed_resources();
    let config = live_config(sim, 8);
    let started = Instant::now();
    let collection =
        collect_blocking(&config, &pack.registry, &wanted, Arc::new(NoProgress)).expect("starts");
    let elapsed = started.elapsed();
    let snapshot = encode(&collection).to_snapshot(&pack.registry, &pack.projections());
    let (settings, _) =
        Settings::load(&repo_path("fixtures/config/zonnedorp.yaml"), &pack.catalog).unwrap();
    let evidence = Evidence::load(
        &repo_path("fixtures/evidence/zonnedorp.yaml"),
        &pack.catalog,
    )
    .unwrap();
    let findings = evaluate(
        pack,
        Inputs {
            snapshot: &snapshot,
            settings: &settings,
            evidence: &evidence,
            today: time::macros::date!(2026 - 11 - 23),
        },
    );
    let verdicts = findings
        .into_iter()
        .map(|f| (f.policy, (f.verdict, f.resources)))
        .collect();
    Scanned {
        collection,
        verdicts,
        elapsed,
        token_requests: sim.token_requests(),
    }
}

fn sim() -> SimGraph {
    SimGraph::start(SimOptions {
        client_secret: SECRET.into(),
        ..SimOptions::default()
    })
}

/// `resource` and every fan-out that reads its ids from it: those cannot be read without it.
fn with_fan_outs(resource: &str) -> BTreeSet<String> {
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    pack.registry
        .iter()
        .filter(|(name, spec)| {
            name.as_str() == resource
                || spec
                    .for_each
                    .as_ref()
                    .is_some_and(|fan_out| fan_out.resource == resource)
        })
        .filter(|(name, _)| pack.needed_resources().contains(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect()
}

fn unread(collection: &Collection) -> BTreeSet<String> {
    collection
        .resources
        .iter()
        .filter(|(_, c)| !matches!(c, Collected::Read { .. }))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Runs one case and checks it; returns the number of false passes (always 0 when it returns).
fn run(case: &Case, baseline: &Baseline) -> usize {
    let sim = sim();
    for (path, fault) in &case.faults {
        sim.fault(path, fault.clone());
    }
    let scanned = scan(&sim);
    if case.expect == Expect::Recovers {
        for (path, _) in &case.faults {
            assert!(
                sim.hits(path) > baseline.hits[*path],
                "{}: the fault on {path} was met (more requests than without it)",
                case.name
            );
        }
    }
    let baseline = &baseline.verdicts;
    assert!(
        scanned.elapsed <= case.budget,
        "{}: took {:?}, budget {:?}",
        case.name,
        scanned.elapsed,
        case.budget
    );
    let unread = unread(&scanned.collection);
    // No pass on data that was not read, whatever the case expects.
    let false_passes: Vec<&String> = scanned
        .verdicts
        .iter()
        .filter(|(_, (verdict, resources))| {
            *verdict == Verdict::Pass && resources.iter().any(|r| unread.contains(r))
        })
        .map(|(policy, _)| policy)
        .collect();
    assert!(
        false_passes.is_empty(),
        "{}: pass on unread data: {false_passes:?}",
        case.name
    );
    match case.expect {
        Expect::Recovers => {
            assert!(unread.is_empty(), "{}: not read: {unread:?}", case.name);
            assert_eq!(&scanned.verdicts, baseline, "{}", case.name);
        }
        Expect::Unreadable(resource) => {
            assert_eq!(
                unread,
                with_fan_outs(resource),
                "{}: exactly the faulty resource (and reads that take their ids from it) is unreadable",
                case.name
            );
            let mut affected = 0;
            for (policy, (verdict, resources)) in &scanned.verdicts {
                if resources.iter().any(|r| r == resource) {
                    affected += 1;
                    assert_eq!(*verdict, Verdict::Error, "{}: {policy}", case.name);
                } else {
                    assert_eq!(
                        Some(&(*verdict, resources.clone())),
                        baseline.get(policy),
                        "{}: {policy} does not read {resource}",
                        case.name
                    );
                }
            }
            assert!(affected > 0, "{}: no policy reads {resource}", case.name);
        }
    }
    if case.name.starts_with("token expired") {
        assert!(scanned.token_requests >= 2, "the token was renewed");
    }
    0
}

/// The scan without faults: its verdicts, and the requests per faulted path.
struct Baseline {
    verdicts: BTreeMap<String, (Verdict, Vec<String>)>,
    hits: BTreeMap<&'static str, usize>,
}

fn baseline() -> &'static Baseline {
    static BASELINE: OnceLock<Baseline> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let sim = sim();
        let scanned = scan(&sim);
        assert!(unread(&scanned.collection).is_empty());
        for (policy, (verdict, _)) in &scanned.verdicts {
            assert!(
                matches!(verdict, Verdict::Pass | Verdict::NotApplicable),
                "Zonnedorp is compliant without faults, but {policy} gives {verdict:?}"
            );
        }
        let hits = [URD, USERS, SITES, CA, AUTHZ, ROLES]
            .into_iter()
            .map(|path| (path, sim.hits(path)))
            .collect();
        Baseline {
            verdicts: scanned.verdicts,
            hits,
        }
    })
}

fn run_named(prefix: &str) {
    let baseline = baseline();
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with(prefix))
        .expect("case");
    run(&case, baseline);
}

#[test]
fn throttling_with_retry_after_is_waited_out() {
    run_named("429 storm with");
}

#[test]
fn throttling_beyond_the_budget_gives_error_not_pass() {
    run_named("429 storm longer");
}

#[test]
fn a_burst_of_503_and_504_is_retried() {
    run_named("5xx burst");
}

#[test]
fn a_connection_reset_mid_body_is_retried() {
    run_named("connection reset");
}

#[test]
fn a_stalled_response_times_out_and_gives_error() {
    run_named("stalled response");
}

#[test]
fn truncated_json_gives_error() {
    run_named("truncated JSON");
}

#[test]
fn a_next_link_cycle_gives_error() {
    run_named("nextLink cycle");
}

#[test]
fn a_token_expired_mid_scan_is_renewed() {
    run_named("token expired");
}

#[test]
fn forbidden_on_one_resource_gives_error_for_its_policies_only() {
    run_named("403 on one");
}

/// Every case at once, each against its own simulator.
#[test]
fn summary_no_fault_gives_a_false_pass() {
    let baseline = baseline();
    let cases = cases();
    let faults: usize = cases.iter().map(|c| c.faults.len()).sum();
    let false_passes: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| scope.spawn(|| run(case, baseline)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("case holds"))
            .sum()
    });
    println!("{faults} faults injected, {false_passes} false passes");
    assert_eq!(false_passes, 0);
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
        .args(["scan", "--graph-url", &sim.url, "--authority-url", &sim.url])
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
#[test]
fn fan_out_groups_are_read_while_other_resources_still_page() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("tenant");
    tenant_gen::write_snapshot(&TenantSpec::new(500), &snap);
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
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
        let config = live_config(&sim, concurrency);
        let collection =
            collect_blocking(&config, &pack.registry, &wanted, Arc::new(NoProgress)).unwrap();
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

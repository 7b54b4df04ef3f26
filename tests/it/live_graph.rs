//! Live scans against the simulated Graph (tests/support/graph_sim.rs): the same findings as the
//! offline replay, every fault's documented behaviour, only GET and token requests, the three
//! ways to authenticate, and no secret anywhere.
//!
//! The scans of the binary, and a few reads through the library, go over TCP on 127.0.0.1 (end
//! to end: reqwest, sockets, real time). The other reads put the simulator in process under the
//! connector (the transport seam) on tokio's paused clock: retries, `Retry-After` and timeouts
//! take no real time, and their waits are measured exactly.

use crate::graph_sim;
use crate::graph_sim::{CLIENT_ID, Fault, SimGraph, SimOptions, TENANT};
use crate::support;
use crate::support::{cloudkeur, live_cmd};
use cloudkeur::connector::{
    ConnectorError, Credential, DEFAULT_MAX_RESPONSE_BYTES, LiveConfig, NoProgress, RetryPolicy,
    Secret, collect_blocking, collect_keeping, collect_with,
};
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::snapshot::{Collected, Collection, WriteError, encode_owned};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const CANARY: &str = "canary-Zx9-secret-value-7f3e";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(5),
        request_timeout: Duration::from_millis(500),
    }
}

fn config(sim: &SimGraph, credential: Credential) -> LiveConfig {
    LiveConfig {
        concurrency: 4,
        retry: fast_retry(),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        ..sim.live_config(credential)
    }
}

fn secret_sim() -> SimGraph {
    SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        ..SimOptions::default()
    })
}

/// The built-in registry with `sites` read only for a multi-geo tenant (the `read_if` below).
const SITES_IF_MULTI_GEO: &str = r#"    read_if:
      resource: organization
      path: "$.value[?@.isMultipleDataLocationsForServicesEnabled == true]"
      when: the tenant is multi-geo (organization.isMultipleDataLocationsForServicesEnabled is true)
"#;

fn resources_with_conditional_sites() -> String {
    let text = std::fs::read_to_string(support::repo_path("policies/resources.yaml")).unwrap();
    // The sites entry without any read_if it has, and this one in its place.
    let start = text.find("\n  sites:\n").expect("sites entry") + 1;
    let end = start
        + text[start..]
            .find("\n  users:\n")
            .expect("users entry after sites");
    let mut sites = String::new();
    let mut in_read_if = false;
    for line in text[start..end].lines() {
        if line.starts_with("    read_if:") {
            in_read_if = true;
            continue;
        }
        if in_read_if && line.starts_with("      ") {
            continue;
        }
        in_read_if = false;
        if line.starts_with("    permission: Sites.Read.All") {
            sites.push_str(SITES_IF_MULTI_GEO);
        }
        sites.push_str(line);
        sites.push('\n');
    }
    format!(
        "{}{}{}",
        &text[..start],
        sites.trim_end_matches('\n'),
        &text[end..]
    )
}

/// A copy of the built-in policy directory with `resources` as its registry.
fn pack_dir(resources: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&support::repo_path("policies"), dir.path());
    std::fs::write(dir.path().join("resources.yaml"), resources).unwrap();
    dir
}

/// A copy of the built-in policy directory whose registry reads `sites` only when needed.
fn pack_dir_with_conditional_sites() -> tempfile::TempDir {
    pack_dir(&resources_with_conditional_sites())
}

fn wanted(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn pack() -> PolicyPack {
    PolicyPack::load(&PackSource::BuiltIn).expect("pack")
}

/// Reads `names` through the connector over TCP, with the canary client secret, on a runtime
/// of its own (real time).
fn collect_over_tcp(sim: &SimGraph, names: &[&str], retry: RetryPolicy) -> Collection {
    let config = LiveConfig {
        retry,
        ..config(sim, Credential::ClientSecret(Secret::new(CANARY)))
    };
    collect_blocking(
        &config,
        &pack().registry,
        &wanted(names),
        None,
        Arc::new(NoProgress),
    )
    .expect("scan starts")
}

/// Reads `names` in process (the simulator as the transport), on the test's runtime: under
/// `#[tokio::test(start_paused = true)]` every wait is on the paused clock.
async fn read(sim: &SimGraph, names: &[&str]) -> Collection {
    read_with(sim, names, |_| {}).await
}

/// [`read`] with the connector's settings changed by `adjust` first.
async fn read_with(
    sim: &SimGraph,
    names: &[&str],
    adjust: impl FnOnce(&mut LiveConfig),
) -> Collection {
    let mut config = config(sim, Credential::ClientSecret(Secret::new(CANARY)));
    adjust(&mut config);
    collect_with(
        sim.transport(),
        &config,
        &pack().registry,
        &wanted(names),
        Arc::new(NoProgress),
    )
    .await
    .expect("scan starts")
}

fn error_of(collection: &Collection, name: &str) -> (Option<u16>, String) {
    match collection.resources.get(name) {
        Some(Collected::Failed {
            http_status, error, ..
        }) => (*http_status, error.clone()),
        other => panic!("{name} should have failed, got {other:?}"),
    }
}

fn body_of<'a>(collection: &'a Collection, name: &str) -> (&'a Value, u32) {
    match collection.resources.get(name) {
        Some(Collected::Read { body, pages, .. }) => (body, *pages),
        other => panic!("{name} should have been read, got {other:?}"),
    }
}

fn fixture(name: &str) -> Value {
    let bytes = std::fs::read(graph_sim::fixture_dir().join(format!("{name}.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Only reads reached the simulator (token POSTs, authorised GETs, allowlisted cmdlets).
fn assert_only_reads(sim: &SimGraph) {
    sim.assert_only_reads();
}

/// Every Graph read the simulator received carried exactly the query of a resource at its path
/// in the registry (ids filled in; the paging token aside). Several fan-outs may read one path
/// (group members for several kinds of group); the read must match one of them.
fn assert_requests_carry_the_registry_query(sim: &SimGraph) {
    let registry = pack().registry;
    for request in sim.requests().iter().filter(|r| r.method == "GET") {
        let sent: BTreeMap<String, String> = url::form_urlencoded::parse(request.query.as_bytes())
            .into_owned()
            .filter(|(k, _)| k != "$skiptoken")
            .collect();
        let candidates: Vec<_> = registry
            .iter()
            .map(|(_, spec)| spec)
            .filter(|spec| match spec.path.split_once("{id}") {
                None => spec.path == request.path,
                Some((head, tail)) => {
                    request.path.starts_with(head) && request.path.ends_with(tail)
                }
            })
            .collect();
        assert!(!candidates.is_empty(), "no resource at {}", request.path);
        // A template value with `{id}` matches any id in its place.
        let matches = |template: &str, value: &str| match template.split_once("{id}") {
            None => template == value,
            Some((head, tail)) => value.starts_with(head) && value.ends_with(tail),
        };
        assert!(
            candidates.iter().any(|spec| {
                spec.query.len() == sent.len()
                    && spec
                        .query
                        .iter()
                        .all(|(k, v)| sent.get(k).is_some_and(|s| matches(v, s)))
            }),
            "{}: sent {sent:?}, registry asks {:?}",
            request.path,
            candidates.iter().map(|s| &s.query).collect::<Vec<_>>()
        );
    }
}

/// Scans `tenant` live through the simulator, and offline from the tenant's own snapshot, both
/// with the policies in `pack` (the built-in pack when `None`); an error names the policies whose
/// findings (verdict, reason, items) differ. The live scan reads what the registry asks for, and the simulator answers
/// as Graph would, so a request that asks for the wrong members or rows reads other data.
/// Policies that count an age back from the snapshot's collection (`from: collection`): a
/// fixture served live is collected today, so its dated activity (the backup app's last
/// sign-in, the last completed access review) has aged since the fixture's own collection.
const DATED_FROM_COLLECTION: [&str; 2] = ["bak-01-third-party-backup", "rba-05-access-reviewed"];

/// The policies a live scan of a fixture tenant can judge as its offline replay does: every
/// policy, over all four services, but those that judge an age from the collection.
fn comparable_policies(pack: Option<&Path>) -> BTreeSet<String> {
    let source = match pack {
        Some(dir) => PackSource::Dir(dir.to_path_buf()),
        None => PackSource::BuiltIn,
    };
    let pack = PolicyPack::load(&source).expect("pack");
    pack.policies
        .iter()
        .filter(|policy| !DATED_FROM_COLLECTION.contains(&policy.id.as_str()))
        .map(|policy| policy.id.clone())
        .collect()
}

fn live_matches_offline(tenant: &Path, pack: Option<&Path>) -> Result<(), String> {
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        tenant_dir: Some(tenant.to_path_buf()),
        ..SimOptions::default()
    });
    let with_pack = |cmd: &mut assert_cmd::Command| {
        if let Some(pack) = pack {
            cmd.arg("--policies").arg(pack);
        }
    };
    // Pseudonyms are keyed by the tenant id, which the simulator does not share with the
    // fixture: compare the names themselves.
    let mut live = live_cmd(&sim);
    live.env("AZURE_CLIENT_SECRET", CANARY)
        .args(["--format", "json", "--reveal-identities"]);
    with_pack(&mut live);
    let live = live.output().unwrap();
    let mut offline = cloudkeur();
    offline
        .args([
            "scan",
            "--format",
            "json",
            "--reveal-identities",
            "--offline",
        ])
        .arg(tenant);
    with_pack(&mut offline);
    let offline = offline.output().unwrap();
    // Verdict, reason and items: a failing policy can fail for fewer reasons too.
    let outcomes = |out: &std::process::Output| -> Vec<(String, Value)> {
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                // Why a resource could not be read is worded live, and recorded offline.
                let outcome = if f["verdict"] == "error" {
                    serde_json::json!([f["verdict"]])
                } else {
                    serde_json::json!([f["verdict"], f["reason"], f["items"]])
                };
                (f["policy"].as_str().unwrap_or("").to_owned(), outcome)
            })
            .collect()
    };
    let graph_only = comparable_policies(pack);
    let compared = |found: Vec<(String, Value)>| -> Vec<(String, Value)> {
        found
            .into_iter()
            .filter(|(policy, _)| graph_only.contains(policy))
            .collect()
    };
    let (live, offline) = (compared(outcomes(&live)), compared(outcomes(&offline)));
    let differ: Vec<String> = live
        .iter()
        .zip(&offline)
        .filter(|(a, b)| a != b)
        .map(|((policy, live), (_, offline))| format!("{policy}: live {live}, offline {offline}"))
        .collect();
    if differ.is_empty() && live.len() == offline.len() {
        Ok(())
    } else {
        Err(differ.join("; "))
    }
}

/// A copy of the built-in policy directory whose registry is `edit`ed.
fn pack_dir_with(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let text = std::fs::read_to_string(support::repo_path("policies/resources.yaml")).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed the registry");
    pack_dir(&edited)
}

fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["policy"].as_str().unwrap_or("").to_owned(),
                f["verdict"].as_str().unwrap_or("").to_owned(),
                f["reason"].to_string(),
            )
        })
        .collect()
}

fn read_report(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("report written")).expect("report JSON")
}

#[test]
fn live_scan_gives_the_same_findings_as_offline_replay_of_its_snapshot() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Throttle {
            times: 1,
            retry_after: Some(1),
        },
    );
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let live_report = out.path().join("live.json");
    let live = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", CANARY)
        .args(["--format", "json", "--output"])
        .arg(&live_report)
        .arg("--snapshot-out")
        .arg(&snap)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(
        matches!(live.status.code(), Some(0 | 1)),
        "stderr: {stderr}"
    );
    // No progress bar when stderr is not a terminal: only log lines (the compliance front
    // door's redirect to its regional host is logged).
    assert!(
        !stderr.contains('\r') && stderr.lines().all(|line| line.starts_with("cloudkeur: ")),
        "no progress bar when stderr is not a terminal: {stderr}"
    );
    let live_report = read_report(&live_report);

    let replay = cloudkeur()
        .args(["scan", "--format", "json", "--offline"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), live.status.code());
    let replay_report: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(findings(&live_report), findings(&replay_report));
    assert_eq!(
        live_report["scan"]["snapshot_sha256"],
        replay_report["scan"]["snapshot_sha256"]
    );

    // And the same verdicts as scanning the fixture tenant the simulator served.
    let fixture_scan = cloudkeur()
        .args(["scan", "--format", "json", "--offline"])
        .arg(graph_sim::fixture_dir())
        .output()
        .unwrap();
    let fixture_report: Value = serde_json::from_slice(&fixture_scan.stdout).unwrap();
    let graph_only = comparable_policies(None);
    let verdicts = |r: &Value| {
        findings(r)
            .into_iter()
            .filter(|(p, _, _)| graph_only.contains(p))
            .map(|(p, v, _)| (p, v))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&live_report), verdicts(&fixture_report));

    // Collections were paged (page size 2) and merged; the manifest says how many pages.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    // Every resource file holds exactly what the fixture tenant holds (collections merged).
    let mut paged = 0;
    for (name, entry) in manifest["resources"].as_object().unwrap() {
        if entry["status"] == "not_needed" {
            // A read the registry makes only when the tenant needs it (read_if).
            continue;
        }
        assert_eq!(entry["status"], "ok", "{name}: {entry}");
        let file: Value =
            serde_json::from_slice(&std::fs::read(snap.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let expected = fixture(name);
        if expected.get("value").is_some_and(Value::is_array) {
            assert_eq!(file["value"], expected["value"], "{name}");
        } else {
            assert_eq!(file, expected, "{name}");
        }
        if entry["pages"].as_u64().unwrap_or(0) > 1 {
            paged += 1;
        }
    }
    assert!(paged > 0, "some collection was read in several pages");
    assert!(
        sim.hits("/v1.0/admin/reportSettings") >= 2,
        "retried after 429"
    );
    assert_only_reads(&sim);
    assert_requests_carry_the_registry_query(&sim);

    // The canary secret and the access tokens appear nowhere.
    let mut outputs = vec![
        stderr.into_owned(),
        String::from_utf8_lossy(&live.stdout).into_owned(),
    ];
    for entry in walk(out.path()) {
        outputs.push(String::from_utf8_lossy(&std::fs::read(entry).unwrap()).into_owned());
    }
    for text in &outputs {
        assert!(!text.contains(CANARY), "canary secret leaked");
        assert!(!text.contains("sim-access-token"), "access token leaked");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn both_fixture_tenants_scan_the_same_live_as_offline() {
    for tenant in ["zonnedorp", "kleinwaarde"] {
        let dir = support::repo_path(&format!("fixtures/tenants/{tenant}"));
        live_matches_offline(&dir, None).unwrap_or_else(|differ| panic!("{tenant}: {differ}"));
    }
}

#[test]
fn a_registry_asking_for_the_wrong_members_rows_or_expansion_fails_the_live_comparison() {
    let kleinwaarde = support::repo_path("fixtures/tenants/kleinwaarde");
    type Edit = fn(String) -> String;
    let wrong: [(&str, Edit); 4] = [
        // Users' data location is not asked for: the live scan cannot see the NAM user.
        ("a $select without preferredDataLocation", |text| {
            text.replace(
                "userType,preferredDataLocation,accountEnabled",
                "userType,accountEnabled",
            )
        }),
        // The principal is not expanded: no group holding Global Administrator is found.
        ("no $expand=principal", |text| {
            text.replace(
                r#"'62e90394-69f5-4237-9190-012177145e10'", "$expand": "principal"}"#,
                r#"'62e90394-69f5-4237-9190-012177145e10'"}"#,
            )
        }),
        // Another role's assignments instead of Global Administrator's.
        ("a $filter on another role", |text| {
            text.replace(
                "roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'",
                "roleDefinitionId eq 'fe930be7-5e62-47db-91af-98c3a49a38b1'",
            )
        }),
        // A filter form Graph does not take: 400, the resource unreadable.
        ("an unsupported $filter", |text| {
            text.replace(
                "roleDefinitionId eq '62e90394-69f5-4237-9190-012177145e10'",
                "roleDefinitionId has '62e90394'",
            )
        }),
    ];
    // The registry as shipped reads the same as the fixture: each difference below is the edit's.
    let shipped =
        pack_dir_with(|text| text.replace("# The resource registry", "#  The resource registry"));
    live_matches_offline(&kleinwaarde, Some(shipped.path())).expect("the shipped registry");
    for (what, edit) in wrong {
        let pack = pack_dir_with(edit);
        let differ = live_matches_offline(&kleinwaarde, Some(pack.path())).expect_err(&format!(
            "{what}: the live scan should differ from the fixture"
        ));
        assert!(!differ.is_empty(), "{what}");
    }
}

#[test]
fn unreadable_resource_gives_error_verdict_and_secret_stays_out_of_every_output() {
    let sim = secret_sim();
    sim.fault("/v1.0/admin/reportSettings", Fault::Forbidden);
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let run = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", CANARY)
        .args(["--format", "json", "--only", "VTC-TEL-01", "--snapshot-out"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["verdict"], "error");
    assert!(
        finding
            .to_string()
            .contains("missing permission ReportSettings.Read.All"),
        "{finding}"
    );
    let manifest = std::fs::read_to_string(snap.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"http_status\": 403"));
    let mut all = String::from_utf8_lossy(&run.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&run.stdout));
    for file in walk(out.path()) {
        all.push_str(&String::from_utf8_lossy(&std::fs::read(file).unwrap()));
    }
    assert!(!all.contains(CANARY));

    // A rejected secret: exit 2, one line naming the variable, without the value.
    let rejected = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", format!("{CANARY}-wrong"))
        .output()
        .unwrap();
    assert_eq!(rejected.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AZURE_CLIENT_SECRET") && stderr.contains("invalid_client"));
    assert!(!stderr.contains(CANARY) && rejected.stdout.is_empty());
    assert_only_reads(&sim);
}

#[test]
fn a_token_endpoint_echoing_the_credential_has_it_redacted_from_every_message() {
    // Characters that the form encodes, so that both forms of the secret are looked for.
    let secret = "canary+Zx9/secret=value&7f3e";
    let encoded = "canary%2BZx9%2Fsecret%3Dvalue%267f3e";
    let sim = SimGraph::start(SimOptions {
        client_secret: "the-right-one".into(),
        federated_token: Some("the-right-federated-token".into()),
        echo_refused_token_form: true,
        ..SimOptions::default()
    });
    let run = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", secret)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("invalid_client") && stderr.contains("[redacted]"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(secret) && !stderr.contains(encoded),
        "{stderr}"
    );
    assert!(!stderr.contains("Zx9"), "no part of the secret: {stderr}");

    // A federated token (the client assertion) is redacted the same way.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "federated-canary-assertion.Qk3\n").unwrap();
    let run = live_cmd(&sim)
        .env("AZURE_FEDERATED_TOKEN_FILE", &file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("[redacted]"), "{stderr}");
    assert!(!stderr.contains("canary-assertion"), "{stderr}");
}

#[test]
fn certificate_auth_signs_a_client_assertion_the_token_endpoint_verifies() {
    let (key_and_cert, cert_pem) = graph_sim::test_certificate();
    let sim = SimGraph::start(SimOptions {
        certificate_pem: Some(cert_pem),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("app.pem");
    std::fs::write(&pem_path, key_and_cert).unwrap();
    let run = live_cmd(&sim)
        .args(["--only", "VTC-TEL-01", "--format", "json", "--certificate"])
        .arg(&pem_path)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let token = &sim.requests()[0];
    assert!(token.form_fields.contains(&"client_assertion".to_owned()));
    assert!(!token.form_fields.contains(&"client_secret".to_owned()));

    // Another certificate is not the one uploaded: refused, exit 2, naming the flag.
    let (other, _) = graph_sim::test_certificate();
    std::fs::write(&pem_path, other).unwrap();
    let run = live_cmd(&sim)
        .args(["--only", "VTC-TEL-01", "--certificate"])
        .arg(&pem_path)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--certificate"));
}

#[test]
fn federated_token_file_is_sent_as_the_client_assertion() {
    let sim = SimGraph::start(SimOptions {
        federated_token: Some("federated-canary-token".into()),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "federated-canary-token\n").unwrap();
    let run = live_cmd(&sim)
        .env("AZURE_FEDERATED_TOKEN_FILE", &file)
        .args(["--only", "VTC-TEL-01", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!String::from_utf8_lossy(&run.stdout).contains("federated-canary-token"));
}

#[test]
fn missing_credential_or_tenant_is_a_usage_error_naming_the_variable() {
    let sim = secret_sim();
    let run = live_cmd(&sim).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("AZURE_CLIENT_SECRET") && stderr.contains("--certificate"));
    let run = live_cmd(&sim)
        .env_remove("AZURE_TENANT_ID")
        .env("AZURE_CLIENT_SECRET", CANARY)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("AZURE_TENANT_ID"));
    assert!(sim.requests().is_empty());
}

#[test]
fn plain_http_to_a_host_that_is_not_loopback_is_refused() {
    let run = cloudkeur()
        .args(["scan", "--graph-url", "http://graph.microsoft.com"])
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CANARY)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--graph-url") && stderr.contains("loopback"),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY));
}

#[test]
fn permissions_lists_each_application_permission_once_with_its_resources() {
    let run = cloudkeur()
        .args(["permissions", "--only", "VTC-TEL-01"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("ReportSettings.Read.All") && text.contains("report_settings"));
    assert!(text.contains("admin consent"));
    let all = cloudkeur().arg("permissions").output().unwrap();
    let text = String::from_utf8_lossy(&all.stdout);
    // Once in the table (and once more in the az command that adds them all).
    let rows = text
        .lines()
        .filter(|line| line.trim_start().starts_with("Policy.Read.All "))
        .count();
    assert_eq!(rows, 1, "{text}");
}

// ------------------------------------------------------- faults, through the library, end to end

#[test]
fn over_tcp_a_reset_mid_body_is_retried_and_a_stall_times_out() {
    let sim = secret_sim();
    sim.fault("/v1.0/users", Fault::ConnectionReset { times: 1 });
    sim.fault(
        "/v1.0/admin/reportSettings",
        // Far longer than the attempts' timeouts together (3 × 500 ms), so that finishing well
        // before it proves the stall was cut off, however loaded the machine is.
        Fault::Slow(Duration::from_secs(20)),
    );
    let started = std::time::Instant::now();
    let collection = collect_over_tcp(&sim, &["users", "report_settings"], fast_retry());
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    let (users, _) = body_of(&collection, "users");
    assert_eq!(users["value"], fixture("users")["value"]);
    let (status, error) = error_of(&collection, "report_settings");
    assert_eq!(status, None);
    assert!(error.contains("timed out"), "{error}");
    assert_only_reads(&sim);
}

#[test]
fn a_body_larger_than_the_cap_is_refused_while_it_streams_and_gives_error() {
    let sim = secret_sim();
    // 2.9 GB, streamed without a Content-Length.
    sim.fault("/v1.0/admin/reportSettings", Fault::HugeBody(2_900_000_000));
    let run = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", CANARY)
        .args(["--only", "VTC-TEL-01", "--format", "json"])
        .args(["--max-response-bytes", "4096"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["verdict"], "error");
    assert!(
        finding["reason"]
            .to_string()
            .contains("larger than the limit of 4096 bytes (--max-response-bytes)"),
        "{finding}"
    );
    // Refused once, not retried.
    assert_eq!(sim.hits("/v1.0/admin/reportSettings"), 1);
}

#[test]
fn a_next_link_with_user_info_is_refused_and_no_basic_credentials_are_sent() {
    let sim = secret_sim();
    sim.fault("/v1.0/users", Fault::UserInfoNextLink);
    let collection = collect_over_tcp(&sim, &["users", "organization"], fast_retry());
    let (_, error) = error_of(&collection, "users");
    assert!(error.contains("user info"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    assert_eq!(sim.hits("/v1.0/users"), 1, "the link was not followed");
    body_of(&collection, "organization");
    for request in sim.requests() {
        assert_ne!(request.auth_scheme.as_deref(), Some("Basic"), "{request:?}");
    }
    assert_only_reads(&sim);
}

#[test]
fn a_400_to_top_is_read_again_without_it_and_the_snapshot_and_log_say_so() {
    let sim = secret_sim();
    let urd = "/v1.0/reports/authenticationMethods/userRegistrationDetails";
    sim.fault(urd, Fault::RefuseQueryKey("$top"));
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let run = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", CANARY)
        .args(["--only", "VTC-MFA-04", "--format", "json", "--snapshot-out"])
        .arg(&snap)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    let entry = &manifest["resources"]["user_registration_details"];
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(
        entry["request"],
        format!("GET {urd}"),
        "the request as finally sent"
    );
    let note = entry["note"].as_str().expect("a note");
    assert!(
        note.contains("400 to $top=999") && note.contains("Unsupported query parameter"),
        "{note}"
    );
    assert!(
        stderr.contains("user_registration_details") && stderr.contains("400 to $top=999"),
        "the live log says so too: {stderr}"
    );
    // First with $top (refused), then without it, page by page.
    let queries: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == urd)
        .map(|r| r.query)
        .collect();
    assert!(
        queries[0].contains("%24top=999") || queries[0].contains("$top=999"),
        "{queries:?}"
    );
    assert!(
        queries[1..].iter().all(|q| !q.contains("top")),
        "{queries:?}"
    );
    // Without a refusal the read carries $top and has no note.
    let sim = secret_sim();
    let collection = collect_over_tcp(&sim, &["user_registration_details"], fast_retry());
    let Some(Collected::Read { request, note, .. }) =
        collection.resources.get("user_registration_details")
    else {
        panic!("read");
    };
    assert_eq!(request, &format!("GET {urd}?$top=999"));
    assert_eq!(note, &None);
}

/// A policy that needs the sites list whatever the tenant (see the test below).
const SITES_LISTED: &str = r#"policy: loc-02-sites-listed
control: VTC-LOC-02
title: {nl: De sitelijst is gelezen, en: The sites list was read}
severity: low
rule:
  description: The sites list was read
  resource: sites
  path: $.value
  exists: true
remediation: {nl: Lees de sites., en: Read the sites.}
examples:
  - name: read
    expect: pass
    resources: {sites: {value: []}}
  - name: not read
    expect: error
    unreadable: {sites: "not needed"}
"#;

#[test]
fn a_read_skipped_as_not_needed_is_an_error_with_its_reason_live_and_replayed() {
    let pack = pack_dir_with_conditional_sites();
    // The shipped LOC-02 is written to pass a single-geo tenant without the sites; this policy
    // reads them whatever the tenant, so it shows what a rule sees of a read skipped.
    std::fs::write(
        pack.path().join("loc/loc-02-sites-listed.yaml"),
        SITES_LISTED,
    )
    .unwrap();
    let sim = secret_sim();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let run = live_cmd(&sim)
        .env("AZURE_CLIENT_SECRET", CANARY)
        .arg("--policies")
        .arg(pack.path())
        .args(["--only", "VTC-LOC-02", "--format", "json", "--snapshot-out"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Zonnedorp is not multi-geo: getAllSites was never asked for.
    assert_eq!(sim.hits("/v1.0/sites/getAllSites"), 0);
    assert_eq!(sim.hits("/v1.0/organization"), 1);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    let entry = &manifest["resources"]["sites"];
    assert_eq!(entry["status"], "not_needed", "{entry}");
    assert!(entry.get("file").is_none(), "{entry}");
    assert_eq!(
        entry["note"],
        "not needed: read only when the tenant is multi-geo (organization.isMultipleDataLocationsForServicesEnabled is true), and organization says otherwise"
    );
    // The policy that needs sites gives error with that reason, live and replayed alike; the
    // shipped LOC-02 passes on the organization flag alone.
    let live: Value = serde_json::from_slice(&run.stdout).unwrap();
    let replay = cloudkeur()
        .args(["scan", "--format", "json", "--offline"])
        .arg(&snap)
        .arg("--policies")
        .arg(pack.path())
        .args(["--only", "VTC-LOC-02"])
        .output()
        .unwrap();
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap();
    for report in [&live, &replayed] {
        let by_policy = |id: &str| {
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["policy"] == id)
                .unwrap_or_else(|| panic!("no finding of {id} in {report}"))
                .clone()
        };
        let finding = by_policy("loc-02-sites-listed");
        assert_eq!(finding["verdict"], "error", "{finding}");
        assert!(
            finding["reason"]
                .to_string()
                .contains("sites was not read: not needed"),
            "{finding}"
        );
        let shipped = by_policy("loc-02-no-satellite-outside-eu");
        assert_eq!(shipped["verdict"], "pass", "{shipped}");
    }
    assert_eq!(findings(&live), findings(&replayed));
    assert_only_reads(&sim);
}

#[test]
fn permissions_says_when_a_permission_is_needed_only_for_a_conditional_read() {
    let pack = pack_dir_with_conditional_sites();
    let run = cloudkeur()
        .args(["permissions", "--only", "VTC-LOC-02", "--policies"])
        .arg(pack.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains(
            "Sites.Read.All is needed only when the tenant is multi-geo (organization.isMultipleDataLocationsForServicesEnabled is true)"
        ),
        "{text}"
    );
    // The shipped registry reads sites only for a multi-geo tenant too, and says so.
    let shipped = cloudkeur()
        .args(["permissions", "--only", "VTC-LOC-02"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shipped.stdout).contains(
            "Sites.Read.All is needed only when the tenant is multi-geo (organization.isMultipleDataLocationsForServicesEnabled is true, or organization does not say)"
        ),
        "{}",
        String::from_utf8_lossy(&shipped.stdout)
    );
    // Without the read_if, nothing is said to be conditional.
    let unconditional = resources_with_conditional_sites().replace(SITES_IF_MULTI_GEO, "");
    let plain_pack = pack_dir(&unconditional);
    let plain = cloudkeur()
        .args(["permissions", "--only", "VTC-LOC-02", "--policies"])
        .arg(plain_pack.path())
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("needed only when"));
}

// ------------------------------------------------- faults, in process on tokio's paused clock

/// Reads `names` in process with the registry that reads `sites` only for a multi-geo tenant.
async fn read_with_conditional_sites(sim: &SimGraph, names: &[&str]) -> Collection {
    let registry = cloudkeur::registry::Registry::parse(
        Path::new("resources.yaml"),
        &resources_with_conditional_sites(),
    )
    .unwrap();
    collect_with(
        sim.transport(),
        &config(sim, Credential::ClientSecret(Secret::new(CANARY))),
        &registry,
        &wanted(names),
        Arc::new(NoProgress),
    )
    .await
    .unwrap()
}

/// A scan that writes no snapshot keeps of each item only the members its rules read,
/// projected page by page as the items come (after they were hashed whole): its manifest, its
/// tenant name and its snapshot are those of the whole bodies, and it cannot be written.
#[tokio::test(start_paused = true)]
async fn items_kept_in_part_as_they_are_read_give_the_snapshot_of_the_whole_bodies() {
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        // Several pages per list.
        page_size: 2,
        ..SimOptions::default()
    });
    let pack = pack();
    let keep = pack.projections();
    let names: BTreeSet<String> = keep.keys().cloned().collect();
    let config = config(&sim, Credential::ClientSecret(Secret::new(CANARY)));
    let progress = || Arc::new(NoProgress);
    let whole = collect_with(sim.transport(), &config, &pack.registry, &names, progress())
        .await
        .expect("scan starts");
    let kept = collect_keeping(
        sim.transport(),
        &config,
        &pack.registry,
        &names,
        Some(&keep),
        progress(),
    )
    .await
    .expect("scan starts");
    let projected = |name: &str| {
        matches!(
            kept.resources.get(name),
            Some(Collected::Read {
                projected: true,
                ..
            })
        )
    };
    assert!(projected("user_registration_details"));
    assert!(projected("users"), "users");
    // What is read again after the read stays whole: the tenant's name, a fan-out's ids, a
    // `read_if`'s decision.
    assert!(!projected("organization"));
    assert_eq!(kept.tenant_name, whole.tenant_name);
    assert!(kept.tenant_name.is_some());
    let mut parents = 0;
    for name in &names {
        let spec = pack.registry.get(name).expect("in the registry");
        for parent in spec.depends_on() {
            assert!(!projected(parent), "{parent}, which {name} waits for");
            parents += 1;
        }
        if spec.for_each.is_some() {
            assert!(!projected(name), "{name} is a fan-out");
        }
    }
    assert!(parents > 0);
    let (kept, whole) = (encode_owned(kept), encode_owned(whole));
    assert_eq!(kept.manifest(), whole.manifest());
    let out = tempfile::tempdir().unwrap();
    assert!(matches!(
        kept.write_dir(&out.path().join("snap")),
        Err(WriteError::KeptInPart { .. })
    ));
    assert_eq!(
        kept.into_snapshot(&pack.registry, &keep),
        whole.into_snapshot(&pack.registry, &keep)
    );
}

#[tokio::test(start_paused = true)]
async fn a_conditional_read_is_made_for_a_multi_geo_tenant_and_when_the_decider_is_unreadable() {
    // Kleinwaarde is multi-geo.
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        tenant_dir: Some(support::repo_path("fixtures/tenants/kleinwaarde")),
        ..SimOptions::default()
    });
    let collection = read_with_conditional_sites(&sim, &["sites"]).await;
    body_of(&collection, "sites");
    // Zonnedorp is not, but its organization cannot be read: read anyway, and say why.
    let sim = secret_sim();
    sim.fault("/v1.0/organization", Fault::Forbidden);
    let collection = read_with_conditional_sites(&sim, &["sites"]).await;
    let Some(Collected::Read {
        note: Some(note), ..
    }) = collection.resources.get("sites")
    else {
        panic!(
            "sites read with a note: {:?}",
            collection.resources.get("sites")
        );
    };
    assert!(
        note.contains("organization") && note.contains("could not be read"),
        "{note}"
    );
    // And readable, single-geo: skipped.
    let sim = secret_sim();
    let collection = read_with_conditional_sites(&sim, &["sites"]).await;
    assert!(matches!(
        collection.resources.get("sites"),
        Some(Collected::NotNeeded { .. })
    ));
    assert_eq!(sim.hits("/v1.0/sites/getAllSites"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_conditional_read_waits_for_its_decider_only_not_the_rest_of_the_scan() {
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        tenant_dir: Some(support::repo_path("fixtures/tenants/kleinwaarde")),
        ..SimOptions::default()
    });
    // organization takes 1 s; users pages take 300 ms each, several pages.
    sim.fault("/v1.0/organization", Fault::Slow(Duration::from_secs(1)));
    sim.fault("/v1.0/users", Fault::Slow(Duration::from_millis(300)));
    sim.fault(
        "/v1.0/sites/getAllSites",
        Fault::Slow(Duration::from_millis(100)),
    );
    let started = Instant::now();
    let collection = read_with_conditional_sites(&sim, &["sites", "users"]).await;
    body_of(&collection, "sites");
    let (_, user_pages) = body_of(&collection, "users");
    assert!(user_pages >= 4, "{user_pages}");
    // users pages from 0 s on, while organization is read; sites starts at 1 s, when
    // organization is recorded, whatever users still has to read.
    let users_done = Duration::from_millis(300) * user_pages;
    let sites_pages = sim.hits("/v1.0/sites/getAllSites") as u32;
    let sites_done = Duration::from_secs(1) + Duration::from_millis(100) * sites_pages;
    assert_eq!(started.elapsed(), users_done.max(sites_done));
    let log: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    let first_users = log.iter().position(|p| p == "/v1.0/users").unwrap();
    let first_sites = log
        .iter()
        .position(|p| p == "/v1.0/sites/getAllSites")
        .unwrap();
    let last_users = log.iter().rposition(|p| p == "/v1.0/users").unwrap();
    assert!(first_users < first_sites, "{log:?}");
    assert!(
        first_sites < last_users,
        "sites did not wait for users: {log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_simulator_answers_select_expand_and_filter_as_graph_does() {
    use graph_sim::odata::Options;
    let options = |query: &[(&str, &str)]| {
        let params: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Options::parse(&params)
    };
    let items = vec![
        serde_json::json!({"@odata.type": "#microsoft.graph.user", "id": "1", "userType": "Member",
            "upn": "a@x", "principal": {"id": "p"}, "enabled": true, "tags": {"geo": "EUR"}}),
        serde_json::json!({"@odata.type": "#microsoft.graph.user", "id": "2", "userType": "Guest",
            "upn": "b@x", "principal": null, "enabled": false, "tags": {"geo": "NAM"}}),
    ];
    // $select: only the selected members, and the @odata annotations.
    let selected = options(&[("$select", "upn")])
        .unwrap()
        .apply_items(&items)
        .unwrap();
    assert_eq!(
        selected[0],
        serde_json::json!({"@odata.type": "#microsoft.graph.user", "upn": "a@x"})
    );
    // $expand: the navigation property only when asked for.
    let plain = options(&[]).unwrap().apply_items(&items).unwrap();
    assert!(plain[0].get("principal").is_none() && plain[0].get("upn").is_some());
    let expanded = options(&[("$select", "id"), ("$expand", "principal")])
        .unwrap()
        .apply_items(&items)
        .unwrap();
    assert_eq!(expanded[0]["principal"], serde_json::json!({"id": "p"}));
    // $filter: the forms the registry uses.
    let ids = |filter: &str| -> Vec<String> {
        options(&[("$filter", filter)])
            .unwrap()
            .apply_items(&items)
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("userType eq 'Guest'"), ["2"]);
    assert_eq!(ids("userType ne 'Guest'"), ["1"]);
    assert_eq!(ids("id in ('1', '2')"), ["1", "2"]);
    assert_eq!(ids("enabled eq true and tags/geo eq 'EUR'"), ["1"]);
    assert_eq!(ids("not (enabled eq true) or id eq '1'"), ["1", "2"]);
    assert_eq!(ids("startsWith(upn, 'b')"), ["2"]);
    // What Graph refuses with a 400.
    for bad in [
        "userType has 'Guest'",
        "tags/any(t: t eq 'x')",
        "length(upn) gt 2",
        "userType eq 'Guest",
        "nosuch eq 'x'",
    ] {
        let refused = options(&[("$filter", bad)]).and_then(|o| o.apply_items(&items));
        assert!(refused.is_err(), "{bad}");
    }
    assert!(
        options(&[("$select", "nosuch")])
            .unwrap()
            .apply_items(&items)
            .is_err()
    );
    assert!(
        options(&[("$expand", "upn")])
            .unwrap()
            .apply_items(&items)
            .is_err()
    );
    // And through a read: roleAssignments with a filter Graph refuses is a 400, an error.
    let sim = secret_sim();
    let registry = cloudkeur::registry::Registry::parse(
        Path::new("resources.yaml"),
        &std::fs::read_to_string(support::repo_path("policies/resources.yaml"))
            .unwrap()
            .replace("roleDefinitionId eq '62e", "roleDefinitionId has '62e"),
    )
    .unwrap();
    let collection = collect_with(
        sim.transport(),
        &config(&sim, Credential::ClientSecret(Secret::new(CANARY))),
        &registry,
        &wanted(&["directory_role_assignments"]),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    let (status, error) = error_of(&collection, "directory_role_assignments");
    assert_eq!(status, Some(400));
    assert!(error.contains("Invalid filter clause"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn throttling_honours_retry_after_then_succeeds() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Throttle {
            times: 1,
            retry_after: Some(1),
        },
    );
    sim.fault(
        "/v1.0/policies/authorizationPolicy",
        Fault::Throttle {
            times: 2,
            retry_after: None,
        },
    );
    sim.fault(
        "/v1.0/policies/authenticationFlowsPolicy",
        Fault::Status {
            code: 503,
            times: 1,
        },
    );
    sim.fault(
        "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        Fault::Status {
            code: 504,
            times: 1,
        },
    );
    let names = [
        "report_settings",
        "authorization_policy",
        "authentication_flows_policy",
        "security_defaults",
    ];
    let started = Instant::now();
    let collection = read(&sim, &names).await;
    let elapsed = started.elapsed();
    for name in names {
        body_of(&collection, name);
    }
    // Retry-After: 1 is waited out exactly; the backoffs (20 ms, 40 ms with jitter) are shorter.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1100), "{elapsed:?}");
    assert_eq!(sim.hits("/v1.0/policies/authorizationPolicy"), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_waited_out() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::UnavailableUntil {
            times: 1,
            wait: Duration::from_secs(30),
        },
    );
    sim.fault(
        "/v1.0/policies/authorizationPolicy",
        Fault::UnavailableUntil {
            times: 1,
            wait: Duration::from_secs(600),
        },
    );
    let started = Instant::now();
    let collection = read_with(&sim, &["report_settings", "authorization_policy"], |c| {
        c.retry.max_delay = Duration::from_secs(60);
        c.retry.max_total = Duration::from_secs(120);
    })
    .await;
    body_of(&collection, "report_settings");
    // An HTTP date has whole seconds: the wait is between 29 and 30 s of the paused clock.
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_secs(29)..=Duration::from_secs(30)).contains(&elapsed),
        "{elapsed:?}"
    );
    assert_eq!(sim.hits("/v1.0/admin/reportSettings"), 2);
    // A date further away than the longest wait allowed ends the retries at once.
    let (status, error) = error_of(&collection, "authorization_policy");
    assert_eq!(status, Some(503));
    assert!(
        error.contains("longer than the longest wait allowed"),
        "{error}"
    );
    assert_eq!(sim.hits("/v1.0/policies/authorizationPolicy"), 1);
}

#[tokio::test(start_paused = true)]
async fn persistent_unavailability_ends_as_a_resource_error_within_the_bounds() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Status {
            code: 503,
            times: u32::MAX,
        },
    );
    sim.fault(
        "/v1.0/policies/authorizationPolicy",
        Fault::Throttle {
            times: u32::MAX,
            retry_after: Some(30),
        },
    );
    sim.fault(
        "/v1.0/policies/authenticationFlowsPolicy",
        Fault::Status {
            code: 500,
            times: 1,
        },
    );
    sim.fault(
        "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        Fault::Status {
            code: 502,
            times: u32::MAX,
        },
    );
    let started = Instant::now();
    let collection = read(
        &sim,
        &[
            "report_settings",
            "authorization_policy",
            "authentication_flows_policy",
            "security_defaults",
            "users",
        ],
    )
    .await;
    // Three attempts with two backoffs of at most 20 ms and 40 ms.
    assert!(
        started.elapsed() <= Duration::from_millis(60),
        "{:?}",
        started.elapsed()
    );
    let (status, error) = error_of(&collection, "report_settings");
    assert_eq!(status, Some(503));
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert_eq!(sim.hits("/v1.0/admin/reportSettings"), 3);
    let (status, error) = error_of(&collection, "authorization_policy");
    assert_eq!(status, Some(429));
    assert!(error.contains("Retry-After 30"), "{error}");
    // A 500 and a 502 are retried like a 503: once and then read, three times and then given up.
    body_of(&collection, "authentication_flows_policy");
    assert_eq!(sim.hits("/v1.0/policies/authenticationFlowsPolicy"), 2);
    let (status, error) = error_of(&collection, "security_defaults");
    assert_eq!(status, Some(502));
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    body_of(&collection, "users");
}

#[tokio::test(start_paused = true)]
async fn the_body_cap_holds_for_every_page_and_the_default_reads_a_normal_scan() {
    let sim = secret_sim();
    sim.fault("/v1.0/users", Fault::HugeBody(1 << 30));
    let collection = read_with(&sim, &["users", "organization"], |c| {
        c.max_response_bytes = 64 * 1024;
    })
    .await;
    let (status, error) = error_of(&collection, "users");
    assert_eq!(status, None);
    assert!(error.contains("limit of 65536 bytes"), "{error}");
    body_of(&collection, "organization");
    // The default cap is far above a page of a normal tenant.
    let sim = secret_sim();
    let collection = read(&sim, &["users", "organization"]).await;
    body_of(&collection, "users");
}

#[tokio::test(start_paused = true)]
async fn forbidden_names_the_missing_permission() {
    let sim = secret_sim();
    sim.fault("/v1.0/users", Fault::Forbidden);
    let collection = read(&sim, &["users"]).await;
    let (status, error) = error_of(&collection, "users");
    assert_eq!(status, Some(403));
    assert!(
        error.contains("missing permission User.Read.All"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_response_times_out_and_is_recorded_as_error() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Slow(Duration::from_secs(20)),
    );
    let started = Instant::now();
    let collection = read(&sim, &["report_settings", "authorization_policy"]).await;
    // Three attempts of 500 ms each, two backoffs of at most 20 and 40 ms between them.
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_millis(1500)..=Duration::from_millis(1560)).contains(&elapsed),
        "{elapsed:?}"
    );
    let (status, error) = error_of(&collection, "report_settings");
    assert_eq!(status, None);
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(sim.hits("/v1.0/admin/reportSettings"), 3);
    body_of(&collection, "authorization_policy");
}

#[tokio::test(start_paused = true)]
async fn the_time_budget_of_a_resource_ends_its_retries() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Throttle {
            times: u32::MAX,
            retry_after: Some(2),
        },
    );
    let started = Instant::now();
    let collection = read_with(&sim, &["report_settings"], |c| {
        c.retry.max_attempts = 100;
        c.retry.max_total = Duration::from_secs(5);
    })
    .await;
    let (_, error) = error_of(&collection, "report_settings");
    assert!(error.contains("time budget"), "{error}");
    // Waits of 2 s at 0 s and 2 s; a third would end after the 5 s budget, so it is not begun.
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    assert_eq!(sim.hits("/v1.0/admin/reportSettings"), 3);
}

#[tokio::test(start_paused = true)]
async fn paging_follows_next_links_tolerates_empty_pages_and_stops_at_loops_and_other_hosts() {
    let sim = secret_sim();
    sim.fault("/v1.0/users", Fault::EmptyFirstPage);
    sim.fault(
        "/v1.0/identity/conditionalAccess/policies",
        Fault::NextLinkCycle,
    );
    sim.fault(
        "/v1.0/policies/authenticationStrengthPolicies",
        Fault::ForeignNextLink,
    );
    sim.fault(
        "/v1.0/roleManagement/directory/roleEligibilitySchedules",
        Fault::Truncated,
    );
    let collection = read(
        &sim,
        &[
            "users",
            "conditional_access_policies",
            "authentication_strength_policies",
            "role_eligibility_schedules",
            "sign_ins_probe",
            "organization",
        ],
    )
    .await;
    let (users, pages) = body_of(&collection, "users");
    assert_eq!(users["value"], fixture("users")["value"]);
    assert!(pages >= 2);
    let (_, error) = error_of(&collection, "conditional_access_policies");
    assert!(error.contains("paging loop"), "{error}");
    let (_, error) = error_of(&collection, "authentication_strength_policies");
    assert!(
        error.contains("graph.evil.example") && error.contains("refused"),
        "{error}"
    );
    let (_, error) = error_of(&collection, "role_eligibility_schedules");
    assert!(error.contains("not valid JSON"), "{error}");
    // The sign-in probe reads its first page only.
    let (_, pages) = body_of(&collection, "sign_ins_probe");
    assert_eq!(pages, 1);
    assert_eq!(sim.hits("/v1.0/auditLogs/signIns"), 1);
    assert!(sim.requests().iter().all(|r| !r.path.contains("evil")));
    assert_only_reads(&sim);
}

#[tokio::test(start_paused = true)]
async fn a_page_whose_items_do_not_parse_fails_the_resource_though_its_next_page_was_asked_for() {
    let sim = secret_sim();
    sim.fault("/v1.0/users", Fault::BadItemOnPage(2));
    let collection = read(&sim, &["users", "organization"]).await;
    let (status, error) = error_of(&collection, "users");
    assert_eq!(status, Some(200));
    assert!(error.contains("not valid JSON"), "{error}");
    // Page 2's items are parsed while page 3 is on its way; nothing after page 3 is asked for.
    assert!(sim.hits("/v1.0/users") <= 3, "{}", sim.hits("/v1.0/users"));
    body_of(&collection, "organization");
    assert_only_reads(&sim);
}

#[tokio::test(start_paused = true)]
async fn fan_out_reads_each_parent_id_and_merges_by_id() {
    let sim = secret_sim();
    let collection = read(&sim, &["group_transitive_members"]).await;
    let (body, _) = body_of(&collection, "group_transitive_members");
    assert_eq!(body, &fixture("group_transitive_members"));
    body_of(&collection, "directory_role_assignments");
    // A parent that cannot be read makes its fan-out an error too.
    let sim = secret_sim();
    sim.fault(
        "/v1.0/roleManagement/directory/roleAssignments",
        Fault::Forbidden,
    );
    let collection = read(&sim, &["group_transitive_members"]).await;
    let (_, error) = error_of(&collection, "group_transitive_members");
    assert!(error.contains("directory_role_assignments"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_401_gets_one_new_token_and_a_retry() {
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Unauthorized { times: 1 },
    );
    let collection = read(&sim, &["report_settings"]).await;
    body_of(&collection, "report_settings");
    assert_eq!(sim.token_requests(), 2);
    let sim = secret_sim();
    sim.fault(
        "/v1.0/admin/reportSettings",
        Fault::Unauthorized { times: 5 },
    );
    let collection = read(&sim, &["report_settings"]).await;
    let (status, _) = error_of(&collection, "report_settings");
    assert_eq!(status, Some(401));
    assert_eq!(sim.token_requests(), 2, "only one renewal per request");
}

#[tokio::test(start_paused = true)]
async fn tokens_are_cached_and_renewed_before_they_expire() {
    let sim = secret_sim();
    read(
        &sim,
        &[
            "report_settings",
            "users",
            "organization",
            "authorization_policy",
        ],
    )
    .await;
    assert_eq!(sim.token_requests(), 1, "one token for the whole scan");
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        token_lifetime_secs: 1,
        ..SimOptions::default()
    });
    sim.fault("/v1.0/users", Fault::Slow(Duration::from_millis(250)));
    let collection = read(&sim, &["users"]).await;
    body_of(&collection, "users");
    // A 1 s token is renewed 250 ms before it expires: the seven pages of 13 users, 250 ms
    // each (at 0, 250, …, 1500 ms), need a token at 0, 750 and 1500 ms.
    assert_eq!(sim.token_requests(), 3, "a short-lived token was renewed");
}

#[tokio::test(start_paused = true)]
async fn a_token_lifetime_at_the_end_of_u64_is_cached_without_overflow() {
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        token_lifetime_secs: u64::MAX,
        ..SimOptions::default()
    });
    let collection = read(&sim, &["report_settings", "users"]).await;
    body_of(&collection, "report_settings");
    body_of(&collection, "users");
    assert_eq!(sim.token_requests(), 1, "the token was cached");
}

#[tokio::test(start_paused = true)]
async fn rejected_credential_stops_the_scan_before_any_graph_read() {
    let sim = secret_sim();
    let err = collect_with(
        sim.transport(),
        &config(&sim, Credential::ClientSecret(Secret::new("not-it"))),
        &pack().registry,
        &wanted(&["users"]),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err}");
    assert_eq!(sim.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn resources_are_read_concurrently_but_never_more_than_the_limit() {
    let sim = secret_sim();
    let names = [
        "report_settings",
        "authorization_policy",
        "authentication_flows_policy",
        "security_defaults",
        "authentication_methods_policy",
        "sharepoint_settings",
    ];
    let registry = pack().registry;
    for name in names {
        let path = &registry.get(name).unwrap().path;
        sim.fault(path, Fault::Slow(Duration::from_millis(150)));
    }
    let started = Instant::now();
    let collection = read_with(&sim, &names, |c| c.concurrency = 2).await;
    assert_eq!(collection.resources.len(), names.len());
    assert_eq!(
        sim.max_in_flight(),
        2,
        "two at a time, and really in parallel"
    );
    // Six reads of 150 ms, two at a time.
    assert_eq!(started.elapsed(), Duration::from_millis(450));
}

/// The paths the simulator was sent `GET`s for, in the order they arrived.
fn read_paths(sim: &SimGraph) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path)
        .collect()
}

/// Reads `names` one at a time and requires users and userRegistrationDetails, the chains a
/// tenant's size makes long, to be asked for before every other resource.
async fn tenant_sized_lists_read_first(names: &[&str]) {
    let sim = secret_sim();
    let collection = read_with(&sim, names, |c| c.concurrency = 1).await;
    assert_eq!(collection.resources.len(), names.len());
    let reads = read_paths(&sim);
    let tenant_sized = |path: &str| {
        path == "/v1.0/reports/authenticationMethods/userRegistrationDetails"
            || path == "/v1.0/users"
    };
    let last_tenant_sized = reads.iter().rposition(|p| tenant_sized(p)).unwrap();
    let first_other = reads.iter().position(|p| !tenant_sized(p)).unwrap();
    assert!(last_tenant_sized < first_other, "{reads:?}");
}

#[tokio::test(start_paused = true)]
async fn reads_that_may_page_start_before_reads_of_one_request() {
    // Alphabetically the single requests come first; the paged collections must not wait.
    tenant_sized_lists_read_first(&[
        "authentication_flows_policy",
        "authorization_policy",
        "security_defaults",
        "sign_ins_probe",
        "user_registration_details",
        "users",
    ])
    .await;
}

#[tokio::test(start_paused = true)]
async fn tenant_sized_lists_start_before_other_paged_collections() {
    // Alphabetically and in the registry the small collections come first; users and
    // userRegistrationDetails (read with `$top=999`) make the longest chains and must not wait.
    tenant_sized_lists_read_first(&[
        "access_review_definitions",
        "authentication_strength_policies",
        "conditional_access_policies",
        "cross_tenant_access_partners",
        "user_registration_details",
        "users",
    ])
    .await;
}

/// A municipality that has not consented to the Exchange Online admin API scans with
/// `--services graph,compliance,teams`: Exchange's resources are left out on purpose (not a
/// failed read), so VTC-AUD-01 is judged on its declaration, and says why; without the
/// declaration it is evidence-missing, never a pass on nothing.
#[test]
fn a_service_left_out_falls_back_to_the_declaration_and_never_passes_on_nothing() {
    let sim = secret_sim();
    let scan = |evidence: bool| {
        let mut cmd = live_cmd(&sim);
        cmd.env("AZURE_CLIENT_SECRET", CANARY)
            .args([
                "--services",
                "graph,compliance,teams",
                "--only",
                "VTC-AUD-01",
            ])
            .args(["--format", "json", "--date", "2026-11-23"]);
        if evidence {
            cmd.arg("--evidence")
                .arg(support::repo_path("fixtures/evidence/zonnedorp.yaml"));
        }
        let output = cmd.output().unwrap();
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
        let finding = report["findings"][0].clone();
        (output.status.code(), finding)
    };
    let (code, declared) = scan(true);
    assert_eq!(code, Some(0), "{declared}");
    assert_eq!(declared["verdict"], "pass", "{declared}");
    let reason = declared["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("service exchange was not selected") && reason.contains("declaration"),
        "{reason}"
    );
    let (code, missing) = scan(false);
    assert_eq!(code, Some(1), "{missing}");
    assert_eq!(missing["verdict"], "evidence-missing", "{missing}");
    assert!(
        sim.requests().iter().all(|r| r.service != "exchange"),
        "Exchange was contacted"
    );
}

/// A chain of resources that wait for one another (roleEligibilitySchedules, then the members
/// of each group it names) gets its permits before reads of no chain, and a fan-out that asks
/// once its parent is read goes before the reads still waiting: started last, or queued
/// behind every small read, such a chain ended after the users chain of a large tenant.
#[tokio::test(start_paused = true)]
async fn chains_of_waiting_resources_get_permits_before_reads_of_no_chain() {
    // Every answer takes a round trip (virtual time, on the paused clock). Without one the
    // simulator answered a small read within the same turn of the scheduler that handed it
    // the parent's permit, and the next small read could go before the engine had even
    // spawned the fan-out: the order then depended on which task the runtime polled first
    // (2 runs in 40 failed). A network answers no read before the engine's next turn.
    let sim = SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        latency: Duration::from_millis(5),
        ..SimOptions::default()
    });
    // In the registry, and alphabetically, the reads of no chain come first.
    let names = [
        "access_review_definitions",
        "authentication_flows_policy",
        "authentication_strength_policies",
        "authorization_policy",
        "eligible_group_transitive_members",
    ];
    let collection = read_with(&sim, &names, |c| c.concurrency = 1).await;
    assert!(matches!(
        collection
            .resources
            .get("eligible_group_transitive_members"),
        Some(Collected::Read { .. })
    ));
    let reads = read_paths(&sim);
    let in_chain = |path: &str| {
        path == "/v1.0/roleManagement/directory/roleEligibilitySchedules"
            || (path.starts_with("/v1.0/groups/") && path.ends_with("/transitiveMembers"))
    };
    assert!(
        reads.iter().any(|p| p.ends_with("/transitiveMembers")),
        "{reads:?}"
    );
    let parent_pages = reads
        .iter()
        .take_while(|p| p.ends_with("/roleEligibilitySchedules"))
        .count();
    assert_eq!(parent_pages, 4, "the parent is read first: {reads:?}");
    // The parent's permit comes free before the engine knows the fan-out can start: one read
    // waiting may take it, and no more.
    let last_in_chain = reads.iter().rposition(|p| in_chain(p)).unwrap();
    let others_before = reads[..last_in_chain]
        .iter()
        .filter(|p| !in_chain(p))
        .count();
    assert!(others_before <= 1, "{reads:?}");
}

/// Each service's first token is asked for at the start, beside the first reads: a read of
/// Teams that gets its permit late does not then wait a round trip to the authority while it
/// holds it.
#[tokio::test(start_paused = true)]
async fn every_services_token_is_asked_for_before_its_reads_get_a_permit() {
    let sim = secret_sim();
    let collection = read_with(&sim, &["users", "teams_meeting_policies"], |c| {
        c.concurrency = 1
    })
    .await;
    body_of(&collection, "users");
    body_of(&collection, "teams_meeting_policies");
    let requests = sim.requests();
    let last_users_page = requests
        .iter()
        .rposition(|r| r.path == "/v1.0/users")
        .unwrap();
    let tokens_before = requests[..last_users_page]
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .count();
    assert_eq!(tokens_before, 2, "Graph's and Teams': {requests:?}");
    assert_eq!(sim.token_requests(), 2);
}

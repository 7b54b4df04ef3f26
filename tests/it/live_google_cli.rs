//! `cloudkeur scan --vendor google`, the binary end to end against the simulated Google served
//! on 127.0.0.1 (tests/support/google_sim.rs): each credential kind (a service account's key
//! file; an external-account file with its subject token file) gives the findings of the
//! offline replay, reaches the simulator only with GETs and the credential's own POSTs, asks
//! only read-only scopes, and leaves no secret in stdout, stderr or the snapshot. A scope the
//! API refuses gives `error`, naming the scope; bad flags and files are one line, exit 2.

use crate::google_sim::{AUDIENCE, Fault, SERVICE_ACCOUNT, SUBJECT_TOKEN, SimGoogle};
use crate::live_google::{ADMIN, key_file};
use crate::support::{cloudkeur, repo_path};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DATE: &str = "2026-11-21";

/// The scopes the built-in pack needs, as `cloudkeur permissions --vendor google` lists them.
fn needed_scopes() -> BTreeSet<String> {
    crate::google_sim::all_read_only_scopes()
}

/// A live Google scan of the served simulator, its credential file named by
/// GOOGLE_APPLICATION_CREDENTIALS, Microsoft's variables removed.
/// The in-process tests' simulator (`live_google::options`) with pages of 10: the binary paces
/// Policy API pages a second apart, as Google asks, and these tests run on the real clock.
/// Paging is still exercised (21 policies: three pages); page by page it is tested on the paused
/// clock in `live_google`.
fn options_over_tcp(key_pem: Option<String>) -> crate::google_sim::SimOptions {
    crate::google_sim::SimOptions {
        page_size: 10,
        ..crate::live_google::options(key_pem)
    }
}

fn live_cmd(origin: &str, credentials: &Path) -> assert_cmd::Command {
    let mut cmd = cloudkeur();
    cmd.args(["scan", "--vendor", "google", "--google-admin", ADMIN])
        .args(["--google-url", origin])
        .arg("--google-token-url")
        .arg(format!("{origin}/token"))
        .args(["--date", DATE, "--reveal-identities"])
        .env("GOOGLE_APPLICATION_CREDENTIALS", credentials);
    for var in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd
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
                f["items"].to_string(),
            )
        })
        .collect()
}

fn offline_report(dir: &Path) -> (Option<i32>, Value) {
    let out = cloudkeur()
        .args([
            "scan",
            "--format",
            "json",
            "--date",
            DATE,
            "--reveal-identities",
        ])
        .arg("--offline")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).expect("offline report JSON"),
    )
}

/// Every file under a directory, as text.
fn dir_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&dir_text(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

/// Runs the live scan of klimop with `credentials`; checks exit code, findings against the
/// offline replay of its snapshot and of the fixture, and that no `secrets` (nor a token the
/// simulator issued) reached stdout, stderr or the snapshot. Returns the live report.
fn scan_and_compare(sim: &Arc<SimGoogle>, credentials: &Path, secrets: &[&str]) -> Value {
    let origin = sim.serve();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let archive = out.path().join("archive");
    let run = live_cmd(&origin, credentials)
        .args(["--format", "json", "--snapshot-out"])
        .arg(&snap)
        .arg("--archive")
        .arg(&archive)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(
        run.status.code(),
        Some(1),
        "klimop is not compliant: {stderr}"
    );
    let live: Value = serde_json::from_str(&stdout).expect("report JSON");
    assert_eq!(live["scan"]["vendor"], "google", "{}", live["scan"]);
    assert_eq!(live["scan"]["tenant"], "C02klmp9x", "my_customer resolved");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["vendor"], "google");

    let (code, replay) = offline_report(&snap);
    assert_eq!(code, Some(1));
    assert_eq!(findings(&live), findings(&replay));
    let (code, fixture) = offline_report(&repo_path("fixtures/tenants/klimop"));
    assert_eq!(code, Some(1));
    assert_eq!(findings(&live), findings(&fixture));
    assert!(
        findings(&live)
            .iter()
            .any(|(_, verdict, _)| verdict == "fail")
    );

    // Kept in the evidence archive like a Microsoft 365 scan.
    let verify = cloudkeur()
        .args(["archive", "verify"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let written = format!("{stdout}{stderr}{}{}", dir_text(&snap), dir_text(&archive));
    for secret in secrets {
        assert!(!written.contains(secret), "a secret reached the output");
    }
    assert!(!written.contains("canary"), "a token reached the output");
    assert_read_only(sim);
    live
}

/// Only GETs to the APIs and the credential's own POSTs reached the simulator; every token
/// request asked exactly the scopes the pack needs, each read-only, for the administrator.
fn assert_read_only(sim: &SimGoogle) {
    let mut token_requests = 0;
    for entry in sim.log() {
        match entry.method {
            "GET" => assert!(
                entry.path.starts_with("/admin/directory/v1/") || entry.path == "/v1/policies",
                "{entry:?}"
            ),
            "POST" => {
                assert!(
                    entry.path == "/token"
                        || entry.path == "/v1/token"
                        || entry.path.ends_with(":signJwt"),
                    "{entry:?}"
                );
                if entry.path == "/token" {
                    token_requests += 1;
                    let asked: BTreeSet<String> = entry.scopes.iter().cloned().collect();
                    assert_eq!(asked, needed_scopes());
                    assert!(asked.iter().all(|s| s.ends_with(".readonly")), "{asked:?}");
                    assert_eq!(entry.subject.as_deref(), Some(ADMIN));
                }
            }
            other => panic!("a {other} reached the simulator: {entry:?}"),
        }
    }
    assert!(token_requests >= 1);
}

fn write_key_file(dir: &Path) -> (PathBuf, String, String) {
    let keys = key_file();
    let path = dir.join("key.json");
    std::fs::write(&path, &keys.file).unwrap();
    let parsed: Value = serde_json::from_str(&keys.file).unwrap();
    let private_key = parsed["private_key"].as_str().unwrap().to_owned();
    (path, private_key, keys.public_pem)
}

/// The base64 body of a PEM key, without its armour: what would show if the key leaked.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|line| !line.starts_with("-----"))
        .take(2)
        .collect()
}

#[test]
fn a_service_account_key_scan_gives_the_offline_findings_and_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, private_key, public_pem) = write_key_file(dir.path());
    let sim = SimGoogle::new(options_over_tcp(Some(public_pem)));
    scan_and_compare(&sim, &key_path, &[&pem_body(&private_key)]);
    // No keyless endpoint was needed.
    assert!(
        sim.log()
            .iter()
            .all(|e| e.path != "/v1/token" && !e.path.ends_with(":signJwt"))
    );
}

#[test]
fn a_workload_identity_scan_gives_the_offline_findings_without_a_key() {
    let sim = SimGoogle::new(options_over_tcp(None));
    let origin = sim.serve();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.jwt"), format!("{SUBJECT_TOKEN}\n")).unwrap();
    let external = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{origin}/v1/token"),
        "service_account_impersonation_url": format!("{origin}/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:generateAccessToken"),
        "credential_source": {"file": "token.jwt"}
    });
    let path = dir.path().join("external.json");
    std::fs::write(&path, external.to_string()).unwrap();
    // `scan_and_compare` serves the simulator again on a port of its own; the file names this
    // one, so give that scan this origin's flags instead.
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let run = live_cmd(&origin, &path)
        .args(["--format", "json", "--snapshot-out"])
        .arg(&snap)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let live: Value = serde_json::from_str(&stdout).expect("report JSON");
    let (_, fixture) = offline_report(&repo_path("fixtures/tenants/klimop"));
    assert_eq!(findings(&live), findings(&fixture));
    let (_, replay) = offline_report(&snap);
    assert_eq!(findings(&live), findings(&replay));
    let written = format!("{stdout}{stderr}{}", dir_text(&snap));
    assert!(!written.contains(SUBJECT_TOKEN) && !written.contains("canary"));
    // STS, then signJwt, then the JWT bearer grant: once each.
    let posts: Vec<String> = sim
        .log()
        .into_iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        posts,
        [
            "/v1/token".to_owned(),
            format!("/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:signJwt"),
            "/token".to_owned()
        ]
    );
    assert_read_only(&sim);
}

#[test]
fn a_scope_the_api_refuses_gives_error_naming_the_scope_never_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _, public_pem) = write_key_file(dir.path());
    let sim = SimGoogle::new(options_over_tcp(Some(public_pem)));
    sim.fault(
        "/admin/directory/v1/customer/my_customer/orgunits",
        Fault::ScopeMissing,
    );
    let origin = sim.serve();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let run = live_cmd(&origin, &key_path)
        .args(["--format", "json", "--snapshot-out"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    let entry = &manifest["resources"]["google_org_units"];
    assert_eq!(entry["status"], "error", "{entry}");
    let scope = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains(&format!("grant {scope}")),
        "{entry}"
    );
    for policy in [
        "gws-mfa-01-two-step-verification-enforced",
        "gws-mfa-05-less-secure-apps-off",
    ] {
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["policy"] == policy)
            .unwrap();
        assert_eq!(finding["verdict"], "error", "{finding}");
        assert!(
            finding["reason"].as_str().unwrap().contains(scope),
            "the finding names the scope to grant: {finding}"
        );
    }
}

/// Runs the binary; expects exit 2 and one line on stderr containing every `needle`.
fn assert_usage_error(cmd: &mut assert_cmd::Command, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle} not in {stderr}");
    }
    assert!(out.stdout.is_empty());
    stderr
}

#[test]
fn plain_http_to_a_host_that_is_not_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _, _) = write_key_file(dir.path());
    // Both URLs on a host that is not loopback: --google-url is named first.
    let mut cmd = live_cmd("http://google.example", &key_path);
    assert_usage_error(&mut cmd, &["--google-url", "plain http"]);
    let mut cmd = cloudkeur();
    cmd.args(["scan", "--vendor", "google", "--google-admin", ADMIN])
        .args(["--google-token-url", "http://oauth2.example/token"])
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key_path);
    assert_usage_error(&mut cmd, &["--google-token-url", "plain http"]);
}

#[test]
fn flags_of_the_other_vendor_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _, _) = write_key_file(dir.path());
    let mut cmd = live_cmd("http://127.0.0.1:9", &key_path);
    cmd.args(["--graph-url", "https://graph.example", "--tenant", "t"]);
    assert_usage_error(&mut cmd, &["--tenant", "--graph-url", "Microsoft 365"]);
    let mut cmd = cloudkeur();
    cmd.args([
        "scan",
        "--google-admin",
        ADMIN,
        "--tenant",
        "t",
        "--client-id",
        "c",
    ])
    .env("AZURE_CLIENT_SECRET", "s3cr3t-canary");
    let stderr = assert_usage_error(&mut cmd, &["--google-admin", "--vendor google"]);
    assert!(!stderr.contains("s3cr3t-canary"));
    // The snapshot's manifest names its vendor; --vendor must agree with it.
    let mut cmd = cloudkeur();
    cmd.args(["scan", "--vendor", "google", "--offline"])
        .arg(repo_path("fixtures/tenants/zonnedorp"));
    assert_usage_error(&mut cmd, &["--vendor google", "Microsoft 365"]);
    let mut cmd = cloudkeur();
    cmd.args(["scan", "--vendor", "gmail"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use microsoft or google"));
}

#[test]
fn a_missing_or_bad_credential_is_one_line_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _, _) = write_key_file(dir.path());
    let mut cmd = live_cmd("http://127.0.0.1:9", &key_path);
    cmd.env_remove("GOOGLE_APPLICATION_CREDENTIALS");
    assert_usage_error(
        &mut cmd,
        &["GOOGLE_APPLICATION_CREDENTIALS", "JSON key file"],
    );
    let mut cmd = cloudkeur();
    cmd.args(["scan", "--vendor", "google"])
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key_path);
    assert_usage_error(&mut cmd, &["--google-admin", "super administrator"]);
    let missing = dir.path().join("absent.json");
    let mut cmd = live_cmd("http://127.0.0.1:9", &missing);
    assert_usage_error(&mut cmd, &["GOOGLE_APPLICATION_CREDENTIALS", "absent.json"]);
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nc2VjcmV0LWNhbmFyeQ==",
    )
    .unwrap();
    let mut cmd = live_cmd("http://127.0.0.1:9", &broken);
    let stderr = assert_usage_error(&mut cmd, &["broken.json"]);
    assert!(!stderr.contains("c2VjcmV0"), "{stderr}");
    let mut cmd = live_cmd("http://127.0.0.1:9", &key_path);
    cmd.args(["--customer", "../C01"]);
    assert_usage_error(&mut cmd, &["--customer"]);
}

#[test]
fn a_credential_google_refuses_stops_the_scan_with_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, private_key, public_pem) = write_key_file(dir.path());
    let mut options = options_over_tcp(Some(public_pem));
    options
        .delegated
        .remove("https://www.googleapis.com/auth/admin.directory.group.readonly");
    let sim = SimGoogle::new(options);
    let origin = sim.serve();
    let mut cmd = live_cmd(&origin, &key_path);
    let stderr = assert_usage_error(
        &mut cmd,
        &["unauthorized_client", "domain-wide delegation page"],
    );
    assert!(!stderr.contains(&pem_body(&private_key)) && !stderr.contains("eyJ"));
    assert!(sim.log().iter().all(|e| e.method == "POST"), "nothing read");
}

/// The scopes a `permissions` output names.
fn scopes_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| word.starts_with("https://www.googleapis.com/auth/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn permissions_for_google_lists_the_read_only_scopes_for_domain_wide_delegation() {
    let out = cloudkeur()
        .args(["permissions", "--vendor", "google"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(scopes_in(&text), needed_scopes(), "{text}");
    assert!(scopes_in(&text).iter().all(|s| s.ends_with(".readonly")));
    let pasted = needed_scopes().into_iter().collect::<Vec<_>>().join(",");
    assert!(text.contains(&pasted), "the line to paste: {text}");
    for needle in [
        "Manage Domain Wide Delegation",
        "client ID",
        "super administrator",
        "roles/iam.serviceAccountTokenCreator",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("Microsoft Graph") && !text.contains("Entra"));
    // Narrowed to one control: only what its Google policy reads.
    let out = cloudkeur()
        .args(["permissions", "--vendor", "google", "--only", "VTC-MFA-04"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let narrowed = scopes_in(&String::from_utf8_lossy(&out.stdout));
    assert!(
        narrowed.contains("https://www.googleapis.com/auth/admin.directory.user.readonly")
            && narrowed.len() < needed_scopes().len()
            && narrowed.is_subset(&needed_scopes()),
        "{narrowed:?}"
    );
    // Microsoft's list names no Google scope; Microsoft's --services has no meaning here.
    let microsoft = cloudkeur().arg("permissions").output().unwrap();
    let microsoft = String::from_utf8_lossy(&microsoft.stdout);
    assert!(scopes_in(&microsoft).is_empty());
    // Each vendor's list counts its own policies.
    let count = |text: &str, suite: &str| -> usize {
        let head = text.lines().next().unwrap_or_default();
        head.split(&format!(" {suite} policies"))
            .next()
            .and_then(|before| before.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {head}"))
    };
    let policies = cloudkeur()
        .args(["policy", "list", "--format", "json"])
        .output()
        .unwrap();
    let policies: Value = serde_json::from_slice(&policies.stdout).unwrap();
    let total: usize = policies["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["policies"].as_array().map_or(0, Vec::len))
        .sum();
    let (ms, google) = (
        count(&microsoft, "Microsoft 365"),
        count(&text, "Google Workspace"),
    );
    // Neither counts the other's; together (a declaration may serve both) they cover all.
    assert!(
        ms < total && google < total && ms + google >= total,
        "{ms} {google} {total}"
    );
    let mut cmd = cloudkeur();
    cmd.args(["permissions", "--vendor", "google", "--services", "graph"]);
    assert_usage_error(&mut cmd, &["--services"]);
}

#[test]
fn scan_all_reads_a_microsoft_tenant_and_a_google_customer_live() {
    use crate::graph_sim::{CLIENT_ID, SimGraph, SimOptions as GraphOptions, TENANT};
    let graph = SimGraph::start(GraphOptions {
        federated_token: Some("fleet-federated-canary".into()),
        ..GraphOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (key_path, private_key, public_pem) = write_key_file(dir.path());
    let google = SimGoogle::new(options_over_tcp(Some(public_pem)));
    let origin = google.serve();
    std::fs::write(dir.path().join("federated.jwt"), "fleet-federated-canary\n").unwrap();
    let file = dir.path().join("tenants.yaml");
    std::fs::write(
        &file,
        format!(
            "tenants:
  - name: zonnedorp
    tenant: {TENANT}
    client_id: {CLIENT_ID}
    credential: {{federated_token_file: federated.jwt}}
  - name: klimop
    vendor: google
    admin: {ADMIN}
    credential: {{google_credentials_file: {}}}
",
            key_path.display()
        ),
    )
    .unwrap();
    let reports = dir.path().join("reports");
    let run = cloudkeur()
        .args(["scan", "--all", "--format", "json", "--date", DATE])
        .arg("--tenants")
        .arg(&file)
        .arg("--reports-dir")
        .arg(&reports)
        .args(graph.url_args())
        .args(["--google-url", &origin])
        .arg("--google-token-url")
        .arg(format!("{origin}/token"))
        .args(["--reveal-identities"])
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let status = |name: &str| {
        summary["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        status("klimop").as_deref(),
        Some("not-compliant"),
        "{summary}"
    );
    assert!(
        matches!(
            status("zonnedorp").as_deref(),
            Some("compliant" | "not-compliant")
        ),
        "{summary}"
    );
    let report = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(reports.join(format!("{name}.json"))).unwrap())
            .unwrap()
    };
    let klimop = report("klimop");
    assert_eq!(klimop["scan"]["vendor"], "google");
    let (_, fixture) = offline_report(&repo_path("fixtures/tenants/klimop"));
    assert_eq!(findings(&klimop), findings(&fixture));
    let zonnedorp = report("zonnedorp");
    assert_ne!(zonnedorp["scan"]["vendor"], "google");
    assert_eq!(zonnedorp["scan"]["tenant"], TENANT);
    assert!(
        !graph.requests().is_empty(),
        "the Microsoft tenant was read live"
    );
    assert_read_only(&google);
    let written = format!(
        "{}{stderr}{}",
        String::from_utf8_lossy(&run.stdout),
        dir_text(&reports)
    );
    assert!(!written.contains(&pem_body(&private_key)) && !written.contains("canary"));
}

#[test]
fn an_endpoint_that_repeats_the_request_never_gets_a_secret_printed() {
    // A key the token endpoint does not know: refused, the refusal repeating the assertion.
    let dir = tempfile::tempdir().unwrap();
    let (key_path, private_key, _) = write_key_file(dir.path());
    let other = key_file();
    let mut refusing = options_over_tcp(Some(other.public_pem));
    refusing.echo_refused = true;
    let sim = SimGoogle::new(refusing);
    let origin = sim.serve();
    let stderr = assert_usage_error(&mut live_cmd(&origin, &key_path), &["invalid_grant"]);
    assert!(
        stderr.contains("[redacted]"),
        "the echo is there, redacted: {stderr}"
    );
    assert!(
        !stderr.contains("eyJ") && !stderr.contains(&pem_body(&private_key)),
        "{stderr}"
    );
    // STS refuses an audience it does not know, repeating the subject token.
    let mut refusing = options_over_tcp(None);
    refusing.echo_refused = true;
    let sim = SimGoogle::new(refusing);
    let origin = sim.serve();
    std::fs::write(dir.path().join("token.jwt"), SUBJECT_TOKEN).unwrap();
    let external = json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/other/providers/x",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{origin}/v1/token"),
        "service_account_impersonation_url": format!("{origin}/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:generateAccessToken"),
        "credential_source": {"file": "token.jwt"}
    });
    let path = dir.path().join("external.json");
    std::fs::write(&path, external.to_string()).unwrap();
    let stderr = assert_usage_error(&mut live_cmd(&origin, &path), &["invalid_grant"]);
    assert!(
        !stderr.contains(SUBJECT_TOKEN) && !stderr.contains("federated-canary"),
        "{stderr}"
    );
}

//! `scan --all --tenants FILE`: every tenant gets its report and bundle, concurrently; a tenant
//! that fails is reported as failed and the others are still reported.

use crate::support::{cloudkeur, repo_path};
use serde_json::Value;
use std::path::Path;

fn run_all(tenants: &Path, out: &Path) -> (i32, Value, String) {
    let output = cloudkeur()
        .args(["scan", "--all", "--format", "json", "--date", "2026-11-23"])
        .arg("--tenants")
        .arg(tenants)
        .arg("--reports-dir")
        .arg(out.join("reports"))
        .arg("--archive")
        .arg(out.join("archive"))
        // A live entry must fail fast here, never reach out to the internet.
        .args([
            "--graph-url",
            "http://127.0.0.1:9",
            "--exchange-url",
            "http://127.0.0.1:9",
            "--compliance-url",
            "http://127.0.0.1:9",
            "--teams-url",
            "http://127.0.0.1:9",
            "--authority-url",
            "http://127.0.0.1:9",
        ])
        .env_remove("AZURE_CLIENT_SECRET")
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn tenant<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["tenants"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {summary}"))
}

#[test]
fn one_failing_tenant_does_not_stop_the_others() {
    let temp = tempfile::tempdir().expect("temp dir");
    let fixtures = repo_path("fixtures");
    let file = temp.path().join("tenants.yaml");
    std::fs::write(
        &file,
        format!(
            "tenants:
  - name: zonnedorp
    offline: {f}/tenants/zonnedorp
    config: {f}/config/zonnedorp.yaml
    evidence: {f}/evidence/zonnedorp.yaml
  - name: verdwenen
    offline: {f}/tenants/does-not-exist
  - name: kleinwaarde
    offline: {f}/tenants/kleinwaarde
  - name: vlietbeke
    tenant: vlietbeke.example
    client_id: 00000000-0000-4000-8000-00000000000a
    credential: {{certificate: {t}/no-such-cert.pem}}
",
            f = fixtures.display(),
            t = temp.path().display()
        ),
    )
    .expect("write");
    let (code, summary, stderr) = run_all(&file, temp.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(summary["schema"], "cloudkeur.fleet-summary/v1");
    assert_eq!(
        tenant(&summary, "zonnedorp")["status"],
        "compliant",
        "{stderr}"
    );
    assert_eq!(tenant(&summary, "kleinwaarde")["status"], "not-compliant");
    let failed = tenant(&summary, "verdwenen");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("does-not-exist"))
    );
    assert_eq!(tenant(&summary, "vlietbeke")["status"], "failed");
    // Every tenant that could be scanned has its report and its own archive.
    for name in ["zonnedorp", "kleinwaarde"] {
        let report: Value = serde_json::from_slice(
            &std::fs::read(temp.path().join(format!("reports/{name}.json"))).expect("report"),
        )
        .expect("json");
        assert!(report["findings"].as_array().is_some_and(|f| !f.is_empty()));
        let bundles = std::fs::read_dir(temp.path().join("archive").join(name))
            .expect("archive")
            .count();
        assert_eq!(bundles, 1, "{name}");
    }
    assert!(!temp.path().join("reports/verdwenen.json").exists());
    let on_disk: Value = serde_json::from_slice(
        &std::fs::read(temp.path().join("reports/summary.json")).expect("summary.json"),
    )
    .expect("json");
    assert_eq!(on_disk, summary);
}

#[test]
fn shipped_fleet_example_scans_both_example_tenants() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (code, summary, stderr) = run_all(&repo_path("fixtures/fleet/tenants.yaml"), temp.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(tenant(&summary, "zonnedorp")["status"], "compliant");
    assert_eq!(tenant(&summary, "kleinwaarde")["status"], "not-compliant");
    // The Google Workspace customer beside the Microsoft 365 tenants.
    assert_eq!(
        tenant(&summary, "heidebeek")["status"],
        "compliant",
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(
        &std::fs::read(temp.path().join("reports/heidebeek.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(report["scan"]["vendor"], "google");
}

#[test]
fn who_is_scanned_is_named_per_entry_not_by_flag() {
    let temp = tempfile::tempdir().expect("temp dir");
    for flags in [
        ["--vendor", "google"],
        ["--google-admin", "a@klimop.example"],
        ["--customer", "C01abcd23"],
    ] {
        let out = cloudkeur()
            .args(["scan", "--all", "--tenants"])
            .arg(repo_path("fixtures/fleet/tenants.yaml"))
            .arg("--reports-dir")
            .arg(temp.path().join("reports"))
            .args(flags)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(flags[0]) && stderr.contains("each entry"),
            "{stderr}"
        );
    }
}

#[test]
fn an_entry_is_of_one_vendor_and_has_what_its_scan_needs() {
    bad_tenants(
        "tenants:\n  - name: klimop\n    vendor: google\n    tenant: klimop.example\n    admin: a@klimop.example\n    credential: {google_credentials_file: sa.json}\n",
        "belong to a Microsoft 365 entry",
    );
    bad_tenants(
        "tenants:\n  - name: klimop\n    vendor: google\n    credential: {google_credentials_file: sa.json}\n",
        "needs `admin`",
    );
    bad_tenants(
        "tenants:\n  - name: klimop\n    vendor: google\n    admin: a@klimop.example\n",
        "google_credentials_file",
    );
    bad_tenants(
        "tenants:\n  - name: vlietbeke\n    tenant: v.example\n    client_id: c\n    admin: a@v.example\n    credential: {certificate: c.pem}\n",
        "add `vendor: google`",
    );
    bad_tenants(
        "tenants:\n  - name: klimop\n    vendor: google\n    customer: ../C01\n    admin: a@klimop.example\n    credential: {google_credentials_file: sa.json}\n",
        "customer '../C01'",
    );
}

fn bad_tenants(yaml: &str, expect: &str) {
    let temp = tempfile::tempdir().expect("temp dir");
    let file = temp.path().join("tenants.yaml");
    std::fs::write(&file, yaml).expect("write");
    let (code, _, stderr) = run_all(&file, temp.path());
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("tenants.yaml:") && stderr.contains("fix:"),
        "{stderr}"
    );
    assert!(stderr.contains(expect), "{stderr}");
}

#[test]
fn extra_reports_are_written_per_tenant() {
    let temp = tempfile::tempdir().expect("temp dir");
    let output = cloudkeur()
        .args(["scan", "--all", "--tenants"])
        .arg(repo_path("fixtures/fleet/tenants.yaml"))
        .arg("--reports-dir")
        .arg(temp.path().join("reports"))
        .arg("--report")
        .arg(format!(
            "csv={}",
            temp.path().join("findings.csv").display()
        ))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    for name in ["zonnedorp", "kleinwaarde"] {
        assert!(
            temp.path().join(format!("findings.{name}.csv")).is_file(),
            "{name}"
        );
    }
}

#[test]
fn bad_tenants_files_are_one_line_exit_2() {
    bad_tenants(
        "tenants:\n  - name: a\n    offline: x\n  - name: a\n    offline: y\n",
        "used twice",
    );
    bad_tenants(
        "tenants:\n  - name: a\n    offline: x\n    tenant: t.example\n",
        "either `offline`",
    );
    bad_tenants(
        "tenants:\n  - name: a\n    tenant: t.example\n    client_id: c\n",
        "exactly one credential source",
    );
    bad_tenants(
        "tenants:\n  - name: a\n    tenant: t\n    client_id: c\n    credential: {client_secret: s}\n",
        "unknown field",
    );
    bad_tenants(
        "tenants:\n  - name: ../a\n    offline: x\n",
        "not a plain name",
    );
    bad_tenants("tenants: [\n", "tenants.yaml:");
}

#[test]
fn all_needs_its_partners() {
    let output = cloudkeur().args(["scan", "--all"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
}

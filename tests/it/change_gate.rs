//! The change gate: `--overlay DIR` lays proposed resource bodies over a snapshot, and
//! `--gate new-only` fails only on non-compliant findings the change introduces.

use crate::support::{cloudkeur, repo_path};
use serde_json::Value;
use std::path::Path;

/// An overlay directory holding Zonnedorp's Conditional Access policies, changed by `edit`.
fn overlay(edit: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(repo_path(
        "fixtures/tenants/zonnedorp/conditional_access_policies.json",
    ))
    .expect("fixture");
    let mut body: Value = serde_json::from_str(&text).expect("json");
    edit(&mut body);
    std::fs::write(
        dir.path().join("conditional_access_policies.json"),
        serde_json::to_vec_pretty(&body).expect("json"),
    )
    .expect("write");
    dir
}

fn gate(overlay: &Path, extra: &[&str]) -> (i32, String) {
    let output = cloudkeur()
        .args([
            "scan",
            "--format",
            "json",
            "--date",
            "2026-11-23",
            "--offline",
        ])
        .arg(repo_path("fixtures/tenants/zonnedorp"))
        .arg("--config")
        .arg(repo_path("fixtures/config/zonnedorp.yaml"))
        .arg("--evidence")
        .arg(repo_path("fixtures/evidence/zonnedorp.yaml"))
        .arg("--overlay")
        .arg(overlay)
        .args(extra)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn gate_passes_a_harmless_change() {
    let renamed = overlay(|body| {
        body["value"][0]["displayName"] = "CA001 - MFA voor iedereen (herzien)".into();
    });
    let (code, stderr) = gate(renamed.path(), &["--gate", "new-only"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("introduces no non-compliant finding"),
        "{stderr}"
    );
}

#[test]
fn gate_fails_a_change_that_turns_a_ca_policy_to_report_only() {
    let report_only = overlay(|body| {
        body["value"][0]["state"] = "enabledForReportingButNotEnforced".into();
    });
    let (code, stderr) = gate(report_only.path(), &["--gate", "new-only"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("mfa-01-mfa-for-all-users"), "{stderr}");
}

#[test]
fn new_only_ignores_what_already_failed_in_the_base() {
    // Kleinwaarde fails throughout; a change that breaks nothing new passes the gate.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        repo_path("fixtures/tenants/kleinwaarde/report_settings.json"),
        dir.path().join("report_settings.json"),
    )
    .expect("copy");
    let run = |extra: &[&str]| {
        cloudkeur()
            .args(["scan", "--offline"])
            .arg(repo_path("fixtures/tenants/kleinwaarde"))
            .arg("--overlay")
            .arg(dir.path())
            .args(extra)
            .output()
            .expect("runs")
            .status
            .code()
    };
    assert_eq!(run(&["--gate", "new-only"]), Some(0));
    assert_eq!(run(&[]), Some(1), "without the gate every failure counts");
}

fn one_line_exit_2(overlay: &Path, expect: &str) {
    let (code, stderr) = gate(overlay, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expect), "{stderr}");
    assert!(stderr.contains("fix:"), "{stderr}");
}

#[test]
fn bad_overlays_are_one_line_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("conditional_acces_policies.json"), "{}").expect("write");
    one_line_exit_2(
        dir.path(),
        "conditional_acces_policies.json: 'conditional_acces_policies' is not a resource",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("conditional_access_policies.json"),
        "{\n  \"value\": [,]\n}",
    )
    .expect("write");
    one_line_exit_2(dir.path(), "conditional_access_policies.json:2:");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
    one_line_exit_2(
        dir.path(),
        "notes.txt: an overlay file must be named <resource>.json",
    );
    one_line_exit_2(&dir.path().join("missing"), "cannot read overlay directory");
}

#[test]
fn overlay_and_gate_need_their_partners() {
    let dir = tempfile::tempdir().expect("temp dir");
    let without_offline = cloudkeur()
        .args(["scan", "--overlay"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(without_offline.status.code(), Some(2));
    let without_overlay = cloudkeur()
        .args(["scan", "--gate", "new-only", "--offline"])
        .arg(repo_path("fixtures/tenants/zonnedorp"))
        .output()
        .expect("runs");
    assert_eq!(without_overlay.status.code(), Some(2));
}

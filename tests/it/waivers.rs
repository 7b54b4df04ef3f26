//! Waivers: a waived finding keeps its verdict underneath; waivers expire on their date; a waiver
//! that matches nothing is reported as stale; a bad waiver file is one line and exit 2.

use crate::support::{cloudkeur, finding, repo_path};
use serde_json::Value;

fn scan_kleinwaarde(date: &str) -> (i32, Value, String) {
    let output = cloudkeur()
        .args(["scan", "--format", "json", "--date", date, "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--waivers")
        .arg(repo_path("fixtures/waivers/kleinwaarde.yaml"))
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn state<'a>(report: &'a Value, id: &str) -> &'a str {
    report["waivers"]
        .as_array()
        .and_then(|all| all.iter().find(|w| w["id"] == id))
        .and_then(|w| w["state"].as_str())
        .unwrap_or_else(|| panic!("no waiver {id} in the report"))
}

#[test]
fn waived_finding_keeps_its_real_verdict_underneath() {
    let (code, report, stderr) = scan_kleinwaarde("2026-11-23");
    assert_eq!(code, 1, "the rest of Kleinwaarde still fails");
    let sms = finding(&report, "mfa-02-no-sms-or-voice");
    assert_eq!(sms["verdict"], "waived");
    assert_eq!(sms["waiver"]["verdict_underneath"], "fail");
    assert_eq!(
        sms["waiver"]["applied"][0]["dpo_advice"]["outcome"],
        "deviated"
    );
    assert!(
        !sms["items"].as_array().expect("items").is_empty(),
        "items stay listed"
    );
    assert_eq!(report["summary"]["verdicts"]["waived"], 1);
    assert_eq!(state(&report, "W-2026-001"), "applied");
    assert!(stderr.contains("1 applied"), "{stderr}");
}

#[test]
fn waiving_some_items_keeps_the_verdict() {
    let (_, report, _) = scan_kleinwaarde("2026-11-23");
    let loc = finding(&report, "loc-02-no-satellite-outside-eu");
    assert_eq!(loc["verdict"], "fail");
    assert_eq!(state(&report, "W-2026-002"), "partial");
}

#[test]
fn waiver_expires_after_its_valid_until_date() {
    let (_, on_last_day, _) = scan_kleinwaarde("2027-05-31");
    assert_eq!(
        finding(&on_last_day, "mfa-02-no-sms-or-voice")["verdict"],
        "waived"
    );
    let (_, day_after, stderr) = scan_kleinwaarde("2027-06-01");
    let sms = finding(&day_after, "mfa-02-no-sms-or-voice");
    assert_eq!(sms["verdict"], "fail");
    assert!(
        sms["reason"]
            .as_str()
            .is_some_and(|r| r.contains("W-2026-001 expired on 2027-05-31"))
    );
    assert_eq!(state(&day_after, "W-2026-001"), "expired");
    assert!(stderr.contains("W-2026-001"), "{stderr}");
}

#[test]
fn waiver_matching_nothing_is_reported_stale() {
    let (_, report, _) = scan_kleinwaarde("2026-11-23");
    assert_eq!(state(&report, "W-2025-007"), "stale");
    // The stale waiver names an account; the report never repeats waiver item names.
    assert!(!report.to_string().contains("oud.account"));
}

#[test]
fn error_finding_is_never_waived() {
    let (_, report, _) = scan_kleinwaarde("2026-11-23");
    assert_eq!(
        finding(&report, "enc-01-encrypting-sensitivity-label")["verdict"],
        "error"
    );
    assert_eq!(state(&report, "W-2026-003"), "refused");
}

fn bad_waivers(yaml: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("waivers.yaml");
    std::fs::write(&file, yaml).expect("write");
    let output = cloudkeur()
        .args(["scan", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--waivers")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("waivers.yaml:"), "{stderr}");
    assert!(stderr.contains("fix:"), "{stderr}");
    stderr
}

const GOOD: &str = "waivers:
  - id: W-1
    control: VTC-MFA-02
    motivation: m
    decided_by: college van burgemeester en schepenen
    decided_on: 2026-05-12
    dpo_advice: {outcome: followed, reference: DPO-advies 1}
    valid_until: 2027-05-31
";

#[test]
fn bad_waiver_files_are_one_line_exit_2() {
    let yaml_error = bad_waivers("waivers:\n  - id: [unclosed\n");
    assert!(yaml_error.contains("waivers.yaml:2:"), "{yaml_error}");
    let dpo = bad_waivers(&GOOD.replace("college van burgemeester en schepenen", "DPO"));
    assert!(dpo.contains("waivers.yaml:2:"), "{dpo}");
    assert!(dpo.contains("advises but does not decide"), "{dpo}");
    let deviated = bad_waivers(&GOOD.replace("outcome: followed", "outcome: deviated"));
    assert!(deviated.contains("without a motivation"), "{deviated}");
    let unknown = bad_waivers(&GOOD.replace("VTC-MFA-02", "VTC-XXX-99"));
    assert!(unknown.contains("unknown control"), "{unknown}");
    let date = bad_waivers(&GOOD.replace("2027-05-31", "next year"));
    assert!(date.contains("valid_until"), "{date}");
    let field = bad_waivers(&GOOD.replace("motivation: m", "motivatie: m"));
    assert!(field.contains("unknown field"), "{field}");
}

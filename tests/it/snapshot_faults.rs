//! Never fail open: whatever is wrong with a resource, its policies give `error`, never `pass`.

use crate::support::{SnapshotDir, finding, scan_json};
use serde_json::json;

const POLICY: &str = "tel-01-usage-reports-conceal-names";

fn verdict_and_reason(snapshot: &SnapshotDir) -> (String, String) {
    let (code, report) = scan_json(snapshot.path(), &[POLICY]);
    assert_eq!(code, 1, "an error verdict is non-compliant: {report}");
    let f = finding(&report, POLICY);
    (
        f["verdict"].as_str().unwrap_or_default().to_owned(),
        f["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn readable_compliant_resource_passes() {
    let snapshot = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": true}))
        .write();
    let (code, report) = scan_json(snapshot.path(), &[POLICY]);
    assert_eq!(code, 0);
    assert_eq!(finding(&report, POLICY)["verdict"], "pass");
}

#[test]
fn forbidden_resource_gives_error_with_the_reason() {
    let snapshot = SnapshotDir::new()
        .entry("report_settings", json!({"status": "error", "http_status": 403, "error": "Forbidden: missing permission ReportSettings.Read.All"}))
        .write();
    let (verdict, reason) = verdict_and_reason(&snapshot);
    assert_eq!(verdict, "error");
    assert!(
        reason.contains("HTTP 403") && reason.contains("ReportSettings.Read.All"),
        "{reason}"
    );
}

#[test]
fn resource_not_collected_gives_error() {
    let snapshot = SnapshotDir::new().write();
    let (verdict, reason) = verdict_and_reason(&snapshot);
    assert_eq!(verdict, "error");
    assert!(reason.contains("not collected"), "{reason}");
}

#[test]
fn missing_resource_file_gives_error() {
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "ok", "file": "report_settings.json", "sha256": "00"}),
        )
        .write();
    let (verdict, reason) = verdict_and_reason(&snapshot);
    assert_eq!(verdict, "error");
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn truncated_json_gives_error() {
    let snapshot = SnapshotDir::new()
        .raw("report_settings", b"{\"displayConcealedNames\": tr")
        .write();
    let (verdict, reason) = verdict_and_reason(&snapshot);
    assert_eq!(verdict, "error");
    assert!(reason.contains("not valid JSON"), "{reason}");
}

#[test]
fn file_altered_after_collection_gives_error() {
    let snapshot = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": false}))
        .write();
    std::fs::write(
        snapshot.path().join("report_settings.json"),
        br#"{"displayConcealedNames": true}"#,
    )
    .expect("write");
    let (verdict, reason) = verdict_and_reason(&snapshot);
    assert_eq!(verdict, "error");
    assert!(reason.contains("sha256"), "{reason}");
}

#[test]
fn settings_body_of_wrong_shape_gives_error() {
    let snapshot = SnapshotDir::new()
        .ok("report_settings", json!(["not", "an", "object"]))
        .write();
    let (verdict, _) = verdict_and_reason(&snapshot);
    assert_eq!(verdict, "error");
}

#[test]
fn collection_without_value_array_gives_error() {
    let snapshot = SnapshotDir::new()
        .ok("sharepoint_settings", json!({"sharingCapability": "disabled"}))
        .ok("conditional_access_policies", json!({"error": {"code": "InternalServerError"}}))
        .ok("authentication_methods_policy", json!({"authenticationMethodConfigurations": [{"id": "Sms", "state": "disabled"}, {"id": "Voice", "state": "disabled"}]}))
        .write();
    let (code, report) = scan_json(snapshot.path(), &["mfa-02-no-sms-or-voice"]);
    assert_eq!(code, 1);
    assert_eq!(
        finding(&report, "mfa-02-no-sms-or-voice")["verdict"],
        "error"
    );
}

#[test]
fn manifest_pointing_outside_the_snapshot_is_refused() {
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "ok", "file": "../../etc/passwd", "sha256": "00"}),
        )
        .write();
    let (code, _) = scan_json(snapshot.path(), &[POLICY]);
    assert_eq!(code, 2);
}

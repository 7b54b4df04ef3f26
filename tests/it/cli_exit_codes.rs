//! Exit codes are an interface: 0 compliant, 1 not compliant, 2 usage or input error.

use crate::support;
use crate::support::{SnapshotDir, cloudkeur, scan_json};
use predicates::prelude::*;
use serde_json::json;

fn compliant_tel_snapshot() -> SnapshotDir {
    SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": true}))
        .write()
}

#[test]
fn compliant_scan_exits_0() {
    let snapshot = compliant_tel_snapshot();
    assert_eq!(scan_json(snapshot.path(), &["VTC-TEL-01"]).0, 0);
}

#[test]
fn non_compliant_scan_exits_1() {
    let snapshot = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": false}))
        .write();
    assert_eq!(scan_json(snapshot.path(), &["VTC-TEL-01"]).0, 1);
}

#[test]
fn fail_on_threshold_above_the_finding_exits_0() {
    // TEL-01 is medium: a gate on high and above lets it through, a gate on medium does not.
    let snapshot = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": false}))
        .write();
    let run = |threshold: &str| {
        cloudkeur()
            .args([
                "scan",
                "--only",
                "VTC-TEL-01",
                "--fail-on",
                threshold,
                "--offline",
            ])
            .arg(snapshot.path())
            .output()
            .expect("runs")
            .status
            .code()
    };
    assert_eq!(run("high"), Some(0));
    assert_eq!(run("medium"), Some(1));
}

#[test]
fn unknown_flag_exits_2() {
    cloudkeur()
        .args(["scan", "--no-such-flag"])
        .assert()
        .code(2);
}

#[test]
fn bad_fail_on_value_exits_2() {
    cloudkeur()
        .args(["scan", "--offline", ".", "--fail-on", "severe"])
        .assert()
        .code(2);
}

#[test]
fn missing_snapshot_directory_exits_2_with_one_line() {
    cloudkeur()
        .args(["scan", "--offline", "no/such/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no/such/dir: snapshot directory does not exist; fix:",
        ))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
}

#[test]
fn directory_without_manifest_exits_2() {
    let empty = tempfile::tempdir().expect("dir");
    cloudkeur()
        .args(["scan", "--offline"])
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("manifest.json: no manifest.json"));
}

#[test]
fn malformed_manifest_exits_2_naming_line_and_column() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("manifest.json"),
        "{\n  \"format\": \"cloudkeur.snapshot/v1\",\n  oops\n}",
    )
    .expect("write");
    cloudkeur()
        .args(["scan", "--offline"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("manifest.json:3:3: "));
}

#[test]
fn unknown_only_filter_exits_2() {
    let snapshot = compliant_tel_snapshot();
    cloudkeur()
        .args(["scan", "--only", "VTC-NOPE-01", "--offline"])
        .arg(snapshot.path())
        .assert()
        .code(2);
}

#[test]
fn live_scan_without_offline_is_a_clear_usage_error() {
    cloudkeur()
        .arg("scan")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--offline"));
}

#[test]
fn version_prints_name_and_version() {
    cloudkeur()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("cloudkeur 0."));
}

#[test]
fn help_documents_exit_codes() {
    cloudkeur()
        .args(["scan", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let snapshot = compliant_tel_snapshot();
    let out = tempfile::tempdir().expect("dir");
    let path = out.path().join("report.json");
    cloudkeur()
        .args([
            "scan",
            "--only",
            "VTC-TEL-01",
            "--format",
            "json",
            "--output",
        ])
        .arg(&path)
        .arg("--offline")
        .arg(snapshot.path())
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("written")).expect("json");
    assert_eq!(report["schema"], "cloudkeur.report/v1");
}

#[test]
fn unwritable_output_exits_2() {
    let snapshot = compliant_tel_snapshot();
    cloudkeur()
        .args([
            "scan",
            "--only",
            "VTC-TEL-01",
            "--output",
            "/no/such/dir/report.json",
            "--offline",
        ])
        .arg(snapshot.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot write /no/such/dir/report.json",
        ));
}

#[test]
fn table_is_plain_when_not_on_a_terminal_and_coloured_on_request() {
    let snapshot = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": false}))
        .write();
    let run = |extra: &[&str]| {
        let output = cloudkeur()
            .args(["scan", "--only", "VTC-TEL-01", "--offline"])
            .arg(snapshot.path())
            .args(extra)
            .output()
            .expect("runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(!run(&[]).contains('\u{1b}'), "no ANSI escapes into a pipe");
    assert!(
        run(&["--color", "always"]).contains('\u{1b}'),
        "colour on request"
    );
}

#[test]
fn table_fits_100_columns() {
    let output = cloudkeur()
        .args(["scan", "--offline"])
        .arg(support::repo_path("fixtures/tenants/kleinwaarde"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let table_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(['│', '┌', '├', '└']))
        .collect();
    assert!(table_lines.len() > 10);
    for line in table_lines {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

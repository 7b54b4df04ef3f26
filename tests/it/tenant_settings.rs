//! Tenant settings (`--config`): break-glass exclusions, skipped controls, and bad settings files.

use crate::support::{cloudkeur, finding, repo_path};
use predicates::prelude::*;
use serde_json::Value;

fn scan(tenant: &str, config: Option<&str>) -> (i32, Value) {
    let mut cmd = cloudkeur();
    cmd.args([
        "scan",
        "--format",
        "json",
        "--reveal-identities",
        "--offline",
    ])
    .arg(repo_path(&format!("fixtures/tenants/{tenant}")));
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let output = cmd.output().expect("runs");
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
    )
}

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), text).expect("write");
    file
}

#[test]
fn declared_break_glass_exclusions_do_not_fail_mfa() {
    let config = repo_path("fixtures/config/zonnedorp.yaml");
    let (_, report) = scan("zonnedorp", Some(config.to_str().expect("utf-8 path")));
    assert_eq!(
        finding(&report, "mfa-01-mfa-for-all-users")["verdict"],
        "pass",
        "{report}"
    );
    assert!(
        report["scan"]["settings_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    );
}

#[test]
fn undeclared_exclusions_fail_mfa_and_are_listed() {
    let (_, report) = scan("zonnedorp", None);
    let mfa = finding(&report, "mfa-01-mfa-for-all-users");
    assert_eq!(mfa["verdict"], "fail");
    let details: Vec<&str> = mfa["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["detail"].as_str())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("ce85773e-0d50-586a-a759-44f8aa62a24e")),
        "names the excluded account: {details:?}"
    );
}

#[test]
fn skipped_control_is_reported_not_applicable_with_its_reason() {
    let config = write_config(
        "skip:\n  - control: VTC-TEL-01\n    reason: usage reports are disabled by contract\n",
    );
    let (_, report) = scan("kleinwaarde", config.path().to_str());
    let tel = finding(&report, "tel-01-usage-reports-conceal-names");
    assert_eq!(tel["verdict"], "not-applicable");
    assert!(
        tel["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("disabled by contract")
    );
    assert_eq!(report["summary"]["verdicts"]["not-applicable"], 1);
}

#[test]
fn unknown_settings_key_exits_2_with_its_line() {
    let config = write_config("accepted_geos: [EUR]\nbreak_glass: []\n");
    cloudkeur()
        .args(["scan", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--config")
        .arg(config.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ":2:1: unknown field `break_glass`",
        ));
}

#[test]
fn skipping_an_unknown_control_exits_2() {
    let config = write_config("skip:\n  - {control: VTC-XYZ-01, reason: x}\n");
    cloudkeur()
        .args(["scan", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--config")
        .arg(config.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown control 'VTC-XYZ-01'"));
}

#[test]
fn malformed_geo_code_exits_2() {
    let config = write_config("accepted_geos: [eur]\n");
    cloudkeur()
        .args(["scan", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--config")
        .arg(config.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a three-letter geo code"));
}

#[test]
fn missing_settings_file_exits_2() {
    cloudkeur()
        .args(["scan", "--config", "no/such.yaml", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no/such.yaml: cannot read settings file",
        ));
}

#[test]
fn policy_naming_an_unknown_setting_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = "\
policy: x-01
control: VTC-MFA-01
title: {nl: x, en: x}
severity: low
rule:
  resource: conditional_access_policies
  path: $.value[*].id
  only: {setting: $.breakglass}
remediation: {nl: x, en: x}
";
    std::fs::write(dir.path().join("p.yaml"), policy).expect("write");
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "p.yaml:8:9: unknown setting 'breakglass'",
        ));
}

#[test]
fn a_period_of_zero_days_exits_2() {
    for text in [
        "retention_max_days: 0\n",
        "review_periods:\n  backup_sign_in_days: 0\n",
    ] {
        let config = write_config(text);
        cloudkeur()
            .args(["scan", "--offline"])
            .arg(repo_path("fixtures/tenants/zonnedorp"))
            .arg("--config")
            .arg(config.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is 0").and(predicate::str::contains("at least 1")));
    }
}

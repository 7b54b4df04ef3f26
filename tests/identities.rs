//! Personal data in findings is minimised: account names become keyed pseudonyms by default.

mod support;
use serde_json::{Value, json};
use support::{SnapshotDir, cloudkeur};

const POLICY: &str = "\
policy: mfa-04-test
control: VTC-MFA-04
title: {nl: x, en: x}
severity: high
rule:
  resource: user_registration_details
  path: $.value[?@.userType == 'member']
  label: $.userPrincipalName
  identity: true
  all:
    path: $.isMfaCapable
    equals: true
remediation: {nl: x, en: x}
";

struct Setup {
    policies: tempfile::TempDir,
    snapshot: SnapshotDir,
}

fn setup() -> Setup {
    let policies = tempfile::tempdir().expect("dir");
    std::fs::write(policies.path().join("p.yaml"), POLICY).expect("write");
    let snapshot = SnapshotDir::new()
        .ok(
            "user_registration_details",
            json!({"value": [
                {"id": "1", "userPrincipalName": "an.voorbeeld@testdorp.example", "userType": "member", "isMfaCapable": false},
                {"id": "2", "userPrincipalName": "piet.proef@testdorp.example", "userType": "member", "isMfaCapable": true}
            ]}),
        )
        .write();
    Setup { policies, snapshot }
}

fn scan(setup: &Setup, extra: &[&str]) -> (String, Value) {
    let output = cloudkeur()
        .args(["scan", "--format", "json", "--policies"])
        .arg(setup.policies.path())
        .arg("--offline")
        .arg(setup.snapshot.path())
        .args(extra)
        .env_remove("CLOUDKEUR_PSEUDONYM_KEY_FILE")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let report = serde_json::from_str(&text).unwrap_or(Value::Null);
    (text, report)
}

fn label(report: &Value) -> String {
    report["findings"][0]["items"][0]["label"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn account_names_are_pseudonymised_by_default() {
    let setup = setup();
    let (text, report) = scan(&setup, &[]);
    assert!(
        !text.contains("an.voorbeeld"),
        "no account name in the report: {text}"
    );
    assert!(label(&report).starts_with("p-"));
    assert_eq!(report["scan"]["identities"], "pseudonymised-per-scan");
}

#[test]
fn reveal_identities_shows_account_names_and_says_so() {
    let setup = setup();
    let (_, report) = scan(&setup, &["--reveal-identities"]);
    assert_eq!(label(&report), "an.voorbeeld@testdorp.example");
    assert_eq!(report["scan"]["identities"], "revealed");
}

#[test]
fn a_key_file_makes_pseudonyms_stable_across_scans() {
    let setup = setup();
    let key = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(key.path(), [7u8; 32]).expect("write");
    let key_path = key.path().to_str().expect("utf-8");
    let (_, first) = scan(&setup, &["--pseudonym-key-file", key_path]);
    let (_, second) = scan(&setup, &["--pseudonym-key-file", key_path]);
    assert_eq!(label(&first), label(&second));
    assert_eq!(first["scan"]["identities"], "pseudonymised");
}

#[test]
fn without_a_key_file_pseudonyms_do_not_link_scans() {
    let setup = setup();
    let (_, first) = scan(&setup, &[]);
    let (_, second) = scan(&setup, &[]);
    assert_ne!(label(&first), label(&second));
}

#[test]
fn a_too_short_key_file_exits_2() {
    let setup = setup();
    let key = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(key.path(), b"short").expect("write");
    cloudkeur()
        .args(["scan", "--policies"])
        .arg(setup.policies.path())
        .arg("--offline")
        .arg(setup.snapshot.path())
        .arg("--pseudonym-key-file")
        .arg(key.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("fewer than 16 bytes"));
}

//! Personal data in findings is minimised: account names become keyed pseudonyms by default.

use crate::support::{SnapshotDir, cloudkeur};
use crate::tenant_gen;
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::Finding;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::pseudonym::{PseudonymKey, pseudonymise};
use cloudkeur::settings::Settings;
use serde_json::{Value, json};
use std::collections::BTreeMap;

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

/// The pseudonymiser as first written: every identity, longest first, tried on every text with
/// `str::replace`. Quadratic in failing accounts, but obviously right; the fast one in
/// `src/pseudonym.rs` must give exactly what it gives.
fn one_by_one(findings: &mut [Finding], tenant: &str, key: &PseudonymKey) {
    let mut pseudonyms: BTreeMap<String, String> = BTreeMap::new();
    for item in findings
        .iter()
        .flat_map(|f| &f.items)
        .filter(|i| i.identity)
    {
        if let Some(label) = &item.label {
            pseudonyms
                .entry(label.clone())
                .or_insert_with(|| key.pseudonym(tenant, label));
        }
    }
    let mut by_length: Vec<(&String, &String)> = pseudonyms.iter().collect();
    by_length.sort_by_key(|(identifier, _)| std::cmp::Reverse(identifier.len()));
    let scrub = |text: &mut String| {
        for (identifier, pseudonym) in &by_length {
            if text.contains(identifier.as_str()) {
                *text = text.replace(identifier.as_str(), pseudonym);
            }
        }
    };
    for finding in findings.iter_mut() {
        scrub(&mut finding.reason);
        for item in &mut finding.items {
            scrub(&mut item.detail);
            if let Some(label) = &mut item.label {
                scrub(label);
            }
        }
    }
}

/// A generated tenant of 2 000 accounts, half of them failing (not MFA capable, or users and
/// team sites outside the EU): the findings hold about 2 000 identities, and every finding,
/// pseudonym and order comes out as one-by-one replacement gives them.
#[test]
fn many_failing_accounts_are_pseudonymised_exactly_as_one_by_one() {
    let spec = tenant_gen::TenantSpec::failing(2_000, 0.5);
    let dir = tempfile::tempdir().expect("temp dir");
    tenant_gen::write_snapshot(&spec, dir.path());
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    let snapshot = cloudkeur::snapshot::read_dir(dir.path(), &pack.registry, &pack.projections())
        .expect("snapshot reads");
    let (settings, evidence) = (Settings::default(), Evidence::default());
    let inputs = Inputs {
        snapshot: &snapshot,
        settings: &settings,
        evidence: &evidence,
        today: time::macros::date!(2026 - 11 - 23),
    };
    let findings = evaluate(&pack, inputs);
    let items_of = |control: &str| {
        findings
            .iter()
            .find(|f| f.control == control)
            .map_or(0, |f| f.items.len())
    };
    let failures = tenant_gen::failures(&spec);
    assert_eq!(items_of("VTC-MFA-04"), failures.mfa_04);
    assert_eq!(items_of("VTC-LOC-02"), failures.loc_02);
    assert!(
        failures.mfa_04 > 900 && failures.loc_02 > 900,
        "{failures:?}"
    );

    let key = PseudonymKey::from_bytes(vec![7; 32]).expect("long enough");
    let tenant = &snapshot.meta.tenant_id;
    let mut fast = findings.clone();
    pseudonymise(&mut fast, tenant, &key);
    let mut reference = findings;
    one_by_one(&mut reference, tenant, &key);
    assert!(
        fast == reference,
        "the fast pseudonymiser differs from one by one"
    );
    let text = serde_json::to_string(&fast).expect("json");
    assert!(!text.contains(&spec.domain()), "an account name is left");
}

//! The complete pack on the example tenants: what a DPO and ICT see, control by control.

mod support;
use serde_json::Value;
use support::{cloudkeur, finding, repo_path};

fn scan(tenant: &str, extra: &[&str]) -> (i32, Value) {
    let output = cloudkeur()
        .args(["scan", "--format", "json", "--offline"])
        .arg(repo_path(&format!("fixtures/tenants/{tenant}")))
        .args(extra)
        .output()
        .expect("runs");
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report)
}

fn path(relative: &str) -> String {
    repo_path(relative).to_string_lossy().into_owned()
}

fn compliant_inputs() -> Vec<String> {
    vec![
        "--config".into(),
        path("fixtures/config/zonnedorp.yaml"),
        "--evidence".into(),
        path("fixtures/evidence/zonnedorp.yaml"),
    ]
}

fn verdict_of_control(report: &Value, control: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["control"] == control)
        .map(|f| f["verdict"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn compliant_example_tenant_with_complete_evidence_exits_0() {
    let args = compliant_inputs();
    let (code, report) = scan(
        "zonnedorp",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let not_passing: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["verdict"] != "pass")
        .map(|f| format!("{} {}: {}", f["control"], f["verdict"], f["reason"]))
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    assert_eq!(code, 0);
}

#[test]
fn every_control_of_the_catalogue_is_served() {
    let args = compliant_inputs();
    let (_, report) = scan(
        "zonnedorp",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let catalogue =
        std::fs::read_to_string(repo_path("policies/controls.yaml")).expect("catalogue");
    let ids: Vec<&str> = catalogue
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- id: "))
        .collect();
    assert_eq!(ids.len(), 31);
    for id in ids {
        assert!(
            !verdict_of_control(&report, id).is_empty(),
            "{id} has a finding"
        );
    }
}

#[test]
fn without_evidence_every_evidence_control_is_evidence_missing() {
    let (code, report) = scan("kleinwaarde", &[]);
    assert_eq!(code, 1);
    let catalogue =
        std::fs::read_to_string(repo_path("policies/controls.yaml")).expect("catalogue");
    // Controls whose `kind: evidence` line follows their id line.
    let lines: Vec<&str> = catalogue.lines().collect();
    let mut evidence_controls = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(id) = line.trim().strip_prefix("- id: ")
            && lines[i..]
                .iter()
                .take(4)
                .any(|l| l.trim() == "kind: evidence")
        {
            evidence_controls.push(id);
        }
    }
    assert!(evidence_controls.len() >= 10, "{evidence_controls:?}");
    for id in evidence_controls {
        for verdict in verdict_of_control(&report, id) {
            assert_eq!(verdict, "evidence-missing", "{id}");
        }
    }
}

#[test]
fn expired_evidence_and_a_non_compliant_declared_value() {
    let (_, report) = scan(
        "zonnedorp",
        &["--evidence", &path("fixtures/evidence/expired.yaml")],
    );
    assert_eq!(
        verdict_of_control(&report, "VTC-BAK-03"),
        ["evidence-expired"]
    );
    // Declared, current, but the backup is hosted outside the EU.
    assert_eq!(verdict_of_control(&report, "VTC-BAK-02"), ["fail"]);
}

#[test]
fn declarations_expire_on_their_date() {
    let mut args = compliant_inputs();
    args.extend(["--date".into(), "2028-01-01".into()]);
    let (code, report) = scan(
        "zonnedorp",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(code, 1);
    assert_eq!(
        verdict_of_control(&report, "VTC-GOV-01"),
        ["evidence-expired"]
    );
}

#[test]
fn a_group_holding_global_administrator_is_expanded_to_its_members() {
    let (_, report) = scan("kleinwaarde", &["--reveal-identities"]);
    let rba = finding(&report, "rba-01-few-global-admins");
    assert_eq!(rba["verdict"], "fail");
    let text = rba.to_string();
    // Members of the role-assignable group count as Global Administrators in their own right.
    assert!(text.contains("olaf") && text.contains("paula"), "{text}");
}

#[test]
fn a_report_only_mfa_policy_does_not_count() {
    let ca = std::fs::read_to_string(repo_path(
        "fixtures/tenants/kleinwaarde/conditional_access_policies.json",
    ))
    .expect("fixture");
    assert!(
        ca.contains("enabledForReportingButNotEnforced"),
        "the fixture has a report-only policy"
    );
    let (_, report) = scan("kleinwaarde", &[]);
    assert_eq!(
        finding(&report, "mfa-01-mfa-for-all-users")["verdict"],
        "fail"
    );
}

#[test]
fn a_bad_date_flag_exits_2() {
    cloudkeur()
        .args(["scan", "--date", "1 januari", "--offline"])
        .arg(repo_path("fixtures/tenants/zonnedorp"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not a date"));
}

//! The evidence file: bad declarations are input errors (exit 2) with file, line and fix.

use crate::support::{cloudkeur, repo_path};
use predicates::prelude::*;

const VALID: &str = "\
declarations:
  - control: VTC-BAK-03
    statement: Restore of a mailbox and a site tested
    declared_by: Diensthoofd ICT
    declared_on: 2026-05-12
    valid_until: 2027-05-12
    document: Hersteltestrapport RT-2026-01
    values:
      last_restore_test: 2026-05-12
";

fn run_with(evidence: &str) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("evidence.yaml");
    std::fs::write(&file, evidence).expect("write");
    let assert = cloudkeur()
        .args(["scan", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--evidence")
        .arg(&file)
        .assert();
    drop(dir);
    assert
}

#[test]
fn a_valid_evidence_file_is_accepted() {
    // Exit 1: the tenant is not compliant, but the file itself is fine (not exit 2).
    run_with(VALID).code(1);
}

#[test]
fn unknown_control_exits_2_with_its_line() {
    run_with(&VALID.replace("VTC-BAK-03", "VTC-BAK-33"))
        .code(2)
        .stderr(
            predicate::str::contains("evidence.yaml:2:")
                .and(predicate::str::contains("unknown control 'VTC-BAK-33'")),
        );
}

#[test]
fn a_date_that_is_not_a_date_exits_2() {
    run_with(&VALID.replace("valid_until: 2027-05-12", "valid_until: next year"))
        .code(2)
        .stderr(predicate::str::contains(
            "valid_until 'next year' is not a date",
        ));
}

#[test]
fn valid_until_before_declared_on_exits_2() {
    run_with(&VALID.replace("valid_until: 2027-05-12", "valid_until: 2025-05-12"))
        .code(2)
        .stderr(predicate::str::contains("before declared_on"));
}

#[test]
fn a_missing_document_reference_exits_2() {
    run_with(&VALID.replace("    document: Hersteltestrapport RT-2026-01\n", ""))
        .code(2)
        .stderr(predicate::str::contains("document"));
}

#[test]
fn a_declared_file_that_is_missing_exits_2() {
    let text = format!("{VALID}    files:\n      report: no-such-file.json\n");
    run_with(&text)
        .code(2)
        .stderr(predicate::str::contains("no-such-file.json"));
}

#[test]
fn a_declaration_given_twice_exits_2() {
    let twice = format!("{VALID}{}", VALID.trim_start_matches("declarations:\n"));
    run_with(&twice)
        .code(2)
        .stderr(predicate::str::contains("declared twice"));
}

#[test]
fn a_missing_evidence_file_exits_2() {
    cloudkeur()
        .args(["scan", "--evidence", "no/such/evidence.yaml", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read evidence file"));
}

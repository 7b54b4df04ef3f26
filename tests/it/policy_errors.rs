//! A mistake in a policy file is reported as `file:line:column: what is wrong; fix: …`, exit 2.

use crate::support::cloudkeur;
use predicates::prelude::*;

const GOOD: &str = "\
policy: tel-01-test
control: VTC-TEL-01
title: {nl: Namen verborgen, en: Names concealed}
severity: medium
rule:
  resource: report_settings
  path: $.displayConcealedNames
  equals: true
remediation: {nl: Zet aan., en: Turn it on.}
examples:
  - {name: ok, expect: pass, resources: {report_settings: {displayConcealedNames: true}}}
  - {name: bad, expect: fail, resources: {report_settings: {displayConcealedNames: false}}}
";

/// Writes `text` as the only policy of a pack and returns the one-line error of `policy test`.
fn error_for(text: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("p.yaml"), text).expect("write");
    let output = cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("; fix: "), "names a fix: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn expect_at(stderr: &str, line_col: &str, message: &str) {
    assert!(
        stderr.contains(&format!("p.yaml:{line_col}: ")),
        "expected position {line_col}: {stderr}"
    );
    assert!(stderr.contains(message), "expected '{message}': {stderr}");
}

#[test]
fn the_good_policy_is_accepted() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("p.yaml"), GOOD).expect("write");
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2 passed, 0 failed"));
}

#[test]
fn bad_yaml_names_file_and_line() {
    let stderr = error_for(&GOOD.replace("  path: $.displayConcealedNames", "  path: [unclosed"));
    assert!(stderr.contains("p.yaml:7:"), "{stderr}");
}

#[test]
fn unknown_key_names_the_key_and_its_line() {
    let stderr = error_for(&GOOD.replace("severity: medium", "severity: medium\nseverty: high"));
    expect_at(&stderr, "5:1", "severty");
}

#[test]
fn unknown_key_inside_a_rule_is_caught() {
    let stderr = error_for(&GOOD.replace("  equals: true", "  equals: true\n  equal: false"));
    assert!(
        stderr.contains("p.yaml:9:") && stderr.contains("equal"),
        "{stderr}"
    );
}

#[test]
fn invalid_jsonpath_names_its_line_and_column() {
    let stderr = error_for(&GOOD.replace("$.displayConcealedNames", "$.value[?@.state = 'on']"));
    expect_at(&stderr, "7:9", "invalid JSONPath");
}

#[test]
fn jsonpath_not_starting_at_root_is_refused() {
    let stderr = error_for(&GOOD.replace("$.displayConcealedNames", "displayConcealedNames"));
    expect_at(&stderr, "7:9", "does not start with '$'");
}

#[test]
fn unknown_resource_suggests_the_close_name() {
    let stderr = error_for(&GOOD.replace("resource: report_settings", "resource: report_setings"));
    expect_at(&stderr, "6:13", "unknown resource 'report_setings'");
    assert!(
        stderr.contains("did you mean 'report_settings'?"),
        "{stderr}"
    );
}

#[test]
fn unknown_control_is_refused() {
    let stderr = error_for(&GOOD.replace("control: VTC-TEL-01", "control: VTC-TEL-99"));
    expect_at(&stderr, "2:10", "unknown control 'VTC-TEL-99'");
}

#[test]
fn bad_severity_is_refused() {
    let stderr = error_for(&GOOD.replace("severity: medium", "severity: urgent"));
    assert!(stderr.contains("p.yaml:4:"), "{stderr}");
}

#[test]
fn check_with_two_assertions_is_refused() {
    let stderr = error_for(&GOOD.replace("  equals: true", "  equals: true\n  exists: true"));
    expect_at(&stderr, "6:3", "exactly one");
}

#[test]
fn check_without_resource_is_refused() {
    let stderr = error_for(&GOOD.replace("  resource: report_settings\n", ""));
    assert!(stderr.contains("names no resource"), "{stderr}");
}

#[test]
fn a_var_that_no_quantifier_binds_is_refused() {
    let text = GOOD.replace("  equals: true\n", "  equals: {var: policy}\n");
    let stderr = error_for(&text);
    expect_at(&stderr, "6:3", "`{var: policy}` is not bound here");
}

#[test]
fn as_on_a_check_without_a_quantifier_is_refused() {
    let text = GOOD.replace("  equals: true\n", "  as: policy\n  equals: true\n");
    let stderr = error_for(&text);
    expect_at(&stderr, "8:7", "this check has no all/any/none");
}

#[test]
fn an_unknown_fragment_is_refused_with_a_suggestion() {
    let text = GOOD.replace(
        "  resource: report_settings\n  path: $.displayConcealedNames\n  equals: true\n",
        "  resource: report_settings\n  path: $.value[*]\n  all:\n    use: ca-count\n",
    );
    let stderr = error_for(&text);
    expect_at(&stderr, "9:10", "unknown fragment 'ca-count'");
    assert!(stderr.contains("did you mean 'ca-counts'?"), "{stderr}");
}

#[test]
fn use_beside_other_keys_is_refused() {
    let text = GOOD.replace(
        "  resource: report_settings\n  path: $.displayConcealedNames\n  equals: true\n",
        "  resource: report_settings\n  path: $.value[*]\n  all:\n    use: ca-counts\n    path: $.x\n",
    );
    let stderr = error_for(&text);
    expect_at(&stderr, "9:10", "`use` stands alone");
}

#[test]
fn group_as_without_expanded_groups_is_refused() {
    let text = GOOD.replace(
        "  path: $.displayConcealedNames\n  equals: true\n",
        "  path: $.value[*]\n  group_as: group\n  all:\n    path: $.x\n    exists: true\n",
    );
    let stderr = error_for(&text);
    expect_at(&stderr, "8:13", "nothing is expanded");
}

#[test]
fn only_notes_in_all_of_are_refused() {
    let text = GOOD.replace(
        "  resource: report_settings\n  path: $.displayConcealedNames\n  equals: true\n",
        "  resource: report_settings\n  all_of:\n    - path: $.displayConcealedNames\n      note: true\n      equals: true\n",
    );
    let stderr = error_for(&text);
    expect_at(&stderr, "6:3", "only notes");
}

#[test]
fn example_naming_an_unknown_resource_is_refused() {
    let stderr = error_for(&GOOD.replace(
        "resources: {report_settings: {displayConcealedNames: false}}",
        "resources: {reportsettings: {}}",
    ));
    assert!(
        stderr.contains("unknown resource 'reportsettings'"),
        "{stderr}"
    );
}

#[test]
fn duplicate_policy_ids_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a.yaml"), GOOD).expect("write");
    std::fs::write(dir.path().join("b.yaml"), GOOD).expect("write");
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already used"));
}

#[test]
fn policy_without_a_failing_example_does_not_pass_policy_test() {
    let text = GOOD.replace("  - {name: bad, expect: fail, resources: {report_settings: {displayConcealedNames: false}}}\n", "");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("p.yaml"), text).expect("write");
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("expect: fail"));
}

#[test]
fn example_with_wrong_expectation_fails_policy_test() {
    let text = GOOD.replace("{name: ok, expect: pass", "{name: ok, expect: fail");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("p.yaml"), text).expect("write");
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAILED"));
}

#[test]
fn empty_policy_directory_exits_2() {
    let dir = tempfile::tempdir().expect("dir");
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no policy files"));
}

#[test]
fn an_unknown_absent_choice_is_refused() {
    let text = GOOD.replace("  equals: true\n", "  absent: maybe\n  equals: true\n");
    let stderr = error_for(&text);
    expect_at(&stderr, "8:11", "`absent: maybe` is not a choice");
}

#[test]
fn absent_on_a_combinator_is_refused() {
    let text = GOOD.replace(
        "  resource: report_settings\n  path: $.displayConcealedNames\n  equals: true\n",
        "  resource: report_settings\n  absent: ok\n  all_of:\n    - path: $.displayConcealedNames\n      equals: true\n",
    );
    let stderr = error_for(&text);
    expect_at(&stderr, "7:11", "`absent` on a combinator");
}

#[test]
fn a_matches_pattern_that_is_not_a_regular_expression_is_refused() {
    let text = GOOD.replace("  equals: true\n", "  matches: \"(unclosed\"\n");
    let stderr = error_for(&text);
    expect_at(&stderr, "8:12", "is not a regular expression");
}

//! The shipped pack: every policy's own examples hold (the same run as `cloudkeur policy test`).

use cloudkeur::policy::{PackSource, PolicyPack, run_examples};

#[test]
fn every_shipped_policy_example_holds() {
    let pack = PolicyPack::load(&PackSource::BuiltIn)
        .unwrap_or_else(|e| panic!("built-in pack loads: {e}"));
    let results = run_examples(&pack);
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.held())
        .map(|r| {
            format!(
                "{} :: {} ({}): {}",
                r.policy,
                r.example,
                r.location,
                r.problem.as_deref().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "policy examples that do not hold:\n{}",
        failures.join("\n")
    );
    assert!(
        results.len() >= 2 * pack.policies.len(),
        "at least a pass and a fail example per policy"
    );
}

#[test]
fn the_first_four_controls_are_served() {
    let pack = PolicyPack::load(&PackSource::BuiltIn)
        .unwrap_or_else(|e| panic!("built-in pack loads: {e}"));
    for control in ["VTC-MFA-01", "VTC-MFA-02", "VTC-TEL-01", "VTC-SHR-01"] {
        assert!(
            pack.policies.iter().any(|p| p.control == control),
            "{control} has a policy"
        );
    }
}

#[test]
fn policy_test_command_runs_the_same_examples() {
    let output = assert_cmd::Command::cargo_bin("cloudkeur")
        .expect("bin")
        .args(["policy", "test"])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(" 0 failed"));
}

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

/// The catalogue's `kind` (what `policy list` and docs/controls.md tell the DPO about how a control
/// is proven) says what its policies do, for every vendor: no rule is `evidence`, a rule with a
/// `measured:`/`declared:` node is `measured_else_declared`, a rule completed by a required
/// declaration is `mixed`, a rule alone is `automated`.
#[test]
fn every_controls_kind_says_how_its_policies_prove_it() {
    use cloudkeur::catalog::ControlKind;
    let pack = PolicyPack::load(&PackSource::BuiltIn)
        .unwrap_or_else(|e| panic!("built-in pack loads: {e}"));
    let mut wrong = Vec::new();
    let mut judged = 0;
    for policy in pack.policies.iter().filter(|p| p.not_applicable.is_none()) {
        let control = pack.catalog.get(&policy.control).unwrap_or_else(|| {
            panic!("{}: control {} in the catalogue", policy.id, policy.control)
        });
        // A rule over the declaration and the settings alone reads nothing from the tenant.
        let reads_tenant = policy
            .resources
            .iter()
            .any(|r| r != "evidence" && r != "settings");
        let shown = match (&policy.rule, &policy.evidence) {
            (None, _) => ControlKind::Evidence,
            (Some(_), _) if !reads_tenant => ControlKind::Evidence,
            (Some(rule), _) if rule.has_fallback() => ControlKind::MeasuredElseDeclared,
            (Some(_), Some(_)) => ControlKind::Mixed,
            (Some(_), None) => ControlKind::Automated,
        };
        for vendor in &policy.vendors {
            judged += 1;
            let said = control.kind_for(*vendor);
            if said != shown {
                wrong.push(format!(
                    "{} ({vendor:?}): the catalogue says {said:?}, the policy is {shown:?}",
                    policy.id
                ));
            }
        }
    }
    assert!(judged >= 31, "only {judged} policies judged");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

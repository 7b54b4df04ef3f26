//! Policy × snapshot → finding. Pure: reads only the snapshot already in memory.

use super::rule::Truth;
use super::{Policy, PolicyPack};
use crate::findings::{Finding, Verdict};
use crate::snapshot::Snapshot;

/// One finding per policy, in catalogue order.
pub fn evaluate(pack: &PolicyPack, snapshot: &Snapshot) -> Vec<Finding> {
    pack.policies
        .iter()
        .map(|policy| evaluate_policy(policy, snapshot))
        .collect()
}

pub fn evaluate_policy(policy: &Policy, snapshot: &Snapshot) -> Finding {
    let outcome = policy.rule.evaluate(snapshot);
    let verdict = match outcome.truth {
        Truth::Pass => Verdict::Pass,
        Truth::Fail => Verdict::Fail,
        Truth::Error => Verdict::Error,
    };
    Finding {
        control: policy.control.clone(),
        policy: policy.id.clone(),
        title: policy.title.clone(),
        severity: policy.severity,
        verdict,
        reason: outcome.reason,
        items: outcome.items,
        remediation: policy.remediation.clone(),
        guideline: policy.guideline.clone(),
        gdpr: policy.gdpr.clone(),
        resources: policy.resources.clone(),
    }
}

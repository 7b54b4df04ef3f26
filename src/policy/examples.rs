//! Runs every policy's own examples: the proof that a rule means what its author thinks.
//!
//! JSONPath filters that are subtly wrong select nothing instead of failing to parse, so a policy
//! is only trusted when it passes its passing example and fails its failing one.

use super::source::ExpectedVerdict;
use super::{Example, Policy, PolicyPack, evaluate_policy};
use crate::evidence::Evidence;
use crate::findings::{Finding, Verdict};
use crate::registry::Registry;
use crate::snapshot::{Layout, Projection, Snapshot, SnapshotMeta, Wanted, project};

#[derive(Debug, Clone)]
pub struct ExampleResult {
    pub policy: String,
    /// `file:line` of the example, or of the policy when an example is lacking.
    pub location: String,
    pub example: String,
    /// `None` when it held; otherwise what went wrong.
    pub problem: Option<String>,
}

impl ExampleResult {
    pub fn held(&self) -> bool {
        self.problem.is_none()
    }
}

pub fn run_examples(pack: &PolicyPack) -> Vec<ExampleResult> {
    let mut results = Vec::new();
    for policy in &pack.policies {
        if policy.not_applicable.is_some() {
            // Nothing to judge, so nothing to show: its verdict is fixed.
            continue;
        }
        // A rule must show it can fail; a declaration-only policy can only lack its declaration.
        let non_pass = if policy.rule.is_some() {
            ("fail", ExpectedVerdict::Fail)
        } else {
            ("evidence-missing", ExpectedVerdict::EvidenceMissing)
        };
        for (name, kind) in [("pass", ExpectedVerdict::Pass), non_pass] {
            if !policy.examples.iter().any(|e| e.expect == kind) {
                results.push(ExampleResult {
                    policy: policy.id.clone(),
                    location: policy.file.display().to_string(),
                    example: format!("(no {name} example)"),
                    problem: Some(format!(
                        "every policy needs at least one `expect: {name}` example"
                    )),
                });
            }
        }
        let wanted = super::projections([policy], &pack.registry);
        for example in &policy.examples {
            let evidence = match &example.evidence {
                Some(declaration) => Evidence::from_declarations(
                    std::iter::once((policy.control.clone(), declaration.clone())).collect(),
                ),
                None => Evidence::default(),
            };
            let snapshot = example_snapshot(&pack.registry, &wanted, example, policy);
            let snapshot = crate::google::derive(&snapshot);
            let settings = example.settings.to_document();
            let finding = evaluate_policy(policy, &snapshot, &settings, &evidence, example.today);
            results.push(ExampleResult {
                policy: policy.id.clone(),
                location: format!("{}:{}", policy.file.display(), example.position.line),
                example: example.name.clone(),
                problem: judge(policy, example, &finding),
            });
        }
    }
    results
}

/// The example's bodies are projected as a scan of this policy alone would read them, so every
/// example also checks that the projection keeps what the rule reads.
fn example_snapshot(
    registry: &Registry,
    wanted: &Wanted,
    example: &Example,
    policy: &Policy,
) -> Snapshot {
    let mut snapshot = Snapshot::new(SnapshotMeta {
        tenant_id: "example".into(),
        tenant_name: None,
        source: "policy example".into(),
        // Collected on the example's scan date, at midnight UTC.
        collected_at: format!("{}T00:00:00Z", example.today),
        manifest_sha256: String::new(),
    });
    // A policy for one vendor is shown on that vendor's data (one for several: the first).
    if let Some(vendor) = policy.vendors.first() {
        snapshot.set_vendor(*vendor);
    }
    for (name, body) in &example.resources {
        if let Some(spec) = registry.get(name).filter(|spec| !spec.is_derived()) {
            let projection = wanted.get(name).unwrap_or(&Projection::Whole);
            let body = project(body, Layout::of(spec), projection);
            snapshot.insert_read(name.clone(), spec.kind, body);
        }
    }
    for (name, reason) in &example.unreadable {
        snapshot.insert_unreadable(name.clone(), reason.clone());
    }
    for (name, reason) in &example.unavailable {
        snapshot.insert_unavailable(name.clone(), reason.clone());
    }
    snapshot
}

fn judge(policy: &Policy, example: &Example, finding: &Finding) -> Option<String> {
    let expected = match example.expect {
        ExpectedVerdict::Pass => Verdict::Pass,
        ExpectedVerdict::Fail => Verdict::Fail,
        ExpectedVerdict::Error => Verdict::Error,
        ExpectedVerdict::EvidenceMissing => Verdict::EvidenceMissing,
        ExpectedVerdict::EvidenceExpired => Verdict::EvidenceExpired,
    };
    if finding.verdict != expected {
        return Some(format!(
            "expected {expected}, got {} ({})",
            finding.verdict, finding.reason
        ));
    }
    if let Some(wanted) = &example.items {
        let mut got: Vec<&str> = finding
            .items
            .iter()
            .map(|i| i.label.as_deref().unwrap_or(&i.path))
            .collect();
        let mut wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        got.sort_unstable();
        wanted.sort_unstable();
        if got != wanted {
            return Some(format!(
                "{}: expected items {wanted:?}, got {got:?}",
                policy.id
            ));
        }
    }
    None
}

//! Evaluator: an arbitrary JSON body as every resource the built-in pack reads (and wrapped as a
//! collection's `value`), with some resources unreadable, evaluated with default settings.
//!
//! Never a panic, and never a pass that does not rest on readable resources:
//! - a policy all of whose resources are unreadable (not collected, failed, or of the wrong
//!   shape for the registry) does not pass;
//! - a policy that passes while some of its resources are unreadable passes just the same when
//!   those resources hold any body at all (the fuzzed one, an empty one, a list of nulls):
//!   otherwise the pass depended on data nobody could read.
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{ResourceData, Snapshot, SnapshotMeta};
use serde_json::{Value, json};
use std::sync::OnceLock;

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("built-in pack"))
}

/// Every resource gets `body`, except those `unreadable` picks (bit by bit in registry order):
/// those are unreadable, or hold `instead` when it is given.
fn snapshot(body: &Value, unreadable: u64, instead: Option<&Value>) -> Snapshot {
    let mut snapshot = Snapshot::new(SnapshotMeta {
        tenant_id: "fuzz".into(),
        tenant_name: None,
        source: "fuzz".into(),
        collected_at: "2026-11-20T06:00:00Z".into(),
        manifest_sha256: String::new(),
    });
    for (index, (name, spec)) in pack().registry.iter().enumerate() {
        let picked = unreadable & (1 << (index % 64)) != 0;
        match (picked, instead) {
            (false, _) => snapshot.insert_read(name.clone(), spec.kind, body.clone()),
            (true, None) => snapshot.insert_unreadable(name.clone(), "HTTP 403: fuzz"),
            (true, Some(other)) => snapshot.insert_read(name.clone(), spec.kind, other.clone()),
        }
    }
    snapshot
}

fn evaluate_on(snapshot: &Snapshot) -> Vec<Finding> {
    let settings = Settings::default();
    let evidence = Evidence::default();
    let findings = evaluate(
        pack(),
        Inputs {
            snapshot,
            settings: &settings,
            evidence: &evidence,
            today: time::Date::from_calendar_date(2026, time::Month::November, 23).expect("date"),
        },
    );
    let vendor = snapshot.vendor();
    assert_eq!(
        findings.len(),
        pack().policies.iter().filter(|p| p.is_for(vendor)).count()
    );
    findings
}

/// The registry resources a finding read (`evidence` is the declarations, not a resource).
fn snapshot_resources(finding: &Finding) -> impl Iterator<Item = &String> {
    finding
        .resources
        .iter()
        .filter(|r| pack().registry.get(r).is_some())
}

fn check(body: &Value, unreadable: u64) {
    let with_gaps = snapshot(body, unreadable, None);
    let findings = evaluate_on(&with_gaps);
    let passed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Pass)
        .collect();
    for finding in &passed {
        let mut read = snapshot_resources(finding)
            .filter(|r| matches!(with_gaps.resource(r), Some(ResourceData::Read(_))))
            .peekable();
        let reads_any = snapshot_resources(finding).next().is_some();
        assert!(
            !reads_any || read.peek().is_some(),
            "{} passed with every resource it reads unreadable: {}",
            finding.policy,
            finding.reason
        );
    }
    if passed.is_empty() || unreadable == 0 {
        return;
    }
    for instead in [
        body.clone(),
        json!({}),
        json!({"value": []}),
        json!({"value": [null]}),
    ] {
        let filled = evaluate_on(&snapshot(body, unreadable, Some(&instead)));
        for finding in &passed {
            let now = filled
                .iter()
                .find(|f| f.policy == finding.policy)
                .map(|f| f.verdict);
            assert_eq!(
                now,
                Some(Verdict::Pass),
                "{} passed while resources were unreadable, but not when they hold {instead}: the pass rested on unread data ({})",
                finding.policy,
                finding.reason
            );
        }
    }
}

/// One fuzz input (the cargo-fuzz target's whole body; `tests/it/fuzz_bodies.rs` runs it on
/// seeds, so `cargo test` builds it and keeps it working).
pub fn run(data: &[u8]) {
    // Eight bytes of unreadable mask, then the JSON body.
    let (mask, json) = data.split_at(data.len().min(8));
    let mut unreadable = [0u8; 8];
    unreadable[..mask.len()].copy_from_slice(mask);
    let unreadable = u64::from_le_bytes(unreadable);
    let Ok(body) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    for mask in [0, unreadable] {
        check(&body, mask);
        check(&json!({"value": body}), mask);
        check(&json!({"value": [body.clone()]}), mask);
    }
}

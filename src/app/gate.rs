//! The change gate: `scan --offline BASE --overlay DIR [--gate new-only]`.
//!
//! The overlay is laid over the base snapshot in memory; with `--gate new-only` the base is
//! evaluated too (same policies, settings, evidence, waivers and date) and only the non-compliant
//! findings the change introduces, compared by policy and verdict, decide the exit code.

use super::plan::ScanPlan;
use super::{Error, Outcome};
use crate::findings::{Finding, Report, Verdict};
use crate::policy::{Inputs, PolicyPack, evaluate};
use crate::snapshot::Snapshot;
use crate::waiver::Waivers;
use std::collections::BTreeSet;

/// Lays `--overlay` over the snapshot; returns the snapshot as it was, when `--gate new-only`
/// needs it.
pub(super) fn lay_overlay(
    snapshot: &mut Snapshot,
    plan: &ScanPlan,
) -> Result<Option<Snapshot>, Error> {
    let Some(dir) = plan.overlay() else {
        return Ok(None);
    };
    let base = plan.new_only().then(|| snapshot.clone());
    let applied = crate::snapshot::apply_overlay(snapshot, dir, &plan.pack.registry)?;
    snapshot.meta.source = format!("{} + overlay {}", snapshot.meta.source, dir.display());
    crate::logging::info(
        "overlay",
        &format!(
            "overlay {}: {} replaced or added ({})",
            dir.display(),
            applied.len(),
            applied.join(", ")
        ),
    );
    Ok(base)
}

/// The (policy, verdict) pairs that already breach the threshold without the overlay.
pub(super) fn base_breaches(
    base: Option<&Snapshot>,
    pack: &PolicyPack,
    inputs: Inputs<'_>,
    waivers: &Waivers,
    plan: &ScanPlan,
) -> BTreeSet<(String, Verdict)> {
    let Some(base) = base else {
        return BTreeSet::new();
    };
    let mut findings = evaluate(
        pack,
        Inputs {
            snapshot: base,
            ..inputs
        },
    );
    crate::waiver::apply(&mut findings, waivers, inputs.today);
    findings
        .iter()
        .filter(|f| f.breaches(plan.output.fail_on))
        .map(|f| (f.policy.clone(), f.verdict))
        .collect()
}

/// The exit outcome: every breach (`--gate all`), or only those the overlay introduced.
pub(super) fn outcome(
    report: &Report,
    plan: &ScanPlan,
    base: &BTreeSet<(String, Verdict)>,
) -> Outcome {
    let fail_on = plan.output.fail_on;
    if !plan.new_only() {
        return if report.passes_gate(fail_on) {
            Outcome::Compliant
        } else {
            Outcome::NotCompliant
        };
    }
    let introduced: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.breaches(fail_on) && !base.contains(&(f.policy.clone(), f.verdict)))
        .collect();
    if introduced.is_empty() {
        crate::logging::info(
            "gate",
            &format!(
                "gate new-only: the change introduces no non-compliant finding ({} already present in the base)",
                base.len()
            ),
        );
        Outcome::Compliant
    } else {
        let list: Vec<String> = introduced
            .iter()
            .map(|f| format!("{} {} ({})", f.verdict, f.policy, f.control))
            .collect();
        crate::logging::info(
            "gate",
            &format!(
                "gate new-only: the change introduces {}: {}",
                introduced.len(),
                list.join("; ")
            ),
        );
        Outcome::NotCompliant
    }
}

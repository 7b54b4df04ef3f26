//! Policy × inputs → finding. Pure: reads only what is already in memory, including the clock.

use super::rule::{Context, Truth};
use super::{EvidenceNeed, Policy, PolicyPack};
use crate::evidence::{Evidence, parse_date};
use crate::findings::{Finding, FindingItem, Verdict};
use crate::settings::Settings;
use crate::snapshot::Snapshot;
use rayon::prelude::*;
use serde_json::Value;

/// Everything a verdict may depend on. The scan date is an input, so a replay of an old
/// snapshot with the same date gives the same verdicts.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub settings: &'a Settings,
    pub evidence: &'a Evidence,
    pub today: time::Date,
}

/// One finding per policy of the snapshot's vendor, in catalogue order. Policies are
/// independent and read shared, immutable inputs, so they are evaluated on every core. The
/// vendor's derived resources (Google's effective settings) are made first, from the snapshot
/// alone.
pub fn evaluate(pack: &PolicyPack, inputs: Inputs<'_>) -> Vec<Finding> {
    let settings = inputs.settings.to_document();
    let vendor = inputs.snapshot.vendor();
    let snapshot = crate::google::derive(inputs.snapshot);
    let policies: Vec<&Policy> = pack.policies.iter().filter(|p| p.is_for(vendor)).collect();
    policies
        .par_iter()
        // One policy per task: the costly ones (MFA-04, LOC-02) must not share a thread's share.
        .with_max_len(1)
        .map(
            |policy| match inputs.settings.skip_reason(&policy.control) {
                Some(reason) => finding(
                    policy,
                    Verdict::NotApplicable,
                    format!("declared not applicable in the tenant settings: {reason}"),
                    Vec::new(),
                ),
                None => {
                    evaluate_policy(policy, &snapshot, &settings, inputs.evidence, inputs.today)
                }
            },
        )
        .collect()
}

/// `settings` is the settings document (`Settings::to_document`), built once per scan; the
/// snapshot already holds its derived resources (see [`crate::google::derive`]).
///
/// A required declaration (`evidence:` without `optional`) is checked first: absent,
/// incomplete or expired, it decides the verdict. An optional one is checked too, but counts
/// only if the rule reads it: the rule sees it only when it is complete and current, and an
/// outcome left undecided for want of it becomes `evidence-missing` or `evidence-expired`.
pub fn evaluate_policy(
    policy: &Policy,
    snapshot: &Snapshot,
    settings: &Value,
    evidence: &Evidence,
    today: time::Date,
) -> Finding {
    if let Some(reason) = &policy.not_applicable {
        return finding(
            policy,
            Verdict::NotApplicable,
            format!("not applicable to {}: {reason}", vendors_text(policy)),
            Vec::new(),
        );
    }
    let declaration = evidence.declaration(&policy.control);
    let checked = policy.evidence.as_ref().map(|need| {
        (
            need,
            check_declaration(&policy.control, need, declaration, today),
        )
    });
    let usable = match &checked {
        Some((need, Err((verdict, reason)))) if !need.optional => {
            return finding(policy, *verdict, reason.clone(), Vec::new());
        }
        Some((_, Err(_))) | None => None,
        Some((_, Ok(_))) => declaration,
    };
    let Some(rule) = &policy.rule else {
        let reason = match &checked {
            Some((_, Ok(note))) => note.clone(),
            _ => String::new(),
        };
        return finding(policy, Verdict::Pass, reason, Vec::new());
    };
    let mut context = Context::new(snapshot, settings, usable, today);
    context.no_declaration = declaration.is_none();
    let outcome = rule.evaluate(context);
    let (verdict, mut reason) = match (outcome.truth, &checked) {
        (Truth::Pass, _) => (Verdict::Pass, outcome.reason),
        (Truth::Fail, _) => (Verdict::Fail, outcome.reason),
        // Undecided only for want of a declaration that would decide it: say what is missing,
        // or that it expired.
        (Truth::Error, Some((_, Err((verdict, why))))) if outcome.missing_evidence => {
            (*verdict, join(&outcome.reason, why))
        }
        (Truth::Error, _) if outcome.missing_evidence => (Verdict::EvidenceMissing, outcome.reason),
        (Truth::Error, _) => (Verdict::Error, outcome.reason),
    };
    match &checked {
        // Say who declared what the verdict rests on.
        Some((need, Ok(note))) if !need.optional || need.direct || outcome.declared => {
            reason = join(&reason, note);
        }
        // A declaration the verdict did not need is not judged, but its state is worth a line.
        Some((_, Err((_, why))))
            if declaration.is_some()
                && !matches!(verdict, Verdict::EvidenceMissing | Verdict::EvidenceExpired) =>
        {
            reason = join(&reason, &format!("note: {why}; it was not needed here"));
        }
        _ => {}
    }
    finding(policy, verdict, reason, outcome.items)
}

fn join(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (true, _) => second.to_owned(),
        (_, true) => first.to_owned(),
        _ => format!("{first}; {second}"),
    }
}

/// The declaration exists, carries what the policy needs, and has not expired; otherwise the
/// verdict it earns. On success, a one-line account of it for the reason text.
fn check_declaration(
    control: &str,
    need: &EvidenceNeed,
    declaration: Option<&Value>,
    today: time::Date,
) -> Result<String, (Verdict, String)> {
    let Some(declaration) = declaration else {
        let mut wanted = need
            .values
            .iter()
            .map(|v| format!("values.{v}"))
            .chain(need.files.iter().map(|f| format!("files.{f}")))
            .collect::<Vec<_>>()
            .join(", ");
        if !wanted.is_empty() {
            wanted = format!(" with {wanted}");
        }
        return Err((
            Verdict::EvidenceMissing,
            format!(
                "no declaration for {control} in the evidence file; declare it{wanted} (README: evidence file)"
            ),
        ));
    };
    let text = |key: &str| {
        declaration
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    // A declaration made after the scan date did not exist on that date (a replay with --date,
    // or a date mistyped into the future): it proves nothing for this scan.
    let declared_on = text("declared_on");
    match parse_date(declared_on) {
        Some(date) if date > today => {
            return Err((
                Verdict::EvidenceMissing,
                format!(
                    "the declaration for {control} is dated {declared_on}, after the scan date {today}: it does not count for this scan; correct declared_on, or scan with a later --date"
                ),
            ));
        }
        Some(_) => {}
        None => {
            return Err((
                Verdict::EvidenceMissing,
                format!("the declaration for {control} has no declared_on date"),
            ));
        }
    }
    let valid_until = text("valid_until");
    match parse_date(valid_until) {
        Some(date) if date < today => {
            return Err((
                Verdict::EvidenceExpired,
                format!(
                    "the declaration for {control} expired on {valid_until} (declared by {} on {})",
                    text("declared_by"),
                    text("declared_on")
                ),
            ));
        }
        Some(_) => {}
        None => {
            return Err((
                Verdict::EvidenceMissing,
                format!("the declaration for {control} has no valid_until date"),
            ));
        }
    }
    let missing: Vec<String> = need
        .values
        .iter()
        .filter(|v| {
            declaration
                .pointer(&format!("/values/{v}"))
                .is_none_or(is_blank)
        })
        .map(|v| format!("values.{v}"))
        .chain(
            need.files
                .iter()
                .filter(|f| declaration.pointer(&format!("/files/{f}")).is_none())
                .map(|f| format!("files.{f}")),
        )
        .collect();
    if !missing.is_empty() {
        return Err((
            Verdict::EvidenceMissing,
            format!("the declaration for {control} lacks {}", missing.join(", ")),
        ));
    }
    Ok(format!(
        "declared by {} on {}, valid until {valid_until}: {} (document: {})",
        text("declared_by"),
        text("declared_on"),
        text("statement"),
        text("document")
    ))
}

/// "Google Workspace", or "Microsoft 365 and Google Workspace".
fn vendors_text(policy: &Policy) -> String {
    policy
        .vendors
        .iter()
        .map(|v| v.suite())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn finding(policy: &Policy, verdict: Verdict, reason: String, items: Vec<FindingItem>) -> Finding {
    Finding {
        control: policy.control.clone(),
        policy: policy.id.clone(),
        title: policy.title.clone(),
        severity: policy.severity,
        verdict,
        reason,
        items,
        remediation: policy.remediation.clone(),
        guideline: policy.guideline.clone(),
        gdpr: policy.gdpr.clone(),
        resources: policy.resources.clone(),
        waiver: None,
    }
}

//! Waivers (`--waivers FILE`): decided exceptions to a control or policy, optionally for named
//! items only, with the decision's motivation, who decided it, the DPO's advice and an end date.
//!
//! A waiver never hides a verdict. A waived finding gets the verdict `waived` and keeps its own
//! verdict underneath (`Finding::waiver`); a finding whose offending items are only partly waived
//! keeps its verdict. An expired waiver no longer applies and is reported, and so is a waiver that
//! matches nothing (stale). A waiver can never cover an `error`: data nobody could read is not an
//! exception anyone decided on.
//!
//! Who decides follows the Flemish practice (e.g. Beleidskader Gegevensbescherming Stad Gent,
//! §5.1): the college (or whoever it delegated) decides; the DPO only advises, so `decided_by`
//! cannot be the DPO, and a decision that deviates from the DPO's advice must be motivated.
//!
//! Applying waivers is pure: the scan date is an input. It must run before identities are
//! pseudonymised, because waivers name items by their real label.

use crate::catalog::Catalog;
use crate::diag::{Diagnostic, Position, locate_text, parse_yaml};
use crate::evidence::parse_date;
use crate::findings::{Finding, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use time::Date;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    waivers: Vec<WaiverSource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverSource {
    id: String,
    #[serde(default)]
    control: Option<String>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    items: Vec<String>,
    motivation: String,
    decided_by: String,
    decided_on: String,
    #[serde(default)]
    decision: Option<String>,
    dpo_advice: DpoAdvice,
    valid_until: String,
}

/// Whether the decision followed the DPO's advice. A deviation carries its own motivation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpoAdvice {
    pub outcome: AdviceOutcome,
    /// The advice's reference, e.g. `DPO-advies 2026/014`.
    pub reference: String,
    /// Why the decision deviates from the advice (required for `deviated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motivation: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdviceOutcome {
    Followed,
    Deviated,
}

/// What a waiver is for: a whole control (every policy serving it) or one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverTarget {
    Control(String),
    Policy(String),
}

impl WaiverTarget {
    fn matches(&self, finding: &Finding) -> bool {
        match self {
            WaiverTarget::Control(id) => *id == finding.control,
            WaiverTarget::Policy(id) => *id == finding.policy,
        }
    }
}

/// One checked waiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub id: String,
    pub target: WaiverTarget,
    /// Item labels or JSONPaths; empty means the whole finding.
    pub items: Vec<String>,
    pub motivation: String,
    pub decided_by: String,
    pub decided_on: Date,
    pub decision: Option<String>,
    pub dpo_advice: DpoAdvice,
    pub valid_until: Date,
}

/// All waivers of one file.
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    pub waivers: Vec<Waiver>,
}

/// A waiver as a finding shows it (no item labels: those may name people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    pub id: String,
    pub motivation: String,
    pub decided_by: String,
    pub decided_on: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    pub dpo_advice: DpoAdvice,
    pub valid_until: String,
    /// JSONPaths of the items this waiver covers; empty when it covers the whole finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// The waivers bearing on one finding, and the verdict the finding earned on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingWaiver {
    /// The verdict policy evaluation gave, before any waiver.
    pub verdict_underneath: Verdict,
    /// Waivers in force that cover this finding or some of its items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<AppliedWaiver>,
    /// Why a waiver that names this finding did not (fully) apply: expired, partial, error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How a waiver fared in this scan; the report lists every waiver of the file with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaiverState {
    /// Made at least one finding `waived`.
    Applied,
    /// Covers some, not all, offending items: the finding keeps its verdict.
    Partial,
    /// Past its valid_until: applies no more; decide again or fix the finding.
    Expired,
    /// Names a finding whose data could not be read (`error`); never waived.
    Refused,
    /// Decided after the scan date (`--date`): not in force for this scan.
    NotYetDecided,
    /// In force but matches nothing non-compliant in this scan: remove it or correct it.
    Stale,
}

/// One line of the report's `waivers` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverStatus {
    pub id: String,
    #[serde(flatten)]
    pub target: WaiverTarget,
    pub state: WaiverState,
    pub valid_until: String,
    pub decided_by: String,
    /// The findings (policy ids) it bears on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

fn format_date(date: Date) -> String {
    date.format(crate::evidence::DATE_FORMAT)
        .unwrap_or_default()
}

/// Abbreviations of the DPO's title, as whole words: DPO (English; also used in Flanders), FG
/// (functionaris gegevensbescherming, the Dutch title), DPD (délégué à la protection des
/// données, for bilingual Brussels bodies).
const DPO_ABBREVIATIONS: &[&str] = &["dpo", "fg", "dpd"];

/// The DPO's full titles, each as the words that must all occur (in the text with spaces and
/// punctuation removed): Dutch (functionaris (voor de) gegevensbescherming,
/// gegevensbeschermingsfunctionaris, gegevensbeschermingsambtenaar), English (data protection
/// officer) and French (délégué à la protection des données).
const DPO_TITLES: &[&[&str]] = &[
    &["functionaris", "gegevensbescherming"],
    &["gegevensbeschermingsfunctionaris"],
    &["gegevensbeschermingsambtenaar"],
    &["dataprotectionofficer"],
    &["delegue", "protectiondesdonnees"],
];

/// Whether a `decided_by` names the DPO, who advises and never decides (GDPR art. 38–39).
///
/// Compared after Unicode compatibility normalisation (NFKD: full-width letters and
/// ligatures become plain ones) with accents dropped and case folded, dots removed and single
/// letters joined (`de D.P.O.`, `D P O`), so spelling cannot slip the DPO past the check.
/// Letters from other scripts that merely look Latin are not caught.
pub fn names_the_dpo(role: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let folded: String = role
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| *c != '.')
        .collect();
    let mut words: Vec<String> = Vec::new();
    // A run of single letters (`d p o`) is one word spelled out.
    let mut letters = String::new();
    for token in folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty())
    {
        if token.chars().count() == 1 {
            letters.push_str(token);
            continue;
        }
        if !letters.is_empty() {
            words.push(std::mem::take(&mut letters));
        }
        words.push(token.to_owned());
    }
    if !letters.is_empty() {
        words.push(letters);
    }
    let compact: String = words.concat();
    words
        .iter()
        .any(|word| DPO_ABBREVIATIONS.contains(&word.as_str()))
        || DPO_TITLES
            .iter()
            .any(|parts| parts.iter().all(|part| compact.contains(part)))
}

impl Waivers {
    /// Reads and checks a waiver file; `policies` are the ids of every policy in the pack.
    pub fn load(
        file: &Path,
        catalog: &Catalog,
        policies: &BTreeSet<String>,
    ) -> Result<Self, Diagnostic> {
        let text = crate::input_file::read_text(file, crate::input_file::Limit::DOCUMENT).map_err(
            |err| {
                err.diagnostic(
                    file,
                    "waiver file",
                    "pass an existing YAML file to --waivers (README: waivers)",
                )
            },
        )?;
        let parsed: WaiverFile = parse_yaml(file, &text)?;
        let mut seen = BTreeSet::new();
        let mut waivers = Vec::new();
        for source in parsed.waivers {
            let at = match locate_text(&text, &format!("id: {}", source.id)) {
                Position { line: 0, .. } => locate_text(&text, &source.id),
                found => found,
            };
            let error =
                |message: String, fix: &str| Diagnostic::new(file, at, message).with_fix(fix);
            let id = source.id.trim().to_owned();
            if id.is_empty() {
                return Err(error(
                    "a waiver has an empty id".into(),
                    "give every waiver an id, e.g. W-2026-001",
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(error(
                    format!("waiver id '{id}' is used twice"),
                    "give every waiver its own id",
                ));
            }
            let target = match (source.control, source.policy) {
                (Some(control), None) => {
                    if catalog.get(&control).is_none() {
                        return Err(error(
                            format!("{id}: unknown control '{control}'"),
                            "use a control ID from `cloudkeur policy list`",
                        ));
                    }
                    WaiverTarget::Control(control)
                }
                (None, Some(policy)) => {
                    if !policies.contains(&policy) {
                        return Err(error(
                            format!("{id}: unknown policy '{policy}'"),
                            "use a policy id from `cloudkeur policy list`",
                        ));
                    }
                    WaiverTarget::Policy(policy)
                }
                _ => {
                    return Err(error(
                        format!("{id}: a waiver names exactly one of `control` or `policy`"),
                        "write either `control: VTC-...` or `policy: <policy id>`",
                    ));
                }
            };
            for (field, value) in [
                ("motivation", &source.motivation),
                ("decided_by", &source.decided_by),
                ("dpo_advice.reference", &source.dpo_advice.reference),
            ] {
                if value.trim().is_empty() {
                    return Err(error(
                        format!("{id}: `{field}` is empty"),
                        "say why the exception is accepted, which role decided it and which DPO advice it rests on",
                    ));
                }
            }
            if names_the_dpo(&source.decided_by) {
                return Err(error(
                    format!(
                        "{id}: decided_by '{}' is the DPO, who advises but does not decide",
                        source.decided_by
                    ),
                    "name the deciding body, e.g. `college van burgemeester en schepenen` or the role it delegated to, and put the DPO's advice under dpo_advice",
                ));
            }
            if source.dpo_advice.outcome == AdviceOutcome::Deviated
                && source
                    .dpo_advice
                    .motivation
                    .as_deref()
                    .is_none_or(|m| m.trim().is_empty())
            {
                return Err(error(
                    format!(
                        "{id}: the decision deviates from the DPO's advice without a motivation"
                    ),
                    "add dpo_advice.motivation: why the decision does not follow the advice",
                ));
            }
            let decided_on = parse_date(&source.decided_on).ok_or_else(|| {
                error(
                    format!("{id}: decided_on '{}' is not a date", source.decided_on),
                    "write it as YYYY-MM-DD",
                )
            })?;
            let valid_until = parse_date(&source.valid_until).ok_or_else(|| {
                error(
                    format!("{id}: valid_until '{}' is not a date", source.valid_until),
                    "write it as YYYY-MM-DD; every waiver ends",
                )
            })?;
            if valid_until < decided_on {
                return Err(error(
                    format!("{id}: valid_until is before decided_on"),
                    "correct the dates",
                ));
            }
            if source.items.iter().any(|i| i.trim().is_empty()) {
                return Err(error(
                    format!("{id}: an entry of `items` is empty"),
                    "name each item by its label (e.g. an account or site URL) or its JSONPath",
                ));
            }
            waivers.push(Waiver {
                id,
                target,
                items: source.items,
                motivation: source.motivation,
                decided_by: source.decided_by,
                decided_on,
                decision: source.decision,
                dpo_advice: source.dpo_advice,
                valid_until,
            });
        }
        Ok(Waivers { waivers })
    }

    pub fn is_empty(&self) -> bool {
        self.waivers.is_empty()
    }
}

impl Waiver {
    fn as_applied(&self, items: Vec<String>) -> AppliedWaiver {
        AppliedWaiver {
            id: self.id.clone(),
            motivation: self.motivation.clone(),
            decided_by: self.decided_by.clone(),
            decided_on: format_date(self.decided_on),
            decision: self.decision.clone(),
            dpo_advice: self.dpo_advice.clone(),
            valid_until: format_date(self.valid_until),
            items,
        }
    }

    /// Paths of the finding's items this waiver names (by label or path).
    fn covered_items(&self, finding: &Finding) -> Vec<String> {
        finding
            .items
            .iter()
            .filter(|item| {
                self.items
                    .iter()
                    .any(|name| *name == item.path || item.label.as_deref() == Some(name.as_str()))
            })
            .map(|item| item.path.clone())
            .collect()
    }
}

/// Applies the waivers to the findings as of `today`; returns the state of every waiver.
/// Pure: no clock, no I/O.
pub fn apply(findings: &mut [Finding], waivers: &Waivers, today: Date) -> Vec<WaiverStatus> {
    let mut states: Vec<(WaiverState, Vec<String>)> =
        vec![(WaiverState::Stale, Vec::new()); waivers.waivers.len()];
    for finding in findings.iter_mut() {
        let own = finding.verdict;
        let mut applied = Vec::new();
        let mut notes = Vec::new();
        let mut covered: BTreeSet<String> = BTreeSet::new();
        let mut whole = false;
        let mut partial_ids = Vec::new();
        for (index, waiver) in waivers.waivers.iter().enumerate() {
            if !waiver.target.matches(finding) {
                continue;
            }
            let state = &mut states[index];
            if waiver.decided_on > today {
                notes.push(format!(
                    "waiver {} was decided on {}, after the scan date; it does not apply",
                    waiver.id,
                    format_date(waiver.decided_on)
                ));
                state.0 = WaiverState::NotYetDecided;
                state.1.push(finding.policy.clone());
                continue;
            }
            if waiver.valid_until < today {
                notes.push(format!(
                    "waiver {} expired on {}; the finding shows its own verdict again",
                    waiver.id,
                    format_date(waiver.valid_until)
                ));
                state.0 = WaiverState::Expired;
                state.1.push(finding.policy.clone());
                continue;
            }
            if own.is_compliant() {
                continue; // nothing to waive here; stays stale unless it applies elsewhere
            }
            if own == Verdict::Error {
                notes.push(format!(
                    "waiver {} does not cover an error: the data could not be read, so nobody decided on it",
                    waiver.id
                ));
                state.0 = state.0.min(WaiverState::Refused);
                state.1.push(finding.policy.clone());
                continue;
            }
            if waiver.items.is_empty() {
                whole = true;
                applied.push(waiver.as_applied(Vec::new()));
                state.0 = WaiverState::Applied;
                state.1.push(finding.policy.clone());
                continue;
            }
            let items = waiver.covered_items(finding);
            if items.is_empty() {
                continue;
            }
            covered.extend(items.iter().cloned());
            partial_ids.push(index);
            applied.push(waiver.as_applied(items));
            state.1.push(finding.policy.clone());
        }
        let all_items = !finding.items.is_empty()
            && finding
                .items
                .iter()
                .all(|item| covered.contains(&item.path));
        let waived = whole || all_items;
        for index in partial_ids {
            let state = &mut states[index];
            state.0 = state.0.min(if waived {
                WaiverState::Applied
            } else {
                WaiverState::Partial
            });
        }
        if !waived && !covered.is_empty() {
            notes.push(format!(
                "{} of {} offending items are waived; the finding keeps its verdict until all are",
                covered.len(),
                finding.items.len()
            ));
        }
        if applied.is_empty() && notes.is_empty() {
            continue;
        }
        if waived {
            let ids: Vec<&str> = applied.iter().map(|a| a.id.as_str()).collect();
            let until = applied
                .iter()
                .map(|a| a.valid_until.as_str())
                .min()
                .unwrap_or_default();
            finding.reason = format!(
                "waived by {} until {until} (underneath: {own}): {}",
                ids.join(", "),
                finding.reason
            );
            finding.verdict = Verdict::Waived;
        }
        if !notes.is_empty() {
            finding.reason = format!("{}; {}", finding.reason, notes.join("; "));
        }
        finding.waiver = Some(FindingWaiver {
            verdict_underneath: own,
            applied,
            notes,
        });
    }
    waivers
        .waivers
        .iter()
        .zip(states)
        .map(|(waiver, (state, mut findings))| {
            findings.dedup();
            WaiverStatus {
                id: waiver.id.clone(),
                target: waiver.target.clone(),
                state,
                valid_until: format_date(waiver.valid_until),
                decided_by: waiver.decided_by.clone(),
                findings,
            }
        })
        .collect()
}

/// One line for standard error: how many waivers applied, expired, went stale.
pub fn summary_line(states: &[WaiverStatus]) -> String {
    let count = |state: WaiverState| states.iter().filter(|s| s.state == state).count();
    let mut line = format!(
        "waivers: {} applied, {} partial, {} expired, {} refused (error), {} stale",
        count(WaiverState::Applied),
        count(WaiverState::Partial),
        count(WaiverState::Expired),
        count(WaiverState::Refused),
        count(WaiverState::Stale)
    );
    let future = count(WaiverState::NotYetDecided);
    if future > 0 {
        line.push_str(&format!(", {future} decided after the scan date"));
    }
    let attention: Vec<&str> = states
        .iter()
        .filter(|s| matches!(s.state, WaiverState::Expired | WaiverState::Stale))
        .map(|s| s.id.as_str())
        .collect();
    if !attention.is_empty() {
        line.push_str(&format!(
            "; decide again or remove: {}",
            attention.join(", ")
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{FindingItem, Localized, Severity};
    use time::macros::date;

    fn finding(verdict: Verdict, labels: &[&str]) -> Finding {
        let text = Localized {
            nl: "t".into(),
            en: "t".into(),
        };
        Finding {
            control: "VTC-MFA-01".into(),
            policy: "mfa-01".into(),
            title: text.clone(),
            severity: Severity::High,
            verdict,
            reason: "r".into(),
            items: labels
                .iter()
                .enumerate()
                .map(|(i, l)| FindingItem {
                    path: format!("$['value'][{i}]"),
                    label: Some((*l).into()),
                    detail: "d".into(),
                    identity: true,
                })
                .collect(),
            remediation: text,
            guideline: "g".into(),
            gdpr: vec![],
            resources: vec![],
            waiver: None,
        }
    }

    fn waiver(items: &[&str], valid_until: Date) -> Waiver {
        Waiver {
            id: "W-1".into(),
            target: WaiverTarget::Control("VTC-MFA-01".into()),
            items: items.iter().map(|s| (*s).into()).collect(),
            motivation: "m".into(),
            decided_by: "college van burgemeester en schepenen".into(),
            decided_on: date!(2026 - 01 - 10),
            decision: None,
            dpo_advice: DpoAdvice {
                outcome: AdviceOutcome::Followed,
                reference: "DPO-advies 2026/1".into(),
                motivation: None,
            },
            valid_until,
        }
    }

    fn one(w: Waiver) -> Waivers {
        Waivers { waivers: vec![w] }
    }

    #[test]
    fn waived_finding_keeps_its_verdict_underneath() {
        let mut findings = vec![finding(Verdict::Fail, &["a"])];
        let states = apply(
            &mut findings,
            &one(waiver(&[], date!(2027 - 01 - 01))),
            date!(2026 - 11 - 23),
        );
        assert_eq!(findings[0].verdict, Verdict::Waived);
        let underneath = findings[0].waiver.as_ref().map(|w| w.verdict_underneath);
        assert_eq!(underneath, Some(Verdict::Fail));
        assert_eq!(states[0].state, WaiverState::Applied);
    }

    #[test]
    fn waiver_expires_after_its_valid_until_day() {
        let w = one(waiver(&[], date!(2026 - 11 - 23)));
        let mut on_the_day = vec![finding(Verdict::Fail, &["a"])];
        apply(&mut on_the_day, &w, date!(2026 - 11 - 23));
        assert_eq!(on_the_day[0].verdict, Verdict::Waived);
        let mut day_after = vec![finding(Verdict::Fail, &["a"])];
        let states = apply(&mut day_after, &w, date!(2026 - 11 - 24));
        assert_eq!(day_after[0].verdict, Verdict::Fail);
        assert_eq!(states[0].state, WaiverState::Expired);
    }

    #[test]
    fn waiving_some_items_keeps_the_verdict() {
        let mut findings = vec![finding(Verdict::Fail, &["a", "b"])];
        let states = apply(
            &mut findings,
            &one(waiver(&["a"], date!(2027 - 01 - 01))),
            date!(2026 - 11 - 23),
        );
        assert_eq!(findings[0].verdict, Verdict::Fail);
        assert_eq!(states[0].state, WaiverState::Partial);
        let mut findings = vec![finding(Verdict::Fail, &["a", "b"])];
        apply(
            &mut findings,
            &one(waiver(&["a", "$['value'][1]"], date!(2027 - 01 - 01))),
            date!(2026 - 11 - 23),
        );
        assert_eq!(findings[0].verdict, Verdict::Waived);
    }

    #[test]
    fn waiver_on_passing_finding_is_stale() {
        let mut findings = vec![finding(Verdict::Pass, &[])];
        let states = apply(
            &mut findings,
            &one(waiver(&[], date!(2027 - 01 - 01))),
            date!(2026 - 11 - 23),
        );
        assert_eq!(states[0].state, WaiverState::Stale);
        assert!(findings[0].waiver.is_none());
    }

    #[test]
    fn error_is_never_waived() {
        let mut findings = vec![finding(Verdict::Error, &[])];
        let states = apply(
            &mut findings,
            &one(waiver(&[], date!(2027 - 01 - 01))),
            date!(2026 - 11 - 23),
        );
        assert_eq!(findings[0].verdict, Verdict::Error);
        assert_eq!(states[0].state, WaiverState::Refused);
    }

    #[test]
    fn waiver_decided_after_the_scan_date_does_not_apply() {
        let mut findings = vec![finding(Verdict::Fail, &["a"])];
        let states = apply(
            &mut findings,
            &one(waiver(&[], date!(2027 - 01 - 01))),
            date!(2026 - 01 - 09),
        );
        assert_eq!(findings[0].verdict, Verdict::Fail);
        assert_eq!(states[0].state, WaiverState::NotYetDecided);
    }

    #[test]
    fn the_dpo_does_not_decide() {
        for role in [
            "DPO",
            "de D.P.O.",
            "D P O",
            "Functionaris Gegevensbescherming",
            "de functionaris voor gegevensbescherming",
            "Functionaris voor de Gegevensbescherming",
            "ＤＰＯ",
            "ｄ．ｐ．ｏ．",
            "FG",
            "F.G. van de gemeente",
            "Data-Protection Officer",
            "data protection officer (DPO)",
            "Gegevensbeschermingsfunctionaris",
            "Délégué à la protection des données",
            "Functionaris Gegevensbeschérming",
        ] {
            assert!(names_the_dpo(role), "{role}");
        }
        for role in [
            "college van burgemeester en schepenen",
            "Chef Griffie",
            "algemeen directeur",
            "Diensthoofd ICT",
            "burgemeester",
        ] {
            assert!(!names_the_dpo(role), "{role}");
        }
    }
}

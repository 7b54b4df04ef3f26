//! Drift (`cloudkeur diff OLD NEW`, and every `scan --archive`): what changed between two scans.
//!
//! Findings are compared by policy id: newly non-compliant, fixed, or another change of verdict.
//! When both sides are archive bundles (or a scan and the bundle before it), the snapshot
//! resources behind those findings are compared too, as a small structural diff of their JSON,
//! so the reader sees which setting flipped. Reads files only; decides no verdict.

use super::{REPORT_FILE, SNAPSHOT_DIR};
use crate::diag::{Diagnostic, parse_json};
use crate::input_file::{Limit, read_inside, read_text, read_text_inside};
use crate::terminal::inert;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Changes listed per resource at most; the rest is counted.
const MAX_CHANGES: usize = 50;

/// One side of a comparison: a report, and the snapshot behind it when known.
#[derive(Debug, Clone)]
pub struct Side {
    pub label: String,
    pub report: Value,
    pub snapshot: Option<PathBuf>,
}

impl Side {
    /// A JSON report file, or a bundle directory (its report and snapshot).
    pub fn load(path: &Path) -> Result<Side, Diagnostic> {
        if path.is_dir() {
            let manifest = super::read_manifest(path)?;
            let report_path = path.join(REPORT_FILE);
            let text =
                read_text_inside(path, Path::new(REPORT_FILE), Limit::data()).map_err(|err| {
                    err.diagnostic(
                        &report_path,
                        "report",
                        "run `cloudkeur archive verify` on the archive",
                    )
                })?;
            let report = parse_report(&report_path, &text)?;
            return Ok(Side {
                label: manifest.bundle,
                report,
                snapshot: Some(path.join(SNAPSHOT_DIR)),
            });
        }
        let text = read_text(path, Limit::data()).map_err(|err| {
            err.diagnostic(
                path,
                "report",
                "give a JSON report (`scan --format json`) or a bundle directory of an archive",
            )
        })?;
        Ok(Side {
            label: path.display().to_string(),
            report: parse_report(path, &text)?,
            snapshot: None,
        })
    }
}

fn parse_report(path: &Path, text: &str) -> Result<Value, Diagnostic> {
    let report: Value = parse_json(path, text)?;
    let schema = report["schema"].as_str().unwrap_or_default();
    if !schema.starts_with("cloudkeur.report/") || !report["findings"].is_array() {
        return Err(Diagnostic::new(
            path,
            crate::diag::locate_text(text, "\"schema\""),
            format!("not a cloudkeur JSON report (schema '{schema}')"),
        )
        .with_fix("write one with `cloudkeur scan --format json --output FILE`"));
    }
    Ok(report)
}

/// A finding whose verdict differs between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictChange {
    pub policy: String,
    pub control: String,
    /// `None` when the policy was not evaluated on that side.
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One changed value inside a resource, at a path like `/value[id=…]/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    pub resource: String,
    pub changes: Vec<ValueChange>,
    /// Changes beyond the ones listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Everything that changed from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub old: String,
    pub new: String,
    pub newly_failing: Vec<VerdictChange>,
    pub fixed: Vec<VerdictChange>,
    pub changed: Vec<VerdictChange>,
    /// The resources behind those findings, where both snapshots are at hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<ResourceChange>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.newly_failing.is_empty() && self.fixed.is_empty() && self.changed.is_empty()
    }

    /// One line: counts, for standard error after a scan.
    pub fn summary_line(&self) -> String {
        format!(
            "drift since {}: {} newly failing, {} fixed, {} other verdict changes, {} resources changed",
            inert(&self.old),
            self.newly_failing.len(),
            self.fixed.len(),
            self.changed.len(),
            self.settings.len()
        )
    }

    pub fn to_text(&self) -> String {
        // Terminal text: every value from the two reports is made inert.
        let mut out = format!("drift from {} to {}\n", inert(&self.old), inert(&self.new));
        for (heading, list) in [
            ("newly failing", &self.newly_failing),
            ("fixed", &self.fixed),
            ("verdict changed", &self.changed),
        ] {
            let _ = writeln!(out, "{heading} ({}):", list.len());
            for change in list {
                let _ = writeln!(
                    out,
                    "  {:<44} {:<12} {} -> {}",
                    inert(&change.policy),
                    inert(&change.control),
                    inert(change.old.as_deref().unwrap_or("(absent)")),
                    inert(change.new.as_deref().unwrap_or("(absent)"))
                );
            }
        }
        if !self.settings.is_empty() {
            let _ = writeln!(out, "settings changed:");
            for resource in &self.settings {
                for change in &resource.changes {
                    let show = |v: &Option<Value>| {
                        v.as_ref()
                            .map_or("(absent)".to_owned(), |v| truncate(&inert(&v.to_string())))
                    };
                    let _ = writeln!(
                        out,
                        "  {} {}: {} -> {}",
                        inert(&resource.resource),
                        inert(&change.path),
                        show(&change.old),
                        show(&change.new)
                    );
                }
                if resource.more > 0 {
                    let _ = writeln!(
                        out,
                        "  {} … and {} more",
                        inert(&resource.resource),
                        resource.more
                    );
                }
            }
        }
        out
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text.to_owned()
    }
}

fn is_compliant(verdict: &str) -> bool {
    matches!(verdict, "pass" | "waived" | "not-applicable")
}

/// policy → (control, verdict, resources)
fn findings(report: &Value) -> BTreeMap<String, (String, String, Vec<String>)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let policy = f["policy"].as_str()?.to_owned();
            let control = f["control"].as_str().unwrap_or_default().to_owned();
            let verdict = f["verdict"].as_str().unwrap_or_default().to_owned();
            let resources = f["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            Some((policy, (control, verdict, resources)))
        })
        .collect()
}

/// Compares two scans. Pure apart from reading the two snapshots' resource files.
pub fn compare(old: &Side, new: &Side) -> Drift {
    let before = findings(&old.report);
    let after = findings(&new.report);
    let policies: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut drift = Drift {
        old: old.label.clone(),
        new: new.label.clone(),
        newly_failing: Vec::new(),
        fixed: Vec::new(),
        changed: Vec::new(),
        settings: Vec::new(),
    };
    let mut resources = BTreeSet::new();
    for policy in policies {
        let was = before.get(policy);
        let is = after.get(policy);
        let old_verdict = was.map(|(_, v, _)| v.clone());
        let new_verdict = is.map(|(_, v, _)| v.clone());
        if old_verdict == new_verdict {
            continue;
        }
        let (control, _, used) = is.or(was).cloned().unwrap_or_default();
        resources.extend(used);
        let change = VerdictChange {
            policy: policy.clone(),
            control,
            old: old_verdict.clone(),
            new: new_verdict.clone(),
        };
        let old_ok = old_verdict.as_deref().is_none_or(is_compliant);
        let new_ok = new_verdict.as_deref().map(is_compliant);
        match (old_ok, new_ok) {
            (true, Some(false)) => drift.newly_failing.push(change),
            (false, Some(true)) => drift.fixed.push(change),
            _ => drift.changed.push(change),
        }
    }
    if let (Some(old_dir), Some(new_dir)) = (&old.snapshot, &new.snapshot) {
        for resource in resources {
            let a = read_resource(old_dir, &resource);
            let b = read_resource(new_dir, &resource);
            let mut changes = Vec::new();
            diff_values("", a.as_ref(), b.as_ref(), &mut changes);
            if !changes.is_empty() {
                let more = changes.len().saturating_sub(MAX_CHANGES);
                changes.truncate(MAX_CHANGES);
                drift.settings.push(ResourceChange {
                    resource,
                    changes,
                    more,
                });
            }
        }
    }
    drift
}

/// A resource's body from a snapshot directory, or `None` when it was not read.
pub fn read_resource(dir: &Path, resource: &str) -> Option<Value> {
    let manifest = read_inside(
        dir,
        Path::new(crate::snapshot::MANIFEST_FILE),
        Limit::DOCUMENT,
    )
    .ok()?;
    let manifest: Value = serde_json::from_slice(&manifest).ok()?;
    let file = manifest["resources"][resource]["file"].as_str()?;
    if file.contains(['/', '\\']) || file.starts_with('.') {
        return None;
    }
    serde_json::from_slice(&read_inside(dir, Path::new(file), Limit::data()).ok()?).ok()
}

/// Every element's position by its `id`, when all elements are objects with a distinct string
/// id. A map, so matching the elements of two lists is linear in their length (up to the log
/// of a lookup), not quadratic: 40 000 users compare in well under a second.
fn ids(items: &[Value]) -> Option<BTreeMap<&str, usize>> {
    let mut ids = BTreeMap::new();
    for (position, item) in items.iter().enumerate() {
        let id = item.get("id").and_then(Value::as_str)?;
        if ids.insert(id, position).is_some() {
            return None;
        }
    }
    Some(ids)
}

/// A structural diff: objects by key, arrays of identified objects by `id`, other arrays by
/// position; anything else compared whole.
pub fn diff_values(
    path: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<ValueChange>,
) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                // Graph's paging and context annotations are not settings.
                if key.starts_with("@odata") {
                    continue;
                }
                diff_values(&format!("{path}/{key}"), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => match (ids(a), ids(b)) {
            (Some(ids_a), Some(ids_b)) => {
                let all: BTreeSet<&str> = ids_a.keys().chain(ids_b.keys()).copied().collect();
                for id in all {
                    let x = ids_a.get(id).map(|&p| &a[p]);
                    let y = ids_b.get(id).map(|&p| &b[p]);
                    diff_values(&format!("{path}[id={id}]"), x, y, out);
                }
            }
            _ => {
                for index in 0..a.len().max(b.len()) {
                    diff_values(&format!("{path}[{index}]"), a.get(index), b.get(index), out);
                }
            }
        },
        (a, b) if a == b => {}
        (a, b) => out.push(ValueChange {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flipped_setting_in_an_identified_list_is_named_by_id() {
        let a =
            json!({"value": [{"id": "p1", "state": "enabled"}, {"id": "p2", "state": "enabled"}]});
        let b =
            json!({"value": [{"id": "p2", "state": "enabled"}, {"id": "p1", "state": "disabled"}]});
        let mut out = Vec::new();
        diff_values("", Some(&a), Some(&b), &mut out);
        assert_eq!(
            out,
            vec![ValueChange {
                path: "/value[id=p1]/state".into(),
                old: Some(json!("enabled")),
                new: Some(json!("disabled")),
            }]
        );
    }

    #[test]
    fn lists_with_duplicate_or_missing_ids_are_compared_by_position() {
        let a = json!([{"id": "x", "v": 1}, {"id": "x", "v": 2}]);
        let b = json!([{"id": "x", "v": 1}, {"id": "x", "v": 3}]);
        let mut out = Vec::new();
        diff_values("", Some(&a), Some(&b), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "[1]/v");
    }

    #[test]
    fn verdicts_are_sorted_into_newly_failing_fixed_and_changed() {
        let side = |verdicts: &[(&str, &str)]| Side {
            label: "x".into(),
            report: json!({"findings": verdicts.iter().map(|(p, v)| json!({"policy": p, "control": "C", "verdict": v})).collect::<Vec<_>>()}),
            snapshot: None,
        };
        let drift = compare(
            &side(&[("a", "pass"), ("b", "fail"), ("c", "fail")]),
            &side(&[("a", "fail"), ("b", "pass"), ("c", "error")]),
        );
        assert_eq!(drift.newly_failing[0].policy, "a");
        assert_eq!(drift.fixed[0].policy, "b");
        assert_eq!(drift.changed[0].policy, "c");
    }
}

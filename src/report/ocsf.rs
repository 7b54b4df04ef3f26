//! OCSF Compliance Finding events (class 2003), one JSON object per line, for a SIEM.
//!
//! One event per finding, compliant or not, so that a SIEM sees a control go from `Fail` to
//! `Pass`. `finding_info.uid` is the same for the same policy on the same tenant in every scan.
//! Field names follow the OCSF schema files in `shared/schemas/ocsf/`; docs/siem.md tells how to
//! ingest the lines in Microsoft Sentinel, Splunk and Elastic.

use super::finding_uid;
use crate::findings::{Finding, Lang, Report, Severity, Verdict};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The OCSF schema version the events follow (the `version.json` of the schema they were written
/// against).
pub const OCSF_SCHEMA_VERSION: &str = "1.9.0-dev";

const CATEGORY_UID: u16 = 2;
const CLASS_UID: u32 = 2003;
/// Activity 1, "Create": each scan reports the finding as it stands.
const ACTIVITY_ID: u8 = 1;

/// One OCSF Compliance Finding event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceFinding {
    pub category_uid: u16,
    pub category_name: String,
    pub class_uid: u32,
    pub class_name: String,
    pub activity_id: u8,
    pub activity_name: String,
    pub type_uid: u32,
    pub type_name: String,
    /// When the finding was made: the end of the scan, in milliseconds since the Unix epoch.
    pub time: i64,
    pub severity_id: u8,
    pub severity: String,
    /// Finding lifecycle: New for a non-compliant finding, Suppressed when waived, Resolved else.
    pub status_id: u8,
    pub status: String,
    pub message: String,
    pub metadata: Metadata,
    pub cloud: Cloud,
    pub finding_info: FindingInfo,
    pub compliance: Compliance,
    pub remediation: Remediation,
    pub resources: Vec<ResourceDetails>,
    /// cloudkeur's own fields that OCSF has no place for.
    pub unmapped: Unmapped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub version: String,
    pub product: Product,
    pub log_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub name: String,
    pub vendor_name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cloud {
    pub provider: String,
    pub account: Account,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingInfo {
    /// SHA-256 of tenant and policy: stable across scans.
    pub uid: String,
    pub title: String,
    pub desc: String,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    pub control: String,
    pub standards: Vec<String>,
    pub requirements: Vec<String>,
    /// Pass, Fail, or Other (waived, not applicable).
    pub status: String,
    pub status_id: u8,
    /// The exact cloudkeur verdict and its reason.
    pub status_detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDetails {
    pub uid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmapped {
    pub verdict: String,
    pub policy: String,
    pub snapshot_sha256: String,
    pub items: Vec<crate::findings::FindingItem>,
    /// The waivers bearing on the finding and the verdict underneath (`--waivers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<crate::waiver::FindingWaiver>,
}

fn severity_id(severity: Severity) -> (u8, &'static str) {
    match severity {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// `compliance.status_id`: 1 Pass, 3 Fail, 99 Other. `error` and the evidence verdicts are Fail:
/// cloudkeur never reports a setting it could not read as anything but non-compliant.
fn compliance_status(verdict: Verdict) -> (u8, &'static str) {
    match verdict {
        Verdict::Pass => (1, "Pass"),
        Verdict::Fail | Verdict::Error | Verdict::EvidenceMissing | Verdict::EvidenceExpired => {
            (3, "Fail")
        }
        Verdict::Waived | Verdict::NotApplicable => (99, "Other"),
    }
}

/// The finding's lifecycle `status_id`: 1 New, 3 Suppressed, 4 Resolved.
fn finding_status(verdict: Verdict) -> (u8, &'static str) {
    match verdict {
        Verdict::Waived => (3, "Suppressed"),
        Verdict::Pass | Verdict::NotApplicable => (4, "Resolved"),
        _ => (1, "New"),
    }
}

fn epoch_ms(rfc3339: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

fn event(report: &Report, finding: &Finding, time: i64, lang: Lang) -> ComplianceFinding {
    let scan = &report.scan;
    let (severity_id, severity) = severity_id(finding.severity);
    let (status_id, status) = finding_status(finding.verdict);
    let (compliance_status_id, compliance_status) = compliance_status(finding.verdict);
    let mut requirements = vec![format!("VTC {}", finding.guideline)];
    requirements.extend(
        finding
            .gdpr
            .iter()
            .map(|article| format!("GDPR art. {article}")),
    );
    ComplianceFinding {
        category_uid: CATEGORY_UID,
        category_name: "Findings".to_owned(),
        class_uid: CLASS_UID,
        class_name: "Compliance Finding".to_owned(),
        activity_id: ACTIVITY_ID,
        activity_name: "Create".to_owned(),
        type_uid: CLASS_UID * 100 + u32::from(ACTIVITY_ID),
        type_name: "Compliance Finding: Create".to_owned(),
        time,
        severity_id,
        severity: severity.to_owned(),
        status_id,
        status: status.to_owned(),
        message: format!(
            "{} {}: {}",
            finding.control,
            finding.verdict,
            finding.title.get(lang)
        ),
        metadata: Metadata {
            version: OCSF_SCHEMA_VERSION.to_owned(),
            product: Product {
                name: report.tool.name.clone(),
                vendor_name: report.tool.name.clone(),
                version: report.tool.version.clone(),
            },
            log_name: report.schema.clone(),
        },
        cloud: Cloud {
            provider: scan.vendor.suite().to_owned(),
            account: Account {
                uid: scan.tenant.clone(),
                name: scan.tenant_name.clone(),
            },
        },
        finding_info: FindingInfo {
            uid: finding_uid(report, finding),
            title: finding.title.get(lang).to_owned(),
            desc: finding.reason.clone(),
            types: vec!["Compliance".to_owned(), finding.policy.clone()],
        },
        compliance: Compliance {
            control: finding.control.clone(),
            standards: vec!["VTC".to_owned(), "GDPR".to_owned()],
            requirements,
            status: compliance_status.to_owned(),
            status_id: compliance_status_id,
            status_detail: format!("{}: {}", finding.verdict, finding.reason),
        },
        remediation: Remediation {
            desc: finding.remediation.get(lang).to_owned(),
        },
        resources: finding
            .resources
            .iter()
            .map(|resource| ResourceDetails {
                uid: format!("{}/{resource}", scan.tenant),
                name: resource.clone(),
                kind: format!("{} setting", scan.vendor.suite()),
            })
            .collect(),
        unmapped: Unmapped {
            verdict: finding.verdict.as_str().to_owned(),
            policy: finding.policy.clone(),
            snapshot_sha256: scan.snapshot_sha256.clone(),
            items: finding.items.clone(),
            waiver: finding.waiver.clone(),
        },
    }
}

/// One event per finding, in report order.
pub fn ocsf_events(report: &Report, lang: Lang) -> Vec<ComplianceFinding> {
    let scan = &report.scan;
    let time = epoch_ms(&scan.finished_at)
        .or_else(|| epoch_ms(&scan.collected_at))
        .unwrap_or(0);
    report
        .findings
        .iter()
        .map(|finding| event(report, finding, time, lang))
        .collect()
}

/// JSON Lines: one event per line, each line a complete JSON object.
pub fn render_ocsf(report: &Report, lang: Lang) -> String {
    let mut out = String::new();
    for event in ocsf_events(report, lang) {
        // Plain data with string keys: serialising cannot fail.
        out.push_str(&serde_json::to_string(&event).unwrap_or_default());
        out.push('\n');
    }
    out
}

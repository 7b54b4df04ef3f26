//! The one findings model every renderer reads.
//!
//! Renderers present a [`Report`]; they never decide or change a verdict. Field names here are
//! part of the public JSON report (`cloudkeur.report/v1`): rename nothing without a new schema.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The verdict vocabulary of the control catalogue, spelled exactly as in CONTROLS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Fail,
    Error,
    EvidenceMissing,
    EvidenceExpired,
    Waived,
    NotApplicable,
    Pass,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Fail,
        Verdict::Error,
        Verdict::EvidenceMissing,
        Verdict::EvidenceExpired,
        Verdict::Waived,
        Verdict::NotApplicable,
        Verdict::Pass,
    ];

    /// Only `pass`, `waived` and `not-applicable` count as compliant (CONTROLS.md, "Verdicts").
    pub fn is_compliant(self) -> bool {
        matches!(
            self,
            Verdict::Pass | Verdict::Waived | Verdict::NotApplicable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::EvidenceMissing => "evidence-missing",
            Verdict::EvidenceExpired => "evidence-expired",
            Verdict::Waived => "waived",
            Verdict::NotApplicable => "not-applicable",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a non-compliant finding matters; ordered so that `>=` means "at least as severe".
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text in both report languages. Policies must provide both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub nl: String,
    pub en: String,
}

/// Report language, chosen with `--lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Localized {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        }
    }
}

/// One offending (or, for `any`, examined) item inside a resource: a CA policy, an account, a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingItem {
    /// Normalized JSONPath of the item inside its resource, e.g. `$['value'][3]`.
    pub path: String,
    /// A human label taken from the item (the policy's `label`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Why this item fails.
    pub detail: String,
    /// The label names a person (set by the policy's `identity: true`); such labels are
    /// pseudonymised before any report is written, unless identities are revealed.
    #[serde(skip)]
    pub identity: bool,
}

/// The outcome of one policy on one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub control: String,
    pub policy: String,
    pub title: Localized,
    pub severity: Severity,
    pub verdict: Verdict,
    pub reason: String,
    pub items: Vec<FindingItem>,
    pub remediation: Localized,
    /// The VTC guideline section the control comes from.
    pub guideline: String,
    pub gdpr: Vec<String>,
    /// The snapshot resources the policy read.
    pub resources: Vec<String>,
    /// Waivers bearing on this finding (`--waivers`), with the verdict it earned on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<crate::waiver::FindingWaiver>,
}

impl Finding {
    /// True when this finding makes the scan non-compliant at the given threshold.
    pub fn breaches(&self, threshold: Severity) -> bool {
        !self.verdict.is_compliant() && self.severity >= threshold
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn this() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// What was scanned, when, and from which exact snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// The suite scanned (the snapshot's vendor); a report without it is Microsoft 365's.
    #[serde(default)]
    pub vendor: crate::vendor::Vendor,
    pub tenant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// Where the data came from: `fixture`, `graph https://graph.microsoft.com`, …
    pub source: String,
    pub collected_at: String,
    pub started_at: String,
    pub finished_at: String,
    /// SHA-256 of the snapshot's manifest.json, which itself holds the SHA-256 of every resource file.
    pub snapshot_sha256: String,
    /// Whether account names in `items` are pseudonymised (default) or revealed.
    #[serde(default)]
    pub identities: crate::pseudonym::IdentityMode,
    /// SHA-256 of the `--config` settings file, when one was used: settings change verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_sha256: Option<String>,
}

/// Number of findings per verdict; every verdict is present, zero or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub compliant: bool,
    pub verdicts: BTreeMap<String, usize>,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut verdicts: BTreeMap<String, usize> = Verdict::ALL
            .iter()
            .map(|v| (v.as_str().to_owned(), 0))
            .collect();
        for finding in findings {
            *verdicts
                .entry(finding.verdict.as_str().to_owned())
                .or_default() += 1;
        }
        Summary {
            total: findings.len(),
            compliant: findings.iter().all(|f| f.verdict.is_compliant()),
            verdicts,
        }
    }
}

pub const REPORT_SCHEMA: &str = "cloudkeur.report/v1";

/// A whole scan's result: the input of every renderer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub scan: ScanInfo,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Every waiver of the `--waivers` file and how it fared: applied, partial, expired, stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<crate::waiver::WaiverStatus>,
}

impl Report {
    pub fn new(scan: ScanInfo, findings: Vec<Finding>) -> Self {
        Report {
            schema: REPORT_SCHEMA.to_owned(),
            tool: Tool::this(),
            scan,
            summary: Summary::of(&findings),
            findings,
            waivers: Vec::new(),
        }
    }

    /// True when no finding at or above `threshold` is non-compliant: exit code 0.
    pub fn passes_gate(&self, threshold: Severity) -> bool {
        !self.findings.iter().any(|f| f.breaches(threshold))
    }
}

//! Policies: declarative checks of one VTC control each, loaded from YAML and evaluated against a
//! snapshot. The language is documented for policy authors in `policies/README.md`.
//!
//! Public surface: load a [`PolicyPack`], [`evaluate`] it against a snapshot, and run each
//! policy's own examples with [`run_examples`].

mod bounds;
mod compile;
mod eval;
mod examples;
mod pack;
mod projection;
mod rule;
mod selector;
mod source;

pub use eval::{Inputs, evaluate, evaluate_policy};
pub use examples::{ExampleResult, run_examples};
#[cfg(test)]
pub(crate) use pack::pack_with_rule;
pub use pack::{PackSource, PolicyPack};
pub use projection::projections;
pub use rule::{Context, Outcome, Rule, Truth};
pub use source::ExpectedVerdict;

use crate::diag::Position;
use crate::findings::{Localized, Severity};
use crate::settings::Settings;
use crate::vendor::Vendor;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A checked policy: one rule serving one control, with its metadata and examples.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub control: String,
    pub title: Localized,
    pub severity: Severity,
    /// The suites whose tenants it judges (at least one); a scan runs only the policies of its
    /// snapshot's vendor.
    pub vendors: Vec<Vendor>,
    /// Set when the control has no meaning for these vendors: the reason, given as the
    /// `not-applicable` verdict. Such a policy has no rule, evidence or examples.
    pub not_applicable: Option<String>,
    /// VTC guideline section; defaults to the control's.
    pub guideline: String,
    /// GDPR articles; default to the control's.
    pub gdpr: Vec<String>,
    pub remediation: Localized,
    pub references: Vec<String>,
    /// Every resource the rule reads, derived from the rule itself.
    pub resources: Vec<String>,
    /// What the evidence declaration must carry, for controls proven (partly) by one.
    pub evidence: Option<EvidenceNeed>,
    /// `None` when the declaration alone proves the control.
    pub rule: Option<Rule>,
    pub examples: Vec<Example>,
    pub file: PathBuf,
}

/// The values and files a declaration must carry for a policy to judge it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceNeed {
    /// The declaration is needed only when the rule reads it: where the tenant's data alone
    /// does not decide, or where a `declared:` rule stands in for a measurement. It is checked
    /// (present, complete, current) only then, and a rule never sees one that is not.
    pub optional: bool,
    pub values: Vec<String>,
    pub files: Vec<String>,
    /// The rule reads the declaration outside any `declared:` branch (e.g. the backup app it
    /// names), so a finding always says who declared what it used.
    pub direct: bool,
}

/// The name under which a rule reads its control's evidence declaration.
pub const EVIDENCE_RESOURCE: &str = "evidence";

/// The name under which a rule reads the tenant settings as a resource (e.g. to quantify over
/// `$.privileged_roles[*]`).
pub const SETTINGS_RESOURCE: &str = "settings";

impl Policy {
    /// Whether this policy judges tenants of `vendor`.
    pub fn is_for(&self, vendor: Vendor) -> bool {
        self.vendors.contains(&vendor)
    }
}

/// An input the policy carries with the verdict it must give.
#[derive(Debug, Clone)]
pub struct Example {
    pub name: String,
    pub expect: ExpectedVerdict,
    pub resources: BTreeMap<String, Value>,
    pub unreadable: BTreeMap<String, String>,
    pub unavailable: BTreeMap<String, String>,
    pub settings: Settings,
    pub evidence: Option<Value>,
    pub today: time::Date,
    pub items: Option<Vec<String>>,
    pub position: Position,
}

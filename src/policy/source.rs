//! The policy file as written: plain serde types that keep YAML positions (`Spanned`), so that
//! every mistake found after parsing can still be reported at its line and column.
//!
//! Nothing here judges meaning; `compile.rs` turns these into checked rules.

use crate::findings::{Localized, Severity};
use crate::settings::Settings;
use crate::vendor::Vendor;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub policy: Spanned<String>,
    pub control: Spanned<String>,
    pub title: Localized,
    pub severity: Severity,
    /// The suites whose tenants this policy judges; `[microsoft]` when left out, so policies
    /// written before there were two vendors keep their meaning.
    #[serde(default)]
    pub vendors: Option<Spanned<Vec<Vendor>>>,
    /// The control has no meaning for these vendors, and why: the policy has no rule and gives
    /// `not-applicable` with this reason, so a control is never silently absent.
    #[serde(default)]
    pub not_applicable: Option<Spanned<String>>,
    #[serde(default)]
    pub guideline: Option<String>,
    #[serde(default)]
    pub gdpr: Option<Vec<String>>,
    /// For controls proven by a declaration: what the declaration must carry.
    #[serde(default)]
    pub evidence: Option<Spanned<RawEvidenceNeed>>,
    /// May be left out when the declaration alone proves the control.
    #[serde(default)]
    pub rule: Option<Spanned<RawRule>>,
    /// Required, except on a `not_applicable` policy (there is nothing to remedy).
    #[serde(default)]
    pub remediation: Option<Localized>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub examples: Vec<Spanned<RawExample>>,
}

/// What a `not_applicable` policy keeps of its file.
pub(super) struct PolicyMeta {
    pub id: String,
    pub title: Localized,
    pub severity: Severity,
    pub guideline: Option<String>,
    pub gdpr: Option<Vec<String>>,
    pub remediation: Option<Localized>,
    pub references: Vec<String>,
    pub has_rule_or_evidence_or_examples: bool,
}

impl PolicyFile {
    /// The metadata, for a policy that judges nothing.
    pub(super) fn clone_meta(&self) -> PolicyMeta {
        PolicyMeta {
            id: self.policy.value.clone(),
            title: self.title.clone(),
            severity: self.severity,
            guideline: self.guideline.clone(),
            gdpr: self.gdpr.clone(),
            remediation: self.remediation.clone(),
            references: self.references.clone(),
            has_rule_or_evidence_or_examples: self.rule.is_some()
                || self.evidence.is_some()
                || !self.examples.is_empty(),
        }
    }
}

/// Every key a rule node may carry; `compile.rs` checks which combinations make sense.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    #[serde(default)]
    pub description: Option<String>,
    /// A named rule from the pack's `fragments.yaml`, compiled in place.
    #[serde(default, rename = "use")]
    pub use_fragment: Option<Spanned<String>>,
    /// Binds each item a quantifier (`all`/`any`/`none`) selects, for `{var: NAME}` inside it.
    #[serde(default, rename = "as")]
    pub bind: Option<Spanned<String>>,
    /// Binds the group an expanded member came from (with `expand_groups`).
    #[serde(default)]
    pub group_as: Option<Spanned<String>>,
    /// Shown in the reason of the enclosing all_of/any_of; never decides it.
    #[serde(default)]
    pub note: Option<bool>,
    /// Keeps only the selected values whose key equals a value (a lookup, e.g. by id).
    #[serde(default, rename = "where")]
    pub lookup: Option<Vec<Spanned<RawWhere>>>,
    #[serde(default)]
    pub all_of: Option<Vec<Spanned<RawRule>>>,
    #[serde(default)]
    pub any_of: Option<Vec<Spanned<RawRule>>>,
    #[serde(default)]
    pub not: Option<Box<Spanned<RawRule>>>,
    /// "Measured, else declared": the rule judged on the tenant's data...
    #[serde(default)]
    pub measured: Option<Box<Spanned<RawRule>>>,
    /// ...and the rule judged on the declaration when that data could not be read.
    #[serde(default)]
    pub declared: Option<Box<Spanned<RawRule>>>,
    #[serde(default)]
    pub resource: Option<Spanned<String>>,
    #[serde(default)]
    pub path: Option<Spanned<String>>,
    #[serde(default)]
    pub select: Option<Vec<Spanned<RawSource>>>,
    #[serde(default)]
    pub expand_groups: Option<Spanned<String>>,
    /// For a fan-out resource: the parent id whose collection is read.
    #[serde(default)]
    pub of: Option<Spanned<Value>>,
    #[serde(default)]
    pub distinct: Option<Spanned<String>>,
    #[serde(default)]
    pub label: Option<Spanned<String>>,
    #[serde(default)]
    pub identity: Option<bool>,
    #[serde(default)]
    pub allow_empty: Option<bool>,
    /// `ok`: a member the path reads may be absent (it then reads as "not there").
    #[serde(default)]
    pub absent: Option<Spanned<String>>,
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub empty: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub equals: Option<Value>,
    #[serde(default, rename = "in")]
    pub one_of: Option<Spanned<Value>>,
    #[serde(default)]
    pub not_in: Option<Spanned<Value>>,
    #[serde(default)]
    pub only: Option<Spanned<Value>>,
    #[serde(default, deserialize_with = "present")]
    pub contains: Option<Value>,
    #[serde(default)]
    pub matches: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "present")]
    pub ends_with: Option<Value>,
    #[serde(default)]
    pub number: Option<Spanned<RawCount>>,
    #[serde(default)]
    pub only_members: Option<Spanned<Value>>,
    #[serde(default)]
    pub count: Option<Spanned<RawCount>>,
    #[serde(default)]
    pub not_older_than: Option<Spanned<RawAge>>,
    #[serde(default)]
    pub all: Option<Box<Spanned<RawRule>>>,
    #[serde(default)]
    pub any: Option<Box<Spanned<RawRule>>>,
    #[serde(default)]
    pub none: Option<Box<Spanned<RawRule>>>,
}

/// One entry of `select:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    #[serde(default)]
    pub resource: Option<Spanned<String>>,
    pub path: Spanned<String>,
    #[serde(default)]
    pub expand_groups: Option<Spanned<String>>,
    #[serde(default)]
    pub of: Option<Spanned<Value>>,
    #[serde(default, rename = "where")]
    pub lookup: Option<Vec<Spanned<RawWhere>>>,
}

/// One condition of `where:`: the value at `key` (relative to a selected value) equals `equals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWhere {
    pub key: Spanned<String>,
    #[serde(deserialize_with = "present")]
    pub equals: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvidenceNeed {
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAge {
    /// `scan` (default) or `collection`: the day ages are counted back from.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub days: Option<Value>,
    #[serde(default)]
    pub months: Option<Value>,
    #[serde(default)]
    pub years: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCount {
    #[serde(default)]
    pub min: Option<Value>,
    #[serde(default)]
    pub max: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedVerdict {
    Pass,
    Fail,
    Error,
    EvidenceMissing,
    EvidenceExpired,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExample {
    pub name: String,
    pub expect: ExpectedVerdict,
    /// Resource bodies as the API returns them.
    #[serde(default)]
    pub resources: BTreeMap<String, Value>,
    /// Resources whose read failed, with the reason (e.g. "HTTP 503", a body that is not JSON).
    #[serde(default)]
    pub unreadable: BTreeMap<String, String>,
    /// Resources the scan could not have for good, with the reason ("HTTP 403", a service not
    /// selected): only for these may a `declared:` rule stand in.
    #[serde(default)]
    pub unavailable: BTreeMap<String, String>,
    /// The declaration for the policy's control in the evidence file, if any.
    #[serde(default)]
    pub evidence: Option<Value>,
    /// The scan date the example is evaluated on (default 2026-06-01), for expiry and ages.
    #[serde(default)]
    pub today: Option<String>,
    /// Tenant settings for this example, over the defaults (e.g. break-glass accounts).
    #[serde(default)]
    pub settings: Option<Settings>,
    /// The labels (or paths) of the items the finding must list, in any order.
    #[serde(default)]
    pub items: Option<Vec<String>>,
}

/// `equals: null` must mean "equals JSON null", not "key absent".
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

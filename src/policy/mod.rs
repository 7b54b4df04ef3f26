//! Policies: declarative checks of one VTC control each, loaded from YAML and evaluated against a
//! snapshot. The language is documented for policy authors in `policies/README.md`.
//!
//! Public surface: load a [`PolicyPack`], [`evaluate`] it against a snapshot, and run each
//! policy's own examples with [`run_examples`].

mod compile;
mod eval;
mod examples;
mod pack;
mod rule;
mod source;

pub use eval::{evaluate, evaluate_policy};
pub use examples::{ExampleResult, run_examples};
pub use pack::{PackSource, PolicyPack};
pub use rule::{Outcome, Rule, Truth};
pub use source::ExpectedVerdict;

use crate::diag::Position;
use crate::findings::{Localized, Severity};
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
    /// VTC guideline section; defaults to the control's.
    pub guideline: String,
    /// GDPR articles; default to the control's.
    pub gdpr: Vec<String>,
    pub remediation: Localized,
    pub references: Vec<String>,
    /// Every resource the rule reads, derived from the rule itself.
    pub resources: Vec<String>,
    pub rule: Rule,
    pub examples: Vec<Example>,
    pub file: PathBuf,
}

/// An input the policy carries with the verdict it must give.
#[derive(Debug, Clone)]
pub struct Example {
    pub name: String,
    pub expect: ExpectedVerdict,
    pub resources: BTreeMap<String, Value>,
    pub unreadable: BTreeMap<String, String>,
    pub items: Option<Vec<String>>,
    pub position: Position,
}

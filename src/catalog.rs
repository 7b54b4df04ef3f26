//! The VTC control catalogue, loaded from `policies/controls.yaml`.
//!
//! Control IDs are public and stable: policies must name one that exists here, and reports use
//! the catalogue's requirement text and guideline section so that what a DPO reads is the same
//! text the policies were written against.

use crate::diag::{Diagnostic, locate_text, parse_yaml};
use crate::findings::Localized;
use crate::vendor::Vendor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How a control is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlKind {
    /// Read from the tenant.
    Automated,
    /// Declared by the operator in the evidence file.
    Evidence,
    /// Read from the tenant and completed by a declaration.
    Mixed,
    /// Read from the tenant; a declaration stands in only when the service cannot be read
    /// (no licence, no role), and never overrules a measurement.
    #[serde(rename = "measured_else_declared")]
    MeasuredElseDeclared,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuidelineRef {
    /// Section heading of the VTC guideline, as written there.
    pub section: String,
    /// A short verbatim quote that grounds the control.
    pub quote: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceNeeds {
    pub fields: Vec<String>,
    pub document: String,
}

/// How a control reads for one vendor where its wording names the other suite's products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorWording {
    /// How the control is checked for this vendor, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ControlKind>,
    pub requirement: Localized,
    /// What the declaration's document is, for this vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub area: String,
    pub kind: ControlKind,
    pub title: Localized,
    pub requirement: Localized,
    pub guideline: GuidelineRef,
    pub gdpr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceNeeds>,
    /// The wording for a vendor other than Microsoft, where the requirement names Microsoft 365
    /// products; a vendor not listed reads `requirement` as it is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vendors: BTreeMap<Vendor, VendorWording>,
}

impl Control {
    /// The requirement as `vendor`'s customers read it.
    pub fn requirement_for(&self, vendor: Vendor) -> &Localized {
        self.vendors
            .get(&vendor)
            .map_or(&self.requirement, |w| &w.requirement)
    }

    /// How the control is checked for `vendor`.
    pub fn kind_for(&self, vendor: Vendor) -> ControlKind {
        self.vendors
            .get(&vendor)
            .and_then(|w| w.kind)
            .unwrap_or(self.kind)
    }

    /// The document a declaration for `vendor` points to, when the control has one.
    pub fn document_for(&self, vendor: Vendor) -> Option<&str> {
        self.vendors
            .get(&vendor)
            .and_then(|w| w.document.as_deref())
            .or(self.evidence.as_ref().map(|e| e.document.as_str()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    areas: BTreeMap<String, Localized>,
    controls: Vec<Control>,
}

/// Every control, in catalogue order, and the areas they belong to.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub areas: BTreeMap<String, Localized>,
    controls: Vec<Control>,
}

impl Catalog {
    pub fn parse(file: &Path, text: &str) -> Result<Self, Diagnostic> {
        let parsed: CatalogFile = parse_yaml(file, text)?;
        let mut seen = std::collections::BTreeSet::new();
        for control in &parsed.controls {
            let at = || locate_text(text, &control.id);
            if !seen.insert(control.id.as_str()) {
                return Err(Diagnostic::new(
                    file,
                    at(),
                    format!("control {} is listed twice", control.id),
                )
                .with_fix("keep one entry per control ID"));
            }
            if !parsed.areas.contains_key(&control.area) {
                return Err(Diagnostic::new(
                    file,
                    at(),
                    format!(
                        "control {} names unknown area '{}'",
                        control.id, control.area
                    ),
                )
                .with_fix("add the area under `areas:` or correct the spelling"));
            }
        }
        Ok(Catalog {
            areas: parsed.areas,
            controls: parsed.controls,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    /// Position of a control in catalogue order, for sorting findings as a reader expects.
    pub fn order_of(&self, id: &str) -> usize {
        self.controls
            .iter()
            .position(|c| c.id == id)
            .unwrap_or(usize::MAX)
    }
}

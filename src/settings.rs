//! Tenant settings (`--config FILE`): what only the operator knows about the tenant, with
//! documented defaults. Policies read them through `{setting: JSONPath}` operands.
//!
//! Settings change what counts as compliant (which accounts are break-glass, which geos are
//! accepted), so every value used is part of the scan's input and is echoed in the report.

use crate::catalog::Catalog;
use crate::diag::{Diagnostic, locate_text, parse_yaml};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Emergency-access accounts: excluded from MFA and standing-role checks, but always listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassAccount {
    /// Entra object id of the user as Conditional Access policies reference it. (An excluded
    /// group counts only when every transitive member is one of these accounts.)
    pub id: String,
    /// A name for people reading the settings; never needed for matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRange {
    pub min: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewPeriods {
    pub restore_test_months: u32,
    /// VTC-RBA-05: the last instance of an access review (or the declared review) completed
    /// within this many months.
    pub access_review_months: u32,
    pub dpia_years: u32,
    /// VTC-BAK-01: the backup application signed in (app-only) within this many days, which
    /// shows that the backup runs. Microsoft's sign-in activity report is not real-time, so
    /// less than 2 is not advised.
    pub backup_sign_in_days: u32,
}

impl Default for ReviewPeriods {
    fn default() -> Self {
        ReviewPeriods {
            restore_test_months: 12,
            access_review_months: 12,
            dpia_years: 3,
            backup_sign_in_days: 2,
        }
    }
}

/// A control the operator declares not applicable; reported as `not-applicable`, never silent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedControl {
    pub control: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub break_glass_accounts: Vec<BreakGlassAccount>,
    /// Data-location geo codes that count as EU (VTC: data only in European datacenters).
    pub accepted_geos: Vec<String>,
    /// How many distinct users may hold Global Administrator (active or eligible).
    pub global_admins: CountRange,
    /// Role template IDs treated as privileged (CONTROLS.md, "Privileged roles"). Every control
    /// that judges privileged roles reads this one list (`{setting: $.privileged_roles}`, or
    /// `resource: settings` to go through it role by role).
    pub privileged_roles: Vec<String>,
    pub review_periods: ReviewPeriods,
    /// VTC-AUD-02: the longest period, in days, after which a retention policy may delete
    /// content (storage limitation); the municipality's records schedule sets it.
    pub retention_max_days: u32,
    pub skip: Vec<SkippedControl>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            break_glass_accounts: Vec::new(),
            accepted_geos: ["EUR", "FRA", "DEU", "CHE", "NOR"]
                .map(String::from)
                .to_vec(),
            global_admins: CountRange { min: 2, max: 4 },
            // Microsoft's "Require phishing-resistant MFA for administrators" list (fifteen
            // roles, Teams Administrator included) plus Hybrid Identity Administrator, which
            // CONTROLS.md adds: it controls the sync to on-premises directories.
            privileged_roles: [
                "62e90394-69f5-4237-9190-012177145e10", // Global Administrator
                "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", // Application Administrator
                "c4e39bd9-1100-46d3-8c65-fb160da0071f", // Authentication Administrator
                "b0f54661-2d74-4c50-afa3-1ec803f12efe", // Billing Administrator
                "158c047a-c907-4556-b7ef-446551a6b5f7", // Cloud Application Administrator
                "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", // Conditional Access Administrator
                "29232cdf-9323-42fd-ade2-1d097af3e4de", // Exchange Administrator
                "729827e3-9c14-49f7-bb1b-9608f156bbb8", // Helpdesk Administrator
                "966707d0-3269-4727-9be2-8c3a10f19b9d", // Password Administrator
                "7be44c8a-adaf-4e2a-84d6-ab2649e08a13", // Privileged Authentication Administrator
                "e8611ab8-c189-46e8-94e1-60213ab1f814", // Privileged Role Administrator
                "194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
                "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", // SharePoint Administrator
                "69091246-20e8-4a56-aa4d-066075b2a7a8", // Teams Administrator
                "fe930be7-5e62-47db-91af-98c3a49a38b1", // User Administrator
                "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", // Hybrid Identity Administrator
            ]
            .map(String::from)
            .to_vec(),
            review_periods: ReviewPeriods::default(),
            // Ten years: the longest period of most municipal records schedules; records kept
            // longer are transferred to an archive, not kept in Microsoft 365.
            retention_max_days: 3650,
            skip: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads and checks a settings file against the catalogue (skipped controls must exist).
    /// Also returns the SHA-256 of exactly the bytes parsed, for the report: hashing a second read
    /// could describe another version of the file than the one the verdicts used.
    pub fn load(file: &Path, catalog: &Catalog) -> Result<(Self, String), Diagnostic> {
        let text = crate::input_file::read_text(file, crate::input_file::Limit::DOCUMENT).map_err(
            |err| {
                err.diagnostic(
                    file,
                    "settings file",
                    "pass an existing YAML file to --config (README: tenant settings)",
                )
            },
        )?;
        let settings: Settings = parse_yaml(file, &text)?;
        settings.check(file, &text, catalog)?;
        Ok((settings, crate::digest::sha256_hex(text.as_bytes())))
    }

    fn check(&self, file: &Path, text: &str, catalog: &Catalog) -> Result<(), Diagnostic> {
        for account in &self.break_glass_accounts {
            if account.id.trim().is_empty() {
                return Err(Diagnostic::new(
                    file,
                    locate_text(text, "break_glass_accounts"),
                    "a break-glass account has an empty id",
                )
                .with_fix(
                    "give the account's Entra object id, as Conditional Access policies list it",
                ));
            }
        }
        for geo in &self.accepted_geos {
            if geo.len() != 3 || !geo.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(Diagnostic::new(
                    file,
                    locate_text(text, geo),
                    format!("accepted geo '{geo}' is not a three-letter geo code"),
                )
                .with_fix("use Microsoft's geo codes in capitals, e.g. EUR, FRA, DEU"));
            }
        }
        if self.global_admins.min > self.global_admins.max {
            return Err(Diagnostic::new(
                file,
                locate_text(text, "global_admins"),
                "global_admins.min is above global_admins.max",
            )
            .with_fix("e.g. global_admins: {min: 2, max: 4}"));
        }
        for (key, value) in [
            ("retention_max_days", self.retention_max_days),
            (
                "backup_sign_in_days",
                self.review_periods.backup_sign_in_days,
            ),
        ] {
            if value == 0 {
                return Err(Diagnostic::new(
                    file,
                    locate_text(text, key),
                    format!("{key} is 0"),
                )
                .with_fix(format!("give a number of days of at least 1, or leave {key} out for its default")));
            }
        }
        for skip in &self.skip {
            if catalog.get(&skip.control).is_none() {
                return Err(Diagnostic::new(
                    file,
                    locate_text(text, &skip.control),
                    format!("skip names unknown control '{}'", skip.control),
                )
                .with_fix("use a control ID from `cloudkeur policy list`, e.g. VTC-MTG-01"));
            }
            if skip.reason.trim().is_empty() {
                return Err(Diagnostic::new(
                    file,
                    locate_text(text, &skip.control),
                    format!("skip of {} has no reason", skip.control),
                )
                .with_fix("say why the control does not apply; the report shows it"));
            }
        }
        Ok(())
    }

    /// The settings as the JSON document `{setting: ...}` operands select from.
    pub fn to_document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn skip_reason(&self, control: &str) -> Option<&str> {
        self.skip
            .iter()
            .find(|s| s.control == control)
            .map(|s| s.reason.as_str())
    }
}

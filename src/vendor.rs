//! The suite a tenant runs: Microsoft 365 or Google Workspace.
//!
//! A vendor is data, not a code path: a snapshot's manifest names it (absent means Microsoft, so
//! snapshots written before there were two vendors keep working), every service in the registry
//! belongs to one, every policy says which it is for, and the report names the suite from here.
//! Renderers never write a suite's name themselves.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Microsoft 365 (Microsoft Graph, Exchange Online, Security & Compliance, Teams).
    #[default]
    Microsoft,
    /// Google Workspace (Admin SDK Directory API, Cloud Identity Policy API).
    Google,
}

impl Vendor {
    pub const ALL: [Vendor; 2] = [Vendor::Microsoft, Vendor::Google];

    /// The name in manifests, policy files and flags: `microsoft`, `google`.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Microsoft => "microsoft",
            Vendor::Google => "google",
        }
    }

    /// The suite's name for people, as reports print it.
    pub fn suite(self) -> &'static str {
        match self {
            Vendor::Microsoft => "Microsoft 365",
            Vendor::Google => "Google Workspace",
        }
    }

    /// What one of the suite's organisations is called in reports: a tenant, a customer.
    pub fn organisation_term(self) -> &'static str {
        match self {
            Vendor::Microsoft => "tenant",
            Vendor::Google => "customer",
        }
    }

    /// The label of the organisation's id in reports.
    pub fn id_label(self, lang: crate::findings::Lang) -> &'static str {
        use crate::findings::Lang;
        match (self, lang) {
            (Vendor::Microsoft, Lang::Nl) => "Tenant-ID",
            (Vendor::Microsoft, Lang::En) => "Tenant ID",
            (Vendor::Google, Lang::Nl) => "Klant-ID",
            (Vendor::Google, Lang::En) => "Customer ID",
        }
    }

    /// Microsoft is the default: manifests and reports leave it out, so that what older
    /// cloudkeur versions wrote and read stays the same.
    pub fn is_default(&self) -> bool {
        *self == Vendor::default()
    }

    /// Parses `microsoft` or `google`.
    pub fn parse(text: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_microsoft_is_the_default() {
        for vendor in Vendor::ALL {
            assert_eq!(Vendor::parse(vendor.as_str()), Some(vendor));
            let json = serde_json::to_value(vendor).unwrap();
            assert_eq!(json, serde_json::json!(vendor.as_str()));
        }
        assert_eq!(Vendor::default(), Vendor::Microsoft);
        assert!(Vendor::Microsoft.is_default() && !Vendor::Google.is_default());
        assert_eq!(Vendor::parse("Google"), None);
        assert_eq!(Vendor::Google.suite(), "Google Workspace");
    }
}

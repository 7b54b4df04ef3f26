//! Pseudonymisation of personal identifiers in findings: privacy by design for a GDPR tool.
//!
//! A policy marks a label as naming a person (`identity: true`). Before any report is written,
//! such labels are replaced by a keyed pseudonym (HMAC-SHA-256 over tenant and label), and every
//! other occurrence of the identifier in reasons and details is replaced too. With a stable key
//! file the same account gets the same pseudonym in every scan of that tenant, so ICT can follow
//! drift and, when needed, re-run with `--reveal-identities`. Never pseudonymises anything twice.

use crate::findings::Finding;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

/// How identities appear in a report; recorded in the report itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMode {
    /// Keyed pseudonyms from the operator's key file: stable across scans.
    Pseudonymised,
    /// Keyed pseudonyms from a key made for this scan only: not linkable to other scans.
    PseudonymisedPerScan,
    /// Real identifiers, on explicit request (`--reveal-identities`). Also assumed for a report
    /// that does not say, since it may then hold real names.
    #[default]
    Revealed,
}

/// A secret key for pseudonyms. Its bytes never appear in any output.
pub struct PseudonymKey(Vec<u8>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= 16).then_some(PseudonymKey(bytes))
    }

    /// A random key for one scan.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(PseudonymKey(bytes))
    }

    /// `p-` and 12 hex digits: short enough to read, 48 bits against accidental collisions in a
    /// tenant's few thousand accounts.
    pub fn pseudonym(&self, tenant: &str, identifier: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return "p-unavailable".to_owned();
        };
        mac.update(tenant.as_bytes());
        mac.update(&[0]);
        mac.update(identifier.to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("p-{hex}")
    }
}

/// Replaces every identity label, and every other mention of it, with its pseudonym.
pub fn pseudonymise(findings: &mut [Finding], tenant: &str, key: &PseudonymKey) {
    let mut pseudonyms: BTreeMap<String, String> = BTreeMap::new();
    for finding in findings.iter() {
        for item in finding.items.iter().filter(|i| i.identity) {
            if let Some(label) = &item.label {
                pseudonyms
                    .entry(label.clone())
                    .or_insert_with(|| key.pseudonym(tenant, label));
            }
        }
    }
    if pseudonyms.is_empty() {
        return;
    }
    // Longest first, so "jan@x.example" is replaced before a shorter identifier inside it.
    let mut by_length: Vec<(&String, &String)> = pseudonyms.iter().collect();
    by_length.sort_by_key(|(identifier, _)| std::cmp::Reverse(identifier.len()));
    let scrub = |text: &mut String| {
        for (identifier, pseudonym) in &by_length {
            if text.contains(identifier.as_str()) {
                *text = text.replace(identifier.as_str(), pseudonym);
            }
        }
    };
    for finding in findings.iter_mut() {
        scrub(&mut finding.reason);
        for item in &mut finding.items {
            scrub(&mut item.detail);
            if let Some(label) = &mut item.label {
                scrub(label);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{FindingItem, Localized, Severity, Verdict};

    fn finding_with(label: &str, identity: bool) -> Finding {
        let text = Localized {
            nl: "t".into(),
            en: "t".into(),
        };
        Finding {
            control: "VTC-MFA-04".into(),
            policy: "p".into(),
            title: text.clone(),
            severity: Severity::High,
            verdict: Verdict::Fail,
            reason: format!("1 of 3 items fail; first is {label}"),
            items: vec![FindingItem {
                path: "$['value'][1]".into(),
                label: Some(label.into()),
                detail: format!("{label} is not MFA capable"),
                identity,
            }],
            remediation: text,
            guideline: "g".into(),
            gdpr: vec![],
            resources: vec![],
            waiver: None,
        }
    }

    fn key() -> PseudonymKey {
        PseudonymKey::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).expect("long enough")
    }

    #[test]
    fn identity_labels_are_replaced_everywhere() {
        let mut findings = vec![finding_with("an.voorbeeld@zonnedorp.example", true)];
        pseudonymise(&mut findings, "tenant-1", &key());
        let json = serde_json::to_string(&findings).expect("json");
        assert!(!json.contains("an.voorbeeld"), "{json}");
        assert!(
            findings[0].items[0]
                .label
                .as_deref()
                .is_some_and(|l| l.starts_with("p-") && l.len() == 14)
        );
    }

    #[test]
    fn pseudonyms_are_stable_per_tenant_and_key_but_differ_between_tenants() {
        let k = key();
        assert_eq!(
            k.pseudonym("t1", "An@X.example"),
            k.pseudonym("t1", "an@x.example")
        );
        assert_ne!(
            k.pseudonym("t1", "an@x.example"),
            k.pseudonym("t2", "an@x.example")
        );
        let other = PseudonymKey::from_bytes(b"fedcba9876543210fedcba9876543210".to_vec())
            .expect("long enough");
        assert_ne!(
            k.pseudonym("t1", "an@x.example"),
            other.pseudonym("t1", "an@x.example")
        );
    }

    #[test]
    fn labels_that_are_not_identities_stay() {
        let mut findings = vec![finding_with("CA001 MFA for all users", false)];
        pseudonymise(&mut findings, "tenant-1", &key());
        assert_eq!(
            findings[0].items[0].label.as_deref(),
            Some("CA001 MFA for all users")
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(PseudonymKey::from_bytes(b"short".to_vec()).is_none());
    }
}

//! Which service answers a resource, and the admin-API cmdlets cloudkeur may invoke.
//!
//! Exchange Online and Security & Compliance are read through their admin REST API, a POST of a
//! cmdlet name to `InvokeCommand`. A POST can change a tenant, so the cmdlets that may be sent are
//! a closed, compiled-in list of read-only `Get-*` cmdlets: a registry naming any other string is
//! refused when it loads, and no code can build a request for a cmdlet outside [`Cmdlet`].

use crate::vendor::Vendor;
use serde::Deserialize;
use std::fmt;

/// The service that answers a resource: its origin, token audience and request form differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Microsoft Graph: `GET {graph-url}/v1.0/...`.
    #[default]
    Graph,
    /// Exchange Online admin API: `POST .../adminapi/beta/{tenant}/InvokeCommand`.
    Exchange,
    /// Security & Compliance (Purview) admin API: the same request form on its own host.
    Compliance,
    /// Teams admin configuration API: `GET .../Skype.Policy/configurations/...`.
    Teams,
    /// Google's Admin SDK Directory API: `GET https://admin.googleapis.com/admin/directory/v1/...`.
    #[serde(rename = "google_directory")]
    GoogleDirectory,
    /// Google's Cloud Identity Policy API: `GET https://cloudidentity.googleapis.com/v1/policies`.
    #[serde(rename = "google_policy")]
    GooglePolicy,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::Graph,
        Service::Exchange,
        Service::Compliance,
        Service::Teams,
        Service::GoogleDirectory,
        Service::GooglePolicy,
    ];

    /// The name used in `resources.yaml`, `--services` and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Graph => "graph",
            Service::Exchange => "exchange",
            Service::Compliance => "compliance",
            Service::Teams => "teams",
            Service::GoogleDirectory => "google_directory",
            Service::GooglePolicy => "google_policy",
        }
    }

    /// The suite the service belongs to.
    pub fn vendor(self) -> Vendor {
        match self {
            Service::Graph | Service::Exchange | Service::Compliance | Service::Teams => {
                Vendor::Microsoft
            }
            Service::GoogleDirectory | Service::GooglePolicy => Vendor::Google,
        }
    }

    /// The service's real origin. Google's two APIs live on two hosts; for tests one origin
    /// (`--google-url`, part of the live scan) stands in for both, the paths unchanged (they do
    /// not collide: `/admin/directory/v1/...` and `/v1/policies`).
    pub fn google_origin(self) -> Option<&'static str> {
        match self {
            Service::GoogleDirectory => Some("https://admin.googleapis.com"),
            Service::GooglePolicy => Some("https://cloudidentity.googleapis.com"),
            _ => None,
        }
    }

    /// The service's name for people: "Microsoft Graph", "Exchange Online", …
    pub fn title(self) -> &'static str {
        match self {
            Service::Graph => "Microsoft Graph",
            Service::Exchange => "Exchange Online",
            Service::Compliance => "Security & Compliance",
            Service::Teams => "Teams admin API",
            Service::GoogleDirectory => "Admin SDK Directory API",
            Service::GooglePolicy => "Cloud Identity Policy API",
        }
    }

    /// Whether the service is read by invoking cmdlets (rather than by a path).
    pub fn invokes_cmdlets(self) -> bool {
        matches!(self, Service::Exchange | Service::Compliance)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A read-only admin cmdlet cloudkeur may invoke. Only `Get-*` cmdlets are listed, each with the
/// service it runs on: a cmdlet sent to the other service answers differently (Microsoft:
/// `UnifiedAuditLogIngestionEnabled` "in Security & Compliance PowerShell is always False").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Cmdlet {
    #[serde(rename = "Get-AdminAuditLogConfig")]
    GetAdminAuditLogConfig,
    #[serde(rename = "Get-OrganizationConfig")]
    GetOrganizationConfig,
    #[serde(rename = "Get-DataEncryptionPolicy")]
    GetDataEncryptionPolicy,
    #[serde(rename = "Get-M365DataAtRestEncryptionPolicy")]
    GetM365DataAtRestEncryptionPolicy,
    #[serde(rename = "Get-M365DataAtRestEncryptionPolicyAssignment")]
    GetM365DataAtRestEncryptionPolicyAssignment,
    #[serde(rename = "Get-RetentionCompliancePolicy")]
    GetRetentionCompliancePolicy,
    #[serde(rename = "Get-RetentionComplianceRule")]
    GetRetentionComplianceRule,
    #[serde(rename = "Get-Label")]
    GetLabel,
    #[serde(rename = "Get-LabelPolicy")]
    GetLabelPolicy,
}

impl Cmdlet {
    pub const ALL: [Cmdlet; 9] = [
        Cmdlet::GetAdminAuditLogConfig,
        Cmdlet::GetOrganizationConfig,
        Cmdlet::GetDataEncryptionPolicy,
        Cmdlet::GetM365DataAtRestEncryptionPolicy,
        Cmdlet::GetM365DataAtRestEncryptionPolicyAssignment,
        Cmdlet::GetRetentionCompliancePolicy,
        Cmdlet::GetRetentionComplianceRule,
        Cmdlet::GetLabel,
        Cmdlet::GetLabelPolicy,
    ];

    /// The cmdlet's name as the admin API takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Cmdlet::GetAdminAuditLogConfig => "Get-AdminAuditLogConfig",
            Cmdlet::GetOrganizationConfig => "Get-OrganizationConfig",
            Cmdlet::GetDataEncryptionPolicy => "Get-DataEncryptionPolicy",
            Cmdlet::GetM365DataAtRestEncryptionPolicy => "Get-M365DataAtRestEncryptionPolicy",
            Cmdlet::GetM365DataAtRestEncryptionPolicyAssignment => {
                "Get-M365DataAtRestEncryptionPolicyAssignment"
            }
            Cmdlet::GetRetentionCompliancePolicy => "Get-RetentionCompliancePolicy",
            Cmdlet::GetRetentionComplianceRule => "Get-RetentionComplianceRule",
            Cmdlet::GetLabel => "Get-Label",
            Cmdlet::GetLabelPolicy => "Get-LabelPolicy",
        }
    }

    /// The service the cmdlet belongs to.
    pub fn service(self) -> Service {
        match self {
            Cmdlet::GetAdminAuditLogConfig
            | Cmdlet::GetOrganizationConfig
            | Cmdlet::GetDataEncryptionPolicy
            | Cmdlet::GetM365DataAtRestEncryptionPolicy
            | Cmdlet::GetM365DataAtRestEncryptionPolicyAssignment => Service::Exchange,
            Cmdlet::GetRetentionCompliancePolicy
            | Cmdlet::GetRetentionComplianceRule
            | Cmdlet::GetLabel
            | Cmdlet::GetLabelPolicy => Service::Compliance,
        }
    }
}

/// A cmdlet parameter's name as `InvokeCommand` takes it (PowerShell's, without `-`): letters and
/// digits, starting with a letter.
pub fn is_parameter_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.len() <= 64
}

impl fmt::Display for Cmdlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cmdlet_only_reads() {
        for cmdlet in Cmdlet::ALL {
            assert!(cmdlet.as_str().starts_with("Get-"), "{cmdlet}");
            assert!(cmdlet.service().invokes_cmdlets(), "{cmdlet}");
        }
    }

    #[test]
    fn every_service_names_its_vendor_and_google_services_their_origin() {
        for service in Service::ALL {
            let parsed: Service =
                serde_json::from_value(serde_json::json!(service.as_str())).unwrap();
            assert_eq!(parsed, service);
            assert_eq!(
                service.google_origin().is_some(),
                service.vendor() == Vendor::Google,
                "{service}"
            );
        }
    }

    #[test]
    fn a_cmdlet_outside_the_list_does_not_parse() {
        for name in [
            "Set-AdminAuditLogConfig",
            "New-Label",
            "Remove-Label",
            "get-label",
            "",
        ] {
            let parsed: Result<Cmdlet, _> = serde_json::from_value(serde_json::json!(name));
            assert!(parsed.is_err(), "{name} parsed");
        }
        let parsed: Cmdlet = serde_json::from_value(serde_json::json!("Get-Label")).unwrap();
        assert_eq!(parsed, Cmdlet::GetLabel);
    }
}

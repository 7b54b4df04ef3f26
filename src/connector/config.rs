//! What a live scan of a Microsoft 365 tenant needs, resolved once by the command layer: who
//! signs in, and where each service answers.

use super::auth::Credential;
use super::retry::RetryPolicy;
use super::transport::origin::is_regional_host;
use crate::registry::Service;
use reqwest::Url;
use std::collections::BTreeSet;

/// The default cap on one response body (`--max-response-bytes`): far above any Graph page
/// (a page of 999 users with a `$select` is well under 1 MiB), far below what would exhaust the
/// memory of the small machine a scheduled scan runs on.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The public-cloud origin of each service (the default of its `--…-url` flag).
pub const fn default_origin(service: Service) -> &'static str {
    match service {
        Service::Graph => "https://graph.microsoft.com",
        Service::Exchange => "https://outlook.office365.com",
        // The front door: it redirects a tenant to its regional host (see `admin::redirect`).
        Service::Compliance => "https://ps.compliance.protection.outlook.com",
        Service::Teams => "https://api.interfaces.records.teams.microsoft.com",
        Service::GoogleDirectory => "https://admin.googleapis.com",
        Service::GooglePolicy => "https://cloudidentity.googleapis.com",
    }
}

/// The flag that sets a service's origin.
pub const fn origin_flag(service: Service) -> &'static str {
    match service {
        Service::Graph => "--graph-url",
        Service::Exchange => "--exchange-url",
        Service::Compliance => "--compliance-url",
        Service::Teams => "--teams-url",
        // One test origin stands in for both of Google's API hosts.
        Service::GoogleDirectory | Service::GooglePolicy => "--google-url",
    }
}

/// The OAuth scope of a service's tokens. Graph, Exchange Online and Security & Compliance take
/// their origin as the audience (`https://outlook.office365.com/.default`, …), so a test server's
/// tokens are bound to it too; a regional host of an admin API given as its origin
/// (`https://eur02b.ps.compliance.protection.outlook.com`) still takes the service's own
/// audience. The Teams admin API is the "Skype and Teams Tenant Admin API" application, whatever
/// host answers (Microsoft, "Application-based authentication in Teams PowerShell Module":
/// `48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default`).
pub fn token_scope(service: Service, origin: &Url) -> String {
    let public = default_origin(service);
    let public_host = public.trim_start_matches("https://");
    match service {
        Service::Teams => format!("{TEAMS_ADMIN_API_APP_ID}/.default"),
        Service::Exchange | Service::Compliance
            if origin.scheme() == "https"
                && origin
                    .host_str()
                    .is_some_and(|host| is_regional_host(host, public_host)) =>
        {
            format!("{public}/.default")
        }
        _ => format!("{}/.default", origin.as_str().trim_end_matches('/')),
    }
}

/// The application id of the "Skype and Teams Tenant Admin API".
pub const TEAMS_ADMIN_API_APP_ID: &str = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239";

/// Everything a live scan needs, resolved once by the command layer.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The tenant id (GUID) or domain the user gave: in the token URL, and in the path of the
    /// admin APIs' `InvokeCommand`.
    pub tenant: String,
    pub client_id: String,
    pub credential: Credential,
    /// Each checked with [`super::check_base_url`].
    pub graph_url: Url,
    pub exchange_url: Url,
    pub compliance_url: Url,
    pub teams_url: Url,
    pub authority_url: Url,
    /// `--services`: the services a scan may read. `None`: every service the wanted resources
    /// need. A resource of a service left out is recorded unreadable, naming the service.
    pub services: Option<BTreeSet<Service>>,
    /// Resources read at the same time (at least 1).
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// A response body longer than this is refused while it streams (the resource is then
    /// unreadable, its policies give `error`).
    pub max_response_bytes: u64,
}

impl LiveConfig {
    /// A configuration for the public cloud (every origin its default), every service allowed,
    /// the default limits.
    pub fn new(tenant: &str, client_id: &str, credential: Credential) -> Self {
        let origin = |service| Url::parse(default_origin(service)).expect("a constant URL");
        LiveConfig {
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            credential,
            graph_url: origin(Service::Graph),
            exchange_url: origin(Service::Exchange),
            compliance_url: origin(Service::Compliance),
            teams_url: origin(Service::Teams),
            authority_url: Url::parse("https://login.microsoftonline.com").expect("a URL"),
            services: None,
            concurrency: 8,
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The configured origin of `service`; none for another vendor's service, which a Microsoft
    /// scan never reads.
    pub fn origin(&self, service: Service) -> Option<&Url> {
        match service {
            Service::Graph => Some(&self.graph_url),
            Service::Exchange => Some(&self.exchange_url),
            Service::Compliance => Some(&self.compliance_url),
            Service::Teams => Some(&self.teams_url),
            Service::GoogleDirectory | Service::GooglePolicy => None,
        }
    }

    /// Whether `--services` lets the scan read `service`.
    pub fn allows(&self, service: Service) -> bool {
        self.services
            .as_ref()
            .is_none_or(|selected| selected.contains(&service))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::Secret;

    #[test]
    fn the_defaults_are_the_public_cloud_and_every_service() {
        let config = LiveConfig::new("t", "c", Credential::ClientSecret(Secret::new("s")));
        for service in Service::ALL {
            match config.origin(service) {
                Some(origin) => {
                    assert_eq!(service.vendor(), crate::vendor::Vendor::Microsoft);
                    assert_eq!(
                        origin.as_str().trim_end_matches('/'),
                        default_origin(service)
                    );
                }
                None => assert_eq!(service.vendor(), crate::vendor::Vendor::Google),
            }
            assert!(config.allows(service));
        }
        assert_eq!(
            token_scope(Service::Exchange, &config.exchange_url),
            "https://outlook.office365.com/.default"
        );
        assert_eq!(
            token_scope(Service::Compliance, &config.compliance_url),
            "https://ps.compliance.protection.outlook.com/.default"
        );
        assert_eq!(
            token_scope(Service::Teams, &config.teams_url),
            "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"
        );
        // A regional host named directly keeps the service's audience.
        let regional = Url::parse("https://eur02b.ps.compliance.protection.outlook.com").unwrap();
        assert_eq!(
            token_scope(Service::Compliance, &regional),
            "https://ps.compliance.protection.outlook.com/.default"
        );
        let loopback = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            token_scope(Service::Compliance, &loopback),
            "http://127.0.0.1:8080/.default"
        );
    }
}

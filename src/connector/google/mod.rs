//! The Google Workspace connector: reads a customer's Directory API and Cloud Identity Policy
//! API resources into a snapshot, with a [`ServiceConnector`] per API run by the same engine as
//! Microsoft 365's services (`cloudkeur scan --vendor google`).
//!
//! Read-only by construction, as for Microsoft: every request goes through the transport seam
//! ([`super::transport`]) as a `GET` to the configured API origins ([`ApiOrigins`]), or as one of
//! the credential's own requests (the token form `POST`, Google STS's token-exchange form, IAM
//! Credentials' `signJwt`); the OAuth scopes are Google's read-only ones only
//! ([`token::is_read_only_scope`]), each the `permission` of a resource the scan reads. The
//! private key and every token are [`super::Secret`]s.
//!
//! ```no_run
//! # async fn scan(config: cloudkeur::connector::google::GoogleConfig,
//! #               transport: std::sync::Arc<dyn cloudkeur::connector::transport::Transport>,
//! #               pack: cloudkeur::policy::PolicyPack) -> Result<(), cloudkeur::connector::ConnectorError> {
//! let wanted = pack.needed_resources();
//! let collection = cloudkeur::connector::google::collect(&config, transport, &pack.registry, &wanted).await?;
//! let snapshot = cloudkeur::connector::google::encode(collection); // its manifest names Google
//! # Ok(()) }
//! ```

pub mod credentials;
mod read;
mod service;
pub mod token;

pub use credentials::{AuthEndpoints, GoogleCredential};

use super::engine::{self, Connectors, ServiceConnector};
use super::transport::Transport;
use super::transport::http::{Allowed, HttpTransport};
use super::{ConnectorError, NoProgress, Progress, RetryPolicy};
use crate::registry::{Registry, ResourceSpec, Service};
use crate::snapshot::{Collection, EncodedSnapshot, encode_owned};
use crate::vendor::Vendor;
use reqwest::Url;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use token::GoogleTokens;

/// The customer alias for the administrator's own customer
/// ("use the `my_customer` alias to represent your account's `customerId`").
pub const MY_CUSTOMER: &str = "my_customer";

/// Where the APIs are. Real Google has two hosts; a test (and `--google-url` in the live scan)
/// puts both on one origin, the paths unchanged: `/admin/directory/v1/...` and `/v1/policies`
/// do not collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOrigins {
    pub directory: Url,
    pub policy: Url,
}

impl ApiOrigins {
    /// `https://admin.googleapis.com` and `https://cloudidentity.googleapis.com`.
    pub fn google() -> Self {
        let origin = |service: Service| {
            service
                .google_origin()
                .and_then(|text| Url::parse(text).ok())
        };
        match (
            origin(Service::GoogleDirectory),
            origin(Service::GooglePolicy),
        ) {
            (Some(directory), Some(policy)) => ApiOrigins { directory, policy },
            _ => unreachable!("the Google services name their origins"),
        }
    }

    /// Every API on one origin.
    pub fn one(origin: Url) -> Self {
        ApiOrigins {
            directory: origin.clone(),
            policy: origin,
        }
    }
}

/// A live Google scan, resolved.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// `my_customer`, or the customer id (`C0…`).
    pub customer: String,
    /// The super administrator the service account impersonates (the Policy API answers only
    /// super administrators).
    pub admin: String,
    pub credential: GoogleCredential,
    pub api: ApiOrigins,
    pub auth: AuthEndpoints,
    pub retry: RetryPolicy,
    pub max_response_bytes: u64,
    /// Resources read at the same time (at least 1), as `--concurrency` says.
    pub concurrency: usize,
}

/// The Google resources a scan of `wanted` reads — derived ones replaced by what they are made
/// from, fan-outs with their parents — by name. Resources of other vendors are left out.
pub fn plan(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<BTreeMap<String, ResourceSpec>, ConnectorError> {
    let mut plan = BTreeMap::new();
    let mut todo: Vec<String> = wanted.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let spec = registry
            .get(&name)
            .ok_or_else(|| ConnectorError::UnknownResource(name.clone()))?;
        if spec.service.vendor() != Vendor::Google {
            continue;
        }
        todo.extend(spec.depends_on().map(str::to_owned));
        if !spec.is_derived() {
            plan.insert(name, spec.clone());
        }
    }
    Ok(plan)
}

/// The OAuth scopes a scan of `wanted` needs: the `permission` of every Google resource it
/// reads, each once, sorted. These, and only these, go on the domain-wide delegation page.
pub fn scopes(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<Vec<String>, ConnectorError> {
    let scopes: BTreeSet<String> = plan(registry, wanted)?
        .values()
        .map(|spec| spec.permission.clone())
        .collect();
    Ok(scopes.into_iter().collect())
}

/// Reads `wanted` (and what it needs) from the customer through `transport`. A token that
/// cannot be had stops the scan (exit 2, with what to check); a resource that cannot be read is
/// recorded as failed and its policies give `error`.
pub async fn collect(
    config: &GoogleConfig,
    transport: Arc<dyn Transport>,
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<Collection, ConnectorError> {
    collect_reporting(config, transport, registry, wanted, Arc::new(NoProgress)).await
}

/// [`collect`], telling `progress` as resources are read. The engine ([`engine::run`]) reads,
/// with a connector per Google service ([`service::GoogleConnector`]): the same engine as for
/// Microsoft 365.
pub async fn collect_reporting(
    config: &GoogleConfig,
    transport: Arc<dyn Transport>,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let plan = plan(registry, wanted)?;
    let scopes: Vec<String> = plan
        .values()
        .map(|spec| spec.permission.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    check_customer(&config.customer)?;
    let tokens = GoogleTokens::new(
        Arc::clone(&transport),
        config.auth.clone(),
        config.credential.clone(),
        &config.admin,
        scopes,
        config.retry.clone(),
        config.max_response_bytes,
    )?;
    let reader = Arc::new(read::Reader {
        transport,
        tokens: Arc::new(tokens),
        directory: config.api.directory.clone(),
        policy: config.api.policy.clone(),
        customer: config.customer.clone(),
        retry: config.retry.clone(),
        max_response_bytes: config.max_response_bytes,
    });
    let mut by_service: BTreeMap<Service, Arc<dyn ServiceConnector>> = BTreeMap::new();
    for spec in plan.values() {
        if let Some(connector) = service::GoogleConnector::new(spec.service, &reader) {
            by_service.insert(spec.service, Arc::new(connector));
        }
    }
    let connectors = Connectors {
        by_service,
        selection: "every Google service".to_owned(),
    };
    let resources = engine::run(&connectors, plan, config.concurrency, None, progress).await?;
    let tenant_name = connectors
        .by_service
        .values()
        .find_map(|connector| connector.tenant_name(&resources));
    // `my_customer` is an alias; the report and the archive name the customer itself.
    let tenant_id = match config.customer.as_str() {
        MY_CUSTOMER => service::customer_id(&resources),
        _ => None,
    }
    .unwrap_or_else(|| config.customer.clone());
    Ok(Collection {
        tenant_id,
        tenant_name,
        source: format!(
            "google {}",
            config.api.directory.as_str().trim_end_matches('/')
        ),
        collected_at: String::new(),
        resources,
    })
}

/// Reads `wanted` over the network: to the configured API origins and the endpoints the
/// credential uses (the token endpoint; for a keyless credential also STS and IAM Credentials),
/// and nowhere else.
pub async fn collect_live(
    config: &GoogleConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let mut allowed = vec![
        Allowed::exact(&config.api.directory),
        Allowed::exact(&config.api.policy),
        Allowed::exact(&config.auth.token),
    ];
    if let GoogleCredential::ExternalAccount(_) = &config.credential {
        allowed.push(Allowed::exact(&config.auth.sts));
        allowed.push(Allowed::exact(&config.auth.iam_credentials));
    }
    let transport = HttpTransport::new(&allowed, config.retry.request_timeout)?;
    collect_reporting(config, Arc::new(transport), registry, wanted, progress).await
}

/// [`collect_live`] on a small runtime of its own, so the command layer stays synchronous.
pub fn collect_blocking(
    config: &GoogleConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    super::on_own_runtime(collect_live(config, registry, wanted, progress))
}

/// The collection as a snapshot whose manifest names Google Workspace.
pub fn encode(collection: Collection) -> EncodedSnapshot {
    encode_owned(collection).with_vendor(Vendor::Google)
}

/// Whether `customer` is `my_customer` or a customer id as it may stand in a path: letters,
/// digits and `_` only.
pub fn is_plain_customer(customer: &str) -> bool {
    !customer.is_empty()
        && customer.len() <= 64
        && customer
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `my_customer` or a customer id: letters and digits only, since it goes into paths.
fn check_customer(customer: &str) -> Result<(), ConnectorError> {
    if is_plain_customer(customer) {
        Ok(())
    } else {
        Err(ConnectorError::Credential(format!(
            "customer '{}' is neither my_customer nor a customer id such as C01abcd23",
            super::one_line(customer)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_reads_the_inputs_of_derived_resources_and_asks_read_only_scopes() {
        let pack = crate::policy::PolicyPack::load(&crate::policy::PackSource::BuiltIn).unwrap();
        let wanted = pack.needed_resources();
        let plan = plan(&pack.registry, &wanted).unwrap();
        assert!(
            plan.contains_key("google_policies")
                && plan.contains_key("google_policy_group_members")
        );
        assert!(
            plan.values()
                .all(|s| !s.is_derived() && s.service.vendor() == Vendor::Google)
        );
        assert!(!plan.contains_key("conditional_access_policies"));
        let scopes = scopes(&pack.registry, &wanted).unwrap();
        assert_eq!(
            scopes,
            [
                "https://www.googleapis.com/auth/admin.directory.domain.readonly",
                "https://www.googleapis.com/auth/admin.directory.group.readonly",
                "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
                "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
                "https://www.googleapis.com/auth/admin.directory.user.readonly",
                "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
            ]
        );
        assert!(scopes.iter().all(|s| token::is_read_only_scope(s)));
        // A fan-out waits for the list that names its ids (the engine reads it after).
        assert!(
            plan["google_policy_group_members"]
                .depends_on()
                .any(|d| d == "google_policies")
        );
    }

    #[test]
    fn the_customer_goes_into_paths_only_when_plain() {
        assert!(check_customer(MY_CUSTOMER).is_ok() && check_customer("C01abcd23").is_ok());
        for bad in ["", "../x", "C01/..", "a b", "my_customer?x=1"] {
            assert!(check_customer(bad).is_err(), "{bad}");
        }
    }
}

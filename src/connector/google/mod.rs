//! The Google Workspace connector (library only; the command line comes with the live scan):
//! reads a customer's Directory API and Cloud Identity Policy API resources into a snapshot.
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
pub mod token;

pub use credentials::{AuthEndpoints, GoogleCredential};

use super::transport::Transport;
use super::{ConnectorError, RetryPolicy};
use crate::registry::{Registry, ResourceSpec, Service};
use crate::snapshot::{Collected, Collection, EncodedSnapshot, encode_owned};
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

/// Reads `wanted` (and what it needs) from the customer. A token that cannot be had stops the
/// scan (exit 2, with what to check); a resource that cannot be read is recorded as failed and
/// its policies give `error`.
pub async fn collect(
    config: &GoogleConfig,
    transport: Arc<dyn Transport>,
    registry: &Registry,
    wanted: &BTreeSet<String>,
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
    tokens.token().await.map_err(|err| ConnectorError::Auth {
        message: err.to_string(),
        hint: tokens.hint().to_owned(),
    })?;
    let reader = read::Reader {
        transport,
        tokens: &tokens,
        directory: &config.api.directory,
        policy: &config.api.policy,
        customer: &config.customer,
        retry: &config.retry,
        max_response_bytes: config.max_response_bytes,
    };
    let mut resources: BTreeMap<String, Collected> = BTreeMap::new();
    for (name, spec) in read::order(&plan) {
        let collected = match &spec.for_each {
            None => reader.read(name, spec).await,
            Some(fan_out) => {
                reader
                    .read_fan_out(name, spec, resources.get(&fan_out.resource))
                    .await
            }
        };
        resources.insert(name.clone(), collected);
    }
    Ok(Collection {
        tenant_id: config.customer.clone(),
        tenant_name: None,
        source: format!(
            "google {}",
            config.api.directory.as_str().trim_end_matches('/')
        ),
        collected_at: String::new(),
        resources,
    })
}

/// The collection as a snapshot whose manifest names Google Workspace.
pub fn encode(collection: Collection) -> EncodedSnapshot {
    encode_owned(collection).with_vendor(Vendor::Google)
}

/// `my_customer` or a customer id: letters and digits only, since it goes into paths.
fn check_customer(customer: &str) -> Result<(), ConnectorError> {
    let plain = !customer.is_empty()
        && customer.len() <= 64
        && customer
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
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
        // Fan-outs come after the lists that name their ids.
        let order: Vec<&str> = read::order(&plan)
            .into_iter()
            .map(|(n, _)| n.as_str())
            .collect();
        let members = order
            .iter()
            .position(|n| *n == "google_policy_group_members")
            .unwrap();
        let policies = order.iter().position(|n| *n == "google_policies").unwrap();
        assert!(policies < members, "{order:?}");
    }

    #[test]
    fn the_customer_goes_into_paths_only_when_plain() {
        assert!(check_customer(MY_CUSTOMER).is_ok() && check_customer("C01abcd23").is_ok());
        for bad in ["", "../x", "C01/..", "a b", "my_customer?x=1"] {
            assert!(check_customer(bad).is_err(), "{bad}");
        }
    }
}

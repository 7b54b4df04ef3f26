//! Microsoft 365: the connectors of its four services, built from one [`LiveConfig`] (one app
//! registration, one credential, a token per audience), handed to the engine. Another vendor
//! would have a module like this one beside it, with its own configuration and connectors, and
//! the same engine, transport and snapshot.

use super::auth::Tokens;
use super::engine::{self, Connectors, ServiceConnector};
use super::transport::Transport;
use super::transport::http::{Allowed, HttpTransport};
use super::{ConnectorError, LiveConfig, Progress, admin, graph, plan, teams, token_scope};
use crate::registry::{Registry, ResourceSpec, Service};
use crate::snapshot::{Collection, Wanted};
use crate::vendor::Vendor;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Reads `wanted` (and the resources they wait for) from the tenant, over the network: to the
/// configured origins of the services they need, and the authority, and nowhere else.
///
/// `keep`: what the scan's rules read of each resource, when the items may keep only that as
/// they are read (a scan that writes no snapshot; the manifest's hashes are of the whole
/// bodies all the same). `None`: every body whole.
pub async fn collect(
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    keep: Option<&Wanted>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let services = services_read(config, &plan::plan(registry, wanted)?);
    let mut allowed = vec![Allowed::exact(&config.authority_url)];
    allowed.extend(service_origins(config, &services));
    let transport = HttpTransport::new(&allowed, config.retry.request_timeout)?;
    collect_keeping(
        Arc::new(transport),
        config,
        registry,
        wanted,
        keep,
        progress,
    )
    .await
}

/// [`collect`] through the given transport (tests: an in-process simulator on tokio's paused
/// clock), every body whole.
pub async fn collect_with(
    transport: Arc<dyn Transport>,
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    collect_keeping(transport, config, registry, wanted, None, progress).await
}

/// [`collect`] through the given transport, items kept as `keep` says.
pub async fn collect_keeping(
    transport: Arc<dyn Transport>,
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    keep: Option<&Wanted>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let plan = plan::plan(registry, wanted)?;
    let tokens = Tokens::new(Arc::clone(&transport), config);
    collect_planned(transport, tokens, config, plan, keep, progress).await
}

/// [`collect`] with the token sources of [`super::EarlyStart`]: `tokens` posts to the
/// authority only through `authority` (whose client the reads share), and `checked` is how
/// Graph's first token request went. A refused credential stops the scan here, as the
/// engine's own check would have, without asking again.
#[expect(clippy::too_many_arguments)]
pub(super) async fn collect_early(
    config: &LiveConfig,
    authority: &HttpTransport,
    tokens: Tokens,
    checked: Result<(), ConnectorError>,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    keep: Option<&Wanted>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let plan = plan::plan(registry, wanted)?;
    checked?;
    let services = services_read(config, &plan);
    let allowed = service_origins(config, &services);
    let transport = authority.new_sharing(&allowed, config.retry.request_timeout)?;
    collect_planned(Arc::new(transport), tokens, config, plan, keep, progress).await
}

/// Where the reads of `services` may go: each one's configured origin, and the regional hosts
/// of the admin APIs.
fn service_origins(config: &LiveConfig, services: &BTreeSet<Service>) -> Vec<Allowed> {
    services
        .iter()
        .filter_map(|service| {
            let origin = config.origin(*service)?;
            Some(if service.invokes_cmdlets() {
                // The admin APIs may send a tenant to a regional host: one label under their own.
                Allowed::with_regional_hosts(origin)
            } else {
                Allowed::exact(origin)
            })
        })
        .collect()
}

/// Reads `plan` through `transport`, with tokens from `tokens`.
async fn collect_planned(
    transport: Arc<dyn Transport>,
    tokens: Tokens,
    config: &LiveConfig,
    plan: BTreeMap<String, ResourceSpec>,
    keep: Option<&Wanted>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    let services = services_read(config, &plan);
    let connectors = microsoft_connectors(transport, &tokens, config, &services)?;
    let resources = engine::run(&connectors, plan, config.concurrency, keep, progress).await?;
    let tenant_name = connectors
        .by_service
        .values()
        .find_map(|connector| connector.tenant_name(&resources));
    let source = connectors
        .by_service
        .values()
        .map(|c| {
            format!(
                "{} {}",
                c.service(),
                c.origin().as_str().trim_end_matches('/')
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Collection {
        tenant_id: config.tenant.clone(),
        tenant_name,
        source,
        collected_at: String::new(),
        resources,
    })
}

/// The services a scan of `wanted` reads: those its resources need, as far as `--services`
/// allows.
fn services_read(config: &LiveConfig, plan: &BTreeMap<String, ResourceSpec>) -> BTreeSet<Service> {
    plan.values()
        .map(|spec| spec.service)
        .filter(|service| service.vendor() == Vendor::Microsoft && config.allows(*service))
        .collect()
}

/// A connector for each of `services`, each with the token source of its own audience.
fn microsoft_connectors(
    transport: Arc<dyn Transport>,
    tokens: &Tokens,
    config: &LiveConfig,
    services: &BTreeSet<Service>,
) -> Result<Connectors, ConnectorError> {
    let mut by_service: BTreeMap<Service, Arc<dyn ServiceConnector>> = BTreeMap::new();
    for &service in services {
        let Some(origin) = config.origin(service).cloned() else {
            continue;
        };
        let tokens = tokens.source(token_scope(service, &origin))?;
        let transport = Arc::clone(&transport);
        let connector: Arc<dyn ServiceConnector> = match service {
            Service::Graph => Arc::new(graph::GraphConnector::new(
                transport,
                origin,
                tokens,
                config.retry.clone(),
                config.max_response_bytes,
            )),
            Service::Exchange | Service::Compliance => Arc::new(admin::AdminConnector::new(
                service,
                transport,
                origin,
                &config.tenant,
                tokens,
                config.retry.clone(),
                config.max_response_bytes,
            )?),
            Service::Teams => Arc::new(teams::TeamsConnector::new(
                transport,
                origin,
                tokens,
                config.retry.clone(),
                config.max_response_bytes,
            )),
            // Read by the Google connector, never by a Microsoft scan (`services_read`).
            Service::GoogleDirectory | Service::GooglePolicy => continue,
        };
        by_service.insert(service, connector);
    }
    let selection = match &config.services {
        Some(selected) => format!(
            "--services {}",
            selected
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => "every service".to_owned(),
    };
    Ok(Connectors {
        by_service,
        selection,
    })
}

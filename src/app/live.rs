//! Live scans: resolves the live flags and the environment into a [`LiveConfig`], reads the
//! tenant through the connectors, writes `--snapshot-out`, and hands back the snapshot.
//!
//! The client secret is read here, from AZURE_CLIENT_SECRET only, straight into a [`Secret`].

use super::Error;
use super::plan::LivePlan;
use crate::cli::LiveArgs;
use crate::connector::{
    Credential, LiveConfig, NoProgress, Progress, RetryPolicy, Secret, check_base_url,
    collect_blocking,
};
use crate::policy::PolicyPack;
use crate::registry::Service;
use crate::snapshot::{Collected, Collection, Snapshot, Wanted, encode_owned};
use reqwest::Url;
use std::collections::BTreeSet;
use std::sync::Arc;

pub const SECRET_VAR: &str = "AZURE_CLIENT_SECRET";

/// Reads the resources `wanted` from the tenant; the snapshot is what `--offline` would read
/// from the directory written by `--snapshot-out`.
pub(super) fn snapshot(
    plan: &LivePlan,
    pack: &PolicyPack,
    wanted: &Wanted,
    collected_at: impl FnOnce() -> String,
) -> Result<Snapshot, Error> {
    let progress: Arc<dyn Progress> = if plan.progress {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let names: BTreeSet<String> = wanted.keys().cloned().collect();
    let mut collection = collect_blocking(&plan.config, &pack.registry, &names, progress)?;
    collection.collected_at = collected_at();
    log_notes(&collection);
    // The bodies move from the collection into the snapshot: never copied, and turned into
    // bytes only when --snapshot-out writes them.
    let encoded = encode_owned(collection);
    if let Some(dir) = &plan.snapshot_out {
        encoded.write_dir(dir)?;
    }
    Ok(encoded.into_snapshot(&pack.registry, wanted))
}

/// Tells how a read went where that matters (a request repeated without query parameters the
/// service refused): the same words the manifest's `note` keeps. A read skipped as not needed
/// is routine and only recorded in the snapshot.
fn log_notes(collection: &Collection) {
    for (name, collected) in &collection.resources {
        if let Collected::Read {
            note: Some(note), ..
        }
        | Collected::Failed {
            note: Some(note), ..
        } = collected
        {
            crate::logging::info("read-note", &format!("{name}: {note}"));
        }
    }
}

/// How a live scan reaches the services, whoever it signs in as: the origins (checked), the
/// services allowed, the limits. The same for every tenant of `scan --all`.
#[derive(Debug, Clone)]
pub(super) struct Reach {
    graph_url: Url,
    exchange_url: Url,
    compliance_url: Url,
    teams_url: Url,
    authority_url: Url,
    services: Option<BTreeSet<Service>>,
    concurrency: usize,
    max_response_bytes: u64,
}

impl Reach {
    pub(super) fn resolve(args: &LiveArgs) -> Result<Reach, Error> {
        Ok(Reach {
            graph_url: check_base_url("--graph-url", &args.graph_url)?,
            exchange_url: check_base_url("--exchange-url", &args.exchange_url)?,
            compliance_url: check_base_url("--compliance-url", &args.compliance_url)?,
            teams_url: check_base_url("--teams-url", &args.teams_url)?,
            authority_url: check_base_url("--authority-url", &args.authority_url)?,
            services: (!args.services.is_empty()).then(|| args.services.iter().copied().collect()),
            concurrency: usize::from(args.concurrency),
            max_response_bytes: args.max_response_bytes,
        })
    }

    /// The connectors' configuration for one tenant, app and credential.
    pub(super) fn config(
        &self,
        tenant: &str,
        client_id: &str,
        credential: Credential,
    ) -> LiveConfig {
        LiveConfig {
            graph_url: self.graph_url.clone(),
            exchange_url: self.exchange_url.clone(),
            compliance_url: self.compliance_url.clone(),
            teams_url: self.teams_url.clone(),
            authority_url: self.authority_url.clone(),
            services: self.services.clone(),
            concurrency: self.concurrency,
            retry: RetryPolicy::default(),
            max_response_bytes: self.max_response_bytes,
            ..LiveConfig::new(tenant, client_id, credential)
        }
    }
}

/// A single live scan's configuration: the tenant, the app and its one credential (the secret
/// from AZURE_CLIENT_SECRET only), and how to reach the services.
pub(super) fn resolve(args: &LiveArgs) -> Result<LiveConfig, Error> {
    let tenant = args.tenant.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::Usage(
            "a live scan needs the tenant: set --tenant or AZURE_TENANT_ID (or scan a snapshot with --offline DIR)".into(),
        )
    })?;
    let client_id = args
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "a live scan needs the app registration's client id: set --client-id or AZURE_CLIENT_ID".into(),
            )
        })?;
    let secret = std::env::var(SECRET_VAR)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let mut given = Vec::new();
    if secret.is_some() {
        given.push(SECRET_VAR);
    }
    if args.certificate.is_some() {
        given.push("--certificate (AZURE_CLIENT_CERTIFICATE_PATH)");
    }
    if args.federated_token_file.is_some() {
        given.push("--federated-token-file (AZURE_FEDERATED_TOKEN_FILE)");
    }
    if given.len() > 1 {
        return Err(Error::Usage(format!(
            "more than one credential is set ({}); set exactly one",
            given.join(", ")
        )));
    }
    let credential = match (secret, &args.certificate, &args.federated_token_file) {
        (Some(secret), _, _) => Credential::ClientSecret(secret),
        (None, Some(path), _) => Credential::certificate_from_pem_file(path)?,
        (None, None, Some(path)) => Credential::FederatedTokenFile(path.clone()),
        (None, None, None) => {
            return Err(Error::Usage(format!(
                "a live scan needs a credential: set {SECRET_VAR}, or --certificate PATH (AZURE_CLIENT_CERTIFICATE_PATH), or --federated-token-file PATH (AZURE_FEDERATED_TOKEN_FILE)"
            )));
        }
    };
    Ok(Reach::resolve(args)?.config(&tenant, &client_id, credential))
}

/// A progress bar on standard error (only created when it is a terminal).
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("reading {bar:30} {pos}/{len} {wide_msg}")
        {
            bar.set_style(style);
        }
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, resources: usize) {
        self.0.set_length(resources as u64);
    }

    fn finished(&self, resource: &str, ok: bool) {
        self.0.inc(1);
        let resource = crate::terminal::inert(resource);
        self.0.set_message(if ok {
            resource.into_owned()
        } else {
            format!("{resource} (error)")
        });
        if self.0.position() >= self.0.length().unwrap_or(0) {
            self.0.finish_and_clear();
        }
    }
}

//! Live scans: resolves the live flags and the environment into a [`LiveTarget`] (a Microsoft
//! 365 [`LiveConfig`] or a Google Workspace [`GoogleConfig`]), reads the tenant or customer
//! through the connectors, writes `--snapshot-out`, and hands back the snapshot.
//!
//! The client secret is read here, from AZURE_CLIENT_SECRET only, straight into a [`Secret`];
//! the Google credential from the file GOOGLE_APPLICATION_CREDENTIALS names. A flag of the other
//! vendor's scan is refused, so that nobody believes a flag did something it did not.

use super::Error;
use super::plan::{LivePlan, LiveTarget};
use crate::cli::{GoogleArgs, LiveArgs, ScanArgs};
use crate::connector::google::{
    ApiOrigins, AuthEndpoints, GoogleConfig, GoogleCredential, MY_CUSTOMER,
};
use crate::connector::{
    Credential, EarlyStart, LiveConfig, NoProgress, Progress, RetryPolicy, Secret, check_base_url,
    collect_blocking, default_origin, origin_flag,
};
use crate::policy::PolicyPack;
use crate::registry::Service;
use crate::snapshot::{Collected, Collection, Snapshot, Wanted, encode_owned};
use crate::vendor::Vendor;
use reqwest::Url;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

pub const SECRET_VAR: &str = "AZURE_CLIENT_SECRET";
/// Where Google's tools (and cloudkeur) find the credentials file.
pub const GOOGLE_CREDENTIALS_VAR: &str = "GOOGLE_APPLICATION_CREDENTIALS";
const AUTHORITY_URL: &str = "https://login.microsoftonline.com";

/// Reads the resources `wanted` from the tenant; the snapshot is what `--offline` would read
/// from the directory written by `--snapshot-out`.
pub(super) fn snapshot(
    plan: &LivePlan,
    pack: &PolicyPack,
    wanted: &Wanted,
    collected_at: impl FnOnce() -> String,
    early: Option<EarlyStart>,
) -> Result<Snapshot, Error> {
    let progress: Arc<dyn Progress> = if plan.progress {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let names: BTreeSet<String> = wanted.keys().cloned().collect();
    let mut collection = match &plan.target {
        LiveTarget::Microsoft(config) => {
            // Without --snapshot-out no body is written: the items may keep only what the
            // rules read as they are read (the manifest's hashes are of the whole bodies).
            let keep = plan.snapshot_out.is_none().then_some(wanted);
            match early {
                // Made from this same configuration by `ScanPlan::resolve`.
                Some(early) => early.collect(&pack.registry, &names, keep, progress)?,
                None => collect_blocking(config, &pack.registry, &names, keep, progress)?,
            }
        }
        LiveTarget::Google(config) => {
            crate::connector::google::collect_blocking(config, &pack.registry, &names, progress)?
        }
    };
    collection.collected_at = collected_at();
    log_notes(&collection);
    // The bodies move from the collection into the snapshot: never copied, and turned into
    // bytes only when --snapshot-out writes them. The manifest names the vendor.
    let encoded = match &plan.target {
        LiveTarget::Microsoft(_) => encode_owned(collection),
        LiveTarget::Google(_) => crate::connector::google::encode(collection),
    };
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

/// A single live scan's configuration, for the vendor `--vendor` names (Microsoft 365 when
/// absent). A flag that belongs to the other vendor's scan is a usage error.
pub(super) fn resolve(args: &ScanArgs) -> Result<LiveTarget, Error> {
    match args.vendor.unwrap_or_default() {
        Vendor::Microsoft => {
            refuse_flags(&google_flags_given(&args.google), Vendor::Microsoft)?;
            Ok(LiveTarget::Microsoft(resolve_microsoft(&args.live)?))
        }
        Vendor::Google => {
            refuse_flags(&microsoft_flags_given(&args.live), Vendor::Google)?;
            Ok(LiveTarget::Google(resolve_google(
                &args.google,
                &args.live,
            )?))
        }
    }
}

/// One line naming the flags of the other vendor's scan, if any were given.
fn refuse_flags(given: &[&str], vendor: Vendor) -> Result<(), Error> {
    if given.is_empty() {
        return Ok(());
    }
    let (owner, fix) = match vendor {
        Vendor::Google => (
            Vendor::Microsoft,
            "leave them out, or scan Microsoft 365 without --vendor google",
        ),
        Vendor::Microsoft => (
            Vendor::Google,
            "add --vendor google to scan Google Workspace, or leave them out",
        ),
    };
    Err(Error::Usage(format!(
        "{} belong to a {} scan, not to a scan of {}; {fix}",
        given.join(", "),
        owner.suite(),
        vendor.suite()
    )))
}

/// A flag's value that came from the command line, not from its environment variable (which a
/// job may set for the other vendor's scans; only flags are refused).
fn from_flag<T: PartialEq<String>>(value: Option<&T>, var: &str) -> bool {
    match value {
        None => false,
        Some(value) => match std::env::var(var) {
            Ok(env) => *value != env,
            Err(_) => true,
        },
    }
}

/// The Microsoft 365 flags given on the command line.
fn microsoft_flags_given(args: &LiveArgs) -> Vec<&'static str> {
    let mut given = Vec::new();
    if from_flag(args.tenant.as_ref(), "AZURE_TENANT_ID") {
        given.push("--tenant");
    }
    if from_flag(args.client_id.as_ref(), "AZURE_CLIENT_ID") {
        given.push("--client-id");
    }
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    if from_flag(
        path(&args.certificate).as_ref(),
        "AZURE_CLIENT_CERTIFICATE_PATH",
    ) {
        given.push("--certificate");
    }
    if from_flag(
        path(&args.federated_token_file).as_ref(),
        "AZURE_FEDERATED_TOKEN_FILE",
    ) {
        given.push("--federated-token-file");
    }
    let origins = [
        (Service::Graph, &args.graph_url),
        (Service::Exchange, &args.exchange_url),
        (Service::Compliance, &args.compliance_url),
        (Service::Teams, &args.teams_url),
    ]
    .map(|(service, value)| (origin_flag(service), value, default_origin(service)));
    let authority = ("--authority-url", &args.authority_url, AUTHORITY_URL);
    for (flag, value, default) in origins.into_iter().chain([authority]) {
        if value.trim_end_matches('/') != default {
            given.push(flag);
        }
    }
    if !args.services.is_empty() {
        given.push("--services");
    }
    given
}

/// The Google Workspace flags given.
fn google_flags_given(args: &GoogleArgs) -> Vec<&'static str> {
    [
        ("--customer", args.customer.is_some()),
        ("--google-admin", args.google_admin.is_some()),
        ("--google-url", args.google_url.is_some()),
        ("--google-token-url", args.google_token_url.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect()
}

/// How a live scan reaches Google, whoever it signs in as: the API origins and the credential's
/// endpoints (checked), the limits. The same for every Google customer of `scan --all`.
#[derive(Debug, Clone)]
pub(super) struct GoogleReach {
    api: ApiOrigins,
    auth: AuthEndpoints,
    concurrency: usize,
    max_response_bytes: u64,
}

impl GoogleReach {
    pub(super) fn resolve(args: &GoogleArgs, live: &LiveArgs) -> Result<GoogleReach, Error> {
        Ok(GoogleReach {
            api: match &args.google_url {
                Some(url) => ApiOrigins::one(check_base_url("--google-url", url)?),
                None => ApiOrigins::google(),
            },
            auth: match &args.google_token_url {
                Some(url) => {
                    AuthEndpoints::on_origin_of(check_base_url("--google-token-url", url)?)
                }
                None => AuthEndpoints::default(),
            },
            concurrency: usize::from(live.concurrency),
            max_response_bytes: live.max_response_bytes,
        })
    }

    /// Reads a credentials file (a service account's key, or an external-account file): only
    /// the configured endpoints may be named in it.
    pub(super) fn credential(&self, path: &Path) -> Result<GoogleCredential, String> {
        GoogleCredential::from_file(path, &self.auth).map_err(|err| err.to_string())
    }

    /// The connector's configuration for one customer, administrator and credential.
    pub(super) fn config(
        &self,
        customer: &str,
        admin: &str,
        credential: GoogleCredential,
    ) -> GoogleConfig {
        GoogleConfig {
            customer: customer.to_owned(),
            admin: admin.to_owned(),
            credential,
            api: self.api.clone(),
            auth: self.auth.clone(),
            retry: RetryPolicy::default(),
            max_response_bytes: self.max_response_bytes,
            concurrency: self.concurrency,
        }
    }
}

/// A live Google Workspace scan: the customer, the super administrator impersonated, the
/// credential from the file GOOGLE_APPLICATION_CREDENTIALS names, and where the APIs and the
/// credential's endpoints are.
fn resolve_google(args: &GoogleArgs, live: &LiveArgs) -> Result<GoogleConfig, Error> {
    let reach = GoogleReach::resolve(args, live)?;
    let customer = args.customer.as_deref().unwrap_or(MY_CUSTOMER);
    if !crate::connector::google::is_plain_customer(customer) {
        return Err(Error::Usage(format!(
            "--customer '{}' is neither my_customer nor a customer id; give the id from the Admin console (Account > Account settings, e.g. C01abcd23) or leave --customer out",
            crate::terminal::inert(customer)
        )));
    }
    let admin = args
        .google_admin
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "a live Google scan needs --google-admin EMAIL: the super administrator the service account impersonates (the Cloud Identity Policy API answers super administrators only)".into(),
            )
        })?;
    let path = std::env::var_os(GOOGLE_CREDENTIALS_VAR)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Error::Usage(format!(
                "a live Google scan needs a credential: set {GOOGLE_CREDENTIALS_VAR} to the service account's JSON key file, or to an external-account file (workload identity federation); or scan a snapshot with --offline DIR"
            ))
        })?;
    let credential = reach
        .credential(Path::new(&path))
        .map_err(|err| Error::Usage(format!("{GOOGLE_CREDENTIALS_VAR}: {err}")))?;
    Ok(reach.config(customer, admin, credential))
}

/// A single live Microsoft 365 scan's configuration: the tenant, the app and its one credential
/// (the secret from AZURE_CLIENT_SECRET only), and how to reach the services.
fn resolve_microsoft(args: &LiveArgs) -> Result<LiveConfig, Error> {
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

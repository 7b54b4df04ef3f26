//! `scan --all --tenants FILE`: several tenants in one run, for a shared service centre or an
//! intermunicipal partnership that looks after several municipalities.
//!
//! Each tenant is scanned like a single `scan` (same policies and flags), concurrently, into its
//! own JSON report and its own archive; one tenant's failure (an unreadable snapshot, a refused
//! credential) is recorded in the summary and does not stop the others.
//!
//! A tenants file names credential *sources* only (a certificate file, a federated token file,
//! a Google credentials file), never a secret. A client secret has no place in it: use a
//! certificate per tenant.
//!
//! An entry is of one vendor: `vendor: google` for a Google Workspace customer (its `customer`,
//! the super administrator `admin`, `credential: {google_credentials_file: FILE}`), Microsoft
//! 365 when absent. Each vendor's origins come from the flags (`--graph-url`, …, `--google-url`,
//! `--google-token-url`), the same for every entry of that vendor.

use super::live::{GoogleReach, Reach};
use super::plan::{LivePlan, LiveTarget, ScanPlan, Source};
use super::{Error, Outcome, emit};
use crate::cli::{ColorChoice, ScanArgs};
use crate::connector::Credential;
use crate::diag::{Diagnostic, Position, locate_text, parse_yaml};
use crate::policy::PolicyPack;
use crate::report::Format;
use crate::terminal::inert;
use crate::vendor::Vendor;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Tenants scanned at the same time.
const PARALLEL: usize = 4;

pub const SUMMARY_SCHEMA: &str = "cloudkeur.fleet-summary/v1";

/// `--reports-dir` holds `<tenant>.json` per tenant and `summary.json`: so no tenant may be
/// called `summary`, or its report and the summary would be one file.
const SUMMARY_NAME: &str = "summary";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    tenants: Vec<TenantEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantEntry {
    /// Short name: report file and archive directory are named after it.
    name: String,
    /// `microsoft` (the default) or `google`.
    #[serde(default)]
    vendor: Vendor,
    /// A snapshot directory (offline entry).
    #[serde(default)]
    offline: Option<PathBuf>,
    /// Tenant id or primary domain (live entry).
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    /// Google: the customer id (`my_customer` when absent).
    #[serde(default)]
    customer: Option<String>,
    /// Google: the super administrator the service account impersonates.
    #[serde(default)]
    admin: Option<String>,
    #[serde(default)]
    credential: Option<CredentialSource>,
    #[serde(default)]
    config: Option<PathBuf>,
    #[serde(default)]
    evidence: Option<PathBuf>,
    #[serde(default)]
    waivers: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialSource {
    #[serde(default)]
    certificate: Option<PathBuf>,
    #[serde(default)]
    federated_token_file: Option<PathBuf>,
    /// Google: a service account's JSON key file or an external-account file.
    #[serde(default)]
    google_credentials_file: Option<PathBuf>,
}

/// One tenant's line in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantResult {
    pub name: String,
    /// `compliant`, `not-compliant` or `failed` (no verdict: see `error`).
    pub status: String,
    pub exit_code: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSummary {
    pub schema: String,
    pub compliant: bool,
    pub tenants: Vec<TenantResult>,
}

fn load(file: &Path) -> Result<Vec<(TenantEntry, Position)>, Diagnostic> {
    let text =
        crate::input_file::read_text(file, crate::input_file::Limit::DOCUMENT).map_err(|err| {
            err.diagnostic(
                file,
                "tenants file",
                "pass an existing YAML file to --tenants (README: several tenants)",
            )
        })?;
    let parsed: TenantsFile = parse_yaml(file, &text)?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut names = BTreeSet::new();
    let mut entries = Vec::new();
    if parsed.tenants.is_empty() {
        return Err(Diagnostic::new(
            file,
            locate_text(&text, "tenants"),
            "the file lists no tenant",
        )
        .with_fix("add at least one entry under `tenants:`"));
    }
    for mut entry in parsed.tenants {
        let at = match locate_text(&text, &format!("name: {}", entry.name)) {
            Position { line: 0, .. } => locate_text(&text, &entry.name),
            found => found,
        };
        let error = |message: String, fix: &str| Diagnostic::new(file, at, message).with_fix(fix);
        let name_ok = !entry.name.is_empty()
            && entry
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(error(
                format!("tenant name '{}' is not a plain name", entry.name),
                "use letters, digits, '-' and '_' only (it names files), e.g. zonnedorp",
            ));
        }
        // Names are compared as a case-insensitive file system would: `Zonnedorp.json` and
        // `zonnedorp.json` are one file there.
        let file_name = entry.name.to_ascii_lowercase();
        if file_name == SUMMARY_NAME {
            return Err(error(
                format!(
                    "tenant name '{}' is reserved: --reports-dir holds {SUMMARY_NAME}.json, the summary of the run",
                    entry.name
                ),
                "give the tenant another name, e.g. its municipality's name",
            ));
        }
        if !names.insert(file_name) {
            return Err(error(
                format!("tenant name '{}' is used twice", entry.name),
                "give every tenant its own name (names differing only in case name the same file)",
            ));
        }
        let live = entry.tenant.is_some()
            || entry.client_id.is_some()
            || entry.customer.is_some()
            || entry.admin.is_some()
            || entry.credential.is_some();
        match (&entry.offline, live) {
            (Some(_), false) => {}
            (None, true) => check_live_entry(&entry)
                .map_err(|(message, fix)| error(format!("{}: {message}", entry.name), fix))?,
            _ => {
                return Err(error(
                    format!(
                        "{}: give either `offline` (a snapshot directory) or what a live scan needs",
                        entry.name
                    ),
                    "an entry is read from a snapshot or live, not both: `tenant`, `client_id` and `credential` for Microsoft 365; `vendor: google`, `admin` and `credential` for Google Workspace",
                ));
            }
        }
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(path) = p.as_mut()
                && path.is_relative()
            {
                *path = base.join(&*path);
            }
        };
        resolve(&mut entry.offline);
        resolve(&mut entry.config);
        resolve(&mut entry.evidence);
        resolve(&mut entry.waivers);
        if let Some(credential) = entry.credential.as_mut() {
            resolve(&mut credential.certificate);
            resolve(&mut credential.federated_token_file);
            resolve(&mut credential.google_credentials_file);
        }
        entries.push((entry, at));
    }
    Ok(entries)
}

/// Whether a live entry has what its vendor's scan needs, and nothing of the other vendor's:
/// the problem and its fix, if not.
fn check_live_entry(entry: &TenantEntry) -> Result<(), (String, &'static str)> {
    let credential = entry.credential.as_ref();
    let has = |path: Option<&PathBuf>| usize::from(path.is_some());
    let microsoft_sources = credential.map_or(0, |c| {
        has(c.certificate.as_ref()) + has(c.federated_token_file.as_ref())
    });
    let google_source = credential.is_some_and(|c| c.google_credentials_file.is_some());
    match entry.vendor {
        Vendor::Microsoft => {
            if entry.customer.is_some() || entry.admin.is_some() || google_source {
                return Err((
                    "`customer`, `admin` and `google_credentials_file` belong to a Google Workspace entry".into(),
                    "add `vendor: google` to scan a Google Workspace customer, or leave them out",
                ));
            }
            if entry.tenant.as_deref().is_none_or(str::is_empty)
                || entry.client_id.as_deref().is_none_or(str::is_empty)
            {
                return Err((
                    "a live entry needs `tenant` and `client_id`".into(),
                    "add the tenant id or domain and the app registration's client id",
                ));
            }
            if microsoft_sources != 1 {
                return Err((
                    "a live entry needs exactly one credential source".into(),
                    "write `credential: {certificate: FILE}` or `credential: {federated_token_file: FILE}`; a client secret does not belong in this file",
                ));
            }
        }
        Vendor::Google => {
            if entry.tenant.is_some() || entry.client_id.is_some() || microsoft_sources > 0 {
                return Err((
                    "`tenant`, `client_id`, `certificate` and `federated_token_file` belong to a Microsoft 365 entry".into(),
                    "a Google Workspace entry takes `customer`, `admin` and `credential: {google_credentials_file: FILE}`",
                ));
            }
            if entry.admin.as_deref().is_none_or(|a| a.trim().is_empty()) {
                return Err((
                    "a Google Workspace entry needs `admin`, the super administrator the service account impersonates".into(),
                    "add `admin: EMAIL` (the Cloud Identity Policy API answers super administrators only)",
                ));
            }
            if let Some(customer) = &entry.customer
                && !crate::connector::google::is_plain_customer(customer)
            {
                return Err((
                    format!(
                        "customer '{}' is neither my_customer nor a customer id",
                        inert(customer)
                    ),
                    "give the id from the Admin console (e.g. C01abcd23), or leave `customer` out for my_customer",
                ));
            }
            if !google_source {
                return Err((
                    "a Google Workspace entry needs `credential: {google_credentials_file: FILE}`"
                        .into(),
                    "name the service account's JSON key file or an external-account file (workload identity federation)",
                ));
            }
        }
    }
    Ok(())
}

/// What every tenant's scan shares, resolved once: the flags, the policy pack, how the
/// services are reached.
struct Shared<'a> {
    args: &'a ScanArgs,
    pack: Arc<PolicyPack>,
    all_policies: Arc<BTreeSet<String>>,
    reach: Reach,
    google: GoogleReach,
}

/// One tenant's scan: the shared plan with the tenant's own source, inputs and outputs.
fn tenant_plan(
    shared: &Shared<'_>,
    entry: &TenantEntry,
    reports: &Path,
) -> Result<ScanPlan, Error> {
    let source = match (&entry.offline, entry.vendor) {
        (Some(dir), _) => Source::Offline {
            dir: dir.clone(),
            overlay: None,
            new_only: false,
            vendor: None,
        },
        (None, Vendor::Microsoft) => {
            let (Some(tenant), Some(client_id)) = (&entry.tenant, &entry.client_id) else {
                return Err(Error::Usage(format!(
                    "{}: neither a snapshot directory nor a live tenant",
                    entry.name
                )));
            };
            let credential = entry.credential.as_ref();
            let credential = match (
                credential.and_then(|c| c.certificate.as_ref()),
                credential.and_then(|c| c.federated_token_file.as_ref()),
            ) {
                (Some(path), _) => Credential::certificate_from_pem_file(path)?,
                (None, Some(path)) => Credential::FederatedTokenFile(path.clone()),
                (None, None) => {
                    return Err(Error::Usage(format!(
                        "{}: a live entry needs a credential source",
                        entry.name
                    )));
                }
            };
            Source::Live(Box::new(LivePlan {
                target: LiveTarget::Microsoft(shared.reach.config(tenant, client_id, credential)),
                snapshot_out: None,
                progress: false,
            }))
        }
        (None, Vendor::Google) => {
            let (Some(admin), Some(path)) = (
                &entry.admin,
                entry
                    .credential
                    .as_ref()
                    .and_then(|c| c.google_credentials_file.as_ref()),
            ) else {
                return Err(Error::Usage(format!(
                    "{}: a Google Workspace entry needs `admin` and `credential: {{google_credentials_file: FILE}}`",
                    entry.name
                )));
            };
            let credential = shared
                .google
                .credential(path)
                .map_err(|err| Error::Usage(format!("{}: {err}", entry.name)))?;
            let customer = entry
                .customer
                .as_deref()
                .unwrap_or(crate::connector::google::MY_CUSTOMER);
            Source::Live(Box::new(LivePlan {
                target: LiveTarget::Google(shared.google.config(customer, admin, credential)),
                snapshot_out: None,
                progress: false,
            }))
        }
    };
    let mut plan = ScanPlan::assemble(
        shared.args,
        ColorChoice::Never,
        Arc::clone(&shared.pack),
        Arc::clone(&shared.all_policies),
        source,
    );
    plan.output.format = Format::Json;
    plan.output.color = false;
    plan.output.file = Some(reports.join(format!("{}.json", entry.name)));
    plan.archive = shared.args.archive.as_ref().map(|a| a.join(&entry.name));
    // `--report sarif=out/cloudkeur.sarif` becomes out/cloudkeur.<name>.sarif per tenant.
    for target in &mut plan.output.reports {
        let stem = target
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = match target.path.extension() {
            Some(ext) => format!("{stem}.{}.{}", entry.name, ext.to_string_lossy()),
            None => format!("{stem}.{}", entry.name),
        };
        target.path.set_file_name(file);
    }
    if entry.config.is_some() {
        plan.settings = entry.config.clone();
    }
    if entry.evidence.is_some() {
        plan.evidence = entry.evidence.clone();
    }
    if entry.waivers.is_some() {
        plan.waivers = entry.waivers.clone();
    }
    Ok(plan)
}

pub(super) fn run(args: &ScanArgs) -> Result<Outcome, Error> {
    let (Some(file), Some(reports)) = (&args.tenants, &args.reports_dir) else {
        return Err(Error::Usage(
            "--all needs --tenants FILE and --reports-dir DIR".into(),
        ));
    };
    if !matches!(args.format, Format::Table | Format::Json) {
        return Err(Error::Usage(
            "--all prints a summary: --format table or json; each tenant's report is JSON in --reports-dir".into(),
        ));
    }
    // Who is scanned, and as whom, is per entry; a flag for it would be silently ignored.
    let per_entry: Vec<&str> = [
        ("--vendor", args.vendor.is_some()),
        ("--customer", args.google.customer.is_some()),
        ("--google-admin", args.google.google_admin.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect();
    if !per_entry.is_empty() {
        return Err(Error::Usage(format!(
            "{} cannot be used with --all: each entry of the tenants file names its vendor (`vendor: google`), and a Google entry its `customer` and `admin`",
            per_entry.join(", ")
        )));
    }
    let entries = load(file)?;
    let (pack, all_policies) = super::plan::load_pack(args)?;
    let shared = Shared {
        args,
        pack,
        all_policies,
        reach: Reach::resolve(&args.live)?,
        google: GoogleReach::resolve(&args.google, &args.live)?,
    };
    std::fs::create_dir_all(reports).map_err(|source| Error::Output {
        path: reports.clone(),
        source,
    })?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<TenantResult>>> = Mutex::new(vec![None; entries.len()]);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(entries.len()) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some((entry, _)) = entries.get(index) else {
                        break;
                    };
                    let result =
                        crate::logging::in_scope(&entry.name, || scan_one(&shared, entry, reports));
                    if let Ok(mut all) = results.lock() {
                        all[index] = Some(result);
                    }
                }
            });
        }
    });
    let tenants: Vec<TenantResult> = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let summary = FleetSummary {
        schema: SUMMARY_SCHEMA.to_owned(),
        compliant: tenants.iter().all(|t| t.status == "compliant"),
        tenants,
    };
    let mut json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    json.push('\n');
    emit(Some(&reports.join(format!("{SUMMARY_NAME}.json"))), &json)?;
    let text = match args.format {
        Format::Json => json,
        _ => summary_table(&summary),
    };
    emit(None, &text)?;
    Ok(if summary.compliant {
        Outcome::Compliant
    } else {
        Outcome::NotCompliant
    })
}

fn scan_one(shared: &Shared<'_>, entry: &TenantEntry, reports: &Path) -> TenantResult {
    let report_path = reports.join(format!("{}.json", entry.name));
    // A report left over from an earlier run must not pass for this one.
    let _ = std::fs::remove_file(&report_path);
    let mut result = TenantResult {
        name: entry.name.clone(),
        status: "failed".into(),
        exit_code: 2,
        tenant: entry.tenant.clone().or_else(|| entry.customer.clone()),
        tenant_name: None,
        verdicts: None,
        report: None,
        error: None,
    };
    match tenant_plan(shared, entry, reports).and_then(super::scan::execute) {
        Ok(outcome) => {
            result.exit_code = outcome.exit_code();
            result.status = match outcome {
                Outcome::Compliant => "compliant",
                Outcome::NotCompliant => "not-compliant",
            }
            .into();
            let report: Option<serde_json::Value> =
                crate::input_file::read(&report_path, crate::input_file::Limit::data())
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
            if let Some(report) = report {
                result.tenant = report["scan"]["tenant"].as_str().map(str::to_owned);
                result.tenant_name = report["scan"]["tenant_name"].as_str().map(str::to_owned);
                result.verdicts =
                    serde_json::from_value(report["summary"]["verdicts"].clone()).ok();
            }
            result.report = Some(report_path.display().to_string());
        }
        Err(err) => {
            crate::logging::error("tenant-failed", &err.to_string(), err.exit_code());
            result.error = Some(err.to_string());
        }
    }
    result
}

fn summary_table(summary: &FleetSummary) -> String {
    let mut out = format!(
        "{:<20} {:<14} {:>4} {:>5} {:>8}  {}\n",
        "tenant", "status", "fail", "error", "evidence", "report or error"
    );
    for t in &summary.tenants {
        let count = |k: &str| {
            t.verdicts
                .as_ref()
                .and_then(|v| v.get(k))
                .copied()
                .unwrap_or(0)
        };
        let _ = writeln!(
            out,
            "{:<20} {:<14} {:>4} {:>5} {:>8}  {}",
            inert(&t.name),
            inert(&t.status),
            count("fail"),
            count("error"),
            count("evidence-missing") + count("evidence-expired"),
            inert(
                t.error
                    .as_deref()
                    .or(t.report.as_deref())
                    .unwrap_or_default()
            )
        );
    }
    let failed = summary
        .tenants
        .iter()
        .filter(|t| t.status == "failed")
        .count();
    let _ = writeln!(
        out,
        "{} tenants: {} compliant, {} not compliant, {failed} failed",
        summary.tenants.len(),
        summary
            .tenants
            .iter()
            .filter(|t| t.status == "compliant")
            .count(),
        summary
            .tenants
            .iter()
            .filter(|t| t.status == "not-compliant")
            .count(),
    );
    out
}

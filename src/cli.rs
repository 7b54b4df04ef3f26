//! Every flag, defined once with its documentation (clap derive). `--help` is generated from here.
//!
//! The doc comments below are the help text people read in a terminal, so they are written as
//! plain text (`DIR/<name>`, bare URLs), not as rustdoc's Markdown.
#![allow(rustdoc::invalid_html_tags, rustdoc::bare_urls)]

use crate::findings::{Lang, Severity};
use crate::report::Format;
use crate::vendor::Vendor;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  compliant: no non-compliant finding at or above --fail-on
  1  not compliant: at least one fail, error, evidence-missing or evidence-expired finding
     at or above --fail-on (for `policy test`: an example did not hold)
  2  usage or input error: bad flag, policy file, snapshot or config (one line names file,
     place and fix)";

/// Checks Microsoft 365 tenants and Google Workspace customers against the VTC guideline for
/// office suites in the public cloud.
///
/// Reads a tenant's settings into a snapshot, evaluates the policy pack against it and reports
/// findings. Read-only: it never changes a tenant. It talks to no host but the ones you configure.
#[derive(Debug, Parser)]
#[command(name = "cloudkeur", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// When to colour output: auto colours only on a terminal and honours NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// How progress and errors appear on standard error: text for people, or json (one object
    /// per line: timestamp, level, event, message) for journald, Kubernetes and log shippers.
    #[arg(long, value_enum, default_value_t = crate::logging::LogFormat::Text, global = true, env = "CLOUDKEUR_LOG_FORMAT")]
    pub log_format: crate::logging::LogFormat,

    /// Largest file read that grows with the tenant: a resource file holding a collection, a file
    /// of an archive bundle, a report (e.g. 512MiB, 2GiB). Manifests, settings objects, policy,
    /// settings, evidence, waiver and tenants files have a fixed limit of 16 MiB.
    #[arg(long, global = true, value_name = "SIZE", env = "CLOUDKEUR_MAX_FILE_SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_file_size: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

// Parsed once per run; boxing the scan flags would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a tenant and report findings.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// List what the app needs for the selected policies, per service: the Microsoft Graph
    /// application permissions, Exchange.ManageAsApp and the Entra role for the admin APIs; with
    /// --vendor google, the OAuth scopes for domain-wide delegation.
    Permissions(PermissionsArgs),
    /// Inspect and test policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Work with snapshot directories.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Inspect and verify an evidence archive written by `scan --archive`.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Compare two scans (JSON reports or archive bundles): findings newly failing, fixed or
    /// otherwise changed, and for bundles the settings behind them. Exit 1 when something newly
    /// fails.
    Diff(DiffArgs),
}

/// What decides a scan's exit code (`--gate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Gate {
    /// Every non-compliant finding at or above --fail-on.
    All,
    /// Only non-compliant findings the --overlay introduces.
    NewOnly,
}

/// Output of the archive and diff commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Re-hash every bundle and walk the hash chain; exit 1 when a bundle was altered, removed,
    /// renamed or reordered.
    Verify {
        /// The archive directory.
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = DataFormat::Table)]
        format: DataFormat,
    },
    /// The history of an archive: one row per bundle, oldest first.
    List {
        /// The archive directory.
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = DataFormat::Table)]
        format: DataFormat,
    },
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older scan: a JSON report file or a bundle directory.
    pub old: PathBuf,
    /// The newer scan: a JSON report file or a bundle directory.
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Evaluate a snapshot directory instead of reading a tenant (no network at all).
    #[arg(long, value_name = "DIR")]
    pub offline: Option<PathBuf>,

    #[command(flatten)]
    pub policies: PolicyDirArg,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Also write the report in FORMAT to PATH (repeatable), beside --format/--output, e.g.
    /// `--report sarif=cloudkeur.sarif --report html=rapport.html --report ocsf=findings.jsonl`.
    /// Formats: table, json, sarif, junit, ocsf, html, csv, markdown.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_target)]
    pub reports: Vec<ReportTarget>,

    /// Also send every finding as an OCSF event to this syslog receiver (RFC 5424 over plain
    /// TCP, octet-counting framing). Nothing is sent anywhere else.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_syslog_target)]
    pub syslog: Option<SyslogTarget>,

    /// Lowest severity that makes the exit code 1 (default: any severity).
    #[arg(long, value_enum, default_value_t = Severity::Low, value_name = "SEVERITY")]
    pub fail_on: Severity,

    /// Language of titles and remediation in the report.
    #[arg(long, value_enum, default_value_t = Lang::Nl)]
    pub lang: Lang,

    /// HTML, Markdown and JUnit reports list at most N items (accounts, sites, policies) per
    /// finding, then how many more there are; JSON, CSV, OCSF and SARIF list every item.
    #[arg(long, value_name = "N", default_value_t = crate::report::DEFAULT_MAX_ITEMS)]
    pub max_items: usize,

    /// Tenant settings file (YAML): break-glass accounts, accepted geos, Global Administrator
    /// range, review periods, controls to skip. Without it the documented defaults apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Evidence file (YAML): declarations for controls no API can read (data location, backup,
    /// contracts, DPIA, ...). Without it those controls are evidence-missing.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,

    /// Waiver file (YAML): decided exceptions to a control or policy, optionally for named items,
    /// with motivation, deciding role, DPO advice and end date. A waived finding shows `waived`
    /// and keeps its own verdict underneath; expired and stale waivers are reported.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,

    /// Lay a proposed change over the --offline snapshot before evaluating: DIR holds
    /// `<resource>.json` files (bodies as the snapshot stores them), each replacing or adding
    /// that resource. For a change gate in a pipeline (docs/change-gate.md).
    #[arg(long, value_name = "DIR", requires = "offline")]
    pub overlay: Option<PathBuf>,

    /// Which findings decide the exit code: `all` (default), or `new-only`: only the non-compliant
    /// findings the --overlay introduces compared with the snapshot without it (by policy and
    /// verdict), so a change is judged on what it changes.
    #[arg(long, value_enum, default_value_t = Gate::All, requires = "overlay")]
    pub gate: Gate,

    /// Scan every tenant of the --tenants file, concurrently: one JSON report per tenant and a
    /// summary in --reports-dir, one archive per tenant under --archive DIR/<name>. A tenant that
    /// cannot be scanned is reported as failed; the others go on.
    #[arg(long, requires_all = ["tenants", "reports_dir"], conflicts_with_all = ["offline", "overlay", "output", "snapshot_out"])]
    pub all: bool,

    /// Tenants file (YAML) for --all: per tenant a name, and a snapshot directory (`offline`) or
    /// the tenant, client id and credential (certificate or federated token file) to read it live.
    #[arg(long, value_name = "FILE", requires = "all")]
    pub tenants: Option<PathBuf>,

    /// Directory for --all: `<name>.json` per tenant and `summary.json`.
    #[arg(long, value_name = "DIR", requires = "all")]
    pub reports_dir: Option<PathBuf>,

    /// Keep this scan in the evidence archive DIR: a new, immutable bundle with the snapshot, the
    /// JSON report, the input files and the drift since the previous bundle, chained by hashes.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// Key file for pseudonyms of accounts in findings (at least 16 random bytes, e.g.
    /// `head -c 32 /dev/urandom > key`): the same account gets the same pseudonym in every scan.
    /// Without it, pseudonyms hold for this scan only.
    #[arg(long, value_name = "FILE", env = "CLOUDKEUR_PSEUDONYM_KEY_FILE")]
    pub pseudonym_key_file: Option<PathBuf>,

    /// Show real account names instead of pseudonyms (for ICT follow-up; the report records it).
    #[arg(long)]
    pub reveal_identities: bool,

    /// Evaluate as if scanned on this date (YYYY-MM-DD): for replaying an archived snapshot as
    /// of its day, or checking when declarations expire. Default: today (UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub date: Option<time::Date>,

    /// Evaluate only these policies or controls (policy id or control ID; repeatable).
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,

    /// The suite a live scan reads: microsoft (Microsoft 365, the default) or google (Google
    /// Workspace). With --offline the snapshot's manifest names it; given, it must agree.
    #[arg(long, value_name = "VENDOR", value_parser = parse_vendor)]
    pub vendor: Option<Vendor>,

    #[command(flatten)]
    pub live: LiveArgs,

    #[command(flatten)]
    pub google: GoogleArgs,
}

/// How a live scan reaches a Google Workspace customer (`--vendor google`). The credential is
/// the file GOOGLE_APPLICATION_CREDENTIALS names (environment only, as Google's own tools take
/// it): a service account's JSON key, or an external-account file (workload identity
/// federation, no key).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Live scan (Google Workspace, with --vendor google)")]
pub struct GoogleArgs {
    /// The customer to scan: its id (C0…), or my_customer (the default), the customer of the
    /// impersonated administrator.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,

    /// The super administrator the service account impersonates (domain-wide delegation): the
    /// Cloud Identity Policy API answers super administrators only. Required.
    #[arg(long, value_name = "EMAIL")]
    pub google_admin: Option<String>,

    /// Send every Google API request (Directory API, Cloud Identity Policy API) to this origin,
    /// the path unchanged (a test server; http:// only for a loopback host).
    #[arg(long, value_name = "URL")]
    pub google_url: Option<String>,

    /// The OAuth 2.0 token endpoint (default https://oauth2.googleapis.com/token); a keyless
    /// credential's Security Token Service (/v1/token) and IAM Credentials requests go to its
    /// origin too (a test server; http:// only for a loopback host).
    #[arg(long, value_name = "URL")]
    pub google_token_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyDirArg {
    /// Use the policy files in DIR instead of the built-in pack (its resources.yaml and
    /// controls.yaml too, when present).
    #[arg(long = "policies", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List the policies and the controls they serve.
    List {
        #[command(flatten)]
        policies: PolicyDirArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Language of titles.
        #[arg(long, value_enum, default_value_t = Lang::Nl)]
        lang: Lang,
    },
    /// Run every policy's own pass/fail examples (exit 1 when one does not hold).
    Test {
        /// Policy directory to test (default: the built-in pack).
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    /// The control catalogue as Markdown (docs/controls.md is generated this way).
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Recompute the SHA-256 hashes in a hand-made or hand-edited snapshot's manifest.
    Seal {
        /// The snapshot directory.
        dir: PathBuf,
    },
}

/// One `--report FORMAT=PATH`: a second (third, …) rendering of the same report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub format: Format,
    pub path: PathBuf,
}

fn format_names() -> String {
    Format::value_variants()
        .iter()
        .filter_map(|f| f.to_possible_value())
        .map(|v| v.get_name().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `FORMAT=PATH`; an error here is a usage error (exit 2) with the expected form.
fn parse_report_target(value: &str) -> Result<ReportTarget, String> {
    let Some((format, path)) = value.split_once('=') else {
        return Err(format!(
            "expected FORMAT=PATH, e.g. sarif=cloudkeur.sarif (formats: {})",
            format_names()
        ));
    };
    let format = Format::from_str(format.trim(), true).map_err(|_| {
        format!(
            "unknown report format '{format}'; use one of: {}",
            format_names()
        )
    })?;
    if path.is_empty() {
        return Err("the PATH after '=' is empty; e.g. sarif=cloudkeur.sarif".to_owned());
    }
    Ok(ReportTarget {
        format,
        path: PathBuf::from(path),
    })
}

pub use crate::syslog::SyslogTarget;

/// Parses `HOST:PORT` (`[v6]:PORT` for an IPv6 address).
fn parse_syslog_target(value: &str) -> Result<SyslogTarget, String> {
    let usage = || format!("expected HOST:PORT, e.g. siem.example:6514 (got '{value}')");
    let (host, port) = value.rsplit_once(':').ok_or_else(usage)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| usage())?;
    if host.is_empty() || port == 0 {
        return Err(usage());
    }
    Ok(SyslogTarget {
        host: host.to_owned(),
        port,
    })
}

/// How a live scan reaches the tenant (used when --offline is not given). The client secret is
/// taken only from AZURE_CLIENT_SECRET, never from a flag, so it stays out of shell history and
/// process lists.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Live scan (Microsoft Graph, Exchange Online, Purview, Teams)")]
pub struct LiveArgs {
    /// Tenant id (GUID) or primary domain of the tenant to scan.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT")]
    pub tenant: Option<String>,

    /// Application (client) id of the app registration. Its credential: AZURE_CLIENT_SECRET
    /// (environment only, deliberately no flag), --certificate or --federated-token-file.
    #[arg(long, env = "AZURE_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// PEM file with the app's certificate and its private key (instead of a client secret).
    #[arg(long, env = "AZURE_CLIENT_CERTIFICATE_PATH", value_name = "PATH")]
    pub certificate: Option<PathBuf>,

    /// File holding a federated token (workload identity), sent as the client assertion.
    #[arg(long, env = "AZURE_FEDERATED_TOKEN_FILE", value_name = "PATH")]
    pub federated_token_file: Option<PathBuf>,

    /// Microsoft Graph base URL (http:// only for a loopback host).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://graph.microsoft.com"
    )]
    pub graph_url: String,

    /// Exchange Online admin API base URL (http:// only for a loopback host). The tenant may be
    /// sent on to a regional host one DNS label under it.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://outlook.office365.com"
    )]
    pub exchange_url: String,

    /// Security & Compliance (Purview) admin API base URL, its front door (http:// only for a
    /// loopback host). The tenant is sent on to its regional host, one DNS label under it.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://ps.compliance.protection.outlook.com"
    )]
    pub compliance_url: String,

    /// Teams admin API base URL (http:// only for a loopback host).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.interfaces.records.teams.microsoft.com"
    )]
    pub teams_url: String,

    /// Read only these services (comma-separated: graph, exchange, compliance, teams), e.g. what
    /// the municipality licenses and has consented. Resources of the others are recorded as not
    /// read, naming the service, and their policies give `error` (or fall back to a
    /// declaration). Default: every service the selected policies need.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_service)]
    pub services: Vec<crate::registry::Service>,

    /// Entra ID authority base URL; tokens come from {authority}/{tenant}/oauth2/v2.0/token.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://login.microsoftonline.com"
    )]
    pub authority_url: String,

    /// Also write what was read, as a snapshot directory (replay it with --offline DIR).
    #[arg(long, value_name = "DIR")]
    pub snapshot_out: Option<PathBuf>,

    /// How many resources to read at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Refuse a response body longer than this many bytes, while it arrives (the resource
    /// is then recorded as unreadable and its policies give `error`).
    #[arg(long, value_name = "BYTES", default_value_t = crate::connector::DEFAULT_MAX_RESPONSE_BYTES, value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_response_bytes: u64,

    /// No progress bar (it is drawn only when standard error is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[command(flatten)]
    pub policies: PolicyDirArg,

    /// The suite: microsoft (the default: Graph permissions, Exchange.ManageAsApp, the Entra
    /// role) or google (the OAuth scopes for the Admin console's domain-wide delegation page).
    #[arg(long, value_name = "VENDOR", value_parser = parse_vendor, default_value = "microsoft")]
    pub vendor: Vendor,

    /// Only the permissions these policies or controls need (repeatable).
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,

    /// Only what these services need (comma-separated: graph, exchange, compliance, teams), as
    /// for `scan --services`.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_service)]
    pub services: Vec<crate::registry::Service>,
}

fn parse_vendor(text: &str) -> Result<Vendor, String> {
    Vendor::parse(text.trim())
        .ok_or_else(|| format!("unknown vendor '{text}'; use microsoft or google"))
}

fn parse_service(text: &str) -> Result<crate::registry::Service, String> {
    crate::registry::Service::ALL
        .into_iter()
        .find(|service| service.as_str() == text.trim())
        .ok_or_else(|| {
            format!("unknown service '{text}'; use graph, exchange, compliance or teams")
        })
}

fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .ok()
        .filter(|bytes| *bytes > 0)
        .ok_or_else(|| {
            format!("'{text}' is not a size; write e.g. 512MiB, 2GiB or a number of bytes")
        })
}

fn parse_date_arg(text: &str) -> Result<time::Date, String> {
    crate::evidence::parse_date(text)
        .filter(|_| text.len() == 10)
        .ok_or_else(|| format!("'{text}' is not a date; write it as YYYY-MM-DD"))
}

//! Every flag, defined once with its documentation (clap derive). `--help` is generated from here.

use crate::findings::{Lang, Severity};
use crate::report::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  compliant: no non-compliant finding at or above --fail-on
  1  not compliant: at least one fail, error, evidence-missing or evidence-expired finding
     at or above --fail-on (for `policy test`: an example did not hold)
  2  usage or input error: bad flag, policy file, snapshot or config (one line names file,
     place and fix)";

/// Checks Microsoft 365 tenants against the VTC guideline for office suites in the public cloud.
///
/// Reads a tenant's settings into a snapshot, evaluates the policy pack against it and reports
/// findings. Read-only: it never changes a tenant. It talks to no host but the ones you configure.
#[derive(Debug, Parser)]
#[command(name = "cloudkeur", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// When to colour output: auto colours only on a terminal and honours NO_COLOR.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

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
    /// List the Microsoft Graph application permissions the selected policies need.
    Permissions(PermissionsArgs),
    /// Inspect and test policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Work with snapshot directories.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Args)]
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

    /// Lowest severity that makes the exit code 1 (default: any severity).
    #[arg(long, value_enum, default_value_t = Severity::Low, value_name = "SEVERITY")]
    pub fail_on: Severity,

    /// Language of titles and remediation in the report.
    #[arg(long, value_enum, default_value_t = Lang::Nl)]
    pub lang: Lang,

    /// Evaluate only these policies or controls (policy id or control ID; repeatable).
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,

    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, Args)]
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
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Recompute the SHA-256 hashes in a hand-made or hand-edited snapshot's manifest.
    Seal {
        /// The snapshot directory.
        dir: PathBuf,
    },
}

/// How a live scan reaches the tenant (used when --offline is not given). The client secret is
/// taken only from AZURE_CLIENT_SECRET, never from a flag, so it stays out of shell history and
/// process lists.
#[derive(Debug, Args)]
#[command(next_help_heading = "Live scan (Microsoft Graph)")]
pub struct LiveArgs {
    /// Tenant id (GUID) or primary domain of the tenant to scan.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT")]
    pub tenant: Option<String>,

    /// Application (client) id of the app registration.
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

    /// No progress bar (it is drawn only when standard error is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[command(flatten)]
    pub policies: PolicyDirArg,

    /// Only the permissions these policies or controls need (repeatable).
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
}

//! What cloudkeur says on standard error while it works: plain lines for a person at a terminal
//! (`--log-format text`, the default), or one JSON object per line for journald, Kubernetes and
//! log shippers (`--log-format json`, written by tracing-subscriber's JSON formatter).
//!
//! Only messages go here, never findings (those are reports) and never a secret: callers pass
//! texts that hold no secret. Text lines are made inert here, once for every caller; JSON lines
//! are escaped by the JSON formatter. The format is chosen once, at start.

use crate::terminal::inert;
use std::cell::RefCell;
use std::sync::OnceLock;

thread_local! {
    /// The tenant this thread is scanning in a multi-tenant run, named in every line.
    static SCOPE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `work` with every log line of this thread naming the tenant (`scan --all`).
pub fn in_scope<T>(name: &str, work: impl FnOnce() -> T) -> T {
    SCOPE.with(|scope| *scope.borrow_mut() = Some(name.to_owned()));
    let result = work();
    SCOPE.with(|scope| *scope.borrow_mut() = None);
    result
}

fn scope() -> Option<String> {
    SCOPE.with(|scope| scope.borrow().clone())
}

/// A text-mode line: messages quote tenant data and file names, so they are made inert
/// (`terminal::inert`: no escape sequence reaches the terminal, and a line stays one line).
fn text_line(kind: &str, message: &str) {
    let message = inert(message);
    match scope() {
        Some(name) => eprintln!("cloudkeur: {kind}[{}] {message}", inert(&name)),
        None => eprintln!("cloudkeur: {kind}{message}"),
    }
}

/// How log lines look (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `cloudkeur: message` lines for people.
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, event, message and the event's fields.
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Chooses the format for the rest of the run; only the first call counts.
pub fn init(format: LogFormat) {
    if FORMAT.set(format).is_err() {
        return;
    }
    if format == LogFormat::Json {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(false)
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

fn json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// A step worth telling: `event` is a stable kebab-case name (`archived`, `drift`, …).
pub fn info(event: &str, message: &str) {
    match (json(), scope()) {
        (true, Some(scope)) => tracing::info!(event, scope, "{message}"),
        (true, None) => tracing::info!(event, "{message}"),
        (false, _) => text_line("", message),
    }
}

/// Something the operator should look at; the run goes on.
pub fn warn(event: &str, message: &str) {
    match (json(), scope()) {
        (true, Some(scope)) => tracing::warn!(event, scope, "{message}"),
        (true, None) => tracing::warn!(event, "{message}"),
        (false, _) => text_line("warning: ", message),
    }
}

/// The error that ends the run (exit 2), or one tenant's error in a multi-tenant run.
pub fn error(event: &str, message: &str, exit_code: u8) {
    match (json(), scope()) {
        (true, Some(scope)) => tracing::error!(event, scope, exit_code, "{message}"),
        (true, None) => tracing::error!(event, exit_code, "{message}"),
        (false, _) => text_line("error: ", message),
    }
}

/// One line per finished scan, in JSON mode only (text mode has the report itself).
pub fn scan_finished(report: &crate::findings::Report, exit_code: u8) {
    if !json() {
        return;
    }
    let count = |verdict: &str| report.summary.verdicts.get(verdict).copied().unwrap_or(0);
    tracing::info!(
        event = "scan-finished",
        tenant = %report.scan.tenant,
        tenant_name = report.scan.tenant_name.as_deref().unwrap_or_default(),
        compliant = report.summary.compliant,
        findings = report.summary.total,
        fail = count("fail"),
        error = count("error"),
        evidence_missing = count("evidence-missing"),
        evidence_expired = count("evidence-expired"),
        waived = count("waived"),
        exit_code,
        "scan of {} finished: {}",
        report.scan.tenant,
        if report.summary.compliant { "compliant" } else { "not compliant" }
    );
}

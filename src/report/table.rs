//! The terminal table: one row per finding, verdict first, fitting the given width.

use super::RenderOptions;
use crate::findings::{Finding, Report, Verdict};
use tabled::settings::object::Cell;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::width::Wrap;
use tabled::settings::{Color, Style, Width};
use tabled::{Table, Tabled};

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "Verdict")]
    verdict: String,
    #[tabled(rename = "Sev.")]
    severity: String,
    #[tabled(rename = "Control")]
    control: String,
    /// Title, then the reason and offending items below it: one wide text column reads better
    /// at 100 columns than two narrow ones.
    #[tabled(rename = "Finding")]
    finding: String,
}

fn row(finding: &Finding, options: &RenderOptions) -> Row {
    let mut reason = finding.reason.clone();
    if !finding.items.is_empty() {
        let shown: Vec<&str> = finding
            .items
            .iter()
            .take(5)
            .map(|i| i.label.as_deref().unwrap_or(&i.path))
            .collect();
        let more = finding.items.len().saturating_sub(shown.len());
        reason.push_str(&format!(
            " [{}{}]",
            shown.join(", "),
            if more > 0 {
                format!(", +{more} more")
            } else {
                String::new()
            }
        ));
    }
    Row {
        verdict: finding.verdict.to_string(),
        severity: finding.severity.to_string(),
        control: finding.control.clone(),
        finding: format!(
            "{}\n{}",
            wrap(finding.title.get(options.lang), options),
            wrap(&reason, options)
        ),
    }
}

/// Columns other than "Finding" take 25 characters, borders and padding 14 more.
const FIXED_WIDTH: usize = 39;

/// Wraps title and reason each on their own, so the reason starts on a fresh line.
fn wrap(text: &str, options: &RenderOptions) -> String {
    let width = options.width.saturating_sub(FIXED_WIDTH).max(20);
    Wrap::wrap(text, width, true)
}

fn color_of(verdict: Verdict) -> Color {
    match verdict {
        Verdict::Pass => Color::FG_GREEN,
        Verdict::Waived | Verdict::NotApplicable => Color::FG_CYAN,
        Verdict::Error | Verdict::EvidenceMissing | Verdict::EvidenceExpired => Color::FG_YELLOW,
        Verdict::Fail => Color::FG_RED,
    }
}

pub fn render_table(report: &Report, options: &RenderOptions) -> String {
    let rows: Vec<Row> = report.findings.iter().map(|f| row(f, options)).collect();
    let mut table = Table::new(rows);
    table.with(Style::sharp()).with(
        Width::wrap(options.width)
            .keep_words(true)
            .priority(PriorityMax::right()),
    );
    if options.color {
        for (index, finding) in report.findings.iter().enumerate() {
            table.modify(Cell::new(index + 1, 0), color_of(finding.verdict));
        }
    }
    let scan = &report.scan;
    let tenant = match &scan.tenant_name {
        Some(name) => format!("{name} ({})", scan.tenant),
        None => scan.tenant.clone(),
    };
    let counts: Vec<String> = report
        .summary
        .verdicts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(verdict, n)| format!("{n} {verdict}"))
        .collect();
    let status = if report.summary.compliant {
        "compliant"
    } else {
        "NOT compliant"
    };
    format!(
        "cloudkeur {} · tenant {tenant} · collected {} · snapshot sha256 {}\n{table}\n{} findings: {} · {status}\n",
        report.tool.version,
        scan.collected_at,
        short_hash(&scan.snapshot_sha256),
        report.summary.total,
        counts.join(", "),
    )
}

fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

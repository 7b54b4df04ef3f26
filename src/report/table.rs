//! The terminal table: one row per finding, verdict first, fitting the given width. Every text
//! from the report passes through `terminal::inert`: tenant data must not drive the terminal.

use super::{RenderOptions, scanned_kind, short_snapshot_hash, tenant_label, verdict_counts};
use crate::findings::{Finding, Report, Verdict};
use crate::terminal::inert;
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

fn row(finding: &Finding, options: &RenderOptions, text_width: usize) -> Row {
    let mut reason = shorten(&inert(&finding.reason), REASON_CHARS);
    if !finding.items.is_empty() {
        let shown: Vec<String> = finding
            .items
            .iter()
            .take(5)
            .map(|i| inert(i.label.as_deref().unwrap_or(&i.path)).into_owned())
            .collect();
        let more = finding.items.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(", +{more} more")
        } else {
            String::new()
        };
        reason.push_str(&format!(" [{}{more}]", shown.join(", ")));
    }
    Row {
        verdict: finding.verdict.to_string(),
        severity: finding.severity.to_string(),
        control: inert(&finding.control).into_owned(),
        finding: format!(
            "{}\n{}",
            Wrap::wrap(&inert(finding.title.get(options.lang)), text_width, true),
            Wrap::wrap(&reason, text_width, true)
        ),
    }
}

/// Reasons quote JSONPath and values and can run long; the table shows their start, the JSON
/// report (and every other format) the whole text.
const REASON_CHARS: usize = 240;

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rfind(' ').map_or(cut.as_str(), |space| &cut[..space]);
    format!("{cut} … (full reason in --format json)")
}

/// Width left for the "Finding" text once the other columns, borders and padding are placed,
/// so the text is wrapped once, by us, at word boundaries, and the table never re-wraps it.
fn text_width(report: &Report, options: &RenderOptions) -> usize {
    let widest = |header: &str, cells: &mut dyn Iterator<Item = usize>| {
        cells.chain([header.len()]).max().unwrap_or(0)
    };
    let verdict = widest(
        "Verdict",
        &mut report.findings.iter().map(|f| f.verdict.as_str().len()),
    );
    let severity = widest(
        "Sev.",
        &mut report.findings.iter().map(|f| f.severity.as_str().len()),
    );
    let control = widest(
        "Control",
        &mut report
            .findings
            .iter()
            .map(|f| inert(&f.control).chars().count()),
    );
    // Five borders, and one space of padding on each side of four columns.
    let fixed = verdict + severity + control + 5 + 8;
    options.width.saturating_sub(fixed).max(20)
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
    let text_width = text_width(report, options);
    let rows: Vec<Row> = report
        .findings
        .iter()
        .map(|f| row(f, options, text_width))
        .collect();
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
    let tenant = inert(&tenant_label(report)).into_owned();
    let status = if report.summary.compliant {
        "compliant"
    } else {
        "NOT compliant"
    };
    format!(
        "cloudkeur {} · {} {tenant} · collected {} · snapshot sha256 {}\n{table}\n{} finding{}: {} · {status}\n",
        inert(&report.tool.version),
        scanned_kind(report),
        inert(&scan.collected_at),
        short_snapshot_hash(report),
        report.summary.total,
        if report.summary.total == 1 { "" } else { "s" },
        verdict_counts(report),
    )
}

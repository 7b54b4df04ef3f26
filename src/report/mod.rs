//! Renderers: each turns the one [`Report`] into a format. None of them
//! evaluates or changes a verdict. Formats that quote requirement texts (SARIF, HTML) also read
//! the static control catalogue; nothing else goes in.

mod csv;
mod html;
mod json;
mod junit;
mod markdown;
mod ocsf;
mod sarif;
mod table;

pub use self::csv::render_csv;
pub use html::render_html;
pub use json::{render_json, write_json};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use ocsf::{ComplianceFinding, OCSF_SCHEMA_VERSION, ocsf_events, render_ocsf};
pub use sarif::render_sarif;
pub use table::render_table;

use crate::catalog::Catalog;
use crate::findings::{Lang, Report};

/// The output formats of `--format` and `--report FORMAT=PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people at a terminal.
    Table,
    /// The stable JSON report (`cloudkeur.report/v1`) for scripts.
    Json,
    /// SARIF 2.1.0 for code-scanning dashboards (GitHub, Azure DevOps, DefectDojo).
    Sarif,
    /// JUnit XML for CI test views: one test case per policy.
    Junit,
    /// OCSF Compliance Finding events (class 2003), one JSON object per line, for a SIEM.
    Ocsf,
    /// One self-contained, printable HTML page for the DPO.
    Html,
    /// One row per finding, for a spreadsheet.
    Csv,
    /// A summary and the non-compliant findings, for a pull-request comment.
    Markdown,
}

impl Format {
    /// Whether a report in this format is built whole in memory with every item before it is
    /// written: tens of megabytes for 50 000 failing accounts. JSON is written as it is
    /// rendered ([`write_report`]); table, HTML, Markdown and JUnit list at most `--max-items`
    /// items per finding.
    pub fn built_whole_with_every_item(self) -> bool {
        matches!(self, Format::Sarif | Format::Ocsf | Format::Csv)
    }
}

/// Presentation choices that do not change content.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub lang: Lang,
    /// ANSI colour; decided once from the terminal and NO_COLOR, never by a renderer.
    pub color: bool,
    /// Total width the table must fit.
    pub width: usize,
    /// HTML, Markdown and JUnit list at most this many items of a finding, then how many more
    /// there are (`--max-items`), so that 25 000 failing accounts stay a readable page; JSON,
    /// CSV, OCSF and SARIF always list every item.
    pub max_items: usize,
}

/// `--max-items` when not given: a page a person reads; the JSON and CSV reports hold the rest.
pub const DEFAULT_MAX_ITEMS: usize = 50;

/// Renders `report` in `format`. The catalogue supplies requirement texts and area names only.
pub fn render(
    format: Format,
    report: &Report,
    catalog: &Catalog,
    options: &RenderOptions,
) -> String {
    match format {
        Format::Table => render_table(report, options),
        Format::Json => render_json(report),
        Format::Sarif => render_sarif(report, catalog, options.lang),
        Format::Junit => render_junit(report, options.lang, options.max_items),
        Format::Ocsf => render_ocsf(report, options.lang),
        Format::Html => render_html(report, catalog, options.lang, options.max_items),
        Format::Csv => render_csv(report, options.lang),
        Format::Markdown => render_markdown(report, options.lang, options.max_items),
    }
}

/// Writes `report` in `format` to `out`, as [`render`] renders it. The JSON report, the one that
/// lists every item with its detail, goes straight to `out` without being held whole in memory;
/// the other formats are short for people or rendered whole first.
pub fn write_report(
    format: Format,
    report: &Report,
    catalog: &Catalog,
    options: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => write_json(report, out),
        _ => out.write_all(render(format, report, catalog, options).as_bytes()),
    }
}

/// The area of a control: the catalogue's, else the middle part of its ID (`VTC-MFA-01` → `MFA`).
pub(crate) fn area_of<'a>(catalog: &'a Catalog, control: &'a str) -> &'a str {
    match catalog.get(control) {
        Some(entry) => &entry.area,
        None => id_area(control),
    }
}

/// The middle part of a control ID: `VTC-MFA-01` → `MFA`.
pub(crate) fn id_area(control: &str) -> &str {
    control.split('-').nth(1).unwrap_or(control)
}

/// The items of a finding as one line: the label when there is one, else the JSONPath.
pub(crate) fn item_names(finding: &crate::findings::Finding) -> Vec<&str> {
    names_of(&finding.items)
}

/// The names of these items: the label when there is one, else the JSONPath.
pub(crate) fn names_of(items: &[crate::findings::FindingItem]) -> Vec<&str> {
    items
        .iter()
        .map(|item| item.label.as_deref().unwrap_or(&item.path))
        .collect()
}

/// The items of a finding a listing format shows (the first `max`), and how many it leaves out.
pub(crate) fn shown_items(
    finding: &crate::findings::Finding,
    max: usize,
) -> (&[crate::findings::FindingItem], usize) {
    let shown = &finding.items[..finding.items.len().min(max)];
    (shown, finding.items.len() - shown.len())
}

/// What a listing format says in place of the items it leaves out.
pub(crate) fn more_items(left_out: usize, lang: Lang) -> String {
    match lang {
        Lang::Nl => format!("en nog {left_out}, allemaal opgesomd in het JSON- en CSV-rapport"),
        Lang::En => format!("and {left_out} more, all listed in the JSON and CSV reports"),
    }
}

/// An identifier of one policy on one tenant that stays the same across scans (no time in it),
/// so a SIEM or code-scanning dashboard can follow a finding from one scan to the next.
pub(crate) fn finding_uid(report: &Report, finding: &crate::findings::Finding) -> String {
    crate::digest::sha256_hex(format!("{}\n{}", report.scan.tenant, finding.policy).as_bytes())
}

/// The tenant as people name it: `Stad Kleinwaarde (63e2…)`, or the ID alone.
pub(crate) fn tenant_label(report: &Report) -> String {
    match &report.scan.tenant_name {
        Some(name) => format!("{name} ({})", report.scan.tenant),
        None => report.scan.tenant.clone(),
    }
}

/// "Microsoft 365 tenant", "Google Workspace customer": what was scanned, from the report.
pub(crate) fn scanned_kind(report: &Report) -> String {
    let vendor = report.scan.vendor;
    format!("{} {}", vendor.suite(), vendor.organisation_term())
}

/// "2 fail, 29 pass": the verdicts that occur, for one-line summaries.
pub(crate) fn verdict_counts(report: &Report) -> String {
    let counts: Vec<String> = report
        .summary
        .verdicts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(verdict, n)| format!("{n} {verdict}"))
        .collect();
    counts.join(", ")
}

/// The first 12 hex digits of the snapshot hash: enough to tell snapshots apart by eye.
pub(crate) fn short_snapshot_hash(report: &Report) -> &str {
    let hash = &report.scan.snapshot_sha256;
    hash.get(..12).unwrap_or(hash)
}

/// A report with one failing finding whose label and tenant name are hostile, for the escaping
/// tests of each renderer.
#[cfg(test)]
pub(crate) fn hostile_report() -> Report {
    use crate::findings::{Finding, FindingItem, Localized, ScanInfo, Severity, Verdict};
    let text = |s: &str| Localized {
        nl: s.to_owned(),
        en: s.to_owned(),
    };
    let finding = Finding {
        control: "VTC-MFA-01".to_owned(),
        policy: "mfa-01-mfa-for-all-users".to_owned(),
        title: text("MFA for all users"),
        severity: Severity::Critical,
        verdict: Verdict::Fail,
        reason: "a | pipe and <b>bold</b>".to_owned(),
        items: vec![FindingItem {
            path: "$['value'][0]".to_owned(),
            label: Some("=HYPERLINK(\"http://evil.example\")<script>alert(1)</script>".to_owned()),
            detail: "excludes a group".to_owned(),
            identity: false,
        }],
        remediation: text("Require MFA"),
        guideline: "MULTIFACTORAUTHENTICATIE".to_owned(),
        gdpr: vec!["32".to_owned()],
        resources: vec!["conditional_access_policies".to_owned()],
        waiver: None,
    };
    Report::new(
        // From JSON, so that fields added to ScanInfo later need no change here.
        serde_json::from_value::<ScanInfo>(serde_json::json!({
            "tenant": "00000000-0000-4000-8000-000000000001",
            "tenant_name": "Gemeente <img src=x onerror=alert(1)>",
            "source": "fixture",
            "collected_at": "2026-11-20T06:00:00Z",
            "started_at": "2026-11-23T09:00:00Z",
            "finished_at": "2026-11-23T09:00:01Z",
            "snapshot_sha256": "0".repeat(64),
        }))
        .expect("a valid ScanInfo"),
        vec![finding],
    )
}

/// A report whose one failing finding has `count` items (`account-0@…`, `account-1@…`, …), for
/// the tests of the formats that list only the first `--max-items` and of those that keep all.
#[cfg(test)]
pub(crate) fn many_items_report(count: usize) -> Report {
    use crate::findings::FindingItem;
    let mut report = hostile_report();
    let finding = &mut report.findings[0];
    finding.reason = format!("{count} of {count} items do not satisfy the rule");
    finding.items = (0..count)
        .map(|i| FindingItem {
            path: format!("$['value'][{i}]"),
            label: Some(format!("account-{i}@proefstad.example")),
            detail: "a usable MFA method is registered: $.isMfaCapable is false, expected true"
                .to_owned(),
            identity: true,
        })
        .collect();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON, CSV, OCSF and SARIF are for machines and audits: whatever `--max-items` says, they
    /// keep every item.
    #[test]
    fn machine_formats_keep_every_item() {
        let report = many_items_report(25_000);
        let options = RenderOptions {
            lang: Lang::En,
            color: false,
            width: 100,
            max_items: 1,
        };
        for format in [Format::Json, Format::Csv, Format::Ocsf, Format::Sarif] {
            let text = render(format, &report, &Catalog::default(), &options);
            for i in [0, 1, 12_345, 24_999] {
                let label = format!("account-{i}@proefstad.example");
                assert!(text.contains(&label), "{format:?} lacks {label}");
            }
            assert!(!text.contains("more, all listed"), "{format:?}");
        }
    }
}

//! CSV: one row per finding, for a spreadsheet.
//!
//! Cells that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return at
//! the start) get a leading apostrophe: labels come from the tenant, and a Conditional Access
//! policy named `=HYPERLINK(…)` must not become a live formula on the DPO's screen.

use crate::findings::{Finding, Lang, Report};

const HEADER: [&str; 15] = [
    "tenant",
    "tenant_name",
    "collected_at",
    "control",
    "policy",
    "severity",
    "verdict",
    "title",
    "reason",
    "items",
    "remediation",
    "guideline",
    "gdpr",
    "resources",
    "waivers",
];

/// Neutralises a cell a spreadsheet would evaluate.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn row(report: &Report, finding: &Finding, lang: Lang) -> [String; 15] {
    let items: Vec<String> = finding
        .items
        .iter()
        .map(|item| {
            format!(
                "{}: {}",
                item.label.as_deref().unwrap_or(&item.path),
                item.detail
            )
        })
        .collect();
    [
        report.scan.tenant.clone(),
        report.scan.tenant_name.clone().unwrap_or_default(),
        report.scan.collected_at.clone(),
        finding.control.clone(),
        finding.policy.clone(),
        finding.severity.to_string(),
        finding.verdict.to_string(),
        finding.title.get(lang).to_owned(),
        finding.reason.clone(),
        items.join("; "),
        finding.remediation.get(lang).to_owned(),
        finding.guideline.clone(),
        finding.gdpr.join(", "),
        finding.resources.join(", "),
        waivers(finding),
    ]
    .map(|text| cell(&text))
}

/// Waiver IDs with their end dates, e.g. `W-2026-001 until 2027-05-31`.
fn waivers(finding: &Finding) -> String {
    finding
        .waiver
        .iter()
        .flat_map(|waiver| &waiver.applied)
        .map(|applied| format!("{} until {}", applied.id, applied.valid_until))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn render_csv(report: &Report, lang: Lang) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail; a failed row would only shorten the output.
    let _ = writer.write_record(HEADER);
    for finding in &report.findings {
        let _ = writer.write_record(row(report, finding, lang));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_that_looks_like_a_formula_is_not_a_formula() {
        let text = render_csv(&super::super::hostile_report(), Lang::En);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().expect("a row").expect("valid");
        let items = row.get(9).expect("items column");
        assert!(items.starts_with("'="), "{items}");
    }
}

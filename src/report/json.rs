//! The JSON report: a documented, stable interface (`cloudkeur.report/v1`, see docs/report-json.md).

use crate::findings::Report;

pub fn render_json(report: &Report) -> String {
    let mut out = Vec::with_capacity(room_for(report));
    // Serializing plain data structs with string keys cannot fail, and gives UTF-8.
    if serde_json::to_writer_pretty(&mut out, report).is_err() {
        return String::new();
    }
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}

/// Room for the report, on the generous side: a buffer grown by doubling copied itself again
/// and again (52 MB for 100 000 accounts half failing, on the one thread that renders), while
/// room reserved and not written to is never touched, so it costs no memory.
fn room_for(report: &Report) -> usize {
    const PER_ITEM: usize = 160;
    const PER_FINDING: usize = 4096;
    let text: usize = report
        .findings
        .iter()
        .flat_map(|finding| &finding.items)
        .map(|item| {
            item.path.len() + item.detail.len() + item.label.as_ref().map_or(0, String::len)
        })
        .sum();
    let items: usize = report.findings.iter().map(|f| f.items.len()).sum();
    let reasons: usize = report.findings.iter().map(|f| f.reason.len()).sum();
    // Escapes (quotes in details) make text longer by up to a quarter in practice.
    let text = text + reasons;
    text + text / 4 + items * PER_ITEM + report.findings.len() * PER_FINDING + (1 << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The room reserved holds the report (hostile texts, whose escapes lengthen them, and
    /// thousands of items), so it is written without copying; the text is what serde_json's
    /// own pretty printer gives.
    #[test]
    fn the_room_reserved_holds_the_report() {
        for report in [
            crate::report::hostile_report(),
            crate::report::many_items_report(3000),
        ] {
            let rendered = render_json(&report);
            assert!(rendered.len() <= room_for(&report), "{}", rendered.len());
            let pretty = serde_json::to_string_pretty(&report).expect("renders") + "\n";
            assert_eq!(rendered, pretty);
        }
    }
}

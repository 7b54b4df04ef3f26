//! The JSON report: a documented, stable interface (`cloudkeur.report/v1`, see docs/report-json.md).

use crate::findings::Report;
use std::io::Write;

pub fn render_json(report: &Report) -> String {
    let mut out = Vec::with_capacity(room_for(report));
    // Serializing plain data structs with string keys cannot fail, and gives UTF-8.
    if write_json(report, &mut out).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the report as [`render_json`] renders it, straight to `out`: with tens of thousands
/// of failing items the report is tens of megabytes (52 MB for 100 000 accounts half failing),
/// which a buffer of the whole report would take in fresh pages only to copy them to the file;
/// a small buffer in front of the file is written again and again while it is in the cache.
pub fn write_json(report: &Report, mut out: impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, report)?;
    out.write_all(b"\n")
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

    /// Written straight to a writer that takes a few bytes at a time, the report is the same
    /// bytes as rendered into one buffer.
    #[test]
    fn the_report_written_straight_is_the_report_rendered() {
        struct Trickle(Vec<u8>);
        impl Write for Trickle {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let n = buf.len().min(7);
                self.0.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        for report in [
            crate::report::hostile_report(),
            crate::report::many_items_report(3000),
        ] {
            let mut out = Trickle(Vec::new());
            write_json(&report, &mut out).expect("writes");
            assert_eq!(out.0, render_json(&report).into_bytes());
        }
    }
}

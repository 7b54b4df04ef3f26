//! The JSON report: a documented, stable interface (`cloudkeur.report/v1`, see docs/report-json.md).

use crate::findings::Report;

pub fn render_json(report: &Report) -> String {
    // Serializing plain data structs with string keys cannot fail.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
    out.push('\n');
    out
}

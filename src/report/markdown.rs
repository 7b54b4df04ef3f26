//! Markdown for a pull-request comment: a summary line, the verdict counts, and the
//! non-compliant findings as a table. Text from the tenant is escaped so that it cannot break
//! the table or inject links, HTML or mentions. A finding names at most `max_items` of its
//! items (`--max-items`), then how many more there are.

use super::{
    more_items, names_of, scanned_kind, short_snapshot_hash, shown_items, tenant_label,
    verdict_counts,
};
use crate::findings::{Lang, Report};

/// Escapes Markdown and inline HTML, and keeps a cell on one line.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '@' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

pub fn render_markdown(report: &Report, lang: Lang, max_items: usize) -> String {
    let nl = lang == Lang::Nl;
    let scan = &report.scan;
    let mut out = String::new();
    let status = match (report.summary.compliant, nl) {
        (true, true) => "✅ conform",
        (true, false) => "✅ compliant",
        (false, true) => "❌ niet conform",
        (false, false) => "❌ not compliant",
    };
    out.push_str(&format!(
        "### cloudkeur: {} — {status}\n\n{}\n\n",
        escape(&tenant_label(report)),
        scanned_kind(report)
    ));
    out.push_str(&format!(
        "{} `{}` · {} {} · snapshot `{}`\n\n",
        if nl { "Verzameld" } else { "Collected" },
        escape(&scan.collected_at),
        report.tool.name,
        report.tool.version,
        short_snapshot_hash(report),
    ));
    out.push_str(&format!(
        "**{}** {}: {}\n\n",
        report.summary.total,
        if nl { "bevindingen" } else { "findings" },
        verdict_counts(report)
    ));
    let open: Vec<_> = report
        .findings
        .iter()
        .filter(|f| !f.verdict.is_compliant())
        .collect();
    if open.is_empty() {
        out.push_str(if nl {
            "Geen niet-conforme bevindingen.\n"
        } else {
            "No non-compliant findings.\n"
        });
        return out;
    }
    out.push_str(if nl {
        "| Verdict | Ernst | Control | Bevinding | Reden | Oplossing |\n"
    } else {
        "| Verdict | Severity | Control | Finding | Reason | Remediation |\n"
    });
    out.push_str("|---|---|---|---|---|---|\n");
    for finding in open {
        let mut reason = escape(&finding.reason);
        let (shown, left_out) = shown_items(finding, max_items);
        let mut names: Vec<String> = names_of(shown).iter().map(|n| escape(n)).collect();
        if left_out > 0 {
            names.push(escape(&more_items(left_out, lang)));
        }
        if !names.is_empty() {
            reason.push_str(&format!(" ({})", names.join(", ")));
        }
        out.push_str(&format!(
            "| **{}** | {} | {} | {} | {} | {} |\n",
            finding.verdict,
            finding.severity,
            escape(&finding.control),
            escape(finding.title.get(lang)),
            reason,
            escape(finding.remediation.get(lang)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_text_cannot_break_the_table_or_inject_html() {
        let text = render_markdown(&super::super::hostile_report(), Lang::En, 50);
        let row = text
            .lines()
            .find(|l| l.contains("VTC-MFA-01"))
            .expect("a row for the finding");
        assert_eq!(row.matches(" | ").count(), 5, "six cells: {row}");
        assert!(
            !text.contains("<script>") && !text.contains("<b>"),
            "{text}"
        );
    }

    #[test]
    fn a_finding_names_the_first_items_and_counts_the_rest_in_the_report_language() {
        let report = super::super::many_items_report(25_000);
        let en = render_markdown(&report, Lang::En, 50);
        assert!(
            en.contains(r"account-49\@"),
            "the 50th item is named (@ escaped)"
        );
        assert!(!en.contains(r"account-50\@"), "the 51st is not");
        assert!(en.contains("and 24950 more, all listed in the JSON and CSV reports"));
        assert!(en.len() < 100_000, "{} bytes", en.len());
        let nl = render_markdown(&report, Lang::Nl, 3);
        assert!(nl.contains(r"account-2\@") && !nl.contains(r"account-3\@"));
        assert!(
            nl.contains("en nog 24997, allemaal opgesomd in het JSON- en CSV-rapport"),
            "{nl}"
        );
    }

    #[test]
    fn a_finding_within_the_limit_names_every_item_and_no_count() {
        let report = super::super::many_items_report(3);
        let text = render_markdown(&report, Lang::En, 3);
        assert!(text.contains(r"account-2\@"));
        assert!(!text.contains("more, all listed"), "{text}");
    }
}

//! The HTML report for the DPO: one self-contained, printable page.
//!
//! Inline CSS and an inline SVG chart; no script, no font, no image, no link that loads
//! anything, and a Content-Security-Policy that forbids every fetch should one slip in. Every
//! text goes through maud, which escapes it; only the fixed stylesheet is inserted raw. A
//! finding lists at most `max_items` of its items (`--max-items`), then how many more there
//! are, so that a tenant with 25 000 failing accounts still gives a page a DPO can open.

use super::{area_of, more_items, shown_items, tenant_label};
use crate::catalog::Catalog;
use crate::findings::{Finding, Lang, Report, Severity, Verdict};
use crate::waiver::{AdviceOutcome, FindingWaiver, WaiverTarget};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::collections::BTreeMap;

const CSS: &str = r#"
:root { --ink:#1d2733; --muted:#5b6673; --line:#d9dee4; --bg:#f5f7f9; --accent:#1f4e79; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 "Segoe UI", "Noto Sans", "DejaVu Sans", Helvetica, Arial, sans-serif;
       color:var(--ink); background:var(--bg); }
main { max-width: 980px; margin: 0 auto; padding: 32px 40px 48px; background:#fff; }
header.doc { border-bottom: 4px solid var(--accent); padding-bottom: 16px; margin-bottom: 24px; }
header.doc .kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); margin: 0; }
h1 { font-size: 28px; margin: 4px 0 12px; color: var(--accent); }
h2 { font-size: 20px; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); color: var(--accent); }
h3 { font-size: 17px; margin: 0; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
code, .hash { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.status { display:inline-block; padding: 6px 14px; border-radius: 4px; font-weight: 600; color:#fff; margin: 4px 0 16px; }
.status.ok { background:#2e7d32; } .status.nok { background:#c62828; }
table.counts { border-collapse: collapse; margin: 8px 0 20px; font-size: 14px; }
table.counts th, table.counts td { border: 1px solid var(--line); padding: 4px 12px; text-align: left; }
table.overview { width: 100%; border-collapse: collapse; font-size: 14px; }
table.overview th { text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
                    border-bottom: 2px solid var(--line); padding: 6px 8px; }
table.overview td { border-bottom: 1px solid var(--line); padding: 5px 8px; vertical-align: top; }
table.overview td:first-child { white-space: nowrap; font-weight: 600; }
table.overview a { color: var(--accent); text-decoration: none; }
table.overview tr { break-inside: avoid; }
table.counts td.n { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display:inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
figure { margin: 8px 0 0; } figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
section.control { border: 1px solid var(--line); border-left: 6px solid var(--verdict); border-radius: 4px;
                  padding: 14px 18px; margin: 14px 0; break-inside: avoid; page-break-inside: avoid; }
section.control header { display:flex; justify-content: space-between; align-items: baseline; gap: 16px; }
.cid { color: var(--muted); font-weight: 600; margin-right: 8px; }
.badge { display:inline-block; white-space: nowrap; padding: 2px 10px; border-radius: 12px; font-size: 13px;
         font-weight: 600; color:#fff; background: var(--verdict); }
.sev { font-size: 12px; color: var(--muted); margin-left: 6px; white-space: nowrap; }
.label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 12px 0 2px; }
blockquote { margin: 4px 0; padding: 2px 12px; border-left: 3px solid var(--line); color: var(--muted); font-style: italic; }
p { margin: 2px 0; }
ul.items { margin: 4px 0; padding-left: 20px; }
ul.items li { margin: 2px 0; }
ul.items li.more { list-style: none; color: var(--muted); font-style: italic; }
.waiver { background: #f3f1fb; border-left: 3px solid #5c6bc0; border-radius: 4px; padding: 8px 12px; margin-top: 4px; }
.waiver p { margin: 3px 0; } .waiver .note { color: #8d3a00; }
.remedy { background: #f0f5fa; border-radius: 4px; padding: 8px 12px; margin-top: 4px; }
footer { margin-top: 36px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section.control { break-inside: avoid; }
}
"#;

/// Fixed texts in the report language.
struct Texts {
    kicker: &'static str,
    /// After the suite's name: "Google Workspace and the VTC guideline".
    heading_after: &'static str,
    tenant: &'static str,
    collected: &'static str,
    scanned: &'static str,
    source: &'static str,
    tool: &'static str,
    snapshot: &'static str,
    summary: &'static str,
    compliant: &'static str,
    not_compliant: &'static str,
    verdict: &'static str,
    count: &'static str,
    chart_caption: &'static str,
    controls: &'static str,
    overview: &'static str,
    title: &'static str,
    severity_heading: &'static str,
    waiver: &'static str,
    waivers: &'static str,
    verdict_underneath: &'static str,
    dpo_advice: &'static str,
    valid_until: &'static str,
    applies_to: &'static str,
    state: &'static str,
    decided_by: &'static str,
    requirement: &'static str,
    guideline: &'static str,
    gdpr: &'static str,
    reason: &'static str,
    items: &'static str,
    remediation: &'static str,
    severity: &'static str,
    footer: &'static str,
}

const NL: Texts = Texts {
    kicker: "Conformiteitsrapport",
    heading_after: "en de VTC-richtlijn",
    tenant: "Bestuur",
    collected: "Gegevens verzameld",
    scanned: "Scan uitgevoerd",
    source: "Bron",
    tool: "Hulpmiddel",
    snapshot: "Snapshot (SHA-256)",
    summary: "Samenvatting",
    compliant: "Conform: geen enkele bevinding is niet-conform",
    not_compliant: "Niet conform",
    verdict: "Oordeel",
    count: "Aantal",
    chart_caption: "Oordelen per domein van de richtlijn",
    controls: "Bevindingen per controle",
    overview: "Overzicht",
    title: "Controle",
    severity_heading: "Ernst",
    waiver: "Uitzondering",
    waivers: "Uitzonderingen",
    verdict_underneath: "Oordeel zonder uitzondering",
    dpo_advice: "Advies DPO",
    valid_until: "Geldig tot",
    applies_to: "Voor",
    state: "Toestand",
    decided_by: "Beslist door",
    requirement: "Vereiste",
    guideline: "Richtlijn",
    gdpr: "AVG-artikels",
    reason: "Reden",
    items: "Betrokken items",
    remediation: "Oplossing",
    severity: "ernst",
    footer: "Dit rapport toont de instellingen zoals ze in de snapshot staan; de SHA-256 hierboven legt die gegevens vast. Een instelling die niet gelezen kon worden, telt als niet-conform.",
};

const EN: Texts = Texts {
    kicker: "Compliance report",
    heading_after: "and the VTC guideline",
    tenant: "Organisation",
    collected: "Data collected",
    scanned: "Scan run",
    source: "Source",
    tool: "Tool",
    snapshot: "Snapshot (SHA-256)",
    summary: "Summary",
    compliant: "Compliant: no finding is non-compliant",
    not_compliant: "Not compliant",
    verdict: "Verdict",
    count: "Count",
    chart_caption: "Verdicts per area of the guideline",
    controls: "Findings per control",
    overview: "Overview",
    title: "Control",
    severity_heading: "Severity",
    waiver: "Waiver",
    waivers: "Waivers",
    verdict_underneath: "Verdict without the waiver",
    dpo_advice: "DPO advice",
    valid_until: "Valid until",
    applies_to: "For",
    state: "State",
    decided_by: "Decided by",
    requirement: "Requirement",
    guideline: "Guideline",
    gdpr: "GDPR articles",
    reason: "Reason",
    items: "Items concerned",
    remediation: "Remediation",
    severity: "severity",
    footer: "This report shows the settings as recorded in the snapshot; the SHA-256 above pins that data. A setting that could not be read counts as non-compliant.",
};

fn verdict_label(verdict: Verdict, lang: Lang) -> &'static str {
    match (verdict, lang) {
        (Verdict::Pass, Lang::Nl) => "voldoet",
        (Verdict::Pass, Lang::En) => "pass",
        (Verdict::Fail, Lang::Nl) => "voldoet niet",
        (Verdict::Fail, Lang::En) => "fail",
        (Verdict::Error, Lang::Nl) => "niet leesbaar",
        (Verdict::Error, Lang::En) => "error (not readable)",
        (Verdict::EvidenceMissing, Lang::Nl) => "bewijs ontbreekt",
        (Verdict::EvidenceMissing, Lang::En) => "evidence missing",
        (Verdict::EvidenceExpired, Lang::Nl) => "bewijs verlopen",
        (Verdict::EvidenceExpired, Lang::En) => "evidence expired",
        (Verdict::Waived, Lang::Nl) => "uitzondering",
        (Verdict::Waived, Lang::En) => "waived",
        (Verdict::NotApplicable, Lang::Nl) => "niet van toepassing",
        (Verdict::NotApplicable, Lang::En) => "not applicable",
    }
}

fn severity_label(severity: Severity, lang: Lang) -> &'static str {
    match (severity, lang) {
        (Severity::Low, Lang::Nl) => "laag",
        (Severity::Medium, Lang::Nl) => "middel",
        (Severity::High, Lang::Nl) => "hoog",
        (Severity::Critical, Lang::Nl) => "kritiek",
        (severity, Lang::En) => severity.as_str(),
    }
}

fn color_of(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Fail => "#c62828",
        Verdict::Error => "#e65100",
        Verdict::EvidenceMissing => "#b26a00",
        Verdict::EvidenceExpired => "#8d6e00",
        Verdict::Waived => "#5c6bc0",
        Verdict::NotApplicable => "#78909c",
        Verdict::Pass => "#2e7d32",
    }
}

/// Verdict counts per area, areas in catalogue order.
fn counts_per_area<'a>(
    report: &'a Report,
    catalog: &'a Catalog,
) -> Vec<(&'a str, BTreeMap<Verdict, usize>)> {
    let mut areas: Vec<(&str, BTreeMap<Verdict, usize>)> = Vec::new();
    for finding in sorted(report, catalog) {
        let area = area_of(catalog, &finding.control);
        let index = match areas.iter().position(|(a, _)| *a == area) {
            Some(index) => index,
            None => {
                areas.push((area, BTreeMap::new()));
                areas.len() - 1
            }
        };
        *areas[index].1.entry(finding.verdict).or_default() += 1;
    }
    areas
}

/// Findings in catalogue order, as a reader of the guideline expects them.
fn sorted<'a>(report: &'a Report, catalog: &Catalog) -> Vec<&'a Finding> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| {
        (
            catalog.order_of(&f.control),
            f.control.clone(),
            f.policy.clone(),
        )
    });
    findings
}

fn area_name<'a>(catalog: &'a Catalog, area: &'a str, lang: Lang) -> &'a str {
    catalog.areas.get(area).map_or(area, |name| name.get(lang))
}

/// The bar segments of one area: verdict, count and left edge, in verdict order.
fn segments(
    counts: &BTreeMap<Verdict, usize>,
    start: usize,
    unit: usize,
) -> Vec<(Verdict, usize, usize)> {
    let mut x = start;
    let mut out = Vec::new();
    for verdict in Verdict::ALL {
        if let Some(&n) = counts.get(&verdict) {
            out.push((verdict, n, x));
            x += n * unit;
        }
    }
    out
}

/// Splits an area name into at most two lines of about `width` characters, at spaces.
fn wrap_label(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let current = lines.last_mut().map_or(0, |l| l.chars().count());
        if current > 0 && current + 1 + word.chars().count() > width && lines.len() < 2 {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    if let Some(last) = lines.last_mut().filter(|l| l.chars().count() > width) {
        *last = last
            .chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    lines
}

/// `2026-11-23T18:13:17.9Z` → `2026-11-23 18:13:17 UTC`; anything else as given.
fn readable_time(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .and_then(|at| at.to_offset(time::UtcOffset::UTC).format(&format).ok())
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// A horizontal stacked bar per area; counts written in the bars.
fn chart(report: &Report, catalog: &Catalog, lang: Lang, texts: &Texts) -> Markup {
    const CODE_WIDTH: usize = 44;
    const LABEL_WIDTH: usize = 360;
    const LABEL_CHARS: usize = 40;
    const BAR_WIDTH: usize = 500;
    const ROW: usize = 40;
    const BAR: usize = 22;
    let areas = counts_per_area(report, catalog);
    let max_total = areas
        .iter()
        .map(|(_, counts)| counts.values().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1);
    let unit = BAR_WIDTH / max_total;
    let height = ROW * areas.len().max(1) + 8;
    let width = LABEL_WIDTH + BAR_WIDTH + 10;
    html! {
        figure {
            svg xmlns="http://www.w3.org/2000/svg" role="img" width=(width) height=(height)
                viewBox={ "0 0 " (width) " " (height) } aria-label=(texts.chart_caption)
                font-family="Segoe UI, Noto Sans, DejaVu Sans, Arial, sans-serif" font-size="13" {
                title { (texts.chart_caption) }
                @for (row, (area, counts)) in areas.iter().enumerate() {
                    @let y = row * ROW + 4;
                    text x="0" y=(y + BAR / 2 + 5) font-weight="600" fill="#1d2733" { (area) }
                    @let lines = wrap_label(area_name(catalog, area, lang), LABEL_CHARS);
                    @for (line, part) in lines.iter().enumerate() {
                        text x=(CODE_WIDTH) y=(y + BAR / 2 + 5 + line * 15 - (lines.len() - 1) * 15 / 2) fill="#1d2733" {
                            (part)
                        }
                    }
                    rect x=(LABEL_WIDTH) y=(y) width=(BAR_WIDTH) height=(BAR) fill="#eef1f4" rx="3" {}
                    @for (verdict, n, x) in segments(counts, LABEL_WIDTH, unit) {
                        rect x=(x) y=(y) width=(n * unit) height=(BAR) fill=(color_of(verdict)) {
                            title { (n) " " (verdict_label(verdict, lang)) }
                        }
                        text x=(x + n * unit / 2) y=(y + BAR / 2 + 5) text-anchor="middle" fill="#fff" font-weight="600" {
                            (n)
                        }
                    }
                }
            }
            figcaption {
                (texts.chart_caption) ": "
                @for verdict in Verdict::ALL {
                    @if report.findings.iter().any(|f| f.verdict == verdict) {
                        span.swatch style={ "background:" (color_of(verdict)) } {}
                        (verdict_label(verdict, lang)) " "
                    }
                }
            }
        }
    }
}

/// A decided exception: who decided, why, the DPO's advice, until when, and the verdict the
/// finding has underneath.
fn waiver_block(waiver: &FindingWaiver, lang: Lang, texts: &Texts) -> Markup {
    html! {
        div.label { (texts.waiver) }
        div.waiver {
            p {
                (texts.verdict_underneath) ": "
                strong { (verdict_label(waiver.verdict_underneath, lang)) }
                " (" code { (waiver.verdict_underneath) } ")"
            }
            @for applied in &waiver.applied {
                p.waiver-head { strong { (applied.id) } " · " (applied.decided_by) ", " (applied.decided_on)
                    @if let Some(decision) = &applied.decision { " · " (decision) } }
                p { (applied.motivation) }
                p {
                    (texts.dpo_advice) ": " (applied.dpo_advice.reference) " — "
                    (match (applied.dpo_advice.outcome, lang) {
                        (AdviceOutcome::Followed, Lang::Nl) => "gevolgd",
                        (AdviceOutcome::Followed, Lang::En) => "followed",
                        (AdviceOutcome::Deviated, Lang::Nl) => "afgeweken",
                        (AdviceOutcome::Deviated, Lang::En) => "deviated from",
                    })
                    @if let Some(motivation) = &applied.dpo_advice.motivation { ": " (motivation) }
                }
                p { (texts.valid_until) ": " strong { (applied.valid_until) }
                    @if !applied.items.is_empty() { " · " (texts.items) ": " code { (applied.items.join(", ")) } } }
            }
            @for note in &waiver.notes {
                p.note { (note) }
            }
        }
    }
}

/// Every waiver of the waiver file and how it fared in this scan.
fn waiver_table(report: &Report, texts: &Texts) -> Markup {
    html! {
        @if !report.waivers.is_empty() {
            h2 { (texts.waivers) }
            table.overview {
                thead { tr { th { "ID" } th { (texts.applies_to) } th { (texts.state) } th { (texts.valid_until) } th { (texts.decided_by) } } }
                tbody {
                    @for waiver in &report.waivers {
                        tr {
                            td { (waiver.id) }
                            td { (match &waiver.target { WaiverTarget::Control(id) | WaiverTarget::Policy(id) => id.as_str() }) }
                            td { (serde_json::to_value(waiver.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                            td { (waiver.valid_until) }
                            td { (waiver.decided_by) }
                        }
                    }
                }
            }
        }
    }
}

fn control_section(
    finding: &Finding,
    catalog: &Catalog,
    vendor: crate::vendor::Vendor,
    lang: Lang,
    texts: &Texts,
    max_items: usize,
) -> Markup {
    let control = catalog.get(&finding.control);
    let (shown, left_out) = shown_items(finding, max_items);
    html! {
        section.control id=(finding.policy) style={ "--verdict:" (color_of(finding.verdict)) } {
            header {
                h3 { span.cid { (finding.control) } (finding.title.get(lang)) }
                div {
                    span.badge { (verdict_label(finding.verdict, lang)) }
                    span.sev { (texts.severity) ": " (severity_label(finding.severity, lang)) }
                }
            }
            @if let Some(control) = control {
                div.label { (texts.requirement) }
                p { (control.requirement_for(vendor).get(lang)) }
                div.label { (texts.guideline) }
                p { "§ " (control.guideline.section) }
                blockquote { "“" (control.guideline.quote) "”" }
            } @else {
                div.label { (texts.guideline) }
                p { "§ " (finding.guideline) }
            }
            @if !finding.gdpr.is_empty() {
                div.label { (texts.gdpr) }
                p { (finding.gdpr.join(", ")) }
            }
            div.label { (texts.reason) " (" code { (finding.verdict) } ")" }
            p { (finding.reason) }
            @if !finding.items.is_empty() {
                div.label { (texts.items) }
                ul.items {
                    @for item in shown {
                        li {
                            @if let Some(label) = &item.label { strong { (label) } " " }
                            code { (item.path) } ": " (item.detail)
                        }
                    }
                    @if left_out > 0 {
                        li.more { "… " (more_items(left_out, lang)) }
                    }
                }
            }
            @if let Some(waiver) = &finding.waiver {
                (waiver_block(waiver, lang, texts))
            }
            @if !finding.verdict.is_compliant() {
                div.label { (texts.remediation) }
                div.remedy { (finding.remediation.get(lang)) }
            }
        }
    }
}

pub fn render_html(report: &Report, catalog: &Catalog, lang: Lang, max_items: usize) -> String {
    let texts = match lang {
        Lang::Nl => &NL,
        Lang::En => &EN,
    };
    let scan = &report.scan;
    let tenant = tenant_label(report);
    let page = html! {
        (DOCTYPE)
        html lang=(match lang { Lang::Nl => "nl", Lang::En => "en" }) {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ (report.tool.name) " " (report.tool.version) };
                title { (texts.kicker) " · " (tenant) }
                style { (PreEscaped(CSS)) }
            }
            body {
                main {
                    header.doc {
                        p.kicker { (texts.kicker) }
                        h1 { (scan.tenant_name.as_deref().unwrap_or(&scan.tenant)) }
                        p { (scan.vendor.suite()) " " (texts.heading_after) }
                        dl.meta {
                            dt { (texts.tenant) } dd { (scan.tenant_name.as_deref().unwrap_or("—")) }
                            dt { (scan.vendor.id_label(lang)) } dd { code { (scan.tenant) } }
                            dt { (texts.collected) } dd { (readable_time(&scan.collected_at)) }
                            dt { (texts.scanned) } dd { (readable_time(&scan.finished_at)) }
                            dt { (texts.source) } dd { (scan.source) }
                            dt { (texts.tool) } dd { (report.tool.name) " " (report.tool.version) }
                            dt { (texts.snapshot) } dd { span.hash { (scan.snapshot_sha256) } }
                        }
                    }
                    h2 { (texts.summary) }
                    @if report.summary.compliant {
                        div.status.ok { (texts.compliant) }
                    } @else {
                        div.status.nok { (texts.not_compliant) }
                    }
                    table.counts {
                        thead { tr { th { (texts.verdict) } th { (texts.count) } } }
                        tbody {
                            @for verdict in Verdict::ALL {
                                @let n = report.summary.verdicts.get(verdict.as_str()).copied().unwrap_or(0);
                                @if n > 0 {
                                    tr {
                                        td { span.swatch style={ "background:" (color_of(verdict)) } {} (verdict_label(verdict, lang)) }
                                        td.n { (n) }
                                    }
                                }
                            }
                        }
                    }
                    (chart(report, catalog, lang, texts))
                    h2 { (texts.overview) }
                    table.overview {
                        thead { tr { th { "ID" } th { (texts.title) } th { (texts.verdict) } th { (texts.severity_heading) } } }
                        tbody {
                            @for finding in sorted(report, catalog) {
                                tr {
                                    td { a href={ "#" (finding.policy) } { (finding.control) } }
                                    td { (finding.title.get(lang)) }
                                    td { span.badge style={ "--verdict:" (color_of(finding.verdict)) } { (verdict_label(finding.verdict, lang)) } }
                                    td { (severity_label(finding.severity, lang)) }
                                }
                            }
                        }
                    }
                    (waiver_table(report, texts))
                    h2 { (texts.controls) }
                    @for finding in sorted(report, catalog) {
                        (control_section(finding, catalog, scan.vendor, lang, texts, max_items))
                    }
                    footer { (texts.footer) }
                }
            }
        }
    };
    page.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_tenant_is_escaped() {
        let html = render_html(
            &super::super::hostile_report(),
            &Catalog::default(),
            Lang::En,
            50,
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>bold"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn a_finding_lists_the_first_items_and_counts_the_rest_in_the_report_language() {
        let report = super::super::many_items_report(25_000);
        let html = render_html(&report, &Catalog::default(), Lang::Nl, 50);
        assert_eq!(html.matches("<li>").count(), 50, "50 items listed");
        assert!(html.contains("account-49@") && !html.contains("account-50@"));
        assert!(
            html.contains(
                r#"<li class="more">… en nog 24950, allemaal opgesomd in het JSON- en CSV-rapport</li>"#
            ),
            "the rest counted, in Dutch"
        );
        assert!(html.len() < 200_000, "{} bytes", html.len());
        let en = render_html(&report, &Catalog::default(), Lang::En, 0);
        assert_eq!(en.matches("<li>").count(), 0);
        assert!(en.contains("and 25000 more, all listed in the JSON and CSV reports"));
    }

    #[test]
    fn a_finding_within_the_limit_lists_every_item_and_no_count() {
        let report = super::super::many_items_report(50);
        let html = render_html(&report, &Catalog::default(), Lang::En, 50);
        assert_eq!(html.matches("<li>").count(), 50);
        assert!(!html.contains(r#"class="more""#));
    }

    #[test]
    fn long_area_names_wrap_onto_two_lines() {
        let lines = wrap_label(
            "Geen ongecontroleerde monitoring van medewerkers en burgers",
            40,
        );
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.chars().count() <= 40));
    }
}

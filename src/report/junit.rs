//! JUnit XML for CI test views: one test suite per control area, one test case per policy
//! (classname = control ID). `fail`, `evidence-missing` and `evidence-expired` are failures,
//! `error` is an error, `waived` and `not-applicable` are skipped. A test case lists at most
//! `max_items` of its finding's items (`--max-items`), then how many more there are: a CI view
//! shows the message whole, and 25 000 accounts in it would bury the other findings.

use super::{id_area, more_items, names_of, shown_items};
use crate::findings::{Finding, Lang, Report, Verdict};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;

fn status_of(finding: &Finding, lang: Lang, max_items: usize) -> TestCaseStatus {
    let mut status = match finding.verdict {
        Verdict::Pass => return TestCaseStatus::success(),
        Verdict::Waived | Verdict::NotApplicable => TestCaseStatus::skipped(),
        Verdict::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
        Verdict::Fail | Verdict::EvidenceMissing | Verdict::EvidenceExpired => {
            TestCaseStatus::non_success(NonSuccessKind::Failure)
        }
    };
    let (shown, left_out) = shown_items(finding, max_items);
    let mut description = format!("{}\n", finding.reason);
    for item in shown {
        let name = item.label.as_deref().unwrap_or(&item.path);
        description.push_str(&format!("- {name}: {}\n", item.detail));
    }
    if left_out > 0 {
        description.push_str(&format!("- {}\n", more_items(left_out, lang)));
    }
    if !finding.verdict.is_compliant() {
        description.push_str(&format!(
            "{}: {}\n",
            match lang {
                Lang::Nl => "Oplossing",
                Lang::En => "Remediation",
            },
            finding.remediation.get(lang)
        ));
    }
    let mut names = names_of(shown);
    let more = more_items(left_out, lang);
    if left_out > 0 {
        names.push(&more);
    }
    let message = if names.is_empty() {
        finding.reason.clone()
    } else {
        format!("{} [{}]", finding.reason, names.join(", "))
    };
    status
        .set_message(message)
        .set_type(finding.verdict.as_str())
        .set_description(description);
    status
}

fn test_case(finding: &Finding, lang: Lang, max_items: usize) -> TestCase {
    let name = format!("{}: {}", finding.policy, finding.title.get(lang));
    let mut case = TestCase::new(name, status_of(finding, lang, max_items));
    case.set_classname(finding.control.clone());
    case.add_properties([
        Property::new("verdict", finding.verdict.as_str()),
        Property::new("severity", finding.severity.as_str()),
        Property::new("guideline", finding.guideline.clone()),
    ]);
    case
}

pub fn render_junit(report: &Report, lang: Lang, max_items: usize) -> String {
    let mut suites: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        suites
            .entry(id_area(&finding.control))
            .or_default()
            .push(finding);
    }
    let mut junit = quick_junit::Report::new(format!("cloudkeur {}", super::tenant_label(report)));
    for (area, findings) in suites {
        let mut suite = TestSuite::new(format!("VTC-{area}"));
        suite.add_properties([
            Property::new("tenant", report.scan.tenant.clone()),
            Property::new("collected_at", report.scan.collected_at.clone()),
            Property::new("snapshot_sha256", report.scan.snapshot_sha256.clone()),
        ]);
        suite.add_test_cases(findings.into_iter().map(|f| test_case(f, lang, max_items)));
        junit.add_test_suite(suite);
    }
    // Serialising to memory fails only on invalid XML names, and every name here is fixed text.
    junit.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_case_lists_the_first_items_and_counts_the_rest() {
        let report = super::super::many_items_report(25_000);
        let xml = render_junit(&report, Lang::En, 50);
        // Each shown item is named in the message and again in the description.
        assert_eq!(xml.matches("account-49@").count(), 2);
        assert!(!xml.contains("account-50@"));
        assert_eq!(
            xml.matches("and 24950 more, all listed in the JSON and CSV reports")
                .count(),
            2,
            "in the message and the description"
        );
        assert!(xml.len() < 100_000, "{} bytes", xml.len());
        let nl = render_junit(&report, Lang::Nl, 1);
        assert!(nl.contains("en nog 24999, allemaal opgesomd"), "{nl}");
    }

    #[test]
    fn a_test_case_within_the_limit_lists_every_item() {
        let xml = render_junit(&super::super::many_items_report(2), Lang::En, 2);
        assert_eq!(xml.matches("account-1@").count(), 2);
        assert!(!xml.contains("more, all listed"), "{xml}");
    }
}

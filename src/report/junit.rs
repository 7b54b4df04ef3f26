//! JUnit XML for CI test views: one test suite per control area, one test case per policy
//! (classname = control ID). `fail`, `evidence-missing` and `evidence-expired` are failures,
//! `error` is an error, `waived` and `not-applicable` are skipped.

use super::{id_area, item_names};
use crate::findings::{Finding, Lang, Report, Verdict};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;

fn status_of(finding: &Finding, lang: Lang) -> TestCaseStatus {
    let mut status = match finding.verdict {
        Verdict::Pass => return TestCaseStatus::success(),
        Verdict::Waived | Verdict::NotApplicable => TestCaseStatus::skipped(),
        Verdict::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
        Verdict::Fail | Verdict::EvidenceMissing | Verdict::EvidenceExpired => {
            TestCaseStatus::non_success(NonSuccessKind::Failure)
        }
    };
    let mut description = format!("{}\n", finding.reason);
    for item in &finding.items {
        let name = item.label.as_deref().unwrap_or(&item.path);
        description.push_str(&format!("- {name}: {}\n", item.detail));
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
    let names = item_names(finding);
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

fn test_case(finding: &Finding, lang: Lang) -> TestCase {
    let name = format!("{}: {}", finding.policy, finding.title.get(lang));
    let mut case = TestCase::new(name, status_of(finding, lang));
    case.set_classname(finding.control.clone());
    case.add_properties([
        Property::new("verdict", finding.verdict.as_str()),
        Property::new("severity", finding.severity.as_str()),
        Property::new("guideline", finding.guideline.clone()),
    ]);
    case
}

pub fn render_junit(report: &Report, lang: Lang) -> String {
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
        suite.add_test_cases(findings.into_iter().map(|f| test_case(f, lang)));
        junit.add_test_suite(suite);
    }
    // Serialising to memory fails only on invalid XML names, and every name here is fixed text.
    junit.to_string().unwrap_or_default()
}

//! SARIF 2.1.0 for code-scanning dashboards: one rule per policy, one result per non-compliant
//! finding, located logically at tenant/resource (a tenant setting has no file and line).

use super::{finding_uid, item_names, tenant_label};
use crate::catalog::Catalog;
use crate::findings::{Finding, Lang, Report, Severity};
use serde_json::{Value, json};
use serde_sarif::sarif;
use std::collections::BTreeMap;

const SARIF_SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The base of artifact URIs: the snapshot directory the scan read.
const SNAPSHOT_BASE: &str = "SNAPSHOTROOT";

/// SARIF levels: critical/high → error, medium → warning, low → note.
fn level_of(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low => sarif::ResultLevel::Note,
    }
}

/// The numeric `security-severity` GitHub code scanning sorts and labels by (CVSS-like bands).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn property_bag(tags: Vec<String>, properties: BTreeMap<String, Value>) -> sarif::PropertyBag {
    sarif::PropertyBag::builder()
        .tags(tags)
        .additional_properties(properties)
        .build()
}

fn rule(
    finding: &Finding,
    catalog: &Catalog,
    vendor: crate::vendor::Vendor,
    lang: Lang,
) -> sarif::ReportingDescriptor {
    let control = catalog.get(&finding.control);
    let requirement = control.map_or_else(
        || finding.title.get(lang).to_owned(),
        |c| c.requirement_for(vendor).get(lang).to_owned(),
    );
    let area = super::area_of(catalog, &finding.control);
    let mut tags = vec![
        "compliance".to_owned(),
        "VTC".to_owned(),
        format!("VTC-{area}"),
        finding.control.clone(),
    ];
    tags.extend(finding.gdpr.iter().map(|article| format!("GDPR-{article}")));
    let properties = BTreeMap::from([
        ("control".to_owned(), json!(finding.control)),
        ("severity".to_owned(), json!(finding.severity.as_str())),
        (
            "security-severity".to_owned(),
            json!(security_severity(finding.severity)),
        ),
        ("guideline".to_owned(), json!(finding.guideline)),
        ("gdpr".to_owned(), json!(finding.gdpr)),
    ]);
    let help = format!(
        "{}\n\n{}: {}",
        requirement,
        match lang {
            Lang::Nl => "Oplossing",
            Lang::En => "Remediation",
        },
        finding.remediation.get(lang)
    );
    sarif::ReportingDescriptor::builder()
        .id(finding.policy.clone())
        .name(finding.control.clone())
        .short_description(&finding.title.get(lang).to_owned())
        .full_description(&requirement)
        .help(&help)
        .properties(property_bag(tags, properties))
        .build()
}

fn result(report: &Report, finding: &Finding, rule_index: usize, tenant: &str) -> sarif::Result {
    // The tenant first (evidence controls read no resource), then each resource read.
    let mut logical_locations = vec![
        sarif::LogicalLocation::builder()
            .name(tenant.to_owned())
            .fully_qualified_name(report.scan.tenant.clone())
            .build(),
    ];
    logical_locations.extend(finding.resources.iter().map(|resource| {
        sarif::LogicalLocation::builder()
            .name(resource.clone())
            .fully_qualified_name(format!("{}/{resource}", report.scan.tenant))
            .kind("resource".to_owned())
            .build()
    }));
    let location_text = if finding.resources.is_empty() {
        tenant.to_owned()
    } else {
        format!("{tenant}: {}", finding.resources.join(", "))
    };
    // GitHub code scanning rejects a result without an artifact URI, so the location also names
    // the snapshot file the verdict was read from (the manifest for evidence controls),
    // relative to the snapshot directory.
    let artifact = finding
        .resources
        .first()
        .map_or_else(|| "manifest.json".to_owned(), |r| format!("{r}.json"));
    let physical = sarif::PhysicalLocation::builder()
        .artifact_location(
            sarif::ArtifactLocation::builder()
                .uri(artifact)
                .uri_base_id(SNAPSHOT_BASE.to_owned())
                .build(),
        )
        .build();
    let location = sarif::Location::builder()
        .physical_location(physical)
        .logical_locations(logical_locations)
        .message(&location_text)
        .build();
    let items: Vec<Value> = finding
        .items
        .iter()
        .map(|item| json!({"path": item.path, "label": item.label, "detail": item.detail}))
        .collect();
    let mut message = finding.reason.clone();
    let names = item_names(finding);
    if !names.is_empty() {
        message.push_str(&format!(" [{}]", names.join(", ")));
    }
    let properties = BTreeMap::from([
        ("verdict".to_owned(), json!(finding.verdict.as_str())),
        ("control".to_owned(), json!(finding.control)),
        ("tenant".to_owned(), json!(report.scan.tenant)),
        ("items".to_owned(), Value::Array(items)),
    ]);
    sarif::Result::builder()
        .rule_id(finding.policy.clone())
        .rule_index(i64::try_from(rule_index).unwrap_or(i64::MAX))
        .level(level_of(finding.severity))
        .kind(sarif::ResultKind::Fail)
        .message(&message)
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(
            "cloudkeurFinding/v1".to_owned(),
            finding_uid(report, finding),
        )]))
        .properties(property_bag(Vec::new(), properties))
        .build()
}

pub fn render_sarif(report: &Report, catalog: &Catalog, lang: Lang) -> String {
    let tenant = tenant_label(report);
    let rules: Vec<sarif::ReportingDescriptor> = report
        .findings
        .iter()
        .map(|finding| rule(finding, catalog, report.scan.vendor, lang))
        .collect();
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .enumerate()
        .filter(|(_, finding)| !finding.verdict.is_compliant())
        .map(|(index, finding)| result(report, finding, index, &tenant))
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .rules(rules)
        .build();
    let scan = &report.scan;
    let run_properties = BTreeMap::from([
        ("tenant".to_owned(), json!(scan.tenant)),
        ("tenantName".to_owned(), json!(scan.tenant_name)),
        ("source".to_owned(), json!(scan.source)),
        ("collectedAt".to_owned(), json!(scan.collected_at)),
        ("snapshotSha256".to_owned(), json!(scan.snapshot_sha256)),
    ]);
    let run = sarif::Run::builder()
        .tool(sarif::Tool::from(driver))
        .results(results)
        .automation_details(
            sarif::RunAutomationDetails::builder()
                .id(format!("cloudkeur/{}/", scan.tenant))
                .build(),
        )
        .properties(property_bag(Vec::new(), run_properties))
        .build();
    let log = sarif::Sarif::builder()
        .schema(SARIF_SCHEMA_URI.to_owned())
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    // Plain data with string keys: serialising cannot fail.
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

//! Two vendors in one pack: a snapshot names its vendor, a policy says which vendors it judges,
//! a scan runs only the snapshot vendor's policies, and every control is covered for every
//! vendor — by a policy or by an explicit `not_applicable` with its reason.

use crate::support::{SnapshotDir, cloudkeur, finding};
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::vendor::Vendor;
use serde_json::json;

const MICROSOFT: &str = "\
policy: tel-01-test
control: VTC-TEL-01
title: {nl: Namen verborgen, en: Names concealed}
severity: medium
rule:
  resource: report_settings
  path: $.displayConcealedNames
  equals: true
remediation: {nl: Zet aan., en: Turn it on.}
examples:
  - {name: ok, expect: pass, resources: {report_settings: {displayConcealedNames: true}}}
  - {name: bad, expect: fail, resources: {report_settings: {displayConcealedNames: false}}}
";

const NOT_APPLICABLE: &str = "\
policy: shr-03-test-google
control: VTC-SHR-03
vendors: [google]
title: {nl: Geen zelfregistratie, en: No self-service sign-up}
severity: high
not_applicable: Google Workspace has no self-service sign-up into a customer.
";

fn pack(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

/// The one-line error `policy test` gives for a pack of these files.
fn error_for(files: &[(&str, &str)]) -> String {
    let dir = pack(files);
    let output = cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("; fix: "), "{stderr}");
    stderr
}

#[test]
fn a_policy_without_vendors_is_microsofts_and_a_wrong_vendor_is_refused() {
    let pack = PolicyPack::load(&PackSource::Dir(pack(&[("p.yaml", MICROSOFT)]).keep())).unwrap();
    assert_eq!(pack.policies[0].vendors, [Vendor::Microsoft]);
    // A Graph read cannot judge a Google customer.
    let stderr = error_for(&[(
        "p.yaml",
        &MICROSOFT.replace(
            "severity: medium\n",
            "severity: medium\nvendors: [google]\n",
        ),
    )]);
    assert!(
        stderr.contains("p.yaml:5:10: the rule reads report_settings, a Microsoft 365 resource, but the policy is for google too"),
        "{stderr}"
    );
    let stderr = error_for(&[(
        "p.yaml",
        &MICROSOFT.replace(
            "severity: medium\n",
            "severity: medium\nvendors: [microsoft, microsoft]\n",
        ),
    )]);
    assert!(stderr.contains("must name each suite once"), "{stderr}");
    let stderr = error_for(&[(
        "p.yaml",
        &MICROSOFT.replace(
            "severity: medium\n",
            "severity: medium\nvendors: [oracle]\n",
        ),
    )]);
    assert!(stderr.contains("oracle"), "{stderr}");
}

#[test]
fn a_not_applicable_policy_judges_nothing_and_says_why() {
    let stderr = error_for(&[(
        "p.yaml",
        &format!("{NOT_APPLICABLE}rule: {{resource: report_settings, path: $.x, equals: 1}}\n"),
    )]);
    assert!(
        stderr.contains("takes no rule, evidence or examples"),
        "{stderr}"
    );
    let stderr = error_for(&[(
        "p.yaml",
        &NOT_APPLICABLE.replace(
            "Google Workspace has no self-service sign-up into a customer.",
            "\"  \"",
        ),
    )]);
    assert!(stderr.contains("needs its reason"), "{stderr}");
    // A policy that judges something still needs its remediation.
    let stderr = error_for(&[(
        "p.yaml",
        &MICROSOFT.replace("remediation: {nl: Zet aan., en: Turn it on.}\n", ""),
    )]);
    assert!(stderr.contains("needs a `remediation`"), "{stderr}");
    // `policy test` accepts it without examples.
    let dir = pack(&[("p.yaml", MICROSOFT), ("na.yaml", NOT_APPLICABLE)]);
    cloudkeur()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn a_scan_runs_only_the_snapshot_vendors_policies() {
    let policies = pack(&[("p.yaml", MICROSOFT), ("na.yaml", NOT_APPLICABLE)]);
    let scan = |snapshot: &SnapshotDir| {
        let output = cloudkeur()
            .args(["scan", "--format", "json", "--offline"])
            .arg(snapshot.path())
            .arg("--policies")
            .arg(policies.path())
            .output()
            .expect("runs");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        (output.status.code(), report)
    };
    // A snapshot without `vendor` is Microsoft's, as snapshots were before there were two.
    let microsoft = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": true}))
        .write();
    let (code, report) = scan(&microsoft);
    assert_eq!(code, Some(0));
    assert_eq!(report["scan"]["vendor"], "microsoft");
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
    assert_eq!(finding(&report, "tel-01-test")["verdict"], "pass");
    // The same directory naming Google runs the Google policies only.
    let google = SnapshotDir::new()
        .ok("report_settings", json!({"displayConcealedNames": true}))
        .write();
    let manifest = google.path().join("manifest.json");
    let mut text: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    text["vendor"] = json!("google");
    std::fs::write(&manifest, serde_json::to_vec(&text).unwrap()).unwrap();
    let (code, report) = scan(&google);
    assert_eq!(code, Some(0), "not-applicable is compliant");
    assert_eq!(report["scan"]["vendor"], "google");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    let na = finding(&report, "shr-03-test-google");
    assert_eq!(na["verdict"], "not-applicable");
    assert!(
        na["reason"].as_str().unwrap().starts_with(
            "not applicable to Google Workspace: Google Workspace has no self-service"
        )
    );
    // An unknown vendor in a manifest is bad input: exit 2, one line.
    text["vendor"] = json!("oracle");
    std::fs::write(&manifest, serde_json::to_vec(&text).unwrap()).unwrap();
    let output = cloudkeur()
        .args(["scan", "--offline"])
        .arg(google.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("oracle"));
}
#[test]
fn every_control_has_for_every_vendor_a_policy_or_a_reason_it_does_not_apply() {
    let pack = PolicyPack::load(&PackSource::BuiltIn).unwrap();
    let mut gaps = Vec::new();
    for vendor in Vendor::ALL {
        for control in pack.catalog.controls() {
            if !pack
                .policies
                .iter()
                .any(|p| p.control == control.id && p.is_for(vendor))
            {
                gaps.push(format!("{} for {vendor}", control.id));
            }
        }
    }
    assert!(gaps.is_empty(), "controls silently absent: {gaps:?}");
}

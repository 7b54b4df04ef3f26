//! "Measured, else declared" (issue 12): a `measured:` rule decides whenever its resources were
//! read; a `declared:` rule stands in only for resources the scan could not have for good
//! (refused with 401/403, not selected, not in an old snapshot), never for a failed or partial
//! read, and never passes on nothing. Also the language pieces the measured controls need:
//! `number`, `ends_with`, `{concat: …}`, `of:`, and `not_older_than` in days from the collection.

use crate::support::{SnapshotDir, cloudkeur};
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::{PackSource, PolicyPack, evaluate_policy};
use cloudkeur::registry::ResourceKind;
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Snapshot, SnapshotMeta};
use serde_json::{Value, json};

const TODAY: time::Date = time::macros::date!(2026 - 06 - 01);

/// A pack whose only policy (control VTC-TEL-01) has `evidence` and `rule` as given.
fn pack(evidence: &str, rule: &str) -> PolicyPack {
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "policy: p\ncontrol: VTC-TEL-01\ntitle: {{nl: t, en: t}}\nseverity: medium\n{evidence}rule:\n{rule}\nremediation: {{nl: r, en: r}}\n"
    );
    std::fs::write(dir.path().join("p.yaml"), text).expect("write");
    PolicyPack::load(&PackSource::Dir(dir.path().to_owned())).expect("the policy loads")
}

const OPTIONAL: &str = "evidence: {optional: true, values: [concealed]}\n";

/// Measured on report_settings, declared as values.concealed.
const FALLBACK: &str = "  measured:
    resource: report_settings
    path: $.displayConcealedNames
    equals: true
  declared:
    resource: evidence
    path: $.values.concealed
    equals: true";

enum State {
    Read(Value),
    /// Refused or not read: a declaration may stand in.
    Unavailable,
    /// The read failed (5xx, bad body): it may not.
    Failed,
    /// Not in the snapshot at all (an old snapshot).
    Absent,
}

fn snapshot(resources: &[(&str, State)]) -> Snapshot {
    let mut snapshot = Snapshot::new(SnapshotMeta {
        tenant_id: "t".into(),
        tenant_name: None,
        source: "test".into(),
        collected_at: "2026-05-30T06:00:00Z".into(),
        manifest_sha256: String::new(),
    });
    for (name, state) in resources {
        match state {
            State::Read(body) => {
                let kind = if body.get("value").is_some_and(Value::is_array)
                    || body.as_object().is_some_and(|m| {
                        m.values().all(|v| v.get("value").is_some()) && !m.is_empty()
                    }) {
                    ResourceKind::Collection
                } else {
                    ResourceKind::Object
                };
                snapshot.insert_read(*name, kind, body.clone());
            }
            State::Unavailable => snapshot.insert_unavailable(
                *name,
                format!("{name} could not be read: HTTP 403: Forbidden"),
            ),
            State::Failed => snapshot.insert_unreadable(
                *name,
                format!("{name} could not be read: HTTP 503: Service Unavailable"),
            ),
            State::Absent => {}
        }
    }
    snapshot
}

fn declaration(concealed: Value, valid_until: &str) -> Evidence {
    Evidence::from_declarations(
        [(
            "VTC-TEL-01".to_owned(),
            json!({"statement": "Names are concealed.", "declared_by": "Diensthoofd ICT",
                   "declared_on": "2026-01-05", "valid_until": valid_until,
                   "document": "Screenshot 2026-01-05", "values": {"concealed": concealed}, "files": {}}),
        )]
        .into_iter()
        .collect(),
    )
}

fn judge(pack: &PolicyPack, snapshot: &Snapshot, evidence: &Evidence) -> Finding {
    judge_with(pack, snapshot, evidence, &Settings::default())
}

fn judge_with(
    pack: &PolicyPack,
    snapshot: &Snapshot,
    evidence: &Evidence,
    settings: &Settings,
) -> Finding {
    evaluate_policy(
        &pack.policies[0],
        snapshot,
        &settings.to_document(),
        evidence,
        TODAY,
    )
}

fn concealed(value: bool) -> State {
    State::Read(json!({"displayConcealedNames": value}))
}

#[test]
fn the_measurement_decides_whenever_it_was_read() {
    let pack = pack(OPTIONAL, FALLBACK);
    let valid = declaration(json!(true), "2027-01-05");
    // Measured non-compliant: a declaration saying otherwise does not overrule it.
    let finding = judge(
        &pack,
        &snapshot(&[("report_settings", concealed(false))]),
        &valid,
    );
    assert_eq!(finding.verdict, Verdict::Fail, "{}", finding.reason);
    assert!(
        !finding.reason.contains("declared by"),
        "{}",
        finding.reason
    );
    // Measured compliant: no declaration needed, and an expired one is not needed either.
    let none = Evidence::default();
    let read = snapshot(&[("report_settings", concealed(true))]);
    assert_eq!(judge(&pack, &read, &none).verdict, Verdict::Pass);
    let expired = declaration(json!(true), "2026-03-01");
    let finding = judge(&pack, &read, &expired);
    assert_eq!(finding.verdict, Verdict::Pass, "{}", finding.reason);
    assert!(
        finding.reason.contains("it was not needed here"),
        "{}",
        finding.reason
    );
}

#[test]
fn the_declaration_stands_in_when_the_resource_is_unavailable_or_not_in_the_snapshot() {
    let pack = pack(OPTIONAL, FALLBACK);
    for state in [State::Unavailable, State::Absent] {
        let snapshot = snapshot(&[("report_settings", state)]);
        let finding = judge(&pack, &snapshot, &declaration(json!(true), "2027-01-05"));
        assert_eq!(finding.verdict, Verdict::Pass, "{}", finding.reason);
        for said in [
            "Microsoft Graph could not be read (report_settings: ",
            "judged on the declaration",
            "declared by Diensthoofd ICT on 2026-01-05",
        ] {
            assert!(finding.reason.contains(said), "{said}: {}", finding.reason);
        }
        // The declaration is judged like any value: a declared non-compliance fails.
        let finding = judge(&pack, &snapshot, &declaration(json!(false), "2027-01-05"));
        assert_eq!(finding.verdict, Verdict::Fail, "{}", finding.reason);
        // Never a pass on nothing: no declaration, or an expired one.
        let finding = judge(&pack, &snapshot, &Evidence::default());
        assert_eq!(
            finding.verdict,
            Verdict::EvidenceMissing,
            "{}",
            finding.reason
        );
        assert!(
            finding.reason.contains("could not be read")
                && finding.reason.contains("values.concealed"),
            "{}",
            finding.reason
        );
        let finding = judge(&pack, &snapshot, &declaration(json!(true), "2026-03-01"));
        assert_eq!(
            finding.verdict,
            Verdict::EvidenceExpired,
            "{}",
            finding.reason
        );
    }
}

#[test]
fn a_failed_read_is_an_error_not_a_declaration() {
    let pack = pack(OPTIONAL, FALLBACK);
    let snapshot = snapshot(&[("report_settings", State::Failed)]);
    let finding = judge(&pack, &snapshot, &declaration(json!(true), "2027-01-05"));
    assert_eq!(finding.verdict, Verdict::Error, "{}", finding.reason);
    assert!(finding.reason.contains("HTTP 503"), "{}", finding.reason);
}

#[test]
fn a_partial_read_is_decided_by_what_was_read_or_is_an_error() {
    let rule = "  measured:
    all_of:
      - resource: report_settings
        path: $.displayConcealedNames
        equals: true
      - resource: item_insights
        path: $.isEnabledInOrganization
        equals: false
  declared:
    resource: evidence
    path: $.values.concealed
    equals: true";
    let pack = pack(OPTIONAL, rule);
    let valid = declaration(json!(true), "2027-01-05");
    // One of two resources refused: the declaration does not stand in for half a measurement.
    let half = snapshot(&[
        ("report_settings", concealed(true)),
        ("item_insights", State::Unavailable),
    ]);
    let finding = judge(&pack, &half, &valid);
    assert_eq!(finding.verdict, Verdict::Error, "{}", finding.reason);
    assert!(
        finding
            .reason
            .contains("does not stand in for part of a measurement"),
        "{}",
        finding.reason
    );
    // What was read already fails it: that stands.
    let failing_half = snapshot(&[
        ("report_settings", concealed(false)),
        ("item_insights", State::Unavailable),
    ]);
    assert_eq!(judge(&pack, &failing_half, &valid).verdict, Verdict::Fail);
    // Neither could be had: the declaration.
    let neither = snapshot(&[
        ("report_settings", State::Unavailable),
        ("item_insights", State::Absent),
    ]);
    assert_eq!(judge(&pack, &neither, &valid).verdict, Verdict::Pass);
}

#[test]
fn a_resource_the_declared_rule_reads_too_stays_measured() {
    // The declaration stands in for report_settings only; item_insights is read on both sides.
    let rule = "  measured:
    all_of:
      - resource: report_settings
        path: $.displayConcealedNames
        equals: true
      - resource: item_insights
        path: $.isEnabledInOrganization
        equals: false
  declared:
    all_of:
      - resource: evidence
        path: $.values.concealed
        equals: true
      - resource: item_insights
        path: $.isEnabledInOrganization
        equals: false";
    let pack = pack(OPTIONAL, rule);
    let valid = declaration(json!(true), "2027-01-05");
    let insights = |on: bool| State::Read(json!({"isEnabledInOrganization": on}));
    let standing_in = snapshot(&[
        ("report_settings", State::Unavailable),
        ("item_insights", insights(false)),
    ]);
    assert_eq!(judge(&pack, &standing_in, &valid).verdict, Verdict::Pass);
    let measured_fail = snapshot(&[
        ("report_settings", State::Unavailable),
        ("item_insights", insights(true)),
    ]);
    assert_eq!(judge(&pack, &measured_fail, &valid).verdict, Verdict::Fail);
}

#[test]
fn an_absent_declaration_may_read_as_nothing_only_where_nothing_fails() {
    // An alternative that exists only as a declaration: without one it does not hold (fail), an
    // expired one is evidence-expired, a current one decides.
    let rule = "  any_of:
    - resource: report_settings
      path: $.displayConcealedNames
      equals: true
    - resource: evidence
      path: $.values.concealed
      absent: ok
      equals: true";
    let pack = pack(OPTIONAL, rule);
    let off = snapshot(&[("report_settings", concealed(false))]);
    assert_eq!(
        judge(&pack, &off, &Evidence::default()).verdict,
        Verdict::Fail
    );
    assert_eq!(
        judge(&pack, &off, &declaration(json!(true), "2026-03-01")).verdict,
        Verdict::EvidenceExpired
    );
    assert_eq!(
        judge(&pack, &off, &declaration(json!(true), "2027-01-05")).verdict,
        Verdict::Pass
    );
}

#[test]
fn items_that_need_an_absent_declaration_make_the_verdict_evidence_missing() {
    // Each item compared with a declared value: without the declaration, every item is
    // undecided for want of it, so the verdict says what is missing rather than "error".
    let rule = "  resource: directory_role_assignments
  path: $.value[*]
  any:
    path: $.principalId
    equals: {evidence: $.values.concealed}";
    let pack = pack(OPTIONAL, rule);
    let snapshot = snapshot(&[(
        "directory_role_assignments",
        State::Read(json!({"value": [{"principalId": "a"}, {"principalId": "b"}]})),
    )]);
    let finding = judge(&pack, &snapshot, &Evidence::default());
    assert_eq!(
        finding.verdict,
        Verdict::EvidenceMissing,
        "{}",
        finding.reason
    );
    let finding = judge(&pack, &snapshot, &declaration(json!("b"), "2027-01-05"));
    assert_eq!(finding.verdict, Verdict::Pass, "{}", finding.reason);
}

/// Writes one policy file and returns the one-line load error of `policy test`.
fn load_error(evidence: &str, rule: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "policy: p\ncontrol: VTC-TEL-01\ntitle: {{nl: t, en: t}}\nseverity: medium\n{evidence}rule:\n{rule}\nremediation: {{nl: r, en: r}}\n"
    );
    std::fs::write(dir.path().join("p.yaml"), text).expect("write");
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
fn a_fallback_that_could_pass_on_nothing_or_overrule_a_measurement_is_refused() {
    let cases = [
        // The declaration must be needed only when it stands in.
        (
            "evidence: {values: [concealed]}\n",
            FALLBACK,
            "add `optional: true`",
        ),
        // The measurement judges the tenant's data only.
        (
            OPTIONAL,
            "  measured:
    resource: report_settings
    path: $.displayConcealedNames
    equals: {evidence: $.values.concealed}
  declared:
    resource: evidence
    path: $.values.concealed
    equals: true",
            "the `measured:` rule reads the declaration",
        ),
        // The declared rule must judge the declaration.
        (
            OPTIONAL,
            "  measured:
    resource: report_settings
    path: $.displayConcealedNames
    equals: true
  declared:
    resource: item_insights
    path: $.isEnabledInOrganization
    equals: false",
            "does not read the declaration",
        ),
        // Something for the declaration to stand in for.
        (
            OPTIONAL,
            "  measured:
    resource: report_settings
    path: $.displayConcealedNames
    equals: true
  declared:
    all_of:
      - resource: evidence
        path: $.values.concealed
        equals: true
      - resource: report_settings
        path: $.displayConcealedNames
        equals: true",
            "stands in for nothing",
        ),
        (
            OPTIONAL,
            "  measured:
    resource: report_settings
    path: $.displayConcealedNames
    equals: true",
            "`measured` and `declared` go together",
        ),
        ("", FALLBACK, "without an `evidence:` block"),
        // A missing declaration read as nothing must not pass.
        (
            OPTIONAL,
            "  resource: evidence
  path: $.values.exceptions[*]
  absent: ok
  exists: false",
            "passes on nothing",
        ),
    ];
    for (evidence, rule, message) in cases {
        let stderr = load_error(evidence, rule);
        assert!(stderr.contains(message), "{message}: {stderr}");
    }
}

#[test]
fn numbers_may_be_sent_as_text_but_unlimited_is_not_a_number() {
    let rule = "  resource: report_settings
  path: $.days
  number: {min: 1, max: {setting: $.retention_max_days}}";
    let pack = pack("", rule);
    let none = Evidence::default();
    for (days, verdict) in [
        (json!(3650), Verdict::Pass),
        (json!("2555"), Verdict::Pass),
        (json!(3651), Verdict::Fail),
        (json!("Unlimited"), Verdict::Fail),
        (json!(0), Verdict::Fail),
    ] {
        let snapshot = snapshot(&[("report_settings", State::Read(json!({"days": days})))]);
        assert_eq!(judge(&pack, &snapshot, &none).verdict, verdict, "{days}");
    }
    let absent = snapshot(&[("report_settings", State::Read(json!({"other": 1})))]);
    assert_eq!(judge(&pack, &absent, &none).verdict, Verdict::Error);
    let settings = Settings {
        retention_max_days: 4000,
        ..Settings::default()
    };
    let snapshot = snapshot(&[("report_settings", State::Read(json!({"days": 3651})))]);
    assert_eq!(
        judge_with(&pack, &snapshot, &none, &settings).verdict,
        Verdict::Pass
    );
}

#[test]
fn ends_with_a_text_joined_from_parts() {
    let rule = "  resource: settings
  path: $.privileged_roles[0]
  as: role
  all:
    resource: report_settings
    path: $.query
    ends_with: {concat: [\"/roleDefinitions/\", {var: role}]}";
    let pack = pack("", rule);
    let none = Evidence::default();
    let role = Settings::default().privileged_roles[0].clone();
    let with =
        |query: String| snapshot(&[("report_settings", State::Read(json!({"query": query})))]);
    let exact = with(format!(
        "/beta/roleManagement/directory/roleDefinitions/{role}"
    ));
    assert_eq!(judge(&pack, &exact, &none).verdict, Verdict::Pass);
    let other = with("/beta/roleManagement/directory/roleDefinitions/fe930be7".to_owned());
    assert_eq!(judge(&pack, &other, &none).verdict, Verdict::Fail);
    let filtered = with(format!(
        "/roleManagement/directory/roleDefinitions/{role}?$filter=x"
    ));
    assert_eq!(judge(&pack, &filtered, &none).verdict, Verdict::Fail);
    let not_text = snapshot(&[("report_settings", State::Read(json!({"query": 3})))]);
    assert_eq!(judge(&pack, &not_text, &none).verdict, Verdict::Fail);
}

#[test]
fn of_reads_one_parents_collection_of_a_fan_out() {
    let rule = "  resource: directory_role_assignments
  path: $.value[*]
  as: assignment
  all:
    resource: group_transitive_members
    of: {var: assignment, path: $.principalId}
    path: $.value[*]
    count: {min: 1}";
    let pack = pack("", rule);
    let none = Evidence::default();
    let assignments = State::Read(json!({"value": [{"principalId": "g1"}]}));
    let members = |body: Value| State::Read(body);
    let read = snapshot(&[
        ("directory_role_assignments", assignments),
        (
            "group_transitive_members",
            members(json!({"g1": {"value": [{"id": "u1"}]}, "g2": {"value": []}})),
        ),
    ]);
    assert_eq!(judge(&pack, &read, &none).verdict, Verdict::Pass);
    let empty = snapshot(&[
        (
            "directory_role_assignments",
            State::Read(json!({"value": [{"principalId": "g2"}]})),
        ),
        (
            "group_transitive_members",
            members(json!({"g1": {"value": [{"id": "u1"}]}, "g2": {"value": []}})),
        ),
    ]);
    assert_eq!(judge(&pack, &empty, &none).verdict, Verdict::Fail);
    // A parent whose collection was not read: unknown, not empty.
    let missing = snapshot(&[
        (
            "directory_role_assignments",
            State::Read(json!({"value": [{"principalId": "g3"}]})),
        ),
        (
            "group_transitive_members",
            members(json!({"g1": {"value": [{"id": "u1"}]}})),
        ),
    ]);
    let finding = judge(&pack, &missing, &none);
    assert_eq!(finding.verdict, Verdict::Error, "{}", finding.reason);
    assert!(
        finding.reason.contains("was not read for g3"),
        "{}",
        finding.reason
    );
}

#[test]
fn days_are_counted_from_the_collection_when_asked() {
    let rule = "  resource: report_settings
  path: $.lastSignInDateTime
  not_older_than: {days: 2, from: collection}";
    let pack = pack("", rule);
    let none = Evidence::default();
    // Collected 2026-05-30, scanned (TODAY) 2026-06-01.
    let at = |when: &str| {
        snapshot(&[(
            "report_settings",
            State::Read(json!({"lastSignInDateTime": when})),
        )])
    };
    assert_eq!(
        judge(&pack, &at("2026-05-28T23:00:00Z"), &none).verdict,
        Verdict::Pass
    );
    assert_eq!(
        judge(&pack, &at("2026-05-27T23:00:00Z"), &none).verdict,
        Verdict::Fail
    );
    // Later than the data could show: not a plausible sign-in.
    assert_eq!(
        judge(&pack, &at("2026-05-31T01:00:00Z"), &none).verdict,
        Verdict::Fail
    );
    // From the scan date, the same sign-in two days before the collection is too old.
    let from_scan = pack_from_scan();
    assert_eq!(
        judge(&from_scan, &at("2026-05-28T23:00:00Z"), &none).verdict,
        Verdict::Fail
    );
}

fn pack_from_scan() -> PolicyPack {
    pack(
        "",
        "  resource: report_settings
  path: $.lastSignInDateTime
  not_older_than: {days: 2}",
    )
}

/// End to end: how a snapshot's manifest records a read decides whether a declaration may
/// stand in. Refused (403) and not needed: yes; a server error: no.
#[test]
fn the_manifest_tells_a_refused_read_from_a_failed_one() {
    let policies = tempfile::tempdir().expect("dir");
    std::fs::write(
        policies.path().join("p.yaml"),
        format!(
            "policy: p\ncontrol: VTC-TEL-01\ntitle: {{nl: t, en: t}}\nseverity: medium\n{OPTIONAL}rule:\n{FALLBACK}\nremediation: {{nl: r, en: r}}\n"
        ),
    )
    .expect("write");
    // Beside the pack, not in it: every YAML file of a pack is a policy.
    let inputs = tempfile::tempdir().expect("dir");
    let evidence = inputs.path().join("evidence.yaml");
    std::fs::write(
        &evidence,
        "declarations:\n  - control: VTC-TEL-01\n    statement: Names are concealed.\n    declared_by: Diensthoofd ICT\n    declared_on: 2026-01-05\n    valid_until: 2099-01-05\n    document: Screenshot\n    values: {concealed: true}\n",
    )
    .expect("write");
    for (entry, verdict) in [
        (
            json!({"status": "error", "http_status": 403, "error": "Forbidden"}),
            "pass",
        ),
        (
            json!({"status": "not_needed", "note": "not selected with --services"}),
            "pass",
        ),
        (
            json!({"status": "error", "http_status": 503, "error": "Service Unavailable"}),
            "error",
        ),
        (json!({"status": "error", "error": "timed out"}), "error"),
    ] {
        let snapshot = SnapshotDir::new()
            .entry("report_settings", entry.clone())
            .write();
        let output = cloudkeur()
            .args(["scan", "--format", "json", "--offline"])
            .arg(snapshot.path())
            .arg("--policies")
            .arg(policies.path())
            .arg("--evidence")
            .arg(&evidence)
            .output()
            .expect("runs");
        let report: Value = serde_json::from_slice(&output.stdout).expect("report");
        assert_eq!(
            report["findings"][0]["verdict"], verdict,
            "{entry}: {report}"
        );
    }
}

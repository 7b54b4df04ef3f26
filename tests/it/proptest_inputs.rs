//! Property tests: arbitrary JSON and YAML where cloudkeur reads files. Whatever the bytes, no
//! panic: a resource body of the wrong shape is unreadable (never a pass), a bad manifest or
//! policy file is one located diagnostic naming the file.
//!
//! The long-running versions of these are the cargo-fuzz targets in `fuzz/`.

use crate::support::{SnapshotDir, repo_path};
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::Verdict;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Snapshot, SnapshotMeta, read_dir};
use cloudkeur::vendor::Vendor;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("built-in pack"))
}

/// JSON values with the keys policies look at, so selections sometimes match.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "value",
        "id",
        "userType",
        "isMfaCapable",
        "userPrincipalName",
        "principal",
        "@odata.type",
        "roleDefinitionId",
        "state",
        "conditions",
        "grantControls",
        "siteCollection",
        "dataLocationCode",
        "isEnabled",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            "member",
            "guest",
            "Guest",
            "enabled",
            "#microsoft.graph.group",
            "#microsoft.graph.user",
            "62e90394-69f5-4237-9190-012177145e10",
            "EUR",
            "NAM",
            "",
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<String, Value>>(),
                )
            }),
        ]
    })
}

fn evaluate_all(snapshot: &Snapshot) -> Vec<cloudkeur::findings::Finding> {
    evaluate(
        pack(),
        Inputs {
            snapshot,
            settings: &Settings::default(),
            evidence: &Evidence::default(),
            today: time::macros::date!(2026 - 11 - 23),
        },
    )
}

fn meta() -> SnapshotMeta {
    SnapshotMeta {
        tenant_id: "t".into(),
        tenant_name: None,
        source: "proptest".into(),
        collected_at: "2026-11-20T06:00:00Z".into(),
        manifest_sha256: String::new(),
    }
}

/// The policy files of the shipped pack, as mutation seeds.
fn policy_texts() -> &'static Vec<String> {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let mut texts = Vec::new();
        for area in ["mfa", "rba", "loc", "shr", "bak"] {
            let dir = repo_path(&format!("policies/{area}"));
            for entry in std::fs::read_dir(dir).expect("policies") {
                let path = entry.expect("entry").path();
                texts.push(std::fs::read_to_string(path).expect("policy text"));
            }
        }
        texts
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any JSON as every resource: one finding per policy; no pass that rests on nothing read;
    /// and knowing less never makes a new pass: the same snapshot with one resource made
    /// unreadable passes no policy that did not pass before. (Every resource readable alone
    /// could not fail the first check; the second is what can.)
    #[test]
    fn any_json_resource_body_evaluates_without_panic(body in json_value(), lost in any::<prop::sample::Index>()) {
        let names: Vec<&String> = pack().registry.iter().map(|(name, _)| name).collect();
        let lost = lost.get(&names);
        for (body, vendor) in [body.clone(), json!({"value": body.clone()}), json!({"value": [body]})]
            .into_iter()
            .flat_map(|body| Vendor::ALL.map(|vendor| (body.clone(), vendor)))
        {
            let mut snapshot = Snapshot::new(meta());
            snapshot.set_vendor(vendor);
            for (name, spec) in pack().registry.iter() {
                snapshot.insert_read(name.clone(), spec.kind, body.clone());
            }
            let findings = evaluate_all(&snapshot);
            prop_assert_eq!(findings.len(), pack().policies.iter().filter(|p| p.is_for(vendor)).count());
            // A pass must rest on data that was read. `any_of` may pass on one alternative that
            // was read while another could not be (MFA by security defaults while the CA policies
            // are unreadable), so the invariant is: no pass without a readable resource. With
            // items that are not objects every collection is unreadable, so this bites. Google's
            // derived resources are judged as evaluation made them, not as the test wrote them.
            let derived = cloudkeur::google::derive(&snapshot);
            for finding in &findings {
                let read_something = finding.resources.iter().any(|r| {
                    matches!(derived.resource(r), Some(cloudkeur::snapshot::ResourceData::Read(_)))
                });
                prop_assert!(read_something || finding.verdict != Verdict::Pass, "{} passed on unreadable data", finding.policy);
            }
            let mut less = snapshot.clone();
            less.insert_unreadable((*lost).clone(), "HTTP 403: made unreadable by the test");
            for (before, after) in findings.iter().zip(evaluate_all(&less)) {
                prop_assert!(
                    after.verdict != Verdict::Pass || before.verdict == Verdict::Pass,
                    "{}: {} unreadable turned {:?} into a pass", after.policy, lost, before.verdict
                );
            }
        }
    }

    /// Knowing less never makes a new pass, on the two example tenants as collected: each
    /// resource made unreadable in turn.
    #[test]
    fn an_unreadable_resource_never_makes_a_new_pass_on_the_fixtures(which in any::<prop::sample::Index>(), tenant in prop::sample::select(vec!["zonnedorp", "kleinwaarde", "heidebeek", "klimop"])) {
        let wanted = pack().projections();
        let snapshot = read_dir(&repo_path(&format!("fixtures/tenants/{tenant}")), &pack().registry, &wanted).expect("fixture");
        let names: Vec<&str> = snapshot.resource_names().collect();
        let lost = which.get(&names).to_string();
        let before = evaluate_all(&snapshot);
        let mut less = snapshot.clone();
        less.insert_unreadable(lost.clone(), "HTTP 403: made unreadable by the test");
        for (before, after) in before.iter().zip(evaluate_all(&less)) {
            prop_assert!(
                after.verdict != Verdict::Pass || before.verdict == Verdict::Pass,
                "{} {}: {} unreadable turned {:?} into a pass", tenant, after.policy, lost, before.verdict
            );
        }
    }

    /// Any bytes as a resource file: read as unreadable with a reason, or as JSON.
    #[test]
    fn any_resource_file_reads_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), body in json_value()) {
        let snap = SnapshotDir::new()
            .raw("users", &bytes)
            .ok("user_registration_details", body)
            .write();
        let wanted = pack().projections();
        let snapshot = read_dir(snap.path(), &pack().registry, &wanted).expect("manifest is fine");
        let findings = evaluate_all(&snapshot);
        prop_assert_eq!(findings.len(), pack().policies.iter().filter(|p| p.is_for(Vendor::Microsoft)).count());
    }

    /// Any JSON as manifest.json: a snapshot, or one diagnostic naming manifest.json.
    #[test]
    fn any_manifest_gives_a_snapshot_or_a_located_error(manifest in json_value()) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("manifest.json"), serde_json::to_vec(&manifest).expect("json")).expect("write");
        let wanted = pack().projections();
        if let Err(diagnostic) = read_dir(dir.path(), &pack().registry, &wanted) {
            let message = diagnostic.to_string();
            prop_assert!(message.contains("manifest.json"), "{}", message);
            prop_assert!(!message.contains('\n'), "one line: {}", message);
        }
    }

    /// A shipped policy file with a slice replaced by arbitrary text: a pack, or one located
    /// diagnostic naming the file.
    #[test]
    fn mutated_policy_file_loads_or_gives_a_located_error(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        len in 0usize..40,
        insert in "[ -~\n]{0,40}",
    ) {
        let text = which.get(policy_texts());
        let chars: Vec<char> = text.chars().collect();
        let start = at.index(chars.len());
        let end = (start + len).min(chars.len());
        let mutated: String = chars[..start].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("policy.yaml"), &mutated).expect("write");
        if let Err(diagnostic) = PolicyPack::load(&PackSource::Dir(dir.path().to_path_buf())) {
            let message = diagnostic.to_string();
            prop_assert!(message.contains("policy.yaml"), "{}", message);
            prop_assert!(!message.is_empty());
        }
    }

    /// Arbitrary text as a policy file.
    #[test]
    fn any_text_as_a_policy_file_gives_a_located_error(text in "[ -~\n\t]{0,200}") {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("policy.yaml"), &text).expect("write");
        if let Err(diagnostic) = PolicyPack::load(&PackSource::Dir(dir.path().to_path_buf())) {
            prop_assert!(diagnostic.to_string().contains("policy.yaml"), "{}", diagnostic);
        }
    }
}

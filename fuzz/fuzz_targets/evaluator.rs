//! Evaluator: an arbitrary JSON body as every resource the built-in pack reads (and wrapped as a
//! collection's `value`), evaluated with default settings. Never a panic; and a resource whose
//! body is not of its shape is never a pass.
#![no_main]

use cloudkeur::evidence::Evidence;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Snapshot, SnapshotMeta};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("built-in pack"))
}

fn run(body: &Value) {
    let pack = pack();
    let mut snapshot = Snapshot::new(SnapshotMeta {
        tenant_id: "fuzz".into(),
        tenant_name: None,
        source: "fuzz".into(),
        collected_at: "2026-11-20T06:00:00Z".into(),
        manifest_sha256: String::new(),
    });
    for (name, spec) in pack.registry.iter() {
        snapshot.insert_read(name.clone(), spec.kind, body.clone());
    }
    let settings = Settings::default();
    let evidence = Evidence::default();
    let findings = evaluate(
        pack,
        Inputs {
            snapshot: &snapshot,
            settings: &settings,
            evidence: &evidence,
            today: time::Date::from_calendar_date(2026, time::Month::November, 23).expect("date"),
        },
    );
    assert_eq!(findings.len(), pack.policies.len());
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    run(&body);
    run(&json!({"value": body}));
    run(&json!({"value": [body]}));
});

//! Snapshot loader, two ways (first byte):
//! - even: arbitrary bytes split into a manifest and one resource file (manifest, NUL, body),
//!   read with the built-in registry: a snapshot (bad resources unreadable) or a located
//!   diagnostic, never a panic;
//! - odd: the bytes are the body of every resource the pack reads, under a correct manifest
//!   (right hashes), read once projected as a scan reads it and once whole. Projection must
//!   change nothing (invariants 2 and 10): a resource is unreadable in one read exactly when it
//!   is in the other (invalid UTF-8 or an out-of-range number in a dropped member included),
//!   and a readable one projects to the same value.
use cloudkeur::digest::sha256_hex;
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::snapshot::{Layout, ResourceData, project, read_dir, whole};
use serde_json::json;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("cloudkeur-fuzz-snapshot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    })
}

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("built-in pack"))
}

fn raw(data: &[u8]) {
    let (manifest, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let dir = dir();
    std::fs::write(dir.join("manifest.json"), manifest).expect("write manifest");
    let pack = pack();
    let wanted = pack.projections();
    for name in wanted.keys() {
        std::fs::write(dir.join(format!("{name}.json")), body).expect("write resource");
    }
    let _ = read_dir(dir, &pack.registry, &wanted);
}

fn projected_like_whole(body: &[u8]) {
    let dir = dir();
    let pack = pack();
    let wanted = pack.projections();
    let mut resources = serde_json::Map::new();
    for name in wanted.keys() {
        let file = format!("{name}.json");
        std::fs::write(dir.join(&file), body).expect("write resource");
        resources.insert(
            name.clone(),
            json!({"status": "ok", "file": file, "sha256": sha256_hex(body)}),
        );
    }
    let manifest = json!({
        "format": "cloudkeur.snapshot/v1", "tenant_id": "fuzz", "source": "fuzz",
        "collected_at": "2026-11-20T06:00:00Z", "resources": resources,
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).expect("json"),
    )
    .expect("write manifest");
    let projected = read_dir(dir, &pack.registry, &wanted).expect("manifest is fine");
    let whole = read_dir(dir, &pack.registry, &whole(wanted.keys())).expect("manifest is fine");
    for (name, projection) in &wanted {
        let spec = pack.registry.get(name).expect("registry resource");
        // A derived resource (Google's effective settings) is made at evaluation from the ones
        // read, never read from a snapshot: neither read holds it.
        if spec.is_derived() {
            continue;
        }
        match (projected.resource(name), whole.resource(name)) {
            (Some(ResourceData::Read(p)), Some(ResourceData::Read(w))) => {
                assert_eq!(p, &project(w, Layout::of(spec), projection), "{name}");
            }
            (Some(ResourceData::Unreadable(p)), Some(ResourceData::Unreadable(w))) => {
                assert_eq!(p, w, "{name}: the same reason either way");
            }
            (p, w) => panic!("{name}: projected {p:?} but whole {w:?}"),
        }
    }
}

/// One fuzz input (the cargo-fuzz target's whole body; `tests/it/fuzz_bodies.rs` runs it on
/// seeds, so `cargo test` builds it and keeps it working).
pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((mode, body)) if mode % 2 == 1 => projected_like_whole(body),
        _ => raw(data),
    }
}

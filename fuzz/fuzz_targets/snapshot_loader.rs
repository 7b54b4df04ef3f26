//! Snapshot loader: arbitrary bytes split into a manifest and one resource file, read with the
//! built-in registry. Reading must give a snapshot (bad resources unreadable) or a located
//! diagnostic, never a panic.
#![no_main]

use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::snapshot::read_dir;
use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    // Manifest, then a NUL, then the bytes of every resource file the manifest may name.
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
});

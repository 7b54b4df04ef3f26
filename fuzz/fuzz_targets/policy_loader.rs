//! Policy loader: arbitrary text as a policy file in a `--policies` directory (built-in registry
//! and catalogue). Loading must give a pack or a located diagnostic, never a panic; a pack that
//! loads has its examples run too.
#![no_main]

use cloudkeur::policy::{PackSource, PolicyPack, run_examples};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("cloudkeur-fuzz-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = dir();
    std::fs::write(dir.join("fuzz.yaml"), text).expect("write policy");
    match PolicyPack::load(&PackSource::Dir(dir.clone())) {
        Ok(pack) => {
            let _ = run_examples(&pack);
        }
        Err(diagnostic) => {
            let message = diagnostic.to_string();
            assert!(!message.is_empty());
        }
    }
});

//! cargo-fuzz target `snapshot_loader`: the body is `fuzz/bodies/snapshot_loader.rs` (what it feeds and asserts is
//! described there), shared with `tests/it/fuzz_bodies.rs`, which runs it on seeds in `cargo test`.
#![no_main]

#[path = "../bodies/snapshot_loader.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));

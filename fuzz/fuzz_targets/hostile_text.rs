//! cargo-fuzz target `hostile_text`: the body is `fuzz/bodies/hostile_text.rs` (what it feeds and asserts is
//! described there), shared with `tests/it/fuzz_bodies.rs`, which runs it on seeds in `cargo test`.
#![no_main]

#[path = "../bodies/hostile_text.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));

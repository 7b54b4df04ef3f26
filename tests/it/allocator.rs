//! The allocator's options are in place before mimalloc starts (src/allocator.rs): its first
//! arena is reserved before `main`, so options set from `main` alone would come too late for it.

use crate::support::cloudkeur;

#[test]
fn mimalloc_starts_with_the_options_already_set() {
    // With MIMALLOC_VERBOSE, mimalloc prints every option as its process start read it, before
    // `main`. The environment asks for the defaults of the three options; the constructor that
    // runs before mimalloc's own has set them, so they are not taken from the environment.
    let output = cloudkeur()
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .env("MIMALLOC_ARENA_EAGER_COMMIT", "2")
        .env("MIMALLOC_PURGE_DELAY", "1000")
        .env("MIMALLOC_ALLOW_THP", "1")
        .output()
        .expect("cloudkeur runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let init = stderr
        .find("process init")
        .expect("mimalloc printed its start");
    for option in ["arena_eager_commit", "purge_delay", "allow_thp"] {
        let line = format!("option '{option}': 0");
        let at = stderr
            .find(&line)
            .unwrap_or_else(|| panic!("{option} is not 0 at mimalloc's start:\n{stderr}"));
        assert!(at > init, "{option} printed before mimalloc's start");
    }
}

//! The cargo-fuzz targets' bodies (`fuzz/bodies/`), run on a few seeds in `cargo test`.
//!
//! The fuzz project is its own Cargo project, which CI does not build: two targets had broken
//! unnoticed (one no longer compiled, one panicked on its first seed). Built here as modules of
//! this crate, every body is compiled and linted with the tests, and each runs on seeds like
//! those `fuzz/seed.sh` writes; a body's own assertions are what can fail.

#[path = "../../fuzz/bodies/evaluator.rs"]
mod evaluator;
// FIFOs and symbolic links: a Unix body, as its fuzz target is.
#[cfg(unix)]
#[path = "../../fuzz/bodies/hostile_files.rs"]
mod hostile_files;
#[path = "../../fuzz/bodies/hostile_text.rs"]
mod hostile_text;
#[path = "../../fuzz/bodies/policy_loader.rs"]
mod policy_loader;
#[path = "../../fuzz/bodies/snapshot_loader.rs"]
mod snapshot_loader;

use crate::support::repo_path;

const ZONNEDORP: &str = "fixtures/tenants/zonnedorp";
const HEIDEBEEK: &str = "fixtures/tenants/heidebeek";

fn fixture(path: &str) -> Vec<u8> {
    let path = repo_path(path);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn with_mode(mode: u8, rest: &[u8]) -> Vec<u8> {
    let mut data = vec![mode];
    data.extend_from_slice(rest);
    data
}

/// The scratch directories the bodies make in the temporary directory, named by process id
/// (as in `fuzz/bodies/`): removed once the seeds have run.
fn remove_scratch(prefix: &str) {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_snapshot_loader_body_runs_on_its_seeds() {
    let bodies = [
        format!("{ZONNEDORP}/users.json"),
        format!("{ZONNEDORP}/conditional_access_policies.json"),
        format!("{ZONNEDORP}/authorization_policy.json"),
        format!("{HEIDEBEEK}/google_users.json"),
    ];
    let manifest = fixture(&format!("{ZONNEDORP}/manifest.json"));
    for path in &bodies {
        let body = fixture(path);
        // Odd: the body under a correct manifest, read projected and whole.
        snapshot_loader::run(&with_mode(1, &body));
        // Even: raw manifest bytes, NUL, the body.
        let mut raw = vec![0];
        raw.extend_from_slice(&manifest);
        raw.push(0);
        raw.extend_from_slice(&body);
        snapshot_loader::run(&raw);
    }
    // A member no rule reads that is not valid UTF-8, or a number out of range: unreadable
    // projected exactly as whole.
    snapshot_loader::run(b"\x01{\"value\": [{\"id\": \"a\", \"displayName\": \"\xff\"}]}");
    snapshot_loader::run(b"\x01{\"value\": [{\"id\": \"a\", \"identities\": [{\"x\": 1e999}]}]}");
    remove_scratch("cloudkeur-fuzz-snapshot");
}

#[test]
fn the_evaluator_body_runs_on_its_seeds() {
    for path in [
        format!("{ZONNEDORP}/users.json"),
        format!("{ZONNEDORP}/conditional_access_policies.json"),
        format!("{ZONNEDORP}/security_defaults.json"),
    ] {
        let body = fixture(&path);
        for mask in [[0u8; 8], [0xA5; 8]] {
            let mut data = mask.to_vec();
            data.extend_from_slice(&body);
            evaluator::run(&data);
        }
    }
}

#[test]
fn the_policy_loader_body_runs_on_its_seeds() {
    // An even first byte: the whole input is the text of a policy file (a line break is even,
    // and YAML ignores it).
    let policy = fixture("policies/tel/tel-01-usage-reports-conceal-names.yaml");
    policy_loader::run(&[b"\n".as_slice(), &policy].concat());
    // Odd: a generated policy from these bytes.
    policy_loader::run(&[1, 0, 7, 3, 250, 9, 41, 2, 2, 200, 17]);
    policy_loader::run(&[3; 64]);
    remove_scratch("cloudkeur-fuzz-policy");
}

#[cfg(unix)]
#[test]
fn the_hostile_files_body_runs_on_its_seeds() {
    for seed in [
        &[0u8; 10][..],
        &[1, 1, 2, 1, 3, 0, 1, 0],
        &[2, 3, 4, 5, 1, 1, 0, 3, 2, 1, 0],
        &[5, 0, 5, 1, 5, 2, 5, 3, 5, 4],
    ] {
        hostile_files::run(seed);
    }
    remove_scratch("cloudkeur-fuzz-files");
}

#[test]
fn the_hostile_text_body_runs_on_its_seeds() {
    for seed in [
        &b"\x002027-12-31"[..],
        b"\x002027-12-31 but only if renewed",
        b"\x002026-10-14T08:00:00.1234567Z",
        b"\x01\x00\x01\x01\x07\x03",
        "\u{2}Stad \u{1b}[2J\u{1b}]8;;https://x.example\u{7}k\u{9b}\u{202e}".as_bytes(),
    ] {
        hostile_text::run(seed);
    }
}

//! The evidence archive: bundles chained by hashes; `archive verify` catches a changed byte, a
//! deleted bundle and a swapped order; `diff` names the setting that flipped between two scans.

use crate::support::{cloudkeur, repo_path};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of the Kleinwaarde snapshot in which usage reports conceal names (TEL-01 passes).
fn kleinwaarde_fixed(dir: &Path) -> PathBuf {
    let copy = dir.join("kleinwaarde-fixed");
    std::fs::create_dir_all(&copy).expect("dir");
    for entry in std::fs::read_dir(repo_path("fixtures/tenants/kleinwaarde")).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
    }
    let file = copy.join("report_settings.json");
    let body = std::fs::read_to_string(&file).expect("read");
    assert!(body.contains("\"displayConcealedNames\": false"), "{body}");
    std::fs::write(
        &file,
        body.replace(
            "\"displayConcealedNames\": false",
            "\"displayConcealedNames\": true",
        ),
    )
    .expect("write");
    cloudkeur()
        .args(["snapshot", "seal"])
        .arg(&copy)
        .assert()
        .success();
    copy
}

fn scan_into(archive: &Path, snapshot: &Path) {
    let output = cloudkeur()
        .args([
            "scan",
            "--only",
            "VTC-TEL-01",
            "--only",
            "VTC-MFA-01",
            "--format",
            "json",
            "--offline",
        ])
        .arg(snapshot)
        .arg("--archive")
        .arg(archive)
        .output()
        .expect("runs");
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
}

fn bundles(archive: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(archive)
        .expect("archive")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    all.sort();
    all
}

/// An archive of three scans: Kleinwaarde, Kleinwaarde with TEL-01 fixed, Kleinwaarde again.
fn three_bundles() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().expect("temp dir");
    let archive = temp.path().join("archive");
    let fixed = kleinwaarde_fixed(temp.path());
    scan_into(&archive, &repo_path("fixtures/tenants/kleinwaarde"));
    scan_into(&archive, &fixed);
    scan_into(&archive, &repo_path("fixtures/tenants/kleinwaarde"));
    (temp, archive)
}

fn verify(archive: &Path) -> (i32, String) {
    let output = cloudkeur()
        .args(["archive", "verify"])
        .arg(archive)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn intact_archive_verifies_and_lists_its_history() {
    let (_temp, archive) = three_bundles();
    assert_eq!(bundles(&archive).len(), 3);
    let (code, out) = verify(&archive);
    assert_eq!(code, 0, "{out}");
    let output = cloudkeur()
        .args(["archive", "list", "--format", "json"])
        .arg(&archive)
        .output()
        .expect("runs");
    let rows: Value = serde_json::from_slice(&output.stdout).expect("json");
    let sequences: Vec<u64> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["sequence"].as_u64().expect("sequence"))
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
    // Written atomically: nothing temporary is left behind.
    let hidden = std::fs::read_dir(&archive)
        .expect("archive")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with('.'))
        })
        .count();
    assert_eq!(hidden, 0);
}

#[test]
fn verify_catches_a_changed_byte() {
    let (_temp, archive) = three_bundles();
    let file = bundles(&archive)[1].join("snapshot/report_settings.json");
    let mut bytes = std::fs::read(&file).expect("read");
    let at = bytes.iter().position(|b| *b == b't').expect("a 't'");
    bytes[at] = b'T';
    std::fs::write(&file, bytes).expect("write");
    let (code, out) = verify(&archive);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("snapshot/report_settings.json changed"),
        "{out}"
    );
}

#[test]
fn verify_catches_a_deleted_bundle() {
    let (_temp, archive) = three_bundles();
    std::fs::remove_dir_all(&bundles(&archive)[1]).expect("delete");
    let (code, out) = verify(&archive);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deleted"), "{out}");
}

#[test]
fn verify_catches_a_swapped_order() {
    let (_temp, archive) = three_bundles();
    let all = bundles(&archive);
    let parking = archive.join("parking");
    std::fs::rename(&all[0], &parking).expect("rename");
    std::fs::rename(&all[1], &all[0]).expect("rename");
    std::fs::rename(&parking, &all[1]).expect("rename");
    let (code, out) = verify(&archive);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("renamed") && out.contains("reordered"),
        "{out}"
    );
}

#[test]
fn verify_catches_an_edited_manifest_through_the_next_link() {
    let (_temp, archive) = three_bundles();
    let manifest = bundles(&archive)[0].join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("Stad Kleinwaarde", "Stad Anders")).expect("write");
    let (code, out) = verify(&archive);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hash chain broken"), "{out}");
}

#[test]
fn diff_finds_the_setting_that_flipped_between_two_bundles() {
    let (_temp, archive) = three_bundles();
    let all = bundles(&archive);
    let output = cloudkeur()
        .args(["diff", "--format", "json"])
        .arg(&all[0])
        .arg(&all[1])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "nothing newly fails");
    let drift: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        drift["fixed"][0]["policy"],
        "tel-01-usage-reports-conceal-names"
    );
    let settings = drift["settings"].as_array().expect("settings");
    let report_settings = settings
        .iter()
        .find(|r| r["resource"] == "report_settings")
        .expect("report_settings changed");
    let path = report_settings["changes"][0]["path"]
        .as_str()
        .expect("path");
    assert!(path.ends_with("/displayConcealedNames"), "{path}");
    assert_eq!(report_settings["changes"][0]["old"], false);
    assert_eq!(report_settings["changes"][0]["new"], true);
    // The other way round it newly fails: exit 1, and the table names it.
    let back = cloudkeur()
        .arg("diff")
        .arg(&all[1])
        .arg(&all[2])
        .output()
        .expect("runs");
    assert_eq!(back.status.code(), Some(1));
    let text = String::from_utf8_lossy(&back.stdout);
    assert!(
        text.contains("tel-01-usage-reports-conceal-names"),
        "{text}"
    );
    assert!(
        text.contains("/displayConcealedNames: true -> false"),
        "{text}"
    );
    // And the scan wrote the same drift into the bundle.
    let drift: Value =
        serde_json::from_slice(&std::fs::read(all[2].join("drift.json")).expect("drift.json"))
            .expect("json");
    assert_eq!(
        drift["newly_failing"][0]["policy"],
        "tel-01-usage-reports-conceal-names"
    );
}

#[test]
fn diff_of_two_json_reports_compares_verdicts() {
    let temp = tempfile::tempdir().expect("temp dir");
    let fixed = kleinwaarde_fixed(temp.path());
    let report = |snapshot: &Path, name: &str| {
        let path = temp.path().join(name);
        cloudkeur()
            .args([
                "scan",
                "--only",
                "VTC-TEL-01",
                "--format",
                "json",
                "--offline",
            ])
            .arg(snapshot)
            .arg("--output")
            .arg(&path)
            .output()
            .expect("runs");
        path
    };
    let old = report(&repo_path("fixtures/tenants/kleinwaarde"), "old.json");
    let new = report(&fixed, "new.json");
    let output = cloudkeur()
        .args(["diff", "--format", "json"])
        .arg(&old)
        .arg(&new)
        .output()
        .expect("runs");
    let drift: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(drift["fixed"][0]["old"], "fail");
    assert_eq!(drift["fixed"][0]["new"], "pass");
}

fn one_line_exit_2(args: &[&str], path: &Path, expect: &str) {
    let mut cmd = cloudkeur();
    cmd.args(args).arg(path);
    if args[0] == "diff" {
        cmd.arg(path);
    }
    let output = cmd.output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expect), "{stderr}");
}

#[test]
fn bad_archive_and_diff_inputs_are_one_line_exit_2() {
    let temp = tempfile::tempdir().expect("temp dir");
    let missing = temp.path().join("no-archive");
    one_line_exit_2(
        &["archive", "verify"],
        &missing,
        "no-archive: archive directory does not exist; fix:",
    );
    one_line_exit_2(
        &["archive", "list"],
        &missing,
        "no-archive: archive directory does not exist; fix:",
    );
    let not_json = temp.path().join("report.json");
    std::fs::write(&not_json, "{\n  \"schema\": oops\n}").expect("write");
    one_line_exit_2(&["diff"], &not_json, "report.json:2:");
    let not_report = temp.path().join("other.json");
    std::fs::write(&not_report, "{\"schema\": \"x\"}").expect("write");
    one_line_exit_2(&["diff"], &not_report, "not a cloudkeur JSON report");
    // --archive naming a plain file cannot hold bundles.
    let file = temp.path().join("plain-file");
    std::fs::write(&file, "x").expect("write");
    let output = cloudkeur()
        .args(["scan", "--only", "VTC-TEL-01", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--archive")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--archive") && stderr.contains("plain-file"),
        "{stderr}"
    );
}

#[test]
fn a_bundle_replays_to_the_same_verdicts() {
    let temp = tempfile::tempdir().expect("temp dir");
    let archive = temp.path().join("archive");
    let scan = |snapshot: &Path, config: &Path, evidence: &Path, archive: Option<&Path>| {
        let mut cmd = cloudkeur();
        cmd.args([
            "scan",
            "--format",
            "json",
            "--date",
            "2026-11-23",
            "--offline",
        ])
        .arg(snapshot)
        .arg("--config")
        .arg(config)
        .arg("--evidence")
        .arg(evidence);
        if let Some(archive) = archive {
            cmd.arg("--archive").arg(archive);
        }
        let output = cmd.output().expect("runs");
        let report: Value = serde_json::from_slice(&output.stdout).expect("json");
        let verdicts: Vec<(String, String)> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| (f["policy"].to_string(), f["verdict"].to_string()))
            .collect();
        (output.status.code(), verdicts)
    };
    let original = scan(
        &repo_path("fixtures/tenants/zonnedorp"),
        &repo_path("fixtures/config/zonnedorp.yaml"),
        &repo_path("fixtures/evidence/zonnedorp.yaml"),
        Some(&archive),
    );
    let bundle = &bundles(&archive)[0];
    // The evidence file's JSON exports travel with it.
    assert!(
        bundle
            .join("inputs/zonnedorp/teams-meeting-policy.json")
            .is_file()
    );
    let replay = scan(
        &bundle.join("snapshot"),
        &bundle.join("inputs/settings.yaml"),
        &bundle.join("inputs/evidence.yaml"),
        None,
    );
    assert_eq!(original.0, Some(0));
    assert_eq!(replay, original);
}

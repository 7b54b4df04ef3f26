//! Hostile input (issue 15): files, names and texts crafted to make cloudkeur pass what it did not
//! understand, hang, destroy, copy what is not its own, crash, or write escape sequences to a
//! terminal. One section per class; every test here failed before the fix of its class.

use crate::support::{SnapshotDir, cloudkeur, finding, repo_path, scan_json};
use predicates::prelude::*;
use serde_json::{Value, json};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A hung read must fail the test, not the suite.
const NO_HANG: Duration = Duration::from_secs(30);

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// Runs cloudkeur with `args`, bounded in time; (exit code, stdout, stderr).
fn run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> (i32, String, String) {
    let output = cloudkeur()
        .args(args)
        .timeout(NO_HANG)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// Exit 2 with one line on stderr that contains `needle` and a fix.
fn assert_one_line_input_error((code, _, stderr): (i32, String, String), needle: &str) {
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}': {stderr}");
    assert!(stderr.contains("; fix: "), "{stderr}");
}

/// The report of a JSON scan of the whole pack, bounded in time.
fn scan_all_json(dir: &Path, extra: &[&OsStr]) -> (i32, Value, String) {
    let mut args = vec![os("scan"), os("--format"), os("json"), os("--offline")];
    args.push(dir.as_os_str());
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(args);
    (
        code,
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

/// Every finding that reads `resource`, with its verdict and reason.
fn findings_reading<'a>(report: &'a Value, resource: &str) -> Vec<&'a Value> {
    let found: Vec<&Value> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["resources"]
                .as_array()
                .is_some_and(|r| r.iter().any(|n| n == resource))
        })
        .collect();
    assert!(!found.is_empty(), "no policy reads {resource}: {report}");
    found
}

const TEL_01: &str = "tel-01-usage-reports-conceal-names";

// ---------------------------------------------------------------------------------------------
// 2. Projection must not hide invalid JSON in members no rule reads.

#[test]
fn invalid_utf8_in_a_member_no_rule_reads_is_still_an_error() {
    // users is projected to the few members the rules read; `displayName` is not one of them.
    let mut bytes = br#"{"value": [{"id": "u1", "userPrincipalName": "a@x.example", "accountEnabled": true, "userType": "Member", "displayName": "Ann "#.to_vec();
    bytes.extend_from_slice(b"\xff\xfe");
    bytes.extend_from_slice(br#""}]}"#);
    let snapshot = SnapshotDir::new().raw("users", &bytes).write();
    let (_, report, stderr) = scan_all_json(snapshot.path(), &[]);
    for f in findings_reading(&report, "users") {
        assert_eq!(f["verdict"], "error", "{f} {stderr}");
        assert!(
            f["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not valid JSON")),
            "{f}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. `--snapshot-out` replaces only a snapshot cloudkeur wrote.

fn collection() -> cloudkeur::snapshot::Collection {
    let mut resources = std::collections::BTreeMap::new();
    resources.insert(
        "report_settings".to_owned(),
        cloudkeur::snapshot::Collected::Read {
            request: "GET /v1.0/admin/reportSettings".into(),
            http_status: 200,
            pages: 1,
            body: json!({"displayConcealedNames": true}),
            note: None,
            file_sha256: None,
            projected: false,
        },
    );
    cloudkeur::snapshot::Collection {
        tenant_id: "t".into(),
        tenant_name: None,
        source: "graph http://127.0.0.1:1".into(),
        collected_at: "2026-11-20T06:00:00Z".into(),
        resources,
    }
}

#[test]
fn snapshot_out_refuses_a_directory_that_merely_holds_a_manifest_json() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("manifest.json"), r#"{"name": "my thesis"}"#).expect("write");
    std::fs::write(dir.path().join("thesis.docx"), "years of work").expect("write");
    let err = cloudkeur::snapshot::encode(&collection())
        .write_dir(dir.path())
        .expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("not a snapshot directory"), "{message}");
    assert_eq!(message.lines().count(), 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("thesis.docx")).expect("kept"),
        "years of work"
    );
}

#[test]
fn snapshot_out_refuses_a_snapshot_holding_files_its_manifest_does_not_name() {
    let dir = tempfile::tempdir().expect("dir");
    let snap = dir.path().join("snap");
    let encoded = cloudkeur::snapshot::encode(&collection());
    encoded.write_dir(&snap).expect("first write");
    // A previous snapshot is replaced…
    encoded.write_dir(&snap).expect("replaced");
    // …but not once someone keeps their own file in it, nor through a link.
    std::fs::write(snap.join("notes.txt"), "mine").expect("write");
    let err = encoded.write_dir(&snap).expect_err("refused");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert!(snap.join("notes.txt").exists());
    std::fs::remove_file(snap.join("notes.txt")).expect("rm");
    #[cfg(unix)]
    {
        let link = dir.path().join("link");
        symlink(&snap, &link);
        let err = encoded.write_dir(&link).expect_err("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    // Only the snapshot and nothing beside it was ever left in the parent.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().all(|n| n == "snap" || n == "link"),
        "{names:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Only regular files inside the directory are read: snapshot, seal, archive, overlay,
//    evidence exports.

/// A "private key" outside the snapshot that happens to be valid JSON for report_settings.
fn secret_outside() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let outside = tempfile::tempdir().expect("dir");
    let bytes = br#"{"displayConcealedNames": true, "privateKey": "-----BEGIN PRIVATE KEY-----"}"#;
    let path = outside.path().join("key.json");
    std::fs::write(&path, bytes).expect("write");
    (outside, path, bytes.to_vec())
}

/// A snapshot whose report_settings.json is a link to `target`, hashed as the target.
#[cfg(unix)]
fn snapshot_linking_to(target: &Path, bytes: &[u8]) -> SnapshotDir {
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "ok", "file": "report_settings.json",
                   "sha256": cloudkeur::digest::sha256_hex(bytes)}),
        )
        .write();
    symlink(target, &snapshot.path().join("report_settings.json"));
    snapshot
}

#[cfg(unix)]
#[test]
fn a_resource_file_linking_out_of_the_snapshot_is_unreadable() {
    let (_outside, secret, bytes) = secret_outside();
    let snapshot = snapshot_linking_to(&secret, &bytes);
    let (code, report) = scan_json(snapshot.path(), &[TEL_01]);
    assert_eq!(code, 1);
    let f = finding(&report, TEL_01);
    assert_eq!(f["verdict"], "error", "{f}");
    assert!(
        f["reason"]
            .as_str()
            .is_some_and(|r| r.contains("symbolic link leading outside")),
        "{f}"
    );
}

#[cfg(unix)]
#[test]
fn the_archive_copies_nothing_from_outside_the_snapshot() {
    let (_outside, secret, bytes) = secret_outside();
    let snapshot = snapshot_linking_to(&secret, &bytes);
    let archive = tempfile::tempdir().expect("dir");
    let (code, _, stderr) = run([
        os("scan"),
        os("--only"),
        os(TEL_01),
        os("--format"),
        os("json"),
        os("--offline"),
        snapshot.path().as_os_str(),
        os("--archive"),
        archive.path().as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let bundle = std::fs::read_dir(archive.path())
        .expect("archive")
        .map(|e| e.expect("entry").path())
        .find(|p| p.is_dir())
        .expect("a bundle");
    assert!(
        !bundle.join("snapshot/report_settings.json").exists(),
        "the linked file was copied"
    );
    for file in walk_files(&bundle) {
        let content = std::fs::read(&file).expect("read");
        assert!(
            !content.windows(11).any(|w| w == b"PRIVATE KEY".as_slice()),
            "{} holds the secret",
            file.display()
        );
    }
    let (code, stdout, _) = run([os("archive"), os("verify"), archive.path().as_os_str()]);
    assert_eq!(code, 0, "{stdout}");
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn snapshot_seal_hashes_no_file_outside_the_snapshot() {
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "ok", "file": "/etc/passwd"}),
        )
        .write();
    let before = std::fs::read(snapshot.path().join("manifest.json")).expect("manifest");
    assert_one_line_input_error(
        run([os("snapshot"), os("seal"), snapshot.path().as_os_str()]),
        "not a plain file name",
    );
    let after = std::fs::read(snapshot.path().join("manifest.json")).expect("manifest");
    assert_eq!(before, after, "the manifest was rewritten");
}

#[cfg(unix)]
#[test]
fn snapshot_seal_refuses_a_link_out_of_the_snapshot() {
    let (_outside, secret, bytes) = secret_outside();
    let snapshot = snapshot_linking_to(&secret, &bytes);
    assert_one_line_input_error(
        run([os("snapshot"), os("seal"), snapshot.path().as_os_str()]),
        "symbolic link leading outside",
    );
}

/// A scan of the compliant Zonnedorp fixture with `extra` flags.
fn zonnedorp_scan_args(extra: &[&OsStr]) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "scan",
        "--format",
        "json",
        "--date",
        "2026-11-23",
        "--offline",
    ]
    .map(OsString::from)
    .to_vec();
    args.push(repo_path("fixtures/tenants/zonnedorp").into_os_string());
    args.extend(extra.iter().map(|a| a.to_os_string()));
    args
}

#[cfg(unix)]
#[test]
fn an_overlay_entry_linking_out_of_the_overlay_is_refused() {
    let (_outside, secret, _) = secret_outside();
    let overlay = tempfile::tempdir().expect("dir");
    symlink(&secret, &overlay.path().join("report_settings.json"));
    assert_one_line_input_error(
        run(zonnedorp_scan_args(&[
            os("--overlay"),
            overlay.path().as_os_str(),
        ])),
        "symbolic link leading outside",
    );
}

/// An evidence file in a temporary directory whose one declaration points to `export`.
fn evidence_with_export(dir: &Path, export: &str) -> PathBuf {
    let file = dir.join("evidence.yaml");
    std::fs::write(
        &file,
        format!(
            "declarations:\n  - control: VTC-MTG-02\n    statement: Recording is off.\n    declared_by: Diensthoofd ICT\n    declared_on: \"2026-03-02\"\n    valid_until: \"2027-12-31\"\n    document: Export\n    files:\n      meeting_policy: {export}\n"
        ),
    )
    .expect("write");
    file
}

#[test]
fn an_evidence_export_outside_the_evidence_directory_is_refused() {
    let outside = tempfile::tempdir().expect("dir");
    std::fs::write(outside.path().join("export.json"), "{}").expect("write");
    let dir = outside.path().join("evidence");
    std::fs::create_dir(&dir).expect("dir");
    for export in [
        "../export.json",
        outside.path().join("export.json").to_str().expect("utf-8"),
    ] {
        let file = evidence_with_export(&dir, export);
        assert_one_line_input_error(
            run(zonnedorp_scan_args(&[os("--evidence"), file.as_os_str()])),
            "not a plain relative path inside the directory",
        );
    }
    #[cfg(unix)]
    {
        symlink(
            &outside.path().join("export.json"),
            &dir.join("linked.json"),
        );
        let file = evidence_with_export(&dir, "linked.json");
        assert_one_line_input_error(
            run(zonnedorp_scan_args(&[os("--evidence"), file.as_os_str()])),
            "symbolic link leading outside",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Regular files only (a FIFO does not hang, /dev/zero is not read) and bounded sizes.

#[test]
fn a_fifo_as_resource_file_is_unreadable_not_a_hang() {
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "ok", "file": "report_settings.json", "sha256": "00"}),
        )
        .write();
    mkfifo(&snapshot.path().join("report_settings.json"));
    let (code, report, stderr) = scan_all_json(snapshot.path(), &[os("--only"), os(TEL_01)]);
    assert_eq!(code, 1, "{stderr}");
    let f = finding(&report, TEL_01);
    assert_eq!(f["verdict"], "error");
    assert!(
        f["reason"].as_str().is_some_and(|r| r.contains("FIFO")),
        "{f}"
    );
}

#[test]
fn a_fifo_as_manifest_is_an_input_error_not_a_hang() {
    let dir = tempfile::tempdir().expect("dir");
    mkfifo(&dir.path().join("manifest.json"));
    assert_one_line_input_error(
        run([os("scan"), os("--offline"), dir.path().as_os_str()]),
        "FIFO",
    );
}

#[cfg(unix)]
#[test]
fn device_files_and_fifos_are_refused_for_every_input_flag() {
    let dir = tempfile::tempdir().expect("dir");
    let fifo = dir.path().join("input.yaml");
    mkfifo(&fifo);
    for flag in [
        "--config",
        "--evidence",
        "--waivers",
        "--pseudonym-key-file",
    ] {
        for file in [Path::new("/dev/zero"), fifo.as_path()] {
            let (code, _, stderr) = run(zonnedorp_scan_args(&[os(flag), file.as_os_str()]));
            assert_eq!(code, 2, "{flag} {}: {stderr}", file.display());
            assert!(
                stderr.contains("not a regular file"),
                "{flag} {}: {stderr}",
                file.display()
            );
        }
    }
    let reports = tempfile::tempdir().expect("dir");
    assert_one_line_input_error(
        run([
            os("scan"),
            os("--all"),
            os("--tenants"),
            fifo.as_os_str(),
            os("--reports-dir"),
            reports.path().as_os_str(),
        ]),
        "not a regular file",
    );
    let policies = tempfile::tempdir().expect("dir");
    mkfifo(&policies.path().join("p.yaml"));
    assert_one_line_input_error(
        run([os("policy"), os("test"), policies.path().as_os_str()]),
        "not a regular file",
    );
}

#[test]
fn an_overlay_entry_that_is_a_directory_fifo_or_dangling_link_is_refused_not_skipped() {
    let overlay = tempfile::tempdir().expect("dir");
    std::fs::create_dir(overlay.path().join("conditional_access_policies.json")).expect("dir");
    assert_one_line_input_error(
        run(zonnedorp_scan_args(&[
            os("--overlay"),
            overlay.path().as_os_str(),
        ])),
        "is a directory",
    );
    let overlay = tempfile::tempdir().expect("dir");
    mkfifo(&overlay.path().join("conditional_access_policies.json"));
    assert_one_line_input_error(
        run(zonnedorp_scan_args(&[
            os("--overlay"),
            overlay.path().as_os_str(),
            os("--gate"),
            os("new-only"),
        ])),
        "FIFO",
    );
    #[cfg(unix)]
    {
        let overlay = tempfile::tempdir().expect("dir");
        symlink(
            &overlay.path().join("gone.json"),
            &overlay.path().join("conditional_access_policies.json"),
        );
        assert_one_line_input_error(
            run(zonnedorp_scan_args(&[
                os("--overlay"),
                overlay.path().as_os_str(),
            ])),
            "symbolic link to nothing",
        );
    }
}

#[test]
fn a_resource_file_above_max_file_size_is_unreadable_naming_the_limit() {
    let users: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("u{i}"), "userPrincipalName": format!("u{i}@x.example")}))
        .collect();
    let snapshot = SnapshotDir::new()
        .ok("users", json!({ "value": users }))
        .write();
    let (_, report, stderr) = scan_all_json(snapshot.path(), &[os("--max-file-size"), os("1KiB")]);
    for f in findings_reading(&report, "users") {
        assert_eq!(f["verdict"], "error", "{f} {stderr}");
        let reason = f["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("above the limit of 1.0 KiB") && reason.contains("--max-file-size"),
            "{reason}"
        );
    }
}

#[test]
fn a_huge_settings_object_or_settings_file_is_refused_before_it_is_read() {
    // Sparse files: 17 MiB on paper, nothing on disk.
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "ok", "file": "report_settings.json", "sha256": "00"}),
        )
        .write();
    let big = std::fs::File::create(snapshot.path().join("report_settings.json")).expect("file");
    big.set_len(17 << 20).expect("grow");
    let (_, report, _) = scan_all_json(snapshot.path(), &[os("--only"), os(TEL_01)]);
    let f = finding(&report, TEL_01);
    assert_eq!(f["verdict"], "error");
    assert!(
        f["reason"]
            .as_str()
            .is_some_and(|r| r.contains("above the limit of 16.0 MiB")),
        "{f}"
    );
    let dir = tempfile::tempdir().expect("dir");
    let settings = dir.path().join("settings.yaml");
    std::fs::File::create(&settings)
        .expect("file")
        .set_len(17 << 20)
        .expect("grow");
    assert_one_line_input_error(
        run(zonnedorp_scan_args(&[os("--config"), settings.as_os_str()])),
        "above the limit of 16.0 MiB",
    );
}

#[test]
fn a_bad_max_file_size_is_a_usage_error() {
    cloudkeur()
        .args(["scan", "--offline", ".", "--max-file-size", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a size"));
}

#[test]
fn a_fifo_in_an_archive_bundle_is_reported_not_a_hang() {
    let archive = tempfile::tempdir().expect("dir");
    let (code, _, stderr) = run([
        os("scan"),
        os("--only"),
        os(TEL_01),
        os("--format"),
        os("json"),
        os("--offline"),
        repo_path("fixtures/tenants/kleinwaarde").as_os_str(),
        os("--archive"),
        archive.path().as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let bundle = std::fs::read_dir(archive.path())
        .expect("archive")
        .map(|e| e.expect("entry").path())
        .find(|p| p.is_dir())
        .expect("a bundle");
    let report = bundle.join("report.json");
    std::fs::remove_file(&report).expect("rm");
    mkfifo(&report);
    let (code, stdout, _) = run([os("archive"), os("verify"), archive.path().as_os_str()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FIFO"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// 6. Policy paths and rules are bounded when the policy loads (no stack overflow), and a
//    match()/search() pattern that does not compile is refused then, not silently false later.

/// A policy with `rule` (YAML, indented two spaces) and two examples, alone in a pack.
fn policy_with_rule(rule: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("p.yaml"),
        format!(
            "policy: tel-01-test\ncontrol: VTC-TEL-01\ntitle: {{nl: N, en: N}}\nseverity: medium\nrule:\n{rule}\nremediation: {{nl: Z, en: Z}}\nexamples:\n  - {{name: on, expect: pass, resources: {{report_settings: {{displayConcealedNames: true, a: {{b: [1]}}}}}}}}\n  - {{name: off, expect: fail, resources: {{report_settings: {{displayConcealedNames: false}}}}}}\n"
        ),
    )
    .expect("write");
    dir
}

fn policy_test(dir: &Path) -> (i32, String, String) {
    run([os("policy"), os("test"), dir.as_os_str()])
}

#[test]
fn a_path_of_150_000_segments_is_refused_at_load_not_a_stack_overflow() {
    let path = format!("${}", ".a".repeat(150_000));
    let pack = policy_with_rule(&format!(
        "  resource: report_settings\n  path: \"{path}\"\n  equals: true"
    ));
    let outcome = policy_test(pack.path());
    assert!(outcome.2.len() < 600, "the whole path was echoed");
    assert_one_line_input_error(outcome, "p.yaml:7:9: JSONPath '$.a.a");
    let outcome = policy_test(pack.path());
    assert!(
        outcome.2.contains("above the limit of 1000"),
        "{}",
        outcome.2
    );
}

#[test]
fn deep_filters_and_deep_rules_are_refused_naming_the_limit() {
    let filters = format!("${}.x{}", "[?@".repeat(40), "]".repeat(40));
    let pack = policy_with_rule(&format!(
        "  resource: report_settings\n  path: \"{filters}\"\n  exists: true"
    ));
    assert_one_line_input_error(
        policy_test(pack.path()),
        "nested 9 deep, above the limit of 8",
    );
    let mut rule =
        "{resource: report_settings, path: $.displayConcealedNames, equals: true}".to_owned();
    for _ in 0..30 {
        rule = format!("{{not: {rule}}}");
    }
    let pack = policy_with_rule(&format!("  {rule}"));
    assert_one_line_input_error(policy_test(pack.path()), "above the limit of 16");
}

#[test]
fn the_deepest_policy_the_limits_allow_still_evaluates() {
    // Filters nested 8 deep and rule nodes nested 16 deep (an even number of `not`s).
    let filters = format!("$.a.b[?@{}]", "[?@".repeat(7) + &"]".repeat(7));
    let mut rule = format!(
        "{{all_of: [{{resource: report_settings, path: $.displayConcealedNames, equals: true}}, {{resource: report_settings, path: \"{filters}\", count: {{min: 0}}}}]}}"
    );
    // 14 `not`s, the all_of, and its checks: 16 levels.
    for _ in 0..14 {
        rule = format!("{{not: {rule}}}");
    }
    let pack = policy_with_rule(&format!("  {rule}"));
    let (code, stdout, stderr) = policy_test(pack.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A scan evaluates on rayon's worker threads, whose stacks are smaller than main's.
    let snapshot = SnapshotDir::new()
        .ok(
            "report_settings",
            json!({"displayConcealedNames": true, "a": {"b": [1]}}),
        )
        .write();
    let (code, _, stderr) = run([
        os("scan"),
        os("--policies"),
        pack.path().as_os_str(),
        os("--offline"),
        snapshot.path().as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn an_invalid_regex_in_a_filter_is_refused_at_load() {
    for (pattern, expect) in [
        ("'[unclosed'", "is not a valid regular expression"),
        ("'a{2,1}'", "is not a valid regular expression"),
        ("@.other", "must be a string literal"),
    ] {
        let pack = policy_with_rule(&format!(
            "  resource: report_settings\n  path: \"$[?search(@.displayConcealedNames, {pattern})]\"\n  exists: false"
        ));
        assert_one_line_input_error(policy_test(pack.path()), expect);
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Terminal escape injection: nothing from tenant data, files or names drives the terminal.

/// Clear screen, an OSC 8 hyperlink, a one-byte CSI (C1) and a right-to-left override.
const HOSTILE: &str = "Stad \u{1b}[2J\u{1b}]8;;https://evil.example\u{7}klik\u{1b}]8;;\u{7} \u{9b}31m\u{202e}edrawnielK";

/// No character a terminal acts on, except the line breaks of the output itself.
fn assert_inert(text: &str) {
    let active = text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    });
    assert_eq!(active, None, "terminal control character in: {text}");
}

fn hostile_snapshot() -> SnapshotDir {
    let snapshot = SnapshotDir::new()
        .entry(
            "report_settings",
            json!({"status": "error", "http_status": 403, "error": format!("Forbidden: {HOSTILE}")}),
        )
        .write();
    let manifest = snapshot.path().join("manifest.json");
    let mut value: Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("manifest")).expect("json");
    value["tenant_name"] = json!(HOSTILE);
    std::fs::write(&manifest, serde_json::to_vec(&value).expect("json")).expect("write");
    snapshot
}

#[test]
fn the_table_and_stderr_carry_no_escape_sequence() {
    let snapshot = hostile_snapshot();
    let (code, stdout, stderr) = run([
        os("scan"),
        os("--color"),
        os("always"),
        os("--only"),
        os(TEL_01),
        os("--offline"),
        snapshot.path().as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    // Colour is ours (SGR only); strip it, then nothing may act on the terminal.
    let uncoloured = stdout
        .replace("\u{1b}[31m", "")
        .replace("\u{1b}[33m", "")
        .replace("\u{1b}[32m", "")
        .replace("\u{1b}[36m", "")
        .replace("\u{1b}[39m", "")
        .replace("\u{1b}[0m", "");
    assert_inert(&uncoloured);
    assert!(
        stdout.contains("\\u{1b}[2J"),
        "shown, not acted on: {stdout}"
    );
    assert_inert(&stderr);
    let missing = format!("no/such/{HOSTILE}");
    let (code, _, stderr) = run([os("scan"), os("--offline"), os(&missing)]);
    assert_eq!(code, 2);
    assert_inert(&stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn the_scan_all_summary_carries_no_escape_sequence() {
    let dir = tempfile::tempdir().expect("dir");
    let tenants = dir.path().join("tenants.yaml");
    std::fs::write(
        &tenants,
        // HOSTILE in YAML's double-quoted escapes (YAML refuses raw control characters).
        "tenants:\n  - name: gone\n    offline: \"missing-Stad \\e[2J\\e]8;;https://evil.example\\aklik\\e]8;;\\a \\x9b31m\\u202eedrawnielK\"\n",
    )
    .expect("write");
    let (code, stdout, stderr) = run([
        os("scan"),
        os("--all"),
        os("--tenants"),
        tenants.as_os_str(),
        os("--reports-dir"),
        dir.path().join("reports").as_os_str(),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("failed"), "{stdout}");
    assert!(
        stdout.contains("\\u{1b}[2J"),
        "shown, not acted on: {stdout}"
    );
    assert_inert(&stdout);
    assert_inert(&stderr);
}

#[test]
fn archive_list_verify_and_diff_carry_no_escape_sequence() {
    let snapshot = hostile_snapshot();
    let archive = tempfile::tempdir().expect("dir");
    for _ in 0..2 {
        let (code, _, stderr) = run([
            os("scan"),
            os("--only"),
            os(TEL_01),
            os("--format"),
            os("json"),
            os("--offline"),
            snapshot.path().as_os_str(),
            os("--archive"),
            archive.path().as_os_str(),
        ]);
        assert_eq!(code, 1, "{stderr}");
        assert_inert(&stderr);
    }
    let (code, stdout, _) = run([os("archive"), os("list"), archive.path().as_os_str()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\\u{1b}"), "{stdout}");
    assert_inert(&stdout);
    std::fs::create_dir(
        archive
            .path()
            .join(format!("zz-{}", HOSTILE.replace('/', "-"))),
    )
    .expect("dir");
    let (code, stdout, _) = run([os("archive"), os("verify"), archive.path().as_os_str()]);
    assert_eq!(code, 1, "{stdout}");
    assert_inert(&stdout);
    let report = |verdict: &str| {
        json!({"schema": "cloudkeur.report/v1", "findings": [
            {"policy": format!("p-{HOSTILE}"), "control": HOSTILE, "verdict": verdict, "resources": []}
        ]})
    };
    let old = dir_file(&archive, "old.json", &report("pass"));
    let new = dir_file(&archive, "new.json", &report(&format!("fail{HOSTILE}")));
    let (code, stdout, _) = run([os("diff"), old.as_os_str(), new.as_os_str()]);
    assert_eq!(code, 1, "{stdout}");
    assert_inert(&stdout);
}

fn dir_file(dir: &tempfile::TempDir, name: &str, body: &Value) -> PathBuf {
    let path = dir.path().join(format!(".{name}"));
    std::fs::write(&path, serde_json::to_vec(body).expect("json")).expect("write");
    path
}

// ---------------------------------------------------------------------------------------------
// 8. The smaller ones: dates read whole, a declaration from the future, a tenant called
//    `summary`, a bundle replaced by a link, the DPO spelt otherwise.

/// Zonnedorp's evidence file with `edit` applied to its text, in a directory with its exports.
fn zonnedorp_evidence(edit: impl FnOnce(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let source = repo_path("fixtures/evidence");
    let text = std::fs::read_to_string(source.join("zonnedorp.yaml")).expect("fixture");
    let exports = dir.path().join("zonnedorp");
    std::fs::create_dir(&exports).expect("dir");
    for entry in std::fs::read_dir(source.join("zonnedorp")).expect("exports") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), exports.join(entry.file_name())).expect("copy");
    }
    let file = dir.path().join("evidence.yaml");
    std::fs::write(&file, edit(text)).expect("write");
    (dir, file)
}

fn finding_of_control<'a>(report: &'a Value, control: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["control"] == control))
        .unwrap_or_else(|| panic!("no finding for {control}"))
}

#[test]
fn a_declaration_dated_after_the_scan_date_does_not_count() {
    let (_dir, evidence) = zonnedorp_evidence(|text| text);
    let scan = |date: &str| {
        let (_, stdout, stderr) = run([
            os("scan"),
            os("--format"),
            os("json"),
            os("--only"),
            os("VTC-TEL-03"),
            os("--date"),
            os(date),
            os("--offline"),
            repo_path("fixtures/tenants/zonnedorp").as_os_str(),
            os("--evidence"),
            evidence.as_os_str(),
        ]);
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
        finding_of_control(&report, "VTC-TEL-03").clone()
    };
    assert_eq!(scan("2026-11-23")["verdict"], "pass");
    // Declared on 2026-03-12 (a declaration-only control): on the 11th it did not exist yet.
    let before = scan("2026-03-11");
    assert_eq!(before["verdict"], "evidence-missing", "{before}");
    assert!(
        before["reason"]
            .as_str()
            .is_some_and(|r| r.contains("after the scan date")),
        "{before}"
    );
}

#[test]
fn a_date_with_text_after_it_is_not_a_date() {
    let (_dir, evidence) = zonnedorp_evidence(|text| {
        text.replacen(
            "valid_until: \"2027-12-31\"",
            "valid_until: \"2027-12-31 but only if the contract is renewed\"",
            1,
        )
    });
    assert_one_line_input_error(
        run(zonnedorp_scan_args(&[
            os("--evidence"),
            evidence.as_os_str(),
        ])),
        "is not a date",
    );
    let dir = tempfile::tempdir().expect("dir");
    let waivers = dir.path().join("waivers.yaml");
    let text = std::fs::read_to_string(repo_path("fixtures/waivers/kleinwaarde.yaml"))
        .expect("fixture")
        .replacen(
            "valid_until: 2027-05-31",
            "valid_until: 2027-05-31 tenzij herzien",
            1,
        );
    std::fs::write(&waivers, text).expect("write");
    assert_one_line_input_error(
        run([
            os("scan"),
            os("--offline"),
            repo_path("fixtures/tenants/kleinwaarde").as_os_str(),
            os("--waivers"),
            waivers.as_os_str(),
        ]),
        "is not a date",
    );
}

#[test]
fn a_tenant_called_summary_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    for name in ["summary", "Summary"] {
        let tenants = dir.path().join("tenants.yaml");
        std::fs::write(
            &tenants,
            format!(
                "tenants:\n  - name: {name}\n    offline: {}\n",
                repo_path("fixtures/tenants/zonnedorp").display()
            ),
        )
        .expect("write");
        assert_one_line_input_error(
            run([
                os("scan"),
                os("--all"),
                os("--tenants"),
                tenants.as_os_str(),
                os("--reports-dir"),
                dir.path().join("reports").as_os_str(),
            ]),
            "is reserved",
        );
    }
    assert!(!dir.path().join("reports/summary.json").exists());
}

#[cfg(unix)]
#[test]
fn a_bundle_replaced_by_a_link_fails_verification() {
    let archive = tempfile::tempdir().expect("dir");
    let (code, _, stderr) = run([
        os("scan"),
        os("--only"),
        os(TEL_01),
        os("--format"),
        os("json"),
        os("--offline"),
        repo_path("fixtures/tenants/kleinwaarde").as_os_str(),
        os("--archive"),
        archive.path().as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let bundle = std::fs::read_dir(archive.path())
        .expect("archive")
        .map(|e| e.expect("entry").path())
        .find(|p| p.is_dir())
        .expect("a bundle");
    // The bundle moved elsewhere (and possibly edited there), a link left in its place.
    let elsewhere = tempfile::tempdir().expect("dir");
    let moved = elsewhere.path().join("bundle");
    std::fs::rename(&bundle, &moved).expect("move");
    symlink(&moved, &bundle);
    let (code, stdout, _) = run([os("archive"), os("verify"), archive.path().as_os_str()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("not a bundle directory"), "{stdout}");
}

#[test]
fn the_dpo_cannot_decide_under_another_spelling() {
    let dir = tempfile::tempdir().expect("dir");
    for role in [
        "de D.P.O.",
        "Functionaris Gegevensbescherming",
        "ＤＰＯ",
        "D P O",
        "Data-Protection Officer",
    ] {
        let waivers = dir.path().join("waivers.yaml");
        let text = std::fs::read_to_string(repo_path("fixtures/waivers/kleinwaarde.yaml"))
            .expect("fixture")
            .replacen(
                "decided_by: college van burgemeester en schepenen",
                &format!("decided_by: \"{role}\""),
                1,
            );
        std::fs::write(&waivers, text).expect("write");
        assert_one_line_input_error(
            run([
                os("scan"),
                os("--offline"),
                repo_path("fixtures/tenants/kleinwaarde").as_os_str(),
                os("--waivers"),
                waivers.as_os_str(),
            ]),
            "is the DPO, who advises but does not decide",
        );
    }
}

#[test]
fn a_fifo_or_dev_zero_as_a_credential_file_does_not_hang_a_live_scan() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("cert.pem");
    mkfifo(&fifo);
    for (flag, file) in [
        ("--certificate", fifo.as_os_str()),
        ("--federated-token-file", os("/dev/zero")),
    ] {
        let (code, _, stderr) = run([
            os("scan"),
            os("--tenant"),
            os("63e248ee-d6e3-5b7b-b64d-c05c8864a307"),
            os("--client-id"),
            os("11111111-2222-3333-4444-555555555555"),
            os("--graph-url"),
            os("http://127.0.0.1:9"),
            os("--authority-url"),
            os("http://127.0.0.1:9"),
            os(flag),
            file,
        ]);
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{flag}: one line: {stderr}");
        assert!(stderr.contains("regular file"), "{flag}: {stderr}");
    }
}

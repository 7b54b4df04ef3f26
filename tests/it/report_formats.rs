//! Every report format, written with `--report FORMAT=PATH` from one scan of Stad Kleinwaarde,
//! read back with a standard reader of that format.

use crate::support;
use crate::support::{cloudkeur, repo_path};
use crate::tenant_gen;
use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const FORMATS: [(&str, &str); 8] = [
    ("table", "report.txt"),
    ("json", "report.json"),
    ("sarif", "cloudkeur.sarif"),
    ("junit", "junit.xml"),
    ("ocsf", "findings.jsonl"),
    ("html", "rapport.html"),
    ("csv", "findings.csv"),
    ("markdown", "comment.md"),
];

/// The one scan all format tests read: its directory and its JSON report.
struct Scan {
    dir: PathBuf,
    report: Value,
}

impl Scan {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name))
            .unwrap_or_else(|e| panic!("{name} was not written: {e}"))
    }

    fn findings(&self) -> &Vec<Value> {
        self.report["findings"].as_array().expect("findings")
    }

    fn non_compliant(&self) -> Vec<&Value> {
        self.findings()
            .iter()
            .filter(|f| {
                !["pass", "waived", "not-applicable"].contains(&f["verdict"].as_str().unwrap_or(""))
            })
            .collect()
    }
}

/// A directory of this test process under target/tmp (kept for a look after a failure). Other
/// `cargo test` runs in the same tree must not clear it under us, so it is per process; the
/// directories of processes that have ended are removed.
fn output_dir() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ended = name
                .strip_prefix("report_formats-")
                .is_some_and(|pid| !Path::new("/proc").join(pid).exists());
            if ended && Path::new("/proc/self").exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(format!("report_formats-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create output dir");
    dir
}

fn kleinwaarde_scan() -> &'static Scan {
    static SCAN: OnceLock<Scan> = OnceLock::new();
    SCAN.get_or_init(|| {
        let dir = output_dir();
        let mut cmd = cloudkeur();
        cmd.arg("scan")
            .arg("--offline")
            .arg(repo_path("fixtures/tenants/kleinwaarde"))
            .args(["--format", "json"]);
        for (format, file) in FORMATS {
            cmd.arg("--report")
                .arg(format!("{format}={}", dir.join(file).display()));
        }
        let output = cmd.output().expect("cloudkeur runs");
        assert_eq!(
            output.status.code(),
            Some(1),
            "Kleinwaarde is not compliant; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = serde_json::from_slice(&output.stdout).expect("JSON report on stdout");
        Scan { dir, report }
    })
}

#[test]
fn every_report_flag_writes_its_file() {
    let scan = kleinwaarde_scan();
    for (format, file) in FORMATS {
        let text = scan.read(file);
        assert!(!text.trim().is_empty(), "{format} report {file} is empty");
    }
    let json: Value = serde_json::from_str(&scan.read("report.json")).expect("json");
    assert_eq!(json["findings"], scan.report["findings"]);
}

#[test]
fn sarif_report_is_valid_against_the_official_schema() {
    let scan = kleinwaarde_scan();
    let sarif: Value = serde_json::from_str(&scan.read("cloudkeur.sarif")).expect("SARIF is JSON");
    let schema_path = repo_path("../shared/schemas/sarif-schema-2.1.0.json");
    match std::fs::read_to_string(&schema_path) {
        Ok(text) => {
            let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
            let validator = jsonschema::validator_for(&schema).expect("schema compiles");
            let errors: Vec<String> = validator
                .iter_errors(&sarif)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
        }
        Err(err) => {
            let why = format!(
                "{} cannot be read ({err}); the schema validation is skipped, the checks below still run",
                schema_path.display()
            );
            assert!(
                !support::in_ci(),
                "{why}, and CI is set: CI must have shared/ beside the repository"
            );
            support::report_skip("sarif_report_is_valid_against_the_official_schema", &why);
        }
    }
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), scan.findings().len(), "one rule per policy");
    let results = run["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        scan.non_compliant().len(),
        "one result per non-compliant finding"
    );
    for result in results {
        let rule = &rules[result["ruleIndex"].as_u64().expect("ruleIndex") as usize];
        assert_eq!(result["ruleId"], rule["id"]);
        assert!(
            rule["properties"]["control"]
                .as_str()
                .is_some_and(|c| c.starts_with("VTC-"))
        );
        let expected = match rule["properties"]["severity"].as_str() {
            Some("critical" | "high") => "error",
            Some("medium") => "warning",
            _ => "note",
        };
        assert_eq!(result["level"], expected);
        let location = &result["locations"][0];
        assert!(location["logicalLocations"][0]["fullyQualifiedName"].is_string());
        // GitHub code scanning rejects a result without an artifact URI.
        assert!(location["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
}

/// Counts the start (or empty) tags of one element name.
fn count_elements(xml: &str, name: &[u8]) -> usize {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut count = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == name => count += 1,
            Event::Eof => return count,
            _ => {}
        }
    }
}

#[test]
fn junit_report_parses_with_one_test_case_per_policy() {
    let scan = kleinwaarde_scan();
    let xml = scan.read("junit.xml");
    let count = |verdicts: &[&str]| {
        scan.findings()
            .iter()
            .filter(|f| verdicts.contains(&f["verdict"].as_str().unwrap_or("")))
            .count()
    };
    assert_eq!(count_elements(&xml, b"testcase"), scan.findings().len());
    assert_eq!(
        count_elements(&xml, b"failure"),
        count(&["fail", "evidence-missing", "evidence-expired"])
    );
    assert_eq!(count_elements(&xml, b"error"), count(&["error"]));
    assert_eq!(
        count_elements(&xml, b"skipped"),
        count(&["waived", "not-applicable"])
    );
    assert!(count_elements(&xml, b"testsuite") >= 1);
    for finding in scan.findings() {
        let classname = format!(
            "classname=\"{}\"",
            finding["control"].as_str().expect("control")
        );
        assert!(xml.contains(&classname), "no test case with {classname}");
    }
}

#[test]
fn every_ocsf_line_is_a_compliance_finding_with_its_control() {
    let scan = kleinwaarde_scan();
    let text = scan.read("findings.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), scan.findings().len(), "one event per finding");
    for (line, finding) in lines.iter().zip(scan.findings()) {
        let event: Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(event["class_uid"], 2003);
        assert_eq!(event["category_uid"], 2);
        assert_eq!(event["type_uid"], 200301);
        assert_eq!(event["compliance"]["control"], finding["control"]);
        assert_eq!(
            event["compliance"]["standards"],
            serde_json::json!(["VTC", "GDPR"])
        );
        assert_eq!(event["cloud"]["provider"], "Microsoft 365");
        assert_eq!(
            event["cloud"]["account"]["uid"],
            scan.report["scan"]["tenant"]
        );
        assert_eq!(event["metadata"]["product"]["name"], "cloudkeur");
        assert!(
            event["time"]
                .as_i64()
                .is_some_and(|ms| ms > 1_700_000_000_000)
        );
        assert!(
            event["severity_id"]
                .as_u64()
                .is_some_and(|s| (2..=5).contains(&s))
        );
        assert_eq!(
            event["finding_info"]["uid"].as_str().map(str::len),
            Some(64)
        );
    }
}

#[test]
fn ocsf_finding_uid_is_the_same_in_the_next_scan() {
    let scan = kleinwaarde_scan();
    let uids = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|line| {
                serde_json::from_str::<Value>(line).expect("json")["finding_info"]["uid"].clone()
            })
            .collect()
    };
    let again = cloudkeur()
        .arg("scan")
        .arg("--offline")
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .args(["--format", "ocsf"])
        .output()
        .expect("runs");
    assert_eq!(
        uids(&String::from_utf8_lossy(&again.stdout)),
        uids(&scan.read("findings.jsonl"))
    );
}

#[test]
fn syslog_receiver_gets_one_octet_counted_rfc5424_message_per_finding() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let address = listener.local_addr().expect("address");
    let receiver = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("cloudkeur connects");
        let mut bytes = Vec::new();
        stream
            .read_to_end(&mut bytes)
            .expect("read until cloudkeur closes");
        bytes
    });
    let status = cloudkeur()
        .arg("scan")
        .arg("--offline")
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .args(["--format", "json", "--syslog", &address.to_string()])
        .output()
        .expect("runs");
    assert_eq!(
        status.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = receiver.join().expect("receiver thread");
    let mut messages = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ').expect("MSG-LEN SP");
        let length: usize = std::str::from_utf8(&rest[..space])
            .expect("digits")
            .parse()
            .expect("a length");
        let message = &rest[space + 1..space + 1 + length];
        messages.push(String::from_utf8(message.to_vec()).expect("UTF-8"));
        rest = &rest[space + 1 + length..];
    }
    let report: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(
        messages.len(),
        report["findings"].as_array().expect("findings").len()
    );
    for message in &messages {
        assert!(message.starts_with('<'), "PRI first: {message}");
        assert!(message.contains(">1 "), "RFC 5424 version 1: {message}");
        assert!(message.contains(" cloudkeur "), "APP-NAME: {message}");
        let json = &message[message.find('{').expect("a JSON payload")..];
        let event: Value = serde_json::from_str(json).expect("payload is the OCSF event");
        assert_eq!(event["class_uid"], 2003);
    }
}

#[test]
fn csv_has_one_row_per_finding() {
    let scan = kleinwaarde_scan();
    let text = scan.read("findings.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("header row").clone();
    assert!(headers.iter().any(|h| h == "control"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a valid row")).collect();
    assert_eq!(rows.len(), scan.findings().len());
}

#[test]
fn markdown_lists_every_non_compliant_control() {
    let scan = kleinwaarde_scan();
    let text = scan.read("comment.md");
    assert!(text.contains("| Verdict |"), "a findings table: {text}");
    for finding in scan.non_compliant() {
        let control = finding["control"].as_str().expect("control");
        assert!(
            text.contains(control),
            "{control} missing from the Markdown"
        );
    }
}

#[test]
fn html_report_is_self_contained() {
    let scan = kleinwaarde_scan();
    let html = scan.read("rapport.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"), "an inline chart");
    for forbidden in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "url(",
        "@import",
    ] {
        assert!(
            !html.contains(forbidden),
            "HTML must fetch nothing, found {forbidden}"
        );
    }
    for finding in scan.findings() {
        assert!(html.contains(finding["control"].as_str().expect("control")));
    }
}

#[test]
fn html_report_renders_in_headless_chromium_without_console_errors() {
    let scan = kleinwaarde_scan();
    let Some(chromium) = support::required_tool(
        "html_report_renders_in_headless_chromium_without_console_errors",
        &["chromium", "chromium-browser"],
        "apt-get install -y chromium; .ci/run installs it",
    ) else {
        return;
    };
    let profile = tempfile::TempDir::new().expect("temp dir");
    let shot = scan.file("shot.png");
    let _ = std::fs::remove_file(&shot);
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", scan.file("rapport.html").display()))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Chromium logs every console message as `INFO:CONSOLE…`, errors and CSP violations alike;
    // the page has no script, so any console line is a fault (a blocked fetch, a parse error).
    let console_errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("CONSOLE") || line.contains("Uncaught"))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "no screenshot written ({size} bytes); stderr:\n{stderr}"
    );
}

#[test]
fn bad_report_value_is_a_usage_error() {
    let kleinwaarde = repo_path("fixtures/tenants/kleinwaarde");
    for bad in ["foo=x.txt", "sarif", "html="] {
        let output = cloudkeur()
            .arg("scan")
            .arg("--offline")
            .arg(&kleinwaarde)
            .args(["--report", bad])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "--report {bad}: {stderr}");
        assert!(stderr.contains("--report"), "names the flag: {stderr}");
        assert!(
            stderr.contains("FORMAT=PATH") || stderr.contains("format"),
            "says what is expected: {stderr}"
        );
    }
}

#[test]
fn html_report_shows_each_waiver_with_its_decision_and_dpo_advice() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let html = dir.path().join("rapport.html");
    cloudkeur()
        .arg("scan")
        .arg("--offline")
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--waivers")
        .arg(repo_path("fixtures/waivers/kleinwaarde.yaml"))
        .args(["--only", "VTC-MFA-02", "--format", "json"])
        .arg("--report")
        .arg(format!("html={}", html.display()))
        .output()
        .expect("runs");
    let text = std::fs::read_to_string(&html).expect("html written");
    for expected in [
        "W-2026-001",
        "DPO-advies 2026/009",
        "2027-05-31",
        "collegebesluit 2026/0512-14",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the waiver block"
        );
    }
}

/// A tenant with a thousand failing accounts, every format at once with `--max-items 10`: HTML,
/// Markdown and JUnit name ten items of a finding and count the rest, in the report's language;
/// JSON, CSV, OCSF and SARIF keep every item.
#[test]
fn reports_for_people_list_the_first_items_and_reports_for_machines_all() {
    let spec = tenant_gen::TenantSpec::failing(2_000, 0.5);
    let failing = tenant_gen::failures(&spec).mfa_04;
    let tenant = tempfile::tempdir().expect("temp dir");
    tenant_gen::write_snapshot(&spec, tenant.path());
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = cloudkeur();
    cmd.arg("scan")
        .arg("--offline")
        .arg(tenant.path())
        .args([
            "--only",
            "VTC-MFA-04",
            "--reveal-identities",
            "--lang",
            "en",
        ])
        .args(["--max-items", "10", "--format", "json"]);
    for (format, file) in FORMATS {
        cmd.arg("--report")
            .arg(format!("{format}={}", out.path().join(file).display()));
    }
    let output = cmd.output().expect("cloudkeur runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let read = |file: &str| std::fs::read_to_string(out.path().join(file)).expect(file);
    let domain = format!("@{}", spec.domain());
    let more = format!(
        "and {} more, all listed in the JSON and CSV reports",
        failing - 10
    );

    let html = read("rapport.html");
    assert_eq!(html.matches(&domain).count(), 10, "HTML names ten accounts");
    assert!(html.contains(&more), "HTML counts the rest");
    let markdown = read("comment.md");
    assert_eq!(markdown.matches(&spec.domain()).count(), 10);
    assert!(markdown.contains(&more));
    let junit = read("junit.xml");
    assert_eq!(
        junit.matches(&domain).count(),
        20,
        "message and description"
    );
    assert_eq!(junit.matches(&more).count(), 2);

    let json: Value = serde_json::from_str(&read("report.json")).expect("JSON");
    let items = json["findings"][0]["items"].as_array().expect("items");
    assert_eq!(items.len(), failing, "JSON keeps every item");
    for file in ["findings.csv", "findings.jsonl", "cloudkeur.sarif"] {
        let text = read(file);
        assert!(
            text.matches(&domain).count() >= failing,
            "{file} keeps every item"
        );
        assert!(!text.contains("more, all listed"), "{file}");
    }
}

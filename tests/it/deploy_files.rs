//! The files for scheduled scans are checked here: the systemd units with `systemd-analyze
//! verify` (where it is installed; skipped with a `SKIPPED` line in the test output elsewhere), the Kubernetes manifest as YAML with the fields that matter,
//! the Containerfile's instructions; and `--log-format json` gives one JSON object per line.

use crate::support;
use crate::support::{cloudkeur, repo_path};
use serde_json::Value;
use std::process::Command;

#[test]
fn systemd_units_verify() {
    let Some(analyze) = support::optional_tool(
        "systemd_units_verify",
        "systemd-analyze",
        "apt-get install -y systemd",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // verify checks that ExecStart's binary exists: point it at the one just built.
    let service = std::fs::read_to_string(repo_path("deploy/systemd/cloudkeur.service"))
        .expect("service")
        .replace("/usr/local/bin/cloudkeur", env!("CARGO_BIN_EXE_cloudkeur"));
    std::fs::write(dir.path().join("cloudkeur.service"), service).expect("write");
    std::fs::copy(
        repo_path("deploy/systemd/cloudkeur.timer"),
        dir.path().join("cloudkeur.timer"),
    )
    .expect("copy");
    let output = Command::new(analyze)
        .arg("verify")
        .arg(dir.path().join("cloudkeur.service"))
        .arg(dir.path().join("cloudkeur.timer"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // verify exits 0 on settings it ignores; it names the unit file in each complaint.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cloudkeur.service") || l.contains("cloudkeur.timer"))
        .collect();
    assert!(output.status.success() && complaints.is_empty(), "{stderr}");
}

#[test]
fn kubernetes_cronjob_parses_and_holds_no_secret() {
    let text =
        std::fs::read_to_string(repo_path("deploy/kubernetes/cronjob.yaml")).expect("manifest");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("valid YAML");
    let kinds: Vec<&str> = documents
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "PersistentVolumeClaim",
            "CronJob"
        ]
    );
    let cronjob = &documents[3];
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    assert_eq!(pod["spec"]["serviceAccountName"], "cloudkeur");
    assert!(!kinds.contains(&"Secret"));
    assert!(!text.contains("AZURE_CLIENT_SECRET") && !text.contains("secretKeyRef"));
    // The arguments are flags this cloudkeur knows.
    let args: Vec<String> = pod["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    let help = cloudkeur().args(["scan", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in args.iter().skip(1) {
        let name = flag.split('=').next().unwrap_or_default();
        assert!(help.contains(name), "unknown flag {name} in the CronJob");
    }
}

#[test]
fn containerfile_has_known_instructions_and_a_non_root_user() {
    let text = std::fs::read_to_string(repo_path("Containerfile")).expect("Containerfile");
    let known = [
        "FROM",
        "RUN",
        "COPY",
        "ADD",
        "WORKDIR",
        "ENV",
        "ARG",
        "USER",
        "ENTRYPOINT",
        "CMD",
        "LABEL",
        "EXPOSE",
        "VOLUME",
        "HEALTHCHECK",
        "STOPSIGNAL",
        "SHELL",
    ];
    let mut continued = false;
    let mut instructions = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if !continued && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !continued {
            let word = trimmed.split_whitespace().next().unwrap_or_default();
            assert!(known.contains(&word), "unknown instruction: {line}");
            instructions.push((word.to_owned(), trimmed.to_owned()));
        }
        continued = trimmed.ends_with('\\');
    }
    assert_eq!(instructions.first().map(|i| i.0.as_str()), Some("FROM"));
    let user = instructions
        .iter()
        .rev()
        .find(|i| i.0 == "USER")
        .expect("USER");
    assert!(
        !user.1.contains("root") && !user.1.ends_with(" 0"),
        "{}",
        user.1
    );
    let entrypoint = instructions
        .iter()
        .find(|i| i.0 == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    let exec: Vec<String> =
        serde_json::from_str(entrypoint.1.trim_start_matches("ENTRYPOINT")).expect("exec form");
    assert_eq!(exec, ["/usr/local/bin/cloudkeur"]);
}

#[test]
fn json_log_format_writes_one_json_object_per_line() {
    let output = cloudkeur()
        .args(["--log-format", "json", "scan", "--offline"])
        .arg(repo_path("fixtures/tenants/kleinwaarde"))
        .arg("--waivers")
        .arg(repo_path("fixtures/waivers/kleinwaarde.yaml"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let finished = events
        .iter()
        .find(|e| e["event"] == "scan-finished")
        .expect("scan-finished event");
    assert_eq!(finished["exit_code"], 1);
    assert_eq!(finished["compliant"], false);
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["timestamp"].is_string())
    );
    // The error that ends a run is a JSON line too.
    let failed = cloudkeur()
        .args([
            "--log-format",
            "json",
            "scan",
            "--offline",
            "/no/such/snapshot",
        ])
        .output()
        .expect("runs");
    assert_eq!(failed.status.code(), Some(2));
    let line: Value = serde_json::from_slice(&failed.stderr).expect("one JSON line");
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["exit_code"], 2);
}

#[test]
fn bad_log_format_exits_2() {
    let output = cloudkeur()
        .args(["--log-format", "xml", "policy", "list"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--log-format"));
}

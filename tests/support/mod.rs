//! Test support: build small snapshot directories and policy packs in temporary directories.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub fn cloudkeur() -> Command {
    let mut cmd = Command::cargo_bin("cloudkeur").expect("binary builds");
    cmd.env_remove("NO_COLOR").env_remove("COLUMNS");
    cmd
}

/// `cloudkeur scan` against the simulated tenant `sim`, as its app, with no credential yet:
/// each test adds the one it means (or none) and its flags.
pub fn live_cmd(sim: &crate::graph_sim::SimGraph) -> Command {
    let mut cmd = cloudkeur();
    cmd.arg("scan")
        .args(sim.url_args())
        .env("AZURE_TENANT_ID", crate::graph_sim::TENANT)
        .env("AZURE_CLIENT_ID", crate::graph_sim::CLIENT_ID)
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE");
    cmd
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A snapshot directory written the way the connector writes one.
pub struct SnapshotDir {
    pub dir: TempDir,
    resources: serde_json::Map<String, Value>,
}

impl SnapshotDir {
    pub fn new() -> Self {
        SnapshotDir {
            dir: TempDir::new().expect("temp dir"),
            resources: serde_json::Map::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds a resource that was read, with a correct hash.
    pub fn ok(mut self, name: &str, body: Value) -> Self {
        let file = format!("{name}.json");
        let bytes = serde_json::to_vec_pretty(&body).expect("json");
        std::fs::write(self.dir.path().join(&file), &bytes).expect("write");
        self.resources.insert(
            name.into(),
            json!({"status": "ok", "http_status": 200, "file": file, "sha256": cloudkeur::digest::sha256_hex(&bytes)}),
        );
        self
    }

    /// Adds a resource entry whose file holds these raw bytes (hash matching them).
    pub fn raw(mut self, name: &str, bytes: &[u8]) -> Self {
        let file = format!("{name}.json");
        std::fs::write(self.dir.path().join(&file), bytes).expect("write");
        self.resources.insert(
            name.into(),
            json!({"status": "ok", "file": file, "sha256": cloudkeur::digest::sha256_hex(bytes)}),
        );
        self
    }

    pub fn entry(mut self, name: &str, entry: Value) -> Self {
        self.resources.insert(name.into(), entry);
        self
    }

    pub fn write(self) -> Self {
        let manifest = json!({
            "format": "cloudkeur.snapshot/v1",
            "tenant_id": "00000000-0000-4000-8000-000000000001",
            "tenant_name": "Gemeente Testdorp",
            "source": "fixture",
            "collected_at": "2026-11-20T06:00:00Z",
            "resources": self.resources,
        });
        std::fs::write(
            self.dir.path().join("manifest.json"),
            serde_json::to_vec_pretty(&manifest).expect("json"),
        )
        .expect("write manifest");
        self
    }
}

/// Runs a JSON scan of `dir` limited to `only`, returning (exit code, report).
pub fn scan_json(dir: &Path, only: &[&str]) -> (i32, Value) {
    let mut cmd = cloudkeur();
    cmd.arg("scan")
        .arg("--offline")
        .arg(dir)
        .args(["--format", "json"]);
    for id in only {
        cmd.args(["--only", id]);
    }
    let output = cmd.output().expect("runs");
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report)
}

pub fn finding<'a>(report: &'a Value, policy: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["policy"] == policy))
        .unwrap_or_else(|| panic!("no finding for {policy} in {report}"))
}

/// Whether CI runs these tests: `CI` is set by GitHub Actions, GitLab CI, Azure Pipelines and
/// `.ci/run`.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Says that `test` was skipped and why, where `cargo test` shows it. Not through `eprintln!`:
/// the test harness captures that and prints it only for a failing test, so a skip would look
/// like any passing test. Writing to the standard error handle itself goes past the capture and
/// lands in the output beside the `test … ok` lines, locally and in CI logs.
pub fn report_skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The first of `names` that runs (`NAME --version` succeeds), for a test that needs an external
/// tool CI provides (`.ci/run` installs it). Without it: in CI the test fails, naming the tool and
/// how to install it, so that CI can never pass a check it did not run; elsewhere the test is
/// skipped, visibly ([`report_skip`]).
pub fn required_tool(test: &str, names: &[&'static str], install: &str) -> Option<&'static str> {
    let found = names.iter().copied().find(|name| {
        std::process::Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        let why = format!("{} is not installed ({install})", names.join(" or "));
        assert!(!in_ci(), "{test}: {why}, and CI is set: CI must provide it");
        report_skip(test, &why);
    }
    found
}

/// Like [`required_tool`], for a tool CI may lack (`systemd-analyze` in a container): without
/// it the test is skipped, visibly, in CI too.
pub fn optional_tool(test: &str, name: &'static str, install: &str) -> Option<&'static str> {
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        report_skip(test, &format!("{name} is not installed ({install})"));
    }
    found.then_some(name)
}

//! A live Microsoft 365 scan asks for its Graph token while the policy pack loads
//! (`connector::EarlyStart`): the token is requested before the scan reads and not again, a
//! refused credential is asked once and stops the scan as before, and wrong flags or credential
//! files stop it before any request.

use crate::graph_sim::{SimGraph, SimOptions};
use crate::support::live_cmd;
use cloudkeur::connector::{Credential, EarlyStart, NoProgress, Secret, token_scope};
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::registry::Service;
use cloudkeur::snapshot::Collected;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CANARY: &str = "canary-early-Zx9-secret-7f3e";

fn secret_sim() -> SimGraph {
    SimGraph::start(SimOptions {
        client_secret: CANARY.into(),
        ..SimOptions::default()
    })
}

#[test]
fn the_graph_token_is_asked_for_before_the_scan_reads_and_not_again() {
    let sim = secret_sim();
    let config = sim.live_config(Credential::ClientSecret(Secret::new(CANARY)));
    let early = EarlyStart::begin(&config).expect("the scan may read Graph");
    // Nothing waits for the thread: the token request arrives on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.token_requests() == 0 {
        assert!(Instant::now() < deadline, "no token request");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(sim.requests().len(), 1, "only the token request");
    let pack = PolicyPack::load(&PackSource::BuiltIn).unwrap();
    let wanted: BTreeSet<String> = ["users", "organization", "teams_meeting_policies"]
        .map(String::from)
        .into();
    let collection = early
        .collect(&pack.registry, &wanted, None, Arc::new(NoProgress))
        .expect("the scan runs");
    for name in &wanted {
        assert!(
            matches!(collection.resources.get(name), Some(Collected::Read { .. })),
            "{name}: {:?}",
            collection.resources.get(name)
        );
    }
    // One Graph token, cached for the scan; Teams has an audience of its own.
    let graph = token_scope(Service::Graph, &config.graph_url);
    let scopes = sim.issued_scopes();
    assert_eq!(
        scopes.iter().filter(|s| **s == graph).count(),
        1,
        "{scopes:?}"
    );
    assert_eq!(sim.token_requests(), 2, "Graph's and Teams': {scopes:?}");
    sim.assert_only_reads();

    // A scan that may not read Graph asks for no Graph token early.
    let mut without_graph = config.clone();
    without_graph.services = Some([Service::Exchange].into());
    assert!(EarlyStart::begin(&without_graph).is_none());
}

/// A refused credential: one token request, exit 2, the same one-line error whether the token
/// was asked for early (Graph allowed) or by the engine (`--services` without Graph), no read.
#[test]
fn a_refused_credential_is_asked_for_once_and_stops_the_scan_as_before() {
    let mut errors = Vec::new();
    for services in [None, Some("exchange")] {
        let sim = secret_sim();
        let mut cmd = live_cmd(&sim);
        cmd.env("AZURE_CLIENT_SECRET", format!("{CANARY}-wrong"));
        if let Some(services) = services {
            cmd.args(["--services", services]);
        }
        let run = cmd.output().unwrap();
        assert_eq!(run.status.code(), Some(2), "{services:?}");
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("AZURE_CLIENT_SECRET") && stderr.contains("invalid_client"));
        assert!(!stderr.contains(CANARY) && run.stdout.is_empty());
        assert_eq!(
            sim.token_requests(),
            1,
            "{services:?}: {:?}",
            sim.requests()
        );
        assert_eq!(sim.requests().len(), 1, "{services:?}: nothing read");
        errors.push(stderr);
    }
    // The audience differs (Graph's, Exchange's); the error does not.
    assert_eq!(
        errors[0].replace("graph", "SERVICE"),
        errors[1].replace("exchange", "SERVICE")
    );
}

/// Wrong flags and credential files are found before the token is asked for: no request.
#[test]
fn wrong_flags_or_credential_files_stop_the_scan_before_any_request() {
    let sim = secret_sim();
    let dir = tempfile::tempdir().unwrap();
    let not_a_pem = dir.path().join("app.pem");
    std::fs::write(&not_a_pem, "not a certificate").unwrap();
    let runs = [
        live_cmd(&sim)
            .arg("--certificate")
            .arg(&not_a_pem)
            .output()
            .unwrap(),
        live_cmd(&sim)
            .env("AZURE_CLIENT_SECRET", CANARY)
            .arg("--certificate")
            .arg(&not_a_pem)
            .output()
            .unwrap(),
        live_cmd(&sim)
            .env("AZURE_CLIENT_SECRET", CANARY)
            .args(["--google-admin", "admin@example.org"])
            .output()
            .unwrap(),
        live_cmd(&sim)
            .env("AZURE_CLIENT_SECRET", CANARY)
            .args(["--exchange-url", "http://outlook.example"])
            .output()
            .unwrap(),
    ];
    for run in runs {
        assert_eq!(
            run.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

//! The Google Workspace connector against the simulated Google (tests/support/google_sim.rs), in
//! process on tokio's paused clock: both credential kinds end to end, the same findings as the
//! offline replay of the fixture, paging with blank pages, retries and their waits, errors that
//! give `error` and never `pass`, only GETs to the APIs and only read-only scopes, and no secret
//! anywhere.

use crate::google_sim::{
    AUDIENCE, Fault, ORIGIN, SERVICE_ACCOUNT, SUBJECT_TOKEN, SimGoogle, SimOptions,
};
use cloudkeur::connector::google::{
    ApiOrigins, AuthEndpoints, GoogleConfig, GoogleCredential, MY_CUSTOMER, collect, encode, scopes,
};
use cloudkeur::connector::transport::Transport;
use cloudkeur::connector::{ConnectorError, RetryPolicy};
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Collected, Collection, read_dir};
use cloudkeur::vendor::Vendor;
use reqwest::Url;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub(crate) const ADMIN: &str = "directie@klimop.example";

fn pack() -> PolicyPack {
    PolicyPack::load(&PackSource::BuiltIn).expect("pack")
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        max_total: Duration::from_secs(300),
        request_timeout: Duration::from_secs(30),
    }
}

fn endpoints() -> AuthEndpoints {
    let origin = Url::parse(ORIGIN).unwrap();
    AuthEndpoints {
        token: origin.join("/token").unwrap(),
        sts: origin.join("/v1/token").unwrap(),
        iam_credentials: origin,
    }
}

pub(crate) struct Keys {
    /// The key file's JSON (holds the private key).
    pub file: String,
    pub public_pem: String,
}

pub(crate) fn key_file() -> Keys {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let file = json!({
        "type": "service_account", "project_id": "schoolbestuur-scan", "private_key_id": "5f1c0ffee",
        "private_key": key.serialize_pem(), "client_email": SERVICE_ACCOUNT,
        "client_id": "104857600123456789012", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token", "universe_domain": "googleapis.com"
    });
    Keys {
        file: file.to_string(),
        public_pem: key.public_key_pem(),
    }
}

fn klimop_users() -> BTreeSet<String> {
    let users: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenants/klimop/google_users.json"),
        )
        .unwrap(),
    )
    .unwrap();
    users["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["primaryEmail"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn options(key_pem: Option<String>) -> SimOptions {
    SimOptions {
        fixture: "fixtures/tenants/klimop".into(),
        key_pem,
        delegated: crate::google_sim::all_read_only_scopes(),
        super_admins: BTreeSet::from([ADMIN.to_owned()]),
        users: klimop_users(),
        page_size: 3,
        token_lifetime: 3599,
        echo_refused: false,
    }
}

fn config(credential: GoogleCredential) -> GoogleConfig {
    GoogleConfig {
        customer: MY_CUSTOMER.into(),
        admin: ADMIN.into(),
        credential,
        api: ApiOrigins::one(Url::parse(ORIGIN).unwrap()),
        auth: endpoints(),
        retry: retry(),
        max_response_bytes: 64 << 20,
        concurrency: 8,
    }
}

fn key_credential(keys: &Keys) -> GoogleCredential {
    GoogleCredential::from_json(keys.file.as_bytes(), &endpoints(), None).expect("key file")
}

async fn scan(sim: &Arc<SimGoogle>, config: &GoogleConfig) -> Result<Collection, ConnectorError> {
    let pack = pack();
    let transport: Arc<dyn Transport> = Arc::clone(sim) as Arc<dyn Transport>;
    collect(config, transport, &pack.registry, &pack.needed_resources()).await
}

fn verdicts(findings: &[Finding]) -> Vec<(String, Verdict, Vec<Option<String>>)> {
    findings
        .iter()
        .map(|f| {
            (
                f.policy.clone(),
                f.verdict,
                f.items.iter().map(|i| i.label.clone()).collect(),
            )
        })
        .collect()
}

fn evaluate_snapshot(snapshot: &cloudkeur::snapshot::Snapshot) -> Vec<Finding> {
    let settings = Settings::default();
    let evidence = Evidence::default();
    evaluate(
        &pack(),
        Inputs {
            snapshot,
            settings: &settings,
            evidence: &evidence,
            today: time::macros::date!(2026 - 11 - 21),
        },
    )
}

/// The findings of the live scan are those of the offline fixture, and the snapshot names Google.
fn assert_same_as_offline(collection: Collection) {
    let pack = pack();
    let encoded = encode(collection);
    assert_eq!(encoded.manifest().vendor, Vendor::Google);
    let live = encoded.to_snapshot(&pack.registry, &pack.projections());
    assert_eq!(live.vendor(), Vendor::Google);
    let offline = read_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenants/klimop"),
        &pack.registry,
        &pack.projections(),
    )
    .unwrap();
    let (live, offline) = (evaluate_snapshot(&live), evaluate_snapshot(&offline));
    assert_eq!(live.len(), 31);
    assert_eq!(verdicts(&live), verdicts(&offline));
    assert!(live.iter().any(|f| f.verdict == Verdict::Fail));
}

/// Every API request is a GET; every POST is one of the credential's own requests; every
/// scope asked is read-only and one the scan needs.
fn assert_read_only(sim: &SimGoogle) {
    let pack = pack();
    let needed: BTreeSet<String> = scopes(&pack.registry, &pack.needed_resources())
        .unwrap()
        .into_iter()
        .collect();
    let mut token_requests = 0;
    for entry in sim.log() {
        match entry.method {
            "GET" => assert!(
                entry.path.starts_with("/admin/directory/v1/") || entry.path == "/v1/policies",
                "{entry:?}"
            ),
            "POST" => {
                assert!(
                    entry.path == "/token"
                        || entry.path == "/v1/token"
                        || entry.path.ends_with(":signJwt"),
                    "{entry:?}"
                );
                if entry.path == "/token" {
                    token_requests += 1;
                    let asked: BTreeSet<String> = entry.scopes.iter().cloned().collect();
                    assert_eq!(asked, needed, "exactly the scopes the scan needs");
                    assert!(asked.iter().all(|s| s.ends_with(".readonly")), "{asked:?}");
                    assert_eq!(entry.subject.as_deref(), Some(ADMIN));
                }
            }
            other => panic!("{other}"),
        }
    }
    assert!(token_requests >= 1);
}

/// No secret in what the scan produced: the manifest, the bodies, the errors.
fn assert_no_secret(collection: &Collection, secrets: &[&str]) {
    let text = format!("{collection:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "a secret reached the collection");
    }
    assert!(!text.contains("canary"), "a token reached the collection");
}

#[tokio::test(start_paused = true)]
async fn a_service_account_key_reads_the_customer_as_the_offline_fixture_has_it() {
    let keys = key_file();
    let sim = SimGoogle::new(options(Some(keys.public_pem.clone())));
    let collection = scan(&sim, &config(key_credential(&keys)))
        .await
        .expect("scan");
    // `my_customer` resolved to the customer's id; its name is its primary domain.
    assert_eq!(collection.tenant_id, "C02klmp9x");
    assert_eq!(collection.tenant_name.as_deref(), Some("klimop.example"));
    for (name, collected) in &collection.resources {
        let Collected::Read { body, .. } = collected else {
            panic!("{name} not read: {collected:?}");
        };
        assert_eq!(body, &sim.fixture_body(name), "{name}");
    }
    // Paged as Google pages: the Policy API with its blank pages in between.
    let Some(Collected::Read { pages, request, .. }) = collection.resources.get("google_policies")
    else {
        panic!("policies");
    };
    let policies = sim.fixture_body("google_policies")["value"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        *pages as usize,
        2 * policies.div_ceil(3) - 1,
        "pages of 3 and blank pages"
    );
    assert_eq!(request, "GET /v1/policies?pageSize=100");
    let key_text = json!(keys.file).to_string();
    let private_key: Value = serde_json::from_str(&keys.file).unwrap();
    assert_no_secret(
        &collection,
        &[private_key["private_key"].as_str().unwrap(), &key_text],
    );
    assert_read_only(&sim);
    assert_same_as_offline(collection);
}

#[tokio::test(start_paused = true)]
async fn workload_identity_federation_reads_the_customer_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.jwt"), format!("{SUBJECT_TOKEN}\n")).unwrap();
    let external = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{ORIGIN}/v1/token"),
        "service_account_impersonation_url": format!("{ORIGIN}/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:generateAccessToken"),
        "credential_source": {"file": "token.jwt"}
    });
    std::fs::write(dir.path().join("external.json"), external.to_string()).unwrap();
    let credential =
        GoogleCredential::from_file(&dir.path().join("external.json"), &endpoints()).unwrap();
    let sim = SimGoogle::new(options(None));
    let collection = scan(&sim, &config(credential)).await.expect("scan");
    assert!(
        collection
            .resources
            .values()
            .all(|c| matches!(c, Collected::Read { .. }))
    );
    // STS, then signJwt, then the JWT bearer grant, then the reads.
    let posts: Vec<String> = sim
        .log()
        .into_iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        posts,
        [
            "/v1/token".to_owned(),
            format!("/v1/projects/-/serviceAccounts/{SERVICE_ACCOUNT}:signJwt"),
            "/token".to_owned()
        ]
    );
    let sts = sim
        .log()
        .into_iter()
        .find(|e| e.path == "/v1/token")
        .unwrap();
    assert_eq!(sts.scopes, ["https://www.googleapis.com/auth/iam"]);
    assert_no_secret(&collection, &[SUBJECT_TOKEN]);
    assert_read_only(&sim);
    assert_same_as_offline(collection);
}

#[tokio::test(start_paused = true)]
async fn throttling_and_server_errors_are_retried_with_backoff_and_retry_after() {
    let keys = key_file();
    let sim = SimGoogle::new(options(Some(keys.public_pem.clone())));
    sim.fault("/v1/policies", Fault::Status(429, Some(20)));
    sim.fault("/v1/policies", Fault::Status(503, None));
    sim.fault("/admin/directory/v1/users", Fault::DirectoryRateLimit);
    sim.fault("/admin/directory/v1/users", Fault::Stall);
    let started = Instant::now();
    let collection = scan(&sim, &config(key_credential(&keys)))
        .await
        .expect("scan");
    for name in ["google_policies", "google_users"] {
        assert!(
            matches!(collection.resources[name], Collected::Read { .. }),
            "{name}: {:?}",
            collection.resources[name]
        );
    }
    // The resources are read at the same time (the engine), so the scan takes its longest
    // chain (about 34 s): the users' backoff and 30 s timeout; the policies' Retry-After
    // (20 s), backoff and pages a second apart. Read one after another (--concurrency 1),
    // the waits add up to about 65 s.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(31), "{waited:?}");
    assert!(waited < Duration::from_secs(50), "{waited:?}");
    let policy_gets = sim
        .log()
        .iter()
        .filter(|e| e.path == "/v1/policies")
        .count();
    let pages = match &collection.resources["google_policies"] {
        Collected::Read { pages, .. } => *pages as usize,
        _ => unreachable!(),
    };
    assert_eq!(
        policy_gets,
        pages + 2,
        "two failed attempts, then every page once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_the_resources_error_and_its_policies_never_pass() {
    let keys = key_file();
    let sim = SimGoogle::new(options(Some(keys.public_pem.clone())));
    sim.fault(
        "/admin/directory/v1/customer/my_customer/orgunits",
        Fault::ScopeMissing,
    );
    let pages_before = sim.log().len();
    let collection = scan(&sim, &config(key_credential(&keys)))
        .await
        .expect("scan");
    let Collected::Failed {
        http_status, error, ..
    } = &collection.resources["google_org_units"]
    else {
        panic!("org units read despite the 403");
    };
    assert_eq!(*http_status, Some(403));
    assert!(error.contains("ACCESS_TOKEN_SCOPE_INSUFFICIENT"), "{error}");
    assert!(
        error.contains("grant https://www.googleapis.com/auth/admin.directory.orgunit.readonly"),
        "{error}"
    );
    // Not retried: one GET of the org units.
    let org_unit_gets = sim
        .log()
        .iter()
        .skip(pages_before)
        .filter(|e| e.path.ends_with("/orgunits"))
        .count();
    assert_eq!(org_unit_gets, 1);
    let pack = pack();
    let snapshot = encode(collection).to_snapshot(&pack.registry, &pack.projections());
    let findings = evaluate_snapshot(&snapshot);
    for policy in [
        "gws-mfa-01-two-step-verification-enforced",
        "gws-mfa-05-less-secure-apps-off",
        "gws-mtg-01-no-anonymous-participants",
    ] {
        let finding = findings.iter().find(|f| f.policy == policy).unwrap();
        assert_eq!(
            finding.verdict,
            Verdict::Error,
            "{policy}: {}",
            finding.reason
        );
        assert!(
            finding.reason.contains("google_org_units"),
            "{}",
            finding.reason
        );
    }
}

#[tokio::test(start_paused = true)]
async fn persistent_unavailability_ends_as_an_error_within_the_bounds() {
    let keys = key_file();
    let sim = SimGoogle::new(options(Some(keys.public_pem.clone())));
    for _ in 0..10 {
        sim.fault(
            "/admin/directory/v1/customer/my_customer/domains",
            Fault::Status(503, None),
        );
    }
    sim.fault(
        "/admin/directory/v1/customer/my_customer/roles",
        Fault::NotJson,
    );
    let collection = scan(&sim, &config(key_credential(&keys)))
        .await
        .expect("scan");
    let Collected::Failed {
        http_status, error, ..
    } = &collection.resources["google_domains"]
    else {
        panic!("domains read");
    };
    assert_eq!(*http_status, Some(503));
    assert!(error.contains("gave up after 4 attempts"), "{error}");
    let Collected::Failed { error, .. } = &collection.resources["google_roles"] else {
        panic!("roles read");
    };
    assert!(error.contains("not valid JSON"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn an_administrator_who_is_not_a_super_administrator_gets_no_policies() {
    let keys = key_file();
    let sim = SimGoogle::new(options(Some(keys.public_pem.clone())));
    let mut config = config(key_credential(&keys));
    config.admin = "secretariaat@klimop.example".into(); // a delegated administrator
    let collection = scan(&sim, &config).await.expect("scan");
    let Collected::Failed {
        http_status, error, ..
    } = &collection.resources["google_policies"]
    else {
        panic!("policies read by a delegated administrator");
    };
    assert_eq!(*http_status, Some(403));
    assert!(
        error.contains("impersonate a super administrator"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_credential_stops_the_scan_with_what_to_check() {
    let keys = key_file();
    let mut options = options(Some(keys.public_pem.clone()));
    // The domain-wide delegation page lacks one scope: Google grants all or nothing.
    options
        .delegated
        .remove("https://www.googleapis.com/auth/admin.directory.group.readonly");
    let sim = SimGoogle::new(options);
    let err = scan(&sim, &config(key_credential(&keys)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{text}");
    assert!(text.contains("unauthorized_client"), "{text}");
    assert!(text.contains("domain-wide delegation page"), "{text}");
    assert!(!text.contains("BEGIN PRIVATE KEY"), "{text}");
    // Nothing was read.
    assert!(sim.log().iter().all(|e| e.method == "POST"));
    // A key the token endpoint does not know: refused too, the assertion not repeated.
    let other = key_file();
    let sim = SimGoogle::new(self::options(Some(keys.public_pem)));
    let err = scan(&sim, &config(key_credential(&other)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert!(!err.to_string().contains("eyJ"), "{err}");
}

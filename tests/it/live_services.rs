//! Live scans of the services beside Graph (issue 12): Exchange Online and Security & Compliance
//! through their admin API's `InvokeCommand`, and the Teams admin API, against the simulator
//! (tests/support/graph_sim.rs with admin_sim.rs and teams_sim.rs).
//!
//! Each service has its own origin and token audience, and the simulator refuses a token of
//! another audience, so a read that succeeds shows the connector asked for the right one. Its
//! request log shows what was sent: GETs, token POSTs and `InvokeCommand` POSTs of allowlisted
//! cmdlets only. Until the built-in pack carries these services' resources, the tests use a
//! copy of it with small entries and fixtures of their own (`t_*`, fictional values in the shapes
//! the services return).
//!
//! Most reads run in process on tokio's paused clock; a few scans of the binary go over TCP
//! (the compliance front door's redirect to `eur02b.localhost` included).

use crate::graph_sim;
use crate::graph_sim::{
    CLIENT_ID, Fault, LoggedRequest, SimGraph, SimOptions, TENANT, assert_only_reads,
};
use crate::support;
use crate::support::{cloudkeur, repo_path};
use cloudkeur::connector::auth::TokenSource;
use cloudkeur::connector::transport::{Invocation, Request};
use cloudkeur::connector::{Credential, LiveConfig, NoProgress, RetryPolicy, Secret, collect_with};
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::registry::{Cmdlet, Service};
use cloudkeur::snapshot::{Collected, Collection};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

const SECRET: &str = "services-suite-secret";

/// Registry entries of the four kinds of read, appended to the built-in registry.
const ENTRIES: &str = r#"
  t_exchange_audit_config:
    title: Exchange Online admin audit log configuration (test entry)
    service: exchange
    cmdlet: Get-AdminAuditLogConfig
    kind: collection
    permission: Exchange.ManageAsApp
  t_exchange_encryption_policies:
    title: Exchange Online data encryption policies (test entry)
    service: exchange
    cmdlet: Get-DataEncryptionPolicy
    kind: collection
    permission: Exchange.ManageAsApp
  t_compliance_retention_policies:
    title: Retention policies with their distribution (test entry)
    service: compliance
    cmdlet: Get-RetentionCompliancePolicy
    parameters: {DistributionDetail: true}
    kind: collection
    permission: Exchange.ManageAsApp
  t_compliance_labels:
    title: Sensitivity labels with their encryption settings (test entry)
    service: compliance
    cmdlet: Get-Label
    parameters: {IncludeDetailedLabelActions: true}
    kind: collection
    permission: Exchange.ManageAsApp
  t_teams_meeting_policies:
    title: Teams meeting policies (test entry)
    service: teams
    path: /Skype.Policy/configurations/TeamsMeetingPolicy
    kind: collection
    permission: Global Reader (Entra role)
"#;

/// A policy that reads every test entry: at least one object in each.
const POLICY: &str = r#"
policy: test-services-read
control: VTC-AUD-01
title:
  nl: Testbeleid dat elke dienst leest
  en: Test policy that reads every service
severity: high
rule:
  all_of:
    - description: the unified audit log is on
      resource: t_exchange_audit_config
      path: $.value[0].UnifiedAuditLogIngestionEnabled
      equals: true
    - description: there are encryption policies
      resource: t_exchange_encryption_policies
      path: $.value[*]
      count: {min: 1}
    - description: there are retention policies
      resource: t_compliance_retention_policies
      path: $.value[*]
      count: {min: 1}
    - description: there are labels
      resource: t_compliance_labels
      path: $.value[*]
      count: {min: 1}
    - description: the global meeting policy keeps anonymous users out
      resource: t_teams_meeting_policies
      path: "$.value[?@.Identity == 'Global'].AllowAnonymousUsersToJoinMeeting"
      equals: false
remediation:
  nl: Niets.
  en: Nothing.
"#;

fn annotated(mut item: Value, collections: &[&str]) -> Value {
    for name in collections {
        item[format!("{name}@odata.type")] = json!("#Collection(String)");
    }
    item
}

/// The fixtures, as the snapshot stores them (`{"value": [...]}`), in the shapes the services
/// return (PascalCase, enums and TimeSpans as strings, annotations beside collections).
fn fixtures() -> BTreeMap<&'static str, Value> {
    let audit = annotated(
        json!({"Identity": "Admin Audit Log Settings", "Name": "Admin Audit Log Settings",
            "AdminAuditLogEnabled": true, "UnifiedAuditLogIngestionEnabled": true,
            "AdminAuditLogAgeLimit": "90.00:00:00", "AdminAuditLogCmdlets": ["*"],
            "LogLevel": "None", "IsValid": true}),
        &["AdminAuditLogCmdlets"],
    );
    let dep = |name: &str, enabled: bool| {
        annotated(
            json!({"Identity": name, "Name": name, "Enabled": enabled,
                "AzureKeyIDs": [format!("https://kv-zonnedorp-{}.vault.azure.net/keys/dep", name.to_lowercase())],
                "Description": "Klantsleutel voor postvakken"}),
            &["AzureKeyIDs"],
        )
    };
    let retention = |name: &str, location: &str| {
        annotated(
            json!({"Name": name, "Guid": "3f1c0d52-7f0b-4a51-9d0e-1c2b3a4d5e6f", "Enabled": true,
                "Mode": "Enforce", "DistributionStatus": "Success", "TeamsPolicy": false,
                "ExchangeLocation": [location], "SharePointLocation": [], "OneDriveLocation": [],
                "Workload": "Exchange, SharePoint, OneDriveForBusiness, Skype, ModernGroup"}),
            &["ExchangeLocation", "SharePointLocation", "OneDriveLocation"],
        )
    };
    let meeting = |identity: &str, anonymous: bool, admitted: &str| {
        json!({"Identity": identity, "AllowAnonymousUsersToJoinMeeting": anonymous,
            "AutoAdmittedUsers": admitted, "AllowPSTNUsersToBypassLobby": false,
            "AllowCloudRecording": false, "AllowTranscription": false,
            "AllowRecordingStorageOutsideRegion": false})
    };
    BTreeMap::from([
        ("t_exchange_audit_config", json!({"value": [audit]})),
        (
            "t_exchange_encryption_policies",
            json!({"value": [dep("Postvakken", true), dep("Archief", true), dep("Oud", false)]}),
        ),
        (
            "t_compliance_retention_policies",
            json!({"value": [retention("Bewaartermijn mail 7 jaar", "All"), retention("Bestuur", "All"), retention("Tijdelijk", "Griffie")]}),
        ),
        (
            "t_compliance_labels",
            json!({"value": [{"Name": "Vertrouwelijk", "DisplayName": "Vertrouwelijk",
                "Guid": "0b5f4c7e-9a8d-4e3f-b2a1-c0d9e8f7a6b5", "Disabled": false,
                "EncryptionEnabled": true, "EncryptionProtectionType": "Template",
                "EncryptionDoubleKeyEncryptionUrl": ""}]}),
        ),
        (
            "t_teams_meeting_policies",
            json!({"value": [meeting("Global", false, "EveryoneInCompanyExcludingGuests"),
                meeting("Tag:AllOn", true, "EveryoneInCompany"),
                meeting("Tag:Raadsvergadering", false, "OrganizerOnly")]}),
        ),
    ])
}

/// A copy of the built-in pack with the test entries and policy, and a tenant directory with
/// the fixtures.
struct Setup {
    pack: TempDir,
    tenant: TempDir,
}

impl Setup {
    fn new() -> Self {
        let pack = TempDir::new().unwrap();
        copy_dir(&repo_path("policies"), pack.path());
        let registry = pack.path().join("resources.yaml");
        let mut text = std::fs::read_to_string(&registry).unwrap();
        text.push_str(ENTRIES);
        std::fs::write(&registry, text).unwrap();
        std::fs::write(pack.path().join("test-services-read.yaml"), POLICY).unwrap();
        let tenant = TempDir::new().unwrap();
        for (name, body) in fixtures() {
            let bytes = serde_json::to_vec_pretty(&body).unwrap();
            std::fs::write(tenant.path().join(format!("{name}.json")), bytes).unwrap();
        }
        // Graph's organization, for the tenant's name.
        std::fs::copy(
            graph_sim::fixture_dir().join("organization.json"),
            tenant.path().join("organization.json"),
        )
        .unwrap();
        Setup { pack, tenant }
    }

    fn pack(&self) -> PolicyPack {
        PolicyPack::load(&PackSource::Dir(self.pack.path().to_path_buf())).expect("test pack")
    }

    fn sim(&self, adjust: impl FnOnce(&mut SimOptions)) -> SimGraph {
        let mut options = SimOptions {
            client_secret: SECRET.into(),
            tenant_dir: Some(self.tenant.path().to_path_buf()),
            registry: Some(self.pack().registry),
            ..SimOptions::default()
        };
        adjust(&mut options);
        SimGraph::start(options)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(5),
        max_total: Duration::from_secs(30),
        request_timeout: Duration::from_millis(500),
    }
}

fn config(sim: &SimGraph) -> LiveConfig {
    LiveConfig {
        retry: retry(),
        concurrency: 4,
        ..sim.live_config(Credential::ClientSecret(Secret::new(SECRET)))
    }
}

const ALL: [&str; 6] = [
    "organization",
    "t_exchange_audit_config",
    "t_exchange_encryption_policies",
    "t_compliance_retention_policies",
    "t_compliance_labels",
    "t_teams_meeting_policies",
];

/// Reads `names` in process, on the test's (paused) clock.
async fn read(setup: &Setup, sim: &SimGraph, names: &[&str], config: LiveConfig) -> Collection {
    let wanted: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
    collect_with(
        sim.transport(),
        &config,
        &setup.pack().registry,
        &wanted,
        Arc::new(NoProgress),
    )
    .await
    .expect("scan starts")
}

fn body_of<'a>(collection: &'a Collection, name: &str) -> (&'a Value, u32, Option<&'a str>) {
    match collection.resources.get(name) {
        Some(Collected::Read {
            body, pages, note, ..
        }) => (body, *pages, note.as_deref()),
        other => panic!("{name} should have been read, got {other:?}"),
    }
}

/// Why a resource was deliberately not read (a service left out or not in the tenant): recorded
/// as not needed, which a declaration may stand in for, not as a failed read.
fn not_read_reason(collection: &Collection, name: &str) -> String {
    match collection.resources.get(name) {
        Some(Collected::NotNeeded { reason, .. }) => reason.clone(),
        other => panic!("{name} should not have been read, got {other:?}"),
    }
}

fn error_of(collection: &Collection, name: &str) -> (Option<u16>, String) {
    match collection.resources.get(name) {
        Some(Collected::Failed {
            http_status, error, ..
        }) => (*http_status, error.clone()),
        other => panic!("{name} should have failed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn every_service_is_read_with_its_own_token_and_stored_as_a_value_list() {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    let collection = read(&setup, &sim, &ALL, config(&sim)).await;
    let fixtures = fixtures();
    for (name, pages) in [
        ("t_exchange_audit_config", 1),
        ("t_exchange_encryption_policies", 2),
        ("t_compliance_retention_policies", 2),
        ("t_compliance_labels", 1),
        ("t_teams_meeting_policies", 1),
    ] {
        let (body, read_pages, _) = body_of(&collection, name);
        assert_eq!(body, &fixtures[name], "{name}");
        assert_eq!(read_pages, pages, "{name}");
    }
    assert_eq!(
        collection.tenant_name.as_deref(),
        Some("Gemeente Zonnedorp")
    );
    for service in ["graph", "exchange", "compliance", "teams"] {
        assert!(collection.source.contains(service), "{}", collection.source);
    }
    // One token per audience, each asked for once.
    let scopes = sim.issued_scopes();
    let distinct: BTreeSet<&String> = scopes.iter().collect();
    assert_eq!(scopes.len(), 4, "{scopes:?}");
    assert_eq!(distinct.len(), 4, "{scopes:?}");
    for service in microsoft_services() {
        assert!(
            scopes.contains(&sim.scope(service)),
            "{service}: {scopes:?}"
        );
    }
    assert!(scopes.contains(&"48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default".to_owned()));
    let requests = sim.requests();
    assert_only_reads(&requests);
    // Exchange is routed by the system mailbox; every admin request asks for pages of 1000.
    for request in requests.iter().filter(|r| r.service == "exchange") {
        assert_eq!(
            request.anchor.as_deref(),
            Some(
                format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}")
                    .as_str()
            )
        );
        assert_eq!(request.prefer.as_deref(), Some("odata.maxpagesize=1000"));
    }
    // A next page is the same cmdlet with the same parameters, POSTed again.
    let pages: Vec<&LoggedRequest> = requests
        .iter()
        .filter(|r| r.cmdlet.as_deref() == Some("Get-RetentionCompliancePolicy"))
        .collect();
    assert!(pages.len() >= 2, "{pages:?}");
    for page in &pages {
        assert_eq!(
            page.parameters.as_deref(),
            Some(r#"{"DistributionDetail":true}"#)
        );
    }
    assert!(pages.iter().any(|p| p.query.contains("skiptoken")));
}

#[tokio::test(start_paused = true)]
async fn the_compliance_front_door_sends_the_tenant_to_its_regional_host_once() {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    let names = ["t_compliance_retention_policies", "t_compliance_labels"];
    let collection = read(&setup, &sim, &names, config(&sim)).await;
    let noted: Vec<&str> = names
        .iter()
        .filter_map(|name| body_of(&collection, name).2)
        .collect();
    assert!(
        noted
            .iter()
            .all(|note| note.contains("regional host http://eur02b.localhost:")),
        "{noted:?}"
    );
    let compliance: Vec<LoggedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.service == "compliance")
        .collect();
    // Only the first request of a read went to the front door; every page came from eur02b.
    let front: Vec<&LoggedRequest> = compliance
        .iter()
        .filter(|r| r.host == "localhost")
        .collect();
    assert!(!front.is_empty() && front.len() <= names.len(), "{front:?}");
    assert!(front.iter().all(|r| !r.query.contains("skiptoken")));
    let regional = compliance
        .iter()
        .filter(|r| r.host == "eur02b.localhost")
        .count();
    assert_eq!(regional, 3, "{compliance:?}");
    assert_eq!(compliance.len(), front.len() + regional);

    // A later scan learns it again; a front door that answers itself is read directly.
    let direct = setup.sim(|o| o.compliance_region = None);
    let collection = read(&setup, &direct, &names, config(&direct)).await;
    for name in names {
        assert_eq!(body_of(&collection, name).2, None, "{name}");
    }
    assert!(
        direct
            .requests()
            .iter()
            .all(|r| r.host != "eur02b.localhost")
    );
}

#[tokio::test(start_paused = true)]
async fn a_redirect_anywhere_but_a_regional_host_of_the_service_is_an_error() {
    let setup = Setup::new();
    for location in [
        "https://evil.example/adminapi/beta/x/InvokeCommand",
        "https://eur02b.admin.protection.outlook.com.evil.example/x",
        "https://a.b.outlook.office365.com/x",
    ] {
        let sim = setup.sim(|_| {});
        sim.fault("Get-AdminAuditLogConfig", Fault::Redirect(location));
        let collection = read(&setup, &sim, &["t_exchange_audit_config"], config(&sim)).await;
        let (status, error) = error_of(&collection, "t_exchange_audit_config");
        assert_eq!(status, Some(302), "{location}");
        assert!(error.contains("refused a redirect"), "{location}: {error}");
        let exchange: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.service == "exchange")
            .collect();
        assert_eq!(exchange.len(), 1, "{location}: {exchange:?}");
    }
    // Exchange's own regional host is one label under the configured one: on a loopback IP
    // there is none, so the request goes to the same origin again, once.
    let sim = setup.sim(|_| {});
    sim.fault(
        "Get-AdminAuditLogConfig",
        Fault::Redirect("https://nam13b.outlook.office365.com/adminapi/beta/x/InvokeCommand"),
    );
    let collection = read(&setup, &sim, &["t_exchange_audit_config"], config(&sim)).await;
    let (status, error) = error_of(&collection, "t_exchange_audit_config");
    assert_eq!(status, Some(302));
    assert!(error.contains("redirected again"), "{error}");
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|r| r.service == "exchange")
            .count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_for_one_audience_is_refused_by_every_other_service() {
    let setup = Setup::new();
    let sim = setup.sim(|o| o.compliance_region = None);
    let config = config(&sim);
    let invoke = |service: Service, token: Secret| {
        let base = match service {
            Service::Exchange => &sim.exchange_url,
            _ => &sim.compliance_url,
        };
        let cmdlet = match service {
            Service::Exchange => Cmdlet::GetAdminAuditLogConfig,
            _ => Cmdlet::GetLabel,
        };
        let parameters = match service {
            Service::Exchange => BTreeMap::new(),
            _ => BTreeMap::from([("IncludeDetailedLabelActions".to_owned(), json!(true))]),
        };
        Request::Invoke {
            url: format!("{base}/adminapi/beta/{TENANT}/InvokeCommand")
                .parse()
                .unwrap(),
            bearer: token,
            invocation: Invocation::new(cmdlet, &parameters).unwrap(),
            anchor: None,
        }
    };
    let get = |url: String, token: Secret| Request::Read {
        url: url.parse().unwrap(),
        bearer: token,
    };
    let graph_get = format!("{}/v1.0/organization", sim.url);
    let teams_get = format!(
        "{}/Skype.Policy/configurations/TeamsMeetingPolicy",
        sim.teams_url
    );
    for holder in microsoft_services() {
        let source = TokenSource::new(sim.transport(), &config, sim.scope(holder)).unwrap();
        let token = source.token().await.expect("a token");
        let requests = [
            (Service::Graph, get(graph_get.clone(), token.clone())),
            (Service::Exchange, invoke(Service::Exchange, token.clone())),
            (
                Service::Compliance,
                invoke(Service::Compliance, token.clone()),
            ),
            (Service::Teams, get(teams_get.clone(), token.clone())),
        ];
        for (service, request) in requests {
            let status = sim
                .transport()
                .send(request)
                .await
                .expect("answered")
                .status;
            let expected = if service == holder { 200 } else { 401 };
            assert_eq!(status, expected, "a {holder} token at {service}");
        }
    }
}

#[tokio::test]
async fn the_simulator_refuses_a_cmdlet_outside_the_allowlist_as_the_service_does() {
    // Over TCP with a plain HTTP client: the connector cannot even express these requests.
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    let client = reqwest::Client::new();
    let scope = sim.scope(Service::Exchange);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("client_secret", SECRET)
        .append_pair("scope", &scope)
        .finish();
    let answer = client
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", sim.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let token: Value = serde_json::from_slice(&answer).unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    for name in [
        "Set-AdminAuditLogConfig",
        "Remove-Mailbox",
        "New-InboxRule",
        "get-adminauditlogconfig",
        // A cmdlet of the other service is not run here either.
        "Get-Label",
        "Get-AdminAuditLogConfig",
    ] {
        let response = client
            .post(format!(
                "{}/adminapi/beta/{TENANT}/InvokeCommand",
                sim.exchange_url
            ))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(
                serde_json::to_vec(&json!({"CmdletInput": {"CmdletName": name, "Parameters": {}}}))
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        if name == "Get-AdminAuditLogConfig" {
            assert_eq!(status, 200, "{name}");
        } else {
            assert_eq!(status, 403, "{name}");
            assert!(!body.is_empty() && body.iter().all(|b| *b == 0), "{name}");
        }
    }
    // The log names what was asked, so a test can prove what the connector sends.
    let logged: Vec<String> = sim
        .requests()
        .into_iter()
        .filter_map(|r| r.cmdlet)
        .collect();
    assert!(logged.contains(&"Remove-Mailbox".to_owned()));
}

/// A fault on one service's resource, and what it must give.
async fn faulted(resource: &str, key: &str, fault: Fault) -> (Collection, SimGraph, Setup) {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    sim.fault(key, fault);
    let collection = read(&setup, &sim, &[resource], config(&sim)).await;
    (collection, sim, setup)
}

#[tokio::test(start_paused = true)]
async fn admin_api_faults_give_an_error_naming_the_cause_never_a_shorter_result() {
    for (resource, cmdlet, fault, status, words) in [
        (
            "t_exchange_encryption_policies",
            "Get-DataEncryptionPolicy",
            Fault::ExpiredPage(2),
            Some(400),
            "page 2 could not be read, so the result is incomplete: BadRequest: Error executing cmdlet: Expired or Invalid pagination request",
        ),
        (
            "t_compliance_retention_policies",
            "Get-RetentionCompliancePolicy",
            Fault::ExpiredPage(2),
            Some(400),
            "page 2 could not be read, so the result is incomplete",
        ),
        (
            "t_exchange_audit_config",
            "Get-AdminAuditLogConfig",
            Fault::Forbidden,
            Some(403),
            "needs an Entra role that may run it (Global Reader",
        ),
        (
            "t_exchange_audit_config",
            "Get-AdminAuditLogConfig",
            Fault::EmbeddedError,
            Some(200),
            "the service answered with an error: NotFound",
        ),
        (
            "t_exchange_encryption_policies",
            "Get-DataEncryptionPolicy",
            Fault::Warning(
                "WARNING: There are more results, use ResultSize Unlimited to return them all.",
            ),
            Some(200),
            "cut the result short",
        ),
        (
            "t_exchange_encryption_policies",
            "Get-DataEncryptionPolicy",
            Fault::NextLinkCycle,
            Some(200),
            "paging loop",
        ),
        (
            "t_compliance_labels",
            "Get-Label",
            Fault::ForeignNextLink,
            Some(200),
            "not the configured Security & Compliance host",
        ),
        (
            "t_exchange_audit_config",
            "Get-AdminAuditLogConfig",
            Fault::Truncated,
            Some(200),
            "not JSON",
        ),
        (
            "t_exchange_audit_config",
            "Get-AdminAuditLogConfig",
            Fault::Status {
                code: 503,
                times: u32::MAX,
            },
            Some(503),
            "gave up after 3 attempts",
        ),
    ] {
        let (collection, sim, _setup) = faulted(resource, cmdlet, fault.clone()).await;
        let (got, error) = error_of(&collection, resource);
        assert_eq!(got, status, "{fault:?}: {error}");
        assert!(error.contains(words), "{fault:?}: {error}");
        assert!(!error.contains(SECRET), "{error}");
        assert_only_reads(&sim.requests());
    }
}

#[tokio::test(start_paused = true)]
async fn admin_api_throttling_and_an_expired_token_are_waited_out_and_renewed() {
    let (collection, sim, _setup) = faulted(
        "t_exchange_encryption_policies",
        "Get-DataEncryptionPolicy",
        Fault::Throttle {
            times: 2,
            retry_after: Some(3),
        },
    )
    .await;
    assert_eq!(body_of(&collection, "t_exchange_encryption_policies").1, 2);
    assert!(
        sim.requests()
            .iter()
            .filter(|r| r.service == "exchange")
            .count()
            >= 4
    );

    let (collection, sim, _setup) = faulted(
        "t_compliance_labels",
        "Get-Label",
        Fault::Unauthorized { times: 1 },
    )
    .await;
    body_of(&collection, "t_compliance_labels");
    let compliance = sim.scope(Service::Compliance);
    let renewed = sim
        .issued_scopes()
        .iter()
        .filter(|s| **s == compliance)
        .count();
    assert_eq!(renewed, 2);

    // A warning that does not say the result was cut short is kept as a note.
    let (collection, _sim, _setup) = faulted(
        "t_exchange_audit_config",
        "Get-AdminAuditLogConfig",
        Fault::Warning(
            "WARNING: The command completed successfully but no settings have been modified.",
        ),
    )
    .await;
    let note = body_of(&collection, "t_exchange_audit_config")
        .2
        .unwrap_or_default();
    assert!(
        note.contains("the service warned: WARNING: The command completed"),
        "{note}"
    );
}

#[tokio::test(start_paused = true)]
async fn teams_faults_give_an_error_naming_the_cause() {
    let path = "/Skype.Policy/configurations/TeamsMeetingPolicy";
    for (fault, status, words) in [
        (Fault::Forbidden, Some(403), "Global Reader"),
        (Fault::Truncated, Some(200), "not JSON"),
        (
            Fault::Status {
                code: 404,
                times: u32::MAX,
            },
            Some(404),
            "Injected fault",
        ),
    ] {
        let (collection, _sim, _setup) =
            faulted("t_teams_meeting_policies", path, fault.clone()).await;
        let (got, error) = error_of(&collection, "t_teams_meeting_policies");
        assert_eq!(got, status, "{fault:?}: {error}");
        assert!(error.contains(words), "{fault:?}: {error}");
    }
    let (collection, _sim, _setup) = faulted(
        "t_teams_meeting_policies",
        path,
        Fault::Throttle {
            times: 1,
            retry_after: Some(1),
        },
    )
    .await;
    assert_eq!(
        body_of(&collection, "t_teams_meeting_policies").0,
        &fixtures()["t_teams_meeting_policies"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_service_left_out_is_not_contacted_and_its_resources_say_so() {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    let config = LiveConfig {
        services: Some(BTreeSet::from([Service::Graph, Service::Teams])),
        ..config(&sim)
    };
    let collection = read(&setup, &sim, &ALL, config).await;
    body_of(&collection, "organization");
    body_of(&collection, "t_teams_meeting_policies");
    for name in [
        "t_exchange_audit_config",
        "t_exchange_encryption_policies",
        "t_compliance_retention_policies",
        "t_compliance_labels",
    ] {
        let reason = not_read_reason(&collection, name);
        assert!(
            reason.contains("was not selected (--services graph,teams)"),
            "{name}: {reason}"
        );
    }
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.service == "graph" || r.service == "teams")
    );
    let scopes = sim.issued_scopes();
    assert!(
        !scopes.contains(&sim.scope(Service::Exchange)),
        "{scopes:?}"
    );
    assert!(
        !scopes.contains(&sim.scope(Service::Compliance)),
        "{scopes:?}"
    );
}

fn live(setup: &Setup, sim: &SimGraph) -> assert_cmd::Command {
    let mut cmd = cloudkeur();
    cmd.arg("scan")
        .args(sim.url_args())
        .arg("--policies")
        .arg(setup.pack.path())
        .args(["--only", "test-services-read", "--format", "json"])
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE");
    cmd
}

fn verdict(output: &std::process::Output) -> (i32, String, String) {
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let finding = support::finding(&report, "test-services-read");
    (
        output.status.code().unwrap_or(-1),
        finding["verdict"].as_str().unwrap_or_default().to_owned(),
        finding["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn a_live_scan_over_tcp_reads_every_service_and_replays_offline_the_same() {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    let out = TempDir::new().unwrap();
    let snapshot = out.path().join("snap");
    let live_run = live(&setup, &sim)
        .arg("--snapshot-out")
        .arg(&snapshot)
        .output()
        .unwrap();
    let (code, verdict_live, reason) = verdict(&live_run);
    assert_eq!((code, verdict_live.as_str()), (0, "pass"), "{reason}");
    assert_only_reads(&sim.requests());
    // Over TCP too the compliance pages came from the regional host, by its localhost name.
    assert!(sim.requests().iter().any(|r| r.host == "eur02b.localhost"));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snapshot.join("manifest.json")).unwrap()).unwrap();
    for (name, request) in [
        (
            "t_exchange_audit_config",
            "InvokeCommand Get-AdminAuditLogConfig",
        ),
        (
            "t_compliance_retention_policies",
            "InvokeCommand Get-RetentionCompliancePolicy -DistributionDetail true",
        ),
        (
            "t_teams_meeting_policies",
            "GET /Skype.Policy/configurations/TeamsMeetingPolicy",
        ),
    ] {
        let entry = &manifest["resources"][name];
        assert_eq!(entry["status"], "ok", "{name}: {entry}");
        assert_eq!(entry["request"], request, "{name}");
    }
    assert!(
        manifest["source"]
            .as_str()
            .unwrap()
            .contains("teams http://127.0.0.1:")
    );
    let offline = cloudkeur()
        .args(["scan", "--format", "json", "--only", "test-services-read"])
        .arg("--policies")
        .arg(setup.pack.path())
        .arg("--offline")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_eq!(verdict(&offline), verdict(&live_run));
}

#[test]
fn services_limits_a_scan_and_the_report_names_the_service_left_out() {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    let output = live(&setup, &sim)
        .args(["--services", "graph,teams"])
        .output()
        .unwrap();
    let (code, verdict, reason) = verdict(&output);
    assert_eq!((code, verdict.as_str()), (1, "error"), "{reason}");
    assert!(
        reason.contains("service exchange was not selected"),
        "{reason}"
    );
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.service != "exchange" && r.service != "compliance")
    );

    let unknown = live(&setup, &sim)
        .args(["--services", "graph,sharepoint"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("unknown service 'sharepoint'"), "{stderr}");
}

#[test]
fn an_admin_url_that_is_plain_http_to_another_host_is_refused() {
    let setup = Setup::new();
    let sim = setup.sim(|_| {});
    for flag in ["--exchange-url", "--compliance-url", "--teams-url"] {
        let args: Vec<String> = sim.url_args();
        let at = args.iter().position(|a| a == flag).unwrap();
        let mut args = args.clone();
        args[at + 1] = "http://outlook.office365.com".into();
        let output = cloudkeur()
            .arg("scan")
            .args(args)
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", SECRET)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains("loopback"),
            "{stderr}"
        );
    }
}

#[test]
fn a_snapshot_without_the_new_resources_still_scans_offline() {
    let setup = Setup::new();
    let output = cloudkeur()
        .args(["scan", "--format", "json"])
        .arg("--policies")
        .arg(setup.pack.path())
        .arg("--offline")
        .arg(graph_sim::fixture_dir())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (_, verdict, reason) = verdict(&output);
    assert_eq!(verdict, "error");
    assert!(
        reason.contains("was not collected in this snapshot"),
        "{reason}"
    );
}

#[test]
fn scan_all_runs_the_resolved_plan_for_a_live_tenant_beside_an_offline_one() {
    let setup = Setup::new();
    let sim = setup.sim(|o| o.federated_token = Some("federated-from-the-cluster".into()));
    let out = TempDir::new().unwrap();
    let token_file = out.path().join("token");
    std::fs::write(&token_file, "federated-from-the-cluster\n").unwrap();
    let tenants = out.path().join("tenants.yaml");
    let yaml = format!(
        "tenants:\n  - name: zonnedorp-live\n    tenant: {TENANT}\n    client_id: {CLIENT_ID}\n    credential: {{federated_token_file: {}}}\n  - name: zonnedorp-archief\n    offline: {}\n",
        token_file.display(),
        graph_sim::fixture_dir().display()
    );
    std::fs::write(&tenants, yaml).unwrap();
    let reports = out.path().join("reports");
    let output = cloudkeur()
        .args(["scan", "--all", "--format", "json"])
        .args(sim.url_args())
        .args(["--services", "graph,exchange,compliance,teams"])
        .arg("--policies")
        .arg(setup.pack.path())
        .args(["--only", "test-services-read"])
        .arg("--tenants")
        .arg(&tenants)
        .arg("--reports-dir")
        .arg(&reports)
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let status = |name: &str| {
        summary["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        status("zonnedorp-live").as_deref(),
        Some("compliant"),
        "{summary}"
    );
    assert_eq!(
        status("zonnedorp-archief").as_deref(),
        Some("not-compliant"),
        "{summary}"
    );
    assert_eq!(output.status.code(), Some(1));
    // The live tenant read every service, through the regional compliance host too.
    let requests = sim.requests();
    assert_only_reads(&requests);
    for service in ["exchange", "compliance", "teams"] {
        assert!(requests.iter().any(|r| r.service == service), "{service}");
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(reports.join("zonnedorp-live.json")).unwrap())
            .unwrap();
    assert_eq!(
        support::finding(&report, "test-services-read")["verdict"],
        "pass"
    );
}

#[test]
fn permissions_lists_per_service_what_the_app_needs_with_clicks_and_commands() {
    let setup = Setup::new();
    let run = cloudkeur()
        .args(["permissions", "--only", "test-services-read", "--policies"])
        .arg(setup.pack.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let text = String::from_utf8_lossy(&run.stdout);
    for expected in [
        "Exchange Online and Security & Compliance admin APIs (4 resources: t_exchange_audit_config, t_exchange_encryption_policies, t_compliance_labels, t_compliance_retention_policies)",
        "Exchange.ManageAsApp of \"Office 365 Exchange Online\"",
        "az ad app permission add --id $APP --api 00000002-0000-0ff1-ce00-000000000000 --api-permissions dc50a0fb-09a3-484d-be87-e023b12c6440=Role",
        "Teams admin API (1 resources: t_teams_meeting_policies)",
        "48ac35b8-9aa8-4d74-927d-1f4a14a0b239",
        "Roles & admins → Global Reader → Add assignments",
        "\"roleDefinitionId\": \"f2ef992c-3afb-46b9-b7cf-a126ee74c451\"",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert_eq!(
        text.matches("Entra role for the admin APIs").count(),
        1,
        "{text}"
    );
    // Limited to Graph, nothing of the admin APIs is asked for.
    let graph_only = cloudkeur()
        .args(["permissions", "--services", "graph", "--policies"])
        .arg(setup.pack.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&graph_only.stdout);
    assert!(
        text.contains("Microsoft Graph: application permissions"),
        "{text}"
    );
    for absent in ["Exchange.ManageAsApp", "Teams admin API", "Global Reader"] {
        assert!(!text.contains(absent), "{absent}\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_certificate_gets_a_token_for_every_audience() {
    let setup = Setup::new();
    let (key_and_cert, cert_pem) = graph_sim::test_certificate();
    let sim = setup.sim(|o| o.certificate_pem = Some(cert_pem));
    let dir = TempDir::new().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(&pem, key_and_cert).unwrap();
    let credential = Credential::certificate_from_pem_file(&pem).unwrap();
    let config = LiveConfig {
        retry: retry(),
        ..sim.live_config(credential)
    };
    let collection = read(&setup, &sim, &ALL, config).await;
    for name in ALL {
        body_of(&collection, name);
    }
    assert_eq!(sim.issued_scopes().len(), 4);
    let tokens: Vec<LoggedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(tokens.len(), 4);
    for token in tokens {
        assert!(token.form_fields.contains(&"client_assertion".to_owned()));
        assert!(!token.form_fields.contains(&"client_secret".to_owned()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_service_the_tenant_does_not_have_leaves_its_resources_unread_and_only_them() {
    let setup = Setup::new();
    let sim = setup.sim(|o| o.unprovisioned = vec![Service::Teams]);
    let collection = read(&setup, &sim, &ALL, config(&sim)).await;
    let error = not_read_reason(&collection, "t_teams_meeting_policies");
    assert!(
        error.contains(
            "for 48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default: the token endpoint knows no such resource"
        ) && error.contains("AADSTS500011"),
        "{error}"
    );
    for name in ALL.iter().filter(|n| **n != "t_teams_meeting_policies") {
        body_of(&collection, name);
    }
    assert!(sim.requests().iter().all(|r| r.service != "teams"));

    // Even when it is the first service a scan needs, the scan goes on.
    let teams_only = read(&setup, &sim, &["t_teams_meeting_policies"], config(&sim)).await;
    let error = not_read_reason(&teams_only, "t_teams_meeting_policies");
    assert!(error.contains("AADSTS500011"), "{error}");
}

/// The services of a Microsoft 365 tenant (the registry's others are Google's).
fn microsoft_services() -> impl Iterator<Item = Service> {
    Service::ALL
        .into_iter()
        .filter(|service| service.vendor() == cloudkeur::vendor::Vendor::Microsoft)
}

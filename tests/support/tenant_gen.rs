//! Generates fictional municipal tenants of any size, for the benchmark (`examples/bench.rs`) and
//! for tests that need more than the hand-written fixtures.
//!
//! The tenant has the resource shapes of `fixtures/tenants/zonnedorp` (the collections that grow
//! with the number of accounts are generated; the small settings resources are copied from the
//! fixture) and is written as a sealed snapshot directory, which `cloudkeur scan --offline` reads
//! and the simulated Graph (`graph_sim.rs`, `SimOptions::tenant_dir`) serves.
//!
//! Deterministic: the same [`TenantSpec`] gives byte-identical files. Every name is made up from
//! the words below (Proef, Voorbeeld, Fictie, ...) plus a number, on the reserved `.example`
//! domain: no real person's name or address can come out of it.
#![allow(dead_code)]

use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::snapshot::{Collected, Collection};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Other directory roles PIM eligibilities are spread over (User, SharePoint, Exchange,
/// Helpdesk administrators, Security reader).
const OTHER_ROLES: [&str; 5] = [
    "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "5d6b6bb7-de71-4623-b4af-96380a352509",
];
const GIVEN: [&str; 16] = [
    "piet", "an", "finn", "mo", "lotte", "jens", "noor", "bram", "sien", "ward", "fien", "tuur",
    "lies", "stan", "roos", "kas",
];
const FAMILY: [&str; 12] = [
    "proef",
    "voorbeeld",
    "fictie",
    "staal",
    "model",
    "schets",
    "ontwerp",
    "kopie",
    "probeer",
    "testman",
    "verzinsel",
    "denkbeeld",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    /// Accounts (users and registration-details rows), guests included.
    pub accounts: usize,
    pub seed: u64,
    /// Members that are not MFA capable, by account index. `None`: decided by `failing`.
    pub not_mfa_capable: Option<Vec<usize>>,
    /// The fraction of items that fail, in every collection that grows with the tenant: of the
    /// accounts (break-glass accounts excepted) that many are not MFA capable (VTC-MFA-04; a
    /// guest among them is not counted by that policy), that many others have a preferred data
    /// location outside the EU (VTC-LOC-02), and that many team sites are stored outside the EU
    /// (VTC-LOC-02; the tenant is then Multi-Geo). Spread evenly over the lists, so the count is
    /// exact. The accounts' ids and names do not depend on it. `None`: about 1 member in 200 not MFA capable, chosen by the
    /// seed, and nothing else failing (the near-compliant tenant of the first benchmarks).
    pub failing: Option<f64>,
}

impl TenantSpec {
    pub fn new(accounts: usize) -> Self {
        TenantSpec {
            accounts,
            seed: 0x5eed_c10d,
            not_mfa_capable: None,
            failing: None,
        }
    }

    /// A tenant of `accounts` accounts of which the fraction `failing` fails (see
    /// [`TenantSpec::failing`]).
    pub fn failing(accounts: usize, failing: f64) -> Self {
        TenantSpec {
            failing: Some(failing),
            ..TenantSpec::new(accounts)
        }
    }

    /// Whether item `index` of a list is one of the failing fraction; `phase` (0..1) shifts
    /// which items, so that different lists fail on different accounts.
    fn fails(&self, index: usize, phase: f64) -> bool {
        self.failing.is_some_and(|fraction| {
            let at = |i: usize| (i as f64 * fraction + phase).floor();
            at(index + 1) > at(index)
        })
    }

    pub fn domain(&self) -> String {
        format!("gemeente-{}.example", self.accounts)
    }
}

/// One account of the generated tenant.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub guest: bool,
    pub mfa_capable: bool,
}

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The accounts of the tenant, in the order Graph lists them.
pub fn accounts(spec: &TenantSpec) -> Vec<Account> {
    let mut rng = Rng(spec.seed);
    let domain = spec.domain();
    (0..spec.accounts)
        .map(|i| {
            let id = rng.uuid();
            // Two break-glass accounts first, then about 4 % guests.
            let guest = i >= 2 && rng.below(25) == 0;
            let given = GIVEN[rng.below(GIVEN.len() as u64) as usize];
            let family = FAMILY[rng.below(FAMILY.len() as u64) as usize];
            let (upn, display_name) = if i < 2 {
                (
                    format!("bg-0{}@{domain}", i + 1),
                    format!("Noodaccount 0{}", i + 1),
                )
            } else if guest {
                (
                    format!("{given}.{family}{i}_partner.example#EXT#@{domain}"),
                    format!("{} {} {i} (gast)", title(given), title(family)),
                )
            } else {
                (
                    format!("{given}.{family}{i}@{domain}"),
                    format!("{} {} {i}", title(given), title(family)),
                )
            };
            // Drawn whatever decides below, so that ids and names stay the same.
            let one_in_200 = guest || i < 2 || rng.below(200) != 0;
            let mfa_capable = match (&spec.not_mfa_capable, spec.failing) {
                (Some(indices), _) => !indices.contains(&i),
                (None, Some(_)) => i < 2 || !spec.fails(i, 0.0),
                (None, None) => one_in_200,
            };
            Account {
                id,
                upn,
                display_name,
                guest,
                mfa_capable,
            }
        })
        .collect()
}

/// How many items of the generated tenant fail, per policy: members not MFA capable
/// (VTC-MFA-04), and users plus team sites outside the EU (VTC-LOC-02).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub mfa_04: usize,
    pub loc_02: usize,
}

pub fn failures(spec: &TenantSpec) -> Failures {
    let accounts = accounts(spec);
    let mfa_04 = accounts
        .iter()
        .filter(|a| !a.guest && !a.mfa_capable)
        .count();
    let users = accounts
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.guest && *i >= 2 && spec.fails(*i, 0.5))
        .count();
    let sites = (0..spec.accounts / 20)
        .filter(|n| spec.fails(*n, 0.25))
        .count();
    Failures {
        mfa_04,
        loc_02: users + sites,
    }
}

fn title(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenants/zonnedorp")
}

/// The generated tenant's resource bodies, keyed by registry name.
pub fn bodies(spec: &TenantSpec) -> BTreeMap<String, Value> {
    let accounts = accounts(spec);
    let mut rng = Rng(spec.seed ^ 0xa5a5_a5a5);
    let domain = spec.domain();
    let mut out = BTreeMap::new();

    let users: Vec<Value> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let location = if a.guest {
                Value::Null
            } else if i >= 2 && spec.fails(i, 0.5) {
                json!("NAM")
            } else {
                json!("EUR")
            };
            json!({
                "id": a.id,
                "userPrincipalName": a.upn,
                "userType": if a.guest { "Guest" } else { "Member" },
                "preferredDataLocation": location,
                "accountEnabled": true,
                "creationType": if a.guest { json!("Invitation") } else { Value::Null },
                "externalUserState": if a.guest { json!("Accepted") } else { Value::Null },
                "identities": if a.guest {
                    json!([{"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": null}])
                } else {
                    json!([{"signInType": "userPrincipalName", "issuer": domain, "issuerAssignedId": a.upn}])
                },
            })
        })
        .collect();
    out.insert(
        "users".into(),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,userType,preferredDataLocation,accountEnabled,creationType,externalUserState,identities)", "value": users}),
    );

    let registrations: Vec<Value> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let methods: Vec<&str> = if !a.mfa_capable {
                vec![]
            } else if i < 2 {
                vec!["fido2SecurityKey"]
            } else {
                vec!["microsoftAuthenticatorPush", "softwareOneTimePasscode"]
            };
            json!({
                "id": a.id,
                "userPrincipalName": a.upn,
                "userDisplayName": a.display_name,
                "isAdmin": i < 2,
                "isSsprRegistered": a.mfa_capable,
                "isSsprEnabled": true,
                "isSsprCapable": a.mfa_capable,
                "isMfaRegistered": a.mfa_capable,
                "isMfaCapable": a.mfa_capable,
                "isPasswordlessCapable": i < 2,
                "lastUpdatedDateTime": "2026-11-19T23:12:00.4400000Z",
                "methodsRegistered": methods,
                "isSystemPreferredAuthenticationMethodEnabled": true,
                "systemPreferredAuthenticationMethods": [],
                "userPreferredMethodForSecondaryAuthentication": if a.mfa_capable { "push" } else { "none" },
                "userType": if a.guest { "guest" } else { "member" },
            })
        })
        .collect();
    out.insert(
        "user_registration_details".into(),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails", "value": registrations}),
    );

    let members: Vec<&Account> = accounts.iter().filter(|a| !a.guest).collect();
    let user_principal = |a: &Account| {
        json!({
            "@odata.type": "#microsoft.graph.user",
            "id": a.id,
            "accountEnabled": true,
            "displayName": a.display_name,
            "mail": null,
            "userPrincipalName": a.upn,
            "userType": if a.guest { "Guest" } else { "Member" },
        })
    };
    let group_principal = |id: &str, name: &str| {
        json!({
            "@odata.type": "#microsoft.graph.group",
            "id": id,
            "displayName": name,
            "groupTypes": [],
            "isAssignableToRole": true,
            "mailEnabled": false,
            "securityEnabled": true,
        })
    };
    let member_row = |a: &Account| {
        json!({
            "@odata.type": "#microsoft.graph.user",
            "id": a.id,
            "userPrincipalName": a.upn,
            "userType": if a.guest { "Guest" } else { "Member" },
        })
    };

    // Global Administrator: the two break-glass accounts directly, one PIM group with two
    // members (one of them also eligible directly), so 4 distinct people: compliant.
    let ga_group = rng.uuid();
    let ga_holders: Vec<&Account> = members.iter().skip(2).take(2).copied().collect();
    let mut assignments = Vec::new();
    for a in members.iter().take(2) {
        assignments.push(json!({
            "id": rng.uuid(), "principalId": a.id, "resourceScope": "/", "directoryScopeId": "/",
            "roleDefinitionId": GLOBAL_ADMIN, "principal": user_principal(a),
        }));
    }
    assignments.push(json!({
        "id": rng.uuid(), "principalId": ga_group, "resourceScope": "/", "directoryScopeId": "/",
        "roleDefinitionId": GLOBAL_ADMIN,
        "principal": group_principal(&ga_group, "RAG - Globale beheerders (PIM)"),
    }));
    out.insert(
        "directory_role_assignments".into(),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments(principal())", "value": assignments}),
    );
    let mut ga_members = serde_json::Map::new();
    ga_members.insert(
        ga_group.clone(),
        json!({"value": ga_holders.iter().map(|a| member_row(a)).collect::<Vec<_>>()}),
    );
    out.insert("group_transitive_members".into(), Value::Object(ga_members));
    // Who is eligible (PIM for Groups) for the GA group's membership: its two holders, read as
    // fan-outs of the role assignments and of the eligibilities, which both name the group.
    // Copied from the fixture they would name the fixture's group, and the scan's reads of
    // this one would find nothing (the simulator answers 404, offline the entry is missing).
    let pim_rows: Vec<Value> = ga_holders
        .iter()
        .enumerate()
        .map(|(n, a)| {
            json!({
                "id": format!("{ga_group}_member_{}", a.id),
                "eligibilityScheduleId": format!("{ga_group}_member_{}", n + 1),
                "accessId": "member", "groupId": ga_group, "principalId": a.id,
                "memberType": "Direct", "startDateTime": "2026-01-05T09:00:00Z",
                "endDateTime": null, "principal": user_principal(a),
            })
        })
        .collect();
    for name in [
        "ga_group_eligible_members",
        "ga_eligible_group_eligible_members",
    ] {
        let mut by_group = serde_json::Map::new();
        by_group.insert(ga_group.clone(), json!({"value": pim_rows}));
        out.insert(name.into(), Value::Object(by_group));
    }

    // PIM eligibilities: one per 50 accounts over five other roles, every tenth to a group of
    // 25 members; plus the GA group and one GA holder directly.
    let mut eligibilities = vec![json!({
        "id": rng.uuid(), "principalId": ga_group, "roleDefinitionId": GLOBAL_ADMIN,
        "directoryScopeId": "/", "status": "Provisioned", "memberType": "Direct",
        "principal": group_principal(&ga_group, "RAG - Globale beheerders (PIM)"),
    })];
    if let Some(a) = ga_holders.first() {
        eligibilities.push(json!({
            "id": rng.uuid(), "principalId": a.id, "roleDefinitionId": GLOBAL_ADMIN,
            "directoryScopeId": "/", "status": "Provisioned", "memberType": "Direct",
            "principal": user_principal(a),
        }));
    }
    let mut eligible_members = serde_json::Map::new();
    eligible_members.insert(
        ga_group.clone(),
        json!({"value": ga_holders.iter().map(|a| member_row(a)).collect::<Vec<_>>()}),
    );
    for n in 0..(spec.accounts / 50) {
        let role = OTHER_ROLES[n % OTHER_ROLES.len()];
        let principal = if n % 10 == 9 {
            let group = rng.uuid();
            let rows: Vec<Value> = (0..25)
                .map(|_| member_row(members[rng.below(members.len() as u64) as usize]))
                .collect();
            eligible_members.insert(group.clone(), json!({"value": rows}));
            group_principal(&group, &format!("RAG - Beheerteam {n}"))
        } else {
            user_principal(members[rng.below(members.len() as u64) as usize])
        };
        eligibilities.push(json!({
            "id": rng.uuid(), "principalId": principal["id"], "roleDefinitionId": role,
            "directoryScopeId": "/", "status": "Provisioned", "memberType": "Direct",
            "scheduleInfo": {"startDateTime": "2026-03-02T08:00:00Z", "expiration": {"type": "afterDateTime", "endDateTime": "2027-03-02T08:00:00Z"}},
            "principal": principal,
        }));
    }
    out.insert(
        "role_eligibility_schedules".into(),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilitySchedules(principal())", "value": eligibilities}),
    );
    out.insert(
        "eligible_group_transitive_members".into(),
        Value::Object(eligible_members),
    );

    // Sites: the root site with its data location, then one team site per 20 accounts.
    let host = format!("{}.sharepoint.example", domain.trim_end_matches(".example"));
    let mut sites = vec![json!({
        "createdDateTime": "2021-02-15T09:12:44Z",
        "id": format!("{host},{},{}", rng.uuid(), rng.uuid()),
        "name": "Communicatiesite", "displayName": "Communicatiesite", "isPersonalSite": false,
        "webUrl": format!("https://{host}"), "root": {},
        "siteCollection": {"hostName": host, "dataLocationCode": "EUR", "root": {}},
    })];
    for n in 0..(spec.accounts / 20) {
        // A failing team site reports a data location outside the EU (a Multi-Geo satellite).
        let site_collection = if spec.fails(n, 0.25) {
            json!({"hostName": host, "dataLocationCode": "NAM"})
        } else {
            json!({"hostName": host})
        };
        sites.push(json!({
            "createdDateTime": "2022-04-12T13:41:02Z",
            "id": format!("{host},{},{}", rng.uuid(), rng.uuid()),
            "name": format!("Team {n}"), "displayName": format!("Team {n}"), "isPersonalSite": false,
            "webUrl": format!("https://{host}/sites/team-{n}"),
            "siteCollection": site_collection,
        }));
    }
    // A tenant with data outside the EU is a Multi-Geo tenant: without Multi-Geo, VTC-LOC-02
    // passes on the organization's flag and judges no site.
    if spec.failing.is_some() {
        let fixture =
            std::fs::read(fixture_dir().join("organization.json")).expect("fixture organization");
        let mut organization: Value =
            serde_json::from_slice(&fixture).expect("fixture organization is JSON");
        if let Some(rows) = organization["value"].as_array_mut() {
            for row in rows {
                row["isMultipleDataLocationsForServicesEnabled"] = json!(true);
            }
        }
        out.insert("organization".into(), organization);
    }
    out.insert(
        "sites".into(),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#sites", "value": sites}),
    );
    out
}

/// The generated tenant as a [`Collection`] of every registry resource: generated where it grows
/// with the tenant, copied from the Zonnedorp fixture otherwise.
pub fn collection(spec: &TenantSpec) -> Collection {
    let registry = PolicyPack::load(&PackSource::BuiltIn)
        .expect("built-in pack")
        .registry;
    let mut generated = bodies(spec);
    let mut resources = BTreeMap::new();
    for (name, resource) in registry.iter() {
        let body = match generated.remove(name.as_str()) {
            Some(body) => body,
            None => {
                let Ok(bytes) = std::fs::read(fixture_dir().join(format!("{name}.json"))) else {
                    continue;
                };
                serde_json::from_slice(&bytes).expect("fixture is JSON")
            }
        };
        resources.insert(
            name.clone(),
            Collected::Read {
                request: resource.request_line(),
                http_status: 200,
                pages: 1,
                body,
                note: None,
                file_sha256: None,
                projected: false,
            },
        );
    }
    Collection {
        tenant_id: "8a6f0c52-7b1e-4c3d-9e2f-00000000a001".into(),
        tenant_name: Some(format!("Gemeente Proefstad ({} accounts)", spec.accounts)),
        source: "generated".into(),
        collected_at: "2026-11-20T06:00:00Z".into(),
        resources,
    }
}

/// Writes the generated tenant as a sealed snapshot directory at `dir` (replaced if it is one).
pub fn write_snapshot(spec: &TenantSpec, dir: &Path) {
    cloudkeur::snapshot::encode(&collection(spec))
        .write_dir(dir)
        .expect("write generated snapshot");
}

/// Total size in bytes of the files in `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

//! Mutation suite for "when a Conditional Access policy counts" (issue 11): start from the
//! compliant tenant (Zonnedorp), narrow its Conditional Access policies with one documented
//! property of the condition set, the users, the applications or the grant controls (or with a
//! property nobody has documented yet), and VTC-MFA-01, -03 and -05 must no longer pass.
//!
//! The property list is data, written from the Microsoft Graph v1.0 reference (the doc URL heads
//! each table), NOT derived from the policy files: a property the pack forgets to judge makes this
//! suite fail.

use crate::mutations::{Fixture, items};
use cloudkeur::findings::Verdict;
use cloudkeur::policy::{Policy, evaluate_policy};
use cloudkeur::snapshot::Snapshot;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

const MFA01: &str = "mfa-01-mfa-for-all-users";
const MFA03: &str = "mfa-03-phishing-resistant-mfa-for-admins";
const MFA05: &str = "mfa-05-block-legacy-authentication";
const ALL: &[&str] = &[MFA01, MFA03, MFA05];
/// Who a policy applies to, by user: MFA-03 may include administrators by role instead.
const EVERYONE: &[&str] = &[MFA01, MFA05];

/// One narrowing: member paths under a policy (dot-separated) set to values, and the controls
/// that must then not pass.
struct Narrowing {
    property: &'static str,
    set: Vec<(&'static str, Value)>,
    breaks: &'static [&'static str],
}

fn narrow(property: &'static str, value: Value, breaks: &'static [&'static str]) -> Narrowing {
    Narrowing {
        property,
        set: vec![(property, value)],
        breaks,
    }
}

const OTHER_USER: &str = "5d4c3b2a-1908-4f7e-8d6c-5b4a39281706";
const GROUP: &str = "2b5ed229-4072-478d-9504-a047ebd4b07d";

/// Every documented property, with a value that narrows the policy (or weakens its grant).
fn documented() -> Vec<Narrowing> {
    vec![
        // https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccessconditionset?view=graph-rest-1.0
        narrow(
            "conditions.applications",
            json!({"includeApplications": ["Office365"]}),
            ALL,
        ),
        narrow(
            "conditions.authenticationFlows",
            json!({"transferMethods": "deviceCodeFlow"}),
            ALL,
        ),
        narrow(
            "conditions.clientApplications",
            json!({"includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": [], "servicePrincipalFilter": null}),
            ALL,
        ),
        narrow("conditions.clientAppTypes", json!(["browser"]), ALL),
        narrow(
            "conditions.clientAppTypes",
            json!(["mobileAppsAndDesktopClients"]),
            ALL,
        ),
        narrow(
            "conditions.devices",
            json!({"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\""}}),
            ALL,
        ),
        narrow(
            "conditions.insiderRiskLevels",
            json!("moderate,elevated"),
            ALL,
        ),
        narrow(
            "conditions.locations",
            json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
            ALL,
        ),
        narrow(
            "conditions.locations",
            json!({"includeLocations": ["d2136c9c-b049-47ae-b9cf-316e04ef7198"], "excludeLocations": []}),
            ALL,
        ),
        narrow(
            "conditions.platforms",
            json!({"includePlatforms": ["windows"], "excludePlatforms": []}),
            ALL,
        ),
        narrow(
            "conditions.platforms",
            json!({"includePlatforms": ["all"], "excludePlatforms": ["iOS"]}),
            ALL,
        ),
        narrow(
            "conditions.servicePrincipalRiskLevels",
            json!(["high"]),
            ALL,
        ),
        narrow(
            "conditions.signInRiskLevels",
            json!(["high", "medium"]),
            ALL,
        ),
        narrow("conditions.userRiskLevels", json!(["high"]), ALL),
        narrow("conditions.users", Value::Null, ALL),
        // Beta-only today; Graph may return them in v1.0 first.
        narrow("conditions.agentIdRiskLevels", json!("high"), ALL),
        narrow(
            "conditions.deviceStates",
            json!({"includeStates": ["All"], "excludeStates": ["Compliant"]}),
            ALL,
        ),
        // https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccessapplications?view=graph-rest-1.0
        narrow(
            "conditions.applications.includeApplications",
            json!(["Office365"]),
            ALL,
        ),
        narrow(
            "conditions.applications.includeApplications",
            json!(["MicrosoftAdminPortals"]),
            ALL,
        ),
        narrow(
            "conditions.applications.includeApplications",
            json!(["None"]),
            ALL,
        ),
        narrow(
            "conditions.applications.includeApplications",
            json!([]),
            ALL,
        ),
        narrow(
            "conditions.applications.excludeApplications",
            json!(["00000002-0000-0ff1-ce00-000000000000"]),
            ALL,
        ),
        narrow(
            "conditions.applications.includeUserActions",
            json!(["urn:user:registersecurityinfo"]),
            ALL,
        ),
        narrow(
            "conditions.applications.includeAuthenticationContextClassReferences",
            json!(["c1"]),
            ALL,
        ),
        narrow(
            "conditions.applications.applicationFilter",
            json!({"mode": "exclude", "rule": "CustomSecurityAttribute.Engineering_Project -eq \"Baker\""}),
            ALL,
        ),
        // https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccessusers?view=graph-rest-1.0
        narrow("conditions.users.includeUsers", json!(["None"]), EVERYONE),
        narrow(
            "conditions.users.includeUsers",
            json!(["GuestsOrExternalUsers"]),
            EVERYONE,
        ),
        narrow(
            "conditions.users.includeUsers",
            json!([OTHER_USER]),
            EVERYONE,
        ),
        narrow("conditions.users.excludeUsers", json!([OTHER_USER]), ALL),
        narrow(
            "conditions.users.excludeUsers",
            json!(["GuestsOrExternalUsers"]),
            ALL,
        ),
        Narrowing {
            property: "conditions.users.includeGroups",
            set: vec![
                ("conditions.users.includeUsers", json!([])),
                ("conditions.users.includeGroups", json!([GROUP])),
            ],
            breaks: EVERYONE,
        },
        narrow("conditions.users.excludeGroups", json!([GROUP]), ALL),
        Narrowing {
            property: "conditions.users.includeRoles",
            set: vec![
                ("conditions.users.includeUsers", json!([])),
                (
                    "conditions.users.includeRoles",
                    json!(["62e90394-69f5-4237-9190-012177145e10"]),
                ),
            ],
            breaks: ALL,
        },
        narrow(
            "conditions.users.excludeRoles",
            json!(["62e90394-69f5-4237-9190-012177145e10"]),
            ALL,
        ),
        Narrowing {
            property: "conditions.users.includeGuestsOrExternalUsers",
            set: vec![
                ("conditions.users.includeUsers", json!([])),
                ("conditions.users.includeRoles", json!([])),
                (
                    "conditions.users.includeGuestsOrExternalUsers",
                    json!({"guestOrExternalUserTypes": "internalGuest", "externalTenants": null}),
                ),
            ],
            breaks: ALL,
        },
        narrow(
            "conditions.users.excludeGuestsOrExternalUsers",
            json!({"guestOrExternalUserTypes": "b2bCollaborationGuest,b2bCollaborationMember", "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}}),
            ALL,
        ),
        // https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccessgrantcontrols?view=graph-rest-1.0
        Narrowing {
            property: "grantControls.operator",
            set: vec![
                ("grantControls.operator", json!("OR")),
                (
                    "grantControls.builtInControls",
                    json!(["mfa", "compliantDevice"]),
                ),
            ],
            breaks: ALL,
        },
        narrow(
            "grantControls.builtInControls",
            json!(["mfa", "domainJoinedDevice"]),
            ALL,
        ),
        narrow(
            "grantControls.builtInControls",
            json!(["mfa", "approvedApplication"]),
            ALL,
        ),
        narrow(
            "grantControls.builtInControls",
            json!(["mfa", "compliantApplication"]),
            ALL,
        ),
        narrow(
            "grantControls.builtInControls",
            json!(["mfa", "passwordChange"]),
            ALL,
        ),
        narrow(
            "grantControls.builtInControls",
            json!(["mfa", "unknownFutureValue"]),
            ALL,
        ),
        narrow(
            "grantControls.builtInControls",
            json!(["compliantDevice"]),
            ALL,
        ),
        // No built-in control left: the MFA policy has nothing (the administrators' policy still
        // has its strength, so MFA-03 is not narrowed by this).
        narrow("grantControls.builtInControls", json!([]), &[MFA01, MFA05]),
        narrow(
            "grantControls.customAuthenticationFactors",
            json!(["c4b8e4d6-1a2b-4c3d-9e8f-0a1b2c3d4e5f"]),
            ALL,
        ),
        narrow(
            "grantControls.termsOfUse",
            json!(["ce580154-086a-40fd-91df-8a60abac81a0"]),
            ALL,
        ),
        narrow(
            "grantControls.authenticationStrength",
            json!({"id": "8f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "policyType": "custom", "requirementsSatisfied": "none", "allowedCombinations": ["password"]}),
            ALL,
        ),
        narrow(
            "grantControls.authenticationStrength",
            json!({"id": "9e2d3c4b-5a6f-4e7d-8c9b-0a1f2e3d4c5b", "requirementsSatisfied": "unknownFutureValue", "allowedCombinations": ["qrCodePin"]}),
            ALL,
        ),
        narrow(
            "grantControls.authenticationStrength",
            json!({"id": "deadbeef-0000-4000-8000-000000000000"}),
            ALL,
        ),
        // The policy itself.
        narrow("state", json!("enabledForReportingButNotEnforced"), ALL),
        narrow("state", json!("disabled"), ALL),
        narrow("conditions", Value::Null, ALL),
    ]
}

/// Where an invented property goes: the four objects whose members the reference documents.
const OBJECTS: &[&str] = &[
    "conditions",
    "conditions.users",
    "conditions.applications",
    "grantControls",
];

/// Every property the reference documents for those objects: an invented one must not be one.
const KNOWN: &[&str] = &[
    "applications",
    "authenticationFlows",
    "clientApplications",
    "clientAppTypes",
    "devices",
    "insiderRiskLevels",
    "locations",
    "platforms",
    "servicePrincipalRiskLevels",
    "signInRiskLevels",
    "userRiskLevels",
    "users",
    "includeUsers",
    "excludeUsers",
    "includeGroups",
    "excludeGroups",
    "includeRoles",
    "excludeRoles",
    "includeGuestsOrExternalUsers",
    "excludeGuestsOrExternalUsers",
    "includeApplications",
    "excludeApplications",
    "includeUserActions",
    "includeAuthenticationContextClassReferences",
    "applicationFilter",
    "operator",
    "builtInControls",
    "customAuthenticationFactors",
    "termsOfUse",
    "authenticationStrength",
];

fn tenant() -> &'static Fixture {
    static TENANT: OnceLock<Fixture> = OnceLock::new();
    TENANT.get_or_init(|| Fixture::load("zonnedorp", &[CA_POLICIES]))
}

fn policy(id: &str) -> &'static Policy {
    tenant()
        .pack
        .policies
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("{id} in the pack"))
}

fn verdict(id: &str, snapshot: &Snapshot) -> (Verdict, String) {
    let t = tenant();
    let finding = evaluate_policy(
        policy(id),
        snapshot,
        &t.settings,
        &t.evidence,
        time::macros::date!(2026 - 11 - 23),
    );
    (finding.verdict, finding.reason)
}

/// Sets `path` (dot-separated, under each policy) to `value` in every Conditional Access policy.
fn mutated(set: &[(&str, Value)]) -> Snapshot {
    tenant().mutated(&|raw| {
        for policy in items(raw, CA_POLICIES) {
            for (path, value) in set {
                let (parents, last) = match path.rsplit_once('.') {
                    Some((parents, last)) => (Some(parents), last),
                    None => (None, *path),
                };
                let mut object = &mut *policy;
                for name in parents.into_iter().flat_map(|p| p.split('.')) {
                    if !object.get(name).is_some_and(Value::is_object) {
                        object[name] = json!({});
                    }
                    object = &mut object[name];
                }
                object[last] = value.clone();
            }
        }
    })
}

/// The resource the mutations change.
const CA_POLICIES: &str = "conditional_access_policies";

#[test]
fn the_compliant_tenant_passes_all_three_before_any_mutation() {
    let snapshot = mutated(&[]);
    for id in ALL {
        let (verdict, reason) = verdict(id, &snapshot);
        assert_eq!(verdict, Verdict::Pass, "{id}: {reason}");
    }
}

/// Every documented property, each narrowing value, exhaustively (not left to chance).
#[test]
fn every_documented_narrowing_stops_the_pass() {
    let mut passed = Vec::new();
    for narrowing in documented() {
        let snapshot = mutated(&narrowing.set);
        for id in narrowing.breaks {
            let (verdict, reason) = verdict(id, &snapshot);
            if verdict == Verdict::Pass {
                passed.push(format!(
                    "{} {:?} -> {id} passes: {reason}",
                    narrowing.property, narrowing.set
                ));
            }
        }
    }
    assert!(
        passed.is_empty(),
        "narrowed policies still pass:\n{}",
        passed.join("\n")
    );
}

/// Every property of the four objects in the reference has at least one narrowing here.
#[test]
fn the_table_covers_every_documented_property() {
    let table = documented();
    for known in KNOWN {
        assert!(
            table
                .iter()
                .any(|n| n.property.rsplit('.').next() == Some(known)),
            "no narrowing for the documented property {known}"
        );
    }
}

fn narrowing_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{1,8}".prop_map(Value::String),
        prop::collection::vec("[a-zA-Z0-9-]{1,12}", 1..3).prop_map(|v| json!(v)),
        ("[a-z]{1,6}", "[a-z]{1,6}").prop_map(|(k, v)| json!({k: v})),
        Just(json!(true)),
        (1i64..1000).prop_map(|n| json!(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// A property nobody documented yet, present and not empty, in any of the four objects:
    /// the policy does not count, so none of the three controls passes.
    #[test]
    fn an_unknown_property_stops_the_pass(
        object in prop::sample::select(OBJECTS),
        name in "[a-z][a-zA-Z]{2,15}",
        value in narrowing_value(),
    ) {
        prop_assume!(!KNOWN.contains(&name.as_str()) && name != "state");
        let path: &'static str = Box::leak(format!("{object}.{name}").into_boxed_str());
        let snapshot = mutated(&[(path, value.clone())]);
        for id in ALL {
            let (verdict, reason) = verdict(id, &snapshot);
            prop_assert_ne!(verdict, Verdict::Pass, "{} = {} -> {} passes: {}", path, value, id, reason);
        }
    }

    /// Documented narrowings combined with neutral noise (annotations, empty values of unknown
    /// properties, which must stay neutral) still stop the pass.
    #[test]
    fn a_documented_narrowing_stops_the_pass_whatever_else_is_neutral(
        which in any::<prop::sample::Index>(),
        object in prop::sample::select(OBJECTS),
        name in "[a-z][a-zA-Z]{2,15}",
        empty in prop::sample::select(vec![Value::Null, json!([]), json!({}), json!("")]),
    ) {
        prop_assume!(!KNOWN.contains(&name.as_str()) && name != "state");
        let table = documented();
        let narrowing = which.get(&table);
        let noise: &'static str = Box::leak(format!("{object}.{name}").into_boxed_str());
        let mut set = vec![(noise, empty)];
        set.extend(narrowing.set.iter().cloned());
        let snapshot = mutated(&set);
        for id in narrowing.breaks {
            let (verdict, reason) = verdict(id, &snapshot);
            prop_assert_ne!(verdict, Verdict::Pass, "{} -> {} passes: {}", narrowing.property, id, reason);
        }
    }

    /// Neutral additions alone keep the compliant tenant compliant: the mechanism denies the
    /// unknown, not everything.
    #[test]
    fn empty_unknown_properties_and_annotations_are_neutral(
        object in prop::sample::select(OBJECTS),
        name in "[a-z][a-zA-Z]{2,15}",
        empty in prop::sample::select(vec![Value::Null, json!([]), json!({}), json!("")]),
    ) {
        prop_assume!(!KNOWN.contains(&name.as_str()) && name != "state");
        let path: &'static str = Box::leak(format!("{object}.{name}").into_boxed_str());
        let annotation: &'static str = Box::leak(format!("{object}.{name}@odata.context").into_boxed_str());
        let snapshot = mutated(&[(path, empty), (annotation, json!("https://graph.microsoft.com/v1.0/$metadata#x"))]);
        for id in ALL {
            let (verdict, reason) = verdict(id, &snapshot);
            prop_assert_eq!(verdict, Verdict::Pass, "{} -> {}: {}", path, id, reason);
        }
    }
}

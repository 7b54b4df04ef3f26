//! Adversarial review of the Google Workspace pack for false passes: start from the compliant
//! municipality (Gemeente Heidebeek), make one change an administrator could really make in the
//! Admin console (or one the APIs could really answer), and the control it touches must no longer
//! pass. Where the change makes the customer non-compliant the verdict is `fail` and names the org
//! unit, group or account; where it makes the data not understood the verdict is `error` (or a
//! `fail` the data present already proves), never `pass`.
//!
//! The mutations are data, written from Google's documentation and the research notes on the
//! Policy and Directory APIs, not from the policy files.

use crate::mutations::{
    Change, Fixture, Mutation, Named, Raw, Want, assert_every_mutation_stops_the_pass, items, m,
};
use crate::support::{repo_path, scan_json};
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::evaluate_policy;
use cloudkeur::snapshot::Snapshot;
use cloudkeur::vendor::Vendor;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

const ROOT: &str = "03ph8a2z4heidebk";
const DIENSTEN: &str = "03ph8a2z2diensten";
const ICT: &str = "03ph8a2z3ictdnst";
const WELZIJN: &str = "03ph8a2z5welzijn";
const RAAD: &str = "03ph8a2z6gemraad";
const BESTUUR: &str = "03ph8a2z1bestuur";
/// Configuration groups of the fixture: the administrators' (security keys, members read), the
/// council's and all staff (members not read).
const BEHEERDERS: &str = "03x9fbeheer01";
const RAADSLEDEN: &str = "04abraadsleden";
const MEDEWERKERS: &str = "01medewerkers9";
const SUPER_ROLE: &str = "9170516996784129";
const HELPDESK_ROLE: &str = "9170516996784132";

const BURGEMEESTER: &str = "110482913570166241001";
const DIRECTEUR: &str = "110482913570166241002";
const COORDINATOR: &str = "110482913570166241003";
const HELPDESK: &str = "110482913570166241004";
const WERKER: &str = "110482913570166241005";
const RAADSLID: &str = "110482913570166241006";
const ONTHAAL: &str = "110482913570166241007";

const RESOURCES: &[&str] = &[
    "google_policies",
    "google_org_units",
    "google_groups",
    "google_policy_group_members",
    "google_users",
    "google_roles",
    "google_role_assignments",
    "google_role_group_members",
    "google_domains",
];

fn heidebeek() -> &'static Fixture {
    static CUSTOMER: OnceLock<Fixture> = OnceLock::new();
    CUSTOMER.get_or_init(|| Fixture::load("heidebeek", RESOURCES))
}

/// The snapshot with `change` applied to its raw resources.
fn mutated(change: &dyn Fn(&mut Raw)) -> Snapshot {
    heidebeek().mutated(change)
}

/// The finding of the Google policy serving `control`.
fn judge(snapshot: &Snapshot, control: &str) -> Finding {
    let customer = heidebeek();
    let derived = cloudkeur::google::derive(snapshot);
    evaluate_policy(
        customer.policy(control, Vendor::Google),
        &derived,
        &customer.settings,
        &customer.evidence,
        time::macros::date!(2026 - 11 - 23),
    )
}

// ---- editing the raw resources -------------------------------------------------------------

fn policy_json(unit: &str, group: Option<&str>, order: f64, setting: &str, value: Value) -> Value {
    let mut query = json!({"orgUnit": format!("orgUnits/{unit}"), "sortOrder": order});
    if let Some(group) = group {
        query["group"] = json!(group);
    }
    json!({
        "name": format!("policies/mut{}{}", setting.replace('.', ""), order.to_bits()),
        "customer": "customers/C04hdbk7q",
        "policyQuery": query,
        "setting": {"type": format!("settings/{setting}"), "value": value},
        "type": "ADMIN"
    })
}

/// An administrator's policy on an org unit.
fn set_on(raw: &mut Raw, unit: &str, order: f64, setting: &str, value: Value) {
    items(raw, "google_policies").push(policy_json(unit, None, order, setting, value));
}

/// A configuration group's policy (attached at the root, as the console does).
fn set_for_group(raw: &mut Raw, group: &str, order: f64, setting: &str, value: Value) {
    items(raw, "google_policies").push(policy_json(ROOT, Some(group), order, setting, value));
}

/// Removes the policies of `setting` of the given type (`ADMIN`, `SYSTEM`).
fn unset(raw: &mut Raw, setting: &str, kind: &str) {
    let full = format!("settings/{setting}");
    items(raw, "google_policies")
        .retain(|p| !(p["setting"]["type"] == full.as_str() && p["type"] == kind));
}

/// Edits the value of every administrator policy of `setting` at the root.
fn edit_root(raw: &mut Raw, setting: &str, edit: &dyn Fn(&mut Map<String, Value>)) {
    let full = format!("settings/{setting}");
    let mut found = false;
    for p in items(raw, "google_policies") {
        if p["setting"]["type"] == full.as_str()
            && p["type"] == "ADMIN"
            && p["policyQuery"]["orgUnit"] == format!("orgUnits/{ROOT}").as_str()
            && p["policyQuery"].get("group").is_none()
        {
            edit(p["setting"]["value"].as_object_mut().expect("value"));
            found = true;
        }
    }
    assert!(found, "no root policy of {setting}");
}

fn user<'a>(raw: &'a mut Raw, id: &str) -> &'a mut Value {
    items(raw, "google_users")
        .iter_mut()
        .find(|u| u["id"] == id)
        .expect("user")
}

/// A new active account of the customer.
fn add_user(raw: &mut Raw, id: &str, email: &str, unit: &str, edit: &dyn Fn(&mut Value)) {
    let mut account = json!({
        "kind": "admin#directory#user", "id": id, "primaryEmail": email,
        "name": {"givenName": "Ivo", "familyName": "Fictief", "fullName": "Ivo Fictief"},
        "isAdmin": false, "isDelegatedAdmin": false, "suspended": false, "archived": false,
        "customerId": "C04hdbk7q", "orgUnitPath": unit,
        "isEnrolledIn2Sv": true, "isEnforcedIn2Sv": true
    });
    edit(&mut account);
    items(raw, "google_users").push(account);
}

fn assign(raw: &mut Raw, role: &str, to: &str, kind: &str) {
    let n = items(raw, "google_role_assignments").len();
    items(raw, "google_role_assignments").push(json!({
        "kind": "admin#directory#roleAssignment", "roleAssignmentId": format!("9200{n}"),
        "roleId": role, "assignedTo": to, "assigneeType": kind, "scopeType": "CUSTOMER"
    }));
}

fn member(id: &str, email: &str) -> Value {
    json!({"kind": "admin#directory#member", "id": id, "email": email, "role": "MEMBER",
           "type": "USER", "status": "ACTIVE"})
}

fn role_group_members(raw: &mut Raw, group: &str, members: Vec<Value>) {
    raw.get_mut("google_role_group_members")
        .and_then(Value::as_object_mut)
        .expect("fan-out")
        .insert(group.to_owned(), json!({ "value": members }));
}

fn policy_group_members(raw: &mut Raw, group: &str, members: Option<Vec<Value>>) {
    let map = raw
        .get_mut("google_policy_group_members")
        .and_then(Value::as_object_mut)
        .expect("fan-out");
    match members {
        Some(members) => {
            map.insert(group.to_owned(), json!({ "value": members }));
        }
        None => {
            map.remove(group);
        }
    }
}

// ---- the mutations ---------------------------------------------------------------------------

use Want::{Fail, NotPass};

const ENFORCEMENT: &str = "security.two_step_verification_enforcement";
const ENROLLMENT: &str = "security.two_step_verification_enrollment";
const FACTOR: &str = "security.two_step_verification_enforcement_factor";
const LSA: &str = "security.less_secure_apps";
const APPS: &str = "api_controls.unconfigured_third_party_apps";
const SHARING: &str = "drive_and_docs.external_sharing";
const SAFETY: &str = "meet.safety_domain";
const JOINING: &str = "meet.meet_joining";
const AUTO_REC: &str = "meet.automatic_recording";
const AUTO_TRANS: &str = "meet.automatic_transcription";
const USER_REC: &str = "meet.video_recording";
const REGION: &str = "data_regions.data_at_rest_region";
const PROCESSING: &str = "data_regions.data_processing_region";

/// A child org unit overrides the compliant root (sortOrder 200 + depth, as Google numbers them).
fn child_overrides() -> Vec<Mutation> {
    vec![
        m(
            "ICT turns 2SV enforcement off (the epoch)",
            "VTC-MFA-01",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    ENFORCEMENT,
                    json!({"enforcedFrom": "1970-01-01T00:00:00Z"}),
                )
            },
        ),
        m(
            "ICT schedules enforcement for next year",
            "VTC-MFA-01",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    ENFORCEMENT,
                    json!({"enforcedFrom": "2027-03-01T07:00:00Z"}),
                )
            },
        ),
        m(
            "Welzijn may not turn 2SV on",
            "VTC-MFA-01",
            Fail("/Diensten/Welzijn"),
            |r| {
                set_on(
                    r,
                    WELZIJN,
                    203.1,
                    ENROLLMENT,
                    json!({"allowEnrollment": false}),
                )
            },
        ),
        m(
            "Diensten allows any factor (SMS)",
            "VTC-MFA-02",
            Fail("/Diensten"),
            |r| {
                set_on(
                    r,
                    DIENSTEN,
                    202.1,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                )
            },
        ),
        m(
            "the grandchild inherits its parent's SMS",
            "VTC-MFA-02",
            Fail("/Diensten/Welzijn"),
            |r| {
                set_on(
                    r,
                    DIENSTEN,
                    202.1,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                )
            },
        ),
        m(
            "the council allows less secure apps",
            "VTC-MFA-05",
            Fail("/Gemeenteraad"),
            |r| set_on(r, RAAD, 202.1, LSA, json!({"allowLessSecureApps": true})),
        ),
        m(
            "Diensten shares with anyone",
            "VTC-SHR-01",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    DIENSTEN,
                    202.1,
                    SHARING,
                    json!({"externalSharingMode": "ALLOWED", "allowPublishingFiles": true}),
                )
            },
        ),
        m(
            "Diensten shares with any account",
            "VTC-SHR-04",
            Fail("/Diensten"),
            |r| {
                set_on(
                    r,
                    DIENSTEN,
                    202.1,
                    SHARING,
                    json!({"externalSharingMode": "ALLOWED", "allowPublishingFiles": false}),
                )
            },
        ),
        m(
            "ICT publishes to anyone with the link",
            "VTC-SHR-01",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    SHARING,
                    json!({"externalSharingMode": "ALLOWLISTED_DOMAINS", "allowPublishingFiles": true}),
                )
            },
        ),
        m(
            "ICT allowlists but leaves publishing out (Max: default true)",
            "VTC-SHR-01",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    SHARING,
                    json!({"externalSharingMode": "ALLOWLISTED_DOMAINS"}),
                )
            },
        ),
        m(
            "the council admits anonymous participants",
            "VTC-MTG-01",
            Fail("/Gemeenteraad"),
            |r| set_on(r, RAAD, 202.1, SAFETY, json!({"usersAllowedToJoin": "ALL"})),
        ),
        m(
            "the council lets anyone join without knocking",
            "VTC-MTG-01",
            Fail("/Gemeenteraad"),
            |r| set_on(r, RAAD, 202.1, JOINING, json!({"allowedAudience": "OPEN"})),
        ),
        m(
            "Welzijn records automatically",
            "VTC-MTG-02",
            Fail("/Diensten/Welzijn"),
            |r| set_on(r, WELZIJN, 203.1, AUTO_REC, json!({"enabled": true})),
        ),
        m(
            "Welzijn transcribes automatically",
            "VTC-MTG-02",
            Fail("/Diensten/Welzijn"),
            |r| set_on(r, WELZIJN, 203.1, AUTO_TRANS, json!({"enabled": true})),
        ),
        m("the root lets users record", "VTC-MTG-02", Fail("/"), |r| {
            edit_root(r, USER_REC, &|v| {
                v.insert("enableRecording".into(), json!(true));
            })
        }),
        m(
            "ICT allows unconfigured apps (console spelling)",
            "VTC-RBA-03",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    APPS,
                    json!({"accessLevel": "UNSPECIFIED_UBER_BLOCK"}),
                )
            },
        ),
        m(
            "ICT allows sign-in only (documented spelling)",
            "VTC-RBA-03",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    APPS,
                    json!({"accessLevel": "ALLOW_SIGN_IN_ONLY"}),
                )
            },
        ),
        m(
            "ICT allows sign-in scopes (live spelling)",
            "VTC-RBA-03",
            Fail("/Diensten/ICT"),
            |r| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    APPS,
                    json!({"accessLevel": "ALLOW_SIGN_IN_SCOPES_ONLY"}),
                )
            },
        ),
        m(
            "Welzijn keeps data in the US",
            "VTC-LOC-01",
            Fail("/Diensten/Welzijn"),
            |r| set_on(r, WELZIJN, 203.1, REGION, json!({"region": "US"})),
        ),
        m(
            "Welzijn keeps data in any region",
            "VTC-LOC-01",
            Fail("/Diensten/Welzijn"),
            |r| set_on(r, WELZIJN, 203.1, REGION, json!({"region": "ANY_REGION"})),
        ),
        m(
            "Welzijn processes data anywhere",
            "VTC-LOC-02",
            Fail("/Diensten/Welzijn"),
            |r| {
                set_on(
                    r,
                    WELZIJN,
                    203.1,
                    PROCESSING,
                    json!({"limitToStorageRegion": false}),
                )
            },
        ),
    ]
}

/// Configuration groups (`policyQuery.group`) that weaken a setting over the org units.
fn group_policies() -> Vec<Mutation> {
    vec![
        m(
            "all staff may use less secure apps",
            "VTC-MFA-05",
            Fail("group medewerkers@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    LSA,
                    json!({"allowLessSecureApps": true}),
                )
            },
        ),
        m(
            "the council's group is exempt from 2SV",
            "VTC-MFA-01",
            Fail("group raad@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{RAADSLEDEN}"),
                    399.00002,
                    ENFORCEMENT,
                    json!({"enforcedFrom": "1970-01-01T00:00:00Z"}),
                )
            },
        ),
        m(
            "all staff may use SMS",
            "VTC-MFA-02",
            Fail("group medewerkers@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                )
            },
        ),
        m(
            "the council records automatically",
            "VTC-MTG-02",
            Fail("group raad@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{RAADSLEDEN}"),
                    399.00002,
                    AUTO_REC,
                    json!({"enabled": true}),
                )
            },
        ),
        m(
            "the council admits anonymous participants (group)",
            "VTC-MTG-01",
            Fail("group raad@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{RAADSLEDEN}"),
                    399.00002,
                    SAFETY,
                    json!({"usersAllowedToJoin": "ALL"}),
                )
            },
        ),
        m(
            "all staff share with anyone",
            "VTC-SHR-01",
            Fail("group medewerkers@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    SHARING,
                    json!({"externalSharingMode": "ALLOWED", "allowPublishingFiles": true}),
                )
            },
        ),
        m(
            "all staff keep data anywhere",
            "VTC-LOC-01",
            Fail("group medewerkers@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    REGION,
                    json!({"region": "ANY_REGION"}),
                )
            },
        ),
        m(
            "all staff allow unconfigured apps",
            "VTC-RBA-03",
            Fail("group medewerkers@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    APPS,
                    json!({"accessLevel": "ALLOW_SIGN_IN_ONLY"}),
                )
            },
        ),
        // Two groups with conflicting settings: the staff group (read, with the coordinator in
        // it) has the greater sortOrder, so it wins over the administrators' security keys.
        m(
            "a higher-priority group allows any factor to an administrator",
            "VTC-MFA-03",
            Fail("ict.coordinator@heidebeek.example"),
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                );
                policy_group_members(
                    r,
                    MEDEWERKERS,
                    Some(vec![member(
                        COORDINATOR,
                        "ict.coordinator@heidebeek.example",
                    )]),
                );
            },
        ),
        m(
            "a higher-priority group whose members were not read",
            "VTC-MFA-03",
            NotPass,
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00002,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                );
            },
        ),
        m(
            "two group policies share a sortOrder",
            "VTC-MFA-03",
            NotPass,
            |r| {
                set_for_group(
                    r,
                    &format!("groups/{MEDEWERKERS}"),
                    399.00001,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                );
                policy_group_members(
                    r,
                    MEDEWERKERS,
                    Some(vec![member(
                        COORDINATOR,
                        "ict.coordinator@heidebeek.example",
                    )]),
                );
            },
        ),
        m(
            "the administrators' group members cannot be read",
            "VTC-MFA-03",
            NotPass,
            |r| {
                policy_group_members(r, BEHEERDERS, None);
            },
        ),
        m(
            "the administrators' group policy sorts below the org unit's",
            "VTC-MFA-03",
            NotPass,
            |r| {
                for p in items(r, "google_policies") {
                    if p["policyQuery"]["group"] == format!("groups/{BEHEERDERS}").as_str() {
                        p["policyQuery"]["sortOrder"] = json!(150.5);
                    }
                }
            },
        ),
        m(
            "the special admin group weakens administrators' factors",
            "VTC-MFA-03",
            NotPass,
            |r| {
                set_for_group(
                    r,
                    "WORKSPACE_ALL_ADMIN_GROUP",
                    2.0,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                );
            },
        ),
    ]
}

/// Settings taken away: Google's documented default decides, else the value is unknown.
fn removed_settings() -> Vec<Mutation> {
    vec![
        m("no 2SV enforcement policy", "VTC-MFA-01", Fail("/"), |r| {
            unset(r, ENFORCEMENT, "ADMIN")
        }),
        m(
            "no factor policy (Google's system default ALL)",
            "VTC-MFA-02",
            Fail("/Gemeenteraad"),
            |r| unset(r, FACTOR, "ADMIN"),
        ),
        m(
            "no factor policy at all (documented default ALL)",
            "VTC-MFA-02",
            Fail("/"),
            |r| {
                unset(r, FACTOR, "ADMIN");
                unset(r, FACTOR, "SYSTEM");
            },
        ),
        m(
            "no unconfigured-apps policy (no documented default)",
            "VTC-RBA-03",
            Fail("/"),
            |r| unset(r, APPS, "ADMIN"),
        ),
        m(
            "no sharing policy (documented default ALLOWED)",
            "VTC-SHR-01",
            Fail("/"),
            |r| unset(r, SHARING, "ADMIN"),
        ),
        m("no sharing policy, SHR-04", "VTC-SHR-04", Fail("/"), |r| {
            unset(r, SHARING, "ADMIN")
        }),
        m(
            "no Meet safety policy (system ALL)",
            "VTC-MTG-01",
            Fail("/"),
            |r| unset(r, SAFETY, "ADMIN"),
        ),
        m(
            "no Meet safety policy at all (no documented default)",
            "VTC-MTG-01",
            NotPass,
            |r| {
                unset(r, SAFETY, "ADMIN");
                unset(r, SAFETY, "SYSTEM");
            },
        ),
        m(
            "no Meet joining policy at all",
            "VTC-MTG-01",
            NotPass,
            |r| {
                unset(r, JOINING, "ADMIN");
                unset(r, JOINING, "SYSTEM");
            },
        ),
        m(
            "no automatic-recording policy at all (no documented default)",
            "VTC-MTG-02",
            NotPass,
            |r| unset(r, AUTO_REC, "SYSTEM"),
        ),
        m(
            "no automatic-transcription policy at all",
            "VTC-MTG-02",
            NotPass,
            |r| unset(r, AUTO_TRANS, "SYSTEM"),
        ),
        m(
            "no user-recording policy (system: on)",
            "VTC-MTG-02",
            Fail("/"),
            |r| unset(r, USER_REC, "ADMIN"),
        ),
        m(
            "no user-recording policy at all",
            "VTC-MTG-02",
            NotPass,
            |r| {
                unset(r, USER_REC, "ADMIN");
                unset(r, USER_REC, "SYSTEM");
            },
        ),
        m(
            "no data-region policy (system ANY_REGION)",
            "VTC-LOC-01",
            Fail("/"),
            |r| unset(r, REGION, "ADMIN"),
        ),
        m(
            "no processing policy (system false)",
            "VTC-LOC-02",
            Fail("/"),
            |r| unset(r, PROCESSING, "ADMIN"),
        ),
    ]
}

/// Policy API answers the pack does not understand.
fn not_understood() -> Vec<Mutation> {
    vec![
        m(
            "an unknown factor set (a new enforcement factor)",
            "VTC-MFA-02",
            Fail("/"),
            |r| {
                edit_root(r, FACTOR, &|v| {
                    v.insert("allowedSignInFactorSet".into(), json!("PASSKEY_OR_SMS"));
                })
            },
        ),
        m(
            "an unknown factor set for administrators",
            "VTC-MFA-03",
            NotPass,
            |r| {
                for p in items(r, "google_policies") {
                    if p["policyQuery"]["group"] == format!("groups/{BEHEERDERS}").as_str() {
                        p["setting"]["value"]["allowedSignInFactorSet"] =
                            json!("PASSKEY_ONLY_OR_SMS");
                    }
                }
            },
        ),
        m(
            "an extra field in the factor setting",
            "VTC-MFA-02",
            NotPass,
            |r| {
                edit_root(r, FACTOR, &|v| {
                    v.insert("exemptedUsers".into(), json!(["onthaal@heidebeek.example"]));
                })
            },
        ),
        m(
            "an extra field in less secure apps",
            "VTC-MFA-05",
            NotPass,
            |r| {
                edit_root(r, LSA, &|v| {
                    v.insert("allowLessSecureAppsForImap".into(), json!(true));
                })
            },
        ),
        m(
            "an extra field in 2SV enforcement",
            "VTC-MFA-01",
            NotPass,
            |r| {
                edit_root(r, ENFORCEMENT, &|v| {
                    v.insert("exemptGroups".into(), json!(["groups/04abraadsleden"]));
                })
            },
        ),
        m(
            "an extra field in external sharing",
            "VTC-SHR-01",
            NotPass,
            |r| {
                edit_root(r, SHARING, &|v| {
                    v.insert("allowAnyoneWithLinkForSites".into(), json!(true));
                })
            },
        ),
        m(
            "an extra field in Meet safety",
            "VTC-MTG-01",
            NotPass,
            |r| {
                edit_root(r, SAFETY, &|v| {
                    v.insert("allowAnonymousForLivestreams".into(), json!(true));
                })
            },
        ),
        m(
            "an extra field in unconfigured apps",
            "VTC-RBA-03",
            NotPass,
            |r| {
                edit_root(r, APPS, &|v| {
                    v.insert("accessLevelForGuests".into(), json!("ALLOW_ALL"));
                })
            },
        ),
        m(
            "an extra field in the data region",
            "VTC-LOC-01",
            NotPass,
            |r| {
                edit_root(r, REGION, &|v| {
                    v.insert("exemptServices".into(), json!(["meet"]));
                })
            },
        ),
        m(
            "less secure apps as the string \"false\"",
            "VTC-MFA-05",
            NotPass,
            |r| {
                edit_root(r, LSA, &|v| {
                    v.insert("allowLessSecureApps".into(), json!("false"));
                })
            },
        ),
        m("less secure apps null", "VTC-MFA-05", NotPass, |r| {
            edit_root(r, LSA, &|v| {
                v.insert("allowLessSecureApps".into(), Value::Null);
            })
        }),
        m("the factor set as a number", "VTC-MFA-02", NotPass, |r| {
            edit_root(r, FACTOR, &|v| {
                v.insert("allowedSignInFactorSet".into(), json!(2));
            })
        }),
        m("enforcedFrom as a number", "VTC-MFA-01", NotPass, |r| {
            edit_root(r, ENFORCEMENT, &|v| {
                v.insert("enforcedFrom".into(), json!(1740812400));
            })
        }),
        m("enforcedFrom not a date", "VTC-MFA-01", NotPass, |r| {
            edit_root(r, ENFORCEMENT, &|v| {
                v.insert("enforcedFrom".into(), json!("soon"));
            })
        }),
        m("the region lower case", "VTC-LOC-01", NotPass, |r| {
            edit_root(r, REGION, &|v| {
                v.insert("region".into(), json!("europe"));
            })
        }),
        m("a sortOrder missing", "VTC-MFA-05", NotPass, |r| {
            set_on(r, RAAD, 202.1, LSA, json!({"allowLessSecureApps": true}));
            let last = items(r, "google_policies").last_mut().expect("policy");
            last["policyQuery"]
                .as_object_mut()
                .expect("query")
                .remove("sortOrder");
        }),
        m("a sortOrder as a string", "VTC-MFA-05", NotPass, |r| {
            set_on(r, RAAD, 202.1, LSA, json!({"allowLessSecureApps": true}));
            let last = items(r, "google_policies").last_mut().expect("policy");
            last["policyQuery"]["sortOrder"] = json!("202.1");
        }),
        m(
            "a child's sortOrder below its parent's",
            "VTC-MFA-05",
            NotPass,
            |r| {
                set_on(r, RAAD, 150.0, LSA, json!({"allowLessSecureApps": false}));
            },
        ),
        m(
            "a weakening policy on an org unit not in the org-unit list",
            "VTC-MFA-05",
            NotPass,
            |r| {
                set_on(
                    r,
                    "03ph8a2z7tijdelk",
                    202.1,
                    LSA,
                    json!({"allowLessSecureApps": true}),
                );
            },
        ),
        m(
            "an org unit missing from the list (a user sits in it)",
            "VTC-MFA-05",
            NotPass,
            |r| {
                set_on(
                    r,
                    "03ph8a2z7tijdelk",
                    202.1,
                    LSA,
                    json!({"allowLessSecureApps": true}),
                );
                user(r, WERKER)["orgUnitPath"] = json!("/Tijdelijk");
            },
        ),
        m(
            "a setting type without the settings/ prefix",
            "VTC-MFA-05",
            NotPass,
            |r| {
                set_on(r, RAAD, 202.1, LSA, json!({"allowLessSecureApps": true}));
                let last = items(r, "google_policies").last_mut().expect("policy");
                last["setting"]["type"] = json!("security.less_secure_apps");
            },
        ),
        m(
            "a setting value that is not an object",
            "VTC-MFA-05",
            NotPass,
            |r| {
                set_on(r, RAAD, 202.1, LSA, json!({}));
                let last = items(r, "google_policies").last_mut().expect("policy");
                last["setting"]["value"] = json!(true);
            },
        ),
        m(
            "a weakening policy that names no org unit (the root's)",
            "VTC-MFA-05",
            Fail("/"),
            |r| {
                set_on(r, RAAD, 201.5, LSA, json!({"allowLessSecureApps": true}));
                let last = items(r, "google_policies").last_mut().expect("policy");
                last["policyQuery"]
                    .as_object_mut()
                    .expect("query")
                    .remove("orgUnit");
            },
        ),
        m(
            "a licence-conditioned policy turns LSA off for some users only",
            "VTC-MFA-05",
            NotPass,
            |r| {
                set_on(r, RAAD, 202.1, LSA, json!({"allowLessSecureApps": true}));
                set_on(r, RAAD, 202.2, LSA, json!({"allowLessSecureApps": false}));
                let last = items(r, "google_policies").last_mut().expect("policy");
                last["policyQuery"]["query"] = json!(format!(
                    "entity.org_units.exists(org_unit, org_unit.org_unit_id == orgUnitId('{RAAD}')) && entity.licenses.exists(license, license in ['/product/101031/sku/1010370001'])"
                ));
            },
        ),
        m(
            "Google's system policies disagree (edition defaults)",
            "VTC-MTG-02",
            NotPass,
            |r| {
                items(r, "google_policies").push(json!({
                "name": "policies/mutsysrec", "customer": "customers/C04hdbk7q",
                "policyQuery": {"orgUnit": format!("orgUnits/{ROOT}"), "sortOrder": 100.00031},
                "setting": {"type": "settings/meet.automatic_recording", "value": {"enabled": true}},
                "type": "SYSTEM"
            }));
            },
        ),
        m(
            "the org units list has no root",
            "VTC-MFA-05",
            NotPass,
            |r| {
                items(r, "google_org_units").retain(|u| u["orgUnitPath"] != "/");
            },
        ),
    ]
}

/// Who holds the super administrator role (RBA-01), and administrators' factors (MFA-03).
fn administrators() -> Vec<Mutation> {
    const EXTERNAL: &str = "110482913570166249901";
    vec![
        m(
            "a third super administrator from another domain (an account)",
            "VTC-RBA-01",
            Fail("beheer@ict-partner.example"),
            |r| {
                add_user(
                    r,
                    EXTERNAL,
                    "beheer@ict-partner.example",
                    "/Diensten/ICT",
                    &|u| {
                        u["isAdmin"] = json!(true);
                    },
                );
                assign(r, SUPER_ROLE, EXTERNAL, "user");
            },
        ),
        m(
            "a third super administrator that is no account of the customer",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, "109876543210987654321", "user");
            },
        ),
        m(
            "the super administrator role for a service account",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, "117700000000000000042", "service_account");
            },
        ),
        m("five super administrators", "VTC-RBA-01", NotPass, |r| {
            for id in [BURGEMEESTER, WERKER, RAADSLID] {
                user(r, id)["isAdmin"] = json!(true);
                assign(r, SUPER_ROLE, id, "user");
            }
        }),
        m("one super administrator", "VTC-RBA-01", NotPass, |r| {
            user(r, COORDINATOR)["isAdmin"] = json!(false);
            items(r, "google_role_assignments").retain(|a| a["assignedTo"] != COORDINATOR);
        }),
        m(
            "one active and one suspended super administrator",
            "VTC-RBA-01",
            NotPass,
            |r| {
                user(r, COORDINATOR)["suspended"] = json!(true);
            },
        ),
        m(
            "two active and three suspended super administrators (five hold the role)",
            "VTC-RBA-01",
            NotPass,
            |r| {
                for id in [BURGEMEESTER, WERKER, RAADSLID] {
                    user(r, id)["isAdmin"] = json!(true);
                    user(r, id)["suspended"] = json!(true);
                    assign(r, SUPER_ROLE, id, "user");
                }
            },
        ),
        m(
            "two active and three archived super administrators",
            "VTC-RBA-01",
            NotPass,
            |r| {
                for id in [BURGEMEESTER, WERKER, RAADSLID] {
                    user(r, id)["isAdmin"] = json!(true);
                    user(r, id)["archived"] = json!(true);
                    assign(r, SUPER_ROLE, id, "user");
                }
            },
        ),
        m(
            "super administrators through a group role assignment",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, RAADSLEDEN, "group");
                role_group_members(
                    r,
                    RAADSLEDEN,
                    vec![
                        member(RAADSLID, "raadslid.janssens@heidebeek.example"),
                        member(BURGEMEESTER, "burgemeester@heidebeek.example"),
                        member(WERKER, "maatschappelijk.werker@heidebeek.example"),
                    ],
                );
            },
        ),
        m(
            "a group holding the role whose members were not read",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, RAADSLEDEN, "group");
            },
        ),
        m(
            "a group holding the role with an outside member",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, RAADSLEDEN, "group");
                role_group_members(
                    r,
                    RAADSLEDEN,
                    vec![member(
                        "109876543210987654321",
                        "beheer@ict-partner.example",
                    )],
                );
            },
        ),
        m(
            "a group holding the role with every account of the customer in it",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, RAADSLEDEN, "group");
                role_group_members(
                    r,
                    RAADSLEDEN,
                    vec![
                        json!({"kind": "admin#directory#member", "id": "C04hdbk7q", "role": "MEMBER", "type": "CUSTOMER", "status": "ACTIVE"}),
                    ],
                );
            },
        ),
        m(
            "a group holding the role with a member without an id",
            "VTC-RBA-01",
            NotPass,
            |r| {
                assign(r, SUPER_ROLE, RAADSLEDEN, "group");
                role_group_members(
                    r,
                    RAADSLEDEN,
                    vec![
                        member(RAADSLID, "raadslid.janssens@heidebeek.example"),
                        member(BURGEMEESTER, "burgemeester@heidebeek.example"),
                        json!({"kind": "admin#directory#member", "email": "extern@ict-partner.example", "role": "MEMBER", "type": "USER", "status": "ACTIVE"}),
                    ],
                );
            },
        ),
        m(
            "a custom role with isSuperAdminRole given to three more",
            "VTC-RBA-01",
            NotPass,
            |r| {
                items(r, "google_roles").push(json!({"kind": "admin#directory#role", "roleId": "9170516996789999",
                "roleName": "Noodbeheer", "rolePrivileges": [], "isSystemRole": false, "isSuperAdminRole": true}));
                for id in [BURGEMEESTER, WERKER, RAADSLID] {
                    assign(r, "9170516996789999", id, "user");
                }
            },
        ),
        m(
            "a role that does not say whether it is a super administrator role",
            "VTC-RBA-01",
            NotPass,
            |r| {
                items(r, "google_roles").push(json!({"kind": "admin#directory#role", "roleId": "9170516996789998",
                "roleName": "Noodbeheer", "rolePrivileges": [{"privilegeName": "SUPER_ADMIN", "serviceId": "00haapch16h1ysv"}], "isSystemRole": false}));
                for id in [BURGEMEESTER, WERKER, RAADSLID] {
                    assign(r, "9170516996789998", id, "user");
                }
            },
        ),
        m(
            "an assignment of a role that is not in the role list",
            "VTC-RBA-01",
            NotPass,
            |r| {
                for id in [BURGEMEESTER, WERKER, RAADSLID] {
                    assign(r, "9170516996780000", id, "user");
                }
            },
        ),
        m(
            "an account that does not say whether it is a super administrator",
            "VTC-RBA-01",
            NotPass,
            |r| {
                user(r, ONTHAAL)
                    .as_object_mut()
                    .expect("user")
                    .remove("isAdmin");
            },
        ),
        // MFA-03
        m(
            "a delegated administrator in a unit where any non-phone factor goes",
            "VTC-MFA-03",
            Fail("burgemeester@heidebeek.example"),
            |r| {
                user(r, BURGEMEESTER)["isDelegatedAdmin"] = json!(true);
            },
        ),
        m(
            "a super administrator taken out of the security-key group",
            "VTC-MFA-03",
            Fail("algemeen.directeur@heidebeek.example"),
            |r| {
                policy_group_members(
                    r,
                    BEHEERDERS,
                    Some(vec![
                        member(COORDINATOR, "ict.coordinator@heidebeek.example"),
                        member(HELPDESK, "helpdesk@heidebeek.example"),
                    ]),
                );
            },
        ),
        m(
            "an administrator in a unit where the factor is any",
            "VTC-MFA-03",
            Fail("burgemeester@heidebeek.example"),
            |r| {
                user(r, BURGEMEESTER)["isDelegatedAdmin"] = json!(true);
                set_on(
                    r,
                    BESTUUR,
                    202.1,
                    FACTOR,
                    json!({"allowedSignInFactorSet": "ALL"}),
                );
            },
        ),
        m(
            "a super administrator through a group role assignment, not flagged isAdmin",
            "VTC-MFA-03",
            Fail("raadslid.janssens@heidebeek.example"),
            |r| {
                assign(r, SUPER_ROLE, RAADSLEDEN, "group");
                role_group_members(
                    r,
                    RAADSLEDEN,
                    vec![member(RAADSLID, "raadslid.janssens@heidebeek.example")],
                );
            },
        ),
        m(
            "a delegated role assigned directly, not flagged isDelegatedAdmin",
            "VTC-MFA-03",
            Fail("onthaal@heidebeek.example"),
            |r| {
                assign(r, HELPDESK_ROLE, ONTHAAL, "user");
            },
        ),
        m(
            "an administrator whose org unit is not in the list",
            "VTC-MFA-03",
            NotPass,
            |r| {
                policy_group_members(
                    r,
                    BEHEERDERS,
                    Some(vec![member(
                        COORDINATOR,
                        "ict.coordinator@heidebeek.example",
                    )]),
                );
                user(r, DIRECTEUR)["orgUnitPath"] = json!("/Tijdelijk");
            },
        ),
        m(
            "an account that does not say whether it is an administrator",
            "VTC-MFA-03",
            NotPass,
            |r| {
                user(r, BURGEMEESTER)
                    .as_object_mut()
                    .expect("user")
                    .remove("isDelegatedAdmin");
                user(r, BURGEMEESTER)
                    .as_object_mut()
                    .expect("user")
                    .remove("isAdmin");
            },
        ),
    ]
}

/// Enrolment of every active account (MFA-04).
fn enrolment() -> Vec<Mutation> {
    vec![
        m(
            "a council member not enrolled",
            "VTC-MFA-04",
            Fail("raadslid.janssens@heidebeek.example"),
            |r| {
                user(r, RAADSLID)["isEnrolledIn2Sv"] = json!(false);
            },
        ),
        m(
            "a new account not enrolled, in ICT",
            "VTC-MFA-04",
            Fail("nieuw@heidebeek.example"),
            |r| {
                add_user(
                    r,
                    "110482913570166241099",
                    "nieuw@heidebeek.example",
                    "/Diensten/ICT",
                    &|u| {
                        u["isEnrolledIn2Sv"] = json!(false);
                    },
                );
            },
        ),
        m(
            "an account that does not say whether it is enrolled",
            "VTC-MFA-04",
            NotPass,
            |r| {
                user(r, WERKER)
                    .as_object_mut()
                    .expect("user")
                    .remove("isEnrolledIn2Sv");
            },
        ),
        m(
            "an account that does not say whether it is suspended, not enrolled",
            "VTC-MFA-04",
            NotPass,
            |r| {
                let account = user(r, WERKER).as_object_mut().expect("user");
                account.remove("suspended");
                account.insert("isEnrolledIn2Sv".into(), json!(false));
            },
        ),
        m(
            "enrolled as the string \"true\"",
            "VTC-MFA-04",
            NotPass,
            |r| {
                user(r, WERKER)["isEnrolledIn2Sv"] = json!("true");
            },
        ),
    ]
}

fn all_mutations() -> Vec<Mutation> {
    let mut all = child_overrides();
    all.extend(group_policies());
    all.extend(removed_settings());
    all.extend(not_understood());
    all.extend(administrators());
    all.extend(enrolment());
    all
}

const MEASURED: &[&str] = &[
    "VTC-MFA-01",
    "VTC-MFA-02",
    "VTC-MFA-03",
    "VTC-MFA-04",
    "VTC-MFA-05",
    "VTC-RBA-01",
    "VTC-RBA-03",
    "VTC-SHR-01",
    "VTC-SHR-04",
    "VTC-MTG-01",
    "VTC-MTG-02",
    "VTC-LOC-01",
    "VTC-LOC-02",
];

#[test]
fn the_compliant_municipality_passes_every_measured_control_before_any_mutation() {
    let snapshot = mutated(&|_| {});
    for control in MEASURED {
        let found = judge(&snapshot, control);
        assert_eq!(found.verdict, Verdict::Pass, "{control}: {}", found.reason);
    }
}

#[test]
fn every_mutation_stops_the_pass_and_names_what_it_broke() {
    assert_every_mutation_stops_the_pass(
        &all_mutations(),
        |mutation| judge(&mutated(&*mutation.change), mutation.control),
        Named::InItems,
    );
}

/// Changes that keep the customer compliant keep the pass: the suite above must not be met by a
/// pack that fails everything.
#[test]
fn compliant_changes_keep_the_pass() {
    let keep: Vec<(&str, &str, Change)> = vec![
        (
            "a child unit that is stricter",
            "VTC-SHR-01",
            Box::new(|r: &mut Raw| {
                set_on(
                    r,
                    ICT,
                    203.1,
                    SHARING,
                    json!({"externalSharingMode": "DISALLOWED", "allowPublishingFiles": false}),
                )
            }),
        ),
        (
            "less secure apps left to Google's documented default (off)",
            "VTC-MFA-05",
            Box::new(|r: &mut Raw| unset(r, LSA, "ADMIN")),
        ),
        (
            "an unrelated setting Google added",
            "VTC-MFA-05",
            Box::new(|r: &mut Raw| {
                set_on(
                    r,
                    RAAD,
                    202.1,
                    "gemini.service_status",
                    json!({"serviceState": "DISABLED"}),
                )
            }),
        ),
        (
            "a suspended account not enrolled",
            "VTC-MFA-04",
            Box::new(|r: &mut Raw| {
                user(r, WERKER)["suspended"] = json!(true);
                user(r, WERKER)["isEnrolledIn2Sv"] = json!(false);
            }),
        ),
        (
            "an archived account not enrolled",
            "VTC-MFA-04",
            Box::new(|r: &mut Raw| {
                user(r, WERKER)["archived"] = json!(true);
                user(r, WERKER)["isEnrolledIn2Sv"] = json!(false);
            }),
        ),
        (
            "a third super administrator of the own domain alias",
            "VTC-RBA-01",
            Box::new(|r: &mut Raw| {
                add_user(
                    r,
                    "110482913570166249902",
                    "noodbeheer@gemeente-heidebeek.example",
                    "/Diensten/ICT",
                    &|u| {
                        u["isAdmin"] = json!(true);
                    },
                );
            }),
        ),
        (
            "a suspended third super administrator (counts toward the maximum only)",
            "VTC-RBA-01",
            Box::new(|r: &mut Raw| {
                user(r, WERKER)["isAdmin"] = json!(true);
                user(r, WERKER)["suspended"] = json!(true);
            }),
        ),
        (
            "the council records on request (user recording in a sub-unit is listed, not failed)",
            "VTC-MTG-02",
            Box::new(|r: &mut Raw| {
                set_on(
                    r,
                    WELZIJN,
                    203.1,
                    USER_REC,
                    json!({"enableRecording": true}),
                )
            }),
        ),
    ];
    for (what, control, change) in keep {
        let found = judge(&mutated(&*change), control);
        assert_eq!(
            found.verdict,
            Verdict::Pass,
            "{what} -> {control}: {}",
            found.reason
        );
    }
}

/// A resource the manifest marks as failed gives `error`, offline, for every control reading it.
#[test]
fn a_resource_marked_error_in_the_manifest_gives_error() {
    for (resource, controls) in [
        (
            "google_policies",
            &["VTC-MFA-01", "VTC-MFA-05", "VTC-MTG-01", "VTC-MFA-03"][..],
        ),
        ("google_org_units", &["VTC-MFA-02", "VTC-SHR-01"][..]),
        (
            "google_users",
            &["VTC-MFA-04", "VTC-RBA-01", "VTC-MFA-03"][..],
        ),
        ("google_role_assignments", &["VTC-RBA-01"][..]),
        ("google_policy_group_members", &["VTC-MFA-03"][..]),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = repo_path("fixtures/tenants/heidebeek");
        for entry in std::fs::read_dir(&source).expect("fixture") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
        let manifest_path = dir.path().join("manifest.json");
        let mut manifest: Value =
            serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest"))
                .expect("json");
        manifest["resources"][resource] = json!({
            "status": "error", "request": "GET /", "http_status": 503,
            "error": "The service is currently unavailable."
        });
        std::fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).expect("json"),
        )
        .expect("write manifest");
        let (code, report) = scan_json(dir.path(), controls);
        assert_eq!(code, 1, "{resource}");
        for control in controls {
            let found = report["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .find(|f| f["control"] == *control)
                .unwrap_or_else(|| panic!("{control}"));
            assert_eq!(
                found["verdict"], "error",
                "{resource} -> {control}: {}",
                found["reason"]
            );
        }
    }
}

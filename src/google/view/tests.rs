use super::super::{ADMIN_SETTINGS, EFFECTIVE_SETTINGS, SUPER_ADMINS, derive};
use crate::registry::ResourceKind;
use crate::snapshot::{ResourceData, Snapshot, SnapshotMeta};
use crate::vendor::Vendor;
use serde_json::{Value, json};

const ROOT: &str = "03ph8a2z0root";
const STAFF: &str = "03ph8a2z1staff";
const IT: &str = "03ph8a2z2it";
const PUPILS: &str = "03ph8a2z3pupils";

fn org_units() -> Value {
    json!({"value": [
        {"orgUnitId": format!("id:{ROOT}"), "name": "De Linde", "orgUnitPath": "/"},
        {"orgUnitId": format!("id:{STAFF}"), "name": "Personeel", "orgUnitPath": "/Personeel", "parentOrgUnitId": format!("id:{ROOT}")},
        {"orgUnitId": format!("id:{IT}"), "name": "ICT", "orgUnitPath": "/Personeel/ICT", "parentOrgUnitId": format!("id:{STAFF}")},
        {"orgUnitId": format!("id:{PUPILS}"), "name": "Leerlingen", "orgUnitPath": "/Leerlingen", "parentOrgUnitId": format!("id:{ROOT}")}
    ]})
}

fn policy(
    name: &str,
    setting: &str,
    unit: Option<&str>,
    order: f64,
    kind: &str,
    value: Value,
) -> Value {
    let mut query = json!({"sortOrder": order});
    if let Some(unit) = unit {
        query["orgUnit"] = json!(format!("orgUnits/{unit}"));
    }
    json!({
        "name": format!("policies/{name}"),
        "customer": "customers/C01abcd",
        "policyQuery": query,
        "setting": {"type": format!("settings/{setting}"), "value": value},
        "type": kind
    })
}

fn group_policy(name: &str, setting: &str, group: &str, order: f64, value: Value) -> Value {
    let mut p = policy(name, setting, Some(ROOT), order, "ADMIN", value);
    p["policyQuery"]["group"] = json!(group);
    p
}

fn snapshot(resources: &[(&str, Value)]) -> Snapshot {
    let mut snapshot = Snapshot::new(SnapshotMeta {
        tenant_id: "C01abcd".into(),
        tenant_name: None,
        source: "test".into(),
        collected_at: String::new(),
        manifest_sha256: String::new(),
    });
    snapshot.set_vendor(Vendor::Google);
    // No admin roles assigned unless a test says otherwise.
    for name in ["google_roles", "google_role_assignments"] {
        snapshot.insert_read(name, ResourceKind::Collection, json!({"value": []}));
    }
    snapshot.insert_read(
        "google_role_group_members",
        ResourceKind::Collection,
        json!({}),
    );
    for (name, body) in resources {
        snapshot.insert_read(*name, ResourceKind::Collection, body.clone());
    }
    snapshot
}

fn rows(snapshot: &Snapshot, name: &str) -> Vec<Value> {
    match derive(snapshot).resource(name) {
        Some(ResourceData::Read(body)) => body["value"].as_array().unwrap().clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn row<'a>(rows: &'a [Value], setting: &str, label: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["setting"] == setting && r["label"] == label)
        .unwrap_or_else(|| panic!("no row {setting} {label}"))
}

const LSA: &str = "security.less_secure_apps";

#[test]
fn every_unit_gets_the_value_of_its_nearest_ancestor_that_sets_it() {
    // ScubaGoggles fell back to the root, not the parent: /Personeel/ICT must inherit
    // /Personeel's value.
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                policy("sys", LSA, Some(ROOT), 101.0, "SYSTEM", json!({"allowLessSecureApps": false})),
                policy("staff", LSA, Some(STAFF), 202.0, "ADMIN", json!({"allowLessSecureApps": true})),
            ]}),
        ),
        ("google_groups", json!({"value": []})),
    ]);
    let rows = rows(&snap, EFFECTIVE_SETTINGS);
    assert_eq!(
        row(&rows, LSA, "/")["value"]["allowLessSecureApps"],
        json!(false)
    );
    assert_eq!(
        row(&rows, LSA, "/Personeel")["value"]["allowLessSecureApps"],
        json!(true)
    );
    assert_eq!(
        row(&rows, LSA, "/Personeel/ICT")["value"]["allowLessSecureApps"],
        json!(true)
    );
    assert_eq!(
        row(&rows, LSA, "/Personeel/ICT")["from"]["allowLessSecureApps"],
        json!("policies/staff")
    );
    assert_eq!(
        row(&rows, LSA, "/Leerlingen")["value"]["allowLessSecureApps"],
        json!(false)
    );
    // A setting the controls read, set nowhere, still has a row per unit: absent, not skipped.
    let meet = row(&rows, "meet.video_recording", "/Leerlingen");
    assert_eq!(meet["value"], json!({}));
    assert_eq!(meet["target"], json!("org_unit"));
}

#[test]
fn a_policy_without_org_unit_is_the_roots_and_one_on_an_unknown_unit_is_judged_on_its_own() {
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                policy("nowhere", LSA, None, 201.0, "ADMIN", json!({"allowLessSecureApps": true})),
                policy("gone", LSA, Some("03deleted"), 205.0, "ADMIN", json!({"allowLessSecureApps": false})),
            ]}),
        ),
        ("google_groups", json!({"value": []})),
    ]);
    let rows = rows(&snap, EFFECTIVE_SETTINGS);
    let pupils = row(&rows, LSA, "/Leerlingen");
    assert_eq!(pupils["value"]["allowLessSecureApps"], json!(true));
    let notes = pupils["notes"].to_string();
    assert!(
        notes.contains("policies/nowhere names no org unit"),
        "{notes}"
    );
    assert!(
        notes.contains("policies/gone") && notes.contains("not among the org units read"),
        "{notes}"
    );
    // The unit the org-unit list lacks gets a row of its own: what its policy sets is known,
    // and it is never dropped (a weakening policy there must fail, not vanish).
    let stray = rows
        .iter()
        .find(|r| r["setting"] == LSA && r["org_unit"] == "orgUnits/03deleted")
        .expect("a row for the unknown unit");
    assert_eq!(stray["value"]["allowLessSecureApps"], json!(false));
    assert!(
        stray["label"]
            .as_str()
            .unwrap()
            .contains("not among the org units read")
    );
}

#[test]
fn a_unit_missing_from_the_list_knows_only_what_its_own_policies_set() {
    let sharing = "drive_and_docs.external_sharing";
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                policy("root", sharing, Some(ROOT), 201.0, "ADMIN", json!({"externalSharingMode": "DISALLOWED", "allowPublishingFiles": false})),
                policy("gone", sharing, Some("03deleted"), 205.0, "ADMIN", json!({"externalSharingMode": "ALLOWED"})),
            ]}),
        ),
        ("google_groups", json!({"value": []})),
    ]);
    let rows = rows(&snap, EFFECTIVE_SETTINGS);
    let stray = rows
        .iter()
        .find(|r| r["setting"] == sharing && r["org_unit"] == "orgUnits/03deleted")
        .expect("a row for the unknown unit");
    assert_eq!(stray["value"], json!({"externalSharingMode": "ALLOWED"}));
    assert!(
        stray["unknown"]["allowPublishingFiles"].is_string(),
        "{stray}"
    );
}

#[test]
fn a_group_policy_gets_a_row_of_its_own_with_the_groups_email() {
    let sharing = "drive_and_docs.external_sharing";
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                policy("root", sharing, Some(ROOT), 201.0, "ADMIN", json!({"externalSharingMode": "DISALLOWED", "allowPublishingFiles": false})),
                group_policy("proj", sharing, "groups/02xcytpi", 399.00027, json!({"externalSharingMode": "ALLOWED", "allowPublishingFiles": true})),
            ]}),
        ),
        (
            "google_groups",
            json!({"value": [{"id": "02xcytpi", "email": "projecten@linde.example"}]}),
        ),
    ]);
    let rows = rows(&snap, EFFECTIVE_SETTINGS);
    let group = row(&rows, sharing, "group projecten@linde.example");
    assert_eq!(group["target"], json!("group"));
    assert_eq!(group["group_id"], json!("groups/02xcytpi"));
    assert_eq!(group["value"]["externalSharingMode"], json!("ALLOWED"));
    // The org units keep their own value.
    assert_eq!(
        row(&rows, sharing, "/")["value"]["externalSharingMode"],
        json!("DISALLOWED")
    );
    // Without the groups' names, the row names the group by the Policy API's id.
    let unnamed = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                group_policy("proj", sharing, "groups/02xcytpi", 399.0, json!({"externalSharingMode": "ALLOWED"})),
            ]}),
        ),
    ]);
    let rows = super::super::derive(&unnamed);
    let Some(ResourceData::Read(body)) = rows.resource(EFFECTIVE_SETTINGS) else {
        panic!("groups are only labels");
    };
    assert!(body.to_string().contains("group groups/02xcytpi"));
}

#[test]
fn a_licence_condition_leaves_the_value_unknown_where_it_matters() {
    let mut licensed = policy(
        "lic",
        LSA,
        Some(STAFF),
        202.0,
        "ADMIN",
        json!({"allowLessSecureApps": false}),
    );
    licensed["policyQuery"]["query"] =
        json!("entity.licenses.exists(license, license in ['/product/101031/sku/1010310008'])");
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                policy("root", LSA, Some(ROOT), 201.0, "ADMIN", json!({"allowLessSecureApps": true})),
                licensed,
            ]}),
        ),
        ("google_groups", json!({"value": []})),
    ]);
    let rows = rows(&snap, EFFECTIVE_SETTINGS);
    let staff = row(&rows, LSA, "/Personeel");
    assert_eq!(staff["value"], json!({}));
    assert!(
        staff["unknown"]["allowLessSecureApps"]
            .as_str()
            .unwrap()
            .contains("licence")
    );
    assert_eq!(
        row(&rows, LSA, "/")["value"]["allowLessSecureApps"],
        json!(true)
    );
}

#[test]
fn unreadable_or_malformed_inputs_make_the_view_unreadable_not_empty() {
    let mut missing_units = snapshot(&[("google_policies", json!({"value": []}))]);
    missing_units.insert_unreadable(
        "google_org_units",
        "HTTP 403: Not Authorized to access this resource/api",
    );
    let derived = derive(&missing_units);
    let Some(ResourceData::Unreadable(reason)) = derived.resource(EFFECTIVE_SETTINGS) else {
        panic!("derived without org units");
    };
    assert!(reason.contains("Not Authorized"), "{reason}");
    let malformed = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [{"name": "policies/x", "setting": {"type": "settings/security.less_secure_apps", "value": {}}}]}),
        ),
    ]);
    let derived = derive(&malformed);
    let Some(ResourceData::Unreadable(reason)) = derived.resource(EFFECTIVE_SETTINGS) else {
        panic!("derived from a policy without policyQuery");
    };
    assert!(
        reason.contains("item 0") && reason.contains("policyQuery"),
        "{reason}"
    );
    // A Microsoft snapshot derives nothing and is not copied.
    let mut microsoft = snapshot(&[]);
    microsoft.set_vendor(Vendor::Microsoft);
    assert!(matches!(derive(&microsoft), std::borrow::Cow::Borrowed(_)));
    assert!(derive(&microsoft).resource(EFFECTIVE_SETTINGS).is_none());
}

fn users() -> Value {
    json!({"value": [
        {"id": "111", "primaryEmail": "directie@linde.example", "isAdmin": true, "isDelegatedAdmin": false, "suspended": false, "archived": false, "orgUnitPath": "/Personeel"},
        {"id": "222", "primaryEmail": "ict@linde.example", "isAdmin": false, "isDelegatedAdmin": true, "suspended": false, "archived": false, "orgUnitPath": "/Personeel/ICT"},
        {"id": "333", "primaryEmail": "oud@linde.example", "isAdmin": true, "isDelegatedAdmin": false, "suspended": true, "archived": false, "orgUnitPath": "/"},
        {"id": "444", "primaryEmail": "leerling@linde.example", "isAdmin": false, "isDelegatedAdmin": false, "suspended": false, "archived": false, "orgUnitPath": "/Leerlingen"}
    ]})
}

const FACTOR: &str = "security.two_step_verification_enforcement_factor";

#[test]
fn an_administrator_gets_the_policy_of_the_group_it_is_in_over_its_org_unit() {
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        ("google_users", users()),
        (
            "google_policies",
            json!({"value": [
                policy("root", FACTOR, Some(ROOT), 201.0, "ADMIN", json!({"allowedSignInFactorSet": "NO_TELEPHONY"})),
                group_policy("keys", FACTOR, "groups/0beheer", 399.00001, json!({"allowedSignInFactorSet": "PASSKEY_ONLY"})),
            ]}),
        ),
        (
            "google_groups",
            json!({"value": [{"id": "0beheer", "email": "beheerders@linde.example"}]}),
        ),
        (
            "google_policy_group_members",
            json!({"0beheer": {"value": [
                {"id": "111", "email": "directie@linde.example", "type": "USER", "role": "MEMBER", "status": "ACTIVE"}
            ]}}),
        ),
    ]);
    let rows = rows(&snap, ADMIN_SETTINGS);
    assert_eq!(
        row(&rows, FACTOR, "directie@linde.example")["value"]["allowedSignInFactorSet"],
        json!("PASSKEY_ONLY")
    );
    let ict = row(&rows, FACTOR, "ict@linde.example");
    assert_eq!(
        ict["value"]["allowedSignInFactorSet"],
        json!("NO_TELEPHONY")
    );
    assert_eq!(ict["admin"], json!("delegated"));
    // Suspended administrators and non-administrators have no rows.
    assert!(
        !rows
            .iter()
            .any(|r| r["label"] == "oud@linde.example" || r["label"] == "leerling@linde.example")
    );
}

#[test]
fn membership_that_cannot_be_told_never_credits_a_group_policy() {
    let policies = json!({"value": [
        policy("root", FACTOR, Some(ROOT), 201.0, "ADMIN", json!({"allowedSignInFactorSet": "ALL"})),
        group_policy("keys", FACTOR, "groups/0beheer", 399.00001, json!({"allowedSignInFactorSet": "PASSKEY_ONLY"})),
        group_policy("admins", FACTOR, "WORKSPACE_ALL_ADMIN_GROUP", 2.0, json!({"allowedSignInFactorSet": "PASSKEY_ONLY"})),
    ]});
    let mut snap = snapshot(&[
        ("google_org_units", org_units()),
        ("google_users", users()),
        ("google_policies", policies),
        ("google_groups", json!({"value": []})),
    ]);
    snap.insert_unreadable(
        "google_policy_group_members",
        "HTTP 403: Request had insufficient authentication scopes.",
    );
    let rows = rows(&snap, ADMIN_SETTINGS);
    let row = row(&rows, FACTOR, "directie@linde.example");
    assert_eq!(row["value"], json!({}));
    let why = row["unknown"]["allowedSignInFactorSet"].as_str().unwrap();
    assert!(
        why.contains("membership of groups/0beheer cannot be told"),
        "{why}"
    );
    assert!(why.contains("WORKSPACE_ALL_ADMIN_GROUP"), "{why}");
}

#[test]
fn a_group_below_the_org_unit_in_sort_order_is_in_doubt_for_its_members() {
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        ("google_users", users()),
        (
            "google_policies",
            json!({"value": [
                policy("root", FACTOR, Some(ROOT), 201.0, "ADMIN", json!({"allowedSignInFactorSet": "ALL"})),
                group_policy("keys", FACTOR, "groups/0beheer", 150.0, json!({"allowedSignInFactorSet": "PASSKEY_ONLY"})),
            ]}),
        ),
        ("google_groups", json!({"value": []})),
        (
            "google_policy_group_members",
            json!({"0beheer": {"value": [{"id": "111", "type": "USER"}]}}),
        ),
    ]);
    let rows = rows(&snap, ADMIN_SETTINGS);
    let why = row(&rows, FACTOR, "directie@linde.example")["unknown"]["allowedSignInFactorSet"]
        .to_string();
    assert!(why.contains("is below an org-unit policy"), "{why}");
}

fn roles() -> Value {
    json!({"value": [
        {"roleId": "9170516996784129", "roleName": "_SEED_ADMIN_ROLE", "isSystemRole": true, "isSuperAdminRole": true},
        {"roleId": "9170516996784130", "roleName": "_HELP_DESK_ADMIN_ROLE", "isSystemRole": true, "isSuperAdminRole": false}
    ]})
}

fn domains() -> Value {
    json!({"value": [
        {"domainName": "linde.example", "isPrimary": true, "verified": true,
         "domainAliases": [{"domainAliasName": "delinde.example", "parentDomainName": "linde.example", "verified": true}]}
    ]})
}

#[test]
fn super_administrators_are_counted_once_across_flags_assignments_and_groups() {
    let snap = snapshot(&[
        (
            "google_users",
            json!({"value": [
                {"id": "111", "primaryEmail": "directie@linde.example", "isAdmin": true, "suspended": false},
                {"id": "222", "primaryEmail": "ict@delinde.example", "isAdmin": false, "suspended": false},
                {"id": "333", "primaryEmail": "extern@leverancier.example", "isAdmin": true, "suspended": true}
            ]}),
        ),
        ("google_roles", roles()),
        (
            "google_role_assignments",
            json!({"value": [
                {"roleAssignmentId": "1", "roleId": "9170516996784129", "assignedTo": "111", "assigneeType": "user", "scopeType": "CUSTOMER"},
                {"roleAssignmentId": "2", "roleId": "9170516996784129", "assignedTo": "0ictgroep", "assigneeType": "group", "scopeType": "CUSTOMER"},
                {"roleAssignmentId": "3", "roleId": "9170516996784129", "assignedTo": "104857600123", "assigneeType": "user", "scopeType": "CUSTOMER"},
                {"roleAssignmentId": "4", "roleId": "9170516996784130", "assignedTo": "444", "assigneeType": "user", "scopeType": "CUSTOMER"}
            ]}),
        ),
        (
            "google_role_group_members",
            json!({"0ictgroep": {"value": [{"id": "222", "email": "ict@delinde.example", "type": "USER"}]}}),
        ),
        ("google_domains", domains()),
        (
            "google_groups",
            json!({"value": [{"id": "0ictgroep", "email": "ict-beheer@linde.example"}]}),
        ),
    ]);
    let rows = rows(&snap, SUPER_ADMINS);
    assert_eq!(rows.len(), 4, "{rows:?}");
    let by = |label: &str| rows.iter().find(|r| r["label"] == label).unwrap().clone();
    let directie = by("directie@linde.example");
    assert_eq!(directie["via"], json!(["isAdmin", "role assignment"]));
    assert_eq!(directie["in_customer_domains"], json!(true));
    assert_eq!(
        by("ict@delinde.example")["via"],
        json!(["group ict-beheer@linde.example"])
    );
    assert_eq!(
        by("ict@delinde.example")["in_customer_domains"],
        json!(true)
    );
    let extern_ = by("extern@leverancier.example");
    assert_eq!(extern_["in_customer_domains"], json!(false));
    assert_eq!(extern_["active"], json!(false));
    let other = by("104857600123");
    assert_eq!(other["principal"], json!("other"));
    assert!(other.get("in_customer_domains").is_none());
}

#[test]
fn a_super_admin_group_whose_members_were_not_read_leaves_the_holders_unknown() {
    let snap = snapshot(&[
        (
            "google_users",
            json!({"value": [{"id": "111", "primaryEmail": "a@linde.example", "isAdmin": true}]}),
        ),
        ("google_roles", roles()),
        (
            "google_role_assignments",
            json!({"value": [
                {"roleId": "9170516996784129", "assignedTo": "0ictgroep", "assigneeType": "GROUP"}
            ]}),
        ),
        ("google_role_group_members", json!({})),
        ("google_domains", domains()),
    ]);
    let derived = derive(&snap);
    let Some(ResourceData::Unreadable(reason)) = derived.resource(SUPER_ADMINS) else {
        panic!("counted without the group's members");
    };
    assert!(reason.contains("0ictgroep"), "{reason}");
}

#[test]
fn an_account_holding_an_admin_role_through_a_group_is_an_administrator_whatever_its_flags() {
    let factor = "security.two_step_verification_enforcement_factor";
    let snap = snapshot(&[
        ("google_org_units", org_units()),
        (
            "google_policies",
            json!({"value": [
                policy("root", factor, Some(ROOT), 201.0, "ADMIN", json!({"allowedSignInFactorSet": "ALL"})),
            ]}),
        ),
        ("google_groups", json!({"value": []})),
        (
            "google_users",
            json!({"value": [
                {"id": "1", "primaryEmail": "raad@school.example", "isAdmin": false, "isDelegatedAdmin": false, "orgUnitPath": "/"},
                {"id": "2", "primaryEmail": "balie@school.example", "isAdmin": false, "isDelegatedAdmin": false, "orgUnitPath": "/"},
                {"id": "3", "primaryEmail": "leerling@school.example", "isAdmin": false, "isDelegatedAdmin": false, "orgUnitPath": "/"},
            ]}),
        ),
        ("google_policy_group_members", json!({})),
        (
            "google_roles",
            json!({"value": [{"roleId": "9", "isSuperAdminRole": true}, {"roleId": "8", "isSuperAdminRole": false}]}),
        ),
        (
            "google_role_assignments",
            json!({"value": [
                {"roleId": "9", "assignedTo": "07grp", "assigneeType": "group"},
                {"roleId": "8", "assignedTo": "2", "assigneeType": "user"},
            ]}),
        ),
        (
            "google_role_group_members",
            json!({"07grp": {"value": [{"id": "1", "type": "USER"}]}}),
        ),
    ]);
    let rows = rows(&snap, ADMIN_SETTINGS);
    let admins: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["setting"] == factor)
        .map(|r| (r["user"].as_str().unwrap(), r["admin"].as_str().unwrap()))
        .collect();
    assert_eq!(
        admins,
        [
            ("raad@school.example", "super"),
            ("balie@school.example", "delegated")
        ]
    );
    // A group holding a role whose members were not read: who is an administrator cannot be told.
    let mut unread = snap.clone();
    unread.insert_read(
        "google_role_group_members",
        ResourceKind::Collection,
        json!({}),
    );
    assert!(matches!(
        derive(&unread).resource(ADMIN_SETTINGS),
        Some(ResourceData::Unreadable(_))
    ));
}

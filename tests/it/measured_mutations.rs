//! Adversarial review for false passes of the Microsoft 365 controls measured through the admin
//! APIs and Graph (issue 12): VTC-AUD-01, AUD-02, MTG-01, MTG-02, ENC-02, RBA-05 and BAK-01.
//! Start from the compliant municipality (Gemeente Zonnedorp, all 31 pass), make one change an
//! administrator could really make (or one the APIs could really answer), and the control it
//! touches must no longer pass: `fail` naming the item where the tenant became non-compliant,
//! `error` (or a `fail` the data already proves) where the data is not understood.
//!
//! The mutations are data, written from the research notes (/work/notes/admin-apis-issue12.md)
//! and the shapes of the fixture files, not from the policy files.

use crate::mutations::{
    Change, Fixture, Mutation, Named, Raw, Want, assert_every_mutation_stops_the_pass, items, m,
};
use crate::support::{cloudkeur, repo_path};
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::evaluate_policy;
use cloudkeur::snapshot::Snapshot;
use cloudkeur::vendor::Vendor;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

const RESOURCES: &[&str] = &[
    "exchange_admin_audit_log_config",
    "compliance_retention_policies",
    "compliance_retention_rules",
    "teams_meeting_configuration",
    "teams_meeting_policies",
    "teams_user_configurations",
    "exchange_m365_data_at_rest_encryption_policies",
    "exchange_m365_data_at_rest_encryption_policy_assignment",
    "compliance_labels",
    "access_review_definitions",
    "access_review_instances",
    "graph_app_role_assignments",
    "exchange_app_role_assignments",
    "sharepoint_app_role_assignments",
    "service_principals",
    "service_principal_sign_in_activities",
];

const AUD01: &str = "VTC-AUD-01";
const AUD02: &str = "VTC-AUD-02";
const MTG01: &str = "VTC-MTG-01";
const MTG02: &str = "VTC-MTG-02";
const ENC02: &str = "VTC-ENC-02";
const RBA05: &str = "VTC-RBA-05";
const BAK01: &str = "VTC-BAK-01";
const MEASURED: &[&str] = &[AUD01, AUD02, MTG01, MTG02, ENC02, RBA05, BAK01];

/// Fixture names and ids.
const MAIL_POLICY: &str = "BB-Exchange-postvakken-7j";
const COUNCIL: &str = "Gemeenteraad-Opname";
const DKE_LABEL: &str = "Zeer vertrouwelijk (sociale en personeelsdossiers)";
const ROLES_REVIEW: &str = "e2aeb766-c91d-5712-94d2-ab7965b7232f";
const GUESTS_REVIEW: &str = "2ba0614a-c701-5f3c-bf70-493051bb09d6";
const BACKUP_SP: &str = "08aee7e9-1fdd-5cc1-b490-ea81f6eb724d";
const BACKUP_APP: &str = "f65938ff-e5c1-5643-8326-3d3846703d5c";
const BACKUP_NAME: &str = "Veilig Backup NV - M365 Cloudback-up";
const MAIL_READ: &str = "810c84a8-4a9e-49e6-bf7d-12d183f40d01";
const A_USER: &str = "99db4593-1566-533c-b47d-8bd8e4b6b282";

fn zonnedorp() -> &'static Fixture {
    static TENANT: OnceLock<Fixture> = OnceLock::new();
    TENANT.get_or_init(|| Fixture::load("zonnedorp", RESOURCES))
}

/// The snapshot with `change` applied to its raw resources.
fn mutated(change: &dyn Fn(&mut Raw)) -> Snapshot {
    zonnedorp().mutated(change)
}

fn judge_with(snapshot: &Snapshot, control: &str, evidence: &Evidence) -> Finding {
    let tenant = zonnedorp();
    evaluate_policy(
        tenant.policy(control, Vendor::Microsoft),
        snapshot,
        &tenant.settings,
        evidence,
        time::macros::date!(2026 - 11 - 23),
    )
}

fn judge(snapshot: &Snapshot, control: &str) -> Finding {
    judge_with(snapshot, control, &zonnedorp().evidence)
}

/// The fixture's declarations without the one of `control`.
fn evidence_without(control: &str) -> Evidence {
    let tenant = zonnedorp();
    let by_control: Map<String, Value> = MEASURED
        .iter()
        .chain(&["VTC-LOC-01", "VTC-BAK-02", "VTC-BAK-03"])
        .filter(|c| **c != control)
        .filter_map(|c| {
            tenant
                .evidence
                .declaration(c)
                .map(|d| ((*c).to_owned(), d.clone()))
        })
        .collect();
    Evidence::from_declarations(by_control)
}

// ---- editing the raw resources -------------------------------------------------------------

/// The item of `resource` whose member `key` is `id`.
fn item<'a>(raw: &'a mut Raw, resource: &str, key: &str, id: &str) -> &'a mut Value {
    items(raw, resource)
        .iter_mut()
        .find(|i| i[key] == id)
        .unwrap_or_else(|| panic!("{resource}: no {key} {id}"))
}

fn audit(raw: &mut Raw) -> &mut Value {
    &mut items(raw, "exchange_admin_audit_log_config")[0]
}

fn retention<'a>(raw: &'a mut Raw, name: &str) -> &'a mut Value {
    item(raw, "compliance_retention_policies", "Name", name)
}

fn rule_of<'a>(raw: &'a mut Raw, name: &str) -> &'a mut Value {
    item(raw, "compliance_retention_rules", "Name", name)
}

fn meeting<'a>(raw: &'a mut Raw, identity: &str) -> &'a mut Value {
    item(raw, "teams_meeting_policies", "Identity", identity)
}

fn meeting_config(raw: &mut Raw) -> &mut Value {
    item(raw, "teams_meeting_configuration", "Identity", "Global")
}

/// Assigns the meeting policy `name` (as Graph names it, without "Tag:") directly to a user.
fn assign_meeting(raw: &mut Raw, name: &str) {
    let user = item(raw, "teams_user_configurations", "id", A_USER);
    user["effectivePolicyAssignments"]
        .as_array_mut()
        .expect("assignments")
        .push(json!({
            "policyType": "TeamsMeetingPolicy",
            "policyAssignment": {"displayName": name, "assignmentType": "direct", "policyId": name}
        }));
}

/// A custom meeting policy: a copy of the council's, renamed and edited.
fn add_meeting(raw: &mut Raw, name: &str, edit: &dyn Fn(&mut Value)) {
    let mut policy = meeting(raw, &format!("Tag:{COUNCIL}")).clone();
    policy["Identity"] = json!(format!("Tag:{name}"));
    edit(&mut policy);
    items(raw, "teams_meeting_policies").push(policy);
}

fn label<'a>(raw: &'a mut Raw, name: &str) -> &'a mut Value {
    item(raw, "compliance_labels", "DisplayName", name)
}

fn review<'a>(raw: &'a mut Raw, id: &str) -> &'a mut Value {
    item(raw, "access_review_definitions", "id", id)
}

fn instances<'a>(raw: &'a mut Raw, id: &str) -> &'a mut Vec<Value> {
    raw.get_mut("access_review_instances")
        .and_then(|body| body[id]["value"].as_array_mut())
        .unwrap_or_else(|| panic!("instances of {id}"))
}

fn backup_sp(raw: &mut Raw) -> &mut Value {
    item(raw, "service_principals", "id", BACKUP_SP)
}

/// The backup app's last app-only sign-in, attempted and successful alike.
fn last_client_sign_in(raw: &mut Raw, when: Value) {
    let activity = &mut backup_sign_in(raw)["applicationAuthenticationClientSignInActivity"];
    activity["lastSignInDateTime"] = when.clone();
    activity["lastSuccessfulSignInDateTime"] = when;
}

fn backup_sign_in(raw: &mut Raw) -> &mut Value {
    item(
        raw,
        "service_principal_sign_in_activities",
        "appId",
        BACKUP_APP,
    )
}

/// Removes the backup app's grants whose app role is in `roles` (every grant when empty).
fn revoke(raw: &mut Raw, resource: &str, roles: &[&str]) {
    items(raw, resource).retain(|grant| {
        grant["principalId"] != BACKUP_SP
            || !(roles.is_empty() || roles.iter().any(|r| grant["appRoleId"] == *r))
    });
}

// ---- the mutations ---------------------------------------------------------------------------

use Want::{Fail, NotPass};

fn audit_log() -> Vec<Mutation> {
    vec![
        m("unified audit log off", AUD01, NotPass, |r| {
            audit(r)["UnifiedAuditLogIngestionEnabled"] = json!(false)
        }),
        m(
            "unified audit log \"False\" as a string",
            AUD01,
            NotPass,
            |r| audit(r)["UnifiedAuditLogIngestionEnabled"] = json!("False"),
        ),
        m(
            "unified audit log \"True\" as a string",
            AUD01,
            NotPass,
            |r| audit(r)["UnifiedAuditLogIngestionEnabled"] = json!("True"),
        ),
        m("unified audit log 1", AUD01, NotPass, |r| {
            audit(r)["UnifiedAuditLogIngestionEnabled"] = json!(1)
        }),
        m("unified audit log null", AUD01, NotPass, |r| {
            audit(r)["UnifiedAuditLogIngestionEnabled"] = Value::Null
        }),
        m("unified audit log member absent", AUD01, NotPass, |r| {
            audit(r)
                .as_object_mut()
                .expect("object")
                .remove("UnifiedAuditLogIngestionEnabled");
        }),
        m("the cmdlet answers no object", AUD01, NotPass, |r| {
            items(r, "exchange_admin_audit_log_config").clear()
        }),
        m("the cmdlet answers a string", AUD01, NotPass, |r| {
            items(r, "exchange_admin_audit_log_config")[0] = json!("Admin Audit Log Settings")
        }),
        m(
            "a second configuration object is off",
            AUD01,
            NotPass,
            |r| {
                let mut other = audit(r).clone();
                other["UnifiedAuditLogIngestionEnabled"] = json!(false);
                items(r, "exchange_admin_audit_log_config").push(other);
            },
        ),
        m("value is an object, not a list", AUD01, NotPass, |r| {
            let only = audit(r).clone();
            r.get_mut("exchange_admin_audit_log_config").expect("body")["value"] = only;
        }),
    ]
}

/// VTC-AUD-02: retention policies (Get-RetentionCompliancePolicy -DistributionDetail) and their
/// rules (Get-RetentionComplianceRule).
fn retention_policies() -> Vec<Mutation> {
    const RULE: &str = "BB-Exchange-postvakken-7j-regel";
    vec![
        m(
            "the mail policy disabled",
            AUD02,
            Fail("Exchange mailboxes"),
            |r| retention(r, MAIL_POLICY)["Enabled"] = json!(false),
        ),
        m(
            "the mail policy in test mode",
            AUD02,
            Fail("Exchange mailboxes"),
            |r| retention(r, MAIL_POLICY)["Mode"] = json!("TestWithoutNotifications"),
        ),
        m("the mail policy in an unknown mode", AUD02, NotPass, |r| {
            retention(r, MAIL_POLICY)["Mode"] = json!("Simulate")
        }),
        m(
            "the mail policy Enabled \"True\" as a string",
            AUD02,
            NotPass,
            |r| retention(r, MAIL_POLICY)["Enabled"] = json!("True"),
        ),
        m("the mail policy covers no mailbox", AUD02, NotPass, |r| {
            retention(r, MAIL_POLICY)["ExchangeLocation"] = json!([])
        }),
        m("the mail policy covers one mailbox", AUD02, NotPass, |r| {
            retention(r, MAIL_POLICY)["ExchangeLocation"] =
                json!(["burgemeester@zonnedorp.example"])
        }),
        m(
            "the mail policy without its ExchangeLocation member",
            AUD02,
            NotPass,
            |r| {
                retention(r, MAIL_POLICY)
                    .as_object_mut()
                    .expect("object")
                    .remove("ExchangeLocation");
            },
        ),
        m("the mail policy excepts a mailbox", AUD02, NotPass, |r| {
            retention(r, MAIL_POLICY)["ExchangeLocationException"] =
                json!(["directie@zonnedorp.example"])
        }),
        m("the mail policy still distributing", AUD02, NotPass, |r| {
            retention(r, MAIL_POLICY)["DistributionStatus"] = json!("Pending")
        }),
        m(
            "the mail policy's distribution failed",
            AUD02,
            NotPass,
            |r| retention(r, MAIL_POLICY)["DistributionStatus"] = json!("Error"),
        ),
        m("the mail policy made adaptive", AUD02, NotPass, |r| {
            retention(r, MAIL_POLICY)["AdaptiveScopeLocation"] = json!(["Alle medewerkers"])
        }),
        m("the mail policy is a string", AUD02, NotPass, |r| {
            *retention(r, MAIL_POLICY) = json!(MAIL_POLICY)
        }),
        m("the mail rule disabled", AUD02, NotPass, |r| {
            rule_of(r, RULE)["Disabled"] = json!(true)
        }),
        m(
            "the mail rule Disabled \"False\" as a string",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["Disabled"] = json!("False"),
        ),
        m("the mail rule only retains", AUD02, NotPass, |r| {
            rule_of(r, RULE)["RetentionComplianceAction"] = json!("Keep")
        }),
        m("the mail rule has an unknown action", AUD02, NotPass, |r| {
            rule_of(r, RULE)["RetentionComplianceAction"] = json!("KeepAndArchive")
        }),
        m(
            "the mail rule keeps for an unlimited period",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["RetentionDuration"] = json!("Unlimited"),
        ),
        m("the mail rule keeps too long", AUD02, NotPass, |r| {
            rule_of(r, RULE)["RetentionDuration"] = json!("36500")
        }),
        m("the mail rule keeps for 0 days", AUD02, NotPass, |r| {
            rule_of(r, RULE)["RetentionDuration"] = json!("0")
        }),
        m(
            "the mail rule's duration is not a number",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["RetentionDuration"] = json!("7 jaar"),
        ),
        m(
            "the mail rule without RetentionDuration",
            AUD02,
            NotPass,
            |r| {
                rule_of(r, RULE)
                    .as_object_mut()
                    .expect("object")
                    .remove("RetentionDuration");
            },
        ),
        m(
            "the mail rule applies to a content query only",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["ContentMatchQuery"] = json!("subject:\"factuur\""),
        ),
        m(
            "the mail rule publishes a label instead",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["PublishComplianceTag"] = json!("Dossier-7j"),
        ),
        m("the mail rule removed", AUD02, NotPass, |r| {
            items(r, "compliance_retention_rules").retain(|x| x["Name"] != RULE)
        }),
        m(
            "the mail rule belongs to another policy",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["Policy"] = json!("00000000-0000-0000-0000-000000000001"),
        ),
        m("the mail rule is a string", AUD02, NotPass, |r| {
            *rule_of(r, RULE) = json!(RULE)
        }),
        m(
            "a second policy keeps all mail forever (retention wins over deletion)",
            AUD02,
            Fail("Alles-bewaren"),
            |r| {
                let mut keep = retention(r, MAIL_POLICY).clone();
                keep["Name"] = json!("Alles-bewaren");
                keep["Guid"] = json!("0f0e0d0c-0b0a-4909-8807-060504030201");
                keep["Identity"] = json!("0f0e0d0c-0b0a-4909-8807-060504030201");
                items(r, "compliance_retention_policies").push(keep);
                let mut rule = rule_of(r, RULE).clone();
                rule["Name"] = json!("Alles-bewaren-regel");
                rule["Policy"] = json!("0f0e0d0c-0b0a-4909-8807-060504030201");
                rule["RetentionComplianceAction"] = json!("Keep");
                rule["RetentionDuration"] = json!("Unlimited");
                items(r, "compliance_retention_rules").push(rule);
            },
        ),
        m(
            "a second policy keeps one mailbox 20 years, named by policy name",
            AUD02,
            Fail("Directie-20j"),
            |r| {
                let mut keep = retention(r, MAIL_POLICY).clone();
                keep["Name"] = json!("Directie-20j");
                keep["Guid"] = json!("1f0e0d0c-0b0a-4909-8807-060504030201");
                keep["ExchangeLocation"] = json!(["directie@zonnedorp.example"]);
                items(r, "compliance_retention_policies").push(keep);
                let mut rule = rule_of(r, RULE).clone();
                rule["Name"] = json!("Directie-20j-regel");
                rule["Policy"] = json!("Directie-20j");
                rule["RetentionComplianceAction"] = json!("KeepAndDelete");
                rule["RetentionDuration"] = json!("7300");
                items(r, "compliance_retention_rules").push(rule);
            },
        ),
        m(
            "a keep-forever policy whose Enabled is \"True\" as a string",
            AUD02,
            NotPass,
            |r| {
                let mut keep = retention(r, MAIL_POLICY).clone();
                keep["Name"] = json!("Alles-bewaren");
                keep["Guid"] = json!("0f0e0d0c-0b0a-4909-8807-060504030201");
                keep["Enabled"] = json!("True");
                items(r, "compliance_retention_policies").push(keep);
                let mut rule = rule_of(r, RULE).clone();
                rule["Name"] = json!("Alles-bewaren-regel");
                rule["Policy"] = json!("0f0e0d0c-0b0a-4909-8807-060504030201");
                rule["RetentionComplianceAction"] = json!("Keep");
                rule["RetentionDuration"] = json!("Unlimited");
                items(r, "compliance_retention_rules").push(rule);
            },
        ),
        m(
            "the mail rule keeps for a negative period",
            AUD02,
            NotPass,
            |r| rule_of(r, RULE)["RetentionDuration"] = json!("-1"),
        ),
        m("no retention rules at all", AUD02, NotPass, |r| {
            items(r, "compliance_retention_rules").clear()
        }),
        m("no retention policies at all", AUD02, NotPass, |r| {
            items(r, "compliance_retention_policies").clear()
        }),
        m("Teams chats not covered", AUD02, NotPass, |r| {
            for p in items(r, "compliance_retention_policies") {
                p["TeamsChatLocation"] = json!([]);
            }
        }),
        m("Teams channel messages not covered", AUD02, NotPass, |r| {
            for p in items(r, "compliance_retention_policies") {
                p["TeamsChannelLocation"] = json!([]);
            }
        }),
        m("OneDrive not covered", AUD02, NotPass, |r| {
            for p in items(r, "compliance_retention_policies") {
                p["OneDriveLocation"] = json!([]);
            }
        }),
        m("SharePoint not covered", AUD02, NotPass, |r| {
            for p in items(r, "compliance_retention_policies") {
                p["SharePointLocation"] = json!([]);
            }
        }),
    ]
}

/// VTC-MTG-01 and -02: Teams meeting policies and configuration (Teams admin API) and the
/// effective assignments (Graph admin/teams/userConfigurations).
fn meetings() -> Vec<Mutation> {
    vec![
        m(
            "Global lets anonymous users join and the tenant allows it",
            MTG01,
            Fail("Global"),
            |r| {
                meeting(r, "Global")["AllowAnonymousUsersToJoinMeeting"] = json!(true);
                meeting_config(r)["DisableAnonymousJoin"] = json!(false);
            },
        ),
        m(
            "Global lets everyone bypass the lobby",
            MTG01,
            Fail("Global"),
            |r| meeting(r, "Global")["AutoAdmittedUsers"] = json!("Everyone"),
        ),
        m(
            "Global lets guests bypass the lobby",
            MTG01,
            Fail("Global"),
            |r| meeting(r, "Global")["AutoAdmittedUsers"] = json!("EveryoneInCompany"),
        ),
        m(
            "Global lets federated people bypass the lobby",
            MTG01,
            Fail("Global"),
            |r| {
                meeting(r, "Global")["AutoAdmittedUsers"] =
                    json!("EveryoneInSameAndFederatedCompany")
            },
        ),
        m(
            "Global lets dial-in callers bypass the lobby",
            MTG01,
            Fail("Global"),
            |r| meeting(r, "Global")["AllowPSTNUsersToBypassLobby"] = json!(true),
        ),
        m(
            "Global dial-in bypass \"False\" as a string",
            MTG01,
            NotPass,
            |r| meeting(r, "Global")["AllowPSTNUsersToBypassLobby"] = json!("False"),
        ),
        m("Global without AutoAdmittedUsers", MTG01, NotPass, |r| {
            meeting(r, "Global")
                .as_object_mut()
                .expect("object")
                .remove("AutoAdmittedUsers");
        }),
        m(
            "Global anonymous join absent and the tenant allows it",
            MTG01,
            NotPass,
            |r| {
                meeting(r, "Global")
                    .as_object_mut()
                    .expect("object")
                    .remove("AllowAnonymousUsersToJoinMeeting");
                meeting_config(r)["DisableAnonymousJoin"] = json!(false);
            },
        ),
        m(
            "Global lets anonymous users join; tenant switch absent",
            MTG01,
            NotPass,
            |r| {
                meeting(r, "Global")["AllowAnonymousUsersToJoinMeeting"] = json!(true);
                meeting_config(r)
                    .as_object_mut()
                    .expect("object")
                    .remove("DisableAnonymousJoin");
            },
        ),
        m(
            "Global lets anonymous users join; tenant switch \"True\" as a string",
            MTG01,
            NotPass,
            |r| {
                meeting(r, "Global")["AllowAnonymousUsersToJoinMeeting"] = json!(true);
                meeting_config(r)["DisableAnonymousJoin"] = json!("True");
            },
        ),
        m(
            "Global lets anonymous users join; no tenant configuration",
            MTG01,
            NotPass,
            |r| {
                meeting(r, "Global")["AllowAnonymousUsersToJoinMeeting"] = json!(true);
                items(r, "teams_meeting_configuration").clear();
            },
        ),
        m(
            "Global lets invited people (external too) bypass the lobby",
            MTG01,
            Fail("Global"),
            |r| meeting(r, "Global")["AutoAdmittedUsers"] = json!("InvitedUsers"),
        ),
        m(
            "the Teams API returns no meeting policy at all",
            MTG01,
            NotPass,
            |r| items(r, "teams_meeting_policies").clear(),
        ),
        m(
            "the Teams API returns no meeting policy at all",
            MTG02,
            NotPass,
            |r| items(r, "teams_meeting_policies").clear(),
        ),
        m("the Global meeting policy missing", MTG01, NotPass, |r| {
            items(r, "teams_meeting_policies").retain(|p| p["Identity"] != "Global")
        }),
        m(
            "the council policy lets anonymous users join, tenant allows it",
            MTG01,
            Fail(COUNCIL),
            |r| {
                meeting(r, &format!("Tag:{COUNCIL}"))["AllowAnonymousUsersToJoinMeeting"] =
                    json!(true);
                meeting_config(r)["DisableAnonymousJoin"] = json!(false);
            },
        ),
        m(
            "the council policy lets guests bypass the lobby",
            MTG01,
            Fail(COUNCIL),
            |r| {
                meeting(r, &format!("Tag:{COUNCIL}"))["AutoAdmittedUsers"] =
                    json!("EveryoneInCompany")
            },
        ),
        m(
            "a preset that allows anonymous join assigned to a user",
            MTG01,
            Fail("AllOn"),
            |r| assign_meeting(r, "AllOn"),
        ),
        m(
            "a second custom policy letting everyone in, assigned",
            MTG01,
            Fail("Publieke-Zitting"),
            |r| {
                add_meeting(r, "Publieke-Zitting", &|p| {
                    p["AutoAdmittedUsers"] = json!("Everyone");
                    p["AllowAnonymousUsersToJoinMeeting"] = json!(true);
                });
                assign_meeting(r, "Publieke-Zitting");
            },
        ),
        m(
            "a preset assigned, named with its Tag: prefix",
            MTG01,
            NotPass,
            |r| assign_meeting(r, "Tag:AllOn"),
        ),
        m(
            "an assigned policy that the Teams API does not return",
            MTG01,
            NotPass,
            |r| assign_meeting(r, "Onbekend-Beleid"),
        ),
        m(
            "an assignment without policyAssignment",
            MTG01,
            NotPass,
            |r| {
                let user = item(r, "teams_user_configurations", "id", A_USER);
                user["effectivePolicyAssignments"]
                    .as_array_mut()
                    .expect("assignments")
                    .push(json!({"policyType": "TeamsMeetingPolicy"}));
                add_meeting(r, "x", &|_| {});
            },
        ),
        m(
            "a user configuration that is a string",
            MTG01,
            NotPass,
            |r| {
                items(r, "teams_user_configurations").push(json!("TeamsMeetingPolicy: AllOn"));
            },
        ),
        m(
            "Global allows cloud recording",
            MTG02,
            Fail("Global"),
            |r| meeting(r, "Global")["AllowCloudRecording"] = json!(true),
        ),
        m("Global allows transcription", MTG02, Fail("Global"), |r| {
            meeting(r, "Global")["AllowTranscription"] = json!(true)
        }),
        m(
            "Global stores recordings outside the region",
            MTG02,
            Fail("Global"),
            |r| meeting(r, "Global")["AllowRecordingStorageOutsideRegion"] = json!(true),
        ),
        m(
            "Global cloud recording \"False\" as a string",
            MTG02,
            NotPass,
            |r| meeting(r, "Global")["AllowCloudRecording"] = json!("False"),
        ),
        m("Global without AllowTranscription", MTG02, NotPass, |r| {
            meeting(r, "Global")
                .as_object_mut()
                .expect("object")
                .remove("AllowTranscription");
        }),
        m(
            "the council policy stores recordings outside the region",
            MTG02,
            Fail(COUNCIL),
            |r| {
                meeting(r, &format!("Tag:{COUNCIL}"))["AllowRecordingStorageOutsideRegion"] =
                    json!(true)
            },
        ),
        m(
            "an assigned second policy stores recordings outside the region",
            MTG02,
            Fail("Opname-Extern"),
            |r| {
                add_meeting(r, "Opname-Extern", &|p| {
                    p["AllowRecordingStorageOutsideRegion"] = json!(true);
                });
                assign_meeting(r, "Opname-Extern");
            },
        ),
        m(
            "an assigned policy the Teams API does not return",
            MTG02,
            NotPass,
            |r| assign_meeting(r, "Onbekend-Beleid"),
        ),
        m("the Global meeting policy missing", MTG02, NotPass, |r| {
            items(r, "teams_meeting_policies").retain(|p| p["Identity"] != "Global")
        }),
    ]
}

/// VTC-ENC-02: Customer Key (multi-workload DEP and its assignment) or a DKE label.
fn keys() -> Vec<Mutation> {
    fn dep(enabled: Value) -> Value {
        json!({"Name": "DEP-Zonnedorp", "Identity": "DEP-Zonnedorp", "Enabled": enabled,
               "AzureKeyIDs": ["https://kv-zonnedorp-we.vault.azure.net/keys/ck-1"]})
    }
    fn no_dke(r: &mut Raw) {
        label(r, DKE_LABEL)["EncryptionDoubleKeyEncryptionUrl"] = json!("");
    }
    vec![
        m("the DKE label disabled", ENC02, NotPass, |r| {
            label(r, DKE_LABEL)["Disabled"] = json!(true)
        }),
        m("the DKE label no longer encrypts", ENC02, NotPass, |r| {
            label(r, DKE_LABEL)["EncryptionEnabled"] = json!(false)
        }),
        m("the DKE label without its DKE url", ENC02, NotPass, no_dke),
        m("the DKE label's url null", ENC02, NotPass, |r| {
            label(r, DKE_LABEL)["EncryptionDoubleKeyEncryptionUrl"] = Value::Null
        }),
        m("the DKE label's url over http", ENC02, NotPass, |r| {
            label(r, DKE_LABEL)["EncryptionDoubleKeyEncryptionUrl"] =
                json!("http://dke.kmaas.vlaanderen.example/zonnedorp")
        }),
        m("the DKE label's url member absent", ENC02, NotPass, |r| {
            label(r, DKE_LABEL)
                .as_object_mut()
                .expect("object")
                .remove("EncryptionDoubleKeyEncryptionUrl");
        }),
        m(
            "the DKE label Disabled \"False\" as a string",
            ENC02,
            NotPass,
            |r| label(r, DKE_LABEL)["Disabled"] = json!("False"),
        ),
        m("no labels at all", ENC02, NotPass, |r| {
            items(r, "compliance_labels").clear()
        }),
        m("the DKE label is a string", ENC02, NotPass, |r| {
            *label(r, DKE_LABEL) = json!(DKE_LABEL)
        }),
        m(
            "no DKE; an enabled DEP exists but is not assigned",
            ENC02,
            NotPass,
            |r| {
                no_dke(r);
                items(r, "exchange_m365_data_at_rest_encryption_policies").push(dep(json!(true)));
            },
        ),
        m(
            "no DKE; the assigned DEP is disabled",
            ENC02,
            NotPass,
            |r| {
                no_dke(r);
                items(r, "exchange_m365_data_at_rest_encryption_policies").push(dep(json!(false)));
                items(r, "exchange_m365_data_at_rest_encryption_policy_assignment")
                    .push(json!({"Name": "DEP-Zonnedorp", "Identity": "DEP-Zonnedorp"}));
            },
        ),
        m(
            "no DKE; the assigned DEP Enabled \"True\" as a string",
            ENC02,
            NotPass,
            |r| {
                no_dke(r);
                items(r, "exchange_m365_data_at_rest_encryption_policies").push(dep(json!("True")));
                items(r, "exchange_m365_data_at_rest_encryption_policy_assignment")
                    .push(json!({"Name": "DEP-Zonnedorp", "Identity": "DEP-Zonnedorp"}));
            },
        ),
        m(
            "no DKE; the assignment names a DEP that does not exist",
            ENC02,
            NotPass,
            |r| {
                no_dke(r);
                items(r, "exchange_m365_data_at_rest_encryption_policies").push(dep(json!(true)));
                items(r, "exchange_m365_data_at_rest_encryption_policy_assignment")
                    .push(json!({"Name": "DEP-Oud", "Identity": "DEP-Oud"}));
            },
        ),
        m(
            "no DKE; the assignment without a Name",
            ENC02,
            NotPass,
            |r| {
                no_dke(r);
                items(r, "exchange_m365_data_at_rest_encryption_policies").push(dep(json!(true)));
                items(r, "exchange_m365_data_at_rest_encryption_policy_assignment")
                    .push(json!({"Identity": "DEP-Zonnedorp"}));
            },
        ),
    ]
}

/// VTC-RBA-05: access review definitions and their instances.
fn access_reviews() -> Vec<Mutation> {
    const ROLES: &str = "Kwartaalbeoordeling bevoorrechte rollen";
    const GUESTS: &str = "Halfjaarlijkse beoordeling gasten in Microsoft 365-groepen";
    vec![
        m(
            "the role review made one-off (recurrence null)",
            RBA05,
            NotPass,
            |r| review(r, ROLES_REVIEW)["settings"]["recurrence"] = Value::Null,
        ),
        m(
            "the role review without a recurrence member",
            RBA05,
            NotPass,
            |r| {
                review(r, ROLES_REVIEW)["settings"]
                    .as_object_mut()
                    .expect("settings")
                    .remove("recurrence");
            },
        ),
        m(
            "the role review's pattern type empty",
            RBA05,
            NotPass,
            |r| review(r, ROLES_REVIEW)["settings"]["recurrence"]["pattern"]["type"] = json!(""),
        ),
        m(
            "the guest review made one-off (recurrence null)",
            RBA05,
            NotPass,
            |r| review(r, GUESTS_REVIEW)["settings"]["recurrence"] = Value::Null,
        ),
        m(
            "the role review no longer covers Global Administrator",
            RBA05,
            NotPass,
            |r| {
                review(r, ROLES_REVIEW)["scope"]["resourceScopes"]
                    .as_array_mut()
                    .expect("resource scopes")
                    .retain(|s| {
                        !s["query"]
                            .as_str()
                            .unwrap_or("")
                            .ends_with("62e90394-69f5-4237-9190-012177145e10")
                    })
            },
        ),
        m("the role review covers guests only", RBA05, NotPass, |r| {
            review(r, ROLES_REVIEW)["scope"]["principalScopes"] = json!([{
                "@odata.type": "#microsoft.graph.accessReviewQueryScope",
                "query": "/v1.0/users?$filter=(userType eq 'Guest')",
                "queryType": "MicrosoftGraph", "queryRoot": null
            }])
        }),
        m(
            "the role review covers inactive users only",
            RBA05,
            NotPass,
            |r| {
                review(r, ROLES_REVIEW)["scope"]["principalScopes"] = json!([{
                    "@odata.type": "#microsoft.graph.accessReviewInactiveUsersQueryScope",
                    "query": "/v1.0/users", "queryType": "MicrosoftGraph", "queryRoot": null,
                    "inactiveDuration": "P30D"
                }])
            },
        ),
        m(
            "the role review's principal scopes empty",
            RBA05,
            NotPass,
            |r| review(r, ROLES_REVIEW)["scope"]["principalScopes"] = json!([]),
        ),
        m(
            "the role review's resource scopes empty",
            RBA05,
            NotPass,
            |r| review(r, ROLES_REVIEW)["scope"]["resourceScopes"] = json!([]),
        ),
        m("the role review's scope absent", RBA05, NotPass, |r| {
            review(r, ROLES_REVIEW)
                .as_object_mut()
                .expect("object")
                .remove("scope");
        }),
        m(
            "the role review's last completed instance too old",
            RBA05,
            NotPass,
            |r| {
                for i in instances(r, ROLES_REVIEW) {
                    i["endDateTime"] = json!("2025-06-30T07:00:00Z");
                }
            },
        ),
        m(
            "the role review's instances still in progress",
            RBA05,
            NotPass,
            |r| {
                for i in instances(r, ROLES_REVIEW) {
                    i["status"] = json!("InProgress");
                }
            },
        ),
        m(
            "the role review's instances with an unknown status",
            RBA05,
            NotPass,
            |r| {
                for i in instances(r, ROLES_REVIEW) {
                    i["status"] = json!("Finished");
                }
            },
        ),
        m(
            "the role review's instances without endDateTime",
            RBA05,
            NotPass,
            |r| {
                for i in instances(r, ROLES_REVIEW) {
                    i.as_object_mut().expect("object").remove("endDateTime");
                }
            },
        ),
        m(
            "the role review's end date not a date",
            RBA05,
            NotPass,
            |r| {
                for i in instances(r, ROLES_REVIEW) {
                    i["endDateTime"] = json!("binnenkort");
                }
            },
        ),
        m("the role review has no instances", RBA05, NotPass, |r| {
            instances(r, ROLES_REVIEW).clear()
        }),
        m(
            "the role review's instances not read",
            RBA05,
            NotPass,
            |r| {
                r.get_mut("access_review_instances")
                    .and_then(Value::as_object_mut)
                    .expect("instances")
                    .remove(ROLES_REVIEW);
            },
        ),
        m(
            "the guest review's last completed instance too old",
            RBA05,
            Fail(GUESTS),
            |r| {
                for i in instances(r, GUESTS_REVIEW) {
                    i["endDateTime"] = json!("2025-08-17T08:00:00Z");
                }
            },
        ),
        m("the guest review covers one group", RBA05, NotPass, |r| {
            review(r, GUESTS_REVIEW)["instanceEnumerationScope"] = json!({
                "@odata.type": "#microsoft.graph.accessReviewQueryScope",
                "query": "/groups/6a6a0b5e-4c44-4ad5-9e56-0d9c2f8d1e11",
                "queryType": "MicrosoftGraph", "queryRoot": null
            })
        }),
        m(
            "the guest review covers one group, named in its scope",
            RBA05,
            NotPass,
            |r| {
                let def = review(r, GUESTS_REVIEW);
                def["scope"]["query"] = json!(
                    "/v1.0/groups/6a6a0b5e-4c44-4ad5-9e56-0d9c2f8d1e11/transitiveMembers/microsoft.graph.user/?$count=true&$filter=(userType eq 'Guest')"
                );
                def.as_object_mut()
                    .expect("object")
                    .remove("instanceEnumerationScope");
            },
        ),
        m(
            "the guest review covers one group, enumeration scope null",
            RBA05,
            NotPass,
            |r| {
                let def = review(r, GUESTS_REVIEW);
                def["scope"]["query"] = json!(
                    "/v1.0/groups/6a6a0b5e-4c44-4ad5-9e56-0d9c2f8d1e11/transitiveMembers/microsoft.graph.user/?$count=true&$filter=(userType eq 'Guest')"
                );
                def["instanceEnumerationScope"] = Value::Null;
            },
        ),
        m(
            "the guest review enumerates one group through a filter",
            RBA05,
            NotPass,
            |r| {
                review(r, GUESTS_REVIEW)["instanceEnumerationScope"]["query"] =
                    json!("/groups?$filter=(id eq '6a6a0b5e-4c44-4ad5-9e56-0d9c2f8d1e11')")
            },
        ),
        m(
            "the guest review reviews only the guests of one department",
            RBA05,
            NotPass,
            |r| {
                review(r, GUESTS_REVIEW)["scope"]["query"] = json!(
                    "./members/microsoft.graph.user/?$count=true&$filter=(userType eq 'Guest' and companyName eq 'Adviesbureau West')"
                )
            },
        ),
        m(
            "the guest review reviews all members, not guests",
            RBA05,
            NotPass,
            |r| {
                review(r, GUESTS_REVIEW)["scope"]["query"] =
                    json!("./members/microsoft.graph.user/?$count=true")
            },
        ),
        m("the guest review removed", RBA05, NotPass, |r| {
            items(r, "access_review_definitions").retain(|d| d["id"] != GUESTS_REVIEW)
        }),
        m("no access reviews at all", RBA05, NotPass, |r| {
            items(r, "access_review_definitions").clear()
        }),
        m("the role review is a string", RBA05, NotPass, |r| {
            *review(r, ROLES_REVIEW) = json!(ROLES)
        }),
    ]
}

/// VTC-BAK-01: the declared backup app, its grants and its sign-in activity.
fn backup() -> Vec<Mutation> {
    const SP_FILES: &[&str] = &[
        "01d4889c-1287-42c6-ac1f-5d1e02578ef6",
        "75359482-378d-4052-8f01-80520e7db3cd",
        "332a536c-c7ef-4017-ab91-336970924f0d",
        "9492366f-7969-46a4-8d15-ed1a20078fff",
        "a82116e5-55eb-4c41-a434-62fe8a61c773",
    ];
    vec![
        m("the backup app disabled", BAK01, Fail(BACKUP_NAME), |r| {
            backup_sp(r)["accountEnabled"] = json!(false)
        }),
        m(
            "the backup app's accountEnabled \"true\" as a string",
            BAK01,
            NotPass,
            |r| backup_sp(r)["accountEnabled"] = json!("true"),
        ),
        m(
            "the backup app's accountEnabled absent",
            BAK01,
            NotPass,
            |r| {
                backup_sp(r)
                    .as_object_mut()
                    .expect("object")
                    .remove("accountEnabled");
            },
        ),
        m("the backup app deleted", BAK01, NotPass, |r| {
            items(r, "service_principals").retain(|s| s["id"] != BACKUP_SP)
        }),
        m(
            "the backup app without mail permission",
            BAK01,
            NotPass,
            |r| {
                revoke(
                    r,
                    "graph_app_role_assignments",
                    &[MAIL_READ, "e2a3a72e-5f79-4c64-b1b1-878b674786c9"],
                );
                revoke(r, "exchange_app_role_assignments", &[]);
            },
        ),
        m(
            "the backup app without files permission",
            BAK01,
            NotPass,
            |r| {
                revoke(r, "graph_app_role_assignments", SP_FILES);
                revoke(r, "sharepoint_app_role_assignments", &[]);
            },
        ),
        m(
            "the backup app without any permission",
            BAK01,
            NotPass,
            |r| {
                revoke(r, "graph_app_role_assignments", &[]);
                revoke(r, "sharepoint_app_role_assignments", &[]);
                revoke(r, "exchange_app_role_assignments", &[]);
            },
        ),
        m(
            "the backup app's mail grant made a delegated-looking one to a user",
            BAK01,
            NotPass,
            |r| {
                for grant in items(r, "graph_app_role_assignments") {
                    if grant["principalId"] == BACKUP_SP && grant["appRoleId"] == MAIL_READ {
                        grant["principalId"] = json!("444b545f-c479-555e-b1f5-bd864b247163");
                    }
                }
                revoke(r, "exchange_app_role_assignments", &[]);
            },
        ),
        m(
            "the backup app last signed in 10 days before collection",
            BAK01,
            NotPass,
            |r| last_client_sign_in(r, json!("2026-11-10T01:12:47Z")),
        ),
        m(
            "the backup app never signed in app-only",
            BAK01,
            NotPass,
            |r| last_client_sign_in(r, Value::Null),
        ),
        m(
            "the backup app's app-only activity absent, delegated recent",
            BAK01,
            NotPass,
            |r| {
                let activity = backup_sign_in(r);
                activity
                    .as_object_mut()
                    .expect("object")
                    .remove("applicationAuthenticationClientSignInActivity");
                activity["delegatedClientSignInActivity"]["lastSignInDateTime"] =
                    json!("2026-11-20T01:12:47Z");
            },
        ),
        m(
            "the backup app's sign-in date not a date",
            BAK01,
            NotPass,
            |r| last_client_sign_in(r, json!("gisteren")),
        ),
        m(
            "the backup app's last sign-in a year in the future (a clock or data error)",
            BAK01,
            NotPass,
            |r| last_client_sign_in(r, json!("2027-11-20T01:12:47Z")),
        ),
        m(
            "the backup app tries to sign in every night but fails (expired secret)",
            BAK01,
            NotPass,
            |r| {
                backup_sign_in(r)["applicationAuthenticationClientSignInActivity"]["lastSuccessfulSignInDateTime"] =
                    json!("2026-09-01T01:12:47Z")
            },
        ),
        m(
            "the backup app's sign-in activity missing",
            BAK01,
            NotPass,
            |r| {
                items(r, "service_principal_sign_in_activities")
                    .retain(|a| a["appId"] != BACKUP_APP)
            },
        ),
        m(
            "the backup app's sign-in activity is a string",
            BAK01,
            NotPass,
            |r| *backup_sign_in(r) = json!(BACKUP_APP),
        ),
        m("the backup app's appId absent", BAK01, NotPass, |r| {
            backup_sp(r)
                .as_object_mut()
                .expect("object")
                .remove("appId");
        }),
    ]
}

fn all_mutations() -> Vec<Mutation> {
    [
        audit_log(),
        retention_policies(),
        meetings(),
        keys(),
        access_reviews(),
        backup(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

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
        Named::InItemsOrReason,
    );
}

/// Changes that keep the municipality compliant keep the pass: the suite above must not be met by
/// a pack that fails everything.
#[test]
fn compliant_changes_keep_the_pass() {
    let keep: Vec<(&str, &str, Change)> = vec![
        (
            "Global lets anonymous users join, but anonymous join is off for the whole tenant",
            MTG01,
            Box::new(|r: &mut Raw| {
                meeting(r, "Global")["AllowAnonymousUsersToJoinMeeting"] = json!(true)
            }),
        ),
        (
            "only organisers bypass the lobby in Global (stricter)",
            MTG01,
            Box::new(|r: &mut Raw| {
                meeting(r, "Global")["AutoAdmittedUsers"] = json!("OrganizerOnly")
            }),
        ),
        (
            // "Using this parameter won't exclude items from deletion policies."
            // https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-retentioncompliancerule
            "the mail rule excludes voicemail from being held (deletion still applies)",
            AUD02,
            Box::new(|r: &mut Raw| {
                rule_of(r, "BB-Exchange-postvakken-7j-regel")["ExcludedItemClasses"] =
                    json!(["IPM.Note.Microsoft.Voicemail"])
            }),
        ),
        (
            "a shorter period than the maximum",
            AUD02,
            Box::new(|r: &mut Raw| {
                rule_of(r, "BB-Exchange-postvakken-7j-regel")["RetentionDuration"] = json!("1825")
            }),
        ),
        (
            "an unassigned custom meeting policy that records (not judged)",
            MTG02,
            Box::new(|r: &mut Raw| {
                add_meeting(r, "Opname-Proef", &|p| {
                    p["AllowCloudRecording"] = json!(true);
                    p["AllowTranscription"] = json!(true);
                })
            }),
        ),
        (
            "the backup app also holds Mail.ReadWrite through Exchange's full_access_as_app",
            BAK01,
            Box::new(|r: &mut Raw| {
                let mut grant = items(r, "graph_app_role_assignments")
                    .iter()
                    .find(|g| g["principalId"] == BACKUP_SP && g["appRoleId"] == MAIL_READ)
                    .expect("mail grant")
                    .clone();
                grant["appRoleId"] = json!("dc890d15-9560-4a4c-9b7f-a736ec74ec40");
                grant["id"] = json!("exo-grant-1");
                items(r, "exchange_app_role_assignments").push(grant);
            }),
        ),
        (
            "a second, disabled DEP that is not assigned",
            ENC02,
            Box::new(|r: &mut Raw| {
                items(r, "exchange_m365_data_at_rest_encryption_policies").push(json!({
                    "Name": "DEP-Proef", "Identity": "DEP-Proef", "Enabled": false,
                    "AzureKeyIDs": ["https://kv-zonnedorp-we.vault.azure.net/keys/ck-proef"]
                }))
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

/// The resources each control measures: the first is the one it cannot do without.
const READS: &[(&str, &[&str])] = &[
    (AUD01, &["exchange_admin_audit_log_config"]),
    (
        AUD02,
        &[
            "compliance_retention_policies",
            "compliance_retention_rules",
        ],
    ),
    (
        MTG01,
        &["teams_meeting_policies", "teams_user_configurations"],
    ),
    (
        MTG02,
        &["teams_meeting_policies", "teams_user_configurations"],
    ),
    (ENC02, &["compliance_labels"]),
    (
        RBA05,
        &["access_review_definitions", "access_review_instances"],
    ),
    (
        BAK01,
        &[
            "service_principal_sign_in_activities",
            "service_principals",
            "graph_app_role_assignments",
        ],
    ),
];

/// The tenant-wide anonymous-join switch is read only when a meeting policy lets anonymous users
/// join: then it cannot be done without.
#[test]
fn anonymous_join_allowed_and_the_tenant_switch_unreadable_is_no_pass() {
    let allowing =
        mutated(&|r| meeting(r, "Global")["AllowAnonymousUsersToJoinMeeting"] = json!(true));
    for (how, unread) in [("unreadable", true), ("unavailable", false)] {
        let mut snapshot = allowing.clone();
        if unread {
            snapshot.insert_unreadable("teams_meeting_configuration", "HTTP 500");
        } else {
            snapshot.insert_unavailable("teams_meeting_configuration", "HTTP 403");
        }
        let found = judge_with(&snapshot, MTG01, &evidence_without(MTG01));
        assert_ne!(found.verdict, Verdict::Pass, "{how}: {}", found.reason);
    }
}

/// A resource that could not be read (5xx, bad JSON) gives `error`, whatever is declared.
#[test]
fn an_unreadable_resource_never_passes() {
    let mut wrong = Vec::new();
    for (control, resources) in READS {
        for resource in *resources {
            let mut snapshot = mutated(&|_| {});
            snapshot
                .insert_unreadable(*resource, "HTTP 503: The service is currently unavailable.");
            let found = judge(&snapshot, control);
            if found.verdict == Verdict::Pass {
                wrong.push(format!("{resource} -> {control}: {}", found.reason));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unreadable and still pass:\n{}",
        wrong.join("\n")
    );
}

/// A resource the tenant does not make available (403: no licence, no role, not selected), with
/// no declaration of the control in the evidence, is never a pass.
#[test]
fn an_unavailable_resource_without_a_declaration_never_passes() {
    let mut wrong = Vec::new();
    for (control, resources) in READS {
        let evidence = evidence_without(control);
        for resource in *resources {
            let mut snapshot = mutated(&|_| {});
            snapshot.insert_unavailable(*resource, "HTTP 403: Forbidden");
            let found = judge_with(&snapshot, control, &evidence);
            if found.verdict == Verdict::Pass {
                wrong.push(format!("{resource} -> {control}: {}", found.reason));
            }
        }
        // Everything the control measures unavailable at once.
        let mut snapshot = mutated(&|_| {});
        for resource in *resources {
            snapshot.insert_unavailable(*resource, "HTTP 403: Forbidden");
        }
        let found = judge_with(&snapshot, control, &evidence);
        if found.verdict == Verdict::Pass {
            wrong.push(format!(
                "all of {resources:?} -> {control}: {}",
                found.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "unavailable, undeclared and still pass:\n{}",
        wrong.join("\n")
    );
}

/// A resource the manifest marks as failed gives `error`, offline, end to end.
#[test]
fn a_resource_marked_error_in_the_manifest_gives_error() {
    for (control, resources) in READS {
        let resource = resources[0];
        let dir = tempfile::tempdir().expect("temp dir");
        let source = repo_path("fixtures/tenants/zonnedorp");
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
        let output = cloudkeur()
            .args(["scan", "--offline"])
            .arg(dir.path())
            .arg("--config")
            .arg(repo_path("fixtures/config/zonnedorp.yaml"))
            .arg("--evidence")
            .arg(repo_path("fixtures/evidence/zonnedorp.yaml"))
            .args(["--format", "json", "--only", control])
            .output()
            .expect("runs");
        let code = output.status.code().unwrap_or(-1);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        assert_eq!(code, 1, "{resource}: {report}");
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

/// The fixture's evidence file without the declaration of `control`, written next to a copy of
/// the exports it names (their paths are relative to the file).
fn evidence_file_without(control: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let source = repo_path("fixtures/evidence/zonnedorp.yaml");
    let text = std::fs::read_to_string(&source).expect("evidence");
    let mut kept = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with("  - control:") || line.starts_with("  # ---") {
            skipping = line.trim_start_matches("  - control:").trim() == control;
        }
        if !skipping {
            kept.push(line);
        }
    }
    let exports = repo_path("fixtures/evidence/zonnedorp");
    let copy = dir.join("zonnedorp");
    std::fs::create_dir_all(&copy).expect("dir");
    for entry in std::fs::read_dir(&exports).expect("exports") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, copy.join(path.file_name().expect("name"))).expect("copy");
    }
    let file = dir.join("evidence.yaml");
    std::fs::write(&file, kept.join("\n")).expect("write evidence");
    file
}

/// End to end: the manifest records 403 for what the control measures, and the evidence file has
/// every declaration but this control's: never `pass`.
#[test]
fn forbidden_in_the_manifest_and_undeclared_never_passes() {
    for (control, resources) in READS {
        let dir = tempfile::tempdir().expect("temp dir");
        let tenant = dir.path().join("tenant");
        std::fs::create_dir_all(&tenant).expect("dir");
        let source = repo_path("fixtures/tenants/zonnedorp");
        for entry in std::fs::read_dir(&source).expect("fixture") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, tenant.join(path.file_name().expect("name"))).expect("copy");
        }
        let manifest_path = tenant.join("manifest.json");
        let mut manifest: Value =
            serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest"))
                .expect("json");
        for resource in *resources {
            manifest["resources"][resource] = json!({
                "status": "error", "request": "GET /", "http_status": 403,
                "error": "Forbidden"
            });
        }
        std::fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).expect("json"),
        )
        .expect("write manifest");
        let evidence = evidence_file_without(control, dir.path());
        let output = cloudkeur()
            .args(["scan", "--offline"])
            .arg(&tenant)
            .arg("--config")
            .arg(repo_path("fixtures/config/zonnedorp.yaml"))
            .arg("--evidence")
            .arg(&evidence)
            .args(["--format", "json", "--only", control])
            .output()
            .expect("runs");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        let found = report["findings"]
            .as_array()
            .unwrap_or_else(|| {
                panic!(
                    "{control}: no report: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })
            .iter()
            .find(|f| f["control"] == *control)
            .unwrap_or_else(|| panic!("{control}"));
        assert_ne!(found["verdict"], "pass", "{control}: {}", found["reason"]);
        assert_ne!(output.status.code(), Some(0), "{control}");
    }
}

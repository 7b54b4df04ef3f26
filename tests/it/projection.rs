//! A scan reads snapshots projected to the item members its rules read. That must never change a
//! finding: every fixture tenant, and a generated one, gives the same findings (verdicts,
//! reasons, items) projected as kept whole, for the whole pack and for each policy on its own.

use crate::tenant_gen;
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::Finding;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Collected, Collection, Member, Projection, Wanted, read_dir, whole};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use time::macros::date;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn findings(pack: &PolicyPack, dir: &Path, wanted: &Wanted, config: Option<&str>) -> Vec<Finding> {
    let snapshot = read_dir(dir, &pack.registry, wanted).expect("snapshot reads");
    let settings = match config {
        Some(path) => {
            Settings::load(&repo(path), &pack.catalog)
                .expect("settings")
                .0
        }
        None => Settings::default(),
    };
    let evidence = match config {
        Some(_) => Evidence::load(&repo("fixtures/evidence/zonnedorp.yaml"), &pack.catalog)
            .expect("evidence"),
        None => Evidence::default(),
    };
    let inputs = Inputs {
        snapshot: &snapshot,
        settings: &settings,
        evidence: &evidence,
        today: date!(2026 - 11 - 21),
    };
    evaluate(pack, inputs)
}

/// Projected and whole give the same findings, for the pack and for each policy alone (whose
/// projection is narrower).
fn assert_projection_changes_nothing(dir: &Path, config: Option<&str>) {
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    let everything = whole(&pack.needed_resources());
    let expected = findings(&pack, dir, &everything, config);
    let projected = pack.projections();
    assert!(
        projected
            .values()
            .any(|p| matches!(p, Projection::Members(_))),
        "some resource is projected"
    );
    assert_eq!(findings(&pack, dir, &projected, config), expected);
    // A scan judges the policies of its snapshot's vendor, one finding each.
    let vendor = read_dir(dir, &pack.registry, &everything)
        .expect("snapshot reads")
        .vendor();
    let policies: Vec<_> = pack.policies.iter().filter(|p| p.is_for(vendor)).collect();
    assert_eq!(expected.len(), policies.len());
    for (index, policy) in policies.into_iter().enumerate() {
        let mut alone = pack.clone();
        alone.retain(std::slice::from_ref(&policy.id));
        let got = findings(&alone, dir, &alone.projections(), config);
        assert_eq!(got, vec![expected[index].clone()], "{}", policy.id);
    }
}

#[test]
fn projection_changes_no_finding_on_the_compliant_fixture() {
    assert_projection_changes_nothing(
        &repo("fixtures/tenants/zonnedorp"),
        Some("fixtures/config/zonnedorp.yaml"),
    );
}

#[test]
fn projection_changes_no_finding_on_the_google_fixtures() {
    assert_projection_changes_nothing(&repo("fixtures/tenants/klimop"), None);
    assert_projection_changes_nothing(&repo("fixtures/tenants/heidebeek"), None);
}

#[test]
fn projection_changes_no_finding_on_the_non_compliant_fixture() {
    assert_projection_changes_nothing(&repo("fixtures/tenants/kleinwaarde"), None);
}

#[test]
fn projection_changes_no_finding_on_a_generated_tenant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = tenant_gen::TenantSpec::new(1_000);
    tenant_gen::write_snapshot(&spec, dir.path());
    assert_projection_changes_nothing(dir.path(), None);
}

/// B2B members whose `identities` list several sign-in identities: only the issuer of each is
/// read (MFA-04: `[?@.issuer == 'ExternalAzureAD']`), so only that is kept of each element.
/// The findings must not change, whatever position or shape the elements have.
#[test]
fn projection_inside_identities_changes_no_finding() {
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    let Some(Projection::Members(users)) = pack.projections().remove("users") else {
        panic!("users are projected");
    };
    let Some(Member::Elements(identity)) = users.get("identities") else {
        panic!("identities are projected inside their elements: {users:?}");
    };
    assert_eq!(identity.keys().collect::<Vec<_>>(), ["issuer"]);

    let spec = tenant_gen::TenantSpec {
        not_mfa_capable: Some(vec![5, 6, 7, 8, 9]),
        ..tenant_gen::TenantSpec::new(200)
    };
    let accounts = tenant_gen::accounts(&spec);
    assert!(accounts[5..10].iter().all(|a| !a.guest && !a.mfa_capable));
    let home = json!({"signInType": "userPrincipalName", "issuer": "elders.example", "issuerAssignedId": "x@elders.example"});
    let entra =
        json!({"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": null});
    let personal =
        json!({"signInType": "federated", "issuer": "MicrosoftAccount", "issuerAssignedId": null});
    let otp = json!({"signInType": "emailAddress", "issuer": "mail", "issuerAssignedId": "y@elders.example"});
    // By account: B2B members from another Entra organisation (trusted, so they pass without
    // registering here), from a Microsoft account and by one-time passcode (they fail).
    let b2b = [
        (5, json!([home, otp, entra])),
        (6, json!([personal, otp])),
        (
            7,
            json!([otp, {"signInType": "federated"}, entra, "ExternalAzureAD"]),
        ),
        (8, json!([home, personal])),
        (9, json!([entra, entra])),
    ];
    let dir = b2b_tenant(&spec, &b2b);
    assert_projection_changes_nothing(dir.path(), None);

    // The reader does keep only the issuers, in place.
    let snapshot = read_dir(dir.path(), &pack.registry, &pack.projections()).expect("reads");
    let Some(cloudkeur::snapshot::ResourceData::Read(users)) = snapshot.resource("users") else {
        panic!("users read");
    };
    assert_eq!(
        users["value"][7]["identities"],
        json!([{"issuer": "mail"}, {}, {"issuer": "ExternalAzureAD"}, "ExternalAzureAD"])
    );

    // The data does exercise the member kept: those with an ExternalAzureAD identity pass,
    // the others fail.
    let mfa_04 = findings(&pack, dir.path(), &pack.projections(), None)
        .into_iter()
        .find(|f| f.policy == "mfa-04-members-registered-for-mfa")
        .expect("MFA-04 judged");
    let listed = |index: usize| {
        mfa_04
            .items
            .iter()
            .any(|item| item.label.as_deref() == Some(accounts[index].upn.as_str()))
    };
    assert_eq!(
        [5, 6, 7, 8, 9].map(listed),
        [false, true, false, true, false],
        "{mfa_04:?}"
    );
}

/// A generated tenant whose accounts at the given indices are B2B members (invited, accepted)
/// with the given identities, and whose cross-tenant default trusts MFA done at home.
fn b2b_tenant(spec: &tenant_gen::TenantSpec, b2b: &[(usize, Value)]) -> tempfile::TempDir {
    let mut collection = tenant_gen::collection(spec);
    body_of(&mut collection, "cross_tenant_access_default")["inboundTrust"]["isMfaAccepted"] =
        json!(true);
    let users = body_of(&mut collection, "users");
    for (index, identities) in b2b {
        let user = &mut users["value"][*index];
        user["creationType"] = json!("Invitation");
        user["externalUserState"] = json!("Accepted");
        user["identities"] = identities.clone();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    cloudkeur::snapshot::encode(&collection)
        .write_dir(dir.path())
        .expect("write snapshot");
    dir
}

fn body_of<'a>(collection: &'a mut Collection, name: &str) -> &'a mut Value {
    match collection.resources.get_mut(name) {
        Some(Collected::Read { body, .. }) => body,
        _ => panic!("{name} generated"),
    }
}

/// Identities of other shapes (an object, a string, null, elements that are not objects) are
/// kept as they are: the findings are those of the whole snapshot.
#[test]
fn projection_inside_identities_of_other_shapes_changes_no_finding() {
    let spec = tenant_gen::TenantSpec {
        not_mfa_capable: Some(vec![5, 6, 7, 8]),
        ..tenant_gen::TenantSpec::new(100)
    };
    let b2b = [
        json!({"first": {"issuer": "ExternalAzureAD", "signInType": "federated"}}),
        json!("ExternalAzureAD"),
        Value::Null,
        json!([null, 1, ["ExternalAzureAD"], {"issuer": "ExternalAzureAD", "x": [1]}]),
    ];
    let b2b: Vec<(usize, Value)> = (5..).zip(b2b).collect();
    let dir = b2b_tenant(&spec, &b2b);
    assert_projection_changes_nothing(dir.path(), None);
}

/// What is dropped is really gone from memory: the names of accounts are not read from the
/// registration report (the finding names accounts from users, whose row it judges).
#[test]
fn projected_snapshot_holds_no_unread_personal_data() {
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    let dir = repo("fixtures/tenants/kleinwaarde");
    let snapshot = read_dir(&dir, &pack.registry, &pack.projections()).expect("reads");
    let Some(cloudkeur::snapshot::ResourceData::Read(body)) =
        snapshot.resource("user_registration_details")
    else {
        panic!("registration details read");
    };
    let items = body["value"].as_array().expect("items");
    assert!(!items.is_empty());
    for item in items {
        assert!(item.get("userDisplayName").is_none(), "{item}");
        assert!(item.get("userPrincipalName").is_none(), "{item}");
        assert!(item.get("id").is_some(), "{item}");
    }
}

/// What the rules read is what is requested (issue 11): every item member a rule of the shipped
/// pack reads (the projection) is in the resource's `$select`, where it has one. A member not
/// selected would come back absent from Graph, and the rule would be unknown on every item.
/// OData annotations (`@odata.type`) come without being selected.
#[test]
fn every_member_the_rules_read_is_selected() {
    let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
    let mut checked = 0;
    for (name, projection) in pack.projections() {
        let Some(spec) = pack.registry.get(&name) else {
            continue;
        };
        let Some(select) = spec.query.get("$select") else {
            continue;
        };
        let selected: Vec<&str> = select.split(',').map(str::trim).collect();
        match projection {
            Projection::Members(members) => {
                for member in members.keys().filter(|m| !m.starts_with("@odata.")) {
                    assert!(
                        selected.contains(&member.as_str()),
                        "{name}: a rule reads `{member}`, which $select={select} does not ask for"
                    );
                    checked += 1;
                }
            }
            // A rule that reads items whole would read members nobody selected.
            Projection::Whole => panic!("{name} has a $select but a rule reads its items whole"),
        }
    }
    assert!(checked >= 10, "only {checked} members checked");
}

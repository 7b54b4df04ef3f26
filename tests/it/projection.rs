//! A scan reads snapshots projected to the item members its rules read. That must never change a
//! finding: every fixture tenant, and a generated one, gives the same findings (verdicts,
//! reasons, items) projected as kept whole, for the whole pack and for each policy on its own.

use crate::tenant_gen;
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::Finding;
use cloudkeur::policy::{Inputs, PackSource, PolicyPack, evaluate};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Projection, Wanted, read_dir, whole};
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
                for member in members.iter().filter(|m| !m.starts_with("@odata.")) {
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

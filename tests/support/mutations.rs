//! What the mutation suites of a compliant fixture share (`google_mutations`,
//! `measured_mutations`): the fixture loaded once with its settings and evidence, its raw
//! resources to change, the snapshot with a change applied, and the mutation and what it must do.

use crate::support::repo_path;
use cloudkeur::evidence::Evidence;
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::{PackSource, Policy, PolicyPack};
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Snapshot, read_dir};
use cloudkeur::vendor::Vendor;
use serde_json::Value;
use std::collections::BTreeMap;

/// The raw bodies of the resources a suite changes, by resource name.
pub type Raw = BTreeMap<String, Value>;
/// One change to the raw resources.
pub type Change = Box<dyn Fn(&mut Raw)>;

/// A compliant fixture tenant as its suite judges it.
pub struct Fixture {
    pub pack: PolicyPack,
    pub snapshot: Snapshot,
    pub raw: Raw,
    pub settings: Value,
    pub evidence: Evidence,
}

impl Fixture {
    /// `fixtures/tenants/<name>` with `fixtures/config/<name>.yaml` and
    /// `fixtures/evidence/<name>.yaml`, and the raw bodies of `resources` to change.
    pub fn load(name: &str, resources: &[&str]) -> Fixture {
        let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
        let dir = repo_path(&format!("fixtures/tenants/{name}"));
        let snapshot = read_dir(&dir, &pack.registry, &pack.projections()).expect("snapshot");
        let raw = resources
            .iter()
            .map(|resource| {
                let bytes = std::fs::read(dir.join(format!("{resource}.json"))).expect("fixture");
                (
                    (*resource).to_owned(),
                    serde_json::from_slice(&bytes).expect("json"),
                )
            })
            .collect();
        let (settings, _) = Settings::load(
            &repo_path(&format!("fixtures/config/{name}.yaml")),
            &pack.catalog,
        )
        .expect("settings");
        let evidence = Evidence::load(
            &repo_path(&format!("fixtures/evidence/{name}.yaml")),
            &pack.catalog,
        )
        .expect("evidence");
        Fixture {
            pack,
            snapshot,
            raw,
            settings: settings.to_document(),
            evidence,
        }
    }

    /// The snapshot with `change` applied to its raw resources.
    pub fn mutated(&self, change: &dyn Fn(&mut Raw)) -> Snapshot {
        let mut raw = self.raw.clone();
        change(&mut raw);
        let mut snapshot = self.snapshot.clone();
        for (name, body) in raw {
            let kind = self
                .pack
                .registry
                .get(&name)
                .map(|spec| spec.kind)
                .expect("registered");
            snapshot.insert_read(name, kind, body);
        }
        snapshot
    }

    /// The policy of `vendor` serving `control`.
    pub fn policy(&self, control: &str, vendor: Vendor) -> &Policy {
        self.pack
            .policies
            .iter()
            .find(|p| p.control == control && p.is_for(vendor))
            .unwrap_or_else(|| panic!("no {vendor:?} policy for {control}"))
    }
}

/// What a mutation must do to a control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Want {
    /// `fail`, naming this item (an org unit, group or account; a policy or app) among the
    /// finding's items.
    Fail(&'static str),
    /// Not `pass` (the data is not understood: `error`, or a `fail` already proven).
    NotPass,
}

/// A change to the compliant fixture and what it must do to one control.
pub struct Mutation {
    pub what: &'static str,
    pub control: &'static str,
    pub want: Want,
    pub change: Change,
}

pub fn m(
    what: &'static str,
    control: &'static str,
    want: Want,
    change: impl Fn(&mut Raw) + 'static,
) -> Mutation {
    Mutation {
        what,
        control,
        want,
        change: Box::new(change),
    }
}

/// The labels of a finding's items.
fn labels(finding: &Finding) -> Vec<String> {
    finding
        .items
        .iter()
        .filter_map(|i| i.label.clone())
        .collect()
}

/// The items of the collection `name` in the raw resources.
pub fn items<'a>(raw: &'a mut Raw, name: &str) -> &'a mut Vec<Value> {
    raw.get_mut(name)
        .and_then(|body| body.get_mut("value"))
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("{name} has a value array"))
}

/// Where a `fail` must name what a mutation broke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Named {
    /// Among the finding's item labels.
    InItems,
    /// Among the item labels, or in the reason (a policy's name, when the items are accounts).
    InItemsOrReason,
}

/// Every mutation must stop the pass as it wants: `judge` gives the finding of the mutated
/// fixture for the mutation's control. Fails listing each mutation that went otherwise.
pub fn assert_every_mutation_stops_the_pass(
    all: &[Mutation],
    judge: impl Fn(&Mutation) -> Finding,
    named: Named,
) {
    let mut wrong = Vec::new();
    for mutation in all {
        let found = judge(mutation);
        let ok = match mutation.want {
            Want::NotPass => found.verdict != Verdict::Pass,
            Want::Fail(name) => {
                found.verdict == Verdict::Fail
                    && (labels(&found).iter().any(|l| l == name)
                        || (named == Named::InItemsOrReason && found.reason.contains(name)))
            }
        };
        if !ok {
            wrong.push(format!(
                "{} -> {} {:?} (wanted {:?}) {:?}: {}",
                mutation.what,
                mutation.control,
                found.verdict,
                mutation.want,
                labels(&found),
                found.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} mutations went wrong:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
}

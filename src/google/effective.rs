//! The effective value of one Google Workspace setting for one target (an org unit, a group
//! policy, an administrator), reduced from the policies the Cloud Identity Policy API returned.
//!
//! Google's rule ("Policy API concepts", <https://cloud.google.com/identity/docs/concepts/policy-api-concepts#reduction_process>):
//! keep the policies that apply to the target, then apply the setting's reducer — Max takes
//! every field from the policy with the greatest `sortOrder`, Merge takes each field from the
//! policy with the greatest `sortOrder` that has it. The API returns only policies that were set
//! explicitly (or by Google, as `SYSTEM` policies); a field no policy sets is Google's documented
//! default ([`super::defaults`]) or, without one, absent.
//!
//! Deny by default: wherever the data leaves a field's value open, it is *unknown* (left out of
//! the value, with the reason), never guessed:
//! - a policy that may or may not apply (a licence condition in its query, membership of its
//!   group not read, a group whose precedence over the org unit is not what Google documents,
//!   a special group such as `WORKSPACE_ALL_ADMIN_GROUP`) is tried both ways;
//! - several `SYSTEM` policies on one org unit (edition defaults) are tried one at a time;
//! - a field is known only when every such way gives the same value (and, for a setting whose
//!   reducer Google's page does not give, when Max and Merge agree);
//! - `sortOrder` values are only compared, never interpreted; where they contradict Google's
//!   documented precedence (a child org unit overrides its parent), the whole value is unknown.

use super::defaults::{self, Reducer};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// More ways to try than this and the value is unknown (a real customer has a handful).
const MAX_SCENARIOS: usize = 256;

/// One policy of `policies.list`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `policies/…`, for provenance.
    pub name: String,
    /// The setting type without `settings/`, e.g. `security.less_secure_apps`.
    pub setting: String,
    /// The org unit id it is attached to (without `orgUnits/`).
    pub org_unit: String,
    /// `groups/…`, or a special group name; `None` for an org-unit policy.
    pub group: Option<String>,
    pub sort_order: f64,
    /// Google's own policy (`type: SYSTEM`), not an administrator's.
    pub system: bool,
    /// Its query carries a licence condition: it applies only to users holding that licence.
    pub licensed: bool,
    pub value: Map<String, Value>,
}

/// An org unit of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    pub path: String,
    /// Ids from the root down to this unit, itself included.
    pub chain: Vec<String>,
}

impl Unit {
    pub fn depth(&self) -> usize {
        self.chain.len()
    }
}

/// The org units by id.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    pub units: BTreeMap<String, Unit>,
    pub root: String,
}

impl OrgTree {
    /// Builds the tree from `(id, path)` pairs; the root is the unit whose path is `/`. Every
    /// other unit's parent path must be in the list, so that its chain is known.
    pub fn new(pairs: &[(String, String)]) -> Result<OrgTree, String> {
        let by_path: BTreeMap<&str, &str> = pairs
            .iter()
            .map(|(id, path)| (path.as_str(), id.as_str()))
            .collect();
        let root = by_path
            .get("/")
            .ok_or("the root org unit (path /) is not among the org units")?;
        let mut units = BTreeMap::new();
        for (id, path) in pairs {
            let mut chain = vec![(*root).to_owned()];
            if path != "/" {
                let mut prefix = String::new();
                for segment in path.trim_start_matches('/').split('/') {
                    prefix.push('/');
                    prefix.push_str(segment);
                    let unit = by_path.get(prefix.as_str()).ok_or_else(|| {
                        format!("org unit {path}: its parent {prefix} is not among the org units")
                    })?;
                    chain.push((*unit).to_owned());
                }
            }
            units.insert(
                id.clone(),
                Unit {
                    id: id.clone(),
                    path: path.clone(),
                    chain,
                },
            );
        }
        Ok(OrgTree {
            units,
            root: (*root).to_owned(),
        })
    }

    fn depth_of(&self, id: &str) -> usize {
        self.units.get(id).map_or(usize::MAX, Unit::depth)
    }
}

/// A policy as it bears on one target.
#[derive(Debug, Clone)]
pub struct Applicable<'a> {
    pub policy: &'a Policy,
    /// A group policy: above every org-unit policy (Google: "A user's group settings always
    /// override their organizational unit's settings", <https://support.google.com/a/answer/9224126>).
    pub group_layer: bool,
    /// Why it may not apply to this target; it is then tried both ways.
    pub doubt: Option<String>,
}

/// The effective value: the fields known, where each came from, and the fields that cannot be
/// told, with the reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reduced {
    pub value: Map<String, Value>,
    pub from: Map<String, Value>,
    pub unknown: Map<String, Value>,
}

/// One field's value in one way of applying the policies, and its source.
type Outcome = (Option<Value>, String);

/// Reduces `setting` over the policies that bear on one target.
pub fn reduce(setting: &str, applicable: &[Applicable<'_>], tree: &OrgTree) -> Reduced {
    let mut fields: BTreeSet<String> = defaults::default_fields(setting)
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    for a in applicable {
        fields.extend(a.policy.value.keys().cloned());
    }
    if let Some(problem) = precedence_problem(applicable, tree) {
        return all_unknown(&fields, &problem);
    }
    let scenarios = match scenarios(applicable) {
        Some(scenarios) => scenarios,
        None => {
            return all_unknown(
                &fields,
                "too many combinations of conditional and system policies to tell",
            );
        }
    };
    let reducers: &[Reducer] = match defaults::reducer(setting) {
        Reducer::Undocumented => &[Reducer::Max, Reducer::Merge],
        Reducer::Max => &[Reducer::Max],
        Reducer::Merge => &[Reducer::Merge],
    };
    let mut reduced = Reduced::default();
    for field in &fields {
        let mut outcomes: Vec<Outcome> = Vec::new();
        for scenario in &scenarios {
            for reducer in reducers {
                outcomes.push(field_value(setting, field, scenario, *reducer));
            }
        }
        let first = outcomes.first().cloned().unwrap_or((None, String::new()));
        if outcomes.iter().all(|(value, _)| *value == first.0) {
            if let Some(value) = first.0 {
                reduced.value.insert(field.clone(), value);
                reduced.from.insert(field.clone(), Value::String(first.1));
            }
        } else {
            reduced.unknown.insert(
                field.clone(),
                Value::String(why_open(setting, field, applicable, &scenarios, reducers)),
            );
        }
    }
    reduced
}

/// Every field unknown for the same reason.
fn all_unknown(fields: &BTreeSet<String>, reason: &str) -> Reduced {
    Reduced {
        unknown: fields
            .iter()
            .map(|f| (f.clone(), Value::String(reason.to_owned())))
            .collect(),
        ..Reduced::default()
    }
}

/// Where `sortOrder` contradicts what Google documents: a policy on a deeper org unit must come
/// after (override) one on its ancestor ("To keep a child organizational unit from inheriting
/// its parent's settings, apply to the child any settings that are specific to it",
/// <https://support.google.com/a/answer/4352075>); no two policies share a `sortOrder` ("There
/// are no duplicates within this set").
fn precedence_problem(applicable: &[Applicable<'_>], tree: &OrgTree) -> Option<String> {
    for (i, a) in applicable.iter().enumerate() {
        for b in &applicable[i + 1..] {
            let (pa, pb) = (a.policy, b.policy);
            if pa.sort_order == pb.sort_order {
                return Some(format!(
                    "{} and {} share sortOrder {}, so which one wins cannot be told",
                    pa.name, pb.name, pa.sort_order
                ));
            }
            if a.group_layer || b.group_layer {
                continue;
            }
            let (da, db) = (tree.depth_of(&pa.org_unit), tree.depth_of(&pb.org_unit));
            let (shallow, deep) = match da.cmp(&db) {
                std::cmp::Ordering::Less => (pa, pb),
                std::cmp::Ordering::Greater => (pb, pa),
                std::cmp::Ordering::Equal => continue,
            };
            if shallow.sort_order > deep.sort_order {
                return Some(format!(
                    "sortOrder puts {} (on a parent org unit) above {} (on a child), against Google's rule that a child org unit overrides its parent",
                    shallow.name, deep.name
                ));
            }
        }
    }
    None
}

/// Each way the policies may apply, every list in precedence order (org-unit policies by
/// `sortOrder`, then group policies by `sortOrder`). Policies in doubt are tried one at a time
/// and not at all; several `SYSTEM` policies on one org unit are tried one at a time (a user has
/// one edition). `None` when there are too many ways.
fn scenarios<'a>(applicable: &'a [Applicable<'a>]) -> Option<Vec<Vec<&'a Applicable<'a>>>> {
    let mut base: Vec<&Applicable<'a>> = Vec::new();
    let mut doubtful: Vec<&Applicable<'a>> = Vec::new();
    let mut siblings: BTreeMap<&str, Vec<&Applicable<'a>>> = BTreeMap::new();
    for a in applicable {
        if a.doubt.is_some() {
            doubtful.push(a);
        } else if a.policy.system && !a.group_layer {
            siblings.entry(&a.policy.org_unit).or_default().push(a);
        } else {
            base.push(a);
        }
    }
    let mut picks: Vec<Vec<&Applicable<'a>>> = vec![Vec::new()];
    for set in siblings.values() {
        if set.len() == 1 {
            base.push(set[0]);
            continue;
        }
        let mut next = Vec::new();
        for pick in &picks {
            for one in set {
                let mut with = pick.clone();
                with.push(*one);
                next.push(with);
            }
        }
        if next.len() > MAX_SCENARIOS {
            return None;
        }
        picks = next;
    }
    let mut out = Vec::new();
    for pick in &picks {
        let extras = std::iter::once(None).chain(doubtful.iter().map(Some));
        for extra in extras {
            let mut list: Vec<&Applicable<'a>> = base.iter().chain(pick.iter()).copied().collect();
            if let Some(extra) = extra {
                list.push(extra);
            }
            list.sort_by(|a, b| {
                (a.group_layer, a.policy.sort_order)
                    .partial_cmp(&(b.group_layer, b.policy.sort_order))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            // A special group (not `groups/…`, e.g. WORKSPACE_ALL_ADMIN_GROUP): where Google
            // ranks it among the configuration groups is not documented, so it is also tried
            // above all of them.
            if let Some(extra) = extra.filter(|e| is_special_group(e.policy)) {
                let mut on_top: Vec<&Applicable<'a>> = list
                    .iter()
                    .copied()
                    .filter(|a| !std::ptr::eq(*a, *extra))
                    .collect();
                on_top.push(extra);
                out.push(on_top);
            }
            out.push(list);
        }
        if out.len() > MAX_SCENARIOS {
            return None;
        }
    }
    Some(out)
}

/// A group policy whose target is not a group of the directory (`groups/…`) but a name of
/// Google's own, such as `WORKSPACE_ALL_ADMIN_GROUP`.
fn is_special_group(policy: &Policy) -> bool {
    policy
        .group
        .as_deref()
        .is_some_and(|g| !g.starts_with("groups/"))
}

/// One field under one reducer, the policies in precedence order.
fn field_value(setting: &str, field: &str, list: &[&Applicable<'_>], reducer: Reducer) -> Outcome {
    let from_policy = match reducer {
        Reducer::Max => list.last().and_then(|top| {
            top.policy
                .value
                .get(field)
                .map(|v| (v.clone(), top.policy.name.clone()))
        }),
        _ => list.iter().rev().find_map(|a| {
            a.policy
                .value
                .get(field)
                .map(|v| (v.clone(), a.policy.name.clone()))
        }),
    };
    match from_policy {
        Some((value, name)) => (Some(value), name),
        None => match defaults::default_value(setting, field) {
            Some(value) => (
                Some(value),
                format!("Google's default ({})", defaults::DEFAULTS_DOC),
            ),
            None => (None, String::new()),
        },
    }
}

/// Why a field's value stays open: the policies in doubt, the system policies that disagree,
/// or the undocumented reducer.
fn why_open(
    setting: &str,
    field: &str,
    applicable: &[Applicable<'_>],
    scenarios: &[Vec<&Applicable<'_>>],
    reducers: &[Reducer],
) -> String {
    let mut reasons: Vec<String> = applicable
        .iter()
        .filter(|a| a.policy.value.contains_key(field))
        .filter_map(|a| {
            a.doubt
                .as_ref()
                .map(|why| format!("{} may not apply ({why})", a.policy.name))
        })
        .collect();
    let systems: Vec<&str> = applicable
        .iter()
        .filter(|a| a.policy.system && a.doubt.is_none() && a.policy.value.contains_key(field))
        .map(|a| a.policy.name.as_str())
        .collect();
    if systems.len() > 1 {
        reasons.push(format!(
            "Google's system policies {} (one per edition or licence) disagree",
            systems.join(", ")
        ));
    }
    if reducers.len() > 1 {
        let split = scenarios.iter().any(|s| {
            field_value(setting, field, s, Reducer::Max).0
                != field_value(setting, field, s, Reducer::Merge).0
        });
        if split {
            reasons.push(format!(
                "Google's page gives no reducer for {setting} that could be read ({}), and Max and Merge give different values",
                defaults::REDUCERS_DOC
            ));
        }
    }
    if reasons.is_empty() {
        reasons.push("the policies that bear on it give different values".to_owned());
    }
    format!("{field} cannot be told: {}", reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree() -> OrgTree {
        OrgTree::new(&[
            ("root".into(), "/".into()),
            ("staff".into(), "/Staff".into()),
            ("it".into(), "/Staff/IT".into()),
            ("pupils".into(), "/Pupils".into()),
        ])
        .unwrap()
    }

    fn policy(name: &str, setting: &str, unit: &str, order: f64, value: Value) -> Policy {
        Policy {
            name: format!("policies/{name}"),
            setting: setting.into(),
            org_unit: unit.into(),
            group: None,
            sort_order: order,
            system: false,
            licensed: false,
            value: value.as_object().cloned().unwrap_or_default(),
        }
    }

    fn on(policies: &[Policy]) -> Vec<Applicable<'_>> {
        policies
            .iter()
            .map(|p| Applicable {
                policy: p,
                group_layer: p.group.is_some(),
                doubt: None,
            })
            .collect()
    }

    const LSA: &str = "security.less_secure_apps";
    const SHARING: &str = "drive_and_docs.external_sharing";
    const APPS: &str = "api_controls.unconfigured_third_party_apps";

    #[test]
    fn the_greatest_sort_order_wins_and_the_numbers_are_only_compared() {
        // The same layout with sortOrders shifted by Google's September 2026 change (101 → 100).
        for shift in [0.0, -1.0, 1000.0] {
            let policies = [
                policy(
                    "sys",
                    LSA,
                    "root",
                    101.0 + shift,
                    json!({"allowLessSecureApps": false}),
                ),
                policy(
                    "root",
                    LSA,
                    "root",
                    201.0 + shift,
                    json!({"allowLessSecureApps": false}),
                ),
                policy(
                    "staff",
                    LSA,
                    "staff",
                    202.00002 + shift,
                    json!({"allowLessSecureApps": true}),
                ),
            ];
            let reduced = reduce(LSA, &on(&policies), &tree());
            assert_eq!(reduced.value["allowLessSecureApps"], json!(true), "{shift}");
            assert_eq!(reduced.from["allowLessSecureApps"], json!("policies/staff"));
        }
    }

    #[test]
    fn nothing_set_gives_the_documented_default_or_nothing() {
        let reduced = reduce(LSA, &[], &tree());
        assert_eq!(reduced.value["allowLessSecureApps"], json!(false));
        assert!(
            reduced.from["allowLessSecureApps"]
                .as_str()
                .unwrap()
                .contains("default_field_values")
        );
        let reduced = reduce("meet.video_recording", &[], &tree());
        assert!(reduced.value.is_empty() && reduced.unknown.is_empty());
        let reduced = reduce(SHARING, &[], &tree());
        assert_eq!(reduced.value["externalSharingMode"], json!("ALLOWED"));
        assert_eq!(reduced.value["allowPublishingFiles"], json!(true));
    }

    #[test]
    fn max_takes_every_field_from_the_top_policy_merge_each_from_the_highest_that_has_it() {
        // Max (documented for external sharing): the child's policy leaves allowPublishingFiles
        // out, so it is Google's default (true), not the parent's false.
        let policies = [
            policy(
                "root",
                SHARING,
                "root",
                201.0,
                json!({"externalSharingMode": "ALLOWLISTED_DOMAINS", "allowPublishingFiles": false}),
            ),
            policy(
                "staff",
                SHARING,
                "staff",
                202.0,
                json!({"externalSharingMode": "DISALLOWED"}),
            ),
        ];
        let reduced = reduce(SHARING, &on(&policies), &tree());
        assert_eq!(reduced.value["externalSharingMode"], json!("DISALLOWED"));
        assert_eq!(reduced.value["allowPublishingFiles"], json!(true));
        // Merge (documented for unconfigured apps): the child's missing field comes from below.
        let policies = [
            policy(
                "root",
                APPS,
                "root",
                201.0,
                json!({"accessLevel": "BLOCK_ALL", "accessLevelUnder18": "BLOCK_ALL"}),
            ),
            policy(
                "staff",
                APPS,
                "staff",
                202.0,
                json!({"accessLevel": "ALLOW_SIGN_IN_ONLY"}),
            ),
        ];
        let reduced = reduce(APPS, &on(&policies), &tree());
        assert_eq!(reduced.value["accessLevel"], json!("ALLOW_SIGN_IN_ONLY"));
        assert_eq!(reduced.value["accessLevelUnder18"], json!("BLOCK_ALL"));
        assert_eq!(reduced.from["accessLevelUnder18"], json!("policies/root"));
    }

    #[test]
    fn an_undocumented_reducer_is_known_only_where_max_and_merge_agree() {
        let setting = "meet.safety_domain";
        let agree = [
            policy(
                "root",
                setting,
                "root",
                201.0,
                json!({"usersAllowedToJoin": "LOGGED_IN"}),
            ),
            policy(
                "staff",
                setting,
                "staff",
                202.0,
                json!({"usersAllowedToJoin": "ALL"}),
            ),
        ];
        let reduced = reduce(setting, &on(&agree), &tree());
        assert_eq!(reduced.value["usersAllowedToJoin"], json!("ALL"));
        // The child leaves the field out: Max says absent, Merge says the parent's value.
        let split = [
            policy(
                "root",
                setting,
                "root",
                201.0,
                json!({"usersAllowedToJoin": "LOGGED_IN"}),
            ),
            policy("staff", setting, "staff", 202.0, json!({})),
        ];
        let reduced = reduce(setting, &on(&split), &tree());
        assert!(!reduced.value.contains_key("usersAllowedToJoin"));
        let why = reduced.unknown["usersAllowedToJoin"].as_str().unwrap();
        assert!(why.contains("Max and Merge"), "{why}");
    }

    #[test]
    fn a_sort_order_against_the_documented_inheritance_leaves_the_value_unknown() {
        let policies = [
            policy(
                "root",
                LSA,
                "root",
                210.0,
                json!({"allowLessSecureApps": false}),
            ),
            policy(
                "it",
                LSA,
                "it",
                203.0,
                json!({"allowLessSecureApps": false}),
            ),
        ];
        let reduced = reduce(LSA, &on(&policies), &tree());
        assert!(reduced.value.is_empty());
        assert!(
            reduced.unknown["allowLessSecureApps"]
                .as_str()
                .unwrap()
                .contains("child org unit overrides its parent")
        );
        let twins = [
            policy(
                "a",
                LSA,
                "root",
                201.0,
                json!({"allowLessSecureApps": false}),
            ),
            policy(
                "b",
                LSA,
                "staff",
                201.0,
                json!({"allowLessSecureApps": false}),
            ),
        ];
        assert!(reduce(LSA, &on(&twins), &tree()).value.is_empty());
    }

    #[test]
    fn system_policies_that_disagree_leave_the_field_unknown_unless_an_admin_overrides() {
        let mut a = policy(
            "sys-a",
            LSA,
            "root",
            101.0,
            json!({"allowLessSecureApps": false}),
        );
        let mut b = policy(
            "sys-b",
            LSA,
            "root",
            101.00025,
            json!({"allowLessSecureApps": true}),
        );
        a.system = true;
        b.system = true;
        let reduced = reduce(LSA, &on(&[a.clone(), b.clone()]), &tree());
        let why = reduced.unknown["allowLessSecureApps"].as_str().unwrap();
        assert!(
            why.contains("system policies") && why.contains("disagree"),
            "{why}"
        );
        // Two system policies that agree: known.
        let mut same = b.clone();
        same.value = a.value.clone();
        let reduced = reduce(LSA, &on(&[a.clone(), same]), &tree());
        assert_eq!(reduced.value["allowLessSecureApps"], json!(false));
        // An administrator's policy above them decides.
        let admin = policy(
            "admin",
            LSA,
            "root",
            201.0,
            json!({"allowLessSecureApps": false}),
        );
        let reduced = reduce(LSA, &on(&[a, b, admin]), &tree());
        assert_eq!(reduced.value["allowLessSecureApps"], json!(false));
    }

    #[test]
    fn a_policy_in_doubt_never_widens_a_pass() {
        // A licence-conditioned policy turns less secure apps off for its licence holders only:
        // the others keep the parent's "on", so the unit's value is unknown, not "off".
        let on_root = policy(
            "root",
            LSA,
            "root",
            201.0,
            json!({"allowLessSecureApps": true}),
        );
        let licensed = policy(
            "lic",
            LSA,
            "staff",
            202.0,
            json!({"allowLessSecureApps": false}),
        );
        let applicable = vec![
            Applicable {
                policy: &on_root,
                group_layer: false,
                doubt: None,
            },
            Applicable {
                policy: &licensed,
                group_layer: false,
                doubt: Some("its query has a licence condition".into()),
            },
        ];
        let reduced = reduce(LSA, &applicable, &tree());
        let why = reduced.unknown["allowLessSecureApps"].as_str().unwrap();
        assert!(
            why.contains("policies/lic may not apply (its query has a licence condition)"),
            "{why}"
        );
        // In doubt but agreeing with what holds anyway: known.
        let agreeing = policy(
            "lic",
            LSA,
            "staff",
            202.0,
            json!({"allowLessSecureApps": true}),
        );
        let applicable = vec![
            Applicable {
                policy: &on_root,
                group_layer: false,
                doubt: None,
            },
            Applicable {
                policy: &agreeing,
                group_layer: false,
                doubt: Some("licence".into()),
            },
        ];
        assert_eq!(
            reduce(LSA, &applicable, &tree()).value["allowLessSecureApps"],
            json!(true)
        );
    }

    #[test]
    fn a_group_policy_overrides_the_org_unit_whatever_its_sort_order() {
        let root = policy(
            "root",
            LSA,
            "root",
            201.0,
            json!({"allowLessSecureApps": false}),
        );
        let mut group = policy(
            "grp",
            LSA,
            "root",
            2.0,
            json!({"allowLessSecureApps": true}),
        );
        group.group = Some("WORKSPACE_ALL_ADMIN_GROUP".into());
        let reduced = reduce(LSA, &on(&[root, group]), &tree());
        assert_eq!(reduced.value["allowLessSecureApps"], json!(true));
    }

    #[test]
    fn a_special_group_in_doubt_is_also_tried_above_the_configuration_groups() {
        const FACTOR: &str = "security.two_step_verification_enforcement_factor";
        let root = policy(
            "root",
            FACTOR,
            "root",
            201.0,
            json!({"allowedSignInFactorSet": "NO_TELEPHONY"}),
        );
        let mut keys = policy(
            "keys",
            FACTOR,
            "root",
            399.00001,
            json!({"allowedSignInFactorSet": "PASSKEY_ONLY"}),
        );
        keys.group = Some("groups/03beheer".into());
        let mut all_admins = policy(
            "alladmins",
            FACTOR,
            "root",
            2.0,
            json!({"allowedSignInFactorSet": "ALL"}),
        );
        all_admins.group = Some("WORKSPACE_ALL_ADMIN_GROUP".into());
        let applicable = vec![
            Applicable {
                policy: &root,
                group_layer: false,
                doubt: None,
            },
            Applicable {
                policy: &keys,
                group_layer: true,
                doubt: None,
            },
            Applicable {
                policy: &all_admins,
                group_layer: true,
                doubt: Some("precedence unclear".into()),
            },
        ];
        let reduced = reduce(FACTOR, &applicable, &tree());
        assert!(reduced.value.is_empty(), "{reduced:?}");
        assert!(reduced.unknown.contains_key("allowedSignInFactorSet"));
    }

    #[test]
    fn the_tree_needs_its_root_and_every_parent() {
        assert!(OrgTree::new(&[("a".into(), "/A".into())]).is_err());
        let err =
            OrgTree::new(&[("r".into(), "/".into()), ("c".into(), "/A/B".into())]).unwrap_err();
        assert!(err.contains("/A"), "{err}");
        let tree = tree();
        assert_eq!(tree.units["it"].chain, ["root", "staff", "it"]);
        assert_eq!(tree.root, "root");
    }
}

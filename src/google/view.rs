//! Builds the derived Google resources from a snapshot's raw reads: one row per setting and
//! org unit, per setting and group policy ([`EFFECTIVE_SETTINGS`]), and per setting and active
//! administrator ([`ADMIN_SETTINGS`]), each with the effective value ([`super::effective`]).
//!
//! A row:
//! ```json
//! {"setting": "security.less_secure_apps", "target": "org_unit", "org_unit": "/Leerlingen",
//!  "label": "/Leerlingen", "value": {"allowLessSecureApps": false},
//!  "from": {"allowLessSecureApps": "policies/…"}, "unknown": {}, "notes": []}
//! ```
//! `value` holds only the fields whose value is known; a field that cannot be told is in
//! `unknown` with the reason, and a rule reading it meets an absent member (unknown, `error`).
//! Group rows add `group` (its email, else the Policy API's name) and `group_id`; administrator
//! rows add `user`, `user_id` and `admin` (`super`, `delegated`).

use super::effective::{Applicable, OrgTree, Policy, reduce};
use super::{
    ADMIN_SETTINGS, EFFECTIVE_SETTINGS, GROUPS, ORG_UNITS, POLICIES, POLICY_GROUP_MEMBERS,
    ROLE_ASSIGNMENTS, ROLE_GROUP_MEMBERS, ROLES, USERS, input, input_items, value_list,
};
use crate::snapshot::Snapshot;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The derived resources of a Google snapshot, each a `{"value": [rows]}` body or the reason it
/// cannot be made.
pub fn derive_all(snapshot: &Snapshot) -> Vec<(&'static str, Result<Value, String>)> {
    let base = Inputs::read(snapshot);
    let effective = base
        .as_ref()
        .map_err(Clone::clone)
        .map(|inputs| rows_body(effective_rows(inputs)));
    let admins = base.and_then(|inputs| {
        let users = admins(snapshot)?;
        let members = Members::read(snapshot);
        Ok(rows_body(admin_rows(&inputs, &users, &members)))
    });
    vec![(EFFECTIVE_SETTINGS, effective), (ADMIN_SETTINGS, admins)]
}

fn rows_body(rows: Vec<Value>) -> Value {
    json!({ "value": rows })
}

/// What every derived resource needs: the policies by setting, the org units, the groups' names.
struct Inputs {
    tree: OrgTree,
    policies: BTreeMap<String, Vec<Policy>>,
    /// Per setting: the policies attached to an org unit that is not among the org units.
    strays: BTreeMap<String, Vec<Policy>>,
    /// Per setting: what was done with policies that did not fit (no org unit, a deleted one).
    notes: BTreeMap<String, Vec<String>>,
    group_names: BTreeMap<String, String>,
}

impl Inputs {
    fn read(snapshot: &Snapshot) -> Result<Inputs, String> {
        let tree = org_tree(input(snapshot, ORG_UNITS)?)?;
        let mut policies: BTreeMap<String, Vec<Policy>> = BTreeMap::new();
        let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut strays: BTreeMap<String, Vec<Policy>> = BTreeMap::new();
        for (index, item) in input_items(snapshot, POLICIES)?.iter().enumerate() {
            let (policy, note) = parse_policy(item, &tree)
                .map_err(|problem| format!("{POLICIES}: item {index}: {problem}"))?;
            if let Some(note) = note {
                notes.entry(policy.setting.clone()).or_default().push(note);
            }
            if tree.units.contains_key(&policy.org_unit) {
                policies
                    .entry(policy.setting.clone())
                    .or_default()
                    .push(policy);
            } else {
                // Deleted since, or created after the org units were read, or a list cut
                // short: which it is cannot be told, so the unit is judged on what its own
                // policies set, and what it would inherit is unknown (never ignored).
                notes
                    .entry(policy.setting.clone())
                    .or_default()
                    .push(format!(
                        "{} is attached to org unit {}, which is not among the org units read: judged on its own, what it inherits unknown",
                        policy.name, policy.org_unit
                    ));
                strays
                    .entry(policy.setting.clone())
                    .or_default()
                    .push(policy);
            }
        }
        // Group names only label rows: without them a row names the group by its id.
        let group_names = input(snapshot, GROUPS)
            .ok()
            .and_then(|b| value_list(GROUPS, b).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|g| {
                let id = g.get("id")?.as_str()?;
                let email = g.get("email")?.as_str()?;
                Some((format!("groups/{id}"), email.to_owned()))
            })
            .collect();
        Ok(Inputs {
            tree,
            policies,
            strays,
            notes,
            group_names,
        })
    }

    /// Every setting seen, and every setting cloudkeur's controls read (judged even if unset).
    fn settings(&self) -> BTreeSet<String> {
        self.policies
            .keys()
            .cloned()
            .chain(
                super::defaults::KNOWN_SETTINGS
                    .iter()
                    .map(|s| (*s).to_owned()),
            )
            .collect()
    }

    fn group_label(&self, group: &str) -> String {
        self.group_names
            .get(group)
            .cloned()
            .unwrap_or_else(|| group.to_owned())
    }

    fn notes(&self, setting: &str) -> Value {
        json!(self.notes.get(setting).cloned().unwrap_or_default())
    }
}

/// The org-unit tree from `orgunits.list?type=allIncludingParent&orgUnitPath=/`: ids on the
/// wire are `id:…`, the Policy API's are bare.
fn org_tree(body: &Value) -> Result<OrgTree, String> {
    let mut pairs = Vec::new();
    for (index, unit) in value_list(ORG_UNITS, body)?.iter().enumerate() {
        let id = unit
            .get("orgUnitId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{ORG_UNITS}: item {index} has no orgUnitId"))?;
        let path = unit
            .get("orgUnitPath")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{ORG_UNITS}: item {index} has no orgUnitPath"))?;
        pairs.push((id.trim_start_matches("id:").to_owned(), path.to_owned()));
    }
    OrgTree::new(&pairs).map_err(|problem| format!("{ORG_UNITS}: {problem}"))
}

/// One policy, checked: anything it needs that is missing or of the wrong kind makes the whole
/// derived resource unreadable (a policy nobody understood could be the one that matters). A
/// policy without an org unit is taken as the root's, as Google's behaviour suggests, and said.
fn parse_policy(item: &Value, tree: &OrgTree) -> Result<(Policy, Option<String>), String> {
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed policy)")
        .to_owned();
    let setting = item
        .pointer("/setting/type")
        .and_then(Value::as_str)
        .and_then(|t| t.strip_prefix("settings/"))
        .filter(|t| !t.is_empty())
        .ok_or("setting.type is not \"settings/…\"")?
        .to_owned();
    let value = item
        .pointer("/setting/value")
        .and_then(Value::as_object)
        .ok_or("setting.value is not an object")?
        .clone();
    let query = item
        .get("policyQuery")
        .and_then(Value::as_object)
        .ok_or("policyQuery is not an object")?;
    let sort_order = query
        .get("sortOrder")
        .and_then(Value::as_f64)
        .ok_or("policyQuery.sortOrder is not a number")?;
    let mut note = None;
    let org_unit = match query.get("orgUnit") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(
            text.strip_prefix("orgUnits/")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| format!("policyQuery.orgUnit '{text}' is not \"orgUnits/…\""))?
                .to_owned(),
        ),
        Some(_) => return Err("policyQuery.orgUnit is not a string".into()),
    };
    let org_unit = org_unit.unwrap_or_else(|| {
        note = Some(format!(
            "{name} names no org unit: taken as the root's (as Google's console shows such policies)"
        ));
        tree.root.clone()
    });
    let group = match query.get("group") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err("policyQuery.group is not a string".into()),
    };
    let licensed = query
        .get("query")
        .and_then(Value::as_str)
        .is_some_and(|q| q.contains("license"));
    let system = item.get("type").and_then(Value::as_str) == Some("SYSTEM");
    Ok((
        Policy {
            name,
            setting,
            org_unit,
            group,
            sort_order,
            system,
            licensed,
            value,
        },
        note,
    ))
}

const LICENCE_DOUBT: &str = "its query has a licence condition, which not every user meets";

fn licence_doubt(policy: &Policy) -> Option<String> {
    policy.licensed.then(|| LICENCE_DOUBT.to_owned())
}

/// The org-unit policies of `setting` that apply in `chain` (a unit and its ancestors).
fn chain_policies<'a>(policies: &'a [Policy], chain: &[String]) -> Vec<Applicable<'a>> {
    policies
        .iter()
        .filter(|p| p.group.is_none() && chain.contains(&p.org_unit))
        .map(|p| Applicable {
            policy: p,
            group_layer: false,
            doubt: licence_doubt(p),
        })
        .collect()
}

fn row(
    setting: &str,
    target: &str,
    reduced: super::effective::Reduced,
    notes: Value,
) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("setting".into(), json!(setting));
    row.insert("target".into(), json!(target));
    row.insert("value".into(), Value::Object(reduced.value));
    row.insert("from".into(), Value::Object(reduced.from));
    row.insert("unknown".into(), Value::Object(reduced.unknown));
    row.insert("notes".into(), notes);
    row
}

/// One row per setting and org unit, then one per setting and group policy (the value the
/// group imposes on its members: its policies over the org-unit value, as Google documents).
fn effective_rows(inputs: &Inputs) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut units: Vec<_> = inputs.tree.units.values().collect();
    units.sort_by(|a, b| a.path.cmp(&b.path));
    for setting in inputs.settings() {
        let policies = inputs
            .policies
            .get(&setting)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for unit in &units {
            let applicable = chain_policies(policies, &unit.chain);
            let reduced = reduce(&setting, &applicable, &inputs.tree);
            let mut row = row(&setting, "org_unit", reduced, inputs.notes(&setting));
            row.insert("org_unit".into(), json!(unit.path));
            row.insert("label".into(), json!(unit.path));
            rows.push(Value::Object(row));
        }
        rows.extend(stray_rows(inputs, &setting, policies));
        let targets: BTreeSet<(&str, &str)> = policies
            .iter()
            .filter_map(|p| Some((p.group.as_deref()?, p.org_unit.as_str())))
            .collect();
        for (group, unit_id) in targets {
            let Some(unit) = inputs.tree.units.get(unit_id) else {
                continue;
            };
            let mut applicable = chain_policies(policies, &unit.chain);
            applicable.extend(
                policies
                    .iter()
                    .filter(|p| {
                        p.group.as_deref() == Some(group) && unit.chain.contains(&p.org_unit)
                    })
                    .map(|p| Applicable {
                        policy: p,
                        group_layer: true,
                        doubt: licence_doubt(p),
                    }),
            );
            let reduced = reduce(&setting, &applicable, &inputs.tree);
            let name = inputs.group_label(group);
            let label = if unit.path == "/" {
                format!("group {name}")
            } else {
                format!("group {name} in {}", unit.path)
            };
            let mut row = row(&setting, "group", reduced, inputs.notes(&setting));
            row.insert("org_unit".into(), json!(unit.path));
            row.insert("group".into(), json!(name));
            row.insert("group_id".into(), json!(group));
            row.insert("label".into(), json!(label));
            rows.push(Value::Object(row));
        }
    }
    rows
}

/// One row per org unit that policies of `setting` are attached to but that is not among the
/// org units: the fields its own org-unit policies set are known (a child overrides what it
/// inherits); every other field is unknown, since where the unit sits cannot be told. A group
/// policy on such a unit makes the whole row unknown.
fn stray_rows(inputs: &Inputs, setting: &str, placed: &[Policy]) -> Vec<Value> {
    let Some(strays) = inputs.strays.get(setting) else {
        return Vec::new();
    };
    let units: BTreeSet<&str> = strays.iter().map(|p| p.org_unit.as_str()).collect();
    let mut fields: BTreeSet<String> = super::defaults::default_fields(setting)
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    fields.extend(
        placed
            .iter()
            .chain(strays)
            .flat_map(|p| p.value.keys().cloned()),
    );
    let mut rows = Vec::new();
    for unit in units {
        let own: Vec<&Policy> = strays.iter().filter(|p| p.org_unit == unit).collect();
        let applicable: Vec<Applicable<'_>> = own
            .iter()
            .filter(|p| p.group.is_none())
            .map(|p| Applicable {
                policy: p,
                group_layer: false,
                doubt: licence_doubt(p),
            })
            .collect();
        let set: BTreeSet<&String> = if own.iter().any(|p| p.group.is_some()) {
            BTreeSet::new()
        } else {
            own.iter().flat_map(|p| p.value.keys()).collect()
        };
        let mut reduced = reduce(setting, &applicable, &inputs.tree);
        reduced.value.retain(|field, _| set.contains(field));
        reduced.from.retain(|field, _| set.contains(field));
        let why = format!(
            "org unit {unit} is not among the org units read, so what it inherits cannot be told"
        );
        for field in &fields {
            if !reduced.value.contains_key(field) && !reduced.unknown.contains_key(field) {
                reduced.unknown.insert(field.clone(), json!(why));
            }
        }
        let label = format!("org unit {unit} (not among the org units read)");
        let mut row = row(setting, "org_unit", reduced, inputs.notes(setting));
        row.insert("org_unit".into(), json!(format!("orgUnits/{unit}")));
        row.insert("label".into(), json!(label));
        rows.push(Value::Object(row));
    }
    rows
}

/// An administrator whose effective settings are judged.
struct Admin {
    id: String,
    email: String,
    org_unit_path: Option<String>,
    kind: &'static str,
    /// Why the account's standing cannot be told (a flag absent): all its values are unknown.
    doubt: Option<String>,
}

/// The accounts holding an administrator role through a role assignment, to themselves or to a
/// group they are in, by account id: `super` when the role is a super administrator role, else
/// `delegated`. The users' flags alone are not relied on: whether Google sets `isAdmin` or
/// `isDelegatedAdmin` for a role held through a group is not documented.
fn role_holders(snapshot: &Snapshot) -> Result<BTreeMap<String, &'static str>, String> {
    let super_roles: BTreeSet<&str> = input_items(snapshot, ROLES)?
        .iter()
        .filter(|r| r.get("isSuperAdminRole").and_then(Value::as_bool) == Some(true))
        .filter_map(|r| r.get("roleId")?.as_str())
        .collect();
    let group_members = input(snapshot, ROLE_GROUP_MEMBERS)?;
    let mut holders: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut hold = |id: &str, kind: &'static str| {
        let entry = holders.entry(id.to_owned()).or_insert(kind);
        if kind == "super" {
            *entry = kind;
        }
    };
    for assignment in input_items(snapshot, ROLE_ASSIGNMENTS)? {
        let text = |name: &str| assignment.get(name).and_then(Value::as_str);
        let assignee = text("assignedTo")
            .ok_or_else(|| format!("{ROLE_ASSIGNMENTS}: an assignment has no assignedTo"))?;
        let kind = match text("roleId") {
            Some(role) if super_roles.contains(role) => "super",
            _ => "delegated",
        };
        if !text("assigneeType").is_some_and(|t| t.eq_ignore_ascii_case("group")) {
            hold(assignee, kind);
            continue;
        }
        let members = group_members
            .get(assignee)
            .and_then(|m| m.get("value"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                format!("the members of group {assignee}, which holds an admin role, were not read ({ROLE_GROUP_MEMBERS})")
            })?;
        for member in members {
            // Nested groups' users are listed too (includeDerivedMembership); any other kind of
            // member (CUSTOMER: every account) cannot be told apart.
            match member.get("type").and_then(Value::as_str) {
                Some(t) if t.eq_ignore_ascii_case("group") => continue,
                Some(t) if t.eq_ignore_ascii_case("user") => {}
                other => {
                    return Err(format!(
                        "group {assignee}, which holds an admin role, has a member of type {}",
                        other.unwrap_or("(absent)")
                    ));
                }
            }
            let id = member.get("id").and_then(Value::as_str).ok_or_else(|| {
                format!("group {assignee}, which holds an admin role, has a member without an id")
            })?;
            hold(id, kind);
        }
    }
    Ok(holders)
}

/// The active super and delegated administrators (`isAdmin`, `isDelegatedAdmin`, or a role
/// assignment), suspended and archived accounts left out. An account that does not say whether
/// it is an administrator, and holds no role, is kept, its values unknown.
fn admins(snapshot: &Snapshot) -> Result<Vec<Admin>, String> {
    let holders = role_holders(snapshot)?;
    let mut admins = Vec::new();
    for (index, user) in input_items(snapshot, USERS)?.iter().enumerate() {
        let flag = |name: &str| user.get(name).and_then(Value::as_bool);
        if flag("suspended") == Some(true) || flag("archived") == Some(true) {
            continue;
        }
        let held = user
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| holders.get(id).copied());
        let (super_admin, delegated) = (flag("isAdmin"), flag("isDelegatedAdmin"));
        let (kind, doubt) = match (super_admin, delegated, held) {
            (Some(true), _, _) | (_, _, Some("super")) => ("super", None),
            (_, Some(true), _) | (_, _, Some(_)) => ("delegated", None),
            (Some(false), Some(false), None) => continue,
            _ => (
                "unknown",
                Some("the account does not say whether it is an administrator (isAdmin or isDelegatedAdmin absent)".to_owned()),
            ),
        };
        let email = user
            .get("primaryEmail")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{USERS}: item {index} has no primaryEmail"))?;
        admins.push(Admin {
            id: user
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            email: email.to_owned(),
            org_unit_path: user
                .get("orgUnitPath")
                .and_then(Value::as_str)
                .map(str::to_owned),
            kind,
            doubt,
        });
    }
    Ok(admins)
}

/// Members of the groups that carry policies (`members.list?includeDerivedMembership=true`, a
/// fan-out keyed by group id), where they could be read.
struct Members {
    by_group: Option<BTreeMap<String, Vec<Value>>>,
    unreadable: String,
}

impl Members {
    fn read(snapshot: &Snapshot) -> Members {
        match input(snapshot, POLICY_GROUP_MEMBERS) {
            Ok(Value::Object(map)) => Members {
                by_group: Some(
                    map.iter()
                        .filter_map(|(id, entry)| {
                            Some((id.clone(), entry.get("value")?.as_array()?.clone()))
                        })
                        .collect(),
                ),
                unreadable: String::new(),
            },
            Ok(_) => Members {
                by_group: None,
                unreadable: format!("{POLICY_GROUP_MEMBERS} is not a list per group"),
            },
            Err(reason) => Members {
                by_group: None,
                unreadable: reason,
            },
        }
    }

    /// Whether the user is in `group` (`groups/ID`): `Ok(bool)` when the members were read, else
    /// why it cannot be told. A member of type `CUSTOMER` stands for every user.
    fn contains(&self, group: &str, admin: &Admin) -> Result<bool, String> {
        let id = group
            .strip_prefix("groups/")
            .ok_or_else(|| format!("{group} is not a group whose members can be read"))?;
        let by_group = self
            .by_group
            .as_ref()
            .ok_or_else(|| format!("its members could not be read: {}", self.unreadable))?;
        let members = by_group
            .get(id)
            .ok_or_else(|| format!("the members of {group} were not read"))?;
        Ok(members.iter().any(|m| {
            m.get("type").and_then(Value::as_str) == Some("CUSTOMER")
                || (!admin.id.is_empty() && m.get("id").and_then(Value::as_str) == Some(&admin.id))
                || m.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(&admin.email))
        }))
    }
}

/// One row per setting and administrator: the value Google applies to that account — the
/// policies of its org unit and ancestors, and over them the policies of the groups it is in.
fn admin_rows(inputs: &Inputs, admins: &[Admin], members: &Members) -> Vec<Value> {
    let mut rows = Vec::new();
    let settings = inputs.settings();
    for admin in admins {
        let unit = admin
            .org_unit_path
            .as_deref()
            .and_then(|path| inputs.tree.units.values().find(|u| u.path == path));
        let unit_doubt = match (&admin.doubt, unit) {
            (Some(doubt), _) => Some(doubt.clone()),
            (None, None) => Some(format!(
                "the account's org unit {} is not among the org units",
                admin.org_unit_path.as_deref().unwrap_or("(absent)")
            )),
            (None, Some(_)) => None,
        };
        for setting in &settings {
            let policies = inputs
                .policies
                .get(setting)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let reduced = match (unit, &unit_doubt) {
                (Some(unit), None) => {
                    let applicable = admin_policies(policies, &unit.chain, admin, members);
                    reduce(setting, &applicable, &inputs.tree)
                }
                (_, doubt) => {
                    let reason = doubt.clone().unwrap_or_default();
                    let fields: BTreeSet<String> = policies
                        .iter()
                        .flat_map(|p| p.value.keys().cloned())
                        .chain(
                            super::defaults::default_fields(setting)
                                .iter()
                                .map(|f| (*f).to_owned()),
                        )
                        .collect();
                    super::effective::Reduced {
                        unknown: fields.into_iter().map(|f| (f, json!(reason))).collect(),
                        ..Default::default()
                    }
                }
            };
            let mut row = row(setting, "user", reduced, inputs.notes(setting));
            row.insert("user".into(), json!(admin.email));
            row.insert("user_id".into(), json!(admin.id));
            row.insert("admin".into(), json!(admin.kind));
            row.insert(
                "org_unit".into(),
                json!(admin.org_unit_path.clone().unwrap_or_default()),
            );
            row.insert("label".into(), json!(admin.email));
            rows.push(Value::Object(row));
        }
    }
    rows
}

/// The policies that bear on one administrator: its org-unit chain, and the group policies of
/// that chain for groups it is in. A group policy is in doubt when membership cannot be told,
/// or when its `sortOrder` is below an org-unit policy it should override (Google documents
/// that group settings override, so the order is then unclear).
fn admin_policies<'a>(
    policies: &'a [Policy],
    chain: &[String],
    admin: &Admin,
    members: &Members,
) -> Vec<Applicable<'a>> {
    let mut applicable = chain_policies(policies, chain);
    let top_unit = applicable
        .iter()
        .map(|a| a.policy.sort_order)
        .fold(f64::NEG_INFINITY, f64::max);
    for policy in policies.iter().filter(|p| chain.contains(&p.org_unit)) {
        let Some(group) = &policy.group else {
            continue;
        };
        let doubt = match members.contains(group, admin) {
            Ok(false) => continue,
            Ok(true) if policy.sort_order < top_unit => Some(format!(
                "its sortOrder {} is below an org-unit policy's, so whether {group} overrides the org unit is unclear",
                policy.sort_order
            )),
            Ok(true) => licence_doubt(policy),
            Err(why) => Some(format!("membership of {group} cannot be told: {why}")),
        };
        applicable.push(Applicable {
            policy,
            group_layer: true,
            doubt,
        });
    }
    applicable
}

#[cfg(test)]
mod tests;

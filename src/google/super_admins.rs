//! Who holds Google Workspace's super administrator role ([`super::SUPER_ADMINS`]), derived from
//! the Directory API: accounts flagged `isAdmin` ("Indicates a user with super administrator
//! privileges"), and every principal assigned a role whose `isSuperAdminRole` is true — a user,
//! each member of a group (nested members included), or anything else (a service account's
//! `uniqueId`). One row per principal, however many ways it holds the role:
//!
//! ```json
//! {"id": "1147…", "email": "beheer@school.example", "label": "beheer@school.example",
//!  "principal": "user", "active": true, "in_customer_domains": true,
//!  "via": ["isAdmin", "role assignment", "group ict@school.example"]}
//! ```
//! `principal` is `user` for an account in `google_users`, else `other` (a service account, or an
//! id that is no account of the customer). `in_customer_domains` says whether the account's
//! domain is one of the customer's verified domains or domain aliases; it is absent when the
//! principal has no email. Sources: users.list, roles.list, roleAssignments.list,
//! members.list, domains.list (<https://developers.google.com/workspace/admin/directory/reference/rest>).

use super::{DOMAINS, ROLE_ASSIGNMENTS, ROLE_GROUP_MEMBERS, ROLES, USERS, input, input_items};
use crate::snapshot::Snapshot;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn text<'a>(item: &'a Value, member: &str) -> Option<&'a str> {
    item.get(member).and_then(Value::as_str)
}

/// One holder of the role while it is being assembled.
#[derive(Default)]
struct Holder {
    email: Option<String>,
    principal: &'static str,
    active: bool,
    via: BTreeSet<String>,
}

/// The rows, or why they cannot be told (any input unreadable, a super-admin role's group
/// whose members were not read: a holder nobody saw could change the count).
pub fn derive(snapshot: &Snapshot) -> Result<Value, String> {
    let users = input_items(snapshot, USERS)?;
    let by_id: BTreeMap<&str, &Value> = users
        .iter()
        .filter_map(|u| Some((text(u, "id")?, u)))
        .collect();
    let domains = customer_domains(input_items(snapshot, DOMAINS)?);
    // Every role by id, with whether it is a super administrator role; `None` when the role
    // does not say (an assignment of it cannot then be judged).
    let roles: BTreeMap<&str, Option<bool>> = input_items(snapshot, ROLES)?
        .iter()
        .filter_map(|r| {
            Some((
                text(r, "roleId")?,
                r.get("isSuperAdminRole").and_then(Value::as_bool),
            ))
        })
        .collect();
    let mut holders: BTreeMap<String, Holder> = BTreeMap::new();
    let add = |id: &str, via: String, holders: &mut BTreeMap<String, Holder>| {
        let holder = holders.entry(id.to_owned()).or_default();
        match by_id.get(id) {
            Some(user) => {
                holder.email = text(user, "primaryEmail").map(str::to_owned);
                holder.principal = "user";
                holder.active = user.get("suspended").and_then(Value::as_bool) != Some(true)
                    && user.get("archived").and_then(Value::as_bool) != Some(true);
            }
            None => {
                holder.principal = "other";
                holder.active = true;
            }
        }
        holder.via.insert(via);
    };
    for user in users {
        match user.get("isAdmin") {
            Some(Value::Bool(true)) => {
                if let Some(id) = text(user, "id") {
                    add(id, "isAdmin".into(), &mut holders);
                }
            }
            Some(Value::Bool(false)) => {}
            _ => {
                return Err(format!(
                    "{USERS}: an account does not say whether it is a super administrator (isAdmin absent)"
                ));
            }
        }
    }
    let members = input(snapshot, ROLE_GROUP_MEMBERS).ok();
    for assignment in input_items(snapshot, ROLE_ASSIGNMENTS)? {
        let Some(role) = text(assignment, "roleId") else {
            return Err(format!("{ROLE_ASSIGNMENTS}: an assignment has no roleId"));
        };
        match roles.get(role) {
            Some(Some(true)) => {}
            Some(Some(false)) => continue,
            // A role that does not say, or one the role list lacks (read at another moment,
            // or cut short): it may be a super administrator role, so the holders cannot be told.
            Some(None) => {
                return Err(format!(
                    "{ROLES}: role {role} is assigned but does not say whether it is a super administrator role (isSuperAdminRole absent)"
                ));
            }
            None => {
                return Err(format!(
                    "{ROLE_ASSIGNMENTS}: an assignment names role {role}, which is not among the roles read"
                ));
            }
        }
        let assignee = text(assignment, "assignedTo").ok_or_else(|| {
            format!("{ROLE_ASSIGNMENTS}: a super administrator assignment has no assignedTo")
        })?;
        let kind = text(assignment, "assigneeType").map(str::to_ascii_lowercase);
        if kind.as_deref() == Some("group") {
            let list = members
                .and_then(|m| m.get(assignee))
                .and_then(|m| m.get("value"))
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    format!(
                        "the members of group {assignee}, which holds the super administrator role, were not read ({ROLE_GROUP_MEMBERS})"
                    )
                })?;
            let group = by_group_email(snapshot, assignee).unwrap_or_else(|| assignee.to_owned());
            for member in list {
                match text(member, "type").map(str::to_ascii_uppercase).as_deref() {
                    // Nested groups: their users are listed too (includeDerivedMembership).
                    Some("GROUP") => continue,
                    Some("USER") => {}
                    // CUSTOMER stands for every account of the customer; a type Google may add
                    // later is not understood. Either way the holders cannot be counted.
                    other => {
                        return Err(format!(
                            "group {group}, which holds the super administrator role, has a member of type {} whose holders cannot be counted",
                            other.unwrap_or("(absent)")
                        ));
                    }
                }
                let id = text(member, "id").ok_or_else(|| {
                    format!(
                        "group {group}, which holds the super administrator role, has a member without an id"
                    )
                })?;
                add(id, format!("group {group}"), &mut holders);
            }
        } else {
            add(assignee, "role assignment".into(), &mut holders);
        }
    }
    let rows: Vec<Value> = holders
        .into_iter()
        .map(|(id, holder)| {
            let label = holder.email.clone().unwrap_or_else(|| id.clone());
            let mut row = json!({
                "id": id,
                "label": label,
                "principal": holder.principal,
                "active": holder.active,
                "via": holder.via.into_iter().collect::<Vec<_>>(),
            });
            if let Some(email) = &holder.email {
                row["email"] = json!(email);
                let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
                row["in_customer_domains"] = json!(domain.is_some_and(|d| domains.contains(&d)));
            }
            row
        })
        .collect();
    Ok(json!({ "value": rows }))
}

/// The customer's verified domains and domain aliases, lower case.
fn customer_domains(domains: &[Value]) -> BTreeSet<String> {
    let verified = |v: &Value| v.get("verified").and_then(Value::as_bool) == Some(true);
    let mut out = BTreeSet::new();
    for domain in domains.iter().filter(|d| verified(d)) {
        if let Some(name) = text(domain, "domainName") {
            out.insert(name.to_ascii_lowercase());
        }
        for alias in domain
            .get("domainAliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|a| verified(a))
        {
            if let Some(name) = text(alias, "domainAliasName") {
                out.insert(name.to_ascii_lowercase());
            }
        }
    }
    out
}

/// A group's email from `google_groups`, for the `via` note.
fn by_group_email(snapshot: &Snapshot, id: &str) -> Option<String> {
    input_items(snapshot, super::GROUPS)
        .ok()?
        .iter()
        .find(|g| text(g, "id") == Some(id))
        .and_then(|g| text(g, "email"))
        .map(str::to_owned)
}

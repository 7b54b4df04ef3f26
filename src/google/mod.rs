//! Google Workspace semantics that are not a request: the effective value of a setting per org
//! unit, group policy and administrator, reduced from the Cloud Identity Policy API's raw
//! policies. Pure: it reads a snapshot in memory and derives resources from it before
//! evaluation ([`derive()`]); the snapshot itself keeps only what the APIs said, so a scan replays
//! offline exactly, and the reduction can be re-run (and corrected) on old snapshots.
//!
//! The connector that reads Google's APIs lives in `connector::google`.

pub mod defaults;
pub mod effective;
mod super_admins;
mod view;

use crate::registry::ResourceKind;
use crate::snapshot::{ResourceData, Snapshot};
use crate::vendor::Vendor;
use serde_json::Value;
use std::borrow::Cow;

/// Policy API `policies.list`: every policy explicitly set, by an administrator or by Google.
pub const POLICIES: &str = "google_policies";
/// Directory `orgunits.list?type=allIncludingParent&orgUnitPath=/`.
pub const ORG_UNITS: &str = "google_org_units";
/// Directory `groups.list`: names the groups that carry policies.
pub const GROUPS: &str = "google_groups";
/// Directory `users.list`: administrators (and 2-Step Verification enrolment).
pub const USERS: &str = "google_users";
/// Directory `members.list?includeDerivedMembership=true` of each group that carries a policy.
pub const POLICY_GROUP_MEMBERS: &str = "google_policy_group_members";

/// Directory `roles.list`: which roles are super administrator roles.
pub const ROLES: &str = "google_roles";
/// Directory `roleAssignments.list`.
pub const ROLE_ASSIGNMENTS: &str = "google_role_assignments";
/// Directory `members.list?includeDerivedMembership=true` of each group assigned a role.
pub const ROLE_GROUP_MEMBERS: &str = "google_role_group_members";
/// Directory `domains.list`: the customer's domains and aliases.
pub const DOMAINS: &str = "google_domains";

/// Derived: every principal holding the super administrator role, once.
pub const SUPER_ADMINS: &str = "google_super_admins";
/// Derived: the effective value of every setting in every org unit and for every group policy.
pub const EFFECTIVE_SETTINGS: &str = "google_effective_settings";
/// Derived: the effective value of every setting for every active administrator.
pub const ADMIN_SETTINGS: &str = "google_admin_settings";

/// The body of a raw resource a derived view is made from, or why it cannot be used.
fn input<'a>(snapshot: &'a Snapshot, name: &str) -> Result<&'a Value, String> {
    match snapshot.resource(name) {
        Some(ResourceData::Read(body)) => Ok(body),
        // Refused (a scope not granted) or not read: the view cannot be made, so every control
        // on it is an error, never a pass on what was not seen.
        Some(ResourceData::Unreadable(reason) | ResourceData::Unavailable(reason)) => {
            Err(reason.clone())
        }
        None => Err(format!("{name} was not collected")),
    }
}

/// The items of a collection body (`{"value": [...]}`, as the connector stores every list).
fn value_list<'a>(name: &str, body: &'a Value) -> Result<&'a [Value], String> {
    body.get("value")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| format!("{name} has no `value` list"))
}

/// The items of a raw collection a derived view is made from.
fn input_items<'a>(snapshot: &'a Snapshot, name: &str) -> Result<&'a [Value], String> {
    value_list(name, input(snapshot, name)?)
}

/// The resources a derived resource is computed from, in the order the registry lists them;
/// `None` for a name cloudkeur derives nothing under.
pub fn derived_inputs(name: &str) -> Option<&'static [&'static str]> {
    match name {
        EFFECTIVE_SETTINGS => Some(&[POLICIES, ORG_UNITS, GROUPS]),
        ADMIN_SETTINGS => Some(&[
            POLICIES,
            ORG_UNITS,
            GROUPS,
            USERS,
            POLICY_GROUP_MEMBERS,
            ROLES,
            ROLE_ASSIGNMENTS,
            ROLE_GROUP_MEMBERS,
        ]),
        SUPER_ADMINS => Some(&[
            USERS,
            ROLES,
            ROLE_ASSIGNMENTS,
            ROLE_GROUP_MEMBERS,
            DOMAINS,
            GROUPS,
        ]),
        _ => None,
    }
}

/// The snapshot with its derived resources added: a copy for a Google snapshot (whatever a
/// snapshot may claim under a derived name is replaced), the snapshot itself otherwise.
pub fn derive(snapshot: &Snapshot) -> Cow<'_, Snapshot> {
    if snapshot.vendor() != Vendor::Google {
        return Cow::Borrowed(snapshot);
    }
    let mut derived = snapshot.clone();
    let mut bodies = view::derive_all(snapshot);
    bodies.push((SUPER_ADMINS, super_admins::derive(snapshot)));
    for (name, body) in bodies {
        match body {
            Ok(body) => derived.insert_read(name, ResourceKind::Collection, body),
            Err(reason) => {
                derived.insert_unreadable(name, format!("{name} cannot be derived: {reason}"))
            }
        }
    }
    Cow::Owned(derived)
}

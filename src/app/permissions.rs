//! `cloudkeur permissions`: what the app needs for the selected policies, per service, read from
//! the registry: the Microsoft Graph application permissions (with the resources that need each),
//! `Exchange.ManageAsApp` for the Exchange Online and Security & Compliance admin APIs, and the
//! Entra role the admin APIs (those two and Teams) check, each with the clicks or one command.
//!
//! The Exchange and Teams facts are Microsoft's: "App-only authentication in Exchange Online
//! PowerShell and Security & Compliance PowerShell" (the `Exchange.ManageAsApp` application
//! permission of Office 365 Exchange Online, and the table of supported Entra roles, of which
//! Global Reader is the read-only one valid for both) and "Application-based authentication in
//! Teams PowerShell Module" ("For *-Cs cmdlets - no API permissions are needed"; the app's
//! directory role decides).

use super::{Error, Outcome, pack_source};
use crate::cli::PermissionsArgs;
use crate::connector::{TEAMS_ADMIN_API_APP_ID, resources_to_read};
use crate::policy::PolicyPack;
use crate::registry::Service;
use crate::terminal::inert;
use crate::vendor::Vendor;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Microsoft Graph's application id.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's application id, and its `Exchange.ManageAsApp` app role.
const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
const MANAGE_AS_APP_ROLE: &str = "dc50a0fb-09a3-484d-be87-e023b12c6440";
/// The Global Reader role's template id (the same in every tenant).
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

pub(super) fn run(args: PermissionsArgs) -> Result<Outcome, Error> {
    let mut pack = PolicyPack::load(&pack_source(args.policies.dir))?;
    pack.retain(&args.only);
    if pack.policies.is_empty() {
        return Err(Error::Usage(format!(
            "--only {} matches no policy or control; see `cloudkeur policy list`",
            args.only.join(",")
        )));
    }
    if args.vendor == Vendor::Google {
        if !args.services.is_empty() {
            return Err(Error::Usage(
                "--services names Microsoft 365 services; leave it out with --vendor google".into(),
            ));
        }
        print!("{}", google_scopes(&pack)?);
        return Ok(Outcome::Compliant);
    }
    let selected: BTreeSet<Service> = args.services.iter().copied().collect();
    let resources = resources_to_read(&pack.registry, &pack.needed_resources())?;
    let mut by_service: BTreeMap<Service, Vec<&str>> = BTreeMap::new();
    for name in &resources {
        if let Some(spec) = pack.registry.get(name)
            && (selected.is_empty() || selected.contains(&spec.service))
        {
            by_service
                .entry(spec.service)
                .or_default()
                .push(name.as_str());
        }
    }
    let count: usize = by_service.values().map(Vec::len).sum();
    let mut text = format!(
        "What the app needs for {} Microsoft 365 policies ({count} resources), per service:\n",
        pack.policies
            .iter()
            .filter(|p| p.is_for(Vendor::Microsoft))
            .count(),
    );
    if let Some(names) = by_service.get(&Service::Graph) {
        text.push_str(&graph(&pack, names));
    }
    let exchange: Vec<&str> = [Service::Exchange, Service::Compliance]
        .iter()
        .filter_map(|s| by_service.get(s))
        .flatten()
        .copied()
        .collect();
    if !exchange.is_empty() {
        text.push_str(&exchange_manage_as_app(&exchange));
    }
    if let Some(names) = by_service.get(&Service::Teams) {
        text.push_str(&teams(names));
    }
    if !exchange.is_empty() || by_service.contains_key(&Service::Teams) {
        text.push_str(&global_reader());
    }
    text.push_str(
        "\nDelegated permissions do not work: cloudkeur signs in as the app, without a user.\n\
         A permission or role left out is not fatal: the resources behind it are recorded as\n\
         unreadable, naming what is missing, and their policies give `error`, never `pass`.\n\
         Leave a service out of a scan with --services (e.g. --services graph,teams).\n",
    );
    print!("{text}");
    Ok(Outcome::Compliant)
}

/// Google Workspace: the read-only OAuth scopes to authorise for the service account on the
/// Admin console's domain-wide delegation page, with the resources that need each; the client
/// ID to enter there; the super administrator the Policy API needs; the APIs to enable.
///
/// Google's facts: "Only a super administrator can use the Cloud Identity Policy API"
/// (<https://cloud.google.com/identity/docs/concepts/overview-policies>); domain-wide delegation
/// is granted per client ID and scope list in Security > Access and data control > API controls
/// (<https://support.google.com/a/answer/162106>); a keyless service account signs through IAM
/// Credentials' `signJwt`, which needs `roles/iam.serviceAccountTokenCreator`.
fn google_scopes(pack: &PolicyPack) -> Result<String, Error> {
    let plan = crate::connector::google::plan(&pack.registry, &pack.needed_resources())?;
    let mut by_scope: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, spec) in &plan {
        by_scope
            .entry(spec.permission.as_str())
            .or_default()
            .push(name.as_str());
    }
    // Every scope is one of Google's read-only ones; the token request refuses any other.
    if let Some(scope) = by_scope
        .keys()
        .find(|s| !crate::connector::google::token::is_read_only_scope(s))
    {
        return Err(Error::Usage(format!(
            "the registry names {scope} as a Google permission, which is not a read-only scope; cloudkeur requests only https://www.googleapis.com/auth/….readonly"
        )));
    }
    let width = by_scope.keys().map(|s| s.len()).max().unwrap_or(0);
    let policies = pack
        .policies
        .iter()
        .filter(|p| p.is_for(Vendor::Google))
        .count();
    let mut text = format!(
        "What the service account needs for {policies} Google Workspace policies ({} resources):\n\n\
         OAuth scopes for domain-wide delegation ({} scopes, each read-only)\n\n",
        plan.len(),
        by_scope.len()
    );
    for (scope, names) in &by_scope {
        let _ = writeln!(
            text,
            "  {:<width$}  {}",
            inert(scope),
            inert(&names.join(", "))
        );
    }
    let list: Vec<&str> = by_scope.keys().copied().collect();
    let _ = writeln!(
        text,
        "\n  OAuth scopes, as the Admin console takes them (comma-separated):\n    {}",
        inert(&list.join(","))
    );
    text.push_str(GOOGLE_SET_UP);
    Ok(text)
}

/// The clicks, the client ID, the super administrator and the APIs to enable.
const GOOGLE_SET_UP: &str = "
  Clicks: Admin console (admin.google.com, as a super administrator) → Security → Access
  and data control → API controls → Manage Domain Wide Delegation → Add new: Client ID =
  the service account's numeric client ID (`client_id` in its JSON key file; or Google
  Cloud console → IAM & Admin → Service accounts → the account → Advanced settings →
  Client ID), OAuth scopes = the line above → Authorize. Authorise exactly these:
  cloudkeur asks for all of them in one token request, and Google refuses it
  (unauthorized_client) when one is missing; the scan then stops (exit 2) saying so.

Super administrator: --google-admin EMAIL names the account the service account
  impersonates. It must be a super administrator: only a super administrator can use the
  Cloud Identity Policy API (a delegated administrator's read of google_policies gives
  `error`, never `pass`). cloudkeur only reads; Google logs its reads as that account's.

Google Cloud project of the service account: enable the Admin SDK API and the Cloud
  Identity API. Keyless (workload identity federation, no key file): also the IAM Service
  Account Credentials API and the Security Token Service API, and give the federated
  principal roles/iam.serviceAccountTokenCreator on the service account.
";

/// Graph: each application permission once, with the resources that need it.
fn graph(pack: &PolicyPack, names: &[&str]) -> String {
    let mut by_permission: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in names {
        if let Some(spec) = pack.registry.get(name) {
            by_permission
                .entry(spec.permission.as_str())
                .or_default()
                .push(name);
        }
    }
    let width = by_permission.keys().map(|p| p.len()).max().unwrap_or(0);
    let mut text = format!(
        "\nMicrosoft Graph: application permissions ({} resources)\n\n",
        names.len()
    );
    for (permission, names) in &by_permission {
        let _ = writeln!(
            text,
            "  {:<width$}  {}",
            inert(permission),
            inert(&names.join(", "))
        );
    }
    text.push_str(&conditional_permissions(pack, &by_permission));
    let list: Vec<&str> = by_permission.keys().copied().collect();
    let _ = write!(
        text,
        "\n  Clicks: Entra admin center → App registrations → your app → API permissions → Add a\n  \
         permission → Microsoft Graph → Application permissions: add each permission above, then\n  \
         \"Grant admin consent\" (a Global Administrator or Privileged Role Administrator).\n  \
         Or with az (APP = the app's client id):\n    \
         for p in {}; do az ad app permission add --id $APP --api {GRAPH_APP_ID} --api-permissions \"$(az ad sp show --id {GRAPH_APP_ID} --query \"appRoles[?value=='$p'].id\" -o tsv)=Role\"; done; az ad app permission admin-consent --id $APP\n",
        inert(&list.join(" "))
    );
    text
}

/// Exchange Online and Security & Compliance: one application permission serves both.
fn exchange_manage_as_app(names: &[&str]) -> String {
    format!(
        "\nExchange Online and Security & Compliance admin APIs ({} resources: {})\n\n  \
         Application permission Exchange.ManageAsApp of \"Office 365 Exchange Online\"\n  \
         ({EXCHANGE_APP_ID}, app role {MANAGE_AS_APP_ROLE}), with admin consent,\n  \
         and the Entra role Global Reader (below).\n\n  \
         Clicks: App registrations → your app → API permissions → Add a permission → APIs my\n  \
         organization uses → \"Office 365 Exchange Online\" → Application permissions →\n  \
         Exchange.ManageAsApp → Add permissions → \"Grant admin consent\".\n  \
         Or with az:\n    \
         az ad app permission add --id $APP --api {EXCHANGE_APP_ID} --api-permissions {MANAGE_AS_APP_ROLE}=Role && az ad app permission admin-consent --id $APP\n  \
         (A managed identity has no consent screen: assign the app role with Graph,\n  \
         POST /v1.0/servicePrincipals/<Exchange Online's service principal id>/appRoleAssignedTo\n  \
         {{\"principalId\": \"<your service principal id>\", \"resourceId\": \"<Exchange Online's service principal id>\", \"appRoleId\": \"{MANAGE_AS_APP_ROLE}\"}}.)\n",
        names.len(),
        inert(&names.join(", "))
    )
}

/// Teams: no API permission, a token of the Teams admin API's audience, and the Entra role.
fn teams(names: &[&str]) -> String {
    format!(
        "\nTeams admin API ({} resources: {})\n\n  \
         No API permission to add: the app asks for a token of the \"Skype and Teams Tenant Admin\n  \
         API\" ({TEAMS_ADMIN_API_APP_ID}) and the service checks the app's Entra role: Global\n  \
         Reader (below).\n",
        names.len(),
        inert(&names.join(", "))
    )
}

/// The one Entra role the admin APIs check.
fn global_reader() -> String {
    format!(
        "\nEntra role for the admin APIs: Global Reader (read-only; the least role Microsoft lists for\n  \
         both Exchange Online and Security & Compliance app-only access, and enough for Teams)\n\n  \
         Clicks: Entra admin center → Roles & admins → Global Reader → Add assignments → select\n  \
         your app → Add.\n  \
         Or with az (SP = your app's service principal object id, `az ad sp show --id $APP --query id -o tsv`):\n    \
         az rest --method POST --url https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments --body '{{\"principalId\": \"'$SP'\", \"roleDefinitionId\": \"{GLOBAL_READER}\", \"directoryScopeId\": \"/\"}}'\n  \
         The role arrives in the app's next token (the scan asks for new ones each run).\n"
    )
}

/// For permissions whose every resource is read only when another resource says so
/// (`read_if`): when they are needed, so that a tenant where they are not can leave them out
/// (least privilege). A permission left out and needed after all gives `error`, never `pass`.
fn conditional_permissions(pack: &PolicyPack, by_permission: &BTreeMap<&str, Vec<&str>>) -> String {
    let mut text = String::new();
    for (permission, names) in by_permission {
        let conditions: Option<Vec<String>> = names
            .iter()
            .map(|name| {
                pack.registry
                    .get(name)
                    .and_then(|spec| spec.read_if.as_ref())
                    .map(|read_if| read_if.condition())
            })
            .collect();
        let Some(mut conditions) = conditions else {
            continue;
        };
        conditions.dedup();
        let _ = writeln!(
            text,
            "\n{permission} is needed only when {}: otherwise {} is not read and the\npermission can be left out. Missing where it is needed, it makes the policies that read\n{} give `error`, never `pass`.",
            conditions.join(", or when "),
            names.join(", "),
            names.join(", ")
        );
    }
    text
}

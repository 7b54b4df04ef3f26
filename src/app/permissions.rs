//! `cloudkeur permissions`: the Microsoft Graph application permissions the selected policies
//! need, read from the registry, with the resources that need each.

use super::{Error, Outcome, pack_source};
use crate::cli::PermissionsArgs;
use crate::connector::resources_to_read;
use crate::policy::PolicyPack;
use crate::terminal::inert;
use std::collections::BTreeMap;
use std::fmt::Write;

pub(super) fn run(args: PermissionsArgs) -> Result<Outcome, Error> {
    let mut pack = PolicyPack::load(&pack_source(args.policies.dir))?;
    pack.retain(&args.only);
    if pack.policies.is_empty() {
        return Err(Error::Usage(format!(
            "--only {} matches no policy or control; see `cloudkeur policy list`",
            args.only.join(",")
        )));
    }
    let resources = resources_to_read(&pack.registry, &pack.needed_resources())?;
    let mut by_permission: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in &resources {
        if let Some(spec) = pack.registry.get(name) {
            by_permission
                .entry(spec.permission.as_str())
                .or_default()
                .push(name.as_str());
        }
    }
    let width = by_permission.keys().map(|p| p.len()).max().unwrap_or(0);
    let mut text = format!(
        "Microsoft Graph application permissions for {} policies ({} resources):\n\n",
        pack.policies.len(),
        resources.len()
    );
    for (permission, names) in &by_permission {
        let _ = writeln!(
            text,
            "  {:<width$}  {}",
            inert(permission),
            inert(&names.join(", "))
        );
    }
    text.push_str(&conditional_permissions(&pack, &by_permission));
    text.push_str(
        "\nIn Entra ID: App registrations → your app → API permissions → Add a permission →\n\
         Microsoft Graph → Application permissions: add each permission above, then\n\
         \"Grant admin consent\" (a Global Administrator or Privileged Role Administrator).\n\
         Delegated permissions do not work: cloudkeur signs in as the app, without a user.\n",
    );
    print!("{text}");
    Ok(Outcome::Compliant)
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

//! What a scan reads: the wanted resources and every resource they wait for, and whether a
//! conditional read (`read_if` in the registry) is needed once the resource that decides it is
//! known.

use super::ConnectorError;
use crate::registry::{Registry, ResourceSpec};
use crate::snapshot::Collected;
use jsonpath_rust::JsonPath;
use std::collections::{BTreeMap, BTreeSet};

/// The wanted resources plus every resource they wait for (a fan-out's parent, a `read_if`'s
/// deciding resource), transitively. Only Microsoft 365's: the pack also holds the Google
/// Workspace policies, whose resources a scan of a Microsoft tenant neither reads nor records.
pub(crate) fn plan(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<BTreeMap<String, ResourceSpec>, ConnectorError> {
    let mut plan = BTreeMap::new();
    let mut todo: Vec<String> = wanted
        .iter()
        .filter(|name| {
            registry
                .get(name)
                .is_none_or(|spec| spec.service.vendor() == crate::vendor::Vendor::Microsoft)
        })
        .cloned()
        .collect();
    while let Some(name) = todo.pop() {
        if plan.contains_key(&name) {
            continue;
        }
        let spec = registry
            .get(&name)
            .ok_or_else(|| ConnectorError::UnknownResource(name.clone()))?;
        todo.extend(spec.depends_on().map(str::to_owned));
        plan.insert(name, spec.clone());
    }
    Ok(plan)
}

/// Whether to read a resource, decided once what it waits for is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Needed {
    /// Read it; the note says why, when it was read only to be safe.
    Yes(Option<String>),
    /// Do not: the reason goes into the snapshot.
    No(String),
}

/// Reads a `read_if` resource only when its deciding resource selects something at its path.
/// When that cannot be told (the deciding resource unreadable, the path failing), it is read
/// anyway: reading too much costs a permission, reading too little could hide a finding.
pub(crate) fn needed(results: &BTreeMap<String, Collected>, spec: &ResourceSpec) -> Needed {
    if let Some(fan_out) = &spec.for_each
        && let Some(Collected::NotNeeded { .. }) = results.get(&fan_out.resource)
    {
        return Needed::No(format!(
            "not needed: {}, which lists its ids, was not needed either",
            fan_out.resource
        ));
    }
    let Some(read_if) = &spec.read_if else {
        return Needed::Yes(None);
    };
    let (decider, condition) = (&read_if.resource, read_if.condition());
    match results.get(decider) {
        Some(Collected::Read { body, .. }) => match body.query(&read_if.path) {
            Ok(found) if !found.is_empty() => Needed::Yes(None),
            Ok(_) => Needed::No(format!(
                "not needed: read only when {condition}, and {decider} says otherwise"
            )),
            Err(err) => Needed::Yes(Some(format!(
                "read although it may not be needed: {decider} does not tell whether {condition} ({err})"
            ))),
        },
        _ => Needed::Yes(Some(format!(
            "read although it may not be needed: {decider}, which tells whether {condition}, could not be read"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registry() -> Registry {
        let text = r#"
resources:
  organization:
    title: t
    path: /v1.0/organization
    kind: collection
    permission: Organization.Read.All
  sites:
    title: t
    path: /v1.0/sites/getAllSites
    kind: collection
    permission: Sites.Read.All
    read_if:
      resource: organization
      path: "$.value[?@.isMultipleDataLocationsForServicesEnabled == true]"
      when: the tenant is multi-geo
"#;
        Registry::parse(std::path::Path::new("resources.yaml"), text).unwrap()
    }

    fn organization(multi_geo: serde_json::Value) -> Collected {
        Collected::Read {
            request: String::new(),
            http_status: 200,
            pages: 1,
            body: json!({"value": [{"id": "o", "isMultipleDataLocationsForServicesEnabled": multi_geo}]}),
            note: None,
            file_sha256: None,
            projected: false,
        }
    }

    #[test]
    fn a_google_resource_is_not_in_a_microsoft_scans_plan() {
        let pack = crate::policy::PolicyPack::load(&crate::policy::PackSource::BuiltIn).unwrap();
        let plan = plan(&pack.registry, &pack.needed_resources()).unwrap();
        assert!(plan.contains_key("conditional_access_policies"));
        assert!(
            plan.values()
                .all(|spec| spec.service.vendor() == crate::vendor::Vendor::Microsoft),
            "{:?}",
            plan.keys().collect::<Vec<_>>()
        );
        assert!(
            pack.needed_resources()
                .contains("google_effective_settings")
        );
    }

    #[test]
    fn a_conditional_read_brings_its_deciding_resource_into_the_plan() {
        let wanted = BTreeSet::from(["sites".to_owned()]);
        let plan = plan(&registry(), &wanted).unwrap();
        assert_eq!(plan.keys().collect::<Vec<_>>(), ["organization", "sites"]);
    }

    #[test]
    fn read_only_when_the_deciding_resource_says_so_and_read_when_it_cannot_tell() {
        let registry = registry();
        let sites = registry.get("sites").unwrap();
        let mut results = BTreeMap::new();
        results.insert("organization".to_owned(), organization(json!(true)));
        assert_eq!(needed(&results, sites), Needed::Yes(None));
        for off in [json!(false), json!(null), json!("true")] {
            results.insert("organization".to_owned(), organization(off.clone()));
            let Needed::No(reason) = needed(&results, sites) else {
                panic!("{off}: read");
            };
            assert_eq!(
                reason,
                "not needed: read only when the tenant is multi-geo, and organization says otherwise"
            );
        }
        // Fail safe: unreadable, skipped or missing decides nothing, and the read is made.
        for unknown in [
            Some(Collected::Failed {
                request: String::new(),
                http_status: Some(403),
                error: "missing permission".into(),
                note: None,
            }),
            Some(Collected::NotNeeded {
                request: String::new(),
                reason: "x".into(),
            }),
            None,
        ] {
            let mut results = BTreeMap::new();
            if let Some(collected) = unknown {
                results.insert("organization".to_owned(), collected);
            }
            let Needed::Yes(Some(note)) = needed(&results, sites) else {
                panic!("not read");
            };
            assert!(note.contains("could not be read"), "{note}");
        }
    }
}

//! The resource registry: every Graph read cloudkeur may make, loaded from `policies/resources.yaml`.
//!
//! Connectors read it to know what to request, snapshots to know how a body is shaped, policies
//! to check that a resource exists, and `cloudkeur permissions` to list what the app needs.
//! One file, so the four can never disagree.

use crate::diag::{Diagnostic, locate_key, parse_yaml};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How a resource's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// One settings object. Graph documents some of these wrapped as `{"value": {...}}`.
    Object,
    /// A paged list: `value` array plus `@odata.nextLink` until the last page.
    Collection,
}

/// A read repeated once per id selected from another resource (e.g. members of each group).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOut {
    pub resource: String,
    /// RFC 9535 JSONPath selecting the ids that fill `{id}` in the path.
    pub ids: String,
}

/// Read a resource only if another resource's body says it is needed (issue 11.8): the
/// JSONPath must select at least one value in `resource`. Plain data here; the connector
/// decides what to do with it (read anyway when `resource` is unreadable, record a read not
/// made as `not_needed`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadIf {
    pub resource: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub title: String,
    /// Path relative to the Graph base URL, starting with the API version (`/v1.0/...`).
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub kind: ResourceKind,
    /// The least-privileged application permission that allows this read.
    pub permission: String,
    #[serde(default)]
    pub for_each: Option<FanOut>,
    /// Read the first page only and do not follow `@odata.nextLink` (a probe such as the
    /// most recent sign-in, where following the link would walk a whole log).
    #[serde(default)]
    pub first_page_only: bool,
    /// Query keys dropped, and the read retried once, when the service answers 400 to them
    /// (e.g. an undocumented `$top`). Plain data here; the connector implements it.
    #[serde(default)]
    pub fallback_on_400: Vec<String>,
    #[serde(default)]
    pub read_if: Option<ReadIf>,
    #[serde(default)]
    pub docs: Option<String>,
}

impl ResourceSpec {
    /// The request as a person reads it: `GET /v1.0/...?$select=...`.
    pub fn request_line(&self) -> String {
        let mut line = format!("GET {}", self.path);
        for (i, (key, value)) in self.query.iter().enumerate() {
            line.push(if i == 0 { '?' } else { '&' });
            line.push_str(key);
            line.push('=');
            line.push_str(value);
        }
        line
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    resources: BTreeMap<String, ResourceSpec>,
}

/// All known resources, by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    resources: BTreeMap<String, ResourceSpec>,
}

impl Registry {
    pub fn parse(file: &Path, text: &str) -> Result<Self, Diagnostic> {
        let parsed: RegistryFile = parse_yaml(file, text)?;
        let registry = Registry {
            resources: parsed.resources,
        };
        registry.validate(file, text)?;
        Ok(registry)
    }

    fn validate(&self, file: &Path, text: &str) -> Result<(), Diagnostic> {
        for (name, spec) in &self.resources {
            let at = || locate_key(text, name);
            if !is_snake_case(name) {
                return Err(Diagnostic::new(
                    file,
                    at(),
                    format!("resource name '{name}' is not snake_case"),
                )
                .with_fix("use lowercase letters, digits and underscores, e.g. report_settings"));
            }
            if !spec.path.starts_with('/') {
                return Err(Diagnostic::new(file, at(), format!("resource '{name}': path '{}' does not start with '/'", spec.path))
                    .with_fix("write the path relative to the Graph base URL, e.g. /v1.0/admin/reportSettings"));
            }
            if let Some(read_if) = &spec.read_if {
                if !self.resources.contains_key(&read_if.resource) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!(
                            "resource '{name}': read_if names unknown resource '{}'",
                            read_if.resource
                        ),
                    )
                    .with_fix("name a resource defined in this file"));
                }
                if let Err(err) = jsonpath_rust::parser::parse_json_path(&read_if.path) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!("resource '{name}': read_if.path is not valid JSONPath: {err}"),
                    )
                    .with_fix("write an RFC 9535 JSONPath such as $.value[?@.flag == true]"));
                }
            }
            for key in &spec.fallback_on_400 {
                if !spec.query.contains_key(key) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!("resource '{name}': fallback_on_400 names '{key}', which its query does not send"),
                    )
                    .with_fix("list only keys of `query`, e.g. fallback_on_400: [\"$top\"]"));
                }
            }
            if let Some(fan_out) = &spec.for_each {
                if !self.resources.contains_key(&fan_out.resource) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!(
                            "resource '{name}': for_each names unknown resource '{}'",
                            fan_out.resource
                        ),
                    )
                    .with_fix("name a resource defined in this file"));
                }
                if let Err(err) = jsonpath_rust::parser::parse_json_path(&fan_out.ids) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!("resource '{name}': for_each.ids is not valid JSONPath: {err}"),
                    )
                    .with_fix("write an RFC 9535 JSONPath such as $.value[*].id"));
                }
                // `{id}` in the path, or in a query value (PIM for Groups must be asked
                // `$filter=groupId eq '{id}'`).
                if !spec.path.contains("{id}") && !spec.query.values().any(|v| v.contains("{id}")) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!(
                            "resource '{name}': a for_each resource needs '{{id}}' in its path or query"
                        ),
                    )
                    .with_fix(
                        "put {id} where the selected id goes, e.g. /v1.0/groups/{id}/members",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&ResourceSpec> {
        self.resources.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.resources.contains_key(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ResourceSpec)> {
        self.resources.iter()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }
}

pub(crate) fn is_snake_case(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "resources:\n  organization:\n    title: t\n    path: /v1.0/organization\n    kind: collection\n    permission: Organization.Read.All\n";

    fn parse(extra: &str) -> Result<Registry, Diagnostic> {
        Registry::parse(Path::new("resources.yaml"), &format!("{BASE}{extra}"))
    }

    #[test]
    fn read_if_and_fallback_on_400_are_read_as_data() {
        let registry = parse(
            "  sites:\n    title: s\n    path: /v1.0/sites/getAllSites\n    kind: collection\n    permission: Sites.Read.All\n    \
             read_if: {resource: organization, path: \"$.value[?@.isMultipleDataLocationsForServicesEnabled == true]\"}\n  \
             details:\n    title: d\n    path: /v1.0/reports/x\n    query: {\"$top\": \"999\"}\n    fallback_on_400: [\"$top\"]\n    kind: collection\n    permission: AuditLog.Read.All\n",
        )
        .expect("parses");
        let sites = registry.get("sites").expect("sites");
        assert_eq!(
            sites.read_if.as_ref().map(|r| r.resource.as_str()),
            Some("organization")
        );
        assert_eq!(
            registry.get("details").map(|d| d.fallback_on_400.clone()),
            Some(vec!["$top".to_owned()])
        );
    }

    #[test]
    fn a_read_if_on_an_unknown_resource_or_a_fallback_key_not_sent_is_refused() {
        let err = parse("  sites:\n    title: s\n    path: /v1.0/sites\n    kind: collection\n    permission: p\n    read_if: {resource: organisation, path: $.value}\n")
            .expect_err("refused");
        assert!(
            err.to_string()
                .contains("read_if names unknown resource 'organisation'"),
            "{err}"
        );
        let err = parse("  details:\n    title: d\n    path: /v1.0/x\n    kind: collection\n    permission: p\n    fallback_on_400: [\"$top\"]\n")
            .expect_err("refused");
        assert!(
            err.to_string().contains("which its query does not send"),
            "{err}"
        );
    }

    #[test]
    fn a_fan_out_may_take_its_id_in_the_query() {
        let registry = parse(
            "  pim:\n    title: p\n    path: /v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances\n    \
             query: {\"$filter\": \"groupId eq '{id}'\"}\n    kind: collection\n    permission: p\n    \
             for_each: {resource: organization, ids: \"$.value[*].id\"}\n",
        );
        assert!(registry.is_ok(), "{registry:?}");
        let err = parse("  pim:\n    title: p\n    path: /v1.0/x\n    kind: collection\n    permission: p\n    for_each: {resource: organization, ids: \"$.value[*].id\"}\n")
            .expect_err("refused");
        assert!(err.to_string().contains("in its path or query"), "{err}");
    }
}

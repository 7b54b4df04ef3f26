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
                if !spec.path.contains("{id}") {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!(
                            "resource '{name}': a for_each resource needs '{{id}}' in its path"
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

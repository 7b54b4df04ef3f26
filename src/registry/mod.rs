//! The resource registry: every read cloudkeur may make (Microsoft Graph, and the Exchange Online,
//! Security & Compliance and Teams admin APIs), loaded from `policies/resources.yaml`.
//!
//! Connectors read it to know what to request, snapshots to know how a body is shaped, policies
//! to check that a resource exists, and `cloudkeur permissions` to list what the app needs.
//! One file, so the four can never disagree.

mod service;

pub use service::{Cmdlet, Service, is_parameter_name};

use crate::diag::{Diagnostic, locate_key, parse_yaml};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// How a resource's body is shaped, as the snapshot stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// One settings object. Graph documents some of these wrapped as `{"value": {...}}`.
    Object,
    /// A list: `{"value": [every item]}` (a fan-out: `{"<id>": {"value": [...]}}`), whatever
    /// form the service sent it in (Graph's pages, the admin APIs' pages, Teams' bare array):
    /// each connector stores its service's answer this way.
    Collection,
}

impl ResourceKind {
    /// A body as the rules are written against it. A settings object that Graph wrapped as
    /// `{"value": {...}}` (beside nothing but `@odata.*` annotations) is unwrapped; a
    /// collection must carry its `value` array (or be a fan-out of them). Anything else is a
    /// body the rules do not understand: the reason why.
    pub fn normalize(self, body: Value) -> Result<Value, String> {
        match self {
            ResourceKind::Object => match body {
                Value::Object(mut map)
                    if map.get("value").is_some_and(Value::is_object)
                        && map.keys().all(|k| k == "value" || k.starts_with("@odata")) =>
                {
                    Ok(map.remove("value").unwrap_or(Value::Null))
                }
                Value::Object(map) => Ok(Value::Object(map)),
                other => Err(format!(
                    "expected a JSON object for a settings resource, found {}",
                    shape(&other)
                )),
            },
            ResourceKind::Collection => match &body {
                Value::Object(map) if map.get("value").is_some_and(Value::is_array) => Ok(body),
                Value::Object(map) if map.values().all(is_collection) => Ok(body),
                other => Err(format!(
                    "expected a collection body with a `value` array, found {}",
                    shape(other)
                )),
            },
        }
    }
}

/// A fan-out resource stores one collection per parent id: `{"<id>": {"value": [...]}}`.
fn is_collection(value: &Value) -> bool {
    value.get("value").is_some_and(Value::is_array)
}

/// What a body is, for the reason it is refused.
fn shape(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "an object without a `value` array",
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
    }
}

/// The member a directory object names its type by, and the type of a group: a fan-out of group
/// members (Graph's `/groups/{id}/transitiveMembers`) lists nested groups beside users, and a
/// rule that expands groups (`expand_groups`) tells them apart by it.
pub const TYPE_MEMBER: &str = "@odata.type";
const GROUP_TYPE: &str = "#microsoft.graph.group";

/// Whether a directory object (a group member, an assignment's principal) is a group.
pub fn is_group(value: &Value) -> bool {
    value.get(TYPE_MEMBER).and_then(Value::as_str) == Some(GROUP_TYPE)
}

/// A read repeated once per id selected from another resource (e.g. members of each group).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOut {
    pub resource: String,
    /// RFC 9535 JSONPath selecting the ids that fill `{id}` in the path.
    pub ids: String,
    /// The selected values carry this prefix before the id (Google's Policy API names a group
    /// `groups/{id}`): only values that start with it are ids, with the prefix removed; others
    /// (an empty group, a special group name) are not read.
    #[serde(default)]
    pub id_prefix: Option<String>,
}

impl FanOut {
    /// The id a selected value stands for: the value itself, or without `id_prefix` (`None`
    /// when it lacks the prefix or nothing follows it).
    pub fn id_of<'a>(&self, selected: &'a str) -> Option<&'a str> {
        match &self.id_prefix {
            None => Some(selected),
            Some(prefix) => selected
                .strip_prefix(prefix.as_str())
                .filter(|id| !id.is_empty()),
        }
    }
}

/// A read made only when another resource says it is needed (least privilege: e.g. every site
/// only for a multi-geo tenant).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadIf {
    /// The resource that decides; it is read first (and the read waits for it).
    pub resource: String,
    /// RFC 9535 JSONPath over that resource's body as stored in the snapshot: the read is needed
    /// when it selects at least one value. When that resource could not be read, the read is
    /// made anyway (fail safe).
    pub path: String,
    /// When the read is needed, in words (`cloudkeur permissions`, the manifest's reason for a
    /// skipped read), e.g. "the tenant is multi-geo".
    #[serde(default)]
    pub when: Option<String>,
}

impl ReadIf {
    /// The condition in words: `when`, else the path.
    pub fn condition(&self) -> String {
        match &self.when {
            Some(when) => when.clone(),
            None => format!("{} has a value at {}", self.resource, self.path),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub title: String,
    /// The service that answers (default: Microsoft Graph).
    #[serde(default)]
    pub service: Service,
    /// Path relative to the service's base URL: for Graph starting with the API version
    /// (`/v1.0/...`), for Teams `/Skype.Policy/...`. Empty for a cmdlet.
    #[serde(default)]
    pub path: String,
    /// For Exchange and Security & Compliance: the read-only cmdlet to invoke.
    #[serde(default)]
    pub cmdlet: Option<Cmdlet>,
    /// The cmdlet's parameters (names without `-`; scalar values only).
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Query keys (e.g. `$top`) dropped when the service answers 400 to the request: the read
    /// is then made once more without them (default page size), and the snapshot says so.
    #[serde(default)]
    pub fallback_on_400: Vec<String>,
    /// Read only when another resource says so.
    #[serde(default)]
    pub read_if: Option<ReadIf>,
    pub kind: ResourceKind,
    /// For a Google collection: the member of each page that holds the items (`users`,
    /// `items`, `policies`, …). The connector stores them as `{"value": [...]}` like every
    /// collection.
    #[serde(default)]
    pub items: Option<String>,
    /// Computed by cloudkeur from these resources before evaluation, never read from a service
    /// (e.g. Google's effective setting per org unit, from the raw policies). The snapshot keeps
    /// only what the services said; a derived resource is made again at every evaluation.
    #[serde(default)]
    pub derived_from: Vec<String>,
    /// The least-privileged application permission (for Google: the read-only OAuth scope) that
    /// allows this read. Empty for a derived resource.
    #[serde(default)]
    pub permission: String,
    #[serde(default)]
    pub for_each: Option<FanOut>,
    /// Read the first page only and do not follow `@odata.nextLink` (a probe such as the
    /// most recent sign-in, where following the link would walk a whole log).
    #[serde(default)]
    pub first_page_only: bool,
    #[serde(default)]
    pub docs: Option<String>,
}

impl ResourceSpec {
    /// The request as a person reads it: `GET /v1.0/...?$select=...`, or for a cmdlet
    /// `InvokeCommand Get-Label -IncludeDetailedLabelActions true`.
    pub fn request_line(&self) -> String {
        match self.cmdlet {
            Some(cmdlet) => cmdlet_line(cmdlet, &self.parameters),
            None => request_line(&self.path, &self.query),
        }
    }

    /// The resources that must be read before this one: a fan-out's parent, a `read_if`'s
    /// deciding resource, a derived resource's inputs.
    pub fn depends_on(&self) -> impl Iterator<Item = &str> {
        let fan_out = self.for_each.as_ref().map(|f| f.resource.as_str());
        let read_if = self.read_if.as_ref().map(|r| r.resource.as_str());
        let derived = self.derived_from.iter().map(String::as_str);
        fan_out.into_iter().chain(read_if).chain(derived)
    }

    /// Computed by cloudkeur from other resources rather than read from a service.
    pub fn is_derived(&self) -> bool {
        !self.derived_from.is_empty()
    }

    /// A derived resource has no request of its own: no path, query, cmdlet, fan-out,
    /// condition or permission, and it is a list (of rows); its inputs are the ones cloudkeur's
    /// code derives it from, so the registry cannot claim other sources than are used.
    fn validate_derived(&self, name: &str) -> Result<(), (String, &'static str)> {
        let Some(inputs) = crate::google::derived_inputs(name) else {
            return Err((
                format!("resource '{name}': cloudkeur derives no resource of this name"),
                "leave derived_from out and give the request, or name a resource cloudkeur derives (e.g. google_effective_settings)",
            ));
        };
        let listed: Vec<&str> = self.derived_from.iter().map(String::as_str).collect();
        if listed != inputs {
            return Err((
                format!(
                    "resource '{name}': derived_from lists {listed:?}, but cloudkeur derives it from {inputs:?}"
                ),
                "list exactly the resources cloudkeur reads to derive it",
            ));
        }
        if !self.path.is_empty()
            || !self.query.is_empty()
            || self.cmdlet.is_some()
            || self.for_each.is_some()
            || self.read_if.is_some()
            || self.items.is_some()
            || !self.permission.is_empty()
            || self.kind != ResourceKind::Collection
        {
            return Err((
                format!(
                    "resource '{name}': a derived resource is not read, so it takes no path, query, cmdlet, for_each, read_if, items or permission"
                ),
                "keep title, service, kind: collection, derived_from and docs only",
            ));
        }
        Ok(())
    }

    /// A Google read: a path (Directory `/admin/directory/v1/...`, Policy API `/v1/policies`),
    /// `{customer}` standing for the customer, `items` naming the member that holds a
    /// collection's items, and no Graph-only options.
    fn validate_google(&self, name: &str) -> Result<(), (String, &'static str)> {
        match (self.kind, &self.items) {
            (ResourceKind::Collection, None) => {
                return Err((
                    format!(
                        "resource '{name}': a Google collection names the member that holds its items"
                    ),
                    "add `items: users` (or `items`, `policies`, … as the API's list response calls it)",
                ));
            }
            (ResourceKind::Object, Some(_)) => {
                return Err((
                    format!("resource '{name}': a settings object has no items member"),
                    "leave `items` out, or write `kind: collection`",
                ));
            }
            _ => {}
        }
        if !self.fallback_on_400.is_empty() {
            return Err((
                format!("resource '{name}': fallback_on_400 is for Microsoft Graph's $top"),
                "leave fallback_on_400 out; Google's page sizes are documented",
            ));
        }
        Ok(())
    }

    /// The request form fits the service: a path for Graph and Teams, a cmdlet of that very
    /// service (and scalar parameters) for Exchange and Security & Compliance.
    fn validate_request(&self, name: &str) -> Result<(), (String, &'static str)> {
        let service = self.service;
        if self.is_derived() {
            return self.validate_derived(name);
        }
        if self.permission.is_empty() {
            return Err((
                format!("resource '{name}': no permission"),
                "name the least-privileged permission (for Google, the read-only OAuth scope) that allows the read",
            ));
        }
        if self.items.is_some() && service.vendor() != crate::vendor::Vendor::Google {
            return Err((
                format!("resource '{name}': `items` is for Google's list responses"),
                "leave `items` out: a Microsoft collection is read from `value`",
            ));
        }
        if service.vendor() == crate::vendor::Vendor::Google {
            self.validate_google(name)?;
        } else if self
            .for_each
            .as_ref()
            .is_some_and(|f| f.id_prefix.is_some())
        {
            return Err((
                format!("resource '{name}': for_each.id_prefix is for Google's prefixed names"),
                "leave id_prefix out: Microsoft Graph ids are GUIDs",
            ));
        }
        if service.invokes_cmdlets() {
            let Some(cmdlet) = self.cmdlet else {
                return Err((
                    format!(
                        "resource '{name}': service {service} is read by a cmdlet, and none is named"
                    ),
                    "add `cmdlet: Get-...` (one of the read-only cmdlets cloudkeur knows)",
                ));
            };
            if cmdlet.service() != service {
                return Err((
                    format!(
                        "resource '{name}': {cmdlet} runs on service {}, not {service}",
                        cmdlet.service()
                    ),
                    "set `service:` to the service the cmdlet belongs to",
                ));
            }
            if !self.path.is_empty() || !self.query.is_empty() || self.for_each.is_some() {
                return Err((
                    format!("resource '{name}': a cmdlet read takes no path, query or for_each"),
                    "leave path, query and for_each out; give cmdlet parameters under `parameters:`",
                ));
            }
            if let Some(parameter) = self.parameters.keys().find(|name| !is_parameter_name(name)) {
                return Err((
                    format!("resource '{name}': '{parameter}' is not a cmdlet parameter name"),
                    "write the parameter's name without '-', letters and digits only, e.g. IncludeDetailedLabelActions",
                ));
            }
            if self.kind != ResourceKind::Collection {
                return Err((
                    format!("resource '{name}': a cmdlet's output is a list, even of one object"),
                    "write `kind: collection`; policies read it as $.value[0]...",
                ));
            }
            if let Some((parameter, _)) = self
                .parameters
                .iter()
                .find(|(_, value)| value.is_array() || value.is_object() || value.is_null())
            {
                return Err((
                    format!(
                        "resource '{name}': parameter '{parameter}' is not a string, number or boolean"
                    ),
                    "give each cmdlet parameter a scalar value, e.g. IncludeDetailedLabelActions: true",
                ));
            }
            return Ok(());
        }
        if let Some(cmdlet) = self.cmdlet {
            return Err((
                format!("resource '{name}': service {service} does not take a cmdlet ({cmdlet})"),
                "set `service: exchange` or `service: compliance`, or give a path instead",
            ));
        }
        if !self.parameters.is_empty() {
            return Err((
                format!(
                    "resource '{name}': parameters are for cmdlets; service {service} takes a query"
                ),
                "put query options under `query:`",
            ));
        }
        if service == Service::Teams
            && (self.kind != ResourceKind::Collection
                || self.for_each.is_some()
                || !self.fallback_on_400.is_empty()
                || self.first_page_only)
        {
            return Err((
                format!("resource '{name}': the Teams admin API answers a list, read whole"),
                "write `kind: collection`, without for_each, fallback_on_400 or first_page_only",
            ));
        }
        if !self.path.starts_with('/') {
            return Err((
                format!(
                    "resource '{name}': path '{}' does not start with '/'",
                    self.path
                ),
                "write the path relative to the service's base URL, e.g. /v1.0/admin/reportSettings",
            ));
        }
        Ok(())
    }
}

/// `InvokeCommand Get-X -Name value …` as a person reads it.
pub fn cmdlet_line(cmdlet: Cmdlet, parameters: &BTreeMap<String, Value>) -> String {
    let mut line = format!("InvokeCommand {cmdlet}");
    for (name, value) in parameters {
        line.push_str(" -");
        line.push_str(name);
        line.push(' ');
        match value {
            Value::String(text) => line.push_str(text),
            other => line.push_str(&other.to_string()),
        }
    }
    line
}

/// `GET path?key=value&…` as a person reads it (the query not encoded).
pub fn request_line(path: &str, query: &BTreeMap<String, String>) -> String {
    let mut line = format!("GET {path}");
    for (i, (key, value)) in query.iter().enumerate() {
        line.push(if i == 0 { '?' } else { '&' });
        line.push_str(key);
        line.push('=');
        line.push_str(value);
    }
    line
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
            spec.validate_request(name)
                .map_err(|(message, fix)| Diagnostic::new(file, at(), message).with_fix(fix))?;
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
            if !spec.fallback_on_400.is_empty() && spec.for_each.is_some() {
                return Err(Diagnostic::new(
                    file,
                    at(),
                    format!(
                        "resource '{name}': fallback_on_400 is not supported on a for_each resource"
                    ),
                )
                .with_fix(
                    "leave the query key out of this fan-out, or read the resource directly",
                ));
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
                if read_if.resource == *name {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!("resource '{name}': read_if names the resource itself"),
                    )
                    .with_fix("name the resource that says whether this one is needed, e.g. read_if: {resource: organization, path: ...}"));
                }
                if let Err(err) = jsonpath_rust::parser::parse_json_path(&read_if.path) {
                    return Err(Diagnostic::new(
                        file,
                        at(),
                        format!("resource '{name}': read_if.path is not valid JSONPath: {err}"),
                    )
                    .with_fix("write an RFC 9535 JSONPath such as $.value[?@.isMultipleDataLocationsForServicesEnabled == true]"));
                }
            }
            for input in &spec.derived_from {
                match self.resources.get(input) {
                    None => {
                        return Err(Diagnostic::new(
                            file,
                            at(),
                            format!(
                                "resource '{name}': derived_from names unknown resource '{input}'"
                            ),
                        )
                        .with_fix("name a resource defined in this file"));
                    }
                    Some(input_spec) if input_spec.is_derived() => {
                        return Err(Diagnostic::new(
                            file,
                            at(),
                            format!(
                                "resource '{name}': derived_from names '{input}', itself derived"
                            ),
                        )
                        .with_fix("derive from resources that are read"));
                    }
                    Some(_) => {}
                }
            }
            if let Some(cycle) = self.dependency_cycle(name) {
                return Err(Diagnostic::new(
                    file,
                    at(),
                    format!("resource '{name}' waits for itself: {}", cycle.join(" → ")),
                )
                .with_fix(
                    "a for_each or read_if must not lead back to the resource that names it",
                ));
            }
        }
        Ok(())
    }

    /// The chain of for_each / read_if dependencies from `start` back to `start`, if there is
    /// one (such a resource could never be read).
    fn dependency_cycle(&self, start: &str) -> Option<Vec<String>> {
        let mut path = vec![start.to_owned()];
        self.find_cycle(
            start,
            start,
            &mut path,
            &mut std::collections::BTreeSet::new(),
        )
        .then_some(path)
    }

    fn find_cycle(
        &self,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut std::collections::BTreeSet<String>,
    ) -> bool {
        let Some(spec) = self.resources.get(at) else {
            return false;
        };
        for next in spec.depends_on() {
            path.push(next.to_owned());
            if next == start {
                return true;
            }
            if seen.insert(next.to_owned()) && self.find_cycle(start, next, path, seen) {
                return true;
            }
            path.pop();
        }
        false
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

    const BASE: &str = r#"
resources:
  organization:
    title: t
    path: /v1.0/organization
    kind: collection
    permission: Organization.Read.All
  groups:
    title: t
    path: /v1.0/groups
    query: {"$top": "999"}
    kind: collection
    permission: Group.Read.All
"#;

    fn parse(extra: &str) -> Result<Registry, String> {
        Registry::parse(Path::new("resources.yaml"), &format!("{BASE}{extra}"))
            .map_err(|d| d.to_string())
    }

    #[test]
    fn fallback_on_400_names_keys_of_the_query_of_a_direct_read() {
        let ok = parse(
            "  users:\n    title: t\n    path: /v1.0/users\n    query: {\"$top\": \"999\"}\n    fallback_on_400: [\"$top\"]\n    kind: collection\n    permission: User.Read.All\n",
        );
        assert_eq!(
            ok.unwrap().get("users").unwrap().fallback_on_400,
            ["$top".to_owned()]
        );
        let err = parse(
            "  users:\n    title: t\n    path: /v1.0/users\n    fallback_on_400: [\"$top\"]\n    kind: collection\n    permission: User.Read.All\n",
        )
        .unwrap_err();
        assert!(
            err.contains("'$top', which its query does not send"),
            "{err}"
        );
        let err = parse(
            "  members:\n    title: t\n    path: /v1.0/groups/{id}/members\n    query: {\"$top\": \"999\"}\n    fallback_on_400: [\"$top\"]\n    for_each: {resource: groups, ids: \"$.value[*].id\"}\n    kind: collection\n    permission: GroupMember.Read.All\n",
        )
        .unwrap_err();
        assert!(err.contains("not supported on a for_each"), "{err}");
    }

    #[test]
    fn read_if_names_another_resource_with_a_valid_path_and_no_cycle() {
        let sites = |read_if: &str| {
            format!(
                "  sites:\n    title: t\n    path: /v1.0/sites/getAllSites\n    kind: collection\n    permission: Sites.Read.All\n    read_if: {read_if}\n"
            )
        };
        let ok = parse(&sites(
            "{resource: organization, path: \"$.value[?@.isMultipleDataLocationsForServicesEnabled == true]\"}",
        ))
        .unwrap();
        let read_if = ok.get("sites").unwrap().read_if.clone().unwrap();
        assert_eq!(
            read_if.condition(),
            "organization has a value at $.value[?@.isMultipleDataLocationsForServicesEnabled == true]"
        );
        assert_eq!(
            ok.get("sites").unwrap().depends_on().collect::<Vec<_>>(),
            ["organization"]
        );
        for (read_if, problem) in [
            (
                "{resource: nowhere, path: \"$.value\"}",
                "read_if names unknown resource 'nowhere'",
            ),
            (
                "{resource: sites, path: \"$.value\"}",
                "read_if names the resource itself",
            ),
            (
                "{resource: organization, path: \"$.value[\"}",
                "not valid JSONPath",
            ),
        ] {
            let err = parse(&sites(read_if)).unwrap_err();
            assert!(err.contains(problem), "{read_if}: {err}");
        }
        // groups waits for sites, sites for groups: neither could ever be read.
        let cycle = BASE.replace(
            "    permission: Group.Read.All\n",
            "    permission: Group.Read.All\n    read_if: {resource: sites, path: \"$.value\"}\n",
        ) + &sites("{resource: groups, path: \"$.value\"}");
        let err = Registry::parse(Path::new("resources.yaml"), &cycle)
            .unwrap_err()
            .to_string();
        assert!(err.contains("waits for itself"), "{err}");
    }

    #[test]
    fn a_cmdlet_read_names_a_known_cmdlet_of_its_own_service() {
        let entry = |body: &str| {
            format!(
                "  audit:\n    title: t\n{body}    kind: collection\n    permission: Exchange.ManageAsApp\n"
            )
        };
        let ok = parse(&entry(
            "    service: compliance\n    cmdlet: Get-Label\n    parameters: {IncludeDetailedLabelActions: true}\n",
        ))
        .unwrap();
        assert_eq!(
            ok.get("audit").unwrap().request_line(),
            "InvokeCommand Get-Label -IncludeDetailedLabelActions true"
        );
        for (body, problem) in [
            (
                "    service: exchange\n    cmdlet: Set-AdminAuditLogConfig\n",
                "unknown variant",
            ),
            (
                "    service: exchange\n    cmdlet: get-adminauditlogconfig\n",
                "unknown variant",
            ),
            ("    service: exchange\n", "none is named"),
            (
                "    service: compliance\n    cmdlet: Get-AdminAuditLogConfig\n",
                "runs on service exchange, not compliance",
            ),
            (
                "    service: exchange\n    cmdlet: Get-AdminAuditLogConfig\n    path: /x\n",
                "takes no path",
            ),
            (
                "    service: exchange\n    cmdlet: Get-AdminAuditLogConfig\n    parameters: {Identity: [a]}\n",
                "not a string, number or boolean",
            ),
            (
                "    path: /v1.0/x\n    cmdlet: Get-Label\n",
                "does not take a cmdlet",
            ),
            (
                "    service: teams\n    path: Skype.Policy/x\n",
                "does not start with '/'",
            ),
            (
                "    service: compliance\n    cmdlet: Get-Label\n    parameters: {Include-Detailed: true}\n",
                "not a cmdlet parameter name",
            ),
            (
                "    service: teams\n    path: /Skype.Policy/configurations/TeamsMeetingPolicy\n    first_page_only: true\n",
                "read whole",
            ),
        ] {
            let err = parse(&entry(body)).unwrap_err();
            assert!(err.contains(problem), "{body}: {err}");
        }
        let object = "  audit:\n    title: t\n    service: exchange\n    cmdlet: Get-AdminAuditLogConfig\n    kind: object\n    permission: Exchange.ManageAsApp\n";
        let err = parse(object).unwrap_err();
        assert!(err.contains("a list, even of one object"), "{err}");
    }

    #[test]
    fn a_group_is_told_by_its_type_annotation() {
        use serde_json::json;
        assert!(is_group(
            &json!({"@odata.type": "#microsoft.graph.group", "id": "g"})
        ));
        for other in [
            json!({"@odata.type": "#microsoft.graph.user", "id": "u"}),
            json!({"id": "g"}),
            json!("755adf71-9fd6-5248-b53e-b677544ec819"),
        ] {
            assert!(!is_group(&other), "{other}");
        }
    }

    #[test]
    fn a_google_read_names_its_items_and_a_derived_resource_what_cloudkeur_derives_it_from() {
        let policies = "  google_policies:\n    title: t\n    service: google_policy\n    path: /v1/policies\n    kind: collection\n    items: policies\n    permission: https://www.googleapis.com/auth/cloud-identity.policies.readonly\n";
        let units = "  google_org_units:\n    title: t\n    service: google_directory\n    path: /admin/directory/v1/customer/{customer}/orgunits\n    kind: collection\n    items: organizationUnits\n    permission: p\n  google_groups:\n    title: t\n    service: google_directory\n    path: /admin/directory/v1/groups\n    kind: collection\n    items: groups\n    permission: p\n";
        let derived = |from: &str| {
            format!(
                "  google_effective_settings:\n    title: t\n    service: google_policy\n    kind: collection\n    derived_from: {from}\n"
            )
        };
        let ok = parse(&format!(
            "{policies}{units}{}",
            derived("[google_policies, google_org_units, google_groups]")
        ))
        .unwrap();
        let spec = ok.get("google_effective_settings").unwrap();
        assert!(spec.is_derived());
        assert_eq!(
            spec.depends_on().collect::<Vec<_>>(),
            ["google_policies", "google_org_units", "google_groups"]
        );
        for (extra, problem) in [
            (
                policies.replace("    items: policies\n", ""),
                "names the member that holds its items",
            ),
            (
                "  users2:\n    title: t\n    path: /v1.0/users\n    kind: collection\n    items: users\n    permission: User.Read.All\n".to_owned(),
                "`items` is for Google's list responses",
            ),
            (
                format!("{policies}{units}{}", derived("[google_policies, google_org_units]")),
                "but cloudkeur derives it from",
            ),
            (
                format!("{policies}{units}{}", derived("[google_policies, google_org_units, google_groups]").replace("derived_from", "path: /x\n    derived_from")),
                "takes no path",
            ),
            (
                "  mine:\n    title: t\n    kind: collection\n    derived_from: [organization]\n".to_owned(),
                "cloudkeur derives no resource of this name",
            ),
            (
                "  members:\n    title: t\n    path: /v1.0/groups/{id}/members\n    kind: collection\n    permission: p\n    for_each: {resource: groups, ids: \"$.value[*].id\", id_prefix: \"groups/\"}\n".to_owned(),
                "id_prefix is for Google",
            ),
            (
                "  nothing:\n    title: t\n    path: /v1.0/x\n    kind: object\n".to_owned(),
                "no permission",
            ),
        ] {
            let err = parse(&extra).unwrap_err();
            assert!(err.contains(problem), "{extra}: {err}");
        }
    }

    #[test]
    fn a_prefixed_fan_out_reads_only_values_with_the_prefix() {
        let fan_out = FanOut {
            resource: "google_policies".into(),
            ids: "$.value[*].policyQuery.group".into(),
            id_prefix: Some("groups/".into()),
        };
        assert_eq!(fan_out.id_of("groups/02xcytpi"), Some("02xcytpi"));
        for skipped in ["", "groups/", "WORKSPACE_ALL_ADMIN_GROUP"] {
            assert_eq!(fan_out.id_of(skipped), None, "{skipped}");
        }
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
        assert!(err.contains("in its path or query"), "{err}");
    }
}

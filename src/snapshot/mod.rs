//! Snapshots: plain data of what the tenant's API said, one entry per named resource.
//!
//! Everything evaluation needs comes from here, so any scan can be replayed offline from its
//! snapshot directory. A resource that could not be read is kept as [`ResourceData::Unreadable`]
//! with its reason; it is never dropped or replaced by an empty body, which would let a policy pass
//! on data nobody saw.

mod manifest;
mod overlay;
mod projection;
mod read;
mod seal;
mod write;

pub use manifest::{MANIFEST_FILE, Manifest, ResourceEntry, ResourceStatus, SNAPSHOT_FORMAT};
pub use overlay::{apply_overlay, overlay_files};
pub use projection::{Layout, Projection, project};
pub use read::{SnapshotError, read_dir};
pub use seal::seal_dir;
pub use write::{
    Collected, Collection, EncodedSnapshot, WriteError, encode, remove_written_snapshot,
};

use crate::registry::ResourceKind;
use serde_json::Value;
use std::collections::BTreeMap;

/// The resources a scan reads, each with what it keeps of the items.
pub type Wanted = BTreeMap<String, Projection>;

/// Every resource kept whole: what the archive, the change gate and tests compare.
pub fn whole<'a>(names: impl IntoIterator<Item = &'a String>) -> Wanted {
    names
        .into_iter()
        .map(|name| (name.clone(), Projection::Whole))
        .collect()
}

/// What is known about the scanned tenant and the collection itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub source: String,
    pub collected_at: String,
    /// SHA-256 of manifest.json; empty for snapshots built in memory (policy examples).
    pub manifest_sha256: String,
}

/// One resource's content, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceData {
    Read(Value),
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub meta: SnapshotMeta,
    resources: BTreeMap<String, ResourceData>,
}

impl Snapshot {
    pub fn new(meta: SnapshotMeta) -> Self {
        Snapshot {
            meta,
            resources: BTreeMap::new(),
        }
    }

    /// Adds a resource body as received, reading a wrapped single object like a plain one.
    pub fn insert_read(&mut self, name: impl Into<String>, kind: ResourceKind, body: Value) {
        let name = name.into();
        let data = match normalize_body(kind, body) {
            Ok(body) => ResourceData::Read(body),
            Err(reason) => ResourceData::Unreadable(reason),
        };
        self.resources.insert(name, data);
    }

    pub fn insert_unreadable(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.resources
            .insert(name.into(), ResourceData::Unreadable(reason.into()));
    }

    /// `None` means the resource was never collected, which evaluation treats as an error too.
    pub fn resource(&self, name: &str) -> Option<&ResourceData> {
        self.resources.get(name)
    }

    pub fn resource_names(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }
}

/// Graph documents some single-object settings both plain and as `{"value": {...}}`; policies
/// are written against the plain object. A collection must carry its `value` array: anything
/// else is a body we do not understand, and so unreadable.
fn normalize_body(kind: ResourceKind, body: Value) -> Result<Value, String> {
    match kind {
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
                json_type(&other)
            )),
        },
        ResourceKind::Collection => match &body {
            Value::Object(map) if map.get("value").is_some_and(Value::is_array) => Ok(body),
            Value::Object(map) if map.values().all(is_collection) => Ok(body),
            other => Err(format!(
                "expected a collection body with a `value` array, found {}",
                json_type(other)
            )),
        },
    }
}

/// A fan-out resource stores one collection per parent id: `{"<id>": {"value": [...]}}`.
fn is_collection(value: &Value) -> bool {
    value.get("value").is_some_and(Value::is_array)
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object without a `value` array",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapped_settings_object_reads_like_plain_one() {
        let wrapped = json!({"@odata.context": "x", "value": {"displayConcealedNames": true}});
        let plain = json!({"displayConcealedNames": true});
        assert_eq!(
            normalize_body(ResourceKind::Object, wrapped),
            Ok(plain.clone())
        );
        assert_eq!(
            normalize_body(ResourceKind::Object, plain.clone()),
            Ok(plain)
        );
    }

    #[test]
    fn collection_without_value_array_is_unreadable() {
        let reason = normalize_body(ResourceKind::Collection, json!({"error": {"code": "x"}}));
        assert!(reason.is_err_and(|r| r.contains("`value` array")));
    }

    #[test]
    fn settings_resource_that_is_not_an_object_is_unreadable() {
        assert!(normalize_body(ResourceKind::Object, json!([1, 2])).is_err());
    }
}

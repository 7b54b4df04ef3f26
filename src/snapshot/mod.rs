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
pub use projection::{Layout, Member, Members, Projection, project, project_item};
pub use read::{SnapshotError, read_dir};
pub use seal::seal_dir;
pub use write::{
    Collected, Collection, CollectionHasher, EncodedSnapshot, FileSha256, WriteError, encode,
    encode_owned, remove_written_snapshot,
};

use crate::registry::ResourceKind;
use crate::vendor::Vendor;
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
    /// The read failed or its body cannot be trusted: a server error, a timeout, a body that is
    /// not JSON or not of the registry's shape, a file altered after collection.
    Unreadable(String),
    /// The read was not made, or was refused for good: the service answered 401 or 403 (no
    /// licence, permission or role), or the scan did not read it (not needed, service not
    /// selected). Every check on it is an error, as for `Unreadable`; only here may a
    /// declaration stand in for the measurement ("measured, else declared"). A resource that
    /// is not in the snapshot at all (collected before cloudkeur read it) counts the same.
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub meta: SnapshotMeta,
    /// The suite it was read from (the manifest's `vendor`): only that vendor's policies judge it.
    vendor: Vendor,
    resources: BTreeMap<String, ResourceData>,
}

impl Snapshot {
    /// An empty snapshot of a Microsoft 365 tenant (see [`Snapshot::set_vendor`]).
    pub fn new(meta: SnapshotMeta) -> Self {
        Snapshot {
            meta,
            vendor: Vendor::default(),
            resources: BTreeMap::new(),
        }
    }

    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    pub fn set_vendor(&mut self, vendor: Vendor) {
        self.vendor = vendor;
    }

    /// Adds a resource body as received, reading a wrapped single object like a plain one.
    /// A collection whose items are not all objects is unreadable: see [`check_items`].
    pub fn insert_read(&mut self, name: impl Into<String>, kind: ResourceKind, body: Value) {
        let name = name.into();
        let data = match kind
            .normalize(body)
            .and_then(|body| check_items(&name, body))
        {
            Ok(body) => ResourceData::Read(body),
            Err(reason) => ResourceData::Unreadable(reason),
        };
        self.resources.insert(name, data);
    }

    pub fn insert_unreadable(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.resources
            .insert(name.into(), ResourceData::Unreadable(reason.into()));
    }

    /// A resource this scan did not or could not get for good (see [`ResourceData::Unavailable`]).
    pub fn insert_unavailable(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.resources
            .insert(name.into(), ResourceData::Unavailable(reason.into()));
    }

    /// `None` means the resource was never collected, which evaluation treats as an error too.
    pub fn resource(&self, name: &str) -> Option<&ResourceData> {
        self.resources.get(name)
    }

    pub fn resource_names(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }
}

/// Every item of a collection (of every parent's collection, for a fan-out) must be a JSON
/// object: the registry's collections are lists of objects (Graph entities, the objects a cmdlet
/// returned, Teams configurations). An item that is `null`, a
/// string, a number or a list is data the rules do not understand; judged as it is, it would
/// satisfy a `none` check (nothing in it matches) and turn a `fail` into a `pass`. So the whole
/// resource is unreadable, with the first such item named, and every check on it is an error.
fn check_items(name: &str, body: Value) -> Result<Value, String> {
    let lists: Vec<(Option<&String>, &Vec<Value>)> = match &body {
        Value::Object(map) => match map.get("value") {
            Some(Value::Array(items)) => vec![(None, items)],
            _ => map
                .iter()
                .filter_map(|(id, entry)| Some((Some(id), entry.get("value")?.as_array()?)))
                .collect(),
        },
        _ => Vec::new(),
    };
    for (parent, items) in lists {
        if let Some((index, item)) = items.iter().enumerate().find(|(_, i)| !i.is_object()) {
            let parent = parent.map(|id| format!(" for {id}")).unwrap_or_default();
            return Err(format!(
                "{name}: item {index} of `value`{parent} is {}, not an object; a collection \
                 holds objects, so its items cannot be judged",
                kind_of(item)
            ));
        }
    }
    Ok(body)
}

/// The kind of a JSON value, as reasons name it ("null", "a string", ...).
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
        assert_eq!(ResourceKind::Object.normalize(wrapped), Ok(plain.clone()));
        assert_eq!(ResourceKind::Object.normalize(plain.clone()), Ok(plain));
    }

    #[test]
    fn collection_without_value_array_is_unreadable() {
        let reason = ResourceKind::Collection.normalize(json!({"error": {"code": "x"}}));
        assert!(reason.is_err_and(|r| r.contains("`value` array")));
    }

    /// Issue 15.1: `{"value":[null,null]}` satisfied a `none` check and passed.
    #[test]
    fn a_collection_item_that_is_not_an_object_makes_the_resource_unreadable() {
        for item in [json!(null), json!("x"), json!(3), json!([1]), json!(true)] {
            let mut snapshot = Snapshot::new(meta());
            let body = json!({"value": [{"id": "a"}, item]});
            snapshot.insert_read("users", ResourceKind::Collection, body);
            let Some(ResourceData::Unreadable(reason)) = snapshot.resource("users") else {
                panic!("read as readable: {item}");
            };
            assert!(reason.contains("item 1 of `value`"), "{reason}");
            assert!(reason.contains(kind_of(&item)), "{reason}");
        }
        let mut snapshot = Snapshot::new(meta());
        let fan_out = json!({"g1": {"value": [{"id": "u"}]}, "g2": {"value": [null]}});
        snapshot.insert_read("members", ResourceKind::Collection, fan_out);
        let Some(ResourceData::Unreadable(reason)) = snapshot.resource("members") else {
            panic!("fan-out with a null item read as readable");
        };
        assert!(reason.contains("for g2"), "{reason}");
        let mut snapshot = Snapshot::new(meta());
        snapshot.insert_read(
            "users",
            ResourceKind::Collection,
            json!({"value": [{"id": "a"}]}),
        );
        assert!(matches!(
            snapshot.resource("users"),
            Some(ResourceData::Read(_))
        ));
    }

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            tenant_id: "t".into(),
            tenant_name: None,
            source: "test".into(),
            collected_at: String::new(),
            manifest_sha256: String::new(),
        }
    }

    #[test]
    fn settings_resource_that_is_not_an_object_is_unreadable() {
        assert!(ResourceKind::Object.normalize(json!([1, 2])).is_err());
    }
}

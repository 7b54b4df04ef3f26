//! The snapshot directory's `manifest.json`: what was read, how it went, and each file's hash.

use crate::vendor::Vendor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const SNAPSHOT_FORMAT: &str = "cloudkeur.snapshot/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The suite the snapshot was read from. Absent means Microsoft 365, so snapshots written
    /// before there were two vendors read as before (and a Microsoft snapshot is written
    /// without it, so older cloudkeur versions still read it).
    #[serde(default, skip_serializing_if = "Vendor::is_default")]
    pub vendor: Vendor,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// `fixture`, `graph https://graph.microsoft.com`, …
    pub source: String,
    /// RFC 3339 time the collection finished.
    pub collected_at: String,
    pub resources: BTreeMap<String, ResourceEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Ok,
    Error,
    /// Deliberately not read: the registry's `read_if` said it was not needed (the `note` says
    /// why). To evaluation it is unreadable, with that reason.
    NotNeeded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEntry {
    pub status: ResourceStatus,
    /// The request as sent, e.g. `GET /v1.0/admin/reportSettings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// File name inside the snapshot directory (no directories), for `ok` resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Lowercase hex SHA-256 of the file's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Why the read failed, for `error` resources. Never holds a secret or token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How the read went where that matters to a reader of the snapshot: why a `not_needed`
    /// resource was not read, or that a request was repeated without some query parameters
    /// after the service refused them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

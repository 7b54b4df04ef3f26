//! Writes what a connector read as a snapshot directory, exactly as read: `manifest.json` with
//! each resource's status, HTTP status, page count, request, error, file and SHA-256, plus one
//! JSON file per resource that was read.
//!
//! The directory appears whole or not at all: everything is written into a temporary sibling
//! directory that is then renamed into place. It never writes a secret, because it is only ever
//! given data the tenant returned.

use super::manifest::{MANIFEST_FILE, Manifest, ResourceEntry, ResourceStatus, SNAPSHOT_FORMAT};
use super::projection::{Layout, project};
use super::read::failed_read_reason;
use super::{Snapshot, SnapshotMeta, Wanted};
use crate::digest::sha256_hex;
use crate::registry::Registry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One resource as a connector collected it.
#[derive(Debug, Clone, PartialEq)]
pub enum Collected {
    /// Read in full. A collection is `{"value": [every item of every page]}`; a fan-out is
    /// `{"<id>": {"value": [...]}}`; a settings object is as Graph returned it.
    Read {
        request: String,
        http_status: u16,
        pages: u32,
        body: Value,
        /// How the read went, when a reader of the snapshot should know (see
        /// [`ResourceEntry::note`]).
        note: Option<String>,
    },
    /// Not read; `error` says why (and names the missing permission for a 403).
    Failed {
        request: String,
        http_status: Option<u16>,
        error: String,
        note: Option<String>,
    },
    /// Deliberately not read, because another resource said it was not needed; `reason` says
    /// so. Evaluation treats it as unreadable with that reason.
    NotNeeded { request: String, reason: String },
}

/// Everything one collection run read.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    /// e.g. `graph https://graph.microsoft.com`.
    pub source: String,
    /// RFC 3339; filled in by whoever finishes the collection.
    pub collected_at: String,
    pub resources: BTreeMap<String, Collected>,
}

/// A collection as the bytes of a snapshot directory.
#[derive(Debug, Clone)]
pub struct EncodedSnapshot {
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    /// (file name, bytes, the body those bytes encode).
    files: Vec<(String, Vec<u8>)>,
    bodies: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "--snapshot-out {}: exists and is not a snapshot directory; name a new or empty directory, or a previous snapshot to replace",
        .0.display()
    )]
    NotASnapshot(PathBuf),
    #[error("--snapshot-out {}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Encodes the collection: pretty JSON per resource and a manifest with their hashes.
pub fn encode(collection: &Collection) -> EncodedSnapshot {
    let mut entries = BTreeMap::new();
    let mut files = Vec::new();
    let mut bodies = BTreeMap::new();
    for (name, collected) in &collection.resources {
        let entry = match collected {
            Collected::Read {
                request,
                http_status,
                pages,
                body,
                note,
            } => {
                let file = format!("{name}.json");
                let mut bytes = serde_json::to_vec_pretty(body).unwrap_or_default();
                bytes.push(b'\n');
                let entry = ResourceEntry {
                    status: ResourceStatus::Ok,
                    request: Some(request.clone()),
                    http_status: Some(*http_status),
                    pages: Some(*pages),
                    file: Some(file.clone()),
                    sha256: Some(sha256_hex(&bytes)),
                    error: None,
                    note: note.clone(),
                };
                files.push((file, bytes));
                bodies.insert(name.clone(), body.clone());
                entry
            }
            Collected::Failed {
                request,
                http_status,
                error,
                note,
            } => ResourceEntry {
                status: ResourceStatus::Error,
                request: Some(request.clone()),
                http_status: *http_status,
                pages: None,
                file: None,
                sha256: None,
                error: Some(error.clone()),
                note: note.clone(),
            },
            Collected::NotNeeded { request, reason } => ResourceEntry {
                status: ResourceStatus::NotNeeded,
                request: Some(request.clone()),
                http_status: None,
                pages: None,
                file: None,
                sha256: None,
                error: None,
                note: Some(reason.clone()),
            },
        };
        entries.insert(name.clone(), entry);
    }
    let manifest = Manifest {
        format: SNAPSHOT_FORMAT.to_owned(),
        tenant_id: collection.tenant_id.clone(),
        tenant_name: collection.tenant_name.clone(),
        source: collection.source.clone(),
        collected_at: collection.collected_at.clone(),
        resources: entries,
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    EncodedSnapshot {
        manifest,
        manifest_bytes,
        files,
        bodies,
    }
}

impl EncodedSnapshot {
    /// The snapshot as `read_dir` would read it back from the written directory: same bodies,
    /// same unreadable reasons, same manifest hash. So a live scan and `--offline` on its
    /// snapshot give the same findings.
    /// Items are projected as `read_dir` projects them.
    pub fn to_snapshot(&self, registry: &Registry, wanted: &Wanted) -> Snapshot {
        let mut snapshot = Snapshot::new(SnapshotMeta {
            tenant_id: self.manifest.tenant_id.clone(),
            tenant_name: self.manifest.tenant_name.clone(),
            source: self.manifest.source.clone(),
            collected_at: self.manifest.collected_at.clone(),
            manifest_sha256: sha256_hex(&self.manifest_bytes),
        });
        for (name, projection) in wanted {
            let (Some(entry), Some(spec)) = (self.manifest.resources.get(name), registry.get(name))
            else {
                continue;
            };
            match (entry.status, self.bodies.get(name)) {
                (ResourceStatus::Ok, Some(body)) => {
                    let body = project(body, Layout::of(spec), projection);
                    snapshot.insert_read(name.clone(), spec.kind, body);
                }
                _ => snapshot.insert_unreadable(name.clone(), failed_read_reason(name, entry)),
            }
        }
        snapshot
    }

    /// Writes the directory atomically: into a temporary sibling, then renamed to `dir`.
    /// A previous snapshot at `dir` is replaced; any other non-empty directory is refused.
    pub fn write_dir(&self, dir: &Path) -> Result<(), WriteError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WriteError::Io { path, source }
        };
        let existing = match std::fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_none() {
                    Some(false)
                } else if dir.join(MANIFEST_FILE).is_file() {
                    Some(true)
                } else {
                    return Err(WriteError::NotASnapshot(dir.to_path_buf()));
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(io(dir)(err)),
        };
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "snapshot".into());
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let temp = parent.join(format!(".{base}.tmp-{tag}"));
        std::fs::create_dir_all(&temp).map_err(io(&temp))?;
        let written = self.write_files(&temp);
        if let Err(err) = written {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(err);
        }
        let old = parent.join(format!(".{base}.old-{tag}"));
        match existing {
            Some(true) => std::fs::rename(dir, &old).map_err(io(dir))?,
            Some(false) => std::fs::remove_dir(dir).map_err(io(dir))?,
            None => {}
        }
        if let Err(err) = std::fs::rename(&temp, dir) {
            if existing == Some(true) {
                let _ = std::fs::rename(&old, dir);
            }
            let _ = std::fs::remove_dir_all(&temp);
            return Err(io(dir)(err));
        }
        if existing == Some(true) {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    }

    fn write_files(&self, dir: &Path) -> Result<(), WriteError> {
        use std::io::Write;
        let mut all: Vec<(&str, &[u8])> = self
            .files
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
            .collect();
        // The manifest last, so a directory with a manifest has every file it names.
        all.push((MANIFEST_FILE, &self.manifest_bytes));
        for (name, bytes) in all {
            let path = dir.join(name);
            let mut file = std::fs::File::create(&path).map_err(|source| WriteError::Io {
                path: path.clone(),
                source,
            })?;
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|source| WriteError::Io {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collection() -> Collection {
        let mut resources = BTreeMap::new();
        resources.insert(
            "report_settings".to_owned(),
            Collected::Read {
                request: "GET /v1.0/admin/reportSettings".into(),
                http_status: 200,
                pages: 1,
                body: json!({"displayConcealedNames": true}),
                note: None,
            },
        );
        resources.insert(
            "users".to_owned(),
            Collected::Failed {
                request: "GET /v1.0/users".into(),
                http_status: Some(403),
                error: "missing permission User.Read.All".into(),
                note: None,
            },
        );
        Collection {
            tenant_id: "t".into(),
            tenant_name: None,
            source: "graph http://127.0.0.1:1".into(),
            collected_at: "2026-11-20T06:00:00Z".into(),
            resources,
        }
    }

    #[test]
    fn written_snapshot_reads_back_like_the_in_memory_one() {
        let pack = crate::policy::PolicyPack::load(&crate::policy::PackSource::BuiltIn).unwrap();
        // Projected like a scan of the whole pack reads them.
        let wanted: Wanted = pack
            .projections()
            .into_iter()
            .filter(|(name, _)| name == "report_settings" || name == "users")
            .collect();
        assert!(matches!(
            wanted.get("users"),
            Some(crate::snapshot::Projection::Members(_))
        ));
        let encoded = encode(&collection());
        let parent = std::env::temp_dir().join(format!("ck-write-{}", uuid::Uuid::new_v4()));
        let dir = parent.join("snap");
        encoded.write_dir(&dir).unwrap();
        let read = crate::snapshot::read_dir(&dir, &pack.registry, &wanted).unwrap();
        assert_eq!(read, encoded.to_snapshot(&pack.registry, &wanted));
        // Writing again replaces the previous snapshot and leaves no temporary directories.
        encoded.write_dir(&dir).unwrap();
        let names: Vec<_> = std::fs::read_dir(&parent).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn a_trailing_slash_names_the_same_directory() {
        let parent = std::env::temp_dir().join(format!("ck-write-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&parent).unwrap();
        let dir = PathBuf::from(format!("{}/snap/", parent.display()));
        encode(&collection()).write_dir(&dir).unwrap();
        assert!(parent.join("snap").join(MANIFEST_FILE).is_file());
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn a_directory_that_is_not_a_snapshot_is_not_replaced() {
        let dir = std::env::temp_dir().join(format!("ck-write-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = encode(&collection()).write_dir(&dir).unwrap_err();
        assert!(matches!(err, WriteError::NotASnapshot(_)));
        assert!(dir.join("notes.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

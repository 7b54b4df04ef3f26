//! Writes what a connector read as a snapshot directory, exactly as read: `manifest.json` with
//! each resource's status, HTTP status, page count, request, error, file and SHA-256, plus one
//! JSON file per resource that was read.
//!
//! The directory appears whole or not at all: everything is written into a temporary sibling
//! directory that is then renamed into place. It never writes a secret, because it is only ever
//! given data the tenant returned. It replaces only a directory that is recognisably a snapshot
//! it wrote, and deletes only the files that snapshot's manifest names: never a whole tree.

use super::manifest::{MANIFEST_FILE, Manifest, ResourceEntry, ResourceStatus, SNAPSHOT_FORMAT};
use super::projection::{Layout, Projection, project, project_owned};
use super::read::{failed_read_reason, is_unavailable};
use super::{Snapshot, SnapshotMeta, Wanted};
use crate::digest::sha256_hex;
use crate::input_file::{Limit, read_inside};
use crate::registry::Registry;
use crate::vendor::Vendor;
use rayon::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One resource as a connector collected it.
#[derive(Debug, Clone, PartialEq)]
pub enum Collected {
    /// Read in full. A collection is `{"value": [every item of every page]}`; a fan-out is
    /// `{"<id>": {"value": [...]}}`; a settings object is as the service returned it.
    Read {
        request: String,
        http_status: u16,
        pages: u32,
        body: Value,
        /// How the read went, when a reader of the snapshot should know (see
        /// [`ResourceEntry::note`]).
        note: Option<String>,
        /// The SHA-256 of the file `body` makes, when the connector hashed the items page by
        /// page as they came ([`CollectionHasher`]); `None`: hashed when encoded.
        file_sha256: Option<FileSha256>,
        /// The items keep only the members the scan's rules read (projected page by page as
        /// they were parsed, after they were hashed whole): `file_sha256` is the hash of the
        /// whole file, and such a body is never written (`--snapshot-out` keeps bodies whole).
        projected: bool,
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

/// A collection as a snapshot directory: the manifest (with each file's SHA-256) and the bodies
/// the files hold. A file's bytes are made only when it is written.
#[derive(Debug, Clone)]
pub struct EncodedSnapshot {
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    /// (file name, the resource whose body it holds).
    files: Vec<(String, String)>,
    bodies: BTreeMap<String, Value>,
    /// The resources whose items the reader already projected (see [`Collected::Read`]): not
    /// projected again, and never written.
    projected: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "--snapshot-out {}: exists and is not a snapshot directory cloudkeur wrote ({reason}); name a new or empty directory, or a previous snapshot to replace",
        path.display()
    )]
    NotASnapshot { path: PathBuf, reason: String },
    #[error(
        "--snapshot-out {}: the scan kept only what its rules read of {names}, so it cannot write them (a defect of cloudkeur: a scan that writes a snapshot keeps every body whole)",
        path.display()
    )]
    KeptInPart { path: PathBuf, names: String },
    #[error("--snapshot-out {}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Encodes a copy of the collection (see [`encode_owned`]).
pub fn encode(collection: &Collection) -> EncodedSnapshot {
    encode_owned(collection.clone())
}

/// Encodes the collection, taking its bodies over: each resource's file is pretty JSON and a
/// newline, and the manifest holds its SHA-256, computed while serializing into the hash, the
/// resources side by side; no file's bytes are built until [`EncodedSnapshot::write_dir`].
pub fn encode_owned(collection: Collection) -> EncodedSnapshot {
    let Collection {
        tenant_id,
        tenant_name,
        source,
        collected_at,
        resources,
    } = collection;
    // One resource per task: the two largest must not end up in one thread's share.
    let resources: Vec<(String, Collected)> = resources.into_iter().collect();
    let encoded: Vec<(String, ResourceEntry, Option<Value>, bool)> = resources
        .into_par_iter()
        .with_max_len(1)
        .map(|(name, collected)| {
            let (entry, body, projected) = entry_of(&name, collected);
            (name, entry, body, projected)
        })
        .collect();
    let mut entries = BTreeMap::new();
    let mut files = Vec::new();
    let mut bodies = BTreeMap::new();
    let mut projected = BTreeSet::new();
    for (name, entry, body, kept_in_part) in encoded {
        if let (Some(file), Some(body)) = (&entry.file, body) {
            files.push((file.clone(), name.clone()));
            bodies.insert(name.clone(), body);
            if kept_in_part {
                projected.insert(name.clone());
            }
        }
        entries.insert(name, entry);
    }
    let manifest = Manifest {
        format: SNAPSHOT_FORMAT.to_owned(),
        vendor: Vendor::default(),
        tenant_id,
        tenant_name,
        source,
        collected_at,
        resources: entries,
    };
    EncodedSnapshot {
        manifest_bytes: manifest_bytes(&manifest),
        manifest,
        files,
        bodies,
        projected,
    }
}

/// The manifest as its file holds it: pretty JSON and a newline.
fn manifest_bytes(manifest: &Manifest) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A resource's manifest entry, and the body its file holds (for a resource that was read).
fn entry_of(name: &str, collected: Collected) -> (ResourceEntry, Option<Value>, bool) {
    let collected = match collected {
        // A reader projects only what it hashed whole first; a body kept in part without the
        // whole file's hash could not be checked against anything, so it is not trusted.
        Collected::Read {
            request,
            file_sha256: None,
            projected: true,
            note,
            ..
        } => Collected::Failed {
            request,
            http_status: None,
            error: "kept in part without the hash of the whole body (a defect of cloudkeur); scan again".into(),
            note,
        },
        collected => collected,
    };
    match collected {
        Collected::Read {
            request,
            http_status,
            pages,
            body,
            note,
            file_sha256: hashed,
            projected,
        } => {
            let sha256 = match hashed {
                Some(FileSha256(hex)) => {
                    debug_assert!(
                        projected || hex == file_sha256(&body),
                        "{name}: hashed page by page"
                    );
                    hex
                }
                None => file_sha256(&body),
            };
            let entry = ResourceEntry {
                status: ResourceStatus::Ok,
                request: Some(request),
                http_status: Some(http_status),
                pages: Some(pages),
                file: Some(format!("{name}.json")),
                sha256: Some(sha256),
                error: None,
                note,
            };
            (entry, Some(body), projected)
        }
        Collected::Failed {
            request,
            http_status,
            error,
            note,
        } => {
            let entry = ResourceEntry {
                status: ResourceStatus::Error,
                request: Some(request),
                http_status,
                pages: None,
                file: None,
                sha256: None,
                error: Some(error),
                note,
            };
            (entry, None, false)
        }
        Collected::NotNeeded { request, reason } => {
            let entry = ResourceEntry {
                status: ResourceStatus::NotNeeded,
                request: Some(request),
                http_status: None,
                pages: None,
                file: None,
                sha256: None,
                error: None,
                note: Some(reason),
            };
            (entry, None, false)
        }
    }
}

/// The bytes a resource's file holds: pretty JSON and a newline.
fn write_file_bytes(body: &Value, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, body)?;
    out.write_all(b"\n")
}

/// SHA-256 (hex) of the file [`write_file_bytes`] makes of `body`, without making it.
fn file_sha256(body: &Value) -> String {
    let mut hasher = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Sha256::new()));
    // Writing into a hash cannot fail; a body that is a `Value` always serializes.
    let _ = write_file_bytes(body, &mut hasher);
    match hasher.into_inner() {
        Ok(HashWriter(sha)) => format!("{:x}", sha.finalize()),
        Err(_) => String::new(),
    }
}

/// The SHA-256 (hex) of the file a collection's body makes, computed by [`CollectionHasher`]:
/// only it makes one, so a hash handed to the snapshot is always of items fed to it in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSha256(String);

/// Hashes the file of a collection body, `{"value": [items]}`, as [`write_file_bytes`] writes
/// it, from its items page by page: a connector feeds each page as it is parsed (on the
/// blocking pool, while the next page is on its way), so no body is left to hash after the last
/// answer. The file is pretty JSON: the items sit two levels deep, so every line an item's own
/// pretty form has is indented by four more spaces (JSON strings hold no raw line breaks, so
/// every line break is one of the layout's).
#[derive(Clone)]
pub struct CollectionHasher {
    sha: Sha256,
    items: usize,
}

impl Default for CollectionHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl CollectionHasher {
    pub fn new() -> Self {
        let mut sha = Sha256::new();
        sha.update(b"{\n  \"value\": [");
        CollectionHasher { sha, items: 0 }
    }

    /// Feeds the next items, in the order the body lists them.
    pub fn push(&mut self, items: &[Value]) {
        let mut out = std::io::BufWriter::with_capacity(
            1 << 16,
            Indented {
                inner: HashWriter(std::mem::take(&mut self.sha)),
            },
        );
        for item in items {
            // Between items, and before the first: a line break and the items' indent (the
            // writer adds the indent after every line break).
            let separator: &[u8] = if self.items == 0 { b"\n" } else { b",\n" };
            // Writing into a hash cannot fail; a `Value` always serializes.
            let _ = out.write_all(separator);
            let _ = serde_json::to_writer_pretty(&mut out, item);
            self.items += 1;
        }
        let _ = out.flush();
        let (indented, _) = out.into_parts();
        self.sha = indented.inner.0;
    }

    /// The hash of the whole file, once every item was fed.
    pub fn finish(mut self) -> FileSha256 {
        let end: &[u8] = if self.items == 0 {
            b"]\n}\n"
        } else {
            b"\n  ]\n}\n"
        };
        self.sha.update(end);
        FileSha256(format!("{:x}", self.sha.finalize()))
    }
}

/// Adds the items' indent (four spaces) after every line break written through it.
struct Indented<W: Write> {
    inner: W,
}

impl<W: Write> Write for Indented<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            self.inner.write_all(&rest[..=at])?;
            self.inner.write_all(b"    ")?;
            rest = &rest[at + 1..];
        }
        self.inner.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Feeds what is written into a SHA-256.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl EncodedSnapshot {
    /// The same snapshot, its manifest naming `vendor`: a connector of that vendor's services
    /// says so once, and every reader of the snapshot evaluates that vendor's policies.
    pub fn with_vendor(mut self, vendor: Vendor) -> Self {
        self.manifest.vendor = vendor;
        self.manifest_bytes = manifest_bytes(&self.manifest);
        self
    }

    /// The snapshot as `read_dir` would read it back from the written directory: same bodies,
    /// same unreadable reasons, same manifest hash. So a live scan and `--offline` on its
    /// snapshot give the same findings.
    /// Items are projected as `read_dir` projects them.
    pub fn to_snapshot(&self, registry: &Registry, wanted: &Wanted) -> Snapshot {
        self.snapshot_of(registry, wanted, |name, layout, projection| {
            self.bodies
                .get(name)
                .map(|body| project(body, layout, projection))
        })
    }

    /// [`Self::to_snapshot`], moving the bodies into the snapshot instead of copying them (a
    /// body kept whole is not copied at all, a projected one keeps its members without
    /// copying them), the resources side by side: users and userRegistrationDetails, the
    /// two largest, are projected at once on two cores.
    pub fn into_snapshot(mut self, registry: &Registry, wanted: &Wanted) -> Snapshot {
        let bodies: Vec<(String, Value)> = std::mem::take(&mut self.bodies).into_iter().collect();
        let mut projected: BTreeMap<String, Value> = bodies
            .into_par_iter()
            .with_max_len(1)
            .filter_map(|(name, body)| {
                // A body no policy wants is freed here, on a worker, like the rest.
                let projection = wanted.get(&name)?;
                if self.projected.contains(&name) {
                    return Some((name, body));
                }
                let layout = registry.get(&name).and_then(Layout::of);
                let body = project_owned(body, layout, projection);
                Some((name, body))
            })
            .collect();
        self.snapshot_of(registry, wanted, |name, _, _| projected.remove(name))
    }

    fn snapshot_of(
        &self,
        registry: &Registry,
        wanted: &Wanted,
        mut body: impl FnMut(&str, Option<Layout>, &Projection) -> Option<Value>,
    ) -> Snapshot {
        let mut snapshot = Snapshot::new(SnapshotMeta {
            tenant_id: self.manifest.tenant_id.clone(),
            tenant_name: self.manifest.tenant_name.clone(),
            source: self.manifest.source.clone(),
            collected_at: self.manifest.collected_at.clone(),
            manifest_sha256: sha256_hex(&self.manifest_bytes),
        });
        snapshot.set_vendor(self.manifest.vendor);
        for (name, projection) in wanted {
            let (Some(entry), Some(spec)) = (self.manifest.resources.get(name), registry.get(name))
            else {
                continue;
            };
            let read = match entry.status {
                ResourceStatus::Ok => body(name, Layout::of(spec), projection),
                _ => None,
            };
            match read {
                Some(read) => snapshot.insert_read(name.clone(), spec.kind, read),
                None if is_unavailable(entry) => {
                    snapshot.insert_unavailable(name.clone(), failed_read_reason(name, entry))
                }
                None => snapshot.insert_unreadable(name.clone(), failed_read_reason(name, entry)),
            }
        }
        snapshot
    }

    /// Writes the directory atomically: into a temporary sibling, then renamed to `dir`.
    /// A previous snapshot at `dir` is replaced; anything else that is not empty is refused
    /// (see [`existing_snapshot`]), and nothing but the files its manifest names is deleted.
    pub fn write_dir(&self, dir: &Path) -> Result<(), WriteError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WriteError::Io { path, source }
        };
        if !self.projected.is_empty() {
            return Err(WriteError::KeptInPart {
                path: dir.to_path_buf(),
                names: self
                    .projected
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let existing = existing_snapshot(dir)?;
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
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        std::fs::create_dir(&temp).map_err(io(&temp))?;
        let written = self.write_files(&temp);
        if let Err(err) = written {
            remove_snapshot_files(&temp, &self.file_names());
            return Err(err);
        }
        let old = parent.join(format!(".{base}.old-{tag}"));
        match &existing {
            Existing::Snapshot(_) => std::fs::rename(dir, &old).map_err(io(dir))?,
            Existing::Empty => std::fs::remove_dir(dir).map_err(io(dir))?,
            Existing::Absent => {}
        }
        if let Err(err) = std::fs::rename(&temp, dir) {
            if let Existing::Snapshot(_) = existing {
                let _ = std::fs::rename(&old, dir);
            }
            remove_snapshot_files(&temp, &self.file_names());
            return Err(io(dir)(err));
        }
        if let Existing::Snapshot(files) = &existing {
            remove_snapshot_files(&old, files);
        }
        Ok(())
    }

    /// The files this snapshot writes, manifest included.
    fn file_names(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|(name, _)| name.clone())
            .chain([MANIFEST_FILE.to_owned()])
            .collect()
    }

    fn write_files(&self, dir: &Path) -> Result<(), WriteError> {
        let write = |name: &str,
                     fill: &dyn Fn(
            &mut std::io::BufWriter<std::fs::File>,
        ) -> std::io::Result<()>| {
            let path = dir.join(name);
            let io = |source| WriteError::Io {
                path: path.clone(),
                source,
            };
            let mut out = std::io::BufWriter::with_capacity(
                1 << 16,
                std::fs::File::create(&path).map_err(io)?,
            );
            fill(&mut out).map_err(io)?;
            let file = out.into_inner().map_err(|err| io(err.into_error()))?;
            file.sync_all().map_err(io)
        };
        for (file, resource) in &self.files {
            if let Some(body) = self.bodies.get(resource) {
                write(file, &|out| write_file_bytes(body, out))?;
            }
        }
        // The manifest last, so a directory with a manifest has every file it names.
        write(MANIFEST_FILE, &|out| out.write_all(&self.manifest_bytes))
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// What `--snapshot-out` finds at its path.
#[derive(Debug)]
enum Existing {
    Absent,
    Empty,
    /// A snapshot cloudkeur wrote: the files it holds (all named by its manifest).
    Snapshot(Vec<String>),
}

/// Recognises a directory cloudkeur may replace: absent, empty, or a snapshot (a real directory,
/// not a link; its manifest carries the snapshot format marker; it holds nothing but regular
/// files that manifest names). Anything else is the user's, and refused.
fn existing_snapshot(dir: &Path) -> Result<Existing, WriteError> {
    let refuse = |reason: String| WriteError::NotASnapshot {
        path: dir.to_path_buf(),
        reason,
    };
    match std::fs::symlink_metadata(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(source) => {
            return Err(WriteError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(refuse("it is a symbolic link".into()));
        }
        Ok(meta) if !meta.is_dir() => return Err(refuse("it is not a directory".into())),
        Ok(_) => {}
    }
    let io = |source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut present = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().map_err(io)?.is_file() {
            return Err(refuse(format!("'{name}' is not a regular file")));
        }
        present.push(name);
    }
    if present.is_empty() {
        return Ok(Existing::Empty);
    }
    let manifest = read_inside(dir, Path::new(MANIFEST_FILE), Limit::DOCUMENT)
        .map_err(|err| refuse(format!("{MANIFEST_FILE} {err}")))?;
    let manifest: Manifest = serde_json::from_slice(&manifest)
        .map_err(|_| refuse(format!("{MANIFEST_FILE} is not a snapshot manifest")))?;
    if manifest.format != SNAPSHOT_FORMAT {
        return Err(refuse(format!(
            "its manifest's format is '{}', not {SNAPSHOT_FORMAT}",
            manifest.format
        )));
    }
    let named: std::collections::BTreeSet<&str> = manifest
        .resources
        .values()
        .filter_map(|entry| entry.file.as_deref())
        .chain([MANIFEST_FILE])
        .collect();
    if let Some(stranger) = present.iter().find(|name| !named.contains(name.as_str())) {
        return Err(refuse(format!("'{stranger}' is not named by its manifest")));
    }
    Ok(Existing::Snapshot(present))
}

/// Deletes the named files of a snapshot directory cloudkeur wrote, then the directory if that
/// left it empty: never a recursive delete, so nothing else can be lost.
fn remove_snapshot_files(dir: &Path, files: &[String]) {
    for name in files {
        if super::read::is_plain_file_name(name) || name == MANIFEST_FILE {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    if std::fs::remove_dir(dir).is_err() && dir.exists() {
        crate::logging::warn(
            "snapshot-left",
            &format!(
                "{} was left in place: it holds files cloudkeur did not write",
                dir.display()
            ),
        );
    }
}

/// Removes a snapshot directory cloudkeur wrote (e.g. the hidden one a live `--archive` scan
/// writes before the bundle copies it): only when it is recognisably one, file by file.
pub fn remove_written_snapshot(dir: &Path) {
    if let Ok(Existing::Snapshot(files)) = existing_snapshot(dir) {
        remove_snapshot_files(dir, &files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            // Line breaks, quotes and control characters inside strings are escaped in the
            // file: the hasher's indent must not reach into them.
            "[a-z\n\"\\\t\u{1}é ]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-d\n]{1,2}|value", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Hashed page by page, a collection has the hash of the file its whole body makes.
        #[test]
        fn a_collection_hashed_page_by_page_has_its_files_hash(
            items in prop::collection::vec(json_value(), 0..8),
            cuts in prop::collection::vec(0usize..9, 0..4),
        ) {
            let mut hasher = CollectionHasher::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(items.len())).collect();
            cuts.sort_unstable();
            let mut start = 0;
            for cut in cuts.into_iter().chain([items.len()]) {
                hasher.push(&items[start..cut]);
                start = cut;
            }
            let whole = json!({"value": items});
            prop_assert_eq!(hasher.finish(), FileSha256(file_sha256(&whole)));
        }
    }

    #[test]
    fn an_empty_collection_hashed_page_by_page_has_its_files_hash() {
        let mut hasher = CollectionHasher::new();
        hasher.push(&[]);
        let mut file = Vec::new();
        write_file_bytes(&json!({"value": []}), &mut file).unwrap();
        assert_eq!(file, b"{\n  \"value\": []\n}\n");
        assert_eq!(hasher.finish(), FileSha256(sha256_hex(&file)));
    }

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
                file_sha256: None,
                projected: false,
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
    fn the_manifest_names_a_vendor_other_than_microsoft_and_reads_it_back() {
        let pack = crate::policy::PolicyPack::load(&crate::policy::PackSource::BuiltIn).unwrap();
        let wanted = crate::snapshot::whole(["report_settings".to_owned()].iter());
        let microsoft = encode(&collection());
        // Left out for Microsoft, so cloudkeur versions without vendors still read it.
        let text = String::from_utf8(microsoft.manifest_bytes.clone()).unwrap();
        assert!(!text.contains("vendor"), "{text}");
        assert_eq!(
            microsoft.to_snapshot(&pack.registry, &wanted).vendor(),
            Vendor::Microsoft
        );
        let google = encode(&collection()).with_vendor(Vendor::Google);
        let text = String::from_utf8(google.manifest_bytes.clone()).unwrap();
        assert!(text.contains("\"vendor\": \"google\""), "{text}");
        let parent = std::env::temp_dir().join(format!("ck-vendor-{}", uuid::Uuid::new_v4()));
        let dir = parent.join("snap");
        google.write_dir(&dir).unwrap();
        let read = crate::snapshot::read_dir(&dir, &pack.registry, &wanted).unwrap();
        assert_eq!(read.vendor(), Vendor::Google);
        assert_eq!(read, google.to_snapshot(&pack.registry, &wanted));
        let _ = std::fs::remove_dir_all(&parent);
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
        // Moving the bodies gives the same snapshot, and the hashes computed without the
        // bytes are those of the files written.
        assert_eq!(read, encoded.clone().into_snapshot(&pack.registry, &wanted));
        let written = std::fs::read(dir.join("report_settings.json")).unwrap();
        assert_eq!(
            encoded.manifest().resources["report_settings"]
                .sha256
                .as_deref(),
            Some(sha256_hex(&written).as_str())
        );
        assert_eq!(
            written, b"{\n  \"displayConcealedNames\": true\n}\n",
            "pretty JSON and a newline, as before"
        );
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
        assert!(matches!(err, WriteError::NotASnapshot { .. }));
        assert!(dir.join("notes.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

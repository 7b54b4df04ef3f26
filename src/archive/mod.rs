//! The evidence archive (`--archive DIR`): every scan kept as an immutable bundle directory, the
//! bundles linked into a hash chain, so that a DPO or auditor can show later what was scanned,
//! with which inputs, and that nothing was altered, removed or reordered since.
//!
//! A bundle holds the snapshot (a copy), the JSON report, the settings, evidence and waiver files
//! used, the drift since the previous bundle, and `manifest.json` with the SHA-256 of every file
//! and the SHA-256 of the previous bundle's manifest. It is written under a temporary name and
//! renamed into place, and never overwrites anything. This module never changes or deletes a
//! bundle once written; `verify` only reads.

pub mod diff;
mod verify;

pub use verify::{BundleCheck, Verification, verify};

use crate::diag::{Diagnostic, Position, parse_json};
use crate::digest::sha256_hex;
use crate::input_file::{Limit, read, read_inside, read_text_inside};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const BUNDLE_FORMAT: &str = "cloudkeur.archive-bundle/v1";
pub const BUNDLE_MANIFEST: &str = "manifest.json";
pub const REPORT_FILE: &str = "report.json";
pub const DRIFT_FILE: &str = "drift.json";
pub const SNAPSHOT_DIR: &str = "snapshot";

/// A bundle's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: String,
    /// The bundle directory's own name: a renamed bundle no longer matches.
    pub bundle: String,
    /// 1 for the first bundle of the archive, then one more per bundle.
    pub sequence: u64,
    pub created_at: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// The bundle before this one and the SHA-256 of its manifest.json; `null` for the first.
    pub previous: Option<PreviousBundle>,
    /// Every other file of the bundle (path with `/`) → SHA-256.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousBundle {
    pub bundle: String,
    pub manifest_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("--archive {}: cannot write: {source}; check that the directory is writable", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(#[from] Diagnostic),
    #[error(
        "--archive {}: another scan is writing to this archive ({} exists); wait for it, or remove that file if no scan is running",
        dir.display(),
        lock.display()
    )]
    Locked { dir: PathBuf, lock: PathBuf },
    #[error(
        "--archive {}: the last bundle {last} is not older than this scan ({name}); check the system clock",
        dir.display()
    )]
    OutOfOrder {
        dir: PathBuf,
        last: String,
        name: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What goes into one bundle.
pub struct BundleContents<'a> {
    /// RFC 3339 start time of the scan; the bundle's name begins with it.
    pub started_at: &'a str,
    pub tenant: &'a str,
    pub tenant_name: Option<&'a str>,
    /// The snapshot directory the scan read (its manifest and every file it lists are copied).
    pub snapshot_dir: &'a Path,
    /// Further files, copied as `<name>`, e.g. `inputs/settings.yaml` ← the `--config` file.
    pub copies: Vec<(String, PathBuf)>,
    /// Files given as bytes, e.g. `report.json`, `drift.json`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The bundle just written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bundle: String,
    pub path: PathBuf,
    pub manifest_sha256: String,
    pub sequence: u64,
}

/// The bundle directories of an archive, oldest first (names sort by time). Hidden entries
/// (temporary bundles, the lock) and plain files are not bundles.
pub fn bundle_names(dir: &Path) -> Result<Vec<String>, std::io::Error> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.file_type()?.is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The newest bundle of an archive, if it has any: its name, path and manifest.
pub fn latest(dir: &Path) -> Result<Option<(String, PathBuf, BundleManifest)>, ArchiveError> {
    if !dir.exists() {
        return Ok(None);
    }
    let names = bundle_names(dir).map_err(io_error(dir))?;
    let Some(name) = names.last() else {
        return Ok(None);
    };
    let path = dir.join(name);
    let manifest = read_manifest(&path)?;
    Ok(Some((name.clone(), path, manifest)))
}

pub fn read_manifest(bundle: &Path) -> Result<BundleManifest, Diagnostic> {
    let path = bundle.join(BUNDLE_MANIFEST);
    let text =
        read_text_inside(bundle, Path::new(BUNDLE_MANIFEST), Limit::DOCUMENT).map_err(|err| {
            err.diagnostic(
                &path,
                "bundle manifest",
                "point at a bundle of a cloudkeur archive (README: evidence archive)",
            )
        })?;
    let manifest: BundleManifest = parse_json(&path, &text)?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(Diagnostic::new(
            &path,
            crate::diag::locate_text(&text, "\"format\""),
            format!("unsupported bundle format '{}'", manifest.format),
        )
        .with_fix(format!("this cloudkeur reads \"{BUNDLE_FORMAT}\"")));
    }
    Ok(manifest)
}

/// `2026-11-23T18:36:23.123456Z` → `20261123T183623.123Z`: sortable, safe as a file name.
fn name_time(started_at: &str) -> String {
    let parsed =
        time::OffsetDateTime::parse(started_at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
            .to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    parsed.format(format).unwrap_or_default()
}

/// Held while a bundle is written; removed when dropped.
struct Lock(PathBuf);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes one bundle into the archive `dir` (created if needed), chained to the newest bundle.
pub fn write_bundle(dir: &Path, contents: BundleContents<'_>) -> Result<Written, ArchiveError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let lock_path = dir.join(".lock");
    let _lock = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock_path)
    {
        Ok(_) => Lock(lock_path),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ArchiveError::Locked {
                dir: dir.to_path_buf(),
                lock: lock_path,
            });
        }
        Err(err) => return Err(io_error(dir)(err)),
    };
    let previous = latest(dir)?;
    let temp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = fill(&temp, &contents).and_then(|files| {
        let content_hash = sha256_hex(
            files
                .iter()
                .map(|(path, hash)| format!("{path} {hash}\n"))
                .collect::<String>()
                .as_bytes(),
        );
        let name = format!("{}-{}", name_time(contents.started_at), &content_hash[..12]);
        if let Some((last, _, _)) = &previous
            && *last >= name
        {
            return Err(ArchiveError::OutOfOrder {
                dir: dir.to_path_buf(),
                last: last.clone(),
                name,
            });
        }
        let (sequence, previous) = match &previous {
            Some((last, path, manifest)) => {
                let bytes = read_inside(path, Path::new(BUNDLE_MANIFEST), Limit::DOCUMENT)
                    .map_err(|err| {
                        ArchiveError::Input(err.diagnostic(
                            &path.join(BUNDLE_MANIFEST),
                            "bundle manifest",
                            "run `cloudkeur archive verify` on the archive",
                        ))
                    })?;
                (
                    manifest.sequence + 1,
                    Some(PreviousBundle {
                        bundle: last.clone(),
                        manifest_sha256: sha256_hex(&bytes),
                    }),
                )
            }
            None => (1, None),
        };
        let manifest = BundleManifest {
            format: BUNDLE_FORMAT.to_owned(),
            bundle: name.clone(),
            sequence,
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            tenant: contents.tenant.to_owned(),
            tenant_name: contents.tenant_name.map(str::to_owned),
            previous,
            files,
        };
        let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        bytes.push(b'\n');
        write_synced(&temp.join(BUNDLE_MANIFEST), &bytes)?;
        let target = dir.join(&name);
        if target.exists() {
            return Err(ArchiveError::Io {
                path: target,
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            });
        }
        // rename(2) onto an existing non-empty directory fails: a bundle is never overwritten.
        std::fs::rename(&temp, &target).map_err(io_error(&target))?;
        if let Ok(handle) = std::fs::File::open(dir) {
            let _ = handle.sync_all();
        }
        Ok(Written {
            bundle: name,
            path: target,
            manifest_sha256: sha256_hex(&bytes),
            sequence,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

/// Writes every file of the bundle except its manifest into `temp`; returns path → SHA-256.
fn fill(
    temp: &Path,
    contents: &BundleContents<'_>,
) -> Result<BTreeMap<String, String>, ArchiveError> {
    let mut files = BTreeMap::new();
    let mut put = |relative: String, bytes: &[u8]| -> Result<(), ArchiveError> {
        let path = temp.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        write_synced(&path, bytes)?;
        files.insert(relative, sha256_hex(bytes));
        Ok(())
    };
    // The snapshot: its manifest and every file it names, byte for byte, read as the snapshot
    // reader reads them: regular files inside the snapshot directory only.
    let snapshot_dir = contents.snapshot_dir;
    let snapshot_manifest = snapshot_dir.join(crate::snapshot::MANIFEST_FILE);
    let manifest_bytes = read_inside(
        snapshot_dir,
        Path::new(crate::snapshot::MANIFEST_FILE),
        Limit::DOCUMENT,
    )
    .map_err(|err| {
        ArchiveError::Input(err.diagnostic(
            &snapshot_manifest,
            "snapshot manifest",
            "check the snapshot directory",
        ))
    })?;
    let manifest: crate::snapshot::Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|err| {
            ArchiveError::Input(Diagnostic::new(
                &snapshot_manifest,
                Position::new(err.line() as u64, err.column() as u64),
                format!("not a snapshot manifest: {err}"),
            ))
        })?;
    put(
        format!("{SNAPSHOT_DIR}/{}", crate::snapshot::MANIFEST_FILE),
        &manifest_bytes,
    )?;
    for entry in manifest.resources.values() {
        let Some(file) = &entry.file else { continue };
        // The reader refuses such names; the archive must not follow them either.
        if !crate::input_file::is_plain_relative(Path::new(file))
            || file.contains(['/', '\\'])
            || file.starts_with('.')
        {
            continue;
        }
        // A file the scan could not read made its policies `error` already; the bundle keeps
        // the manifest that names it, so a replay of the bundle gives that `error` again.
        match read_inside(snapshot_dir, Path::new(file), Limit::data()) {
            Ok(bytes) => put(format!("{SNAPSHOT_DIR}/{file}"), &bytes)?,
            Err(err) if err.is_not_found() => {}
            Err(err) => crate::logging::warn(
                "not-archived",
                &format!(
                    "{} not copied into the archive: it {}",
                    snapshot_dir.join(file).display(),
                    err.explained()
                ),
            ),
        }
    }
    for (name, source) in &contents.copies {
        let bytes = read(source, Limit::data()).map_err(|err| {
            ArchiveError::Input(err.diagnostic(source, "input file", "check the file"))
        })?;
        put(name.clone(), &bytes)?;
    }
    for (name, bytes) in &contents.files {
        put(name.clone(), bytes)?;
    }
    Ok(files)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))
}

/// One row of `archive list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleInfo {
    pub sequence: u64,
    pub bundle: String,
    pub tenant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    pub created_at: String,
    /// From the bundle's report: compliant, and the count per verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliant: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<BTreeMap<String, u64>>,
    pub manifest_sha256: String,
}

/// The history of an archive, oldest first. Does not verify it (that is `verify`).
pub fn list(dir: &Path) -> Result<Vec<BundleInfo>, Diagnostic> {
    let names = bundle_names(dir).map_err(|err| {
        Diagnostic::new(
            dir,
            Position::default(),
            format!("cannot read archive: {err}"),
        )
        .with_fix("name the directory given to `scan --archive`")
    })?;
    let mut rows = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let manifest_bytes =
            read_inside(&path, Path::new(BUNDLE_MANIFEST), Limit::DOCUMENT).unwrap_or_default();
        let Ok(manifest) = read_manifest(&path) else {
            continue;
        };
        let report: Option<serde_json::Value> =
            read_inside(&path, Path::new(REPORT_FILE), Limit::data())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
        let summary = report.as_ref().map(|r| &r["summary"]);
        rows.push(BundleInfo {
            sequence: manifest.sequence,
            bundle: name,
            tenant: manifest.tenant,
            tenant_name: manifest.tenant_name,
            created_at: manifest.created_at,
            compliant: summary.and_then(|s| s["compliant"].as_bool()),
            verdicts: summary.and_then(|s| serde_json::from_value(s["verdicts"].clone()).ok()),
            manifest_sha256: sha256_hex(&manifest_bytes),
        });
    }
    Ok(rows)
}

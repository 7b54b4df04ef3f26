//! Reads a snapshot directory, checking every file against the manifest's hash.

use super::manifest::{MANIFEST_FILE, Manifest, ResourceEntry, ResourceStatus, SNAPSHOT_FORMAT};
use super::projection::{self, Layout, Projection};
use super::{Snapshot, SnapshotMeta, Wanted};
use crate::diag::{Diagnostic, Position, parse_json};
use crate::digest::sha256_hex;
use crate::input_file::{Limit, read_inside};
use crate::registry::Registry;
use rayon::prelude::*;
use std::path::Path;

/// A snapshot that cannot be read at all (no manifest, bad manifest) is an input error.
pub type SnapshotError = Diagnostic;

/// Reads the resources named in `wanted` from the snapshot in `dir`, each projected to the item
/// members its rules read.
///
/// A resource that is listed as failed, whose file is missing, altered or not JSON, becomes
/// unreadable with the reason; only a missing or malformed manifest is an error of the whole call.
pub fn read_dir(
    dir: &Path,
    registry: &Registry,
    wanted: &Wanted,
) -> Result<Snapshot, SnapshotError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_bytes = read_inside(dir, Path::new(MANIFEST_FILE), Limit::DOCUMENT).map_err(|err| {
        if !dir.is_dir() {
            Diagnostic::new(dir, Position::default(), "snapshot directory does not exist")
                .with_fix("point --offline at a snapshot directory, e.g. fixtures/tenants/kleinwaarde")
        } else if err.is_not_found() {
            Diagnostic::new(&manifest_path, Position::default(), "no manifest.json: this is not a snapshot directory")
                .with_fix("point --offline at a directory written by --snapshot-out, or add a manifest (README: snapshot format)")
        } else {
            err.diagnostic(&manifest_path, "manifest", "check the file's permissions")
        }
    })?;
    let text = std::str::from_utf8(&manifest_bytes).map_err(|err| {
        Diagnostic::new(
            &manifest_path,
            Position::default(),
            format!("manifest is not UTF-8 text: {err}"),
        )
        .with_fix("re-collect the snapshot, or correct the file's encoding")
    })?;
    let manifest: Manifest = parse_json(&manifest_path, text)?;
    check_manifest(&manifest_path, text, &manifest)?;

    let mut snapshot = Snapshot::new(SnapshotMeta {
        tenant_id: manifest.tenant_id.clone(),
        tenant_name: manifest.tenant_name.clone(),
        source: manifest.source.clone(),
        collected_at: manifest.collected_at.clone(),
        manifest_sha256: sha256_hex(&manifest_bytes),
    });
    snapshot.set_vendor(manifest.vendor);
    // Largest first, so the big collections start at once and the small ones fill in.
    let mut reads: Vec<_> = wanted
        .iter()
        .filter_map(|(name, projection)| {
            let entry = manifest.resources.get(name)?;
            // A derived resource is made from the others at evaluation, never read.
            let spec = registry.get(name).filter(|spec| !spec.is_derived())?;
            Some((name, projection, entry, spec))
        })
        .collect();
    reads.sort_by_key(|(_, _, entry, _)| std::cmp::Reverse(file_len(dir, entry)));
    let bodies: Vec<_> = reads
        .par_iter()
        // One file per task: two large files must not end up in one thread's share.
        .with_max_len(1)
        .map(|(name, projection, entry, spec)| {
            read_resource(dir, name, entry, Layout::of(spec), projection)
        })
        .collect();
    for ((name, _, entry, spec), body) in reads.into_iter().zip(bodies) {
        match body {
            Ok(body) => snapshot.insert_read(name.clone(), spec.kind, body),
            Err(reason) if is_unavailable(entry) => {
                snapshot.insert_unavailable(name.clone(), reason)
            }
            Err(reason) => snapshot.insert_unreadable(name.clone(), reason),
        }
    }
    Ok(snapshot)
}

pub(super) fn check_manifest(
    path: &Path,
    text: &str,
    manifest: &Manifest,
) -> Result<(), Diagnostic> {
    let at = |needle: &str| crate::diag::locate_text(text, needle);
    if manifest.format != SNAPSHOT_FORMAT {
        return Err(Diagnostic::new(
            path,
            at("\"format\""),
            format!("unsupported snapshot format '{}'", manifest.format),
        )
        .with_fix(format!(
            "this cloudkeur reads \"{SNAPSHOT_FORMAT}\"; re-collect the snapshot with this version"
        )));
    }
    if time::OffsetDateTime::parse(
        &manifest.collected_at,
        &time::format_description::well_known::Rfc3339,
    )
    .is_err()
    {
        return Err(Diagnostic::new(
            path,
            at("\"collected_at\""),
            format!(
                "collected_at '{}' is not an RFC 3339 time",
                manifest.collected_at
            ),
        )
        .with_fix("write it like 2026-11-20T06:00:00Z"));
    }
    for (name, entry) in &manifest.resources {
        if let Some(file) = &entry.file
            && !is_plain_file_name(file)
        {
            return Err(Diagnostic::new(
                path,
                at(&format!("\"{file}\"")),
                format!(
                    "resource '{name}': file '{file}' is not a plain file name inside the snapshot"
                ),
            )
            .with_fix("name a file in the snapshot directory itself, without '/' or '..'"));
        }
    }
    Ok(())
}

/// Keeps a manifest from pointing reads outside its own directory.
pub(super) fn is_plain_file_name(file: &str) -> bool {
    !file.is_empty()
        && file != "."
        && file != ".."
        && !file.contains(['/', '\\'])
        && !file.starts_with('.')
}

fn read_resource(
    dir: &Path,
    name: &str,
    entry: &ResourceEntry,
    layout: Option<Layout>,
    projection: &Projection,
) -> Result<serde_json::Value, String> {
    if entry.status != ResourceStatus::Ok {
        return Err(failed_read_reason(name, entry));
    }
    let Some(file) = &entry.file else {
        return Err(format!(
            "{name} is marked ok but the manifest names no file"
        ));
    };
    // A settings object is a few kilobytes; only a collection grows with the tenant.
    let limit = match layout {
        None => Limit::DOCUMENT,
        Some(_) => Limit::data(),
    };
    let bytes = read_inside(dir, Path::new(file), limit).map_err(|err| {
        if err.is_not_found() {
            format!("{name}: file {file} is missing from the snapshot")
        } else {
            format!("{name}: file {file} {}", err.explained())
        }
    })?;
    let Some(expected) = &entry.sha256 else {
        return Err(format!(
            "{name}: the manifest has no sha256 for {file}; run `cloudkeur snapshot seal` on a hand-made snapshot"
        ));
    };
    // Hashing and parsing the same bytes side by side; a body that fails its hash is dropped
    // unread, exactly as if it had been checked first.
    let (sha256, parsed) = rayon::join(
        || sha256_hex(&bytes),
        || projection::parse(&bytes, layout, projection),
    );
    if !expected.eq_ignore_ascii_case(&sha256) {
        return Err(format!(
            "{name}: file {file} does not match its sha256 in the manifest (changed after collection)"
        ));
    }
    parsed.map_err(|err| {
        format!(
            "{name}: file {file} is not valid JSON (line {}, column {}): {}",
            err.line(),
            err.column(),
            crate::diag::one_line(&err.to_string())
        )
    })
}

/// The size of a resource's file, to schedule the largest reads first (0 when unknown).
fn file_len(dir: &Path, entry: &ResourceEntry) -> u64 {
    entry
        .file
        .as_ref()
        .and_then(|file| std::fs::metadata(dir.join(file)).ok())
        .map_or(0, |meta| meta.len())
}

/// Whether a read that did not give a body was refused or skipped for good (401, 403, not
/// needed, not selected) rather than failed: only then may a declaration stand in for it
/// (`ResourceData::Unavailable`). Shared with the live scan.
pub(super) fn is_unavailable(entry: &ResourceEntry) -> bool {
    match entry.status {
        ResourceStatus::Ok => false,
        ResourceStatus::NotNeeded => true,
        ResourceStatus::Error => matches!(entry.http_status, Some(401 | 403)),
    }
}

/// Why a resource the manifest marks as failed is unreadable (shared with the live scan, so
/// live and replayed findings read the same).
pub(super) fn failed_read_reason(name: &str, entry: &ResourceEntry) -> String {
    if entry.status == ResourceStatus::NotNeeded {
        let why = entry
            .note
            .as_deref()
            .unwrap_or("not needed (no reason recorded)");
        return format!("{name} was not read: {why}");
    }
    let status = entry
        .http_status
        .map(|s| format!("HTTP {s}: "))
        .unwrap_or_default();
    let error = entry
        .error
        .as_deref()
        .unwrap_or("read failed (no reason recorded)");
    format!("{name} could not be read: {status}{error}")
}

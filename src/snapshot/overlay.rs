//! Overlays (`scan --offline BASE --overlay DIR`): a proposed change, as resource bodies, laid
//! over a snapshot before evaluation, so a pipeline can judge a change before it is made.
//!
//! The overlay directory holds `<resource>.json` files, bodies as the snapshot stores them;
//! each replaces (or adds) that resource. Only the snapshot in memory changes: the base
//! directory is never written.

use super::Snapshot;
use crate::diag::{Diagnostic, Position, parse_json};
use crate::registry::Registry;
use std::path::{Path, PathBuf};

/// The overlay's files, sorted: (resource name, file).
pub fn overlay_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|err| {
        Diagnostic::new(
            dir,
            Position::default(),
            format!("cannot read overlay directory: {err}"),
        )
        .with_fix("point --overlay at a directory of <resource>.json files")
    })?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let Some(resource) = name.strip_suffix(".json") else {
            return Err(Diagnostic::new(
                &path,
                Position::default(),
                "an overlay file must be named <resource>.json",
            )
            .with_fix("rename it after a resource in policies/resources.yaml, e.g. conditional_access_policies.json, or move it out of the overlay"));
        };
        files.push((resource.to_owned(), path));
    }
    files.sort();
    Ok(files)
}

/// Lays the overlay over the snapshot; returns the resources it replaced or added.
pub fn apply_overlay(
    snapshot: &mut Snapshot,
    dir: &Path,
    registry: &Registry,
) -> Result<Vec<String>, Diagnostic> {
    let mut applied = Vec::new();
    for (resource, path) in overlay_files(dir)? {
        let Some(spec) = registry.get(&resource) else {
            let known: Vec<&str> = registry.names().collect();
            let closest = known
                .iter()
                .max_by(|a, b| {
                    strsim::jaro_winkler(a, &resource)
                        .total_cmp(&strsim::jaro_winkler(b, &resource))
                })
                .map(|c| format!("did you mean {c}.json? "))
                .unwrap_or_default();
            return Err(Diagnostic::new(
                &path,
                Position::default(),
                format!("'{resource}' is not a resource of the registry"),
            )
            .with_fix(format!(
                "{closest}name each file after a resource in policies/resources.yaml"
            )));
        };
        let text = std::fs::read_to_string(&path).map_err(|err| {
            Diagnostic::new(&path, Position::default(), format!("cannot read: {err}"))
                .with_fix("check the file's permissions")
        })?;
        let body: serde_json::Value = parse_json(&path, text.trim_start_matches('\u{feff}'))?;
        snapshot.insert_read(resource.clone(), spec.kind, body);
        applied.push(resource);
    }
    Ok(applied)
}

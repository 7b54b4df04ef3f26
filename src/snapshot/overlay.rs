//! Overlays (`scan --offline BASE --overlay DIR`): a proposed change, as resource bodies, laid
//! over a snapshot before evaluation, so a pipeline can judge a change before it is made.
//!
//! The overlay directory holds `<resource>.json` files, bodies as the snapshot stores them;
//! each replaces (or adds) that resource. Only the snapshot in memory changes: the base
//! directory is never written. Every entry must be a regular `<resource>.json` file inside the
//! overlay directory: a directory, FIFO or dangling link is an input error, never skipped.

use super::Snapshot;
use crate::diag::{Diagnostic, Position, parse_json};
use crate::input_file::{Limit, check_inside, read_text_inside};
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
    for entry in entries {
        let entry = entry.map_err(|err| {
            Diagnostic::new(
                dir,
                Position::default(),
                format!("cannot read overlay directory: {err}"),
            )
            .with_fix("check the directory's permissions")
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Dot files (.gitkeep, editor swap files) are not resource bodies.
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Some(resource) = name.strip_suffix(".json") else {
            return Err(Diagnostic::new(
                &path,
                Position::default(),
                "an overlay file must be named <resource>.json",
            )
            .with_fix("rename it after a resource in policies/resources.yaml, e.g. conditional_access_policies.json, or move it out of the overlay"));
        };
        // A proposed change that cannot be read must not be skipped: the gate would then judge
        // the tenant without it and pass.
        check_inside(dir, Path::new(&name), Limit::data()).map_err(|err| {
            err.diagnostic(
                &path,
                "overlay entry",
                "make it a regular JSON file, or move it out of the overlay",
            )
        })?;
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
        let limit = match spec.kind {
            crate::registry::ResourceKind::Object => Limit::DOCUMENT,
            crate::registry::ResourceKind::Collection => Limit::data(),
        };
        let name = path.file_name().unwrap_or_default();
        let text = read_text_inside(dir, Path::new(name), limit)
            .map_err(|err| err.diagnostic(&path, "overlay file", "check the file's permissions"))?;
        let body: serde_json::Value = parse_json(&path, text.trim_start_matches('\u{feff}'))?;
        snapshot.insert_read(resource.clone(), spec.kind, body);
        applied.push(resource);
    }
    Ok(applied)
}

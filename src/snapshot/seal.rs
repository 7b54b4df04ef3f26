//! Recomputes the hashes in a hand-made snapshot's manifest (fixtures, overlays).
//!
//! A collected snapshot is sealed when it is written; this is for people who build or edit one
//! by hand. It does not make a snapshot trustworthy: the archive's hash chain does that.

use super::manifest::{MANIFEST_FILE, Manifest, ResourceStatus};
use crate::diag::{Diagnostic, Position, parse_json};
use crate::digest::sha256_hex;
use std::path::Path;

/// Returns the number of files hashed.
pub fn seal_dir(dir: &Path) -> Result<usize, Diagnostic> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let io_error = |path: &Path, err: std::io::Error| {
        Diagnostic::new(
            path,
            Position::default(),
            format!("cannot read or write: {err}"),
        )
        .with_fix("check that the path is a snapshot directory you may write")
    };
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| io_error(&manifest_path, e))?;
    let mut manifest: Manifest = parse_json(&manifest_path, &text)?;
    let mut count = 0;
    for entry in manifest.resources.values_mut() {
        if entry.status != ResourceStatus::Ok {
            continue;
        }
        if let Some(file) = &entry.file {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
            entry.sha256 = Some(sha256_hex(&bytes));
            count += 1;
        }
    }
    let mut out = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    out.push('\n');
    std::fs::write(&manifest_path, out).map_err(|e| io_error(&manifest_path, e))?;
    Ok(count)
}

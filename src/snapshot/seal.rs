//! Recomputes the hashes in a hand-made snapshot's manifest (fixtures, overlays).
//!
//! A collected snapshot is sealed when it is written; this is for people who build or edit one
//! by hand. It does not make a snapshot trustworthy: the archive's hash chain does that. It
//! hashes only regular files inside the snapshot directory, as the reader reads them: a
//! manifest naming `/etc/passwd` or a link out of the directory is refused, not hashed.

use super::manifest::{MANIFEST_FILE, Manifest, ResourceStatus};
use super::read::{check_manifest, is_plain_file_name};
use crate::diag::{Diagnostic, Position, locate_text, parse_json};
use crate::digest::sha256_hex;
use crate::input_file::{Limit, read_inside, read_text_inside};
use std::path::Path;

/// Returns the number of files hashed.
pub fn seal_dir(dir: &Path) -> Result<usize, Diagnostic> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = read_text_inside(dir, Path::new(MANIFEST_FILE), Limit::DOCUMENT).map_err(|err| {
        err.diagnostic(
            &manifest_path,
            "manifest",
            "check that the path is a snapshot directory you may write",
        )
    })?;
    let mut manifest: Manifest = parse_json(&manifest_path, &text)?;
    check_manifest(&manifest_path, &text, &manifest)?;
    let mut count = 0;
    for entry in manifest.resources.values_mut() {
        if entry.status != ResourceStatus::Ok {
            continue;
        }
        if let Some(file) = &entry.file {
            // check_manifest refused anything else already; kept here so sealing never depends
            // on that order.
            if !is_plain_file_name(file) {
                return Err(Diagnostic::new(
                    &manifest_path,
                    locate_text(&text, file),
                    format!("file '{file}' is not a plain file name inside the snapshot"),
                )
                .with_fix("name a file in the snapshot directory itself, without '/' or '..'"));
            }
            let bytes = read_inside(dir, Path::new(file), Limit::data()).map_err(|err| {
                err.diagnostic(
                    &dir.join(file),
                    "resource file",
                    "add the file, or mark the resource `error` in the manifest",
                )
            })?;
            entry.sha256 = Some(sha256_hex(&bytes));
            count += 1;
        }
    }
    let mut out = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    out.push('\n');
    std::fs::write(&manifest_path, out).map_err(|err| {
        Diagnostic::new(
            &manifest_path,
            Position::default(),
            format!("cannot write: {err}"),
        )
        .with_fix("check that the path is a snapshot directory you may write")
    })?;
    Ok(count)
}

//! `archive verify`: re-hashes every file of every bundle and walks the hash chain.
//!
//! It finds a changed byte (file hash), a file added or removed, a bundle renamed, deleted or
//! moved out of order (sequence and previous-manifest hash), and an edited manifest (the next
//! bundle's link). The newest manifest has no successor to vouch for it: record the head hash
//! that verify prints somewhere else (a ticket, the SIEM) to pin it too. Reads only.

use super::{BUNDLE_FORMAT, BUNDLE_MANIFEST, BundleManifest};
use crate::diag::{Diagnostic, Position};
use crate::digest::sha256_hex;
use crate::input_file::{Limit, read_inside};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// One bundle's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleCheck {
    pub bundle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub manifest_sha256: String,
    /// What is wrong, one sentence each; empty when the bundle is intact.
    pub problems: Vec<String>,
}

/// The whole archive's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub archive: String,
    pub intact: bool,
    pub bundles: Vec<BundleCheck>,
    /// The newest bundle and its manifest hash: keep it elsewhere to pin the head of the chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<super::PreviousBundle>,
}

pub fn verify(dir: &Path) -> Result<Verification, Diagnostic> {
    if !dir.is_dir() {
        return Err(
            Diagnostic::new(dir, Position::default(), "archive directory does not exist")
                .with_fix("name the directory given to `scan --archive`"),
        );
    }
    let names = archive_entries(dir).map_err(|err| {
        Diagnostic::new(
            dir,
            Position::default(),
            format!("cannot read archive: {err}"),
        )
        .with_fix("check the directory's permissions")
    })?;
    let mut bundles = Vec::new();
    let mut previous: Option<(String, String)> = None; // (name, manifest sha256)
    for (index, (name, is_dir)) in names.iter().enumerate() {
        let path = dir.join(name);
        let mut problems = Vec::new();
        if !is_dir {
            // Not followed: what a link points to was never written into this archive.
            problems.push(
                "is not a bundle directory (a symbolic link or another file): the bundle was replaced, or something was added to the archive"
                    .to_owned(),
            );
            bundles.push(BundleCheck {
                bundle: name.clone(),
                sequence: None,
                manifest_sha256: String::new(),
                problems,
            });
            previous = Some((name.clone(), String::new()));
            continue;
        }
        let manifest_bytes = read_inside(&path, Path::new(BUNDLE_MANIFEST), Limit::DOCUMENT);
        let manifest_sha256 = manifest_bytes
            .as_ref()
            .map(|b| sha256_hex(b))
            .unwrap_or_default();
        let manifest: Option<BundleManifest> = match &manifest_bytes {
            Err(err) => {
                problems.push(format!("manifest.json {}", err.explained()));
                None
            }
            Ok(bytes) => match serde_json::from_slice::<BundleManifest>(bytes) {
                Ok(m) if m.format == BUNDLE_FORMAT => Some(m),
                Ok(m) => {
                    problems.push(format!("unsupported bundle format '{}'", m.format));
                    None
                }
                Err(err) => {
                    problems.push(format!("manifest.json is not a bundle manifest: {err}"));
                    None
                }
            },
        };
        if let Some(manifest) = &manifest {
            check_bundle(
                &path,
                name,
                index,
                manifest,
                previous.as_ref(),
                &mut problems,
            );
        }
        bundles.push(BundleCheck {
            bundle: name.clone(),
            sequence: manifest.as_ref().map(|m| m.sequence),
            manifest_sha256: manifest_sha256.clone(),
            problems,
        });
        previous = Some((name.clone(), manifest_sha256));
    }
    Ok(Verification {
        archive: dir.display().to_string(),
        intact: bundles.iter().all(|b| b.problems.is_empty()),
        head: previous.map(|(bundle, manifest_sha256)| super::PreviousBundle {
            bundle,
            manifest_sha256,
        }),
        bundles,
    })
}

fn check_bundle(
    path: &Path,
    name: &str,
    index: usize,
    manifest: &BundleManifest,
    previous: Option<&(String, String)>,
    problems: &mut Vec<String>,
) {
    if manifest.bundle != name {
        problems.push(format!(
            "the manifest names this bundle '{}': it was renamed or moved",
            manifest.bundle
        ));
    }
    let expected = index as u64 + 1;
    if manifest.sequence != expected {
        problems.push(format!(
            "sequence {} at position {expected}: a bundle before it was deleted, or bundles were reordered",
            manifest.sequence
        ));
    }
    match (&manifest.previous, previous) {
        (None, None) => {}
        (None, Some((before, _))) => problems.push(format!(
            "claims to be the first bundle, but {before} comes before it: bundles were reordered"
        )),
        (Some(link), None) => problems.push(format!(
            "links to {}, which is not in the archive: the start of the history was deleted",
            link.bundle
        )),
        (Some(link), Some((before, before_sha))) => {
            if link.bundle != *before {
                problems.push(format!(
                    "links to {} but follows {before}: a bundle was deleted or the order changed",
                    link.bundle
                ));
            } else if !link.manifest_sha256.eq_ignore_ascii_case(before_sha) {
                problems.push(format!(
                    "the manifest of {before} changed after this bundle was written (hash chain broken)"
                ));
            }
        }
    }
    for (file, expected) in &manifest.files {
        if file.split('/').any(|part| part == ".." || part.is_empty()) {
            problems.push(format!("lists an unsafe path '{file}'"));
            continue;
        }
        match read_inside(path, Path::new(file), Limit::data()) {
            Ok(bytes) if sha256_hex(&bytes).eq_ignore_ascii_case(expected) => {}
            Ok(_) => problems.push(format!(
                "{file} changed: its SHA-256 differs from the manifest"
            )),
            Err(err) if err.is_not_found() => problems.push(format!("{file} is missing")),
            Err(err) => problems.push(format!("{file} cannot be verified: it {}", err.explained())),
        }
    }
    let listed: BTreeSet<&str> = manifest
        .files
        .keys()
        .map(String::as_str)
        .chain([BUNDLE_MANIFEST])
        .collect();
    let mut on_disk = Vec::new();
    walk(path, "", &mut on_disk, problems);
    for file in on_disk {
        if !listed.contains(file.as_str()) {
            problems.push(format!("{file} was added after the bundle was written"));
        }
    }
}

/// Every entry of an archive that is not hidden, sorted (bundle names sort by time), and
/// whether it is a real directory (not a link to one).
fn archive_entries(dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            entries.push((name, entry.file_type()?.is_dir()));
        }
    }
    entries.sort();
    Ok(entries)
}

/// The regular files below `dir`; a link or special file anywhere in a bundle is a problem:
/// cloudkeur writes neither.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>, problems: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        problems.push(format!("{} cannot be listed", dir.display()));
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(&entry.path(), &relative, out, problems),
            Ok(kind) if kind.is_file() => out.push(relative),
            Ok(kind) if kind.is_symlink() => problems.push(format!(
                "{relative} is a symbolic link: a bundle holds only the files cloudkeur wrote"
            )),
            _ => problems.push(format!("{relative} is not a regular file")),
        }
    }
}

//! `archive verify`, `archive list`, `diff`, and storing a scan in the archive (`scan --archive`).

use super::plan::{ScanPlan, Source};
use super::{Error, Outcome, emit};
use crate::archive::diff::{Drift, Side, compare};
use crate::archive::{BundleContents, DRIFT_FILE, REPORT_FILE, Written};
use crate::cli::DataFormat;
use crate::terminal::inert;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub(super) fn verify(dir: &Path, format: DataFormat) -> Result<Outcome, Error> {
    let result = crate::archive::verify(dir)?;
    let text = match format {
        DataFormat::Json => json(&result),
        DataFormat::Table => {
            let mut out = String::new();
            for bundle in &result.bundles {
                let status = if bundle.problems.is_empty() {
                    "ok"
                } else {
                    "ALTERED"
                };
                let _ = writeln!(out, "{status:<8} {}", inert(&bundle.bundle));
                for problem in &bundle.problems {
                    let _ = writeln!(out, "         - {}", inert(problem));
                }
            }
            let _ = match (&result.head, result.intact) {
                (Some(head), true) => writeln!(
                    out,
                    "{} bundles intact; head {} manifest sha256 {} (record it elsewhere to pin the newest bundle)",
                    result.bundles.len(),
                    inert(&head.bundle),
                    inert(&head.manifest_sha256)
                ),
                (None, _) => writeln!(out, "the archive holds no bundle"),
                (_, false) => writeln!(
                    out,
                    "{} of {} bundles altered, missing or out of order",
                    result
                        .bundles
                        .iter()
                        .filter(|b| !b.problems.is_empty())
                        .count(),
                    result.bundles.len()
                ),
            };
            out
        }
    };
    emit(None, &text)?;
    Ok(if result.intact {
        Outcome::Compliant
    } else {
        Outcome::NotCompliant
    })
}

pub(super) fn list(dir: &Path, format: DataFormat) -> Result<Outcome, Error> {
    if !dir.is_dir() {
        return Err(Error::Input(
            crate::diag::Diagnostic::new(
                dir,
                Default::default(),
                "archive directory does not exist",
            )
            .with_fix("name the directory given to `scan --archive`"),
        ));
    }
    let rows = crate::archive::list(dir)?;
    let text = match format {
        DataFormat::Json => json(&rows),
        DataFormat::Table => {
            let mut out = format!(
                "{:>4}  {:<34} {:<30} {:<10} {:>4} {:>5} {:>5}  {}\n",
                "seq", "bundle", "tenant", "compliant", "fail", "error", "other", "manifest"
            );
            for row in &rows {
                let count = |key: &str| {
                    row.verdicts
                        .as_ref()
                        .and_then(|v| v.get(key))
                        .copied()
                        .unwrap_or(0)
                };
                let other = count("evidence-missing") + count("evidence-expired");
                let tenant = inert(row.tenant_name.as_deref().unwrap_or(&row.tenant)).into_owned();
                let _ = writeln!(
                    out,
                    "{:>4}  {:<34} {:<30} {:<10} {:>4} {:>5} {:>5}  {}",
                    row.sequence,
                    inert(&row.bundle),
                    tenant.chars().take(30).collect::<String>(),
                    match row.compliant {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "?",
                    },
                    count("fail"),
                    count("error"),
                    other,
                    inert(
                        row.manifest_sha256
                            .get(..16)
                            .unwrap_or(&row.manifest_sha256)
                    )
                );
            }
            out
        }
    };
    emit(None, &text)?;
    Ok(Outcome::Compliant)
}

pub(super) fn diff(old: &Path, new: &Path, format: DataFormat) -> Result<Outcome, Error> {
    let drift = compare(&Side::load(old)?, &Side::load(new)?);
    let text = match format {
        DataFormat::Json => json(&drift),
        DataFormat::Table => drift.to_text(),
    };
    emit(None, &text)?;
    Ok(if drift.newly_failing.is_empty() {
        Outcome::Compliant
    } else {
        Outcome::NotCompliant
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// What a scan hands to the archive.
pub(super) struct ScanRecord<'a> {
    pub report: &'a crate::findings::Report,
    pub report_json: String,
    pub snapshot_dir: &'a Path,
    /// (name inside the bundle, file) for the settings, evidence and waiver files used.
    pub inputs: Vec<(String, PathBuf)>,
}

/// Writes the scan's bundle, with the drift since the previous bundle; says so on stderr.
pub(super) fn store(
    archive: &Path,
    record: ScanRecord<'_>,
) -> Result<(Written, Option<Drift>), Error> {
    let previous = crate::archive::latest(archive)?;
    let drift = match &previous {
        Some((name, _, manifest)) if manifest.tenant != record.report.scan.tenant => {
            crate::logging::warn(
                "no-drift",
                &format!(
                    "no drift: the previous bundle {name} is of tenant {}; keep one archive per tenant",
                    manifest.tenant
                ),
            );
            None
        }
        Some((_, path, _)) => match Side::load(path) {
            Ok(old) => {
                let new = Side {
                    label: "this scan".into(),
                    report: serde_json::to_value(record.report).unwrap_or_default(),
                    snapshot: Some(record.snapshot_dir.to_path_buf()),
                };
                Some(compare(&old, &new))
            }
            // A damaged previous bundle is for `archive verify` to report; the scan goes on.
            Err(err) => {
                crate::logging::warn(
                    "no-drift",
                    &format!("no drift: the previous bundle cannot be read: {err}"),
                );
                None
            }
        },
        None => None,
    };
    let mut files = vec![(REPORT_FILE.to_owned(), record.report_json.into_bytes())];
    if let Some(drift) = &drift {
        files.push((DRIFT_FILE.to_owned(), json(drift).into_bytes()));
    }
    let written = crate::archive::write_bundle(
        archive,
        BundleContents {
            started_at: &record.report.scan.started_at,
            tenant: &record.report.scan.tenant,
            tenant_name: record.report.scan.tenant_name.as_deref(),
            snapshot_dir: record.snapshot_dir,
            copies: record.inputs,
            files,
        },
    )?;
    crate::logging::info(
        "archived",
        &format!(
            "archived as {} (bundle {}, manifest sha256 {})",
            written.path.display(),
            written.sequence,
            written.manifest_sha256
        ),
    );
    if let Some(drift) = &drift {
        crate::logging::info("drift", &drift.summary_line());
    }
    Ok((written, drift))
}

/// For a live scan with `--archive` but no `--snapshot-out`: a hidden snapshot directory inside
/// the archive, removed after the bundle copied it. Returns it so the caller can remove it.
pub(super) fn live_snapshot_dir(plan: &mut ScanPlan) -> Result<Option<PathBuf>, Error> {
    let Some(archive) = &plan.archive else {
        return Ok(None);
    };
    let Source::Live(live) = &mut plan.source else {
        return Ok(None);
    };
    if live.snapshot_out.is_some() {
        return Ok(None);
    }
    std::fs::create_dir_all(archive).map_err(|source| Error::Output {
        path: archive.clone(),
        source,
    })?;
    let dir = archive.join(format!(".snapshot-{}", uuid::Uuid::new_v4().simple()));
    live.snapshot_out = Some(dir.clone());
    Ok(Some(dir))
}

/// Stores a finished scan: its snapshot directory, report and input files.
pub(super) fn store_scan(
    archive: &Path,
    plan: &ScanPlan,
    report: &crate::findings::Report,
    report_json: String,
) -> Result<Written, Error> {
    let snapshot_dir = plan
        .snapshot_dir()
        .cloned()
        .ok_or_else(|| Error::Usage("--archive needs the scan's snapshot directory".into()))?;
    let inputs = [
        ("inputs/settings.yaml", &plan.settings),
        ("inputs/evidence.yaml", &plan.evidence),
        ("inputs/waivers.yaml", &plan.waivers),
    ]
    .into_iter()
    .filter_map(|(name, path)| path.clone().map(|p| (name.to_owned(), p)))
    .collect::<Vec<_>>();
    let mut inputs = inputs;
    if let Some(evidence) = &plan.evidence {
        inputs.extend(evidence_exports(evidence));
    }
    if let Some(overlay) = plan.overlay() {
        for (resource, file) in crate::snapshot::overlay_files(overlay)? {
            inputs.push((format!("overlay/{resource}.json"), file));
        }
    }
    let (written, _) = store(
        archive,
        ScanRecord {
            report,
            report_json,
            snapshot_dir: &snapshot_dir,
            inputs,
        },
    )?;
    Ok(written)
}

/// The JSON exports an evidence file points to (`files:`), as `inputs/<same relative path>`, so
/// that `--evidence <bundle>/inputs/evidence.yaml` finds them again. Exports outside the evidence
/// file's directory (absolute, or through `..`) are not copied.
fn evidence_exports(evidence: &Path) -> Vec<(String, PathBuf)> {
    let Ok(text) = crate::input_file::read_text(evidence, crate::input_file::Limit::DOCUMENT)
    else {
        return Vec::new();
    };
    let Ok(parsed) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let base = evidence.parent().unwrap_or(Path::new("."));
    let mut exports = std::collections::BTreeSet::new();
    for declaration in parsed["declarations"].as_array().into_iter().flatten() {
        for file in declaration["files"].as_object().into_iter().flatten() {
            let Some(relative) = file.1.as_str() else {
                continue;
            };
            let relative = relative.replace('\\', "/");
            // Only what Evidence::load reads: regular files inside the evidence file's directory.
            if let Ok(file) = crate::input_file::check_inside(
                base,
                Path::new(&relative),
                crate::input_file::Limit::DOCUMENT,
            ) {
                exports.insert((relative, file));
            }
        }
    }
    exports
        .into_iter()
        .map(|(relative, file)| (format!("inputs/{relative}"), file))
        .collect()
}

//! `cloudkeur scan`: snapshot → policies → findings → one report.

use super::plan::{ScanPlan, Source};
use super::{Error, Outcome, emit_report};
use crate::cli::{ColorChoice, ScanArgs};
use crate::connector::EarlyStart;
use crate::diag::Diagnostic;
use crate::evidence::Evidence;
use crate::findings::{Report, ScanInfo};
use crate::policy::{Inputs, evaluate};
use crate::pseudonym::{IdentityMode, PseudonymKey, pseudonymise};
use crate::report::{Format, RenderOptions, ocsf_events, render, write_report};
use crate::settings::Settings;
use crate::waiver::Waivers;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(super) fn run(args: ScanArgs, color: ColorChoice) -> Result<Outcome, Error> {
    if args.all {
        return super::fleet::run(&args);
    }
    let (plan, early) = ScanPlan::resolve(&args, color)?;
    // The process ends with this scan: its memory goes back with the process, so nothing
    // waits for the snapshot to be freed.
    execute_then(plan, Freed::AtExit, early)
}

/// What a scan does about the memory of its snapshot and findings once it has reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freed {
    /// Wait until it is freed: more scans follow in this process (`scan --all`).
    Before,
    /// Let the process's exit take it back: the findings are not freed, nor the snapshot
    /// unless something large is built after evaluating (then the thread that frees it is not
    /// waited for).
    AtExit,
}

/// Runs a resolved scan, keeping it in the archive when the plan says so; returns once its
/// snapshot is freed (more scans may follow in this process).
pub(super) fn execute(plan: ScanPlan) -> Result<Outcome, Error> {
    execute_then(plan, Freed::Before, None)
}

/// `early`: the live scan's Graph token, asked for while the plan was resolved.
fn execute_then(
    mut plan: ScanPlan,
    freed: Freed,
    early: Option<EarlyStart>,
) -> Result<Outcome, Error> {
    // A live scan kept in the archive writes its snapshot first, so the bundle can copy it.
    let archive_snapshot = super::archive_cmd::live_snapshot_dir(&mut plan)?;
    let mut freeing = None;
    let outcome = run_scan(&plan, freed, &mut freeing, early);
    if let Some(dir) = archive_snapshot {
        crate::snapshot::remove_written_snapshot(&dir);
    }
    if let (Some(freeing), Freed::Before) = (freeing, freed) {
        let _ = freeing.join();
    }
    outcome
}

/// Runs the scan; `freeing` receives the thread that frees the snapshot meanwhile, if one
/// does (see [`Freed`]).
fn run_scan(
    plan: &ScanPlan,
    freed: Freed,
    freeing: &mut Option<std::thread::JoinHandle<()>>,
    early: Option<EarlyStart>,
) -> Result<Outcome, Error> {
    let pack = &*plan.pack;
    let (settings, settings_sha256) = match &plan.settings {
        Some(path) => {
            let (settings, sha256) = Settings::load(path, &pack.catalog)?;
            (settings, Some(sha256))
        }
        None => (Settings::default(), None),
    };
    let started_at = now();
    let mut snapshot = match &plan.source {
        Source::Offline { dir, vendor, .. } => {
            let snapshot = crate::snapshot::read_dir(dir, &pack.registry, &pack.projections())?;
            if let Some(vendor) = vendor
                && *vendor != snapshot.vendor()
            {
                return Err(Error::Usage(format!(
                    "--vendor {vendor}, but the snapshot {} is of {} (its manifest says so); leave --vendor out with --offline, or give a snapshot of {}",
                    dir.display(),
                    snapshot.vendor().suite(),
                    vendor.suite()
                )));
            }
            snapshot
        }
        Source::Live(live) => super::live::snapshot(live, pack, &pack.projections(), now, early)?,
    };
    let base = super::gate::lay_overlay(&mut snapshot, plan)?;
    let evidence = match &plan.evidence {
        Some(path) => Evidence::load(path, &pack.catalog)?,
        None => Evidence::default(),
    };
    let waivers = match &plan.waivers {
        Some(path) => Waivers::load(path, &pack.catalog, &plan.all_policies)?,
        None => Waivers::default(),
    };
    let today = plan
        .date
        .unwrap_or_else(|| OffsetDateTime::now_utc().date());
    let inputs = Inputs {
        snapshot: &snapshot,
        settings: &settings,
        evidence: &evidence,
        today,
    };
    let mut findings = evaluate(pack, inputs);
    let base_breaches = super::gate::base_breaches(base.as_ref(), pack, inputs, &waivers, plan);
    // Nothing reads the resources past evaluation. Freeing 100 MB of parsed JSON takes a core
    // for tens of milliseconds, which pseudonymising and writing 25 000 failing items then
    // share; it is worth that only when something large is built afterwards (a report held
    // whole with every item, the archive's copy, syslog's events, the next scan of `--all`),
    // which then reuses the memory instead of adding to the peak. Another thread frees it
    // meanwhile (inline if no thread can be started). Otherwise the process's exit takes it
    // back, all at once.
    let meta = snapshot.meta.clone();
    let vendor = snapshot.vendor();
    if freed == Freed::AtExit && !builds_large_after_evaluation(plan) {
        std::mem::forget((snapshot, base));
    } else {
        *freeing = std::thread::Builder::new()
            .name("free-snapshot".into())
            .spawn(move || drop((snapshot, base)))
            .ok();
    }
    // Waivers name items by their real labels: apply them before pseudonymisation.
    let waiver_states = crate::waiver::apply(&mut findings, &waivers, today);
    let identities = protect_identities(&mut findings, &meta.tenant_id, plan)?;
    let scan = ScanInfo {
        vendor,
        tenant: meta.tenant_id,
        tenant_name: meta.tenant_name,
        source: meta.source,
        collected_at: meta.collected_at,
        started_at,
        finished_at: now(),
        snapshot_sha256: meta.manifest_sha256,
        identities,
        settings_sha256,
    };
    let mut report = Report::new(scan, findings);
    if !waivers.is_empty() {
        crate::logging::info("waivers", &crate::waiver::summary_line(&waiver_states));
    }
    report.waivers = waiver_states;
    let output = &plan.output;
    let options = RenderOptions {
        lang: output.lang,
        color: output.color,
        width: output.width,
        max_items: output.max_items,
    };
    emit_report(output.file.as_deref(), |out| {
        write_report(output.format, &report, &pack.catalog, &options, out)
    })?;
    let file_options = RenderOptions {
        color: false,
        ..options
    };
    for target in &output.reports {
        emit_report(Some(&target.path), |out| {
            write_report(target.format, &report, &pack.catalog, &file_options, out)
        })?;
    }
    if let Some(syslog) = &output.syslog {
        crate::syslog::send(syslog, &ocsf_events(&report, output.lang))?;
    }
    if let Some(archive) = &plan.archive {
        let report_json = render(Format::Json, &report, &pack.catalog, &file_options);
        super::archive_cmd::store_scan(archive, plan, &report, report_json)?;
    }
    let outcome = super::gate::outcome(&report, plan, &base_breaches);
    crate::logging::scan_finished(&report, outcome.exit_code());
    // As the snapshot above: when the process ends with this scan, its exit takes the findings
    // back at once, where freeing 100 000 listed items one by one took a core ~20 ms after the
    // report was written.
    if freed == Freed::AtExit {
        std::mem::forget(report);
    }
    Ok(outcome)
}

/// Whether the scan builds anything large once the findings are made: a report held whole
/// with every item, the archive's JSON copy, or syslog's events.
fn builds_large_after_evaluation(plan: &ScanPlan) -> bool {
    let output = &plan.output;
    output.format.built_whole_with_every_item()
        || output
            .reports
            .iter()
            .any(|target| target.format.built_whole_with_every_item())
        || output.syslog.is_some()
        || plan.archive.is_some()
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Pseudonymises account names in the findings unless the operator asked to reveal them.
fn protect_identities(
    findings: &mut [crate::findings::Finding],
    tenant: &str,
    plan: &ScanPlan,
) -> Result<IdentityMode, Error> {
    if plan.identities.reveal {
        return Ok(IdentityMode::Revealed);
    }
    let (key, mode) = match &plan.identities.key_file {
        Some(path) => {
            let bytes = crate::input_file::read(path, crate::input_file::Limit::KEY).map_err(|err| {
                Error::Input(err.diagnostic(path, "pseudonym key file",
                    "create one with `head -c 32 /dev/urandom > FILE`, or leave --pseudonym-key-file out"))
            })?;
            let key = PseudonymKey::from_bytes(bytes).ok_or_else(|| {
                Error::Input(
                    Diagnostic::new(
                        path,
                        Default::default(),
                        "pseudonym key file holds fewer than 16 bytes",
                    )
                    .with_fix("create one with `head -c 32 /dev/urandom > FILE`"),
                )
            })?;
            (key, IdentityMode::Pseudonymised)
        }
        None => {
            let key = PseudonymKey::random().map_err(|err| {
                Error::Usage(format!(
                    "no randomness for a per-scan pseudonym key: {err}; pass --pseudonym-key-file"
                ))
            })?;
            (key, IdentityMode::PseudonymisedPerScan)
        }
    };
    pseudonymise(findings, tenant, &key);
    Ok(mode)
}

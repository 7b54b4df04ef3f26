//! `cloudkeur scan`: snapshot → policies → findings → one report.

use super::{Error, Outcome, emit, pack_source, stdout_is_terminal, table_width, use_color};
use crate::cli::{ColorChoice, ScanArgs};
use crate::diag::Diagnostic;
use crate::evidence::Evidence;
use crate::findings::{Report, ScanInfo};
use crate::policy::{Inputs, PolicyPack, evaluate};
use crate::pseudonym::{IdentityMode, PseudonymKey, pseudonymise};
use crate::report::{Format, RenderOptions, ocsf_events, render};
use crate::settings::Settings;
use crate::waiver::Waivers;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(super) fn run(mut args: ScanArgs, color: ColorChoice) -> Result<Outcome, Error> {
    if args.all {
        return super::fleet::run(&args);
    }
    if args.offline.is_some() && args.live.snapshot_out.is_some() {
        return Err(Error::Usage(
            "--snapshot-out writes what a live scan read; it cannot be used with --offline".into(),
        ));
    }
    // A live scan kept in the archive writes its snapshot first, so the bundle can copy it.
    let archive_snapshot = super::archive_cmd::live_snapshot_dir(&mut args)?;
    let outcome = run_scan(&args, color);
    if let Some(dir) = archive_snapshot {
        let _ = std::fs::remove_dir_all(dir);
    }
    outcome
}

fn run_scan(args: &ScanArgs, color: ColorChoice) -> Result<Outcome, Error> {
    let mut pack = PolicyPack::load(&pack_source(args.policies.dir.clone()))?;
    let all_policies: std::collections::BTreeSet<String> =
        pack.policies.iter().map(|p| p.id.clone()).collect();
    pack.retain(&args.only);
    if pack.policies.is_empty() {
        return Err(Error::Usage(format!(
            "--only {} matches no policy or control; see `cloudkeur policy list`",
            args.only.join(",")
        )));
    }
    let (settings, settings_sha256) = match &args.config {
        Some(path) => {
            let (settings, sha256) = Settings::load(path, &pack.catalog)?;
            (settings, Some(sha256))
        }
        None => (Settings::default(), None),
    };
    let started_at = now();
    let mut snapshot = match &args.offline {
        Some(dir) => crate::snapshot::read_dir(dir, &pack.registry, &pack.projections())?,
        None => super::live::snapshot(&args.live, &pack, &pack.projections(), now)?,
    };
    let base = super::gate::lay_overlay(&mut snapshot, args, &pack)?;
    let evidence = match &args.evidence {
        Some(path) => Evidence::load(path, &pack.catalog)?,
        None => Evidence::default(),
    };
    let waivers = match &args.waivers {
        Some(path) => Waivers::load(path, &pack.catalog, &all_policies)?,
        None => Waivers::default(),
    };
    let today = args
        .date
        .unwrap_or_else(|| OffsetDateTime::now_utc().date());
    let inputs = Inputs {
        snapshot: &snapshot,
        settings: &settings,
        evidence: &evidence,
        today,
    };
    let mut findings = evaluate(&pack, inputs);
    let base_breaches = super::gate::base_breaches(base.as_ref(), &pack, inputs, &waivers, args);
    // Nothing reads the resources past evaluation: free them now, so that pseudonymising and
    // rendering a report of tens of thousands of failing items reuse their memory instead of
    // adding to the peak. Freeing 100 MB of parsed JSON takes tens of milliseconds, so another
    // thread does it meanwhile (inline if no thread can be started).
    let meta = snapshot.meta.clone();
    let freeing = std::thread::Builder::new()
        .name("free-snapshot".into())
        .spawn(move || drop((snapshot, base)))
        .ok();
    // Waivers name items by their real labels: apply them before pseudonymisation.
    let waiver_states = crate::waiver::apply(&mut findings, &waivers, today);
    let identities = protect_identities(&mut findings, &meta.tenant_id, args)?;
    let scan = ScanInfo {
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
    // The table is coloured only on a terminal; every other rendering is plain.
    let to_terminal = args.output.is_none() && stdout_is_terminal();
    let options = RenderOptions {
        lang: args.lang,
        color: args.format == Format::Table && use_color(color, to_terminal),
        width: table_width(),
        max_items: args.max_items,
    };
    let text = render(args.format, &report, &pack.catalog, &options);
    emit(args.output.as_deref(), &text)?;
    let file_options = RenderOptions {
        color: false,
        ..options
    };
    for target in &args.reports {
        let text = render(target.format, &report, &pack.catalog, &file_options);
        emit(Some(&target.path), &text)?;
    }
    if let Some(syslog) = &args.syslog {
        crate::syslog::send(syslog, &ocsf_events(&report, args.lang))?;
    }
    if let Some(archive) = &args.archive {
        let report_json = render(Format::Json, &report, &pack.catalog, &file_options);
        super::archive_cmd::store_scan(archive, args, &report, report_json)?;
    }
    let outcome = super::gate::outcome(&report, args, &base_breaches);
    crate::logging::scan_finished(&report, outcome.exit_code());
    if let Some(freeing) = freeing {
        let _ = freeing.join();
    }
    Ok(outcome)
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
    args: &ScanArgs,
) -> Result<IdentityMode, Error> {
    if args.reveal_identities {
        return Ok(IdentityMode::Revealed);
    }
    let (key, mode) = match &args.pseudonym_key_file {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|err| {
                Error::Input(Diagnostic::new(path, Default::default(), format!("cannot read pseudonym key file: {err}"))
                    .with_fix("create one with `head -c 32 /dev/urandom > FILE`, or leave --pseudonym-key-file out"))
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

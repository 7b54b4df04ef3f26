//! `cloudkeur scan`: snapshot → policies → findings → one report.

use super::{Error, Outcome, emit, pack_source, stdout_is_terminal, table_width, use_color};
use crate::cli::{ColorChoice, ScanArgs};
use crate::findings::{Report, ScanInfo};
use crate::policy::{PolicyPack, evaluate};
use crate::report::{Format, RenderOptions, render_json, render_table};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(super) fn run(args: ScanArgs, color: ColorChoice) -> Result<Outcome, Error> {
    if args.offline.is_some() && args.live.snapshot_out.is_some() {
        return Err(Error::Usage(
            "--snapshot-out writes what a live scan read; it cannot be used with --offline".into(),
        ));
    }
    let mut pack = PolicyPack::load(&pack_source(args.policies.dir))?;
    pack.retain(&args.only);
    if pack.policies.is_empty() {
        return Err(Error::Usage(format!(
            "--only {} matches no policy or control; see `cloudkeur policy list`",
            args.only.join(",")
        )));
    }
    let started_at = now();
    let snapshot = match &args.offline {
        Some(dir) => crate::snapshot::read_dir(dir, &pack.registry, &pack.needed_resources())?,
        None => super::live::snapshot(&args.live, &pack, &pack.needed_resources(), now)?,
    };
    let findings = evaluate(&pack, &snapshot);
    let scan = ScanInfo {
        tenant: snapshot.meta.tenant_id.clone(),
        tenant_name: snapshot.meta.tenant_name.clone(),
        source: snapshot.meta.source.clone(),
        collected_at: snapshot.meta.collected_at.clone(),
        started_at,
        finished_at: now(),
        snapshot_sha256: snapshot.meta.manifest_sha256.clone(),
    };
    let report = Report::new(scan, findings);
    let text = match args.format {
        Format::Json => render_json(&report),
        Format::Table => {
            let to_terminal = args.output.is_none() && stdout_is_terminal();
            let options = RenderOptions {
                lang: args.lang,
                color: use_color(color, to_terminal),
                width: table_width(),
            };
            render_table(&report, &options)
        }
    };
    emit(args.output.as_deref(), &text)?;
    Ok(if report.passes_gate(args.fail_on) {
        Outcome::Compliant
    } else {
        Outcome::NotCompliant
    })
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

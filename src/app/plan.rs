//! A scan, resolved once. The flags, the environment and the files that decide what a scan does
//! (the policy pack, the credential, the service origins, where reports go, whether the table is
//! coloured) become a [`ScanPlan`] here; running it (`scan::execute`) sees no flag. `scan --all`
//! builds one plan per tenant from the same resolved pieces and runs each.

use super::{Error, pack_source, stdout_is_terminal, table_width, use_color};
use crate::cli::{ColorChoice, Gate, ReportTarget, ScanArgs, SyslogTarget};
use crate::connector::google::GoogleConfig;
use crate::connector::{EarlyStart, LiveConfig};
use crate::findings::{Lang, Severity};
use crate::policy::PolicyPack;
use crate::report::Format;
use crate::vendor::Vendor;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything one scan needs, resolved.
#[derive(Debug, Clone)]
pub(super) struct ScanPlan {
    /// The policies selected with `--only` (and the registry and catalogue they come with).
    pub pack: Arc<PolicyPack>,
    /// Every policy id of the pack before `--only`: a waiver may name any of them.
    pub all_policies: Arc<BTreeSet<String>>,
    pub source: Source,
    /// `--config`, `--evidence`, `--waivers`.
    pub settings: Option<PathBuf>,
    pub evidence: Option<PathBuf>,
    pub waivers: Option<PathBuf>,
    /// `--date`; today (UTC) when not given.
    pub date: Option<time::Date>,
    pub output: Output,
    pub archive: Option<PathBuf>,
    pub identities: Identities,
}

/// Where the tenant's data comes from.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// A snapshot directory, with an overlay laid over it for the change gate.
    Offline {
        dir: PathBuf,
        overlay: Option<PathBuf>,
        /// `--gate new-only`: only findings the overlay introduces decide the exit code.
        new_only: bool,
        /// `--vendor`: the suite the snapshot must be of, when given.
        vendor: Option<Vendor>,
    },
    Live(Box<LivePlan>),
}

/// Who a live scan reads, and how: one vendor's connectors' configuration.
#[derive(Debug, Clone)]
pub(super) enum LiveTarget {
    Microsoft(LiveConfig),
    Google(GoogleConfig),
}

/// A live scan: the connectors' configuration and what to do with what they read.
#[derive(Debug, Clone)]
pub(super) struct LivePlan {
    pub target: LiveTarget,
    pub snapshot_out: Option<PathBuf>,
    /// Draw a progress bar (only on a terminal, and not with `--quiet`).
    pub progress: bool,
}

/// How the report is rendered and where it goes.
#[derive(Debug, Clone)]
pub(super) struct Output {
    pub format: Format,
    /// `--output`; standard output when `None`.
    pub file: Option<PathBuf>,
    pub reports: Vec<ReportTarget>,
    pub lang: Lang,
    /// Colour the table (decided once: a terminal, `--color`, NO_COLOR).
    pub color: bool,
    pub width: usize,
    /// `--max-items`: items listed per finding in HTML, Markdown and JUnit.
    pub max_items: usize,
    pub syslog: Option<SyslogTarget>,
    pub fail_on: Severity,
}

/// How account names appear in findings.
#[derive(Debug, Clone)]
pub(super) struct Identities {
    pub reveal: bool,
    pub key_file: Option<PathBuf>,
}

impl ScanPlan {
    /// Resolves a single scan's flags (not `--all`). A live Microsoft 365 scan's Graph token is
    /// asked for while the pack loads ([`EarlyStart`]): the live flags and the credential are
    /// resolved first (no request is sent when they are wrong), their error reported after the
    /// pack's, as before. A pack that does not load, or a `--only` that matches nothing, may
    /// then be found after that one token request; never after a read.
    pub fn resolve(
        args: &ScanArgs,
        color: ColorChoice,
    ) -> Result<(ScanPlan, Option<EarlyStart>), Error> {
        let target = args.offline.is_none().then(|| super::live::resolve(args));
        let early = match &target {
            Some(Ok(LiveTarget::Microsoft(config))) => EarlyStart::begin(config),
            _ => None,
        };
        let (pack, all_policies) = load_pack(args)?;
        let source = match &args.offline {
            Some(dir) => {
                if args.live.snapshot_out.is_some() {
                    return Err(Error::Usage(
                        "--snapshot-out writes what a live scan read; it cannot be used with --offline".into(),
                    ));
                }
                Source::Offline {
                    dir: dir.clone(),
                    overlay: args.overlay.clone(),
                    new_only: args.gate == Gate::NewOnly,
                    vendor: args.vendor,
                }
            }
            None => Source::Live(Box::new(LivePlan {
                target: target.unwrap_or_else(|| super::live::resolve(args))?,
                snapshot_out: args.live.snapshot_out.clone(),
                progress: !args.live.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            })),
        };
        Ok((
            Self::assemble(args, color, pack, all_policies, source),
            early,
        ))
    }

    /// The plan of `args` reading `source` with `pack`: `scan --all` assembles one per tenant
    /// (and then gives each its own inputs and outputs).
    pub fn assemble(
        args: &ScanArgs,
        color: ColorChoice,
        pack: Arc<PolicyPack>,
        all_policies: Arc<BTreeSet<String>>,
        source: Source,
    ) -> ScanPlan {
        let to_terminal = args.output.is_none() && stdout_is_terminal();
        ScanPlan {
            pack,
            all_policies,
            source,
            settings: args.config.clone(),
            evidence: args.evidence.clone(),
            waivers: args.waivers.clone(),
            date: args.date,
            output: Output {
                format: args.format,
                file: args.output.clone(),
                reports: args.reports.clone(),
                lang: args.lang,
                color: args.format == Format::Table && use_color(color, to_terminal),
                width: table_width(),
                max_items: args.max_items,
                syslog: args.syslog.clone(),
                fail_on: args.fail_on,
            },
            archive: args.archive.clone(),
            identities: Identities {
                reveal: args.reveal_identities,
                key_file: args.pseudonym_key_file.clone(),
            },
        }
    }

    /// The snapshot directory the scan reads or writes, if any (for the archive).
    pub fn snapshot_dir(&self) -> Option<&PathBuf> {
        match &self.source {
            Source::Offline { dir, .. } => Some(dir),
            Source::Live(live) => live.snapshot_out.as_ref(),
        }
    }

    pub fn overlay(&self) -> Option<&PathBuf> {
        match &self.source {
            Source::Offline { overlay, .. } => overlay.as_ref(),
            Source::Live(_) => None,
        }
    }

    pub fn new_only(&self) -> bool {
        matches!(self.source, Source::Offline { new_only: true, .. })
    }
}

/// The pack (`--policies` or the built-in one) narrowed to `--only`, and every policy id it had.
pub(super) fn load_pack(
    args: &ScanArgs,
) -> Result<(Arc<PolicyPack>, Arc<BTreeSet<String>>), Error> {
    let mut pack = PolicyPack::load(&pack_source(args.policies.dir.clone()))?;
    pack.drop_examples();
    let all_policies: BTreeSet<String> = pack.policies.iter().map(|p| p.id.clone()).collect();
    pack.retain(&args.only);
    if pack.policies.is_empty() {
        return Err(Error::Usage(format!(
            "--only {} matches no policy or control; see `cloudkeur policy list`",
            args.only.join(",")
        )));
    }
    Ok((Arc::new(pack), Arc::new(all_policies)))
}

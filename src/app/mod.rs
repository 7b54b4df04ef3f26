//! The command layer: resolves flags and environment once, runs a command, and says how it ended.
//!
//! This is the only place that reads the environment (NO_COLOR, COLUMNS, terminal checks); the
//! stages below it receive plain values.

mod archive_cmd;
mod catalog_doc;
mod fleet;
mod gate;
mod live;
mod permissions;
mod plan;
mod policy_cmd;
mod scan;

use crate::cli::{ArchiveCommand, Cli, ColorChoice, Command, PolicyCommand, SnapshotCommand};
use crate::diag::Diagnostic;
use crate::policy::PackSource;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// How a command that ran to the end came out; maps to exit codes 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Compliant,
    NotCompliant,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Compliant => 0,
            Outcome::NotCompliant => 1,
        }
    }
}

/// Everything that stops a command before it can judge: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Input(#[from] Diagnostic),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Syslog(#[from] crate::syslog::SyslogError),
    #[error("{0}")]
    Live(#[from] crate::connector::ConnectorError),
    #[error("{0}")]
    SnapshotWrite(#[from] crate::snapshot::WriteError),
    #[error("{0}")]
    Archive(#[from] crate::archive::ArchiveError),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        2
    }
}

pub fn run(cli: Cli) -> Result<Outcome, Error> {
    crate::allocator::tune();
    let color = cli.color;
    crate::input_file::set_max_file_size(cli.max_file_size);
    match cli.command {
        Command::Scan(args) => scan::run(args, color),
        Command::Permissions(args) => permissions::run(args),
        Command::Policy(PolicyCommand::List {
            policies,
            format,
            lang,
        }) => policy_cmd::list(&pack_source(policies.dir), format, lang),
        Command::Policy(PolicyCommand::Test { dir }) => policy_cmd::test(&pack_source(dir)),
        Command::Archive(ArchiveCommand::Verify { dir, format }) => {
            archive_cmd::verify(&dir, format)
        }
        Command::Archive(ArchiveCommand::List { dir, format }) => archive_cmd::list(&dir, format),
        Command::Diff(args) => archive_cmd::diff(&args.old, &args.new, args.format),
        Command::Snapshot(SnapshotCommand::Seal { dir }) => {
            let count = crate::snapshot::seal_dir(&dir)?;
            eprintln!(
                "sealed {}: {count} resource files hashed",
                crate::terminal::inert(&dir.display().to_string())
            );
            Ok(Outcome::Compliant)
        }
    }
}

fn pack_source(dir: Option<PathBuf>) -> PackSource {
    dir.map_or(PackSource::BuiltIn, PackSource::Dir)
}

/// Colour only on a terminal, and never when NO_COLOR is set to anything non-empty.
fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    color_decision(choice, to_terminal, no_color)
}

/// `auto`: colour on a terminal unless NO_COLOR (<https://no-color.org>) is set and non-empty.
fn color_decision(choice: ColorChoice, to_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && !no_color,
    }
}

fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Table width: COLUMNS when the shell exports it, else 100.
fn table_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|w| *w >= 60)
        .unwrap_or(100)
}

/// Writes a rendered text to the file, or to standard output when no path is given.
fn emit(output: Option<&Path>, text: &str) -> Result<(), Error> {
    emit_report(output, |out| out.write_all(text.as_bytes()))
}

/// Room in front of a report's file or standard output: large enough that a report of tens of
/// megabytes takes a few hundred writes, small enough to stay in the cache while it is refilled.
const REPORT_BUFFER: usize = 256 * 1024;

/// Writes a report to `output` (standard output when `None`) as `write` produces it, without
/// holding it whole: a file that cannot be written is an error of the scan naming it, a closed
/// pipe on standard output (`| head`) is not.
fn emit_report(
    output: Option<&Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    use std::io::Write;
    match output {
        Some(path) => std::fs::File::create(path)
            .and_then(|file| {
                let mut out = std::io::BufWriter::with_capacity(REPORT_BUFFER, file);
                write(&mut out)?;
                out.flush()
            })
            .map_err(|source| Error::Output {
                path: path.to_path_buf(),
                source,
            }),
        None => {
            let mut out =
                std::io::BufWriter::with_capacity(REPORT_BUFFER, std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error of the scan.
            let _ = write(&mut out).and_then(|()| out.flush());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report written straight to its file holds what `emit` writes of the rendered text, and
    /// a file that cannot be created is an output error naming it, as with `emit`.
    #[test]
    fn a_report_written_straight_is_the_text_emit_writes() {
        use crate::report::{Format, RenderOptions, render, write_report};
        let dir = tempfile::tempdir().expect("temporary directory");
        let report = crate::report::many_items_report(3000);
        let catalog = crate::catalog::Catalog::default();
        let options = RenderOptions {
            lang: crate::findings::Lang::En,
            color: false,
            width: 100,
            max_items: 50,
        };
        for format in [Format::Json, Format::Csv, Format::Html] {
            let straight = dir.path().join("straight");
            let rendered = dir.path().join("rendered");
            emit_report(Some(&straight), |out| {
                write_report(format, &report, &catalog, &options, out)
            })
            .expect("writes");
            emit(
                Some(&rendered),
                &render(format, &report, &catalog, &options),
            )
            .expect("writes");
            let straight = std::fs::read(&straight).expect("written");
            assert!(straight.len() > REPORT_BUFFER || format != Format::Json);
            assert_eq!(straight, std::fs::read(&rendered).expect("written"));
        }
        let missing = dir.path().join("no-such-dir").join("report.json");
        let err = emit_report(Some(&missing), |out| out.write_all(b"{}"))
            .expect_err("the directory does not exist");
        assert!(
            matches!(&err, Error::Output { path, .. } if *path == missing),
            "{err}"
        );
    }

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        assert!(color_decision(ColorChoice::Auto, true, false));
        assert!(!color_decision(ColorChoice::Auto, false, false));
        assert!(!color_decision(ColorChoice::Auto, true, true));
    }

    #[test]
    fn always_and_never_override_the_terminal_check() {
        assert!(color_decision(ColorChoice::Always, false, true));
        assert!(!color_decision(ColorChoice::Never, true, false));
    }
}

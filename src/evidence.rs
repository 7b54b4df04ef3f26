//! Declared evidence (`--evidence FILE`): what the operator states for controls Graph cannot read,
//! who stated it, when, the document that proves it, and until when the statement holds.
//!
//! The scanner checks that a declaration exists, carries what its policy needs, and has not
//! expired; policies then judge the declared values like any other data. Files a declaration
//! points to (e.g. a Teams meeting policy exported with PowerShell) are read here, once.

use crate::catalog::Catalog;
use crate::diag::{Diagnostic, locate_text, parse_yaml};
use crate::input_file::{Limit, read_text, read_text_inside};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::Date;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceFile {
    declarations: Vec<Declaration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declaration {
    control: String,
    /// What holds, in a sentence.
    statement: String,
    /// The role that declares it (e.g. "DPO", "ICT-coördinator"); a name is optional.
    declared_by: String,
    declared_on: String,
    valid_until: String,
    /// The document that proves it: contract, DPA, DPIA, restore-test report, with its reference.
    document: String,
    #[serde(default)]
    values: Map<String, Value>,
    /// Name → JSON file (relative to the evidence file), e.g. a Teams meeting policy export.
    #[serde(default)]
    files: BTreeMap<String, PathBuf>,
}

/// All declarations, as one JSON document keyed by control ID: what rules read.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    by_control: Map<String, Value>,
}

pub const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Evidence {
    pub fn load(file: &Path, catalog: &Catalog) -> Result<Self, Diagnostic> {
        let text = read_text(file, Limit::DOCUMENT).map_err(|err| {
            err.diagnostic(
                file,
                "evidence file",
                "pass an existing YAML file to --evidence (README: evidence file)",
            )
        })?;
        let parsed: EvidenceFile = parse_yaml(file, &text)?;
        let base = file.parent().unwrap_or(Path::new("."));
        let mut by_control = Map::new();
        for declaration in parsed.declarations {
            let at = locate_text(&text, &format!("control: {}", declaration.control));
            let error =
                |message: String, fix: &str| Diagnostic::new(file, at, message).with_fix(fix);
            if catalog.get(&declaration.control).is_none() {
                return Err(error(
                    format!("unknown control '{}'", declaration.control),
                    "use a control ID from `cloudkeur policy list`",
                ));
            }
            if by_control.contains_key(&declaration.control) {
                return Err(error(
                    format!("{} is declared twice", declaration.control),
                    "keep one declaration per control",
                ));
            }
            let declared_on = parse_date(&declaration.declared_on).ok_or_else(|| {
                error(
                    format!("declared_on '{}' is not a date", declaration.declared_on),
                    "write it as YYYY-MM-DD",
                )
            })?;
            let valid_until = parse_date(&declaration.valid_until).ok_or_else(|| {
                error(
                    format!("valid_until '{}' is not a date", declaration.valid_until),
                    "write it as YYYY-MM-DD",
                )
            })?;
            if valid_until < declared_on {
                return Err(error(
                    format!("{}: valid_until is before declared_on", declaration.control),
                    "correct the dates",
                ));
            }
            for (field, value) in [
                ("statement", &declaration.statement),
                ("declared_by", &declaration.declared_by),
                ("document", &declaration.document),
            ] {
                if value.trim().is_empty() {
                    return Err(error(
                        format!("{}: `{field}` is empty", declaration.control),
                        "say what holds, who declares it and which document proves it",
                    ));
                }
            }
            let mut files = Map::new();
            for (name, relative) in &declaration.files {
                let path = base.join(relative);
                // An export is named by the file, so it is read like a snapshot's files: a
                // regular file inside the evidence file's directory, within the limit.
                let body = read_text_inside(base, relative, Limit::DOCUMENT).map_err(|err| {
                    error(
                        format!("{}: file '{}' {err}", declaration.control, path.display()),
                        err.fix().unwrap_or(
                            "give a path relative to the evidence file, inside its directory",
                        ),
                    )
                })?;
                let json: Value = serde_json::from_str(body.trim_start_matches('\u{feff}'))
                    .map_err(|err| {
                        error(
                            format!(
                                "{}: file '{}' is not JSON: {err}",
                                declaration.control,
                                path.display()
                            ),
                            "export it with `| ConvertTo-Json -Depth 5`",
                        )
                    })?;
                // PowerShell writes one object for one result and an array for several; policies
                // always see a list.
                files.insert(
                    name.clone(),
                    if json.is_array() {
                        json
                    } else {
                        Value::Array(vec![json])
                    },
                );
            }
            let mut entry = Map::new();
            entry.insert("statement".into(), Value::String(declaration.statement));
            entry.insert("declared_by".into(), Value::String(declaration.declared_by));
            entry.insert("declared_on".into(), Value::String(declaration.declared_on));
            entry.insert("valid_until".into(), Value::String(declaration.valid_until));
            entry.insert("document".into(), Value::String(declaration.document));
            entry.insert("values".into(), Value::Object(declaration.values));
            entry.insert("files".into(), Value::Object(files));
            by_control.insert(declaration.control, Value::Object(entry));
        }
        Ok(Evidence { by_control })
    }

    /// Builds evidence from already-parsed declarations (policy examples).
    pub fn from_declarations(by_control: Map<String, Value>) -> Self {
        Evidence { by_control }
    }

    pub fn declaration(&self, control: &str) -> Option<&Value> {
        self.by_control.get(control)
    }
}

/// `YYYY-MM-DD`, or the date of an RFC 3339 time (`2026-10-14T08:00:00Z`, as Graph writes
/// times) or of a time without offset (`2026-10-14T08:00:00`). The whole text must be one of
/// these: `2027-12-31 but only if …` is not a date. Every date cloudkeur reads (evidence,
/// waivers, `--date`, examples, dates in tenant data) is parsed here.
pub fn parse_date(text: &str) -> Option<Date> {
    // `[year]` also reads a signed year (`-0553-10-14`), and the RFC 3339 parser takes any
    // character between date and time (`2026-10-14U08:00:00Z`); both found by fuzzing, neither
    // a date anyone writes.
    let bytes = text.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit) || (bytes.len() > 10 && bytes[10] != b'T') {
        return None;
    }
    Date::parse(text, DATE_FORMAT)
        .ok()
        .or_else(|| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|moment| moment.date())
        })
        .or_else(|| {
            time::PrimitiveDateTime::parse(text, LOCAL_TIME_FORMAT)
                .ok()
                .map(|moment| moment.date())
        })
}

const LOCAL_TIME_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
);

#[cfg(test)]
mod tests {
    use super::parse_date;
    use time::macros::date;

    #[test]
    fn dates_and_times_are_read_whole() {
        for (text, day) in [
            ("2027-12-31", date!(2027 - 12 - 31)),
            ("2026-10-14T08:00:00Z", date!(2026 - 10 - 14)),
            ("2026-10-14T08:00:00.1234567Z", date!(2026 - 10 - 14)),
            ("2026-10-14T23:30:00-05:00", date!(2026 - 10 - 14)),
            ("2026-10-14T08:00:00", date!(2026 - 10 - 14)),
        ] {
            assert_eq!(parse_date(text), Some(day), "{text}");
        }
        for text in [
            "2027-12-31 but only if the contract is renewed",
            "2027-12-31x",
            "-0553-10-14",
            "+2026-10-14",
            "2026-10-14U08:00:00Z",
            "2026-10-14 08:00:00Z",
            "2027-12-31T",
            " 2027-12-31",
            "2027-02-30",
            "31-12-2027",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }
}

//! Input diagnostics: the one-line `file:line:column: what is wrong; fix: …` every bad input gets.
//!
//! A policy author or operator must learn from one line where the mistake is and how to mend it,
//! so a diagnostic never spans lines and never carries a stack trace.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a text file, 1-based. Zero means "unknown" and is not printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl Position {
    pub fn new(line: u64, column: u64) -> Self {
        Position { line, column }
    }
}

/// An error in an input file, located and with a suggested fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub position: Position,
    pub message: String,
    pub fix: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl AsRef<Path>, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.as_ref().to_path_buf(),
            position,
            message: one_line(&message.into()),
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(one_line(&fix.into()));
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.position.line > 0 {
            write!(f, ":{}", self.position.line)?;
            if self.position.column > 0 {
                write!(f, ":{}", self.position.column)?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Folds any multi-line message from a parser into one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses a YAML document into `T`, turning a parser error into a located diagnostic.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, Diagnostic> {
    serde_saphyr::from_str::<T>(text).map_err(|err| yaml_diagnostic(file, &err))
}

fn yaml_diagnostic(file: &Path, err: &serde_saphyr::Error) -> Diagnostic {
    let position = err
        .location()
        .map(|at| Position::new(at.line(), at.column()))
        .unwrap_or_default();
    let message = strip_location_suffix(&err.without_snippet().to_string());
    let fix = if message.contains("budget breached") {
        "the YAML nests too deeply or is too large for an input file; flatten it (policies/README.md)"
    } else if message.contains("unknown field") {
        "check the spelling of the key; policies/README.md lists every key"
    } else if message.contains("missing field") {
        "add the key; policies/README.md shows a complete example"
    } else {
        "correct the YAML at that place (indentation, quoting, value type)"
    };
    Diagnostic::new(file, position, message).with_fix(fix)
}

/// serde-saphyr ends plain messages with its own "at line X, column Y"; we print ours in front.
fn strip_location_suffix(message: &str) -> String {
    let message = one_line(message);
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].trim_end_matches(',').to_owned(),
        None => message,
    }
}

/// Parses JSON into `T`, with the parser's line and column.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, Diagnostic> {
    serde_json::from_str::<T>(text).map_err(|err| {
        let position = Position::new(err.line() as u64, err.column() as u64);
        let message = strip_location_suffix(&err.to_string());
        Diagnostic::new(file, position, message).with_fix("correct the JSON at that place")
    })
}

/// Best-effort position of a mapping key in a YAML text, for semantic errors found after parsing
/// in files whose types carry no spans (registry, catalogue).
pub fn locate_key(text: &str, key: &str) -> Position {
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with(':')
        {
            let column = line.len() - trimmed.len() + 1;
            return Position::new(index as u64 + 1, column as u64);
        }
    }
    Position::default()
}

/// Best-effort position of the first occurrence of `needle` in a text.
pub fn locate_text(text: &str, needle: &str) -> Position {
    for (index, line) in text.lines().enumerate() {
        if let Some(column) = line.find(needle) {
            return Position::new(index as u64 + 1, column as u64 + 1);
        }
    }
    Position::default()
}

//! Renderers: each turns the one [`Report`](crate::findings::Report) into a format. None of them
//! evaluates or changes a verdict.

mod json;
mod table;

pub use json::render_json;
pub use table::render_table;

use crate::findings::Lang;

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people at a terminal.
    Table,
    /// The stable JSON report (`cloudkeur.report/v1`) for scripts and SIEMs.
    Json,
}

/// Presentation choices that do not change content.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub lang: Lang,
    /// ANSI colour; decided once from the terminal and NO_COLOR, never by a renderer.
    pub color: bool,
    /// Total width the table must fit.
    pub width: usize,
}

//! Text bound for a terminal or a log line, made inert.
//!
//! Tenant data (the tenant's name, site URLs, Graph's error texts), policy files, reports and
//! archive directory names reach the table, `scan --all`'s summary, `archive list` and
//! `verify`, `diff`, progress messages and standard error. An escape sequence in them would
//! clear the screen, rewrite lines already printed, plant a hyperlink (OSC 8) or reorder text
//! (bidi controls). So every writer of terminal text passes data through [`inert`]: control
//! characters (C0 including newline and tab, DEL, C1), bidi controls and the Unicode line and
//! paragraph separators become visible `\u{…}` escapes, which also keeps a log line one line.
//! JSON, CSV, HTML, Markdown, SARIF, JUnit and OCSF outputs keep their own escaping.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character a terminal could act on replaced by a visible `\u{…}` escape.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_active) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_active(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Characters a terminal interprets rather than shows.
fn is_active(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0080–U+009F, e.g. the one-byte CSI U+009B)
        || matches!(
            c,
            '\u{061c}'                  // Arabic letter mark
                | '\u{200e}' | '\u{200f}' // left-to-right and right-to-left marks
                | '\u{202a}'..='\u{202e}' // embeddings and overrides
                | '\u{2066}'..='\u{2069}' // isolates
                | '\u{2028}' | '\u{2029}' // line and paragraph separators
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "Stad Kleinwaarde · 2026-11-20 · café";
        assert!(matches!(inert(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn escapes_osc8_c1_bidi_and_newlines_are_made_visible() {
        let hostile = "a\u{1b}[2J\u{1b}]8;;http://x.example\u{7}b\u{9b}31m\u{202e}c\nd\u{7f}";
        let shown = inert(hostile);
        assert!(!shown.chars().any(is_active), "{shown}");
        assert_eq!(
            shown,
            "a\\u{1b}[2J\\u{1b}]8;;http://x.example\\u{7}b\\u{9b}31m\\u{202e}c\\u{a}d\\u{7f}"
        );
    }
}

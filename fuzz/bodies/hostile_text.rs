//! Hostile text, three generators in one target (first byte):
//! - dates (issue 15.8): any text given to `parse_date` is a date only when it is one whole
//!   (`YYYY-MM-DD`, or that followed by `T` and a time); `2027-12-31 but …` never is;
//! - the DPO's title spelt otherwise (issue 15.8): a title of the DPO, perturbed by case,
//!   full-width letters, accents, dots, spaces and hyphens, is always recognised;
//! - terminal text (issue 15.7): whatever the text, `terminal::inert` leaves no character a
//!   terminal acts on, and leaves plain text as it is.
use cloudkeur::evidence::parse_date;
use cloudkeur::terminal::inert;
use cloudkeur::waiver::names_the_dpo;

fn dates(text: &str) {
    if let Some(date) = parse_date(text) {
        let day = format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        );
        assert!(
            text == day || (text.starts_with(&day) && text[day.len()..].starts_with('T')),
            "'{text}' read as {day}"
        );
    }
}

const TITLES: &[&str] = &[
    "DPO",
    "FG",
    "DPD",
    "functionaris gegevensbescherming",
    "functionaris voor gegevensbescherming",
    "functionaris voor de gegevensbescherming",
    "gegevensbeschermingsfunctionaris",
    "data protection officer",
    "délégué à la protection des données",
];

/// The title perturbed byte by byte, in ways that keep it the same title to a reader.
fn spelt(data: &[u8]) -> String {
    let Some((&pick, rest)) = data.split_first() else {
        return String::new();
    };
    let title = TITLES[usize::from(pick) % TITLES.len()];
    let abbreviation = title.len() <= 3;
    let mut bytes = rest.iter().copied().chain(std::iter::repeat(0));
    let separator =
        [None, Some('.'), Some(' '), Some('-')][usize::from(bytes.next().unwrap_or(0) % 4)];
    let mut out = String::new();
    if bytes.next().unwrap_or(0) % 2 == 1 {
        out.push_str("de ");
    }
    for c in title.chars() {
        let how = bytes.next().unwrap_or(0);
        let c = if how & 1 == 1 {
            c.to_ascii_uppercase()
        } else {
            c
        };
        // Full-width forms of ASCII letters (U+FF21…).
        let c = if how & 2 == 2 && c.is_ascii_alphabetic() {
            char::from_u32(u32::from(c) - 0x21 + 0xff01).unwrap_or(c)
        } else {
            c
        };
        out.push(c);
        if how & 4 == 4 && c.is_alphabetic() && !abbreviation {
            out.push('\u{301}'); // a stray accent
        }
        match separator {
            // Abbreviations: a separator after every letter (D.P.O., D P O, D-P-O).
            Some(sep) if abbreviation => out.push(sep),
            Some(sep) if how & 8 == 8 && c != ' ' => out.push(sep),
            _ => {}
        }
    }
    if bytes.next().unwrap_or(0) % 2 == 1 {
        out.push_str(" (advies)");
    }
    out
}

fn dpo(data: &[u8]) {
    let role = spelt(data);
    if !role.is_empty() {
        assert!(
            names_the_dpo(&role),
            "'{role}' was not recognised as the DPO"
        );
    }
}

fn is_active(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

fn terminal(text: &str) {
    let shown = inert(text);
    assert!(!shown.chars().any(is_active), "{shown:?}");
    if !text.chars().any(is_active) {
        assert_eq!(shown, text);
    }
}

/// One fuzz input (the cargo-fuzz target's whole body; `tests/it/fuzz_bodies.rs` runs it on
/// seeds, so `cargo test` builds it and keeps it working).
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                dates(text);
            }
        }
        1 => dpo(rest),
        _ => terminal(&String::from_utf8_lossy(rest)),
    }
}

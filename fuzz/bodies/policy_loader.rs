//! Policy loader: a policy file in a `--policies` directory (built-in registry and catalogue),
//! either arbitrary text or (first byte odd) a generated hostile one: a JSONPath built from
//! tokens (long runs of segments, filters inside filters, match()/search() with broken or
//! enormous patterns, descendants) inside a rule nested to a generated depth. Loading must give
//! a pack or a located one-line diagnostic, never a panic or a stack overflow; a pack that loads
//! has its examples run too (on the same threads a scan would use).
use cloudkeur::policy::{PackSource, PolicyPack, run_examples};
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("cloudkeur-fuzz-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    })
}

/// Pieces of JSONPath, picked byte by byte; a repeat count makes runs of thousands.
const TOKENS: &[&str] = &[
    ".a",
    ".value",
    "[*]",
    "[0]",
    "[-1]",
    "[1:3]",
    "..",
    "[?@",
    "[?@.state == 'enabled'",
    "]",
    "[?match(@, '",
    "[?search(@.x, '",
    "')",
    "(",
    ")",
    "[",
    "|",
    "\\",
    "{2,1}",
    ".*",
    " && ",
    " || !",
    "length(@)",
    "count(@[*])",
    "$",
    "'",
    "\u{1b}[2J",
];

fn generated(data: &[u8]) -> String {
    let (depth, tokens) = data.split_first().map_or((0, &[][..]), |(d, t)| (*d, t));
    let mut path = String::from("$");
    let mut bytes = tokens.iter();
    while let Some(&pick) = bytes.next() {
        let token = TOKENS[usize::from(pick) % TOKENS.len()];
        // High bit: repeat the token (up to 32 768 times) to reach the limits and beyond.
        let times = if pick & 0x80 != 0 {
            bytes.next().map_or(1, |&n| 1usize << (n % 16))
        } else {
            1
        };
        path.push_str(&token.repeat(times));
    }
    let mut rule = format!(
        "{{resource: report_settings, path: {}, exists: true}}",
        serde_json::to_string(&path).expect("string")
    );
    for level in 0..usize::from(depth % 40) {
        rule = if level % 2 == 0 {
            format!("{{not: {rule}}}")
        } else {
            format!("{{all_of: [{rule}]}}")
        };
    }
    format!(
        "policy: tel-01-fuzz\ncontrol: VTC-TEL-01\ntitle: {{nl: N, en: N}}\nseverity: medium\nrule: {rule}\nremediation: {{nl: Z, en: Z}}\nexamples:\n  - {{name: on, expect: pass, resources: {{report_settings: {{displayConcealedNames: true}}}}}}\n  - {{name: off, expect: fail, resources: {{report_settings: {{}}}}}}\n"
    )
}

/// One fuzz input (the cargo-fuzz target's whole body; `tests/it/fuzz_bodies.rs` runs it on
/// seeds, so `cargo test` builds it and keeps it working).
pub fn run(data: &[u8]) {
    let (text, is_generated) = match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => (generated(rest), true),
        _ => match std::str::from_utf8(data) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => return,
        },
    };
    let dir = dir();
    std::fs::write(dir.join("fuzz.yaml"), text).expect("write policy");
    match PolicyPack::load(&PackSource::Dir(dir.clone())) {
        Ok(pack) => {
            let _ = run_examples(&pack);
        }
        Err(diagnostic) => {
            let message = diagnostic.to_string();
            assert!(!message.is_empty());
            assert!(!message.contains('\n'), "one line: {message}");
            // A diagnostic quotes the start of a long path, never the whole of it.
            assert!(
                !is_generated || message.len() < 4_000,
                "{} bytes",
                message.len()
            );
        }
    }
}

//! Hostile snapshot directories (issue 15.3–15.5): the bytes choose, for each of two resource
//! files and for the manifest, what is on disk (a regular file, a link out of the directory to
//! a "secret", a link inside it, a FIFO, a directory, a dangling link, a link to /dev/zero),
//! what name the manifest gives (plain, `../x`, an absolute path, `sub/x`), and stray files.
//!
//! Then, on that directory:
//! - `read_dir` returns (no hang: libFuzzer's timeout catches one) and reads nothing that is
//!   not a regular file inside the directory: the secret is never a readable body;
//! - `seal_dir` never hashes the secret;
//! - an archive bundle of it never holds the secret's bytes;
//! - `--snapshot-out` over it either refuses and leaves every entry in place, or the directory
//!   was an empty one or a snapshot cloudkeur would have written; the secret outside survives.
use cloudkeur::archive::{BundleContents, write_bundle};
use cloudkeur::digest::sha256_hex;
use cloudkeur::policy::{PackSource, PolicyPack};
use cloudkeur::snapshot::{Collected, Collection, ResourceData, encode, read_dir, seal_dir, whole};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

const SECRET: &[u8] =
    br#"{"displayConcealedNames": true, "value": [], "k": "SECRET-KEY-MATERIAL"}"#;
const MARK: &[u8] = b"SECRET-KEY-MATERIAL";
const RESOURCES: [&str; 2] = ["report_settings", "users"];

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root =
            std::env::temp_dir().join(format!("cloudkeur-fuzz-files-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("temp dir");
        std::fs::write(root.join("secret.json"), SECRET).expect("secret");
        root
    })
}

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| PolicyPack::load(&PackSource::BuiltIn).expect("built-in pack"))
}

fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
    unsafe {
        libc::mkfifo(name.as_ptr(), 0o600);
    }
}

/// Puts an entry of the kind `kind` picks at `path`; `body` for regular files.
fn place(kind: u8, path: &Path, body: &[u8]) {
    let secret = root().join("secret.json");
    let _ = match kind % 7 {
        0 => std::fs::write(path, body),
        1 => std::os::unix::fs::symlink(&secret, path),
        2 => {
            let inside = path.with_extension("real");
            let _ = std::fs::write(&inside, body);
            std::os::unix::fs::symlink(inside.file_name().expect("name"), path)
        }
        3 => {
            mkfifo(path);
            Ok(())
        }
        4 => std::fs::create_dir(path),
        5 => std::os::unix::fs::symlink("gone.json", path),
        _ => std::os::unix::fs::symlink("/dev/zero", path),
    };
}

fn file_name(pick: u8, name: &str) -> String {
    match pick % 5 {
        0 | 1 => format!("{name}.json"),
        2 => format!("../{name}.json"),
        3 => "/etc/passwd".to_owned(),
        _ => format!("sub/{name}.json"),
    }
}

fn holds_secret(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => holds_secret(&path),
            Ok(kind) if kind.is_file() => {
                std::fs::read(&path).is_ok_and(|bytes| bytes.windows(MARK.len()).any(|w| w == MARK))
            }
            _ => false,
        }
    })
}

fn collection() -> Collection {
    let mut resources = BTreeMap::new();
    resources.insert(
        "report_settings".to_owned(),
        Collected::Read {
            request: "GET /v1.0/admin/reportSettings".into(),
            http_status: 200,
            pages: 1,
            body: json!({"displayConcealedNames": true}),
            note: None,
            file_sha256: None,
            projected: false,
        },
    );
    Collection {
        tenant_id: "t".into(),
        tenant_name: None,
        source: "fuzz".into(),
        collected_at: "2026-11-20T06:00:00Z".into(),
        resources,
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|e| {
            e.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// One fuzz input (the cargo-fuzz target's whole body; `tests/it/fuzz_bodies.rs` runs it on
/// seeds, so `cargo test` builds it and keeps it working).
pub fn run(data: &[u8]) {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut bytes = data.iter().copied().chain(std::iter::repeat(0));
    let mut next = || bytes.next().unwrap_or(0);
    let case = root().join(format!("case-{}", COUNT.fetch_add(1, Ordering::Relaxed)));
    let dir = case.join("snap");
    std::fs::create_dir_all(dir.join("sub")).expect("dir");
    let body = br#"{"displayConcealedNames": false, "value": []}"#;
    let mut resources = serde_json::Map::new();
    for name in RESOURCES {
        let file = file_name(next(), name);
        // The manifest's hash is the secret's when it asks for it: a link out must not pass
        // for the data just because its hash matches.
        let hash = if next() % 2 == 0 {
            sha256_hex(body)
        } else {
            sha256_hex(SECRET)
        };
        resources.insert(
            name.into(),
            json!({"status": "ok", "file": file, "sha256": hash}),
        );
        if !file.starts_with('/') {
            let target = dir.join(&file);
            if target.starts_with(&dir) || file.starts_with("..") {
                place(next(), &target, body);
            }
        }
    }
    let manifest = json!({
        "format": if next() % 4 == 0 { "other" } else { "cloudkeur.snapshot/v1" },
        "tenant_id": "t", "source": "fuzz", "collected_at": "2026-11-20T06:00:00Z",
        "resources": resources,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("json");
    match next() % 5 {
        0 => place(1, &dir.join("manifest.json"), &manifest_bytes),
        1 => place(3, &dir.join("manifest.json"), &manifest_bytes),
        _ => {
            let _ = std::fs::write(dir.join("manifest.json"), &manifest_bytes);
        }
    }
    if next() % 3 == 0 {
        let _ = std::fs::write(dir.join("notes.txt"), b"the user's own file");
    }
    if next() % 2 == 0 {
        let _ = std::fs::remove_dir(dir.join("sub"));
    }

    // Reading: nothing from outside, nothing that is not a regular file.
    let pack = pack();
    let wanted = whole(
        RESOURCES
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .iter(),
    );
    if let Ok(snapshot) = read_dir(&dir, &pack.registry, &wanted) {
        for name in RESOURCES {
            if let Some(ResourceData::Read(value)) = snapshot.resource(name) {
                assert_ne!(
                    value.get("k"),
                    Some(&Value::from("SECRET-KEY-MATERIAL")),
                    "{name} read the secret"
                );
            }
        }
    }
    // Sealing: never the secret's hash.
    if seal_dir(&dir).is_ok() {
        let sealed = std::fs::read(dir.join("manifest.json")).unwrap_or_default();
        let secret_hash = sha256_hex(SECRET);
        assert!(
            !sealed
                .windows(secret_hash.len())
                .any(|w| w == secret_hash.as_bytes()),
            "seal hashed the secret"
        );
    }
    // Archiving: the bundle never holds the secret.
    let archive = case.join("archive");
    let _ = write_bundle(
        &archive,
        BundleContents {
            started_at: "2026-11-20T06:00:00Z",
            tenant: "t",
            tenant_name: None,
            snapshot_dir: &dir,
            copies: Vec::new(),
            files: vec![("report.json".into(), b"{}".to_vec())],
        },
    );
    assert!(!holds_secret(&archive), "the archive copied the secret");
    // --snapshot-out: refuse and keep everything, or replace a snapshot cloudkeur wrote.
    let before = entries(&dir);
    let user_file = before.iter().any(|n| n == "notes.txt");
    match encode(&collection()).write_dir(&dir) {
        Err(_) => assert_eq!(
            entries(&dir),
            before,
            "a refused --snapshot-out changed the directory"
        ),
        Ok(()) => assert!(
            !user_file,
            "--snapshot-out replaced a directory holding the user's file"
        ),
    }
    assert_eq!(
        std::fs::read(root().join("secret.json")).expect("secret"),
        SECRET
    );
    let _ = std::fs::remove_dir_all(&case);
}

//! Reading input files: regular files only, inside the directory that names them, and never
//! more bytes than a limit. Every reader of a file cloudkeur did not just write goes through
//! here: snapshots (manifest and resource files), `snapshot seal`, overlays, the archive (copy,
//! verify, list, diff), evidence files and their exports, policy files, settings, waivers, the
//! tenants file and the pseudonym key.
//!
//! Why: a snapshot, an overlay or an archive often comes from somewhere else (a colleague, a
//! pipeline artefact), and its files are data, not instructions. A name in a manifest must not
//! make cloudkeur read (or hash, or copy into an archive) a private key outside the directory; a
//! FIFO must not hang a scan; `/dev/zero` or a 3 GB file must not exhaust memory. So:
//!
//! - a file named *by data* (a manifest entry, an evidence `files:` entry, an overlay entry, a
//!   bundle's file list) is a plain relative path (no absolute path, no `..`) whose symbolic
//!   links, if any, stay inside the directory ([`read_inside`]);
//! - a file the *user* named (a flag, a path in the tenants file) may be reached through a
//!   symbolic link, because the user chose it ([`read`]);
//! - either way it must be a regular file: its type is checked before it is opened, it is opened
//!   without blocking (a FIFO swapped in meanwhile cannot hang the open), and checked again on
//!   the handle;
//! - it is read up to its [`Limit`] and no further, so a file that grows while read is caught too.
//!
//! The checks resolve the path before opening it; a local attacker racing the scan to swap a
//! directory for a link in between is outside what this guards against (the data, not the
//! machine, is untrusted).

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Default for `--max-file-size`: files that grow with the tenant (a 100k-account tenant's
/// largest resource file is about 76 MB; BENCHMARKS.md).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;

/// Documents written by a person or holding one settings object: manifests, policy files,
/// settings, evidence and its exports, waivers, tenants files, Graph settings objects. None of
/// them comes near this; a file that does is not what its name says.
pub const MAX_DOCUMENT_SIZE: u64 = 16 << 20;

/// The pseudonym key file holds 16 to a few hundred random bytes.
pub const MAX_KEY_SIZE: u64 = 64 << 10;

static MAX_FILE_SIZE: AtomicU64 = AtomicU64::new(DEFAULT_MAX_FILE_SIZE);

/// Sets the limit of [`Limit::data`] for the rest of the run (`--max-file-size`, set once by
/// `app` from the flag before any file is read).
pub fn set_max_file_size(bytes: u64) {
    MAX_FILE_SIZE.store(bytes, Ordering::Relaxed);
}

/// How many bytes a file may hold, and how to raise that when it is too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// Said after "above the limit of N": how to raise it, or why it is fixed.
    pub raise: &'static str,
}

impl Limit {
    /// Files that grow with the tenant: resource files holding a collection, and files copied
    /// or compared whole (archive bundles, reports). `--max-file-size`.
    pub fn data() -> Limit {
        Limit {
            bytes: MAX_FILE_SIZE.load(Ordering::Relaxed),
            raise: "raise it with --max-file-size (or CLOUDKEUR_MAX_FILE_SIZE)",
        }
    }

    /// Documents: see [`MAX_DOCUMENT_SIZE`].
    pub const DOCUMENT: Limit = Limit {
        bytes: MAX_DOCUMENT_SIZE,
        raise: "a fixed limit: no file of this kind is that large, so check that the path names the right file",
    };

    /// The pseudonym key file.
    pub const KEY: Limit = Limit {
        bytes: MAX_KEY_SIZE,
        raise: "a fixed limit: a key file holds 32 random bytes (`head -c 32 /dev/urandom > FILE`)",
    };
}

/// Why an input file was not read. The caller names the file in front of it.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("does not exist")]
    NotFound,
    #[error("'{0}' is not a plain relative path inside the directory (no absolute path, no '..')")]
    NotInside(String),
    #[error("is a symbolic link leading outside {}", .0.display())]
    LinkOutside(PathBuf),
    #[error("is a symbolic link to nothing")]
    DanglingLink,
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("is {} ({size} bytes), above the limit of {}", human(*.size), human(*.limit))]
    TooLarge {
        size: u64,
        limit: u64,
        raise: &'static str,
    },
    #[error("is not UTF-8 text")]
    NotUtf8,
    #[error("cannot be read: {0}")]
    Io(std::io::Error),
}

impl InputFileError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputFileError::NotFound)
    }

    /// The fix this error itself implies, when it does (how to raise a limit, what to name).
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            InputFileError::TooLarge { raise, .. } => Some(raise),
            InputFileError::NotRegular(_) => {
                Some("name a regular file, not a FIFO, device, socket or directory")
            }
            InputFileError::NotInside(_) | InputFileError::LinkOutside(_) => Some(
                "keep every file the data names inside its directory, as a plain relative path, with no link out of it",
            ),
            _ => None,
        }
    }

    /// The error and, when it implies one, its fix: for reasons with no separate fix slot.
    pub fn explained(&self) -> String {
        match self.fix() {
            Some(fix) => format!("{self}; {fix}"),
            None => self.to_string(),
        }
    }

    /// A located one-line diagnostic for `path`: `<what> <error>`, with this error's own fix or
    /// else `fix`.
    pub fn diagnostic(&self, path: &Path, what: &str, fix: &str) -> crate::diag::Diagnostic {
        crate::diag::Diagnostic::new(
            path,
            crate::diag::Position::default(),
            format!("cannot read {what}: it {self}"),
        )
        .with_fix(self.fix().unwrap_or(fix))
    }
}

fn human(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// Reads a file the user named (symbolic links followed): a regular file within `limit`.
pub fn read(path: &Path, limit: Limit) -> Result<Vec<u8>, InputFileError> {
    let meta = metadata(path)?;
    check(&meta, limit)?;
    let file = open_without_blocking(path)?;
    // The file actually opened, not the name checked a moment ago.
    let meta = file.metadata().map_err(InputFileError::Io)?;
    check(&meta, limit)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputFileError::Io)?;
    let size = bytes.len() as u64;
    if size > limit.bytes {
        return Err(too_large(size, limit));
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_text(path: &Path, limit: Limit) -> Result<String, InputFileError> {
    String::from_utf8(read(path, limit)?).map_err(|_| InputFileError::NotUtf8)
}

/// Reads a file that data inside `dir` names by `relative`: a plain relative path whose
/// symbolic links, if any, stay inside `dir`; a regular file within `limit`.
pub fn read_inside(dir: &Path, relative: &Path, limit: Limit) -> Result<Vec<u8>, InputFileError> {
    read(&resolve_inside(dir, relative)?, limit)
}

/// [`read_inside`], as UTF-8 text.
pub fn read_text_inside(
    dir: &Path,
    relative: &Path,
    limit: Limit,
) -> Result<String, InputFileError> {
    String::from_utf8(read_inside(dir, relative, limit)?).map_err(|_| InputFileError::NotUtf8)
}

/// Checks without reading that `relative` names a regular file inside `dir` within `limit`;
/// returns its resolved path (for listings such as an overlay's entries).
pub fn check_inside(dir: &Path, relative: &Path, limit: Limit) -> Result<PathBuf, InputFileError> {
    let path = resolve_inside(dir, relative)?;
    check(&metadata(&path)?, limit)?;
    Ok(path)
}

/// True for a path of plain names only: relative, no `..`, no `.`, no root or drive.
pub fn is_plain_relative(relative: &Path) -> bool {
    !relative.as_os_str().is_empty()
        && relative
            .components()
            .all(|part| matches!(part, Component::Normal(_)))
}

/// `dir/relative` with its symbolic links resolved, refused when it leaves `dir`.
fn resolve_inside(dir: &Path, relative: &Path) -> Result<PathBuf, InputFileError> {
    if !is_plain_relative(relative) {
        return Err(InputFileError::NotInside(relative.display().to_string()));
    }
    let joined = dir.join(relative);
    let resolved = match std::fs::canonicalize(&joined) {
        Ok(path) => path,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(match std::fs::symlink_metadata(&joined) {
                Ok(_) => InputFileError::DanglingLink,
                Err(_) => InputFileError::NotFound,
            });
        }
        Err(err) => return Err(InputFileError::Io(err)),
    };
    let root = std::fs::canonicalize(dir).map_err(InputFileError::Io)?;
    if !resolved.starts_with(&root) {
        return Err(InputFileError::LinkOutside(dir.to_path_buf()));
    }
    Ok(resolved)
}

fn metadata(path: &Path) -> Result<Metadata, InputFileError> {
    std::fs::metadata(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound if std::fs::symlink_metadata(path).is_ok() => {
            InputFileError::DanglingLink
        }
        std::io::ErrorKind::NotFound => InputFileError::NotFound,
        _ => InputFileError::Io(err),
    })
}

fn check(meta: &Metadata, limit: Limit) -> Result<(), InputFileError> {
    if !meta.is_file() {
        return Err(InputFileError::NotRegular(kind_of(meta)));
    }
    if meta.len() > limit.bytes {
        return Err(too_large(meta.len(), limit));
    }
    Ok(())
}

fn too_large(size: u64, limit: Limit) -> InputFileError {
    InputFileError::TooLarge {
        size,
        limit: limit.bytes,
        raise: limit.raise,
    }
}

/// What a non-regular file is, for the message.
fn kind_of(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    if kind.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
    }
    "a special file"
}

/// Opens for reading without waiting for a writer (a FIFO's open blocks otherwise). Symbolic
/// links were resolved before (and checked to stay inside for [`read_inside`]); a component
/// swapped for a link between that check and this open is the one race left (`openat2` with
/// `RESOLVE_BENEATH` would close it, on Linux only).
fn open_without_blocking(path: &Path) -> Result<File, InputFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => InputFileError::NotFound,
        _ => InputFileError::Io(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    const SMALL: Limit = Limit {
        bytes: 8,
        raise: "raise it",
    };

    #[test]
    fn a_regular_file_within_the_limit_is_read() {
        let dir = temp();
        std::fs::write(dir.path().join("a.json"), b"{}").unwrap();
        assert_eq!(
            read_inside(dir.path(), Path::new("a.json"), SMALL).unwrap(),
            b"{}"
        );
    }

    #[test]
    fn a_file_above_the_limit_is_refused_naming_the_limit() {
        let dir = temp();
        std::fs::write(dir.path().join("a.json"), b"0123456789").unwrap();
        let err = read(&dir.path().join("a.json"), SMALL).unwrap_err();
        assert!(matches!(err, InputFileError::TooLarge { size: 10, .. }));
        assert!(err.to_string().contains("limit of 8 B"), "{err}");
        assert!(err.explained().ends_with("; raise it"), "{err}");
    }

    #[test]
    fn paths_leaving_the_directory_are_refused() {
        let dir = temp();
        for bad in ["../x", "/etc/passwd", "a/../../x", "", "./a"] {
            let err = read_inside(dir.path(), Path::new(bad), SMALL).unwrap_err();
            assert!(matches!(err, InputFileError::NotInside(_)), "{bad}: {err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_directory_is_refused_and_one_inside_is_followed() {
        let outside = temp();
        std::fs::write(outside.path().join("key.pem"), b"secret").unwrap();
        let dir = temp();
        std::os::unix::fs::symlink(outside.path().join("key.pem"), dir.path().join("a.json"))
            .unwrap();
        let err = read_inside(dir.path(), Path::new("a.json"), SMALL).unwrap_err();
        assert!(matches!(err, InputFileError::LinkOutside(_)), "{err}");
        std::fs::write(dir.path().join("real.json"), b"[]").unwrap();
        std::os::unix::fs::symlink("real.json", dir.path().join("alias.json")).unwrap();
        assert_eq!(
            read_inside(dir.path(), Path::new("alias.json"), SMALL).unwrap(),
            b"[]"
        );
        std::os::unix::fs::symlink("gone.json", dir.path().join("dangling.json")).unwrap();
        let err = read_inside(dir.path(), Path::new("dangling.json"), SMALL).unwrap_err();
        assert!(matches!(err, InputFileError::DanglingLink), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_before_they_are_opened() {
        let err = read(Path::new("/dev/zero"), Limit::DOCUMENT).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let dir = temp();
        let fifo = dir.path().join("fifo.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let err = read_inside(dir.path(), Path::new("fifo.json"), SMALL).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = read(dir.path(), SMALL).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }
}
